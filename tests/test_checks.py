"""Checks and rewards: score() semantics, the generic checks' verdicts and messages, the statistics."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest
from rlvr_toy import ToyScenario

from pytest_rlvr import Check, CheckBug, Task, ToolCall, ToolResult, Trace, Turn, check, checks_version, score
from pytest_rlvr.aggregate import aggregate
from pytest_rlvr.generic import (
    no_duplicate_write,
    no_invalid_call,
    no_invented_tool,
    reads_before_writes,
    state_matches,
)
from pytest_rlvr.registry import as_scenarios, by_name, rewrite_targets
from pytest_rlvr.stats import pass_at_k, pass_hat_k

TASK = Task(id="t-1", scenario="toy", split="eval", seed=1, tier="easy", prompt="p",
            data={"expected_diff": {"item-1": {"label": "red"}}})


def result(name: str, status: int = 200, *, error: str | None = None, write: bool = False,
           request: dict | None = None, operation: str | None = None) -> ToolResult:
    return ToolResult("", name, status, None, "body", error=error, write=write,
                      operation=operation or name, request=request)


def trace_of(*pairs: tuple[str, dict, ToolResult], diff: dict | None = None) -> Trace:
    calls = [ToolCall(f"c{i}", name, str(args), args) for i, (name, args, _) in enumerate(pairs)]
    turn = Turn("", calls, [r for _, _, r in pairs])
    return Trace("t-1", "toy", 0, 0, {}, turns=[turn, Turn("done")], state_diff=diff or {})


# -- score -------------------------------------------------------------------------------------------------
@check("outcome", weight=3)
def holds(trace, task):
    assert True


@check("process", weight=1)
def fails(trace, task):
    assert trace.final_text == "something else", "the final answer is wrong"


@check("arguments")
def buggy(trace, task):
    return task.data["missing"]


def test_score_is_the_weighted_share_of_checks_that_held():
    reward = score([holds, fails], trace_of(), TASK)
    assert reward.score == pytest.approx(0.75)
    assert [(o.name, o.held) for o in reward.outcomes] == [("holds", True), ("fails", False)]
    assert reward.failures[0].message.startswith("the final answer is wrong")
    assert reward.by_group() == {"arguments": 0.0, "process": 0.0, "outcome": 0.75}
    assert "FAILED [process w=1] fails: the final answer is wrong" in reward.explain()


@check("outcome", weight=1, cap=0.2)
def gate(trace, task):
    """Nothing else changed. A side effect costs more than one weight among many."""
    assert not trace.state_diff, "something else changed"


def test_a_failed_gate_caps_the_whole_score_and_the_groups_follow():
    clean = score([holds, gate], trace_of(), TASK)
    assert clean.score == 1.0
    capped = score([holds, gate], trace_of(diff={"x": {}}), TASK)
    assert capped.score == pytest.approx(0.2)
    assert sum(capped.by_group().values()) == pytest.approx(0.2)
    assert capped.by_group()["outcome"] == pytest.approx(0.2)
    text = capped.explain()
    assert "FAILED [outcome w=1, caps the reward at 0.2] gate: something else changed" in text
    assert "why: Nothing else changed." in text  # the docstring's first sentence says why
    low = score([fails, gate], trace_of(diff={"x": {}}), TASK)
    assert low.score == 0.0, "a cap never raises a score"


def test_a_gate_changes_the_checks_version():
    plain = check("outcome", weight=1)(gate.fn)
    assert checks_version([plain]) != checks_version([gate])
    with pytest.raises(ValueError, match="cap"):
        check("outcome", cap=1.0)


def test_typed_task_data():
    @dataclass(frozen=True)
    class Data:
        key: str

    task = Task("t", "s", "eval", 1, "easy", "p", Data("A-1"))
    assert task.data_as(Data).key == "A-1"
    with pytest.raises(TypeError, match="t-1 carries dict, not Data"):
        TASK.data_as(Data)


def test_a_check_that_raises_is_a_check_bug_not_a_zero():
    with pytest.raises(CheckBug, match="check 'buggy' raised KeyError"):
        score([holds, buggy], trace_of(), TASK)
    with pytest.raises(CheckBug, match="without checks"):
        score([], trace_of(), TASK)


def test_check_declaration_is_validated():
    with pytest.raises(ValueError, match="group"):
        check("style")
    with pytest.raises(ValueError, match="weight"):
        check("process", weight=0)
    assert isinstance(holds, Check) and holds.weight == 3.0 and holds.group == "outcome"


def test_checks_version_follows_code_and_parameters():
    a = checks_version([holds, reads_before_writes({"w": {"r1", "r2"}})])
    assert a == checks_version([holds, reads_before_writes({"w": {"r2", "r1"}})])
    assert a != checks_version([holds, reads_before_writes({"w": {"r1"}})])
    assert a != checks_version([fails, reads_before_writes({"w": {"r1", "r2"}})])
    assert checks_version(ToyScenario.checks) == checks_version(ToyScenario.checks)


# -- generic checks ----------------------------------------------------------------------------------------
def message(c: Check, trace: Trace) -> str | None:
    outcome = score([c], trace, TASK).outcomes[0]
    return None if outcome.held else outcome.message


def test_no_invented_tool():
    c = no_invented_tool()
    assert message(c, trace_of(("get", {}, result("get")))) is None
    text = message(c, trace_of(("get", {}, result("get")), ("hack", {}, result("hack", 404, error="unknown_tool"))))
    assert "called tools that do not exist: ['hack']" in text


@pytest.mark.parametrize(("status", "error"), [(400, None), (413, None), (422, None), (404, "invalid_json")])
def test_no_invalid_call(status, error):
    c = no_invalid_call()
    assert message(c, trace_of(("get", {}, result("get", 404)))) is None
    text = message(c, trace_of(("get", {}, result("get")), ("edit", {"x": 1}, result("edit", status, error=error))))
    assert text.startswith("1 invalid call(s):") and f"call #1 edit({{'x': 1}}) -> {status}" in text


def test_no_duplicate_write():
    c = no_duplicate_write()
    write = {"id": "1", "label": "red"}
    other = {**write, "label": "blue"}
    ok = trace_of(("set", write, result("set", 204, write=True, request=write)),
                  ("set", other, result("set", 204, write=True, request=other)),
                  ("get", write, result("get")), ("get", write, result("get")))
    assert message(c, ok) is None
    again = trace_of(("set", write, result("set", 204, write=True, request=write)),
                     ("set", write, result("set", 400, write=True, request=write)))
    assert 'call #1 repeats call #0: set {"id": "1", "label": "red"}' in message(c, again)


def test_reads_before_writes():
    c = reads_before_writes({"edit": {"get", "search"}})
    informed = trace_of(("search", {}, result("search")), ("edit", {}, result("edit", 204, write=True)))
    assert message(c, informed) is None
    failed_read = trace_of(("get", {}, result("get", 404)), ("edit", {}, result("edit", 204, write=True)))
    assert "call #1 edit before any of ['get', 'search']" in message(c, failed_read)
    rejected_write = trace_of(("edit", {}, result("edit", 400, write=True)))
    assert "none of ['edit'] succeeded" in message(c, rejected_write)


def test_process_checks_are_earned_not_given_for_doing_nothing():
    silent = trace_of()
    assert message(no_invalid_call(), silent).startswith("no tool call was made")
    assert message(no_invented_tool(), silent).startswith("no tool call was made")
    assert message(no_duplicate_write(), trace_of(("get", {}, result("get")))).startswith("no successful write")


def test_state_matches_names_the_differences():
    c = state_matches(expected=lambda task: task.data["expected_diff"])
    assert message(c, trace_of(diff={"item-1": {"label": "red"}})) is None
    text = message(c, trace_of(diff={"item-1": {"label": "blue"}, "item-2": {"label": "red"}}))
    assert "item-1.label: got 'blue', expected 'red'" in text
    assert "unexpected item-2: {'label': 'red'}" in text
    assert "missing item-1: expected {'label': 'red'}" in message(c, trace_of(diff={}))


def test_generic_checks_are_rewritten_under_pytest():
    # The plugin registered pytest_rlvr.generic for assertion rewriting before it was imported.
    text = message(state_matches(expected=lambda task: {"a": 1}), trace_of(diff={"a": 2}))
    assert "assert {'a': 2} == {'a': 1}" in text


# -- statistics --------------------------------------------------------------------------------------------
def test_pass_at_k_and_pass_hat_k():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(4, 4, 4) == 1.0 and pass_hat_k(4, 3, 4) == 0.0
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_aggregate_counts_each_case_once():
    record = {"scenario": "toy", "task_id": "a", "samples": 2, "rewards": [1.0, 0.5], "mean": 0.75,
              "passed": False, "successes": 1, "checks": {"c": {"group": "process", "weight": 1.0,
                                                                "held": [True, False]}}}
    stats = aggregate([record, record, {**record, "task_id": "b", "mean": 1.0, "successes": 2, "passed": True},
                       {"scenario": "toy", "task_id": "c", "error": "InfrastructureError: down"}])["toy"]
    assert (stats.cases, stats.errors, stats.k, stats.samples, stats.passed) == (2, 1, 2, 4, 1)
    assert stats.pass_at_1 == pytest.approx(0.75)
    assert stats.pass_at_k == pytest.approx(1.0)
    assert stats.pass_hat_k == pytest.approx(0.5)
    assert stats.failing_checks == [("c", 2)]


# -- registry ----------------------------------------------------------------------------------------------
def test_registry_helpers():
    points = [EntryPoint("a", "scenarios.atlassian:SCENARIOS", "pytest_rlvr.scenarios"),
              EntryPoint("b", "other_pkg.checks", "pytest_rlvr.scenarios")]
    assert rewrite_targets(points) == ["other_pkg.checks", "scenarios.atlassian"]
    toy = ToyScenario()
    assert as_scenarios(lambda: [toy], "x") == [toy]
    assert as_scenarios(toy, "x") == [toy]
    assert as_scenarios({"toy": toy}, "x") == [toy]
    with pytest.raises(TypeError, match="must give Scenario objects"):
        as_scenarios([1], "entry point a")
    with pytest.raises(ValueError, match="two scenarios are named 'toy'"):
        by_name([toy, ToyScenario()])
