"""The vocabulary checks read traces with: safe access, references, what a policy knew, workflow routes."""

import asyncio
from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_rlvr import AssistantTurn, Sampling, ToolCall
from pytest_rlvr.rollout import rollout
from scenarios import reading
from scenarios.atlassian.generate import generate
from scenarios.jira_labels import SCENARIO

TASK = SCENARIO.tasks("eval")[0]  # medium: "On issue SEC-4, add ... remove ..."


def play(*turns):
    """A trace of these turns of (tool, arguments) calls on the task's world."""
    pending = iter(turns)

    async def ask(request):
        calls = next(pending, None)
        if calls is None:
            return AssistantTurn("Done.")
        return AssistantTurn("", [ToolCall(f"c{i}", n, "{}", a) for i, (n, a) in enumerate(calls)])

    return asyncio.run(rollout(SCENARIO, TASK, ask, sampling=Sampling()))


@given(st.recursive(st.none() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3)),
       st.lists(st.one_of(st.text(max_size=3), st.integers(-3, 3)), max_size=4))
def test_get_never_raises(value, path):
    reading.get(value, *path)


def test_get_and_scalar():
    assert reading.get({"a": [{"b": 1}]}, "a", 0, "b") == 1
    assert reading.get({"a": [{"b": 1}]}, "a", "0", "b") is None
    assert reading.get("text", "a") is None
    assert reading.scalar(10011) == "10011" and reading.scalar(" X-1 ") == "X-1"
    assert reading.scalar(True) is None and reading.scalar([1]) is None and reading.scalar(1.5) is None


def test_an_issue_is_named_by_key_in_any_case_by_id_or_by_url():
    trace = play()
    key = "SEC-4"
    issue_id = trace.final_state["issues"][key]["id"]
    for ref in (key, "sec-4", issue_id, int(issue_id), f"https://sim.atlassian.net/browse/{key}",
                f"https://sim.atlassian.net/rest/api/3/issue/{issue_id}"):
        assert reading.issue_key(trace, ref) == key, ref
    for ref in ("SEC-999", None, True, {"key": key}, ["SEC-4"], ""):
        assert reading.issue_key(trace, ref) is None, ref


def test_informed_means_answered_in_an_earlier_turn():
    read = ("getIssue", {"issueIdOrKey": "SEC-4", "fields": ["labels"]})
    edit = ("editIssue", {"issueIdOrKey": "SEC-4", "update": {"labels": [{"add": "docs"}]}})
    apart = play([read], [edit])
    together = play([read, edit])
    issue_id = apart.final_state["issues"]["SEC-4"]["id"]
    assert reading.informed(apart, 1, issue_id) and not reading.informed(apart, 0, issue_id)
    assert not reading.informed(together, 0, issue_id), "a read of the same turn had not been answered"
    assert reading.informed(together, 0, "sec-4"), "the prompt names the key"
    assert reading.issue_informed(apart, 1, issue_id) and not reading.issue_informed(together, 0, issue_id)
    assert reading.shown_together(apart, 1, id=issue_id, key="SEC-4")
    assert not reading.shown_together(apart, 1, id=issue_id, key="SEC-5"), "an id counts beside its own key"
    assert "labels" in reading.issues_shown(apart, 1)["SEC-4"]
    assert reading.issues_shown(together, 0) == {}
    assert [s.op for s in reading.steps(apart)] == ["getIssue", "editIssue"]
    assert [s.turn for s in reading.writes(apart)] == [1]


def test_created_and_changes():
    trace = play([("editIssue", {"issueIdOrKey": "SEC-4", "update": {"labels": [{"add": "docs"}]}})])
    assert reading.created(trace, "issues") == []
    assert reading.changes(trace, lambda path, change: path.endswith("/labels")) == []
    assert reading.changes(trace, lambda path, change: False) == ["issues/SEC-4/labels"]


def test_routes_are_every_shortest_path():
    site = generate(3)
    project = next(iter(site.projects.values()))
    workflow = asdict(project.workflow)
    start = workflow["initial"]
    for target in {t["to"] for t in workflow["transitions"]} - {start}:
        found = reading.routes(workflow, start, target)
        assert found, target
        assert len({len(r) for r in found}) == 1
        for route in found:
            here = start
            for t in route:
                assert not t["sources"] or here in t["sources"]
                here = t["to"]
            assert here == target
    assert reading.routes(workflow, start, start) == []
    assert reading.routes({"transitions": "junk"}, start, "x") == []


@pytest.mark.parametrize("bad", [None, 5, "", "no such page"])
def test_page_id_refuses_what_names_no_page(bad):
    assert reading.page_id(play(), bad) is None


def test_an_answer_that_claims_the_work_or_says_not_found_of_everything_is_told_apart():
    from scenarios.reading import MOST_NOT_DONE, claims_done, not_done_count

    assert claims_done("Done, I made the change. SEC-41 does not exist.")
    assert claims_done("I have added the labels successfully.")
    assert not claims_done("SEC-41 does not exist, so it cannot be done. I added nothing.")
    assert not claims_done("No issue was created: there is no project MBO.")
    assert not_done_count("There is no project MBO. I changed nothing.") <= MOST_NOT_DONE
    sprayed = " ".join(f"{word} was not found." for word in "put the label on SEC-41 now".split())
    assert not_done_count(sprayed) > MOST_NOT_DONE
