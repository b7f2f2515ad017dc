"""The run's settings, read once from the command line and ini file into a frozen object."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "smollm2-135m-rlvr"  # SmolLM2-135M with the LoRA adapters shipped in policies/adapters/


@dataclass(frozen=True)
class Settings:
    """Everything a run of rollouts depends on; saved with the results.

    Attributes:
        model: The policy: a scripted name (noop, random, or a script the scenarios ship), or a model
            alias, path or id resolved by the `pytest_rlvr_make_policy` hook.
        base_urls: OpenAI-compatible servers to use (policies decide what to do with them).
        samples: Rollouts per case (K).
        concurrency: The most rollouts in flight at once.
        temperature: Sampling temperature.
        max_tokens: The most tokens per assistant turn.
        max_turns: The most assistant turns per rollout; the scenario's own limit when None.
        seed: The run seed; every sample's seed derives from it, the task id and the sample index.
        threshold: The mean reward a case needs to pass; the scenario's threshold when None.
        split: The task split to evaluate: "eval" or "train".
        tasks: How many tasks of each scenario (the first ones); the scenario decides when None.
        save: Where to save the results JSON (traces go beside it); nothing is saved when None.
        retries: How often a failing policy call is retried before the case errors.
        backoff_s: The first retry's delay; each further retry doubles it.
        baseline: The results JSON of an earlier run to gate against; no comparison when None.
        max_drop: The drop in mean reward against the baseline that is tolerated (see `pytest_rlvr.compare`).
        min_rewards: Absolute floors on scenarios' mean rewards, as (scenario, floor) pairs.
        timeout: The most seconds one policy request may take before it counts as a failed call.
        resume: Reuse the finished rollouts of the run saved at `save` when its settings match.
        allow_incomparable: A gate or comparison with nothing to compare warns instead of failing.
        report: Where to write the run's HTML report (results are then saved, beside it when `save` is None).
        shard: (I, N): run only the I-th of N deterministic shares of the selected cases (1 <= I <= N).
        agent: `MODULE:CALLABLE` of an agent to evaluate instead of a model (`pytest_rlvr.agent`); `model` is
            then `agent:MODULE:CALLABLE`.
    """

    model: str = DEFAULT_MODEL
    base_urls: tuple[str, ...] = ()
    samples: int = 1
    concurrency: int = 32
    temperature: float = 0.0
    max_tokens: int = 512
    max_turns: int | None = None
    seed: int = 0
    threshold: float | None = None
    split: str = "eval"
    tasks: int | None = None
    save: Path | None = None
    retries: int = 3
    backoff_s: float = 0.5
    baseline: Path | None = None
    max_drop: float = 0.02
    min_rewards: tuple[tuple[str, float], ...] = ()
    timeout: float = 120.0
    resume: bool = False
    allow_incomparable: bool = False
    report: Path | None = None
    shard: tuple[int, int] | None = None
    agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        data = asdict(self)
        data["base_urls"] = list(self.base_urls)
        data["save"] = str(self.save) if self.save is not None else None
        data["baseline"] = str(self.baseline) if self.baseline is not None else None
        data["report"] = str(self.report) if self.report is not None else None
        data["shard"] = f"{self.shard[0]}/{self.shard[1]}" if self.shard is not None else None
        data["min_rewards"] = dict(self.min_rewards)
        return data

    @property
    def traces_path(self) -> Path | None:
        """Where the traces JSONL goes: beside the results, `<stem>.traces.jsonl`."""
        if self.save is None:
            return None
        return self.save.with_name(self.save.stem + ".traces.jsonl")
