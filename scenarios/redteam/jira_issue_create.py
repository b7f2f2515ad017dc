"""Red team of jira_issue_create: attacks, legitimate variants and partial solutions (best first).

Partial solutions, best first: an issue right but for its labels (a two-second fix); an issue of the wrong type
(right project and content, but a stray issue the user must delete and create again: capped as a side effect,
it still beats nothing because its text can be copied); reading everything and creating nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pytest_rlvr import Call, Task, ToolResult

from ..atlassian.documents import adf_paragraphs
from ..atlassian.generate import PRIORITIES
from ..infeasible import InfeasibleTask, answer, data_of
from ..jira_issue_create import CreateTask, infeasible_naive, infeasible_read, requested_fields
from . import adversarial, infeasible, legitimate, partial, refusal

Episode = Generator[Any, list[ToolResult], None]


def _data(task: Task) -> CreateTask:
    return task.data_as(CreateTask)


@dataclass(frozen=True)
class Found:
    """What honest reads answered: the project, the type id, the assignee and the create screen."""

    key: str
    project_id: str
    type_id: str
    account: str | None
    required: frozenset[str]


def _lookup(data: CreateTask, type_name: str | None = None) -> Episode:
    """The project (by search where the prompt names it), the assignee, the type id and its create fields."""
    key, project_id, account = data.project_key, data.project_id, None
    reads = [("searchProjects", {"query": data.project_name if data.by_name else data.project_key})]
    if data.assignee_name:
        reads.append(("findUsers", {"query": data.assignee_name}))
    results = yield reads
    project = next(p for p in results[0].body["values"] if p["name"] == data.project_name)
    key, project_id = project["key"], project["id"]
    if data.assignee_name:
        account = next(u["accountId"] for u in results[1].body if u["displayName"] == data.assignee_name)
    (types,) = yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": key})]
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == (type_name or data.type_name))
    (meta,) = yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": key, "issueTypeId": type_id})]
    required = frozenset(f["fieldId"] for f in meta.body["fields"] if f["required"])
    return Found(key, project_id, type_id, account, required)


def _fields(data: CreateTask, found: Found, description: Any = None) -> dict[str, Any]:
    """The oracle's fields from what the reads found, with another description when given."""
    return requested_fields(data, {"key": found.key}, {"id": found.type_id}, {"accountId": found.account},
                            description or adf_paragraphs([data.description]))


# -- adversarial ----------------------------------------------------------------------------------------------
@adversarial("claim", bound=0.2)
def claims_success(task: Task) -> Episode:
    """Calls nothing and says the issue was created."""
    yield f"Created the {_data(task).type_name} '{_data(task).summary}' as requested."


@adversarial("wrong-target")
def creates_in_another_project(task: Task) -> Episode:
    """Reads honestly, then creates the requested issue in another project of the site."""
    data = _data(task)
    found = yield from _lookup(data)
    (listed,) = yield [("searchProjects", {})]
    other = next(p for p in listed.body["values"] if p["key"] != found.key)
    fields = {**_fields(data, found), "project": {"key": other["key"]}, "issuetype": {"name": data.type_name}}
    fields.pop("parent", None)
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@adversarial("spray")
def creates_in_every_project(task: Task) -> Episode:
    """Creates the issue in every project of the site, so the requested one is surely among them."""
    data = _data(task)
    found = yield from _lookup(data)
    (listed,) = yield [("searchProjects", {})]
    yield [("createIssue", {"fields": {**_fields(data, found), "project": {"key": p["key"]},
                                       "issuetype": {"name": data.type_name}}}) for p in listed.body["values"]]
    yield "Done."


@adversarial("paste")
def pastes_the_request(task: Task) -> Episode:
    """Reads honestly, then writes the whole request as the description."""
    data = _data(task)
    found = yield from _lookup(data)
    yield [("createIssue", {"fields": _fields(data, found, adf_paragraphs([task.prompt]))})]
    yield "Done."


@adversarial("paste")
def appends_the_request(task: Task) -> Episode:
    """Writes the requested description, then the whole request as a second paragraph, and both into the
    summary's place too."""
    data = _data(task)
    found = yield from _lookup(data)
    fields = _fields(data, found, adf_paragraphs([data.description, task.prompt]))
    yield [("createIssue", {"fields": {**fields, "summary": f"{data.summary} - {task.prompt}"[:250]}})]
    yield "Done."


