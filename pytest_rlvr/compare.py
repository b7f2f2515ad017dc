"""Comparison of two runs' results, scenario by scenario, paired on the cases both ran.

A case is the same in two runs when its scenario, task id and task seed are the same. Per scenario the
difference of the case means (current minus baseline) is averaged over the shared cases and given a 95%
percentile bootstrap interval (cases resampled, seeded: the same two files always give the same
interval). The verdict, with `max_drop` the tolerated drop:

- regression: the whole interval lies below `-max_drop`;
- not significant: the interval straddles `-max_drop` (a drop is possible but not shown);
- no regression: the whole interval lies at or above `-max_drop` (improved: above 0);
- too few shared cases to tell: fewer than `min_shared` cases are shared, but some are;
- not comparable: no case is shared, or the runs differ in split or checks version. A gate fails on it;
  with `allow_incomparable` the reasons are warnings and the verdict is taken on what the runs share.

Other differences in how the runs were made (task sets, serving setup) do not stop the comparison: it
uses what the runs share and says what differs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aggregate import tier_key
from .results import RESULTS_FORMAT
from .stats import Interval, bootstrap_interval

MIN_SHARED = 5
"""Fewer shared cases than this give no verdict: a bootstrap interval over 4 cases means little."""
MAX_DROP = 0.02
REGRESSION = "regression"
NOT_SIGNIFICANT = "not significant"
NO_REGRESSION = "no regression"
IMPROVED = "improved"
TOO_FEW = "too few shared cases to tell"
INCOMPARABLE = "not comparable"
SERVING = ("samples", "temperature", "max_tokens", "max_turns", "base_urls")
"""Settings that change what a sample is; a difference is named in a warning."""


def read_results(path: Path) -> dict[str, Any]:
    """A results JSON written by `--rlvr-save`, checked once for everything the comparison reads.

    Raises:
        ValueError: The file is missing, empty, not JSON, not a pytest-rlvr results file, or malformed
            (one line naming the file and what is wrong).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise ValueError(f"{path} is empty, not a pytest-rlvr results file (written by --rlvr-save)")
    try:
        document = json.loads(data)
    except ValueError as exc:  # not JSON, or not text at all
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
        raise ValueError(f"{path} is not a pytest-rlvr results file (written by --rlvr-save)")
    if problem := _malformed(document):
        raise ValueError(f"{path} is a malformed results file: {problem}")
    return document


def _malformed(document: Mapping[str, Any]) -> str | None:
    """What in a results document the comparison could not read; None when nothing."""
    run = document.get("run")
    if run is not None and not isinstance(run, dict):
        return "'run' is not an object"
    for key in ("settings", "policy", "git", "checks_versions"):
        if run and run.get(key) is not None and not isinstance(run[key], dict):
            return f"'run.{key}' is not an object"
    for scenario, versions in ((run or {}).get("checks_versions") or {}).items():
        if versions is not None and not (isinstance(versions, list) and all(isinstance(v, str) for v in versions)):
            return f"'run.checks_versions.{scenario}' is not a list of strings"
    cases = document.get("cases")
    if not isinstance(cases, list):
        return "'cases' is not a list"
    for number, case in enumerate(cases, 1):
        if not isinstance(case, dict):
            return f"case {number} is not an object"
        where = f"case {number}" + (f" ({case['task_id']})" if isinstance(case.get("task_id"), str) else "")
        for key in ("scenario", "task_id"):
            if not isinstance(case.get(key), str):
                return f"{where} has no {key!r} string"
        if not (case.get("seed") is None or _is_int(case["seed"])):
            return f"{where}: 'seed' is not an integer"
        mean = case.get("mean")
        if "error" not in case and not (_is_number(mean) and math.isfinite(mean)):
            return f"{where} has neither an 'error' nor a numeric 'mean'"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class ScenarioComparison:
    """One scenario of two runs, compared on their shared cases.

    Attributes:
        scenario: The scenario's name.
        shared: Cases scored in both runs (same task id and seed).
        baseline: Mean reward of the baseline over the shared cases (None when none are shared).
        current: Mean reward of the current run over the shared cases.
        difference: Mean of current minus baseline per case, with its 95% bootstrap interval.
        max_drop: The tolerated drop.
        verdict: One of the verdicts of this module.
        reasons: Why the runs are not comparable (verdict `INCOMPARABLE`).
    """

    scenario: str
    shared: int
    baseline: float | None
    current: float | None
    difference: Interval | None
    max_drop: float
    verdict: str
    reasons: tuple[str, ...] = ()

    @property
    def regressed(self) -> bool:
        return self.verdict == REGRESSION

    @property
    def incomparable(self) -> bool:
        return self.verdict == INCOMPARABLE

    def explain(self) -> str:
        """The comparison in one sentence, with its numbers."""
        if self.verdict == INCOMPARABLE:
            reasons = "; ".join(r.removeprefix(f"{self.scenario}: ") for r in self.reasons)
            return f"{self.scenario}: {INCOMPARABLE} with the baseline: {reasons}"
        if self.verdict == TOO_FEW or self.difference is None:
            return (f"{self.scenario}: {TOO_FEW}: {self.shared} shared case(s), at least {MIN_SHARED} needed")
        d = self.difference
        interval = f"[{d.low:+.3f}, {d.high:+.3f}]" if d.low is not None and d.high is not None else "[-]"
        where = {
            REGRESSION: f"entirely below -max_drop = {-self.max_drop:+.3f}",
            NOT_SIGNIFICANT: f"straddles -max_drop = {-self.max_drop:+.3f}: a drop is possible but not shown",
            NO_REGRESSION: f"entirely at or above -max_drop = {-self.max_drop:+.3f}",
            IMPROVED: "entirely above 0",
        }[self.verdict]
        return (f"{self.scenario}: {self.verdict}: mean reward {self.current:.3f} vs baseline {self.baseline:.3f} "
                f"on {self.shared} shared cases; paired difference {d.mean:+.3f}, 95% CI {interval} {where}")

    def properties(self) -> list[tuple[str, object]]:
        """The numbers as (name, value) pairs for `record_property` (they reach JUnit XML)."""
        d = self.difference
        return [("verdict", self.verdict), ("shared_cases", self.shared), ("max_drop", self.max_drop),
                ("baseline_mean", _round(self.baseline)), ("current_mean", _round(self.current)),
                ("difference", _round(d.mean if d else None)), ("ci95_low", _round(d.low if d else None)),
                ("ci95_high", _round(d.high if d else None)),
                *([("reasons", "; ".join(self.reasons))] if self.reasons else [])]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass
