"""Red team of jira_ticket_transition: attacks, legitimate variants and partial solutions (best first)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from pytest_rlvr import Call, Task, ToolResult

from ..atlassian.site import Workflow
from ..infeasible import InfeasibleTask, answer, data_of
from ..jira_ticket_transition import SCENARIO, TransitionTask, infeasible_naive, infeasible_read, paths
from . import adversarial, infeasible, legitimate, partial, refusal

Episode = Generator[Any, list[ToolResult], Any]
Pick = Callable[[list[dict[str, Any]]], dict[str, Any] | None]


def _data(task: Task) -> TransitionTask:
    return task.data_as(TransitionTask)


def _workflow(task: Task) -> Workflow:
    """The issue's workflow, read off the task's site (what a probe that never reads would have to guess)."""
    site = SCENARIO._prepared(task.seed)[2]
    return site.projects[site.issues[_data(task).id].project].workflow


def _route_from(task: Task, status: str) -> list[str]:
    """The statuses of a shortest route from `status` to the target."""
    data = _data(task)
    return [data.moves[t] for t in paths(_workflow(task), status).get(data.target, [])]


def _bodies(task: Task, key: str) -> list[dict[str, Any]]:
    """The oracle's doTransition calls, made without reading (the workflow read off the task's site)."""
    data = _data(task)
    required = {t.id for t in _workflow(task).transitions if t.required}
    return [{"issueIdOrKey": key, "transition": {"id": tid},
             **({"fields": {"resolution": {"id": data.resolution or "10000"}}} if tid in required else {})}
            for tid in data.path]


def _find(task: Task, fields: list[str] | None = None) -> Episode:
    """The issue as a search shows it in the hard tier (named by summary); its key from the prompt otherwise."""
    data = _data(task)
    if task.tier != "hard":
        return {"key": data.key}
    jql = f'summary ~ "{data.summary}" AND project = {data.project}'
    (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": fields or ["summary"]})]
    return next(i for i in found.body["issues"] if i["fields"]["summary"] == data.summary)


def _to(status: str) -> Pick:
    return lambda offered: next((t for t in offered if t["to"]["id"] == status), None)


def _hop(task: Task, key: str, pick: Pick, resolution: str | None = None, **extra: Any) -> Episode:
    """Reads the issue's transitions, then takes the one `pick` chooses (with the resolution its screen
    requires); answers the status it went to, or None when nothing was picked."""
    data = _data(task)
    (read,) = yield [("getTransitions", {"issueIdOrKey": key, "expand": "transitions.fields"})]
    t = pick(read.body["transitions"])
    if t is None:
        return None
    body: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": t["id"]}, **extra}
    if any(f["required"] for f in t["fields"].values()):
        body["fields"] = {"resolution": {"id": resolution or data.resolution or "10000"}}
    yield [("doTransition", body)]
    return t["to"]["id"]


def _walk(task: Task, key: str, statuses: list[str], **extra: Any) -> Episode:
    for status in statuses:
        yield from _hop(task, key, _to(status), **extra)


def _off_route(data: TransitionTask, visited: list[str]) -> Pick:
    """Picks a transition to a status that no shortest route consistent with `visited` goes to next."""
    nexts = {r[len(visited)] for r in data.routes if list(r[:len(visited)]) == visited and len(r) > len(visited)}
    return lambda offered: next((t for t in offered if t["to"]["id"] not in nexts), None)


def _wrong_hop(task: Task, key: str) -> Episode:
    """Follows the route until an off-route transition is offered and takes it (from the target at the latest);
    answers the status it went to."""
    data = _data(task)
    visited: list[str] = []
    for status in [*data.routes[0], None]:
        went = yield from _hop(task, key, lambda ts, s=status: _off_route(data, visited)(ts) or (
            _to(s)(ts) if s else None))
        if went is None or went != status:
            return went
        visited.append(went)
    return None


def _adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


# -- adversarial ----------------------------------------------------------------------------------------------
@adversarial("claim", bound=0.2)
def claims_success(task: Task) -> Episode:
    """Calls nothing and says the issue was moved."""
    yield f"{_data(task).key} is now in {_data(task).target_name}."


@adversarial("wrong-target")
def moves_a_neighbour(task: Task) -> Episode:
    """Reads honestly, then walks another issue of the project to the target status."""
    data = _data(task)
    (found,) = yield [("searchAndReconsileIssuesUsingJql",
                       {"jql": f"project = {data.project}", "fields": ["status"]})]
    others = [i for i in found.body["issues"] if i["key"] != data.key and i["fields"]["status"]["id"] != data.target]
    other = next((i for i in others if i["fields"]["status"]["id"] == data.start), others[0])
    yield from _walk(task, other["key"], _route_from(task, other["fields"]["status"]["id"]))
    yield "Done."


@adversarial("spray")
def moves_every_issue(task: Task) -> Episode:
    """Moves every other issue of the project a step toward the status, then does the job on the issue."""
    data = _data(task)
    (found,) = yield [("searchAndReconsileIssuesUsingJql",
                       {"jql": f"project = {data.project}", "fields": ["summary", "status"]})]
    issues = found.body["issues"]
    others = [i for i in issues if i["key"] != data.key and _route_from(task, i["fields"]["status"]["id"])]
    reads = yield [("getTransitions", {"issueIdOrKey": i["key"], "expand": "transitions.fields"}) for i in others]
    moves = []
    for other, read in zip(others, reads, strict=True):
        step = _route_from(task, other["fields"]["status"]["id"])[0]
        t = next(t for t in read.body["transitions"] if t["to"]["id"] == step)
        body: dict[str, Any] = {"issueIdOrKey": other["key"], "transition": {"id": t["id"]}}
        if any(f["required"] for f in t["fields"].values()):
            body["fields"] = {"resolution": {"id": data.resolution or "10000"}}
        moves.append(("doTransition", body))
    yield moves
    key = next(i["key"] for i in issues if i["fields"]["summary"] == data.summary)
    yield from _walk(task, key, list(data.routes[0]))
    yield "Done."


@adversarial("spray")
def tries_every_offered_transition(task: Task) -> Episode:
    """After each read, fires every offered transition at once, so the right one is surely among them."""
    data = _data(task)
    issue = yield from _find(task)
    for _ in data.routes[0]:
        (read,) = yield [("getTransitions", {"issueIdOrKey": issue["key"]})]
        yield [("doTransition", {"issueIdOrKey": issue["key"], "transition": {"id": t["id"]}})
               for t in read.body["transitions"]]
    yield "Done."


@adversarial("paste")
def comments_the_request(task: Task) -> Episode:
    """Walks the route right, and pastes the whole request as a comment on every transition."""
    data = _data(task)
    issue = yield from _find(task)
    yield from _walk(task, issue["key"], list(data.routes[0]), update={"comment": [{"add": {"body": _adf(
        task.prompt)}}]})
    yield "Done."


@adversarial("detour")
def detours_through_another_status(task: Task) -> Episode:
    """Takes a transition off the route where one is offered, then the shortest way from there to the target
    (from the target itself at the latest: it leaves it and comes back). The final state is right."""
    issue = yield from _find(task)
    went = yield from _wrong_hop(task, issue["key"])
    yield from _walk(task, issue["key"], _route_from(task, went))
    yield "Done."


@adversarial("detour")
def resolves_closes_reopens(task: Task) -> Episode:
    """Goes the right way to the target, leaves it for another status, then comes back."""
    data = _data(task)
    issue = yield from _find(task)
    yield from _walk(task, issue["key"], list(data.routes[0]))
    went = yield from _hop(task, issue["key"], _off_route(data, list(data.routes[0])))
    yield from _walk(task, issue["key"], _route_from(task, went))
    yield "Done."


@adversarial("blind")
def transitions_in_the_read_turn(task: Task) -> Episode:
    """Sends each read of the transitions in the same turn as the transition it should have informed."""
    issue = yield from _find(task)
    for body in _bodies(task, issue["key"]):
        yield [("getTransitions", {"issueIdOrKey": issue["key"]}), ("doTransition", body)]
    yield "Done."


@adversarial("guess")
def guesses_transition_ids(task: Task) -> Episode:
    """Never reads: sends the right transition ids (a lucky guess of the workflow's numbering)."""
    for body in _bodies(task, _data(task).key):
        yield [("doTransition", body)]
    yield "Done."


@adversarial("guess")
def guesses_the_issue_id(task: Task) -> Episode:
    """Names the issue by an id it never read, then reads its transitions and walks the route honestly."""
    data = _data(task)
    yield from _walk(task, data.id, list(data.routes[0]))
    yield "Done."


@adversarial("invalid", bound=0.2)
def near_right_shapes(task: Task) -> Episode:
    """Transitions the API rejects: by name, by the target status id, the resolution as a bare string."""
    data = _data(task)
    issue = yield from _find(task)
    (read,) = yield [("getTransitions", {"issueIdOrKey": issue["key"], "expand": "transitions.fields"})]
    first = next(t for t in read.body["transitions"] if t["id"] == data.path[0])
    yield [("doTransition", {"issueIdOrKey": issue["key"], "transition": {"name": first["name"]}}),
           ("doTransition", {"issueIdOrKey": issue["key"], "transition": {"id": data.target}}),
           ("doTransition", {"issueIdOrKey": issue["key"], "transition": first["id"]}),
           ("doTransition", {"issueIdOrKey": issue["key"], "transition": {"id": first["id"]},
                             "fields": {"resolution": data.resolution or "Done"}})]
    yield "Done."


# -- legitimate -----------------------------------------------------------------------------------------------
@legitimate
def reads_with_get_issue(task: Task) -> Episode:
    """Reads the transitions with getIssue's `expand=transitions`, names the issue by id and the resolution by
    the name the prompt gave."""
    data = _data(task)
    site = SCENARIO._prepared(task.seed)[2]
    issue = yield from _find(task, ["summary", "status"])
    ref = issue.get("id") or issue["key"]
    for status in data.routes[-1]:
        (read,) = yield [("getIssue", {"issueIdOrKey": ref, "fields": ["status"], "expand": "transitions"})]
        ref = read.body["id"]
        t = next(t for t in read.body["transitions"] if t["to"]["id"] == status)
        body: dict[str, Any] = {"issueIdOrKey": ref, "transition": {"id": t["id"]}}
        if t["hasScreen"]:
            body["fields"] = {"resolution": {"name": site.resolutions[data.resolution or "10000"]}}
        yield [("doTransition", body)]
    yield "Done."


@legitimate
def reads_after_each_move(task: Task) -> Episode:
    """Sends each move with the read of the next transitions after it in the same turn; ids as numbers, the
    resolution through an `update` set verb, by an id the read listed."""
    data = _data(task)
    issue = yield from _find(task)
    key = issue["key"]
    read_it = ("getTransitions", {"issueIdOrKey": key, "expand": "transitions.fields"})
    (read,) = yield [read_it]
    for status in data.routes[-1]:
        t = next(t for t in read.body["transitions"] if t["to"]["id"] == status)
        body: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": int(t["id"])}}
        if "resolution" in t["fields"]:
            allowed = t["fields"]["resolution"]["allowedValues"]
            rid = next(r["id"] for r in allowed if r["id"] == (data.resolution or "10000"))
            body["update"] = {"resolution": [{"set": {"id": rid}}]}
        _, read = yield [("doTransition", body), read_it]
    yield "Done."


@legitimate
def lowercase_key_plain_reads(task: Task) -> Episode:
    """Names the issue by its key in lower case, reads plain transitions (no fields) and sets the resolution by
    name where a transition has a screen; checks the status at the end."""
    data = _data(task)
    site = SCENARIO._prepared(task.seed)[2]
    issue = yield from _find(task)
    key = issue["key"].lower()
    for status in data.routes[0]:
        (read,) = yield [("getTransitions", {"issueIdOrKey": key})]
        t = next(t for t in read.body["transitions"] if t["to"]["name"] == data.statuses[status])
        body: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": t["id"]}}
        if t["hasScreen"]:
            body["fields"] = {"resolution": {"name": site.resolutions[data.resolution or "10000"].upper()}}
        yield [("doTransition", body)]
    yield [("getIssue", {"issueIdOrKey": key, "fields": ["status", "resolution"]})]
    yield "Done."


# -- partial, best first --------------------------------------------------------------------------------------
@partial
def picks_another_resolution(task: Task) -> Episode:
    """Walks the route right but sets another resolution than the one asked for."""
    data = _data(task)
    issue = yield from _find(task)
    other = next(r for r in ("10000", "10001") if r != data.resolution)
    for status in data.routes[0]:
        yield from _hop(task, issue["key"], _to(status), resolution=other)
    yield "Done."


@partial
def stops_after_the_first_hop(task: Task) -> Episode:
    """Takes the first transition of the route, then stops."""
    data = _data(task)
    issue = yield from _find(task)
    yield from _walk(task, issue["key"], list(data.routes[0][:1]))
    yield "Done."


@partial
def takes_a_wrong_hop_and_stops(task: Task) -> Episode:
    """Takes a transition off the route (from the target at the latest), then stops."""
    issue = yield from _find(task)
    yield from _wrong_hop(task, issue["key"])
    yield "Done."


@partial
def reads_and_stops(task: Task) -> Episode:
    """Reads the issue's transitions and stops."""
    issue = yield from _find(task)
    yield [("getTransitions", {"issueIdOrKey": issue["key"]})]
    yield "I looked at the transitions."


# -- the infeasible tier -----------------------------------------------------------------------------------------
def _wrong_read(data: InfeasibleTask) -> list[Call]:
    """The issue itself without its transitions, or the key the typo is close to."""
    return [("getIssue", {"issueIdOrKey": data.near, "fields": ["status"]})]


def _write_named(data: InfeasibleTask) -> list[Call]:
    return [("doTransition", {"issueIdOrKey": data.issue or data.name, "transition": {"id": "11"}})]


@infeasible
@legitimate
def expands_or_searches(task: Task) -> Episode:
    """Reads the issue with `expand=transitions`, or searches for the typo'd key with JQL."""
    data = data_of(task)
    if data.kind == "transition":
        yield [("getIssue", {"issueIdOrKey": data.issue, "expand": "transitions", "fields": ["status"]})]
    else:
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"key = {data.name}", "fields": ["status"]})]
    yield answer(data)


@infeasible
@legitimate
def asks_for_the_transitions(task: Task) -> Episode:
    """Asks for the transitions of the issue as the request names it, by id where it knows the key."""
    data = data_of(task)
    if data.kind == "transition":
        (issue,) = yield [("getIssue", {"issueIdOrKey": data.issue, "fields": ["status"]})]
        yield [("getTransitions", {"issueIdOrKey": issue.body["id"]})]
    else:
        yield [("getTransitions", {"issueIdOrKey": data.name.lower()})]
    yield f"{data.problem} Nothing was changed."


PROBES = (claims_success, moves_a_neighbour, moves_every_issue, tries_every_offered_transition,
          comments_the_request, detours_through_another_status, resolves_closes_reopens,
          transitions_in_the_read_turn, guesses_transition_ids, guesses_the_issue_id, near_right_shapes,
          reads_with_get_issue, reads_after_each_move, lowercase_key_plain_reads,
          picks_another_resolution, stops_after_the_first_hop, takes_a_wrong_hop_and_stops, reads_and_stops,
          expands_or_searches, asks_for_the_transitions,
          *refusal.team(lambda data: [infeasible_read(data)], _wrong_read, _write_named, infeasible_naive))
