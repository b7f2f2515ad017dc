"""jira_ticket_transition: move an issue to a target status through its workflow.

Transition names differ from status names ("Approve" leads to "Done"), ids differ per workflow, some
targets need several hops, some transition screens require a resolution, and in the hard tier the issue is
named by its summary and must be found first. Guessing a transition id, the paper's failure mode, fails.

Tiers: easy — one hop, no screen; medium — a hop whose screen requires a resolution, or two hops; hard —
find the issue by its summary, then two or more hops (resolution where required); infeasible — the issue key is
a typo of one that exists, or the status asked for is not in the issue's workflow, so no transition leads there:
scored by `scenarios.infeasible`.

Every legitimate route scores 1.0: key or id, transitions read with getTransitions or with getIssue's
`expand=transitions`, ids as text or numbers, the resolution by id or name through `fields` or `update`,
any shortest route through the workflow.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- reached_target_status (4, outcome): the issue ends in the requested status.
- resolution_as_requested (1, outcome): the issue ends in the target with the requested resolution, or, when
  none was requested, with the one the workflow gives.
- nothing_else_changed (1, outcome, gate 0.2): something changed, only the target's status and resolution
  changed, every successful write was a transition of the target carrying nothing but a resolution, and the
  statuses it went through follow a shortest route (a detour, a move then undone, or a transition of the
  target tried toward a status off the route, even one the API rejected, is a side effect).
- transition_ids_offered (2, arguments): the target was transitioned, and every transition of it (failed ones
  too) used an id that a read of an earlier turn, made since the issue's last move, offered for it; calls on
  other issues earn nothing.
- moves_informed (1, process, gate 0.2): every successful transition named its issue as the prompt or an
  earlier answer showed it (the hard tier's key comes from a search), used a transition id offered for that
  issue since its last move by a read of an earlier turn, and a resolution id or name the policy had been shown.
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.site import Issue, Site, Workflow
from .base import AtlassianScenario, no_duplicate_write, no_invalid_call, tiered
from .infeasible import InfeasibleTask, answer, data_of, key_typo, kind_of, refuse, spray
from .reading import (
    SIDE_EFFECT_CAP,
    UNINFORMED_CAP,
    Step,
    changes,
    get,
    informed,
    issue_informed,
    issue_key,
    routes,
    scalar,
    show,
    steps,
    writes,
)


@dataclass(frozen=True)
class TransitionTask:
    """What the checks need: the issue, where it starts and must end, and the workflow's shortest routes."""

    key: str
    id: str
    project: str  # key
    summary: str
    start: str  # status id
    target: str  # status id
    target_name: str
    resolution: str | None  # the requested resolution's id
    resolution_after: str | None  # the resolution the issue ends with: the requested one, or the workflow's
    path: tuple[str, ...]  # the oracle's transition ids
    routes: tuple[tuple[str, ...], ...]  # the statuses each shortest route goes through, start excluded
    moves: Mapping[str, str]  # transition id -> the status it leads to, in the issue's workflow
    statuses: Mapping[str, str]  # status id -> name

    @property
    def on_route(self) -> frozenset[str]:
        """The statuses that lie on any shortest route from the start to the target."""
        return frozenset(s for route in self.routes for s in route)


def _data(task: Task) -> TransitionTask:
    return task.data_as(TransitionTask)


def _tid(step: Step) -> str | None:
    """The transition id a doTransition call names, as text."""
    return scalar(step.arg("transition", "id"))


def _shown(trace: Trace, step: Step) -> list[tuple[str, set[str]]]:
    """The transitions a successful read showed, as (issue key, transition ids): getTransitions, or an issue
    read with `expand=transitions` (alone or in a list of issues)."""
    body = step.result.body
    found = [(step.arg("issueIdOrKey"), get(body, "transitions"))] if step.op == "getTransitions" else []
    items = get(body, "issues")
    for item in items if isinstance(items, list) else [body]:
        if get(item, "key") is not None:
            found.append((get(item, "key"), get(item, "transitions")))
    out = []
    for ref, offered in found:
        key = issue_key(trace, ref)
        if key is not None and isinstance(offered, list):
            out.append((key, {i for t in offered if (i := scalar(get(t, "id"))) is not None}))
    return out


def _transitions(trace: Trace) -> list[tuple[Step, str | None, bool]]:
    """Every doTransition call: (the call, the key of the issue it names, whether its transition id was
    offered for that issue by a read of an earlier turn made since the issue's last move)."""
    reads: list[tuple[Step, str, set[str]]] = []
    last_move: dict[str, int] = {}
    out = []
    for step in steps(trace):
        if step.op == "doTransition":
            key = issue_key(trace, step.arg("issueIdOrKey"))
            since = last_move.get(key or "", -1)
            offered = any(k == key and _tid(step) in ids and since < s.index and s.turn < step.turn
                          for s, k, ids in reads)
            out.append((step, key, offered))
            if step.ok and key is not None:
                last_move[key] = step.index
        elif step.ok:
            reads.extend((step, key, ids) for key, ids in _shown(trace, step))
    return out


