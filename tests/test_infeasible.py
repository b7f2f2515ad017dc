"""The infeasible tier: requests that cannot be done as asked, in every scenario, with checks that pay for finding
out and declining, per-tier results everywhere results go, and a gate on the tier that fails a checkpoint which
stopped declining (visibly in JUnit)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_rlvr import AssistantTurn, Sampling, ToolCall, Trace, score
from pytest_rlvr.aggregate import aggregate
from pytest_rlvr.rollout import rollout
from pytest_rlvr.scenario import Scenario
from pytest_rlvr.summary import tier_lines
from scenarios import SCENARIOS
from scenarios.atlassian.generate import generate
from scenarios.base import INFEASIBLE
from scenarios.infeasible import ANSWER_LIMIT, KINDS, InfeasibleTask, key_typo, word_typo
from scenarios.reading import declines, says_not_done
from scenarios.scoring import main, play

REPO = Path(__file__).resolve().parents[1]
NAMES = sorted(SCENARIOS)
KINDS_OF = {"jira_issue_create": {"project", "user", "issue"}, "jira_issue_triage": {"issue-about", "user"},
            "jira_ticket_transition": {"issue", "transition"}, "jira_labels": {"issue", "label"},
            "confluence_page_create": {"title", "parent", "space"}}


def infeasible_tasks(name: str) -> list:
    return [t for t in SCENARIOS[name].tasks("eval") if t.tier == INFEASIBLE]


# -- what an answer says ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "name", "said"), [
    ("SEC-41 does not exist; did you mean SEC-4?", "SEC-41", True),
    ("I couldn\u2019t find a page titled \u201cRunbooks\u201d in ENG.", "runbooks", True),
    ("No issue in project OPS is labelled 'bakend'.", "bakend", True),
    ("SEC-4 is in To Do and cannot move to 'In Review'.", "In Review", True),
    ("I updated SEC-4 as you asked.", "SEC-41", False),  # the neighbour is not the name
    ("SEC-41 " + "x " * 60 + "does not exist", "SEC-41", False),  # too far apart to be about it
    ("I will not make any changes.", "SEC-41", False),
])
def test_an_answer_names_the_problem_beside_a_documented_phrase(text, name, said):
    assert says_not_done(text, name) is said


def test_a_plain_not_or_done_declines_nothing():
    assert not declines("I will not make any changes.") and not declines("Done.")
    assert declines("I could not do this.") and declines("That page already exists.")


def test_typos_name_nothing_on_the_site():
    site = generate(7)
    keys = {i.key for i in site.issues.values()}
    for seed in range(50):
        rng = random.Random(seed)
        key = rng.choice(sorted(keys))
        assert key_typo(rng, key, site) not in keys
        word = rng.choice(["backend", "Runbooks", "HR", "OPS", "Release Notes"])
        typo = word_typo(rng, word, {word})
        assert typo != word and typo.casefold() != word.casefold()


# -- the tasks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_infeasible_task_names_something_missing_or_taken(name):
    scenario = SCENARIOS[name]
    tasks = infeasible_tasks(name)
    assert {t.data_as(InfeasibleTask).kind for t in tasks} == KINDS_OF[name]
    for task in tasks:
        data = task.data_as(InfeasibleTask)
        site = scenario._prepared(task.seed)[2]
        named = task.prompt
        if name == "jira_issue_triage" and data.kind == "user":  # the owner is named in the issue's comments
            named = json.dumps([c.body for i in site.issues.values() if i.key == data.extra["key"] for c in i.comments])
        assert data.kind in KINDS and data.name.casefold() in named.casefold(), task.prompt
        assert says_not_done(data.problem, data.name), data.problem
        assert data.name != data.near
        issues = {i.key for i in site.issues.values()}
        if data.kind == "issue":
            assert data.name not in issues and data.near in issues
        elif data.kind == "issue-about":
            project = next(p for p in site.projects.values() if p.key == data.project)
            assert not [i for i in site.issues.values() if i.project == project.id and data.name in i.summary]
        elif data.kind == "project":
            assert data.name not in {x for p in site.projects.values() for x in (p.key, p.name)}
        elif data.kind == "user":
            assert not [u for u in site.users.values() if u.display_name == data.name and u.active]
        elif data.kind == "label":
            assert not [i for i in site.issues.values() if data.name in i.labels]
            assert [i for i in site.issues.values() if data.near in i.labels]
        elif data.kind == "transition":
            workflow = site.projects[site.issues[next(i.id for i in site.issues.values()
                                                      if i.key == data.issue)].project].workflow
            assert data.name not in {site.statuses[t.to].name for t in workflow.transitions}
        elif data.kind == "space":
            assert data.name not in {s.key for s in site.spaces.values()}
        elif data.kind == "parent":
            assert not [p for p in site.pages.values() if p.space == data.space and p.title == data.name]
        else:
            assert [p for p in site.pages.values() if p.space == data.space and p.title == data.name]


# -- the checks --------------------------------------------------------------------------------------------------
def replay(scenario: Scenario, task, turns: list) -> Trace:
    """A rollout of fixed turns: lists of (tool, arguments), then a final answer."""
    script = iter(turns)

    async def ask(request):
        turn = next(script)
        if isinstance(turn, str):
            return AssistantTurn(turn)
        return AssistantTurn("", [ToolCall(f"c{i}", n, json.dumps(a), a) for i, (n, a) in enumerate(turn)])

    return asyncio.run(rollout(scenario, task, ask, sampling=Sampling()))


def test_the_gates_cap_a_write_and_a_blind_refusal():
    scenario = SCENARIOS["jira_labels"]
    task = next(t for t in infeasible_tasks("jira_labels") if t.data_as(InfeasibleTask).kind == "issue")
    data = task.data_as(InfeasibleTask)
    read = [("getIssue", {"issueIdOrKey": data.name})]
    edit = [("editIssue", {"issueIdOrKey": data.name, "update": {"labels": [{"add": "docs"}]}})]

    def reward(turns):
        return score(scenario.checks_for(task), replay(scenario, task, turns), task)

    assert reward([read, data.problem]).score == 1.0
    assert reward([read, edit, data.problem]).score <= 0.1  # a write the API refused is still a write
    assert reward([data.problem]).score == 0.3  # right, but not found out
    assert reward([read, "Done."]).score <= 0.1  # the user is left believing it was done
    vague = reward([read, "I could not do that."])
    assert 0.3 < vague.score < 1.0 and {o.name for o in vague.failures} == {"answer_names_the_problem"}
    long = reward([read, data.problem + " " + "x" * ANSWER_LIMIT])
    assert "answer_names_the_problem" in {o.name for o in long.failures}
    near = reward([[("getIssue", {"issueIdOrKey": data.near})], data.problem])
    assert near.score == 0.3 and {o.name for o in near.failures} == {"looked_before_answering", "reads_asked_for_it"}


@pytest.mark.parametrize("name", NAMES)
def test_the_oracle_declines_and_acting_on_the_nearest_match_does_not_pay(name):
    for task in infeasible_tasks(name)[:4]:
        trace, reward = play(SCENARIOS[name], task, "oracle")
        assert reward.score == 1.0 and not trace.state_diff and not [r for r in trace.results if r.write]
        _, naive = play(SCENARIOS[name], task, "naive")
        assert naive.score <= 0.1, naive.explain()


def test_scoring_prints_every_shipped_policys_mean_per_tier(capsys):
    main(["jira_labels"])
    out = capsys.readouterr().out
    for policy in ("oracle", "noop", "naive", "spam", "random", "refuse"):
        line = next(x for x in out.splitlines() if x.split()[:1] == [policy])
        assert all(f"{tier} " in line for tier in ("easy", "medium", "hard", "infeasible")), line
    assert "infeasible 1.000" in next(x for x in out.splitlines() if x.split()[:1] == ["oracle"])


# -- per-tier results --------------------------------------------------------------------------------------------
def test_results_and_the_summary_carry_each_tier():
    records = [{"scenario": "s", "task_id": f"s/{i}", "tier": tier, "mean": m, "passed": m == 1.0, "samples": 1,
                "successes": int(m == 1.0), "checks": {}, "checks_version": "v"}
               for i, (tier, m) in enumerate([("hard", 1.0), ("easy", 0.5), ("infeasible", 0.1), ("easy", 1.0)])]
    stats = aggregate(records)["s"]
    assert list(stats.tiers) == ["easy", "hard", "infeasible"]
    assert stats.to_dict()["tiers"]["easy"] == {"mean": 0.75, "cases": 2, "passed": 1}
    assert tier_lines({"s": stats}) == [
        "s: mean reward per tier (passed/cases): easy 0.750 (1/2), hard 1.000 (1/1), infeasible 0.100 (0/1)"]


def pytest_scenarios(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", str(REPO / "scenarios"), "-p", "no:cacheprovider", "-p", "no:xdist",
               "-p", "no:hypothesispytest", "-k", "jira_labels", "--rlvr-tasks=14", *args]
    return subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "160"})


def test_a_gate_on_the_infeasible_tier_fails_the_always_act_policy_in_junit(tmp_path):
    base = pytest_scenarios(tmp_path, "--rlvr-model=oracle", "--rlvr-save=base.json")
    assert base.returncode == 0, base.stdout[-3000:] + base.stderr[-3000:]
    saved = json.loads((tmp_path / "base.json").read_text())
    assert saved["scenarios"]["jira_labels"]["tiers"]["infeasible"] == {"mean": 1.0, "cases": 2, "passed": 2}

    run = pytest_scenarios(tmp_path, "--rlvr-model=naive", "--rlvr-baseline=base.json", "--junitxml=junit.xml",
                           "--rlvr-min-reward", "jira_labels:infeasible=0.8")
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "jira_labels: mean reward per tier (passed/cases): " in run.stdout
    cases = list(ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"))
    gate = next(c for c in cases if c.get("classname") == "rlvr-gate"
                and c.get("name") == "min-reward[jira_labels:infeasible]")
    failure = gate.find("failure")
    assert failure is not None and "below the floor 0.8" in failure.get("message", "") + (failure.text or "")
    properties = {p.get("name"): p.get("value") for p in gate.iter("property")}
    assert properties["tier"] == "infeasible" and float(properties["mean"]) <= 0.1 and properties["cases"] == "2"
    tiers = [next(p.get("value") for p in c.iter("property") if p.get("name") == "tier")
             for c in cases if c.get("classname") != "rlvr-gate"]
    assert tiers.count("infeasible") == 2 and len(tiers) == 14

    rescored = subprocess.run([sys.executable, "-m", "pytest_rlvr", "rescore", "base.traces.jsonl", "-o", "re.json"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rescored.returncode == 0, rescored.stdout[-2000:] + rescored.stderr[-2000:]
    again = json.loads((tmp_path / "re.json").read_text())["scenarios"]["jira_labels"]
    assert again["tiers"]["infeasible"]["mean"] == 1.0 and again["mean"] == 1.0
