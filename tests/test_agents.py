"""Agents, not only models: `--rlvr-agent` runs an agent on a served site and scores what reached it.

The reference agents prove that the trace rebuilt from the request log loses nothing the checks read (the
HTTP oracle on every eval case, the MCP oracle on the first tasks of each scenario); failing agents error in
one line; the MCP server offers exactly the catalog's tools; the model-backed template runs on a tiny model.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_rlvr import ToolCall, Trace, score
from pytest_rlvr.agent import load_agent
from scenarios import SCENARIOS
from scenarios.atlassian import catalog
from scenarios.atlassian.served import ServedWorld, as_call
from scenarios.atlassian.world import World

REPO = Path(__file__).resolve().parents[1]
SUMMARY_ROW = r"^ (\w+) +(\d+) +(\d+) +([\d.]+) "


def pytest_scenarios(where: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pytest scenarios ARGS` run from `where` (a folder outside the repository)."""
    command = [sys.executable, "-m", "pytest", str(REPO / "scenarios"), "-p", "no:cacheprovider", "-p", "no:xdist",
               "-p", "no:hypothesispytest", *args]
    return subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "120", **(env or {})})


def means(output: str) -> dict[str, tuple[int, float]]:
    """The summary table's (cases, mean reward) per scenario."""
    import re

    return {m.group(1): (int(m.group(2)), float(m.group(4))) for m in re.finditer(SUMMARY_ROW, output, re.M)}


# -- the reference agents ---------------------------------------------------------------------------------------
def test_the_http_oracle_scores_1_on_every_eval_case(tmp_path):
    run = pytest_scenarios(tmp_path, "--rlvr-agent=scenarios.agents.http_oracle:agent", "-q")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    counts = {name: len(scenario.tasks("eval")) for name, scenario in SCENARIOS.items()}
    assert f"{sum(counts.values())} passed" in run.stdout
    assert means(run.stdout) == {name: (count, 1.0) for name, count in counts.items()}


def test_the_mcp_oracle_scores_1_and_keeps_tool_names(tmp_path):
    run = pytest_scenarios(tmp_path, "--rlvr-agent=scenarios.agents.mcp_oracle:agent", "--rlvr-tasks=6", "-q",
                           "--rlvr-save=out/mcp.json")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert means(run.stdout) == {name: (6, 1.0) for name in SCENARIOS}
    traces = [Trace.from_json(line) for line in (tmp_path / "out" / "mcp.traces.jsonl").read_text().splitlines()]
    assert len(traces) == 30
    for trace in traces:
        assert trace.calls and all(c.name in catalog.ALL_TOOLS and r.request == {"raw": c.raw_arguments}
                                   for c, r in trace.calls), trace
        assert trace.policy["backend"] == "agent" and "reached the site" in trace.policy["trace"]


AGENTS = '''
import asyncio
import threading


def agent(case):
    """Crashes on the first task, hangs on the second (async) and fourth (sync), does nothing on the third."""
    if case.task.id.endswith("/1000000"):
        raise RuntimeError("boom\\non two lines")
    if case.task.id.endswith("/1000001"):
        return asyncio.Event().wait()  # a coroutine: run on the agent's own event loop, cancelled at the timeout
    if case.task.id.endswith("/1000003"):
        threading.Event().wait()
    return "Nothing to do."


def not_text(case):
    return 42
'''


