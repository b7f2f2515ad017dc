"""The self-contained HTML report of a saved run: one file that opens from disk, with no network.

It shows how the run was made, every scenario's figures and charts, every case with its checks,
conversation and state diff (searchable and filterable), and with a baseline the paired comparison and
the cases that got worse. Everything from the model, the traces and the results is escaped
(`report_html`); a Content-Security-Policy allows only the page's own script and stylesheet (`report_assets`).

`python -m pytest_rlvr report RESULTS.json [--baseline B.json] [--traces T.jsonl] [--max-drop R] -o PATH.html`
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .compare import MAX_DROP, MIN_SHARED, Comparison, ScenarioComparison, compare, describe, read_results
from .options import non_negative_float, report_path
from .report_assets import CSP, CSS, JS
from .report_cases import Change, case_block, failing_checks, first_line, status
from .report_charts import histogram, tier_bars
from .report_html import Html, compact, fmt, h, items, join, mapping, number
from .results import write_atomically
from .trace import Trace

PROG = "python -m pytest_rlvr report"
USAGE_ERROR = 2
TOP_CHECKS = 6
"""Failing checks listed per scenario."""
WHY_CUT = 90
"""The most characters of a check's most frequent message in the scenario's table."""
ERRORS_LISTED = 20
"""Errored cases listed by name in the run's section."""
WORSE_LISTED = 50
"""Cases listed in the table of cases that got worse (the case list shows every one)."""
NO_TRACES = ("No traces file was found for this run, so conversations and state diffs are not shown "
             "(give one with --traces PATH).")


# -- API ----------------------------------------------------------------------------------------------------
def render_report(document: Mapping[str, Any], traces: Sequence[Trace] | None,
                  baseline: Mapping[str, Any] | None = None, *, max_drop: float = MAX_DROP) -> str:
    """The report page of a results document (as `--rlvr-save` writes it and `compare.read_results` checks it).

    Args:
        document: The run's results.
        traces: The run's traces; None when there are none (the page says so).
        baseline: Results of an earlier run to compare with (paired differences, verdicts, worse cases).
        max_drop: The tolerated drop in mean reward for the verdicts.
    """
    run = mapping(document.get("run"))
    cases = [case for case in items(document.get("cases")) if isinstance(case, Mapping)]
    comparison, changes = None, {}
    if baseline is not None:
        seed = mapping(run.get("settings")).get("seed")
        comparison = compare(baseline, document, max_drop, MIN_SHARED,
                             seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else 0)
        changes = _changes(baseline, cases)
        cases = sorted(cases, key=lambda c: changes[id(c)].delta if id(c) in changes else 0.0)
    numbered = list(enumerate(cases, 1))
    title = f"pytest-rlvr report: {_str(run.get('model')) or 'unknown model'}"
    body = [
        _nav(baseline is not None),
        h("div", _header(document, cases, traces is not None),
          h("main",
            _run(document, numbered),
            _baseline(comparison, baseline, numbered, changes) if comparison is not None else None,
            _scenarios(document, cases),
            _cases(numbered, _index(traces), traces is not None, changes),
            h("footer", "Written by pytest-rlvr. Opens from disk; loads nothing from the network.")),
          cls="inner"),
        Html(f"<script>{JS}</script>"),
    ]
    head = join([
        Html('<meta charset="utf-8">'),
        h("meta", http_equiv="Content-Security-Policy", content=CSP),
        h("meta", name="viewport", content="width=device-width, initial-scale=1"),
        h("meta", name="referrer", content="no-referrer"),
        h("link", rel="icon", href="data:,"),
        h("title", title),
        Html(f"<style>{CSS}</style>"),
    ])
    return f'<!DOCTYPE html>\n<html lang="en">\n<head>{head}</head>\n<body>{join(body)}</body>\n</html>\n'


def write_report(path: Path, document: Mapping[str, Any], traces_path: Path | None,
                 baseline_path: Path | None = None, *, max_drop: float = MAX_DROP) -> Path:
    """Write the report of a results document atomically (a reader never sees half a page); return its path.

    A missing traces file gives a report without conversations, which says so.

    Raises:
        OSError: The report cannot be written.
        ValueError: The traces or the baseline are malformed or unreadable (one line naming the file).
    """
    traces = read_trace_file(traces_path) if traces_path is not None and traces_path.is_file() else None
    baseline = read_results(baseline_path) if baseline_path is not None else None
    page = render_report(document, traces, baseline, max_drop=max_drop)
    write_atomically(path, page)
    return path