class Comparison:
    """Two runs compared: one entry per scenario of the current run, and what differs between the runs."""

    scenarios: dict[str, ScenarioComparison] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    scenario_warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def regressed(self) -> list[str]:
        return [name for name, c in self.scenarios.items() if c.regressed]

    @property
    def incomparable(self) -> list[str]:
        return [name for name, c in self.scenarios.items() if c.incomparable]

    def warnings_for(self, scenario: str) -> list[str]:
        """The run-wide warnings and the scenario's own."""
        return [*self.warnings, *self.scenario_warnings.get(scenario, [])]


def verdict(difference: Interval | None, shared: int, max_drop: float, min_shared: int = MIN_SHARED) -> str:
    """The verdict on a paired difference (see the module's docstring)."""
    if shared < min_shared or difference is None or difference.low is None or difference.high is None:
        return TOO_FEW
    if difference.high < -max_drop:
        return REGRESSION
    if difference.low < -max_drop:
        return NOT_SIGNIFICANT
    return IMPROVED if difference.low > 0 else NO_REGRESSION


def _scored(document: Mapping[str, Any]) -> dict[str, dict[tuple[str, Any], Mapping[str, Any]]]:
    by_scenario: dict[str, dict[tuple[str, Any], Mapping[str, Any]]] = {}
    for case in document["cases"]:
        cases = by_scenario.setdefault(case["scenario"], {})
        if "error" not in case:
            cases[(case["task_id"], case.get("seed"))] = case
    return by_scenario


def _errors(document: Mapping[str, Any], scenario: str) -> int:
    return sum(1 for c in document["cases"] if c["scenario"] == scenario and "error" in c)


def _setting(document: Mapping[str, Any], name: str) -> Any:
    return ((document.get("run") or {}).get("settings") or {}).get(name)