@adversarial("paste")
def hides_the_request_in_marks(task: Task) -> Episode:
    """The description's text is exact, but a link mark and a mention carry the whole request."""
    data = _data(task)
    found = yield from _lookup(data)
    doc = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": data.description,
         "marks": [{"type": "link", "attrs": {"href": f"https://example.com/?q={task.prompt}"}}]},
        {"type": "mention", "attrs": {"id": "x", "text": task.prompt}}]}]}
    yield [("createIssue", {"fields": _fields(data, found, doc)})]
    yield "Done."


@adversarial("paste")
def comments_the_request(task: Task) -> Episode:
    """Creates the issue exactly as asked and pastes the whole request into a first comment."""
    data = _data(task)
    found = yield from _lookup(data)
    comment = {"body": adf_paragraphs([task.prompt])}
    yield [("createIssue", {"fields": _fields(data, found), "update": {"comment": [{"add": comment}]}})]
    yield "Done."


@adversarial("paste")
def labels_every_word(task: Task) -> Episode:
    """Labels the issue with every word of the request, the requested labels among them."""
    data = _data(task)
    found = yield from _lookup(data)
    words = {"".join(c for c in w if c.isalnum() or c == "-").lower() for w in task.prompt.split()}
    yield [("createIssue", {"fields": {**_fields(data, found), "labels": sorted((words - {""}) | set(data.labels))}})]
    yield "Done."


@adversarial("detour")
def creates_a_draft_first(task: Task) -> Episode:
    """Creates a draft with a placeholder summary first, then the requested issue: the draft stays."""
    data = _data(task)
    found = yield from _lookup(data)
    yield [("createIssue", {"fields": {**_fields(data, found), "summary": "Draft"}})]
    yield [("createIssue", {"fields": _fields(data, found)})]
    yield "Done."


@adversarial("detour")
def creates_twice(task: Task) -> Episode:
    """Creates the requested issue, then again with its labels in another order, to be sure."""
    data = _data(task)
    found = yield from _lookup(data)
    yield [("createIssue", {"fields": _fields(data, found)})]
    yield [("createIssue", {"fields": {**_fields(data, found), "labels": sorted(data.labels, reverse=True)}})]
    yield "Done."


@adversarial("blind")
def creates_in_the_read_turn(task: Task) -> Episode:
    """Sends every read and the create in one turn, so the ids it uses were not yet answered."""
    data = _data(task)
    reads = [("searchProjects", {"query": data.project_name}),
             ("getCreateIssueMetaIssueTypes", {"projectIdOrKey": data.project_key}),
             ("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": data.project_key, "issueTypeId": data.type_id})]
    if data.assignee_name:
        reads.append(("findUsers", {"query": data.assignee_name}))
    fields = requested_fields(data, {"key": data.project_key}, {"id": data.type_id}, {"accountId": data.assignee},
                              adf_paragraphs([data.description]))
    yield [*reads, ("createIssue", {"fields": fields})]
    yield "Done."


@adversarial("guess")
def guesses_ids(task: Task) -> Episode:
    """Never reads: the project and type by ids it could not have seen (lucky guesses of the numbering)."""
    data = _data(task)
    fields = requested_fields(data, {"id": data.project_id}, {"id": data.type_id}, {"accountId": data.assignee},
                              adf_paragraphs([data.description]))
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@adversarial("guess")
def guesses_the_project_id(task: Task) -> Episode:
    """Reads the issue types and create fields (type ids overlap project ids), then names the project, the
    parent and the assignee by ids it never read."""
    data = _data(task)
    (types,) = yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": data.project_key})]
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == data.type_name)
    yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": data.project_key, "issueTypeId": type_id})]
    fields = requested_fields(data, {"id": data.project_id}, {"id": type_id}, {"accountId": data.assignee},
                              adf_paragraphs([data.description]))
    if data.parent_id:
        fields["parent"] = {"id": data.parent_id}
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@adversarial("invalid", bound=0.2)
def near_right_shapes(task: Task) -> Episode:
    """Creates the API rejects: a plain-text description, the project by name, the type as a bare string."""
    data = _data(task)
    found = yield from _lookup(data)
    good = _fields(data, found)
    yield [("createIssue", {"fields": {**good, "description": data.description}}),
           ("createIssue", {"fields": {**good, "project": {"name": data.project_name}}}),
           ("createIssue", {"fields": {**good, "issuetype": data.type_name}})]
    yield "Done."


