"""jira_issue_create: create one issue with the nested fields the request asks for.

The required fields differ per project and issue type (each project has its own create screens: Bugs
always require a priority, Stories a description, Sub-tasks a parent, and other fields are required here and
there), so a policy that does not read the create metadata gets errors it must then recover from. The
values are nested references: the project by id or key, the issue type by id or name, the priority by id
or name, the description as an Atlassian Document (a plain string is rejected), the assignee by accountId
(found with a user search: a display name is not accepted), the parent by id or key. Every legitimate
variation is accepted: any of those reference forms, `fields` or `update` operations (`set`, and `add`
for labels), any valid document whose text carries the requested description.

Tiers: easy — project by key, issue type, summary, description (and whatever else the screen requires);
medium — also a priority and two labels, and the project is named, not keyed (it must be looked up);
hard — as medium, plus an assignee named by display name (user search), a Sub-task of a named parent issue,
or both.

Checks (weight, group) — what each verifies and why:
- issue_created_as_requested (5, outcome): exactly one new issue, in the requested project with the
  requested type, summary and description text, and nothing else on the site changed; the result is what
  the user asked for, however it was written.
- fields_as_requested (2, outcome): that issue's priority (the requested one, else the screen's default),
  labels, assignee, parent, reporter, due date, status and comments are as requested or left at their
  defaults: nested fields are where policies go wrong.
- create_names_project_and_type (1, arguments): the createIssue call references the right project (id or
  key) and issue type (id or name).
- create_carries_content (1, arguments): the call's summary is the requested one and its description is
  a document carrying the requested text.
- create_sets_requested_fields (1, arguments): priority, labels, assignee (accountId) and parent (id or
  key) are set as requested, and no other field is set to anything but its default.
  The arguments checks judge the one successful createIssue call (or, when none succeeded, the last
  attempt); creating several issues fails them, since one was asked for.
- lookups_before_create (2, process): the first successful create came after (in a later turn than) the
  answer of a create-metadata read for the requested project and issue type (the required fields were looked up,
  as the system prompt asks) and, when an assignee is named, after a user search that returned that user
  (the accountId was found, not invented).
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import json
import random
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Task, ToolCall, ToolResult, Trace, check

from .atlassian.documents import adf_paragraphs, adf_text
from .atlassian.generate import ISSUE_TYPES, LABELS, PRIORITIES, PROBLEMS, SUBJECTS, WORK
from .atlassian.site import Site
from .base import AtlassianScenario, args, judged_write, made_calls, no_duplicate_write, no_invalid_call

TYPE_IDS = {t[0] for t in ISSUE_TYPES}
EXTRA_LABELS = ["triaged", "release-blocker", "docs", "hotfix", "sprint-42", "on-hold", "api", "design-review"]
PLANS = ["Free", "Standard", "Premium", "Enterprise"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
GOALS = ["so that support can answer tickets without paging engineering",
         "so that the next audit finds no gaps",
         "so that on-call engineers can act within five minutes",
         "so that the migration can finish before the freeze"]
HARD_VARIANTS = ("assignee", "subtask", "both")


def _norm(text: Any) -> str:
    return " ".join(str(text).split())


def _show(value: Any, limit: int = 200) -> str:
    """A value from a call for a message: canonical JSON, so that a trace read back scores the same."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)[:limit]


def _text_of(document: Any) -> str:
    return _norm(adf_text(document)) if isinstance(document, dict) else ""


# -- reading the trace ----------------------------------------------------------------------------------------
def _turn_calls(trace: Trace) -> list[tuple[int, ToolCall, ToolResult]]:
    """Every call with the index of the turn that made it: a read informs only writes of later turns."""
    return [(n, c, r) for n, turn in enumerate(trace.turns) for c, r in zip(turn.tool_calls, turn.results,
                                                                            strict=True)]


def _new_issue_keys(trace: Trace) -> list[str]:
    return [path.split("/", 1)[1] for path, change in trace.state_diff.items()
            if path.startswith("issues/") and path.count("/") == 1 and change.get("before") is None]