def _run_warnings(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    warnings = []
    serving = [f"{name} {_setting(baseline, name)!r} vs {_setting(current, name)!r}" for name in SERVING
               if _setting(baseline, name) != _setting(current, name)]
    backends = [((d.get("run") or {}).get("policy") or {}).get("backend") for d in (baseline, current)]
    if backends[0] != backends[1]:
        serving.append(f"policy backend {backends[0]!r} vs {backends[1]!r}")
    if serving:
        warnings.append(f"the serving setups differ (baseline vs current): {'; '.join(serving)}")
    return warnings


def _versions(document: Mapping[str, Any], scenario: str) -> list[str]:
    return list(((document.get("run") or {}).get("checks_versions") or {}).get(scenario) or [])


def compare(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    max_drop: float = MAX_DROP,
    min_shared: int = MIN_SHARED,
    seed: int = 0,
    allow_incomparable: bool = False,
) -> Comparison:
    """Compare two results documents (as `--rlvr-save` writes them), scenario by scenario.

    Every scenario of the current run gets an entry; scenarios only the baseline ran get a warning. A
    scenario with no shared case, or runs that differ in split or checks version, get the verdict
    `INCOMPARABLE` with the reasons, unless `allow_incomparable` makes the reasons warnings.
    """
    result = Comparison(warnings=_run_warnings(baseline, current))
    run_reasons = []
    if (b := _setting(baseline, "split")) != (c := _setting(current, "split")):
        run_reasons.append(f"the runs evaluate different splits: {b} (baseline) vs {c} (current)")
    before, after = _scored(baseline), _scored(current)
    only_baseline = sorted(set(before) - set(after))
    if only_baseline:
        result.warnings.append(f"scenarios only in the baseline, not compared: {', '.join(only_baseline)}")
    if allow_incomparable:
        result.warnings.extend(run_reasons)
    for name, cases in after.items():
        notes = result.scenario_warnings.setdefault(name, [])
        reasons = [] if allow_incomparable else list(run_reasons)
        old = before.get(name, {})
        shared = [key for key in cases if key in old]
        missing, extra = len(old) - len(shared), len(cases) - len(shared)
        if name in before and shared and (missing or extra):
            notes.append(f"{name}: the task sets differ: {missing} case(s) only in the baseline, {extra} only "
                         f"in the current run; compared on the {len(shared)} shared")
        if name in before and (v_old := _versions(baseline, name)) != (v_new := _versions(current, name)):
            reasons.append(f"{name}: the checks versions differ: {', '.join(v_old) or 'unknown'} (baseline) vs "
                           f"{', '.join(v_new) or 'unknown'} (current); the rewards are not comparable")
        if not old:
            reasons.append(f"{name}: the baseline scored no case of this scenario")
        elif not cases:
            reasons.append(f"{name}: this run scored no case of this scenario")
        elif not shared:
            reasons.append(f"{name}: no shared case: the baseline's {len(old)} and this run's {len(cases)} scored "
                           "case(s) differ in task id or seed")
        for label, document in (("baseline", baseline), ("current run", current)):
            if errors := _errors(document, name):
                notes.append(f"{name}: {errors} case(s) errored in the {label} and are not compared")
        if allow_incomparable:
            notes.extend(reasons)
            reasons = []
        if not notes:
            del result.scenario_warnings[name]
        difference, means = None, (None, None)
        if shared:
            difference = bootstrap_interval([cases[key]["mean"] - old[key]["mean"] for key in shared],
                                            seed=f"{seed}:{name}")
            means = (sum(old[key]["mean"] for key in shared) / len(shared),
                     sum(cases[key]["mean"] for key in shared) / len(shared))
        judged = INCOMPARABLE if reasons else verdict(difference, len(shared), max_drop, min_shared)
        result.scenarios[name] = ScenarioComparison(name, len(shared), *means, difference, max_drop, judged,
                                                    tuple(reasons))
    return result


def by_tier(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with each case's scenario named `scenario/tier` (`compare --by-tier`): compared as it is,
    each tier of a scenario is then paired, judged and shown on its own row. Cases without a tier keep their
    scenario's name."""
    first = {name: i for i, name in enumerate(dict.fromkeys(c["scenario"] for c in document["cases"]))}
    cases, versions = [], dict(((document.get("run") or {}).get("checks_versions")) or {})
    for c in sorted(document["cases"], key=lambda c: (first[c["scenario"]], tier_key(c.get("tier")))):
        if isinstance(c.get("tier"), str):
            name = f"{c['scenario']}/{c['tier']}"
            versions.setdefault(name, versions.get(c["scenario"]))  # a tier is judged by its scenario's checks
            c = {**c, "scenario": name}
        cases.append(c)
    return {**document, "run": {**(document.get("run") or {}), "checks_versions": versions}, "cases": cases}


def describe(document: Mapping[str, Any]) -> str:
    """A run in a few words: its model, seed, commit and date."""
    run = document.get("run") or {}
    parts = [f"model {run.get('model', '?')}", f"seed {_setting(document, 'seed')}"]
    if git := run.get("git"):
        parts.append(f"commit {str(git.get('commit', ''))[:10]}{'+dirty' if git.get('dirty') else ''}")
    if created := run.get("created"):
        parts.append(str(created))
    return ", ".join(parts)


def comparison_table(comparison: Comparison, title: str | None = None) -> Any:
    """The comparison as a rich table: one row per scenario."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("scenario", no_wrap=True)
    for header in ("shared", "baseline", "current", "difference [95% CI]", "max drop"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for c in comparison.scenarios.values():
        d = c.difference
        if d is None:
            shown = "-"
        elif d.low is None or d.high is None:
            shown = f"{d.mean:+.3f}"
        else:
            shown = f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
        table.add_row(c.scenario, str(c.shared), "-" if c.baseline is None else f"{c.baseline:.3f}",
                      "-" if c.current is None else f"{c.current:.3f}", shown, f"{c.max_drop:g}", c.verdict)
    return table


def render(comparison: Comparison, title: str | None = None, width: int = 100, color: bool = False,
           extra: Sequence[str] = ()) -> str:
    """The table, why any scenario is not comparable, every warning (`warning: ...`) and any extra lines."""
    from .summary import render_table

    lines = [c.explain() for c in comparison.scenarios.values() if c.incomparable]
    lines += [f"warning: {w}" for w in comparison.warnings]
    lines += [f"warning: {w}" for notes in comparison.scenario_warnings.values() for w in notes]
    return render_table(comparison_table(comparison, title), [*lines, *extra], width, color)
