"""The HTML report: escaped untrusted data under a hash-based CSP, its sections, baselines, and its command."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_rlvr.__main__ import main
from pytest_rlvr.report import NO_TRACES, render_report, write_report
from pytest_rlvr.report_html import CUT
from pytest_rlvr.results import results_document, write_results
from pytest_rlvr.settings import Settings
from pytest_rlvr.trace import ToolCall, ToolResult, Trace, Turn

ROOT = Path(__file__).resolve().parents[1]
EVIL = ("<script>document.title='pwned'</script></textarea></details></pre>"
        "<img src=x onerror=\"document.title='pwned'\">")
CHECKS = {"outcome_ok": ("outcome", 4.0), "informed": ("process", 2.0), "no_invalid_call": ("process", 1.0)}
POLICY = {"name": "scripted-test", "backend": "scripted"}


# -- a small run, made by hand ------------------------------------------------------------------------------
def record(scenario: str, number: int, held: list[dict[str, bool]], tier: str = "easy",
           messages: dict[str, str] | None = None) -> dict[str, Any]:
    """A case record as `Case.record()` makes it: one `held` dict per sample."""
    weights = sum(w for _, w in CHECKS.values())
    rewards = [sum(CHECKS[n][1] for n, ok in sample.items() if ok) / weights for sample in held]
    task_id = f"{scenario}/eval/{number}"
    return {
        "nodeid": f"scenarios/test_{scenario}.py::test_{scenario}[{task_id}]", "task_id": task_id,
        "scenario": scenario, "split": "eval", "seed": number, "tier": tier, "checks_version": "v1",
        "samples": len(held), "sample_seeds": [number * 10 + i for i in range(len(held))], "rewards": rewards,
        "mean": sum(rewards) / len(rewards), "threshold": 1.0, "passed": sum(rewards) / len(rewards) >= 1.0,
        "successes": sum(1 for r in rewards if r >= 1.0),
        "checks": {name: {"group": group, "weight": weight, "held": [s[name] for s in held]}
                   for name, (group, weight) in CHECKS.items()},
        "failures": [{name: (messages or {}).get(name, f"{name} did not hold\nassert False")
                      for name, ok in sample.items() if not ok} for sample in held],
        "stop_reasons": ["answered"] * len(held), "turns": [1] * len(held), "tokens": [[100, 20]] * len(held),
    }


ALL = {"outcome_ok": True, "informed": True, "no_invalid_call": True}
NONE = {"outcome_ok": False, "informed": False, "no_invalid_call": False}
PART = {"outcome_ok": True, "informed": False, "no_invalid_call": True}


def trace(case: dict[str, Any], sample: int, text: str = "done", calls: list[tuple[ToolCall, ToolResult]] = (),
          diff: dict[str, Any] | None = None) -> Trace:
    return Trace(task_id=case["task_id"], scenario=case["scenario"], sample=sample,
                 seed=case["sample_seeds"][sample], policy=POLICY,
                 messages=[{"role": "system", "content": "You work in an Atlassian Cloud site."},
                           {"role": "user", "content": f"Please handle {case['task_id']}."}],
                 turns=[Turn(text, [c for c, _ in calls], [r for _, r in calls], tokens_in=100, tokens_out=20)],
                 stop_reason="answered", state_diff=diff or {})


def call(name: str, raw: str, status: int, body: Any, *, parsed: bool = True, error: str | None = None,
         number: int = 0) -> tuple[ToolCall, ToolResult]:
    arguments = json.loads(raw) if parsed else None
    return (ToolCall(f"call_{number}", name, raw, arguments, None if parsed else "Expecting value: line 1 column 2"),
            ToolResult(f"call_{number}", name, status, body, json.dumps({"status": status, "body": body}),
                       error=error, write=name.startswith("edit"), operation=name))


def document(records: list[dict[str, Any]], *, complete: bool = True, samples: int = 1,
             save: Path = Path("saved-elsewhere/run.json")) -> dict[str, Any]:
    settings = Settings(model="scripted-test", samples=samples, save=save)
    return results_document(records, settings, POLICY, ROOT, complete=complete,
                            env={"versions": {"python": "3.11"}, "git": {"commit": "0123456789abcdef", "dirty": True}})


@pytest.fixture
def run() -> tuple[dict[str, Any], list[Trace]]:
    """Five cases in two scenarios; the first reply and call are hostile, one call did not parse."""
    a1 = record("alpha", 1, [PART], messages={"informed": f"call #0 used an id no answer showed: {EVIL}"})
    a2 = record("alpha", 2, [ALL], tier="hard")
    a3 = record("alpha", 3, [NONE], tier="hard")
    b1 = record("beta", 1, [ALL, PART], tier="medium")
    errored = {"nodeid": "scenarios/test_beta.py::test_beta[beta/eval/2]", "task_id": "beta/eval/2",
               "scenario": "beta", "split": "eval", "seed": 2, "tier": "easy", "checks_version": "v1",
               "error": "InfrastructureError: 503 Service Unavailable from http://127.0.0.1:9/v1\nmore detail"}
    traces = [
        trace(a1, 0, EVIL, [call("editIssue", '{"issueIdOrKey": "PAY-1", "fields": {"summary": "' +
                                  EVIL.replace('"', '\\"') + '"}}', 400, {"errorMessages": [EVIL]})],
              diff={"issues/PAY-1/summary": {"before": "old", "after": EVIL}}),
        trace(a2, 0, "all good", [call("getIssue", '{"issueIdOrKey": "PAY-2"}', 200, {"key": "PAY-2"})]),
        trace(a3, 0, "", [call("editIssue", "{'issueIdOrKey': PAY-3</details>", 400, None, parsed=False,
                               error="invalid_json")]),
        trace(b1, 0, "needle in the first sample"),
        trace(b1, 1, "x" * (CUT + 1234)),
    ]
    return document([a1, a2, a3, b1, errored], samples=2), traces


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> and <style>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- security ------------------------------------------------------------------------------------------------
def test_untrusted_text_is_shown_escaped_and_the_page_has_its_one_script(run):
    doc, traces = run
    doc["cases"][0]["scenario"] = doc["cases"][0]["task_id"] = 'x"><script>alert(1)</script>'  # even names
    page = render_report(doc, traces)
    parsed = Page(page)
    assert len(parsed.named("script")) == 1 and page.lower().count("<script") == 1
    assert "</textarea>" not in page and "<img" not in page and "</pre><img" not in page
    assert not [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")]
    assert page.count("<details") == page.count("</details>")  # no closing tag came from the data
    assert html.escape(EVIL) in page  # the reply, the argument, the answer, the diff and the message show as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "pwned" not in "".join(parsed.raw["script"])


def test_the_csp_allows_only_the_inline_script_and_style_by_their_hashes(run):
    page = render_report(*run)
    parsed = Page(page)
    (meta,) = [m for m in parsed.named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in meta["content"].split(";"))
    (script,), (style,) = parsed.raw["script"], parsed.raw["style"]
    assert policy["default-src"] == "'none'" and policy["img-src"] == "data:"
    assert policy["script-src"] == sha256(script) and policy["style-src"] == sha256(style)
    assert "unsafe" not in meta["content"]
    # Opens from disk: no address outside the page (links are fragments; the icon is data:).
    addresses = [a[key] for _, a in parsed.tags for key in ("href", "src", "action") if a.get(key)]
    assert addresses and all(x.startswith(("#", "data:")) for x in addresses)
    assert not re.search(r"https?://(?!127\.0\.0\.1)", page.replace("http://www.w3.org", ""))
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script


def test_a_trace_file_with_a_bad_line_is_refused_in_one_line(tmp_path, run, capsys):
    doc, traces = run
    results = tmp_path / "run.json"
    write_results(results, doc)
    (tmp_path / "run.traces.jsonl").write_text(traces[0].to_json() + "\n{not json\n")
    assert main(["report", str(results), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run.traces.jsonl line 2 is not a pytest-rlvr trace" in err
    assert not (tmp_path / "r.html").exists()


# -- content -------------------------------------------------------------------------------------------------
def test_the_page_shows_the_run_the_scenarios_and_every_case(run):
    doc, traces = run
    page = render_report(doc, traces)
    parsed = Page(page)
    assert {a.get("id") for a in parsed.named("section")} == {"run", "scenarios", "cases"}
    assert "scripted-test" in page and "0123456789ab (with uncommitted changes)" in page
    # Errors: the errored case with its one-line error, linked to the case.
    assert "InfrastructureError: 503 Service Unavailable from http://127.0.0.1:9/v1</li>" in page
    # Per scenario: the mean with its interval, pass@k and pass^k (2 samples), a histogram and tier bars.
    assert "pass@2" in page and "pass^2" in page
    assert len([s for s in parsed.named("svg") if s.get("class") == "chart"]) == 4
    assert "reward histogram of 3 sample(s)" in page and "reward histogram of 2 sample(s)" in page
    assert "hard: mean reward 0.500 over 2 case(s)" in page  # (1 + 0) / 2
    # Per case: the data the filters read, every check with its message.
    cases = {a["id"]: a for a in parsed.named("details") if "case" in (a.get("class") or "").split()}
    assert len(cases) == 5
    assert [c["data-status"] for c in cases.values()].count("errored") == 1
    assert {json.dumps(json.loads(c["data-failing"])) for c in cases.values()} >= {'["informed"]', "[]"}
    assert "informed did not hold" in page and ">5 cases</span>" in page  # the script writes "N of 5 cases shown"
    assert "needle in the first sample" in page and "user" in page and "system prompt" in page


def test_an_unparsed_call_shows_as_written_with_its_parse_error(run):
    page = render_report(*run)
    assert "not parsed: Expecting value: line 1 column 2" in page
    assert "{&#x27;issueIdOrKey&#x27;: PAY-3&lt;/details&gt;" in page
    assert "invalid_json" in page


def test_a_long_body_is_cut_and_says_so(run):
    page = render_report(*run)
    assert "x" * CUT in page and "x" * (CUT + 1) not in page
    assert "cut: 1,234 more characters not shown" in page


def test_without_traces_the_page_says_so_once(run, tmp_path):
    doc, _ = run
    page = render_report(doc, None)
    assert page.count(NO_TRACES) == 1 and "traces not available" in page
    written = write_report(tmp_path / "out" / "r.html", doc, tmp_path / "missing.traces.jsonl")
    assert written.read_text(encoding="utf-8").count(NO_TRACES) == 1
    assert [p.name for p in written.parent.iterdir()] == ["r.html"]  # written in place, no temporary left


def test_an_incomplete_run_says_so():
    page = render_report(document([record("alpha", 1, [ALL])], complete=False), [])
    assert "incomplete: the run stopped early" in page and "This run did not finish" in page


def test_a_malformed_but_readable_results_file_still_renders():
    doc = document([record("alpha", 1, [ALL])])
    case = doc["cases"][0]
    case.update(checks={"a": "b", "c": {"held": "x"}}, failures="nope", rewards=[None, "1", True], tokens=7,
                tier=["x"], turns=None)
    doc["scenarios"]["alpha"].update(ci95=[1], failing_checks={"a": "many"}, k="2")
    doc["run"]["policy"] = None
    page = render_report(doc, [])
    assert "alpha/eval/1" in page


# -- baseline ------------------------------------------------------------------------------------------------
def test_a_baseline_gives_the_paired_table_and_the_cases_that_got_worse_first(run):
    doc, traces = run
    better = [record("alpha", n, [ALL]) for n in (1, 2, 3)] + [record("beta", 1, [ALL])]
    baseline = document(better)
    page = render_report(doc, traces, baseline, max_drop=0.05)
    assert 'id="baseline"' in page and "too few shared cases to tell" in page and "difference [95% CI]" in page
    worse = page.index("Cases that got worse (3)")
    order = [page.index(f'href="#case-{n}">', worse) for n in (1, 2, 3)]
    assert order == sorted(order)
    ids = re.findall(r'<details class="case" id="case-(\d+)" data-scenario="(\w+)"[^>]*>.*?<code class="task">'
                     r"([^<]+)</code>", page)
    assert [task for _, _, task in ids][:3] == ["alpha/eval/3", "alpha/eval/1", "beta/eval/1"]  # -1, -3/7, -3/14
    assert "-1.000" in page and "was 1.000" in page


# -- the command ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("problem", ["missing", "not json", "not results", "baseline", "traces", "same path"])
def test_bad_inputs_exit_2_with_one_line(problem, tmp_path, run, capsys):
    doc, traces = run
    results = tmp_path / "run.json"
    write_results(results, doc)
    args = ["report", str(results), "-o", str(tmp_path / "r.html")]
    if problem == "missing":
        args[1] = str(tmp_path / "nothere.json")
    elif problem == "not json":
        results.write_text("{")
    elif problem == "not results":
        results.write_text("[]")
    elif problem == "baseline":
        (tmp_path / "b.json").write_text('{"format": "pytest-rlvr/results", "cases": {}}')
        args += ["--baseline", str(tmp_path / "b.json")]
    elif problem == "traces":
        args += ["--traces", str(tmp_path / "nothere.jsonl")]
    else:
        args[3] = str(results)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m pytest_rlvr report: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and not (tmp_path / "r.html").exists()
    assert results.exists()


def test_the_traces_beside_the_results_are_found_and_a_directory_is_no_output(tmp_path, run, capsys):
    doc, traces = run  # the results name a traces file that is not there; the one beside them is used
    write_results(tmp_path / "run.json", doc)
    (tmp_path / "run.traces.jsonl").write_text("".join(t.to_json() + "\n" for t in traces))
    assert main(["report", str(tmp_path / "run.json"), "-o", str(tmp_path / "r.html")]) == 0
    assert capsys.readouterr().out == f"report written to {tmp_path / 'r.html'}\n"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert NO_TRACES not in page and "needle in the first sample" in page
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(tmp_path / "run.json"), "-o", str(tmp_path)])
    assert exit_.value.code == 2 and f"{tmp_path} is a directory" in capsys.readouterr().err


def test_a_real_saved_run_with_rlvr_report_and_then_the_command(tmp_path):
    def pytest_run(name: str, model: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "scenarios", f"--rlvr-model={model}", "--rlvr-tasks=1",
             "-k", "jira_labels or jira_ticket_transition", f"--rlvr-save={tmp_path / name}.json",
             f"--rlvr-report={tmp_path / name}.html", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)

    oracle, naive = pytest_run("oracle", "oracle"), pytest_run("naive", "naive")
    assert oracle.returncode in (0, 1) and naive.returncode == 1, oracle.stdout[-2000:] + naive.stdout[-2000:]
    assert f"report written to {tmp_path / 'naive.html'}" in naive.stdout
    page = (tmp_path / "naive.html").read_text(encoding="utf-8")
    assert page.count('<details class="case"') == 2 and "editIssue" in page and NO_TRACES not in page
    command = subprocess.run(
        [sys.executable, "-m", "pytest_rlvr", "report", str(tmp_path / "naive.json"), "--baseline",
         str(tmp_path / "oracle.json"), "-o", str(tmp_path / "cmp.html")], cwd=tmp_path, capture_output=True,
        text=True, timeout=120)
    assert command.returncode == 0 and command.stdout == f"report written to {tmp_path / 'cmp.html'}\n", command
    compared = (tmp_path / "cmp.html").read_text(encoding="utf-8")
    means = [{c["task_id"]: c["mean"] for c in json.loads((tmp_path / f"{n}.json").read_text())["cases"]}
             for n in ("oracle", "naive")]
    worse = sum(1 for task, mean in means[1].items() if mean < means[0][task])
    assert worse and f"Cases that got worse ({worse})" in compared and "baseline: model oracle" in compared