def _new_issue(trace: Trace) -> dict[str, Any]:
    """The one issue created; fails the check when there is none or several."""
    keys = sorted(_new_issue_keys(trace))
    assert keys, "no issue was created"
    assert len(keys) == 1, f"{len(keys)} issues were created ({', '.join(keys)}); the request was for one"
    return trace.final_state["issues"][keys[0]]




def _field_values(call_args: dict[str, Any]) -> dict[str, Any]:
    """The values a createIssue call gives each field, from `fields` and from `update` operations."""
    fields = call_args.get("fields") if isinstance(call_args.get("fields"), dict) else {}
    out = dict(fields)
    update = call_args.get("update") if isinstance(call_args.get("update"), dict) else {}
    for name, ops in update.items():
        for op in ops if isinstance(ops, list) else [ops]:
            if not isinstance(op, dict) or len(op) != 1:
                out[name] = op
                continue
            verb, value = next(iter(op.items()))
            if name == "labels" and verb in ("add", "remove"):
                current = out.get("labels") if isinstance(out.get("labels"), list) else []
                out["labels"] = [*current, value] if verb == "add" else [x for x in current if x != value]
            elif verb == "set":
                out[name] = value
            else:
                out[name] = op
    return out


def _refers(value: Any, wanted_id: str, wanted_name: str, known_ids: set[str]) -> bool:
    """A reference object ({"id": ...} or {"name": ...}) that the API resolves to wanted_id (an id it knows
    wins over the name, as in Jira)."""
    if not isinstance(value, dict):
        return False
    if "id" in value and str(value["id"]) in known_ids | {wanted_id}:
        return str(value["id"]) == wanted_id
    return "name" in value and str(value["name"]).lower() == wanted_name.lower()


def _project_ok(value: Any, data: dict[str, Any]) -> bool:
    raw = value.get("id", value.get("key")) if isinstance(value, dict) else None
    return str(raw) in (data["id"], data["key"]) if isinstance(raw, str | int) else False


def _parent_ok(value: Any, data: dict[str, Any]) -> bool:
    raw = value.get("key", value.get("id")) if isinstance(value, dict) else None
    return isinstance(raw, str | int) and (str(raw) == data["id"] or str(raw).upper() == data["key"])


def _assignee_of(value: Any) -> Any:
    return value.get("accountId", value.get("id")) if isinstance(value, dict) else value


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=5)
def issue_created_as_requested(trace: Trace, task: Task) -> None:
    issue = _new_issue(trace)
    d = task.data
    others = sorted(p for p in trace.state_diff if p != f"issues/{issue['key']}")
    assert not others, f"other things changed: {others}"
    assert issue["project"] == d["project"]["id"], f"created in project {issue['project']}, expected " \
                                                   f"{d['project']['key']} ({d['project']['id']})"
    assert issue["issuetype"] == d["issuetype"]["id"], f"issue type {issue['issuetype']}, expected " \
                                                       f"{d['issuetype']['name']} ({d['issuetype']['id']})"
    assert _norm(issue["summary"]) == d["summary"], f"summary {issue['summary']!r}, expected {d['summary']!r}"
    text = _text_of(issue.get("description"))
    assert d["description"] in text, f"the description reads {text!r}; it should carry {d['description']!r}"


@check("outcome", weight=2)
def fields_as_requested(trace: Trace, task: Task) -> None:
    issue = _new_issue(trace)
    want = task.data["expected"]
    got = {k: sorted(issue.get(k) or []) if k == "labels" else issue.get(k) for k in want}
    got["comments"] = len(issue.get("comments") or [])
    wrong = {k: {"got": got[k], "expected": v} for k, v in want.items() if got[k] != v}
    assert not wrong, f"fields of {issue['key']} differ from the request: {wrong}"


