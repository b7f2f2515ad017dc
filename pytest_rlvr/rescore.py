"""`python -m pytest_rlvr rescore TRACES.jsonl [-o RESULTS.json] [--results SAVED.json]`: score saved traces
with today's checks, without a model.

Each case's task is rebuilt from (scenario, split, seed) and must have the digest its traces recorded
(`Task.digest`); a case whose task rebuilds differently, or whose samples are not all there, is not rescored,
and says why. Traces saved before they recorded their task take its split and seed from the saved results.
The records, the per-scenario table and the `-o` document are those a run makes; what changed is shown
against the results saved with the traces (`<stem>.json` beside `<stem>.traces.jsonl`, or `--results`).
The checks' assertions are rewritten as under pytest, so failure messages show the values, but not pytest's
diffs of `==` (those need a test session); the rewards are the same. Exit status: 0, or 2 for a usage error
(an unreadable file, an unknown scenario, nothing to rescore, an output over an input), in one line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aggregate import aggregate, unique_records
from .case import Case
from .checks import CheckBug, score
from .options import non_negative_int
from .scenario import Scenario
from .trace import Trace

PROG = "python -m pytest_rlvr rescore"
USAGE_ERROR = 2
CHANGES = 20
"""Changed cases listed at most, by default."""
WIDTH = 100
TRACES_SUFFIX = ".traces.jsonl"
Key = tuple[str, str]


def add_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "rescore", help="score saved traces with today's checks",
        description="Score saved traces with today's checks, without a model; show what changed against the "
                    "results saved with them.")
    command.add_argument("traces", type=Path, metavar="TRACES.jsonl",
                         help="traces JSONL written by --rlvr-save (<stem>.traces.jsonl)")
    command.add_argument("-o", "--output", type=Path, default=None, metavar="RESULTS.json",
                         help="write the rescored results there (compare and report read them)")
    command.add_argument("--results", type=Path, default=None, metavar="SAVED.json",
                         help="the results saved with the traces (default: <stem>.json beside them)")
    command.add_argument("--changes", type=non_negative_int, default=CHANGES, metavar="N",
                         help=f"list at most N changed cases (default: {CHANGES})")
    command.set_defaults(run=run)


class UsageError(Exception):
    """A problem with the command's input, shown as one line."""


@dataclass
class Rescored:
    """What rescoring made: records as a run makes them, and what it could not rescore."""

    records: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unverified: int = 0
    carried: int = 0


