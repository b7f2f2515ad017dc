"""Per-scenario figures from case records (the plain data a case reports, from any xdist worker)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .stats import Interval, bootstrap_interval, pass_at_k, pass_hat_k

TIER_ORDER = ("easy", "medium", "hard", "infeasible")
"""How tiers are listed; a tier not named here comes after them, in name order."""


def tier_key(tier: Any) -> tuple[int, str]:
    """Sort key of a tier: `TIER_ORDER` first, other names after it by name."""
    return (TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER), str(tier))


@dataclass(frozen=True)
class TierStats:
    """One tier of a scenario: its cases' mean reward, how many cases it has and how many passed."""

    mean: float
    cases: int
    passed: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "cases": self.cases, "passed": self.passed}


@dataclass
class ScenarioStats:
    """What a run says about one scenario.

    Attributes:
        name: The scenario.
        cases: Cases scored.
        errors: Cases that errored (infrastructure failure, check bug) and were not scored.
        k: Samples per case (the smallest, if cases differ).
        samples: Samples scored in all.
        reward: Mean reward over cases (each case's mean over its samples), with its 95% bootstrap interval
            (cases resampled; seeded by the scenario name, so the same records give the same interval).
        passed: Cases whose mean reached their threshold.
        pass_at_1: Unbiased pass@1: the chance that a single sample reaches the threshold.
        pass_at_k: Unbiased pass@k with k = `k`.
        pass_hat_k: pass^k with k = `k`: the chance that k samples all reach the threshold.
        check_pass_rates: Each check's share of samples in which it held.
        failing_checks: How many samples each check failed in, most frequent first.
        checks_versions: The checks versions the cases were scored with (one, unless the run mixed them).
        spread: Share of cases whose samples' rewards are not all equal (the groups GRPO can learn from); None
            when k < 2 or no case recorded its rewards.
        tiers: Per task tier (easy, medium, hard, infeasible, then any other in name order): its cases' mean
            reward, how many cases it has and how many passed.
    """

    name: str
    cases: int = 0
    errors: int = 0
    k: int = 0
    samples: int = 0
    reward: Interval | None = None
    passed: int = 0
    pass_at_1: float | None = None
    pass_at_k: float | None = None
    pass_hat_k: float | None = None
    spread: float | None = None
    check_pass_rates: dict[str, float] = field(default_factory=dict)
    failing_checks: list[tuple[str, int]] = field(default_factory=list)
    checks_versions: list[str] = field(default_factory=list)
    tiers: dict[str, TierStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        interval = self.reward
        return {
            "cases": self.cases,
            "errors": self.errors,
            "k": self.k,
            "samples": self.samples,
            "mean": interval.mean if interval else None,
            "ci95": [interval.low, interval.high] if interval else None,
            "ci95_method": "bootstrap percentile, cases resampled",
            "passed": self.passed,
            "pass@1": self.pass_at_1,
            "pass@k": self.pass_at_k,
            "pass^k": self.pass_hat_k,
            "spread": self.spread,
            "checks": self.check_pass_rates,
            "failing_checks": dict(self.failing_checks),
            "checks_versions": self.checks_versions,
            "tiers": {name: t.to_dict() for name, t in self.tiers.items()},
        }


def has_spread(rewards: Iterable[float], tolerance: float = 1e-9) -> bool:
    """Whether a group's rewards are not all equal: GRPO's advantages are all zero on a group without a spread."""
    values = list(rewards)
    return bool(values) and max(values) - min(values) > tolerance


def unique_records(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One record per (scenario, task id): two tests of the same case count once (the last one wins)."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in records:
        latest[(record["scenario"], record["task_id"])] = record
    return list(latest.values())


def aggregate(records: Iterable[Mapping[str, Any]]) -> dict[str, ScenarioStats]:
    """Figures per scenario, in the order scenarios first appear."""
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for record in unique_records(records):
        by_scenario.setdefault(record["scenario"], []).append(record)
    return {name: _scenario(name, rows) for name, rows in by_scenario.items()}


def _scenario(name: str, rows: list[Mapping[str, Any]]) -> ScenarioStats:
    stats = ScenarioStats(name)
    scored = [r for r in rows if "error" not in r]
    stats.errors = len(rows) - len(scored)
    stats.cases = len(scored)
    if not scored:
        return stats
    stats.k = k = min(r["samples"] for r in scored)
    stats.samples = sum(r["samples"] for r in scored)
    stats.reward = bootstrap_interval([r["mean"] for r in scored], seed=name)
    stats.passed = sum(1 for r in scored if r["passed"])
    stats.pass_at_1 = sum(r["successes"] / r["samples"] for r in scored) / len(scored)
    stats.pass_at_k = sum(pass_at_k(r["samples"], r["successes"], k) for r in scored) / len(scored)
    stats.pass_hat_k = sum(pass_hat_k(r["samples"], r["successes"], k) for r in scored) / len(scored)
    groups = [r["rewards"] for r in scored if isinstance(r.get("rewards"), list)]
    if k > 1 and groups:
        stats.spread = sum(1 for rewards in groups if has_spread(rewards)) / len(groups)
    held: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for r in scored:
        for check_name, entry in r["checks"].items():
            total[check_name] += len(entry["held"])
            held[check_name] += sum(entry["held"])
    stats.check_pass_rates = {c: held[c] / total[c] for c in total}
    failing = Counter({c: total[c] - held[c] for c in total if total[c] > held[c]})
    stats.failing_checks = failing.most_common()
    stats.checks_versions = sorted({r["checks_version"] for r in scored if r.get("checks_version")})
    stats.tiers = tiers(scored)
    return stats


def tiers(scored: Iterable[Mapping[str, Any]]) -> dict[str, TierStats]:
    """Per tier, the mean of its cases' mean rewards, its cases and how many passed (cases without a tier, as
    results saved before tiers were recorded, are left out)."""
    by_tier: dict[str, list[Mapping[str, Any]]] = {}
    for r in scored:
        if isinstance(r.get("tier"), str):
            by_tier.setdefault(r["tier"], []).append(r)
    order = sorted(by_tier, key=tier_key)
    return {t: TierStats(sum(r["mean"] for r in by_tier[t]) / len(by_tier[t]), len(by_tier[t]),
                         sum(1 for r in by_tier[t] if r["passed"])) for t in order}