def error_section(output: str, task_id: str) -> list[str]:
    """The lines of the error section of the jira_labels case `task_id`, up to the next section."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if f"ERROR at setup of test_jira_labels[{task_id}]" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("___") or lines[i].startswith("==="))
    return lines[start + 1:end]


def test_failing_agents_error_in_one_line_and_a_noop_agent_scores_0(tmp_path):
    (tmp_path / "agents_under_test.py").write_text(AGENTS)
    run = pytest_scenarios(tmp_path, "-k", "jira_labels", "--rlvr-agent=agents_under_test:agent", "--rlvr-tasks=4",
                           "--rlvr-timeout=2", "--rlvr-save=out/run.json", "--rlvr-report=out/run.html")
    output = run.stdout
    assert run.returncode == 1, output[-3000:] + run.stderr[-3000:]
    assert "1 failed, 16 deselected, 3 errors" in output
    assert error_section(output, "jira_labels/eval/1000000") == [
        "InfrastructureError: agent agents_under_test:agent crashed on jira_labels/eval/1000000#0: RuntimeError: "
        "boom on two lines"]
    for hanging in ("1000001", "1000003"):
        assert error_section(output, f"jira_labels/eval/{hanging}") == [
            f"InfrastructureError: agent agents_under_test:agent did not finish jira_labels/eval/{hanging}#0 within "
            "2 s (--rlvr-timeout)"]
    assert "Traceback" not in output
    # The results, traces and report hold the run as they hold a model's.
    document = json.loads((tmp_path / "out" / "run.json").read_text())
    assert document["run"]["model"] == "agent:agents_under_test:agent"
    assert document["run"]["settings"]["agent"] == "agents_under_test:agent"
    cases = {c["task_id"]: c for c in document["cases"]}
    assert cases["jira_labels/eval/1000000"]["error"].endswith("boom on two lines")
    assert cases["jira_labels/eval/1000002"]["rewards"] == [0.0]
    (trace,) = [Trace.from_json(line) for line in (tmp_path / "out" / "run.traces.jsonl").read_text().splitlines()]
    assert trace.calls == [] and trace.final_text == "Nothing to do." and trace.stop_reason == "answered"
    assert trace.state_diff == {} and trace.policy["agent"] == "agents_under_test:agent"
    assert "jira_labels/eval/1000002" in (tmp_path / "out" / "run.html").read_text()
    # An answer that is not text is the agent's bug: an error too, not a score.
    run = pytest_scenarios(tmp_path, "-k", "jira_labels", "--rlvr-agent=agents_under_test:not_text",
                           "--rlvr-tasks=1", "-q")
    assert "agent agents_under_test:not_text returned a int on jira_labels/eval/1000000" in run.stdout
    assert "1 error" in run.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--rlvr-agent=no_colon"], "--rlvr-agent=no_colon: must be MODULE:CALLABLE"),
    (["--rlvr-agent=no_such_module_here:agent"], "--rlvr-agent=no_such_module_here:agent: cannot import "
                                                 "no_such_module_here: ModuleNotFoundError"),
    (["--rlvr-agent=scenarios.agents.http_oracle:nothing"], "has no attribute 'nothing'"),
    (["--rlvr-agent=scenarios.agents.http_oracle:agent", "--rlvr-model=oracle"], "drop --rlvr-model=oracle"),
], ids=["not-module-callable", "no-module", "no-attribute", "with-a-model"])
def test_a_bad_agent_option_stops_the_run_in_one_line(tmp_path, args, message):
    run = pytest_scenarios(tmp_path, "-k", "jira_labels", "--rlvr-tasks=1", *args)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and message in errors[0], run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_load_agent_reads_dotted_callables_and_refuses_what_is_not_callable():
    assert load_agent("scenarios.agents.http_oracle:agent").__name__ == "agent"
    assert load_agent("scenarios.agents.oracle:run.__call__") is not None
    with pytest.raises(ValueError, match="is a str, not a callable"):
        load_agent("scenarios.agents.http_oracle:__doc__")


# -- the request log as tool calls ------------------------------------------------------------------------------
def test_the_request_log_becomes_the_calls_models_make():
    """REST requests (v3, v2, unknown paths, bodies that do not parse) and tool calls read back faithfully."""
    import requests

    scenario = SCENARIOS["jira_labels"]
    task = scenario.tasks("eval", 1)[0]
    served = ServedWorld(scenario.environment(task))
    key = next(iter(task.data.expected))
    try:
        http = requests.Session()
        http.auth = (served.username, served.password)
        base = served.urls["jira_v3"]
        assert http.get(f"{base}/issue/{key}", params={"fields": "labels,summary"}).status_code == 200
        assert http.put(f"{served.urls['jira_v2']}/issue/{key}", json={"update": {"labels": [{"add": "x"}]},
                                                                       "fields": {"description": "a\nb"}}).ok
        assert http.get(f"{base}/no/such/thing").status_code == 404
        assert http.post(f"{base}/issue", data="{not json", headers={"Content-Type": "application/json"}
                         ).status_code == 400
        assert http.get(f"{served.base_url}/__sim/state").status_code == 404  # an agent cannot reset its site
        served.world.call("getIssue", {"issueIdOrKey": key, "nope": 1})  # a rejected tool call (as MCP sends)
    finally:
        served.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/issue/{key}", timeout=5)
    calls = served.calls()
    assert [c.name for c, _ in calls] == ["getIssue", "editIssue", "GET /rest/api/3/no/such/thing", "createIssue",
                                          "GET /__sim/state", "getIssue"]
    (read, got), (edit, wrote), (_, unknown), (bad, refused), _, (tool, rejected) = calls
    assert read.arguments == {"issueIdOrKey": key, "fields": ["labels", "summary"]} and got.ok and not got.write
    assert got.body["key"] == key and json.loads(got.content)["status"] == 200
    assert edit.arguments["update"] == {"labels": [{"add": "x"}]} and wrote.write and wrote.status == 204
    assert edit.arguments["fields"]["description"]["type"] == "doc"  # v2 text, as the v3 core saw it
    assert unknown.error == "unknown_tool" and unknown.status == 404
    assert bad.arguments is None and bad.parse_error and bad.raw_arguments == "{not json" and refused.status == 400
    assert tool.raw_arguments == json.dumps({"issueIdOrKey": key, "nope": 1})
    assert rejected.error == "invalid_arguments" and rejected.status == 400 and rejected.operation == "getIssue"
    assert as_call(served.world.log[0], "x")[0].id == "x"


def test_a_script_through_mcp_scores_what_it_scores_in_process():
    """The naive script (one call a turn) sent through the MCP endpoint gets every check outcome it gets in
    process, failures included: rejected calls and side effects are in the trace as they are in a model's."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    from pytest_rlvr.agent import agent_trace
    from pytest_rlvr.policy import Sampling
    from pytest_rlvr.rollout import rollout
    from pytest_rlvr.scripted import make_scripted

    async def send(url: str, calls: list[ToolCall]) -> None:
        async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as client:
            await client.initialize()
            for call in calls:
                await client.call_tool(call.name, call.arguments or {})

    compared = 0
    for scenario in SCENARIOS.values():
        policy = make_scripted("naive", {scenario.name: scenario})
        for task in scenario.tasks("eval", 3):
            expected = asyncio.run(rollout(scenario, task, lambda r, p=policy: _one(p, r)))
            env = scenario.environment(task)
            served = env.serve()
            try:
                asyncio.run(send(served.mcp_url(), [c for c, _ in expected.calls]))
            finally:
                served.close()
            trace = agent_trace(scenario, task, 0, Sampling(), {}, served.calls(), expected.final_text, env)
            assert [(c.name, c.arguments) for c, _ in trace.calls] == [(c.name, c.arguments) for c, _ in expected.calls]
            checks = scenario.checks_for(task)
            got, wanted = score(checks, trace, task), score(checks, expected, task)
            assert [(o.name, o.held) for o in got.outcomes] == [(o.name, o.held) for o in wanted.outcomes], task.id
            assert got.score == wanted.score
            compared += wanted.score < 1
    assert compared >= 10  # the naive script fails most tasks: failures are compared, not only successes