def read_trace_file(path: Path) -> list[Trace]:
    """Every trace of a traces JSONL file.

    Raises:
        ValueError: The file cannot be read or a line is not a trace (one line naming the file and line).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    traces = []
    for number_, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            trace = Trace.from_json(line)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise ValueError(f"{path} line {number_} is not a pytest-rlvr trace: {first_line(str(exc))}") from None
        if not isinstance(trace.scenario, str) or not isinstance(trace.task_id, str) or not isinstance(
                trace.sample, int):
            raise ValueError(f"{path} line {number_} is not a pytest-rlvr trace: no scenario, task id or sample")
        traces.append(trace)
    return traces


def default_traces(results: Path, document: Mapping[str, Any]) -> Path | None:
    """The run's traces: `run.traces` of the results when that file exists, else `<stem>.traces.jsonl` beside."""
    saved = mapping(document.get("run")).get("traces")
    for candidate in ([Path(saved)] if isinstance(saved, str) and saved else []) + [
            results.with_name(results.stem + ".traces.jsonl")]:
        if candidate.is_file():
            return candidate
    return None


# -- CLI ----------------------------------------------------------------------------------------------------
def add_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "report", help="write the self-contained HTML report of a saved run",
        description="Write the self-contained HTML report of a results JSON written by --rlvr-save: the run, "
                    "every scenario, every case with its conversation, and with --baseline the comparison.")
    command.add_argument("results", type=Path, help="results JSON of the run")
    command.add_argument("-o", "--output", type=output_path, required=True, metavar="PATH",
                         help="where to write the report, e.g. report.html")
    command.add_argument("--baseline", type=Path, metavar="B.json", help="results of a run to compare with")
    command.add_argument("--traces", type=Path, metavar="T.jsonl",
                         help="the run's traces (default: the path the results name, else "
                              "<stem>.traces.jsonl beside them)")
    command.add_argument("--max-drop", type=non_negative_float, default=MAX_DROP, metavar="R",
                         help=f"tolerated drop in mean reward, as --rlvr-max-drop (default: {MAX_DROP})")
    command.set_defaults(run=run)


def output_path(text: str) -> Path:
    """A file path for the report in a writable directory (`options.report_path`)."""
    if text and Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path, e.g. {Path(text) / 'report.html'}")
    return report_path(text)


