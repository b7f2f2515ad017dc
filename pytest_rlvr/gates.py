"""Gates: verdicts on a whole run, as test items that run after the cases.

With `--rlvr-baseline PATH`, every scenario of the run gets an item `rlvr-gate::baseline[SCENARIO]`
that compares the run with the baseline's results on their shared cases (`pytest_rlvr.compare`); with
`--rlvr-min-reward SCENARIO=VALUE`, an item `rlvr-gate::min-reward[SCENARIO]` checks the floor on the scenario's
mean reward, and with `SCENARIO:TIER=VALUE`, `rlvr-gate::min-reward[SCENARIO:TIER]` on that tier's (a checkpoint
that stopped declining what cannot be done fails `jira_labels:infeasible`). They are
ordinary test items, so a regression is a failed test in the terminal, the exit code and JUnit XML, with
the numbers in the failure message and as properties. "Too few shared cases to tell" (1 to 4) is a skip.
A gate that compares nothing (no shared case, or runs of another split or checks version) fails with the
reason; `--rlvr-allow-incomparable` makes the reason a warning.

The items read the case records the recorder gathered in this process, so gates need a single process
(not pytest-xdist's `-n`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pytest

from .compare import INCOMPARABLE, TOO_FEW, Comparison, compare, describe, read_results, render
from .session import case_spec
from .settings import Settings

if TYPE_CHECKING:
    from .recorder import Recorder

GATE_PREFIX = "rlvr-gate"
ALLOW_HINT = "--rlvr-allow-incomparable makes this a warning"


class RlvrGateWarning(pytest.PytestWarning):
    """The runs compared by a gate differ in how they were made (split, checks, tasks, serving setup)."""


class GateCollector(pytest.Collector):
    """The parent of the gate items (`rlvr-gate`), added by the plugin rather than found in a file."""

    def collect(self) -> list[pytest.Item]:
        return []


class GateItem(pytest.Item):
    """One gate on one scenario: `baseline[SCENARIO]`, `min-reward[SCENARIO]` or `min-reward[SCENARIO:TIER]`."""

    def __init__(self, *, gates: Gates, kind: str, scenario: str, floor: float | None = None,
                 tier: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gates = gates
        self.kind = kind
        self.scenario = scenario
        self.floor = floor
        self.tier = tier

    def runtest(self) -> None:
        if self.kind == "baseline":
            self.gates.check_baseline(self)
        else:
            self.gates.check_floor(self)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid


class Gates:
    """Adds the gate items after the cases, judges them from the run's records, and shows the comparison."""

    def __init__(self, config: pytest.Config, settings: Settings, recorder: Recorder) -> None:
        self.config = config
        self.settings = settings
        self.recorder = recorder
        try:
            self.baseline = read_results(settings.baseline) if settings.baseline is not None else None
        except ValueError as exc:  # changed since the option was checked
            raise pytest.UsageError(f"--rlvr-baseline={settings.baseline}: {exc}") from None
        self._comparison: Comparison | None = None
        self._compared_records = -1

    @property
    def active(self) -> bool:
        return self.baseline is not None or bool(self.settings.min_rewards)

    # -- collection ------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        scenarios = list(dict.fromkeys(spec.scenario.name for item in items if (spec := case_spec(item))))
        if not self.active or (not scenarios and not self.settings.min_rewards):
            return
        parent = GateCollector.from_parent(session, name=GATE_PREFIX, nodeid=GATE_PREFIX)
        if self.baseline is not None:
            for name in scenarios:
                items.append(GateItem.from_parent(parent, name=f"baseline[{name}]", gates=self, kind="baseline",
                                                  scenario=name))
        for name, floor in self.settings.min_rewards:
            scenario, _, tier = name.partition(":")
            items.append(GateItem.from_parent(parent, name=f"min-reward[{name}]", gates=self, kind="min-reward",
                                              scenario=scenario, floor=floor, tier=tier or None))

    # -- judging ---------------------------------------------------------------------------------------
    def current(self) -> dict[str, Any]:
        """This run's results document, as `--rlvr-save` would write it now."""
        from .results import results_document

        return results_document(self.recorder.records, self.settings, self.recorder.policy_info,
                                self.config.rootpath)

    def comparison(self) -> Comparison:
        """This run against the baseline (computed again only when more cases have been recorded)."""
        assert self.baseline is not None
        if self._comparison is None or self._compared_records != len(self.recorder.records):
            self._comparison = compare(self.baseline, self.current(), self.settings.max_drop,
                                       seed=self.settings.seed,
                                       allow_incomparable=self.settings.allow_incomparable)
            self._compared_records = len(self.recorder.records)
        return self._comparison

    def check_baseline(self, item: GateItem) -> None:
        comparison = self.comparison()
        notes = comparison.warnings_for(item.scenario)
        for note in notes:
            warnings.warn(RlvrGateWarning(f"baseline {self.settings.baseline}: {note}"), stacklevel=1)
            item.user_properties.append(("warning", note))
        result = comparison.scenarios.get(item.scenario)
        baseline = f"baseline {self.settings.baseline}: {describe(self.baseline or {})}"
        if result is None:  # every case of the scenario errored before it was recorded
            message = f"{item.scenario}: {INCOMPARABLE}: no case of this scenario was scored in this run ({baseline})"
            if self.settings.allow_incomparable:
                pytest.skip(message)
            pytest.fail(f"{message}; {ALLOW_HINT}", pytrace=False)
        item.user_properties.extend(result.properties())
        if result.incomparable:
            pytest.fail(f"{result.explain()} ({baseline}); {ALLOW_HINT}", pytrace=False)
        message = "\n".join([f"{result.explain()} ({baseline})", *(f"warning: {n}" for n in notes)])
        if result.verdict == TOO_FEW:
            pytest.skip(message)
        if result.regressed:
            pytest.fail(message, pytrace=False)

    def check_floor(self, item: GateItem) -> None:
        from .aggregate import aggregate

        assert item.floor is not None
        stats = aggregate(self.recorder.records).get(item.scenario)
        name = f"{item.scenario}:{item.tier}" if item.tier else item.scenario
        where = f"(--rlvr-min-reward {name}={item.floor:g})"
        if item.tier is None:
            reward = stats.reward if stats is not None else None
            mean, cases = (reward.mean, stats.cases) if stats is not None and reward is not None else (None, 0)
            shown = str(reward)
        else:
            tier = stats.tiers.get(item.tier) if stats is not None else None
            mean, cases = (tier.mean, tier.cases) if tier is not None else (None, 0)
            shown = f"{mean:.3f}" if mean is not None else "-"
            item.user_properties.append(("tier", item.tier))
        if mean is None:
            what = f"tier {item.tier!r} of this scenario" if item.tier else "this scenario"
            pytest.fail(f"{name}: no case of {what} was scored in this run {where}", pytrace=False)
        item.user_properties.extend([("mean", round(mean, 6)), ("floor", item.floor), ("cases", cases)])
        if mean < item.floor:
            pytest.fail(f"{name}: mean reward {shown} over {cases} cases is below the floor {item.floor:g} {where}",
                        pytrace=False)

    # -- reporting -------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.baseline is None or not self.recorder.records:
            return
        comparison = self.comparison()
        title = (f"baseline {self.settings.baseline} ({describe(self.baseline)}) vs this run; "
                 f"max drop {self.settings.max_drop:g}")
        terminalreporter.write_sep("=", "rlvr gates")
        width = self.config.get_terminal_writer().fullwidth
        terminalreporter.write_line(title)
        terminalreporter.write_line(render(comparison, None, width, terminalreporter.hasmarkup))


def check_single_process(config: pytest.Config, settings: Settings) -> None:
    """Gates read the records of this process: refuse pytest-xdist's distribution at start-up.

    Raises:
        pytest.UsageError: Gates were asked for with `-n`.
    """
    if settings.baseline is None and not settings.min_rewards:
        return
    if getattr(config.option, "dist", "no") != "no" or getattr(config.option, "numprocesses", None):
        flag = "--rlvr-baseline" if settings.baseline is not None else "--rlvr-min-reward"
        raise pytest.UsageError(f"{flag}: gates need a single process; run without -n (pytest-xdist)")