@check("arguments", weight=1)
def create_names_project_and_type(trace: Trace, task: Task) -> None:
    fields = _field_values(judged_write(trace, "createIssue", "issue"))
    d = task.data
    assert _project_ok(fields.get("project"), d["project"]), \
        f"project {_show(fields.get('project'))} is not {d['project']['key']} (id {d['project']['id']})"
    assert _refers(fields.get("issuetype"), d["issuetype"]["id"], d["issuetype"]["name"], TYPE_IDS), \
        f"issuetype {_show(fields.get('issuetype'))} is not {d['issuetype']['name']} (id {d['issuetype']['id']})"


@check("arguments", weight=1)
def create_carries_content(trace: Trace, task: Task) -> None:
    fields = _field_values(judged_write(trace, "createIssue", "issue"))
    d = task.data
    assert _norm(fields.get("summary", "")) == d["summary"], \
        f"summary {_show(fields.get('summary'))}, expected {d['summary']!r}"
    description = fields.get("description")
    assert isinstance(description, dict), f"the description must be an Atlassian Document, not {_show(description, 80)}"
    assert d["description"] in _text_of(description), \
        f"the description document reads {_text_of(description)!r}; it should carry {d['description']!r}"


@check("arguments", weight=1)
def create_sets_requested_fields(trace: Trace, task: Task) -> None:
    fields = _field_values(judged_write(trace, "createIssue", "issue"))
    d = task.data
    wrong: dict[str, Any] = {}
    priority = fields.get("priority")
    if d["priority"]:
        if not _refers(priority, d["priority"]["id"], d["priority"]["name"], set(PRIORITIES)):
            wrong["priority"] = priority
    elif priority is not None and not _refers(priority, "3", PRIORITIES["3"], set(PRIORITIES)):
        wrong["priority"] = priority  # only the default may be restated
    labels = fields.get("labels", [])
    if not (isinstance(labels, list | type(None)) and all(isinstance(x, str) for x in labels or [])
            and sorted(set(labels or [])) == d["labels"]):
        wrong["labels"] = labels
    account = d["assignee"]["accountId"] if d["assignee"] else None
    if _assignee_of(fields.get("assignee")) != account:
        wrong["assignee"] = fields.get("assignee")
    if d["parent"]:
        if not _parent_ok(fields.get("parent"), d["parent"]):
            wrong["parent"] = fields.get("parent")
    elif fields.get("parent") is not None:
        wrong["parent"] = fields.get("parent")
    if "reporter" in fields and _assignee_of(fields["reporter"]) != d["expected"]["reporter"]:
        wrong["reporter"] = fields["reporter"]
    others = set(fields) - {"project", "issuetype", "summary", "description", "priority", "labels", "assignee",
                            "parent", "reporter"}
    for name in sorted(others):
        if fields[name] not in (None, "", []):
            wrong[name] = fields[name]
    assert not wrong, f"fields set other than requested: {_show(wrong, 400)} (requested: priority {d['priority']}, " \
                      f"labels {d['labels']}, assignee {d['assignee']}, parent {d['parent']})"


@check("process", weight=2)
def lookups_before_create(trace: Trace, task: Task) -> None:
    made_calls(trace)
    d = task.data
    calls = _turn_calls(trace)
    creates = [n for n, c, r in calls if r.operation == "createIssue" and r.ok]
    assert creates, "no successful createIssue call"
    meta = [n for n, c, r in calls if r.operation == "getCreateIssueMetaIssueTypeId" and r.ok
            and str(args(c).get("projectIdOrKey")) in (d["project"]["id"], d["project"]["key"])
            and str(args(c).get("issueTypeId")) == d["issuetype"]["id"]]
    assert meta and min(meta) < min(creates), \
        f"the create fields of {d['project']['key']} / {d['issuetype']['name']} were not read " \
        f"(getCreateIssueMetaIssueTypeId) before the issue was created"
    if d["assignee"]:
        found = [n for n, c, r in calls if r.operation == "findUsers" and r.ok and isinstance(r.body, list)
                 and any(isinstance(u, dict) and u.get("accountId") == d["assignee"]["accountId"] for u in r.body)]
        assert found and min(found) < min(creates), \
            f"no user search returned {d['assignee']['name']} before the issue was created"


