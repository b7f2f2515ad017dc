"""jira_ticket_transition: move issues to a target status through their workflow.

Transition names differ from status names ("Approve" leads to "Done"), ids differ per workflow, some
targets need several hops, some transition screens require a resolution, and in the hard tier the issue is
named by its summary and must be found first. Guessing a transition id, the paper's failure mode, fails.

Tiers: easy — one hop, no screen; medium — a hop whose screen requires a resolution, or two hops; hard —
find the issue by its summary, then two or more hops (resolution where required).

Checks (weight, group) — what each verifies and why:
- reached_target_status (4, outcome): the issue ends in the requested status.
- resolution_as_requested (1, outcome): the requested resolution is set (or, when none was requested,
  the target was reached with the resolution the workflow gives).
- only_target_changed (1, outcome): something changed, and only the target issue.
- transition_ids_offered (2, arguments): every doTransition used an id that the last getTransitions of that
  issue offered from its status then — ids are read, not guessed.
- transitions_read_first (1, process): each doTransition is preceded by a getTransitions of the issue since
  its last transition.
- no_invalid_call (1, process), no_duplicate_write (1, process).
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.site import Issue, Site, Workflow
from .base import AtlassianScenario, args, made_calls, no_duplicate_write, no_invalid_call, only_target_changed


def _issue_state(trace: Trace, task: Task) -> dict[str, Any]:
    return trace.final_state.get("issues", {}).get(task.data["key"], {})


@check("outcome", weight=4)
def reached_target_status(trace: Trace, task: Task) -> None:
    status = _issue_state(trace, task).get("status")
    assert status == task.data["target"], f"status is {task.data['statuses'].get(status, status)!r}, " \
                                          f"expected {task.data['target_name']!r}"


@check("outcome", weight=1)
def resolution_as_requested(trace: Trace, task: Task) -> None:
    state = _issue_state(trace, task)
    assert state.get("status") == task.data["target"], "the target status was not reached"
    if task.data["resolution"]:
        assert state.get("resolution") == task.data["resolution"], \
            f"resolution is {state.get('resolution')!r}, expected {task.data['resolution']!r}"




def _offered(trace: Trace, task: Task) -> list[tuple[str, bool, bool]]:
    """For each doTransition of the target: (id used, offered by the last read, read since last move)."""
    out, offered, fresh = [], set(), False
    names = {task.data["key"], task.data["id"]}
    for call, result in trace.calls:
        target = str(args(call).get("issueIdOrKey", "")).upper()
        if target not in names:
            continue
        if result.operation == "getTransitions" and result.ok:
            offered, fresh = {t["id"] for t in result.body.get("transitions", [])}, True
        elif result.operation == "doTransition":
            ref = args(call).get("transition")
            tid = str(ref.get("id")) if isinstance(ref, dict) else repr(ref)
            out.append((tid, tid in offered, fresh))
            if result.ok:
                offered, fresh = set(), False
    return out


@check("arguments", weight=2)
def transition_ids_offered(trace: Trace, task: Task) -> None:
    moves = _offered(trace, task)
    assert moves, "no doTransition call on the target issue"
    guessed = [tid for tid, ok, _ in moves if not ok]
    assert not guessed, f"transition ids not offered by getTransitions: {guessed}"


@check("process", weight=1)
def transitions_read_first(trace: Trace, task: Task) -> None:
    made_calls(trace)
    moves = _offered(trace, task)
    assert moves, "no doTransition call on the target issue"
    assert all(fresh for _, _, fresh in moves), "a transition was attempted without reading the transitions first"


CHECKS = (reached_target_status, resolution_as_requested, only_target_changed, transition_ids_offered,
          transitions_read_first, no_invalid_call,
          no_duplicate_write)


def paths(workflow: Workflow, start: str) -> dict[str, list[str]]:
    """Shortest transition-id paths from `start` to every reachable status."""
    out: dict[str, list[str]] = {start: []}
    todo = [start]
    while todo:
        current = todo.pop(0)
        for t in workflow.transitions:
            if (not t.sources or current in t.sources) and t.to != current and t.to not in out:
                out[t.to] = [*out[current], t.id]
                todo.append(t.to)
    return out


class JiraTicketTransition(AtlassianScenario):
    name = "jira_ticket_transition"
    tool_names = ("searchAndReconsileIssuesUsingJql", "getIssue", "getTransitions", "doTransition")
    checks = CHECKS
    max_turns = 12

    def __init__(self) -> None:
        super().__init__()
        self.scripts = {"oracle": oracle, "naive": naive, "spam": spam}

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, dict[str, Any]]:
        options = []
        for issue in site.issues.values():
            wf = site.projects[issue.project].workflow
            by_id = {t.id: t for t in wf.transitions}
            for status, path in paths(wf, issue.status).items():
                needs = any(by_id[t].required for t in path)
                if needs and site.statuses[status].category != "done":
                    continue  # a resolution asked for on the way to an open status would make no sense
                fits = {"easy": len(path) == 1 and not needs,
                        "medium": (len(path) == 1 and needs) or len(path) == 2,
                        "hard": len(path) >= 2}[tier]
                if path and fits:
                    options.append((issue, status, path, needs))
        issue, target, path, needs = rng.choice(options)
        name = site.statuses[target].name
        resolution = rng.choice(sorted(site.resolutions)) if needs else None
        tail = f" with the resolution '{site.resolutions[resolution]}'" if resolution else ""
        if tier == "hard":
            issue.summary = _unique_summary(site, issue, rng)
            project = site.projects[issue.project]
            prompt = f"In project {project.key}, the issue titled \"{issue.summary}\" must end up in the " \
                     f"status '{name}'{tail}. Make it so."
        else:
            prompt = f"Move {issue.key} to '{name}'{tail}."
        data = {"key": issue.key, "id": issue.id, "target": target, "target_name": name, "path": path,
                "resolution": resolution, "summary": issue.summary, "project": issue.key.split("-")[0],
                "statuses": {s.id: s.name for s in site.statuses.values()}}
        return prompt, data


def _unique_summary(site: Site, issue: Issue, rng: random.Random) -> str:
    taken = {i.summary for i in site.issues.values() if i.id != issue.id}
    summary = issue.summary
    while summary in taken:
        summary = f"{issue.summary} ({rng.randrange(100, 999)})"
    return summary


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    key = task.data["key"]
    if task.data["summary"] and task.tier == "hard":
        jql = f'project = {task.data["project"]} AND summary ~ "{task.data["summary"]}"'
        (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["summary", "status"]})]
        key = next(i["key"] for i in found.body["issues"] if i["fields"]["summary"] == task.data["summary"])
    for tid in task.data["path"]:
        (offered,) = yield [("getTransitions", {"issueIdOrKey": key, "expand": "transitions.fields"})]
        t = next(t for t in offered.body["transitions"] if t["id"] == tid)
        body: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": tid}}
        if any(f["required"] for f in t.get("fields", {}).values()):
            body["fields"] = {"resolution": {"id": task.data["resolution"] or "10000"}}
        yield [("doTransition", body)]
    yield f"{key} is now in {task.data['target_name']}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One transition with a guessed id, as small models do."""
    yield [("doTransition", {"issueIdOrKey": task.data["key"], "transition": {"id": "31"}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    key = task.data["key"]
    for guess in ("11", "21", "31"):
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {task.data['project']}"}),
               ("getIssue", {"issueIdOrKey": key}), ("getTransitions", {"issueIdOrKey": key}),
               ("doTransition", {"issueIdOrKey": key, "transition": {"id": guess}})]
    yield "Done."


SCENARIO = JiraTicketTransition()