def read_traces(path: Path) -> tuple[dict[Key, dict[int, Trace]], int]:
    """The traces of a JSONL file by case and sample, and how many lines did not parse (skipped).

    A later trace of the same sample replaces an earlier one, as a resumed run's do.

    Raises:
        UsageError: The file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    found: dict[Key, dict[int, Trace]] = {}
    skipped = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            trace = Trace.from_json(line.decode())
            if not _well_typed(trace):
                raise TypeError("not a trace")
        except (ValueError, TypeError, KeyError, AttributeError):
            skipped += 1
            continue
        found.setdefault((trace.scenario, trace.task_id), {})[trace.sample] = trace
    return found, skipped


def _well_typed(trace: Trace) -> bool:
    """Whether the fields that say which case and task a trace is are of their types."""
    return (isinstance(trace.scenario, str) and isinstance(trace.task_id, str) and _is_int(trace.sample)
            and isinstance(trace.task_split, str | None) and isinstance(trace.task_digest, str | None)
            and (trace.task_seed is None or _is_int(trace.task_seed)))


def saved_results(traces: Path, given: Path | None) -> tuple[Path | None, dict[str, Any] | None]:
    """The results saved with the traces: `given`, or `<stem>.json` beside them when it exists.

    Raises:
        UsageError: The file is missing (when given), unreadable or malformed.
    """
    from .compare import read_results

    path = given
    if path is None and traces.name.endswith(TRACES_SUFFIX):
        beside = traces.with_name(traces.name.removesuffix(TRACES_SUFFIX) + ".json")
        path = beside if beside.exists() else None
    if path is None:
        return None, None
    try:
        return path, read_results(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def registered_scenarios(names: set[str]) -> dict[str, Scenario]:
    """The scenarios of the `pytest_rlvr.scenarios` entry points, by name; each of `names` must be one.

    Raises:
        UsageError: An entry point fails to load, or a name is not registered.
    """
    from . import registry

    _rewrite_asserts()
    try:
        known = registry.by_name(registry.load_entry_point_scenarios())
    except Exception as exc:  # an entry point's module may raise anything while importing
        raise UsageError(f"cannot load the {registry.GROUP} entry points: {type(exc).__name__}: {exc}") from None
    if unknown := sorted(names - set(known)):
        raise UsageError(f"no scenario named {', '.join(map(repr, unknown))} is registered "
                         f"(entry points {registry.GROUP}: {', '.join(sorted(known)) or 'none'})")
    return known


def _rewrite_asserts() -> None:
    """Rewrite the checks' assertions as pytest does, before their modules are imported, so that failure
    messages show the values, as in a run (pytest's diffs of `==` need a test session, and are left out).

    Best effort: pytest's import hook is not public API; without it the messages are the checks' own.
    """
    from . import registry
    from .plugin import CHECK_MODULES

    try:
        from _pytest.assertion import install_importhook
        from _pytest.assertion.rewrite import AssertionRewritingHook
        from _pytest.config import get_config

        if not any(isinstance(finder, AssertionRewritingHook) for finder in sys.meta_path):  # else inside pytest
            install_importhook(get_config()).mark_rewrite(*CHECK_MODULES, *registry.rewrite_targets())
    except Exception:  # a pytest without this internal API: the checks' own messages
        return


def rescore(traces: Mapping[Key, Mapping[int, Trace]], scenarios: Mapping[str, Scenario],
            saved: Mapping[str, Any] | None) -> Rescored:
    """Score every case of `traces` with its scenario's checks; carry the saved run's errored cases."""
    settings = ((saved or {}).get("run") or {}).get("settings") or {}
    saved_cases = {(c["scenario"], c["task_id"]): c for c in (saved or {}).get("cases") or []}
    out = Rescored()
    for key in sorted(traces):
        saved_case = saved_cases.get(key)
        result = _case(key, traces[key], scenarios[key[0]], saved_case, settings)
        if isinstance(result, tuple):
            out.records.append(result[0])
            out.unverified += not result[1]
        elif saved_case is not None and "error" in saved_case:  # e.g. the policy failed after some samples
            out.records.append(dict(saved_case))
            out.carried += 1
        else:
            out.refused.append(f"{key[0]}[{key[1]}]: {result}")
    for key, case in saved_cases.items():
        if key in traces:
            continue
        if "error" in case:
            out.records.append(dict(case))
            out.carried += 1
        else:
            out.refused.append(f"{key[0]}[{key[1]}]: no trace of it in the traces file")
    out.records = sorted(unique_records(out.records), key=lambda r: (r["scenario"], r["task_id"]))
    return out


def _case(key: Key, samples: Mapping[int, Trace], scenario: Scenario, saved: Mapping[str, Any] | None,
          settings: Mapping[str, Any]) -> tuple[dict[str, Any], bool] | str:
    """The case's record and whether its task was verified by digest, or why it is not rescored."""
    k = next((n for n in ((saved or {}).get("samples"), settings.get("samples")) if _is_int(n)), None)
    if k is not None:
        if missing := [i for i in range(k) if i not in samples]:
            return f"the traces of sample(s) {', '.join(map(str, missing))} of {k} are missing"
        traces = [samples[i] for i in range(k)]
    else:
        traces = [samples[i] for i in sorted(samples)]
    named = {(t.task_split, t.task_seed, t.task_digest) for t in traces}
    if len(named) > 1:
        return "its samples' traces name different tasks"
    split, seed, digest = named.pop()
    if split is None or seed is None:  # a trace saved before traces recorded their task
        split, seed = (saved or {}).get("split"), (saved or {}).get("seed")
        if not isinstance(split, str) or not _is_int(seed):
            return "its traces do not say which task they are (split, seed), and no saved results do"
    try:
        task = scenario.task(seed, split)
    except Exception as exc:  # a scenario's own code, given a saved seed
        return f"cannot rebuild its task (split {split}, seed {seed}): {type(exc).__name__}: {exc}"
    if task.id != key[1]:
        return f"split {split}, seed {seed} rebuilds task {task.id!r}, not this one"
    if digest is not None and digest != task.digest:
        return (f"its task rebuilds differently (digest {digest[:12]} saved, {task.digest[:12]} now): the saved "
                "traces do not suffice; roll it out again")
    identity = {"nodeid": (saved or {}).get("nodeid"), "task_id": task.id, "scenario": scenario.name,
                "split": task.split, "seed": task.seed, "tier": task.tier,
                "checks_version": scenario.checks_version}
    try:
        rewards = [score(scenario.checks_for(task), trace, task) for trace in traces]
    except CheckBug as exc:
        return {**identity, "error": f"CheckBug: {exc}"}, digest is not None
    threshold = settings.get("threshold")
    threshold = threshold if _is_number(threshold) else scenario.threshold
    return {**identity, **Case(scenario, task, traces, rewards, threshold).record()}, digest is not None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- what changed -----------------------------------------------------------------------------------------
def changes_table(saved: Mapping[str, Any], records: list[dict[str, Any]]) -> Any:
    """Per scenario: the saved and rescored mean over the cases scored in both, and the checks versions."""
    from rich import box
    from rich.table import Table

    before = _scored(saved.get("cases") or [])
    after = _scored(records)
    old_versions = (saved.get("run") or {}).get("checks_versions") or {}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("scenario", no_wrap=True)
    for header in ("cases", "saved mean", "rescored mean", "change"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("checks version saved -> now", no_wrap=True)
    for name in sorted({s for s, _ in after} | {s for s, _ in before}):
        shared = [key for key in after if key[0] == name and key in before]
        old = sum(before[key]["mean"] for key in shared) / len(shared) if shared else None
        new = sum(after[key]["mean"] for key in shared) / len(shared) if shared else None
        versions_now = sorted({r["checks_version"] for key, r in after.items() if key[0] == name})
        versions = f"{', '.join(old_versions.get(name) or ['?'])} -> {', '.join(versions_now) or '?'}"
        table.add_row(name, str(len(shared)), _mean(old), _mean(new),
                      "-" if old is None or new is None else f"{new - old:+.3f}", versions)
    return table


def changed_cases(saved: Mapping[str, Any], records: list[dict[str, Any]]) -> list[tuple[float, str]]:
    """Each case scored in both whose mean changed: (size of the change, a line saying how), largest first."""
    before = _scored(saved.get("cases") or [])
    lines = []
    for key, record in _scored(records).items():
        old = before.get(key)
        if old is None or abs(record["mean"] - old["mean"]) < 1e-9:
            continue
        flips = _flips(old.get("checks") or {}, record["checks"])
        lines.append((abs(record["mean"] - old["mean"]),
                      f"{key[0]}[{key[1]}]: {old['mean']:.3f} -> {record['mean']:.3f}{flips}"))
    return sorted(lines, key=lambda pair: -pair[0])


def _flips(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The checks that now fail more often, or hold more often, than they did."""
    before, after = _held_rates(old), _held_rates(new)
    shared = [name for name in after if name in before]
    failing = [name for name in shared if after[name] < before[name]]
    holding = [name for name in shared if after[name] > before[name]]
    parts = [f"now failing: {', '.join(failing)}" if failing else "",
             f"now holding: {', '.join(holding)}" if holding else ""]
    return "".join(f"; {part}" for part in parts if part)


def _held_rates(checks: Any) -> dict[str, float]:
    """Each check's share of samples in which it held, from a case record's `checks`."""
    rates = {}
    for name, entry in (checks.items() if isinstance(checks, dict) else ()):
        held = entry.get("held") if isinstance(entry, dict) else None
        if isinstance(held, list) and held:
            rates[name] = sum(map(bool, held)) / len(held)
    return rates


def _scored(cases: Any) -> dict[Key, Mapping[str, Any]]:
    return {(c["scenario"], c["task_id"]): c for c in cases
            if isinstance(c, dict) and "error" not in c and _is_number(c.get("mean"))}


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# -- the command ------------------------------------------------------------------------------------------
def document(rescored: Rescored, traces_path: Path, traces: Mapping[Key, Mapping[int, Trace]],
             saved_path: Path | None, saved: Mapping[str, Any] | None, skipped: int) -> dict[str, Any]:
    """The rescored results: the saved run's metadata, a `rescored` entry, today's figures and cases."""
    from .results import RESULTS_FORMAT, RESULTS_VERSION, git_commit

    stats = aggregate(rescored.records)
    now = {name: s.checks_versions for name, s in stats.items() if s.checks_versions}
    run = dict((saved or {}).get("run") or _run_from_traces(traces, rescored.records))
    carried = {name: versions for name, versions in (run.get("checks_versions") or {}).items()
               if any(r["scenario"] == name for r in rescored.records)}
    run["checks_versions"] = {**carried, **now}
    run["traces"] = str(traces_path.resolve())
    run["rescored"] = {
        "traces": str(traces_path.resolve()),
        "results": str(saved_path.resolve()) if saved_path is not None else None,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checks_versions": now,
        "git": git_commit(Path.cwd()),
        "cases": len(rescored.records) - rescored.carried,
        "carried_errors": rescored.carried,
        "not_rescored": rescored.refused,
        "unverified": rescored.unverified,
        "malformed_lines": skipped,
    }
    complete = bool((saved or {}).get("complete", True)) and not rescored.refused
    return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "complete": complete, "run": run,
            "scenarios": {name: s.to_dict() for name, s in stats.items()}, "cases": rescored.records}


def _run_from_traces(traces: Mapping[Key, Mapping[int, Trace]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the traces tell of the run, when no results were saved with them."""
    first = next(iter(next(iter(traces.values())).values()))
    policy = {k: v for k, v in first.policy.items() if k != "sampling"} if isinstance(first.policy, dict) else {}
    sampling = first.policy.get("sampling") if isinstance(first.policy, dict) else None
    sampling = sampling if isinstance(sampling, dict) else {}
    splits = sorted({r["split"] for r in records})
    settings = {"model": policy.get("name"), "samples": min((r.get("samples", 0) for r in records), default=0),
                "temperature": sampling.get("temperature"), "max_tokens": sampling.get("max_tokens"),
                "split": splits[0] if len(splits) == 1 else None}
    return {"created": None, "model": policy.get("name"), "policy": policy or None, "settings": settings,
            "versions": None, "git": None, "checks_versions": {}, "traces": None, "resumed": None}


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


def _run(args: argparse.Namespace) -> int:
    from .results import write_results
    from .summary import render, render_table

    traces, skipped = read_traces(args.traces)
    saved_path, saved = saved_results(args.traces, args.results)
    if args.output is not None and args.output.resolve() in {p.resolve() for p in (args.traces, saved_path) if p}:
        raise UsageError(f"-o {args.output}: give a path other than the traces' or the saved results'")
    if not traces:
        raise UsageError(f"{args.traces} holds no trace to rescore ({skipped} malformed line(s) skipped)")
    scenarios = registered_scenarios({scenario for scenario, _ in traces})
    rescored = rescore(traces, {name: scenarios[name] for name, _ in traces}, saved)
    if rescored.carried == len(rescored.records):
        raise UsageError(f"no case of {args.traces} could be rescored: {'; '.join(rescored.refused[:3])}")
    meta = (saved or {}).get("run") or _run_from_traces(traces, rescored.records)
    settings, model = meta.get("settings") or {}, meta.get("model") or "?"
    k = min((r["samples"] for r in rescored.records if _is_int(r.get("samples"))), default=0)
    title = (f"model {model} · {k} sample{'s' if k != 1 else ''} per case · split {settings.get('split', '?')} · "
             f"seed {settings.get('seed', '?')}")
    notes = [f"{skipped} malformed line(s) skipped"] if skipped else []
    if rescored.unverified:
        notes.append(f"{rescored.unverified} case(s) rescored without a task digest to verify their task against "
                     "(traces saved before traces recorded it)")
    if rescored.carried:
        notes.append(f"{rescored.carried} errored case(s) of the saved results carried as they were (without "
                     "the traces to score them)")
    notes += [f"not rescored: {line}" for line in rescored.refused]
    print(f"rlvr: rescored {len(rescored.records) - rescored.carried} case(s) of {args.traces} with today's checks")
    print(render(aggregate(rescored.records), title, WIDTH, False))
    for note in notes:
        print(f"rlvr: {note}")
    if saved is None:
        print(f"rlvr: no results saved with {args.traces} to compare with (give --results SAVED.json)")
    else:
        print(f"changes against {saved_path}:")
        print(render_table(changes_table(saved, rescored.records), [], WIDTH, False))
        changed = changed_cases(saved, rescored.records)
        shown = changed[:args.changes]
        print(f"{len(changed)} case(s) changed" + (":" if shown else "") if changed else "no case's reward changed")
        for _, line in shown:
            print(f"  {line}")
        if len(changed) > len(shown):
            print(f"  ... and {len(changed) - len(shown)} more (--changes N lists more)")
    if args.output is not None:
        try:
            write_results(args.output, document(rescored, args.traces, traces, saved_path, saved, skipped))
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"rescored results written to {args.output}")
    return 0