def run(args: argparse.Namespace) -> int:
    """Write the report; 2 with one line on stderr when an input is missing or malformed."""
    try:
        document = read_results(args.results)
        traces_path = args.traces if args.traces is not None else default_traces(args.results, document)
        if args.traces is not None and not args.traces.is_file():
            raise ValueError(f"--traces {args.traces}: no such file")
        if args.output.resolve() in {p.resolve() for p in (args.results, traces_path, args.baseline) if p}:
            raise ValueError(f"-o {args.output}: that is an input of the report; give the report its own path, "
                             "e.g. report.html")
        written = write_report(args.output, document, traces_path, args.baseline, max_drop=args.max_drop)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        print(f"{PROG}: error: cannot write {exc.filename or args.output}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE_ERROR
    print(f"report written to {written}")
    return 0


# -- the page -----------------------------------------------------------------------------------------------
def _str(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else compact(value)


def _index(traces: Sequence[Trace] | None) -> dict[tuple[str, str], dict[int, Trace]]:
    """Traces by case and sample; a later trace of the same sample replaces an earlier one (a resumed run)."""
    found: dict[tuple[str, str], dict[int, Trace]] = {}
    for trace in traces or ():
        found.setdefault((trace.scenario, trace.task_id), {})[trace.sample] = trace
    return found


def _case_key(case: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return case.get("scenario"), case.get("task_id"), case.get("seed")


def _changes(baseline: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> dict[int, Change]:
    """Each scored case's mean in the baseline and now, by `id(case)`, for the cases both runs scored."""
    before = {_case_key(c): number(c.get("mean")) for c in items(baseline.get("cases"))
              if isinstance(c, Mapping) and "error" not in c}
    changes = {}
    for case in cases:
        old, new = before.get(_case_key(case)), number(case.get("mean"))
        if "error" not in case and old is not None and new is not None:
            changes[id(case)] = Change(old, new)
    return changes


def _nav(with_baseline: bool) -> Html:
    links = [("#run", "Run"), *([("#baseline", "Baseline")] if with_baseline else []), ("#scenarios", "Scenarios"),
             ("#cases", "Cases")]
    return h("nav", h("div", h("span", "pytest-rlvr report", cls="brand"),
                      [h("a", label, href=href) for href, label in links], cls="inner"))


def _header(document: Mapping[str, Any], cases: Sequence[Mapping[str, Any]], have_traces: bool) -> Html:
    run = mapping(document.get("run"))
    settings, policy = mapping(run.get("settings")), mapping(run.get("policy"))
    complete = document.get("complete") is not False
    states = Counter(status(c) for c in cases)
    scored = [m for c in cases if (m := number(c.get("mean"))) is not None and "error" not in c]
    sub = [h("span", "complete" if complete else "incomplete: the run stopped early",
             cls=f"badge {'complete' if complete else 'incomplete'}"),
           h("span", "backend ", h("b", _str(policy.get("backend")) or "–")),
           h("span", "split ", h("b", _str(settings.get("split")) or "–")),
           h("span", "samples ", h("b", _str(settings.get("samples")) or "–")),
           h("span", "created ", h("b", _str(run.get("created")) or "–"))]
    tiles = [(f"{len(scored)}", "cases scored"), (f"{states['passed']}/{len(scored)}", "cases passed"),
             (fmt(sum(scored) / len(scored)) if scored else "–", "mean reward over cases"),
             (f"{states['errored']}", "cases errored")]
    notes = [] if have_traces else [h("p", NO_TRACES, cls="note")]
    if not complete:
        notes.append(h("p", "This run did not finish: it holds only the cases scored before it stopped.",
                       cls="note"))
    return h("header", h("h1", _str(run.get("model")) or "unknown model"), h("div", sub, cls="sub"),
             h("div", [h("div", h("div", value, cls="value"), h("div", what, cls="what"), cls="tile")
                       for value, what in tiles], cls="tiles"), notes)


TIPS = {
    "errors": "cases that errored (infrastructure failure, check bug) and were not scored",
    "mean reward [95% CI]": "the mean over cases of each case's mean reward, with its 95% bootstrap interval",
    "passed": "cases whose mean reward reached their threshold",
    "cases passed": "cases whose mean reward reached their threshold",
    "cases errored": "cases that errored (infrastructure failure, check bug) and were not scored",
    "pass@1": "the chance that a single sample reaches the threshold",
    "pass@k": "the chance that at least one of k samples reaches the threshold (unbiased estimate)",
    "pass^k": "the chance that all k samples reach the threshold",
}
"""Tooltips of the figures' headers."""


def _tip(label: str, k: int) -> str | None:
    return TIPS.get(label if label == "pass@1" else label.replace(f"@{k}", "@k").replace(f"^{k}", "^k"))


RUN_SETTINGS = ("samples", "temperature", "max_tokens", "max_turns", "seed", "split", "tasks", "threshold",
                "concurrency", "base_urls", "timeout", "retries")


def _run(document: Mapping[str, Any], numbered: Sequence[tuple[int, Mapping[str, Any]]]) -> Html:
    run = mapping(document.get("run"))
    policy, settings, git = mapping(run.get("policy")), mapping(run.get("settings")), mapping(run.get("git"))
    choice = mapping(policy.get("choice"))
    commit = _str(git.get("commit"))[:12] + (" (with uncommitted changes)" if git.get("dirty") else "")
    resumed = mapping(run.get("resumed"))
    facts = [
        ("model", run.get("model")), ("policy", policy.get("model") or policy.get("name")),
        ("backend", f"{_str(policy.get('backend'))}{': ' + _str(choice.get('why')) if choice.get('why') else ''}"
         if policy.get("backend") else None),
        ("chat template", policy.get("template")), ("tool calls", policy.get("tool_format")),
        ("thinking", policy.get("thinking")), ("model spec", policy.get("spec")),
        ("created", run.get("created")), ("commit", commit or None),
        ("complete", "yes" if document.get("complete") is not False else "no: stopped early"),
        ("resumed", f"reused {_str(resumed.get('reused'))} of {_str(resumed.get('of'))} rollouts from "
                    f"{_str(resumed.get('from'))}" if resumed else None),
        ("traces", run.get("traces")), ("trace", policy.get("trace")),
    ]
    shown = [(name, setting) for name in RUN_SETTINGS if (setting := settings.get(name)) not in (None, [], {})]
    versions = mapping(run.get("checks_versions"))
    left = h("div", h("h3", "How it ran"), _dl([(n, v) for n, v in facts if v not in (None, "")]))
    right = h("div", h("h3", "Settings"), _dl(shown),
              h("h3", "Checks versions", cls="spaced"),
              _dl([(name, ", ".join(map(_str, items(v))) or "unknown") for name, v in versions.items()]),
              _more("all settings", settings), _more("package versions", mapping(run.get("versions"))))
    errored = [(i, c) for i, c in numbered if "error" in c]
    more = (h("p", f"… and {len(errored) - ERRORS_LISTED} more: ", h("a", "show every errored case",
                                                                     href="#status=errored"), cls="muted")
            if len(errored) > ERRORS_LISTED else None)
    errors = h("div", h("h3", f"Errors: {len(errored)} case(s) errored and were not scored", cls="spaced"),
               h("ul", [h("li", h("a", _str(c.get("task_id")), href=f"#case-{i}"), ": ", first_line(c.get("error")))
                        for i, c in errored[:ERRORS_LISTED]], cls="plain"), more) if errored else None
    return h("section", h("h2", "Run"), h("div", h("div", left, right, cls="two"), errors, cls="card"), id="run")


def _dl(pairs: Sequence[tuple[str, Any]]) -> Html:
    if not pairs:
        return h("p", "none recorded", cls="muted")
    return h("dl", [[h("dt", name), h("dd", _str(value))] for name, value in pairs], cls="grid")


def _more(label: str, values: Mapping[str, Any]) -> Html | None:
    if not values:
        return None
    return h("details", h("summary", label, cls="muted"), _dl(list(values.items())), cls="more")


def _verdict(comparison: ScenarioComparison) -> Html:
    verdict = comparison.verdict
    return h("span", verdict, cls=f"badge {verdict.replace(' ', '-')}", title=comparison.explain())


def _baseline(comparison: Comparison, baseline: Mapping[str, Any],
              numbered: Sequence[tuple[int, Mapping[str, Any]]], changes: Mapping[int, Change]) -> Html:
    rows = []
    for c in comparison.scenarios.values():
        d = c.difference
        interval = f" [{d.low:+.3f}, {d.high:+.3f}]" if d and d.low is not None and d.high is not None else ""
        rows.append(h("tr", h("td", h("code", c.scenario)), h("td", str(c.shared), cls="num"),
                      h("td", fmt(c.baseline), cls="num"), h("td", fmt(c.current), cls="num"),
                      h("td", f"{d.mean:+.3f}{interval}" if d else "–", cls="num"),
                      h("td", f"{c.max_drop:g}", cls="num"), h("td", _verdict(c))))
    head = h("tr", h("th", "scenario"), *[h("th", t, cls="num") for t in (
        "shared cases", "baseline", "current", "difference [95% CI]", "max drop")], h("th", "verdict"))
    notes = [c.explain() for c in comparison.scenarios.values() if c.incomparable]
    notes += [f"warning: {w}" for w in comparison.warnings]
    notes += [f"warning: {w}" for ws in comparison.scenario_warnings.values() for w in ws]
    worse = sorted(((i, c, changes[id(c)]) for i, c in numbered if id(c) in changes and changes[id(c)].delta < 0),
                   key=lambda row: row[2].delta)
    worse_rows = [h("tr", h("td", h("a", _str(c.get("task_id")), href=f"#case-{i}")), h("td", _str(c.get("scenario"))),
                    h("td", fmt(ch.baseline), cls="num"), h("td", fmt(ch.current), cls="num"),
                    h("td", h("span", f"{ch.delta:+.3f}", cls="delta worse"), cls="num"))
                  for i, c, ch in worse[:WORSE_LISTED]]
    worse_head = h("tr", h("th", "case"), h("th", "scenario"), h("th", "baseline", cls="num"),
                   h("th", "current", cls="num"), h("th", "change", cls="num"))
    worse_part = (h("table", h("thead", worse_head), h("tbody", worse_rows), cls="data") if worse
                  else h("p", "No shared case got worse.", cls="muted"))
    more = (h("p", f"… and {len(worse) - WORSE_LISTED} more; the case list below is ordered worst first.",
              cls="muted") if len(worse) > WORSE_LISTED else None)
    return h("section", h("h2", "Against the baseline"), h("div",
             h("p", "baseline: ", describe(baseline), cls="muted"),
             h("table", h("thead", head), h("tbody", rows), cls="data"),
             h("ul", [h("li", n) for n in notes], cls="plain muted") if notes else None,
             h("h3", f"Cases that got worse ({len(worse)})", cls="spaced"), worse_part, more, cls="card"),
             id="baseline")


def _scenarios(document: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> Html:
    figures = mapping(document.get("scenarios"))
    names = list(figures) + sorted({_str(c.get("scenario")) for c in cases} - set(figures))
    by_name: dict[str, list[Mapping[str, Any]]] = {name: [] for name in names}
    for case in cases:
        by_name.setdefault(_str(case.get("scenario")), []).append(case)
    k = max((kk for f in figures.values() if isinstance(kk := mapping(f).get("k"), int)), default=1)
    head = h("tr", h("th", "scenario"), *[h("th", t, cls="num", title=_tip(t, k)) for t in (
        "cases", "errors", "mean reward [95% CI]", "passed", "pass@1", *([f"pass@{k}", f"pass^{k}"] if k > 1 else []))])
    rows = [_overview_row(n, name, mapping(figures.get(name)), k > 1) for n, name in enumerate(names, 1)]
    cards = [_scenario_card(n, name, mapping(figures.get(name)), by_name[name]) for n, name in enumerate(names, 1)]
    return h("section", h("h2", "Scenarios"), h("div", h("table", h("thead", head), h("tbody", rows), cls="data"),
                                                cls="card"),
             h("div", cards, cls="scenarios"), id="scenarios")


def _interval(f: Mapping[str, Any]) -> Html:
    ci = items(f.get("ci95"))
    spread = f" [{fmt(ci[0])}, {fmt(ci[1])}]" if len(ci) == 2 and None not in map(number, ci) else ""
    return h("span", fmt(f.get("mean")), h("span", spread, cls="ci muted"))


def _overview_row(n: int, name: str, f: Mapping[str, Any], show_k: bool) -> Html:
    return h("tr", h("td", h("a", h("code", name), href=f"#scenario-{n}")), h("td", _str(f.get("cases")), cls="num"),
             h("td", _str(f.get("errors")), cls="num"), h("td", _interval(f), cls="num"),
             h("td", f"{_str(f.get('passed'))}/{_str(f.get('cases'))}", cls="num"),
             *[h("td", fmt(f.get(key)), cls="num") for key in ("pass@1", *(("pass@k", "pass^k") if show_k else ()))])


def _scenario_card(n: int, name: str, f: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> Html:
    scored = [c for c in cases if "error" not in c]
    rewards = [r for c in scored for x in items(c.get("rewards")) if (r := number(x)) is not None]
    tiers: dict[str, list[float]] = {}
    for c in scored:
        if (m := number(c.get("mean"))) is not None:
            tiers.setdefault(_str(c.get("tier")) or "none", []).append(m)
    k = f.get("k") if isinstance(f.get("k"), int) else 1
    figures = [(_interval(f), "mean reward [95% CI]"), (fmt(f.get("pass@1")), "pass@1"),
               *([(fmt(f.get("pass@k")), f"pass@{k}"), (fmt(f.get("pass^k")), f"pass^{k}")] if k > 1 else []),
               (f"{_str(f.get('passed'))}/{_str(f.get('cases'))}", "cases passed"),
               (_str(f.get("errors")) or "0", "cases errored")]
    versions = ", ".join(map(_str, items(f.get("checks_versions"))))
    top = h("div", h("h3", name), h("span", f"checks {versions}", cls="muted small") if versions else None,
            h("a", "failed cases →", href="#" + urlencode({"scenario": name, "status": "failed"})), cls="top")
    body = h("div", h("div", h("div", f"reward per sample ({len(rewards)})", cls="label"), histogram(rewards)),
             h("div", h("div", "mean reward per tier", cls="label"), tier_bars(tiers)),
             h("div", h("div", "checks that fail most", cls="label"), _failing_table(name, f, scored)), cls="body")
    return h("div", top, h("div", [h("div", h("div", v, cls="v"), h("div", what, cls="k"), cls="figure",
                                     title=_tip(what, k))
                                   for v, what in figures], cls="figures"),
             body, cls="card scenario-card", id=f"scenario-{n}")


def _failing_table(scenario: str, f: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> Html:
    counts = [(name, n) for name, n in mapping(f.get("failing_checks")).items() if isinstance(n, int) and n > 0]
    if not counts:
        return h("p", "No check failed." if cases else "No case was scored.", cls="muted")
    samples = f.get("samples") if isinstance(f.get("samples"), int) else 0
    info: dict[str, Mapping[str, Any]] = {}
    messages: dict[str, Counter[str]] = {}
    for case in cases:
        for name, entry in mapping(case.get("checks")).items():
            info.setdefault(name, mapping(entry))
        for failures in items(case.get("failures")):
            for name, message in mapping(failures).items():
                messages.setdefault(name, Counter())[first_line(message)] += 1
    rows = []
    for name, n in sorted(counts, key=lambda pair: -pair[1])[:TOP_CHECKS]:
        common = messages.get(name, Counter()).most_common(1)
        why = common[0][0] if common else ""
        link = "#" + urlencode({"scenario": scenario, "check": name})
        rows.append(h("tr", h("td", h("a", h("code", name), href=link),
                              h("div", why[:WHY_CUT] + ("…" if len(why) > WHY_CUT else ""), cls="why", title=why)),
                      h("td", _str(info.get(name, {}).get("group"))),
                      h("td", f"{n}/{samples}" if samples else str(n), cls="num")))
    head = h("tr", h("th", "check (its most frequent message)"), h("th", "group"), h("th", "failed", cls="num"))
    return h("table", h("thead", head), h("tbody", rows), cls="data failing")


def _cases(numbered: Sequence[tuple[int, Mapping[str, Any]]], traces: Mapping[tuple[str, str], Mapping[int, Trace]],
           have_traces: bool, changes: Mapping[int, Change]) -> Html:
    cases = [c for _, c in numbered]

    def options(key: str, label: str, values: list[str]) -> Html:
        counts = Counter(values)
        return h("select", h("option", f"all {label}", value=""),
                 [h("option", f"{value} ({counts[value]})", value=value) for value in sorted(counts)],
                 id=f"f-{key}", aria_label=label)

    checks = [name for c in cases for name in failing_checks(c)]
    filters = h("div", options("scenario", "scenarios", [_str(c.get("scenario")) for c in cases]),
                options("tier", "tiers", [_str(c.get("tier")) for c in cases if c.get("tier") is not None]),
                options("status", "outcomes", [status(c) for c in cases]),
                options("check", "failing checks", checks),
                h("input", type="search", id="f-q", placeholder="search text, tool calls, answers…",
                  aria_label="search"),
                h("button", "reset", id="f-reset", type="button"),
                h("button", "expand shown", id="f-open", type="button"),
                h("button", "collapse all", id="f-close", type="button"),
                h("span", f"{len(cases)} cases", id="shown"), cls="filters")
    order = " Ordered by the change against the baseline, worst first." if changes else ""
    blocks = [case_block(i, c, traces.get((_str(c.get("scenario")), _str(c.get("task_id"))), {}), have_traces,
                         changes.get(id(c))) for i, c in numbered]
    return h("section", h("h2", "Cases"),
             h("p", "Each case holds its checks, the conversation turn by turn and the state diff." + order,
               cls="muted"), filters,
             h("div", blocks, cls="case-list" + (" with-baseline" if changes else "")) if blocks
             else h("p", "No case in this run.", cls="muted"), id="cases")