CHECKS = (issue_created_as_requested, fields_as_requested, create_names_project_and_type, create_carries_content,
          create_sets_requested_fields, lookups_before_create,
          no_invalid_call,
          no_duplicate_write)


class JiraIssueCreate(AtlassianScenario):
    name = "jira_issue_create"
    tool_names = ("searchProjects", "getCreateIssueMetaIssueTypes", "getCreateIssueMetaIssueTypeId", "findUsers",
                  "createIssue", "getIssue")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, dict[str, Any]]:
        project = rng.choice(list(site.projects.values()))
        variant = rng.choice(HARD_VARIANTS) if tier == "hard" else ""
        parent = None
        if variant in ("subtask", "both"):
            type_id = "10005"
            parent = rng.choice([i for i in site.issues.values() if i.project == project.id
                                 and site.issue_types[i.issuetype].hierarchy_level == 0])
        else:
            excluded = ("10005",) if tier == "easy" else ("10004", "10005")  # medium asks for a priority
            type_id = rng.choice([t for t in project.issue_types if t not in excluded])
        itype = site.issue_types[type_id]
        screen = {f.id: f.required for f in project.screens[type_id]}
        subject = rng.choice(SUBJECTS)
        if type_id == "10002":
            problem = rng.choice(PROBLEMS)
            summary = f"The {subject} {problem}"
            description = (f"Since {rng.choice(DAYS)}'s release the {subject} {problem}. It affects "
                           f"{rng.randrange(2, 40)} customers on the {rng.choice(PLANS)} plan.")
        else:
            summary = f"{rng.choice(WORK)} {subject}"
            description = f"Work on the {subject} {rng.choice(GOALS)}. Estimate: {rng.randrange(2, 9)} days."
        wants_priority = tier != "easy" or screen.get("priority", False)
        wants_labels = tier != "easy" or screen.get("labels", False)
        priority = rng.choice(sorted(PRIORITIES)) if wants_priority else None
        labels = sorted(rng.sample([*LABELS, *EXTRA_LABELS], 2 if tier != "easy" else 1)) if wants_labels else []
        people = [u for u in site.users.values() if u.account_id != site.myself]
        assignee = rng.choice(people) if variant in ("assignee", "both") else None

        where = f"project {project.key}" if tier == "easy" else f"the {project.name} project"
        if parent is not None:
            head = f"In {where}, create a sub-task of {parent.key}"
        else:
            head = f"Create {'an' if itype.name[0] in 'AEIOU' else 'a'} {itype.name} in {where}"
        parts = [f'{head} with the summary "{summary}" and the description "{description}".']
        if priority:
            parts.append(f"Its priority is {PRIORITIES[priority]}.")
        if labels:
            parts.append(f"Label it {' and '.join(labels)}.")
        if assignee:
            parts.append(f"Assign it to {assignee.display_name}.")
        prompt = " ".join(parts)

        expected = {"priority": priority or ("3" if "priority" in screen else None), "labels": labels,
                    "assignee": assignee.account_id if assignee else None, "parent": parent.id if parent else None,
                    "reporter": site.myself, "duedate": None, "status": project.workflow.initial,
                    "resolution": None, "comments": 0}
        data = {"project": {"id": project.id, "key": project.key, "name": project.name},
                "by_name": tier != "easy",
                "issuetype": {"id": type_id, "name": itype.name}, "summary": _norm(summary),
                "description": _norm(description),
                "priority": {"id": priority, "name": PRIORITIES[priority]} if priority else None,
                "labels": labels,
                "assignee": {"accountId": assignee.account_id, "name": assignee.display_name} if assignee else None,
                "parent": {"id": parent.id, "key": parent.key} if parent else None,
                "expected": expected}
        return prompt, data

    def __init__(self) -> None:
        super().__init__()
        self.scripts = {"oracle": oracle, "naive": naive, "spam": spam}