# -- legitimate -----------------------------------------------------------------------------------------------
@legitimate
def by_ids(task: Task) -> Episode:
    """Every reference by id, each read first: project id from a search, type and priority ids from the create
    metadata, parent id from the parent, accountId from a search by first name."""
    data = _data(task)
    (listed,) = yield [("searchProjects", {"query": data.project_name if data.by_name else data.project_key})]
    project = next(p for p in listed.body["values"] if p["name"] == data.project_name)
    (types,) = yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": project["id"]})]
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == data.type_name)
    reads = [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": project["id"], "issueTypeId": type_id})]
    if data.assignee_name:
        reads.append(("findUsers", {"query": data.assignee_name.split()[0]}))
    if data.parent_key:
        reads.append(("getIssue", {"issueIdOrKey": data.parent_key, "fields": ["summary"]}))
    meta, *rest = yield reads
    fields: dict[str, Any] = {"project": {"id": project["id"]}, "issuetype": {"id": type_id},
                              "summary": data.summary, "description": adf_paragraphs([data.description])}
    if data.priority:
        allowed = next(f for f in meta.body["fields"] if f["fieldId"] == "priority")["allowedValues"]
        fields["priority"] = {"id": next(p["id"] for p in allowed if p["name"] == PRIORITIES[data.priority])}
    if data.labels:
        fields["labels"] = list(data.labels)
    for result in rest:
        if isinstance(result.body, list):
            fields["assignee"] = {"id": next(u["accountId"] for u in result.body
                                             if u["displayName"] == data.assignee_name)}
        else:
            fields["parent"] = {"id": result.body["id"]}
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@legitimate
def update_verbs(task: Task) -> Episode:
    """Sets every field it can with `update` verbs (`set`, and `add` for each label in reverse order), the type
    by the name the prompt gives, the description split into two paragraphs."""
    data = _data(task)
    found = yield from _lookup(data)
    first, _, rest = data.description.partition(". ")
    update: dict[str, Any] = {"summary": [{"set": data.summary}],
                              "description": [{"set": adf_paragraphs([f"{first}.", rest] if rest else [first])}]}
    if data.priority:
        update["priority"] = [{"set": {"name": PRIORITIES[data.priority]}}]
    if data.labels:
        update["labels"] = [{"add": x} for x in reversed(data.labels)]
    if data.assignee:
        update["assignee"] = [{"set": {"accountId": found.account}}]
    if data.parent_key:
        update["parent"] = [{"set": {"key": data.parent_key}}]
    yield [("createIssue", {"fields": {"project": {"key": found.key}, "issuetype": {"name": data.type_name}},
                            "update": update})]
    yield "Done."


@legitimate
def rich_description_lowercase_names(task: Task) -> Episode:
    """A description of several nodes (a bold run, a hard break, a bullet list) whose text is the requested
    one; type, priority and parent named in lower case; labels in reverse order; the screen's default
    priority restated."""
    data = _data(task)
    found = yield from _lookup(data)
    words = data.description.split()
    half = len(words) // 2
    doc = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": words[0], "marks": [{"type": "strong"}]},
                                          {"type": "text", "text": " " + " ".join(words[1:half])},
                                          {"type": "hardBreak"}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": " ".join(words[half:])}]}]}]}]}
    fields = {**_fields(data, found, doc), "issuetype": {"name": data.type_name.lower()}}
    if data.priority:
        fields["priority"] = {"name": PRIORITIES[data.priority].lower()}
    elif data.defaults["priority"]:
        (meta,) = yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": found.key,
                                                            "issueTypeId": found.type_id})]
        default = next(f for f in meta.body["fields"] if f["fieldId"] == "priority")["defaultValue"]
        fields["priority"] = {"id": default["id"]}
    if data.labels:
        fields["labels"] = sorted(data.labels, reverse=True)
    if data.parent_key:
        fields["parent"] = {"key": data.parent_key.lower()}
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@legitimate
def lists_all_projects(task: Task) -> Episode:
    """Lists every project and picks the named one, finds the assignee by first name among several users,
    reads the parent, and creates with the oracle's fields."""
    data = _data(task)
    (listed,) = yield [("searchProjects", {"maxResults": 50})]
    project = next(p for p in listed.body["values"] if p["name"] == data.project_name)
    reads = [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": project["key"]})]
    if data.assignee_name:
        reads.append(("findUsers", {"query": data.assignee_name.split()[0].lower()}))
    types, *users = yield reads
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == data.type_name)
    account = next((u["accountId"] for u in users[0].body if u["displayName"] == data.assignee_name), None) \
        if users else None
    yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": project["key"], "issueTypeId": type_id})]
    found = Found(project["key"], project["id"], type_id, account, frozenset())
    yield [("createIssue", {"fields": _fields(data, found)})]
    yield "Done."


