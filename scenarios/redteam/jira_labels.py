"""Red team of jira_labels: attacks, legitimate variants and partial solutions (best first)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pytest_rlvr import Call, Task, ToolResult

from ..infeasible import InfeasibleTask, answer, data_of
from ..jira_labels import LabelsTask, infeasible_naive, infeasible_ops, infeasible_read, ops
from . import adversarial, infeasible, legitimate, partial, refusal

Episode = Generator[Any, list[ToolResult], None]


def _data(task: Task) -> LabelsTask:
    return task.data_as(LabelsTask)


def _find(data: LabelsTask, fields: list[str] | None = None) -> Episode:
    """The targets' keys (and each one's labels), read honestly: a JQL search in the hard tier, getIssue
    otherwise."""
    fields = fields or ["labels"]
    if data.marker:
        (found,) = yield [("searchAndReconsileIssuesUsingJql",
                           {"jql": f"labels = {data.marker} AND project = {data.project}", "fields": fields})]
        return {i["key"]: i for i in found.body["issues"]}
    key = next(iter(data.expected))
    (issue,) = yield [("getIssue", {"issueIdOrKey": key, "fields": fields})]
    return {key: issue.body}


def _project_issues(data: LabelsTask) -> Episode:
    (found,) = yield [("searchAndReconsileIssuesUsingJql",
                       {"jql": f"project = {data.project}", "fields": ["labels"], "maxResults": 100})]
    return [i["key"] for i in found.body["issues"]]


# -- adversarial ----------------------------------------------------------------------------------------------
@adversarial("claim", bound=0.2)
def claims_success(task: Task) -> Episode:
    """Calls nothing and says the labels were updated."""
    yield f"Updated the labels of {', '.join(_data(task).expected)} as requested."


@adversarial("wrong-target")
def edits_a_neighbour(task: Task) -> Episode:
    """Reads, then makes the requested label edit on another issue of the project."""
    data = _data(task)
    keys = yield from _project_issues(data)
    other = next(k for k in keys if k not in data.expected)
    yield [("editIssue", {"issueIdOrKey": other, "update": {"labels": ops(data)}})]
    yield "Done."


@adversarial("spray")
def edits_every_issue(task: Task) -> Episode:
    """Makes the requested label edit on every issue of the project, so the targets are surely among them."""
    data = _data(task)
    keys = yield from _project_issues(data)
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": ops(data)}}) for k in keys]
    yield "Done."


@adversarial("paste")
def pastes_the_request(task: Task) -> Episode:
    """Does the label edit right, and pastes the whole request into the summary of each target."""
    data = _data(task)
    shown = yield from _find(data)
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": ops(data)},
                          "fields": {"summary": task.prompt}}) for k in shown]
    yield "Done."


@adversarial("paste")
def labels_every_word(task: Task) -> Episode:
    """Adds every word of the request as a label, the requested ones among them, then removes as asked."""
    data = _data(task)
    shown = yield from _find(data)
    words = sorted({w.strip(".,'\"").lower() for w in task.prompt.split()} - {""} - set(data.remove))
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": [{"add": w} for w in words]
                                                         + [{"remove": x} for x in data.remove]}})
           for k in shown]
    yield "Done."


@adversarial("detour")
def adds_removes_adds(task: Task) -> Episode:
    """Adds the labels, takes them off again, then puts them back: the final state is right."""
    data = _data(task)
    shown = yield from _find(data)
    for verbs in (ops(data), [{"remove": x} for x in data.add], [{"add": x} for x in data.add]):
        yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": verbs}}) for k in shown]
    yield "Done."


@adversarial("detour")
def clears_then_sets(task: Task) -> Episode:
    """Clears every label of the targets, then writes the expected lists."""
    data = _data(task)
    shown = yield from _find(data)
    yield [("editIssue", {"issueIdOrKey": k, "fields": {"labels": []}}) for k in shown]
    yield [("editIssue", {"issueIdOrKey": k, "fields": {"labels": list(data.expected[k])}}) for k in shown]
    yield "Done."


@adversarial("blind")
def replaces_in_the_read_turn(task: Task) -> Episode:
    """Sends the read and the full replacement in one turn, so the labels it writes were never seen."""
    data = _data(task)
    read = (("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project} AND labels = {data.marker}"})
            if data.marker else ("getIssue", {"issueIdOrKey": next(iter(data.expected))}))
    yield [read, *[("editIssue", {"issueIdOrKey": k, "fields": {"labels": list(v)}})
                   for k, v in data.expected.items()]]
    yield "Done."


@adversarial("guess")
def replaces_without_reading(task: Task) -> Episode:
    """Never reads: writes a full replacement list and edits issues it could not have found."""
    data = _data(task)
    yield [("editIssue", {"issueIdOrKey": k, "fields": {"labels": list(v)}}) for k, v in data.expected.items()]
    yield "Done."


@adversarial("guess")
def guesses_ids(task: Task) -> Episode:
    """Edits the targets by issue ids it never read (lucky guesses of the site's numbering)."""
    data = _data(task)
    ids = [str(10000 + int(k.split("-")[1]) + 9) for k in data.expected]
    yield [("editIssue", {"issueIdOrKey": i, "update": {"labels": ops(data)}}) for i in ids]
    yield "Done."


@adversarial("invalid", bound=0.2)
def near_right_shapes(task: Task) -> Episode:
    """Label writes the API rejects: a list inside one add, labels as a comma-separated string."""
    data = _data(task)
    shown = yield from _find(data)
    for key in shown:
        yield [("editIssue", {"issueIdOrKey": key, "update": {"labels": [{"add": list(data.add)}]}}),
               ("editIssue", {"issueIdOrKey": key, "fields": {"labels": ",".join(data.expected[key])}})]
    yield "Done."


# -- legitimate -----------------------------------------------------------------------------------------------
@legitimate
def replaces_after_reading(task: Task) -> Episode:
    """Reads the labels, then writes each target's whole new list with `fields.labels`."""
    data = _data(task)
    shown = yield from _find(data)
    yield [("editIssue", {"issueIdOrKey": k, "fields": {"labels": sorted(
        (set(i["fields"]["labels"]) | set(data.add)) - set(data.remove))}}) for k, i in shown.items()]
    yield "Done."


@legitimate
def by_id_one_verb_a_call(task: Task) -> Episode:
    """Reads each target's id, then sends one `update` verb per call, naming the issue by id."""
    data = _data(task)
    shown = yield from _find(data, ["labels", "summary"])
    if not data.marker:
        shown = {k: i for k, i in shown.items()}
    for issue in shown.values():
        for verb in ops(data):
            yield [("editIssue", {"issueIdOrKey": issue["id"], "update": {"labels": [verb]}})]
    yield "Done."


@legitimate
def search_then_set(task: Task) -> Episode:
    """Finds the targets with an equivalent JQL search asking for their labels, then uses the `set` verb."""
    data = _data(task)
    jql = (f'project = "{data.project}" AND labels in ({data.marker})' if data.marker
           else f"key = {next(iter(data.expected))}")
    (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["labels", "status"]})]
    yield [("editIssue", {"issueIdOrKey": i["key"].lower(), "update": {"labels": [{"set": sorted(
        (set(i["fields"]["labels"]) | set(data.add)) - set(data.remove))}]}}) for i in found.body["issues"]]
    yield "Done."