def _resolution_refs(step: Step) -> list[Any]:
    """The resolutions a doTransition call writes: `fields.resolution` and `update.resolution` set verbs."""
    ops = step.arg("update", "resolution")
    refs = [step.arg("fields", "resolution"), *[get(op, "set") for op in (ops if isinstance(ops, list) else [])]]
    return [r for r in refs if r is not None]


def _extra(step: Step) -> list[str]:
    """What a transition writes besides its resolution (a comment, another field)."""
    out = []
    for part in ("fields", "update"):
        value = step.arg(part)
        if value is None:
            continue
        if not isinstance(value, dict):
            out.append(part)
        else:
            out.extend(f"{part}.{name}" for name in value if name != "resolution")
    return out


def _status(trace: Trace, data: TransitionTask) -> Any:
    return get(trace.final_state, "issues", data.key, "status")


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=4)
def reached_target_status(trace: Trace, task: Task) -> None:
    """The issue ends in the status the user asked for."""
    data = _data(task)
    status = _status(trace, data)
    assert status == data.target, \
        f"{data.key} is in {show(data.statuses.get(str(status), status))}, expected {data.target_name!r}"


@check("outcome", weight=1)
def resolution_as_requested(trace: Trace, task: Task) -> None:
    """The issue ends in the target status with the requested resolution (or, when none was requested, with
    the one the workflow gives)."""
    data = _data(task)
    assert _status(trace, data) == data.target, "the target status was not reached"
    resolution = get(trace.final_state, "issues", data.key, "resolution")
    assert resolution == data.resolution_after, \
        f"resolution is {show(resolution)}, expected {show(data.resolution_after)}"


@check("outcome", weight=1, cap=SIDE_EFFECT_CAP)
def nothing_else_changed(trace: Trace, task: Task) -> None:
    """Only the target's status and resolution changed, through transitions of the target carrying nothing
    else, along a shortest route of its workflow (a transition attempted off the route counts, even rejected)."""
    data = _data(task)
    assert trace.state_diff, "nothing changed on the site"
    allowed = {f"issues/{data.key}/status", f"issues/{data.key}/resolution"}
    others = changes(trace, lambda path, _: path in allowed)
    assert not others, f"changed beyond the request: {others}"
    visited: list[str] = []
    for step in writes(trace):
        key = issue_key(trace, step.arg("issueIdOrKey"))
        if step.ok:
            assert step.op == "doTransition" and key == data.key, \
                f"call #{step.index} {step.op} on {show(step.arg('issueIdOrKey'))}: not the issue of the request"
            assert not _extra(step), f"call #{step.index} also writes {_extra(step)}, which nobody asked for"
        if step.op != "doTransition" or key != data.key or _tid(step) not in data.moves:
            continue
        went = [*visited, data.moves[_tid(step) or ""]]
        assert any(list(route[:len(went)]) == went for route in data.routes), \
            f"call #{step.index} {'takes' if step.ok else 'tries to take'} {data.key} through " \
            f"{[data.statuses.get(s, s) for s in went]}, off every shortest route: " \
            f"{[[data.statuses.get(s, s) for s in route] for route in data.routes]}"
        visited = went if step.ok else visited


@check("arguments", weight=2)
def transition_ids_offered(trace: Trace, task: Task) -> None:
    """Every transition of the target used an id read for it since its last move, never a guess."""
    data = _data(task)
    mine = [(step, offered) for step, key, offered in _transitions(trace) if key == data.key]
    assert mine, f"no doTransition call on {data.key}"
    guessed = [f"#{step.index} {show(step.arg('transition'))}" for step, offered in mine if not offered]
    assert not guessed, f"transitions of {data.key} not offered by a read of an earlier turn since its last " \
                        f"move: {guessed}"


@check("process", weight=1, cap=UNINFORMED_CAP)
def moves_informed(trace: Trace, task: Task) -> None:
    """Every transition that went through named its issue, its transition and its resolution as earlier
    answers or the prompt showed them."""
    done = [(step, offered) for step, _, offered in _transitions(trace) if step.ok]
    assert done, "no successful doTransition call"
    for step, offered in done:
        ref = step.arg("issueIdOrKey")
        assert issue_informed(trace, step.turn, ref), \
            f"call #{step.index} moves {show(ref)}, which no earlier answer or the prompt named"
        assert offered, f"call #{step.index} uses transition {show(step.arg('transition'))}, which no read of " \
                        f"an earlier turn offered for {show(ref)} since its last move"
        for ref in _resolution_refs(step):
            names = [v for v in (get(ref, "id"), get(ref, "name")) if v is not None]
            assert all(informed(trace, step.turn, v) for v in names), \
                f"call #{step.index} sets the resolution {show(ref)}, which no earlier answer or the prompt showed"


