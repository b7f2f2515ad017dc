"""A case: one task of a scenario, its K traces and their rewards, and whether it passes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .checks import CheckOutcome, Reward
from .scenario import Scenario
from .task import Task
from .trace import Trace

MESSAGE_LIMIT = 2000
REPLY_LIMIT = 300


@dataclass(repr=False)
class Case:
    """What the `rlvr_case` fixture gives a test.

    Attributes:
        scenario: The scenario the task belongs to.
        task: The task.
        traces: One trace per sample, in sample order.
        rewards: One Reward per trace (the scenario's checks run on it).
        threshold: The mean reward the case needs to pass.
        gate: Whether the plugin fails the test when the test body did not call `assert_checks`.
        asserted: Set by `assert_checks`.
    """

    scenario: Scenario
    task: Task
    traces: list[Trace]
    rewards: list[Reward]
    threshold: float
    gate: bool = True
    asserted: bool = False

    def __repr__(self) -> str:
        scores = ", ".join(f"{s:.3f}" for s in self.scores)
        return (f"Case({self.scenario.name}/{self.task.id}, scores=[{scores}], mean={self.mean:.3f}, "
                f"threshold={self.threshold:g})")

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.rewards]

    @property
    def mean(self) -> float:
        """The mean reward over the samples."""
        return sum(self.scores) / len(self.scores)

    @property
    def passed(self) -> bool:
        return self.mean >= self.threshold

    @property
    def successes(self) -> int:
        """How many samples reached the threshold on their own (for pass@k and pass^k)."""
        return sum(1 for s in self.scores if s >= self.threshold)

    def check_pass_rates(self) -> dict[str, float]:
        """Each check's share of samples in which it held."""
        held: Counter[str] = Counter()
        for reward in self.rewards:
            held.update(o.name for o in reward.outcomes if o.held)
        names = [o.name for o in self.rewards[0].outcomes] if self.rewards else []
        return {name: held[name] / len(self.rewards) for name in names}

    def failing_checks(self) -> list[tuple[CheckOutcome, int]]:
        """Every check that failed in some sample: its first failure and in how many samples it failed."""
        first: dict[str, CheckOutcome] = {}
        count: Counter[str] = Counter()
        for reward in self.rewards:
            for outcome in reward.failures:
                first.setdefault(outcome.name, outcome)
                count[outcome.name] += 1
        return [(first[name], count[name]) for name in first]

    def explain(self) -> str:
        """Why the case failed: the mean against the threshold, every failing check with its message, and the
        model's last reply in its lowest-scoring sample."""
        k = len(self.rewards)
        lines = [
            f"{self.scenario.name}[{self.task.id}]: mean reward {self.mean:.3f} < threshold "
            f"{self.threshold:g} over {k} sample(s) (scores {', '.join(f'{s:.2f}' for s in self.scores)})",
            "failing checks:",
        ]
        for outcome, failures in self.failing_checks():
            message = (outcome.message or "assertion failed").strip()
            if len(message) > MESSAGE_LIMIT:
                message = message[:MESSAGE_LIMIT] + "..."
            head, *rest = message.splitlines() or [""]
            gate = f", caps the reward at {outcome.cap:g}" if outcome.cap is not None else ""
            lines.append(f"  {outcome.name} [{outcome.group}, weight {outcome.weight:g}{gate}] failed in "
                         f"{failures}/{k}: {head}")
            if outcome.doc:
                lines.append(f"      why: {outcome.doc}")
            lines.extend(f"      {line}" for line in rest)
        lines.extend(self._last_reply())
        return "\n".join(lines)

    def _last_reply(self) -> list[str]:
        """The final assistant text of the lowest-scoring sample, truncated."""
        if not self.traces:
            return []
        _, trace = min(zip(self.scores, self.traces, strict=True), key=lambda pair: pair[0])
        last = trace.turns[-1] if trace.turns else None
        text = last.text.strip() if last else ""
        if len(text) > REPLY_LIMIT:
            text = text[:REPLY_LIMIT] + "..."
        calls = len(last.tool_calls) if last else 0
        head, *rest = text.splitlines() or [f"(no text, {calls} tool call(s))" if calls else "(no text)"]
        where = f"sample {trace.sample}, turn {len(trace.turns)}, {trace.stop_reason or 'no turn'}"
        return [f"model's last reply ({where}): {head}", *(f"      {line}" for line in rest)]

    def record(self) -> dict[str, Any]:
        """The case as plain data for the saved results and the summary."""
        checks: dict[str, dict[str, Any]] = {}
        for reward in self.rewards:
            for o in reward.outcomes:
                entry = checks.setdefault(o.name, {"group": o.group, "weight": o.weight, "held": []})
                entry["held"].append(o.held)
        return {
            "task_id": self.task.id,
            "scenario": self.scenario.name,
            "split": self.task.split,
            "seed": self.task.seed,
            "tier": self.task.tier,
            "samples": len(self.traces),
            "sample_seeds": [t.seed for t in self.traces],
            "rewards": self.scores,
            "mean": self.mean,
            "threshold": self.threshold,
            "passed": self.passed,
            "successes": self.successes,
            "checks": checks,
            "failures": [
                {o.name: (o.message or "")[:MESSAGE_LIMIT] for o in reward.failures}
                for reward in self.rewards
            ],
            "stop_reasons": [t.stop_reason for t in self.traces],
            "turns": [len(t.turns) for t in self.traces],
            "tokens": [list(t.tokens) for t in self.traces],
        }


def assert_checks(case: Case) -> None:
    """Assert that the case reaches its threshold; the error lists every failing check.

    Raises:
        AssertionError: The mean reward is below the threshold. The message names each failing check with
            its group, weight, in how many samples it failed, and its assertion message (pytest's
            introspection when the module defining the check was rewritten).
    """
    __tracebackhide__ = True
    case.asserted = True
    if not case.passed:
        raise AssertionError(case.explain())