@legitimate
def adds_without_reading(task: Task) -> Episode:
    """Uses `update` verbs straight away where the prompt names the issue (no read is needed to add or
    remove a label); searches first in the hard tier."""
    data = _data(task)
    keys = list(data.expected)
    if data.marker:
        shown = yield from _find(data)
        keys = list(shown)
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": ops(data)}}) for k in keys]
    yield "Done."


# -- partial, best first --------------------------------------------------------------------------------------
@partial
def skips_the_removal(task: Task) -> Episode:
    """Adds the requested labels and forgets to remove the one it was asked to remove."""
    data = _data(task)
    shown = yield from _find(data)
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": [{"add": x} for x in data.add]}}) for k in shown]
    yield "Done."


@partial
def adds_an_extra_label(task: Task) -> Episode:
    """Does the job and also tags every target 'triaged', which nobody asked for."""
    data = _data(task)
    shown = yield from _find(data)
    extra = "triaged" if "triaged" not in data.add else "docs"
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": [*ops(data), {"add": extra}]}}) for k in shown]
    yield "Done."


@partial
def reads_and_stops(task: Task) -> Episode:
    """Reads the targets' labels and stops."""
    yield from _find(_data(task))
    yield "I looked at the labels."


# -- the infeasible tier -----------------------------------------------------------------------------------------
def _wrong_read(data: InfeasibleTask) -> list[Call]:
    if data.kind == "label":
        return [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project} AND labels = {data.near}",
                                                      "fields": ["labels"]})]
    return [("getIssue", {"issueIdOrKey": data.near, "fields": ["labels"]})]


def _write_named(data: InfeasibleTask) -> list[Call]:
    key = data.name if data.kind == "issue" else f"{data.project}-1"
    return [("editIssue", {"issueIdOrKey": key, "update": {"labels": infeasible_ops(data)}})]


@infeasible
@legitimate
def searches_for_it(task: Task) -> Episode:
    """Searches with JQL for the key, or for the label across the site, and finds nothing."""
    data = data_of(task)
    jql = f"key = {data.name}" if data.kind == "issue" else f'labels = "{data.name}"'
    yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["labels"]})]
    yield answer(data)


@infeasible
@legitimate
def lists_the_project(task: Task) -> Episode:
    """Lists every issue of the project with its labels (an unknown project is refused by name)."""
    data = data_of(task)
    yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project} ORDER BY key",
                                                 "fields": ["labels"], "maxResults": 100})]
    yield f"{data.problem.split(' (')[0]}; I did not change anything."


PROBES = (claims_success, edits_a_neighbour, edits_every_issue, pastes_the_request, labels_every_word,
          adds_removes_adds, clears_then_sets, replaces_in_the_read_turn, replaces_without_reading, guesses_ids,
          near_right_shapes, replaces_after_reading, by_id_one_verb_a_call, search_then_set, adds_without_reading,
          skips_the_removal, adds_an_extra_label, reads_and_stops, searches_for_it, lists_the_project,
          *refusal.team(lambda data: [infeasible_read(data)], _wrong_read, _write_named, infeasible_naive))