CHECKS = (reached_target_status, resolution_as_requested, nothing_else_changed, transition_ids_offered,
          moves_informed, no_invalid_call, no_duplicate_write)


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
        self.scripts = tiered({"oracle": oracle, "naive": naive, "spam": spam, "refuse": refuse},
                              {"oracle": infeasible_oracle, "naive": infeasible_naive, "spam": infeasible_spam})

    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, InfeasibleTask]:
        issue = rng.choice(list(site.issues.values()))
        project = site.projects[issue.project]
        wf = project.workflow
        have = {wf.initial, *(t.to for t in wf.transitions), *(s for t in wf.transitions for s in t.sources)}
        if kind_of(site, ("transition", "issue")) == "transition":
            status = site.statuses[rng.choice(sorted(set(site.statuses) - have))]
            current = site.statuses[issue.status].name
            return f"Move {issue.key} to '{status.name}'.", InfeasibleTask(
                "transition", status.name, issue.key, f"{issue.key} cannot be moved to '{status.name}': its "
                f"workflow has no such status, and no transition from '{current}' leads there.",
                project=project.key, issue=issue.key)
        reachable = [s for s in paths(wf, issue.status) if s != issue.status]
        name = site.statuses[rng.choice(reachable)].name
        typo = key_typo(rng, issue.key, site)
        return f"Move {typo} to '{name}'.", InfeasibleTask(
            "issue", typo, issue.key, f"Issue {typo} does not exist (the nearest key is {issue.key}).",
            project=typo.split("-")[0])

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, TransitionTask]:
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
        wf = site.projects[issue.project].workflow
        shortest = routes(asdict(wf), issue.status, target)
        data = TransitionTask(
            issue.key, issue.id, issue.key.split("-")[0], issue.summary, issue.status, target, name, resolution,
            _resolution_after(site, wf, issue, path, resolution), tuple(path),
            tuple(dict.fromkeys(tuple(t["to"] for t in route) for route in shortest)),
            {t.id: t.to for t in wf.transitions}, {s.id: s.name for s in site.statuses.values()})
        return prompt, data


def _resolution_after(site: Site, workflow: Workflow, issue: Issue, path: list[str], wanted: str | None) -> str | None:
    """The resolution the issue has after the oracle's path: set where a screen requires it, the workflow's
    default on entering a done status, cleared on leaving one."""
    by_id = {t.id: t for t in workflow.transitions}
    resolution = issue.resolution
    for tid in path:
        t = by_id[tid]
        if "resolution" in t.required:
            resolution = wanted or "10000"
        resolution = (resolution or "10000") if site.statuses[t.to].category == "done" else None
    return resolution


def _unique_summary(site: Site, issue: Issue, rng: random.Random) -> str:
    taken = {i.summary for i in site.issues.values() if i.id != issue.id}
    summary = issue.summary
    while summary in taken:
        summary = f"{issue.summary} ({rng.randrange(100, 999)})"
    return summary


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    key = data.key
    if data.summary and task.tier == "hard":
        jql = f'project = {data.project} AND summary ~ "{data.summary}"'
        (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["summary", "status"]})]
        key = next(i["key"] for i in found.body["issues"] if i["fields"]["summary"] == data.summary)
    for tid in data.path:
        (offered,) = yield [("getTransitions", {"issueIdOrKey": key, "expand": "transitions.fields"})]
        t = next(t for t in offered.body["transitions"] if t["id"] == tid)
        body: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": tid}}
        if any(f["required"] for f in t.get("fields", {}).values()):
            body["fields"] = {"resolution": {"id": data.resolution or "10000"}}
        yield [("doTransition", body)]
    yield f"{key} is now in {data.target_name}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One transition with a guessed id, as small models do."""
    yield [("doTransition", {"issueIdOrKey": _data(task).key, "transition": {"id": "31"}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    key = data.key
    for guess in ("11", "21", "31"):
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project}"}),
               ("getIssue", {"issueIdOrKey": key}), ("getTransitions", {"issueIdOrKey": key}),
               ("doTransition", {"issueIdOrKey": key, "transition": {"id": guess}})]
    yield "Done."


def infeasible_read(data: InfeasibleTask) -> tuple[str, dict[str, Any]]:
    """The read that shows what is wrong: the issue looked up, or its transitions."""
    if data.kind == "transition":
        return ("getTransitions", {"issueIdOrKey": data.issue})
    return ("getIssue", {"issueIdOrKey": data.name, "fields": ["status"]})


def infeasible_oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = data_of(task)
    yield [infeasible_read(data)]
    yield answer(data)


def infeasible_naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Moves the issue it is close to (or the named one) through the first transition it is offered."""
    key = data_of(task).near
    (offered,) = yield [("getTransitions", {"issueIdOrKey": key})]
    body = offered.body if isinstance(offered.body, dict) else {}
    first = (body.get("transitions") or [{"id": "31"}])[0]
    yield [("doTransition", {"issueIdOrKey": key, "transition": {"id": first["id"]}})]
    yield "Done."


def infeasible_spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Reads, and tries guessed transitions on what the request names and what it is close to, three rounds."""
    data = data_of(task)
    keys = dict.fromkeys([data.issue or data.name, data.near])
    yield from spray([infeasible_read(data)], [("doTransition", {"issueIdOrKey": k, "transition": {"id": guess}})
                                               for k in keys for guess in ("11", "21")])


SCENARIO = JiraTicketTransition()