def _requested_fields(task: Task, project: dict[str, Any], type_ref: dict[str, Any], assignee: Any,
                      description: Any) -> dict[str, Any]:
    d = task.data
    fields: dict[str, Any] = {"project": project, "issuetype": type_ref, "summary": d["summary"],
                              "description": description}
    if d["priority"]:
        fields["priority"] = {"name": d["priority"]["name"]}
    if d["labels"]:
        fields["labels"] = d["labels"]
    if d["assignee"]:
        fields["assignee"] = assignee
    if d["parent"]:
        fields["parent"] = {"key": d["parent"]["key"]}
    return fields


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    d = task.data
    reads = []
    if d["by_name"]:
        reads.append(("searchProjects", {"query": d["project"]["name"]}))
    if d["assignee"]:
        reads.append(("findUsers", {"query": d["assignee"]["name"]}))
    key = d["project"]["key"]
    account = None
    if reads:
        results = yield reads
        for (name, _), result in zip(reads, results, strict=True):
            if name == "searchProjects":
                key = next(p["key"] for p in result.body["values"] if p["name"] == d["project"]["name"])
            else:
                account = next(u["accountId"] for u in result.body if u["displayName"] == d["assignee"]["name"])
    (types,) = yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": key})]
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == d["issuetype"]["name"])
    (meta,) = yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": key, "issueTypeId": type_id})]
    required = {f["fieldId"] for f in meta.body["fields"] if f["required"]}
    fields = _requested_fields(task, {"key": key}, {"id": type_id}, {"accountId": account},
                               adf_paragraphs([d["description"]]))
    missing = required - set(fields)
    assert not missing, f"the task does not give a value for the required fields {missing}"
    (created,) = yield [("createIssue", {"fields": fields})]
    yield f"Created {created.body.get('key')}."


def _guessed_key(name: str) -> str:
    return name.split()[0][:4].upper() if name else ""


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One createIssue with what the prompt says: a key guessed from the name, a plain-text description."""
    d = task.data
    key = _guessed_key(d["project"]["name"]) if d["by_name"] else d["project"]["key"]
    assignee = {"name": d["assignee"]["name"]} if d["assignee"] else None
    yield [("createIssue", {"fields": _requested_fields(task, {"key": key}, {"name": d["issuetype"]["name"]},
                                                        assignee, d["description"])})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Every offered tool, three rounds, writes included, with arguments from the prompt and earlier answers."""
    d = task.data
    key = _guessed_key(d["project"]["name"]) if d["by_name"] else d["project"]["key"]
    account: Any = {"name": d["assignee"]["name"]} if d["assignee"] else None
    type_id = "10001"
    for _ in range(3):
        results = yield [
            ("searchProjects", {"query": d["project"]["name"]}),
            ("getCreateIssueMetaIssueTypes", {"projectIdOrKey": key}),
            ("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": key, "issueTypeId": type_id}),
            ("findUsers", {"query": d["assignee"]["name"] if d["assignee"] else d["summary"].split()[0]}),
            ("getIssue", {"issueIdOrKey": d["parent"]["key"] if d["parent"] else f"{key}-1"}),
            ("createIssue", {"fields": _requested_fields(task, {"key": key}, {"name": d["issuetype"]["name"]},
                                                         account, adf_paragraphs([d["description"]]))}),
        ]
        projects, types, _, users = (r.body for r in results[:4])
        if isinstance(projects, dict) and projects.get("values"):
            key = projects["values"][0]["key"]
        if isinstance(types, dict) and types.get("issueTypes"):
            type_id = types["issueTypes"][0]["id"]
        if d["assignee"] and isinstance(users, list) and users:
            account = {"accountId": users[0]["accountId"]}
    yield "Done."


SCENARIO = JiraIssueCreate()