async def _one(policy, request):
    (turn,) = await policy.generate([request])
    return turn


# -- the MCP server ---------------------------------------------------------------------------------------------
def test_the_mcp_server_offers_the_catalog_tools_over_stdio():
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def session() -> tuple[list[dict[str, object]], list[tuple[bool, dict[str, object]]]]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "scenarios.atlassian", "mcp", "--seed", "3"],
                                       cwd=str(REPO))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            listed = (await client.list_tools()).tools
            tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                       "parameters": t.inputSchema}} for t in listed]
            answers = []
            for name, arguments in [("getSpaces", {"limit": 1}), ("getIssue", {"nope": 1}), ("invented", {})]:
                result = await client.call_tool(name, arguments)
                answers.append((result.isError, json.loads(result.content[0].text)))
            return tools, answers

    tools, answers = asyncio.run(session())
    assert tools == catalog.definitions(catalog.ALL_TOOLS)
    (ok, spaces), (invalid, refused), (unknown, missing) = answers
    assert not ok and spaces["status"] == 200 and len(spaces["body"]["results"]) == 1
    assert invalid and refused["status"] == 400 and "issueIdOrKey" in json.dumps(refused["body"])
    assert unknown and missing["status"] == 404 and "Unknown tool 'invented'" in json.dumps(missing["body"])


def test_the_mcp_cli_refuses_an_unknown_tool_in_one_line():
    run = subprocess.run([sys.executable, "-m", "scenarios.atlassian", "mcp", "--tools", "getIssue,nope"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "unknown tool(s) nope" in run.stderr and "Traceback" not in run.stderr


def test_a_served_world_offers_its_scenario_tools_over_mcp_http():
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    scenario = SCENARIOS["confluence_page_create"]
    served = World(3, scenario.tool_names).serve()

    async def names() -> list[str]:
        async with streamable_http_client(served.mcp_url()) as (read, write, _), \
                ClientSession(read, write) as client:
            await client.initialize()
            return [t.name for t in (await client.list_tools()).tools]

    try:
        assert asyncio.run(names()) == list(scenario.tool_names)
    finally:
        served.close()
    with pytest.raises(RuntimeError, match="closed"):
        served.mcp_url()


# -- the model-backed template --------------------------------------------------------------------------------
def test_the_model_mcp_agent_runs_a_model_through_mcp(tmp_path):
    pytest.importorskip("transformers")
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_model import build

    model = build(tmp_path / "tiny")
    run = pytest_scenarios(tmp_path, "-k", "jira_labels", "--rlvr-agent=scenarios.agents.model_mcp:agent",
                           "--rlvr-tasks=1", "--rlvr-max-tokens=24", "--rlvr-max-turns=2",
                           "--rlvr-save=out/model.json", "-q", env={"RLVR_AGENT_MODEL": str(model)})
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    assert "error" not in run.stdout.splitlines()[-1]
    (trace,) = [Trace.from_json(line) for line in (tmp_path / "out" / "model.traces.jsonl").read_text().splitlines()]
    assert trace.policy["agent"] == "scenarios.agents.model_mcp:agent" and trace.stop_reason == "answered"
    assert all(c.name in SCENARIOS["jira_labels"].tool_names or r.error for c, r in trace.calls)