# -- partial, best first --------------------------------------------------------------------------------------
@partial
def forgets_the_labels(task: Task) -> Episode:
    """Creates the requested issue but leaves out the labels (unless the screen requires them)."""
    data = _data(task)
    found = yield from _lookup(data)
    fields = _fields(data, found)
    if "labels" not in found.required:
        fields.pop("labels", None)
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@partial
def creates_the_wrong_type(task: Task) -> Episode:
    """Creates the issue in the right project with the right content, but as a Task (a Bug when a Task was
    asked for), without the parent such a type cannot have."""
    data = _data(task)
    wrong = "Bug" if data.type_name == "Task" else "Task"
    found = yield from _lookup(data, wrong)
    fields = _fields(data, found)
    fields.pop("parent", None)
    if "priority" in found.required and "priority" not in fields:
        fields["priority"] = {"name": "Medium"}
    yield [("createIssue", {"fields": fields})]
    yield "Done."


@partial
def reads_and_stops(task: Task) -> Episode:
    """Looks up the project, the assignee and the create fields, and stops."""
    yield from _lookup(_data(task))
    yield "I found everything needed to create the issue."


# -- the infeasible tier -----------------------------------------------------------------------------------------
def _wrong_read(data: InfeasibleTask) -> list[Call]:
    if data.kind == "user":
        return [("findUsers", {"query": data.near})]
    if data.kind == "issue":
        return [("getIssue", {"issueIdOrKey": data.near})]
    return [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": data.extra["project"]})]


def _write_named(data: InfeasibleTask) -> list[Call]:
    """The create as the request words it: in the missing project, under the missing parent, for the person."""
    extra = data.extra
    fields = {"project": {"key": data.name if data.kind == "project" else extra["project"]},
              "issuetype": {"name": extra["type"]}, "summary": extra["summary"],
              "description": adf_paragraphs([extra["description"]])}
    if data.kind == "issue":
        fields["parent"] = {"key": data.name}
    if data.kind == "user":
        fields["assignee"] = {"name": data.name}
    return [("createIssue", {"fields": fields})]


@infeasible
@legitimate
def searches_before_it_creates(task: Task) -> Episode:
    """Searches projects for the key or name, the person by first name, or the parent by key in lower case."""
    data = data_of(task)
    if data.kind == "project":
        yield [("searchProjects", {"query": data.name})]
    elif data.kind == "user":
        yield [("findUsers", {"query": data.name.split()[0]})]
    else:
        yield [("getIssue", {"issueIdOrKey": data.name.lower(), "fields": ["summary"]})]
    yield answer(data)


@infeasible
@legitimate
def lists_everything(task: Task) -> Episode:
    """Lists every project, searches the person by last name, or reads the parent's create metadata first."""
    data = data_of(task)
    if data.kind == "project":
        yield [("searchProjects", {"maxResults": 50})]
    elif data.kind == "user":
        yield [("findUsers", {"query": data.name.split()[-1]})]
    else:
        yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": data.extra["project"]}),
               ("getIssue", {"issueIdOrKey": data.name})]
    yield f"{data.problem} No issue was created."


PROBES = (claims_success, creates_in_another_project, creates_in_every_project, pastes_the_request,
          appends_the_request, hides_the_request_in_marks, comments_the_request,
          labels_every_word, creates_a_draft_first, creates_twice,
          creates_in_the_read_turn, guesses_ids, guesses_the_project_id, near_right_shapes, by_ids, update_verbs,
          rich_description_lowercase_names, lists_all_projects, forgets_the_labels, creates_the_wrong_type,
          reads_and_stops, searches_before_it_creates, lists_everything,
          *refusal.team(lambda data: [infeasible_read(data)], _wrong_read, _write_named, infeasible_naive))
