"""jira_issue_create: create one issue with the nested fields the request asks for.

The required fields differ per project and issue type (each project has its own create screens: Bugs
always require a priority, Stories a description, Sub-tasks a parent, and other fields are required here and
there), so a policy that does not read the create metadata gets errors it must then recover from. The
values are nested references: the project by id or key, the issue type by id or name, the priority by id
or name, the description as an Atlassian Document (a plain string is rejected), the assignee by accountId
(found with a user search: a display name is not accepted), the parent by id or key.

Tiers: easy — project by key, issue type, summary, description (and whatever else the screen requires);
medium — also a priority and two labels, and the project is named, not keyed (its key comes from a project
search); hard — as medium, plus an assignee named by display name (user search), a Sub-task of a named
parent issue, or both.

Every legitimate route scores 1.0: any of those reference forms, `fields` or `update` operations (`set`, and
`add` for labels), labels in any order, a description split over several paragraphs, headings or lists.
The summary and the description must *equal* the requested ones: text with whitespace collapsed, an ADF
document's blocks joined by a space. The description must be a document of text alone: a mention, a link,
a card or a text attribute would carry text the comparison does not see.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- issue_created_as_requested (5, outcome): exactly one new issue, in the requested project with the
  requested type, with exactly the requested summary and description.
- fields_as_requested (2, outcome): that issue's priority (the requested one, else the screen's default),
  labels, assignee, parent, reporter, due date, status, resolution and comments are as requested or left at
  their defaults: nested fields are where policies go wrong.
- nothing_else_changed (1, outcome, gate 0.2): one issue was created, of the requested project and type
  (another one, in another project or of another type, is a stray issue nobody can delete here), nothing
  else changed, one create succeeded, no create (even a rejected one) aimed at another project, and no field
  of the issue holds a value that is neither requested nor the default (an extra label, a due date, a
  comment, someone else assigned).
- create_names_project_and_type (1, arguments): the create references the requested project (id or key)
  and issue type (id or name).
- create_carries_content (1, arguments, gate 0.3): its summary equals the requested one and its
  description is a document whose text equals the requested one; pasting the request is not content.
- create_sets_requested_fields (1, arguments): priority, labels, assignee (accountId) and parent (id or
  key) are set as requested, and no other field is set to anything but its default.
  The arguments checks judge the one successful createIssue call, and only when it made the requested
  issue (a create in another project or of another type earns nothing; several creates fail them).
- create_informed (1, process, gate 0.2): every reference a successful create uses (project key or id,
  issue type, priority, assignee and reporter accountId, parent key or id) was in the prompt or in a result
  of an earlier turn, shown as that entity (an id beside its key or name: ids of projects, types and issues
  overlap); a project key only counts from the prompt when written as Jira spells it (case-sensitive).
- lookups_before_create (2, process): the create of the requested issue came in a later turn than a
  create-metadata read (getCreateIssueMetaIssueTypeId) of the requested project and type, as the system
  prompt asks.
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import random
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.documents import adf_paragraphs
from .atlassian.generate import ISSUE_TYPES, LABELS, LAST, PRIORITIES, PROBLEMS, SUBJECTS, WORK
from .atlassian.site import Site
from .base import AtlassianScenario, no_duplicate_write, no_invalid_call, tiered
from .infeasible import InfeasibleTask, answer, data_of, key_typo, kind_of, refuse, spray, word_typo
from .reading import (
    CONTENT_CAP,
    SIDE_EFFECT_CAP,
    UNINFORMED_CAP,
    Step,
    created,
    get,
    informed,
    issue_informed,
    norm,
    prompt,
    scalar,
    show,
    shown_together,
    steps,
    writes,
)

TYPE_IDS = {t[0] for t in ISSUE_TYPES}
EXTRA_LABELS = ["triaged", "release-blocker", "docs", "hotfix", "sprint-42", "on-hold", "api", "design-review"]
PLANS = ["Free", "Standard", "Premium", "Enterprise"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
GOALS = ["so that support can answer tickets without paging engineering",
         "so that the next audit finds no gaps",
         "so that on-call engineers can act within five minutes",
         "so that the migration can finish before the freeze"]
HARD_VARIANTS = ("assignee", "subtask", "both")
PLAIN_NODES = {"doc", "paragraph", "text", "hardBreak", "heading", "bulletList", "orderedList", "listItem", "codeBlock",
               "blockquote"}
PLAIN_MARKS = ("strong", "em", "underline", "strike", "code")  # a tuple: a mark's type may be unhashable
BLOCKS = PLAIN_NODES - {"doc", "text", "hardBreak"}
KEYS = {kind: {"type", "content", "attrs", "marks"} | ({"text"} if kind == "text" else set())
        | ({"version"} if kind == "doc" else set()) for kind in PLAIN_NODES}
SET_BY_CREATE = ("project", "issuetype", "summary", "description", "priority", "labels", "assignee", "parent",
                 "reporter")


@dataclass(frozen=True)
class CreateTask:
    """What the checks need: the requested issue, and what each of its fields is afterwards or by default."""

    project_id: str
    project_key: str
    project_name: str
    by_name: bool  # the prompt names the project instead of giving its key
    type_id: str
    type_name: str
    summary: str  # whitespace collapsed
    description: str  # whitespace collapsed
    priority: str | None  # requested priority id
    labels: tuple[str, ...]  # sorted
    assignee: str | None  # accountId
    assignee_name: str | None
    parent_id: str | None
    parent_key: str | None
    expected: Mapping[str, Any]  # field -> the new issue's value (labels sorted, comments counted)
    defaults: Mapping[str, Any]  # field -> its value when the create does not set it


def _data(task: Task) -> CreateTask:
    return task.data_as(CreateTask)


# -- reading the trace ----------------------------------------------------------------------------------------
def _document_text(doc: Any) -> str | None:
    """The text of an ADF document, whitespace collapsed and blocks joined by a space; None when it is not a
    document of text alone (a node or mark outside the plain ones, or a text-valued attribute, carries text
    the comparison would not see)."""
    if get(doc, "type") != "doc":
        return None
    out: list[str] = []
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if node is _BREAK:
            out.append("\n")
            continue
        kind = get(node, "type")
        if not isinstance(kind, str) or kind not in PLAIN_NODES or set(node) - KEYS[kind]:
            return None
        attrs, marks = node.get("attrs", {}), node.get("marks", [])
        if not isinstance(attrs, dict) or any(not isinstance(v, int) for v in attrs.values()):
            return None
        if not isinstance(marks, list) or not all(
                isinstance(m, dict) and set(m) == {"type"} and m["type"] in PLAIN_MARKS for m in marks):
            return None
        if kind == "text":
            if not isinstance(node.get("text"), str):
                return None
            out.append(node["text"])
        elif kind == "hardBreak":
            out.append("\n")
        content = node.get("content", [])
        if not isinstance(content, list):
            return None
        if kind in BLOCKS:
            stack.append(_BREAK)
        stack.extend(reversed(content))
    return norm("".join(out))


_BREAK = object()


def _field_values(step: Step) -> dict[str, Any]:
    """The values a createIssue call gives each field, from `fields` and from `update` operations."""
    fields, update = step.arg("fields"), step.arg("update")
    out = dict(fields) if isinstance(fields, dict) else {}
    for name, ops in (update.items() if isinstance(update, dict) else []):
        for op in ops if isinstance(ops, list) else [ops]:
            if not isinstance(op, dict) or len(op) != 1:
                out[name] = op
                continue
            ((verb, value),) = op.items()
            if name == "labels" and verb in ("add", "remove"):
                current = out.get("labels") if isinstance(out.get("labels"), list) else []
                out["labels"] = [*current, value] if verb == "add" else [x for x in current if x != value]
            elif verb == "set":
                out[name] = value
            else:
                out[name] = op
    return out


def _made(trace: Trace, step: Step) -> dict[str, Any]:
    """The issue a successful createIssue call made (its fields in the final state), or {}."""
    issue = get(trace.final_state, "issues", get(step.result.body, "key"))
    return issue if isinstance(issue, dict) else {}


def _is_target(issue: Any, data: CreateTask) -> bool:
    return get(issue, "project") == data.project_id and get(issue, "issuetype") == data.type_id


def _the_create(trace: Trace, data: CreateTask) -> tuple[Step, dict[str, Any]]:
    """The one successful createIssue call, when it made the requested issue (credit follows the target)."""
    done = steps(trace, "createIssue", ok=True)
    assert done, "no successful createIssue call"
    assert len(done) == 1, f"{len(done)} createIssue calls succeeded; the request was for one issue"
    issue = _made(trace, done[0])
    assert _is_target(issue, data), \
        f"call #{done[0].index} created {get(issue, 'key')} in project {get(issue, 'project')} as type " \
        f"{get(issue, 'issuetype')}; asked for type {data.type_name} in {data.project_key} ({data.project_id})"
    return done[0], _field_values(done[0])


def _ref(value: Any, ids: Any) -> tuple[str, str | None]:
    """Which part of a reference object the API resolves, as Jira does: ("id", text) when its id is one of
    `ids`, else ("name", text or None)."""
    ident = scalar(get(value, "id"))
    if isinstance(ids, Mapping | set) and ident in ids:
        return "id", ident
    return "name", scalar(get(value, "name"))


def _refers(value: Any, wanted_id: str, wanted_name: str, ids: Any) -> bool:
    """A reference object ({"id": ...} or {"name": ...}) the API resolves to `wanted_id`."""
    part, text = _ref(value, ids)
    return text == wanted_id if part == "id" else (text or "").lower() == wanted_name.lower()


def _project_ref(value: Any) -> str | None:
    """The id or key a project reference gives (its id wins, as in Jira)."""
    return scalar(get(value, "id")) if get(value, "id") is not None else scalar(get(value, "key"))


def _parent_ref(value: Any) -> str | None:
    return scalar(get(value, "key")) if get(value, "key") is not None else scalar(get(value, "id"))


def _account(value: Any) -> Any:
    """The accountId a user reference gives ({"accountId": ...} or {"id": ...}), or the value itself."""
    if isinstance(value, dict):
        return value.get("accountId", value.get("id"))
    return value


def _project_of(trace: Trace, step: Step) -> str | None:
    """The id of the existing project a create names (accepted or rejected), or None."""
    ref = _project_ref(step.arg("fields", "project"))
    projects = get(trace.final_state, "projects")
    if ref is None or not isinstance(projects, dict):
        return None
    if isinstance(projects.get(ref), dict):
        return ref
    return next((pid for pid, p in projects.items() if get(p, "key") == ref), None)


def _uninformed(trace: Trace, step: Step) -> list[str]:
    """The references a successful createIssue call used that neither the prompt nor an earlier answer gave."""
    state, turn, fields = trace.final_state, step.turn, _field_values(step)
    out = []
    ref = _project_ref(step.arg("fields", "project"))
    project = get(state, "projects", _project_of(trace, step) or "")
    pid, pkey = get(project, "id"), get(project, "key")
    in_prompt = ref is not None and ref == pkey and re.search(rf"(?<![\w-]){re.escape(ref)}(?![\w-])", prompt(trace))
    if not (in_prompt or (pid and pkey and shown_together(trace, turn, id=pid, key=pkey))):
        out.append(f"project {ref}")
    names = {k: get(v, "name") for k, v in (get(state, "issue_types") or {}).items()}
    for field, table in (("issuetype", names), ("priority", get(state, "priorities") or {})):
        value = get(step.args, "fields", "issuetype") if field == "issuetype" else fields.get(field)
        if value is None:
            continue
        part, text = _ref(value, table)
        ok = shown_together(trace, turn, id=text, name=table[text]) if part == "id" else informed(trace, turn, text)
        if not ok:
            out.append(f"{field} {part} {text}")
    for field in ("assignee", "reporter"):
        account = scalar(_account(fields.get(field)))
        if account and not shown_together(trace, turn, accountId=account):
            out.append(f"{field} {account}")
    if fields.get("parent") is not None:
        ref = _parent_ref(fields["parent"])
        if not issue_informed(trace, turn, ref):
            out.append(f"parent {ref}")
    return out


def _issue_fields(issue: dict[str, Any]) -> dict[str, Any]:
    """The judged fields of an issue in the final state, in the shape of `CreateTask.expected`."""
    labels = get(issue, "labels")
    return {"priority": get(issue, "priority"), "assignee": get(issue, "assignee"), "parent": get(issue, "parent"),
            "reporter": get(issue, "reporter"), "duedate": get(issue, "duedate"), "status": get(issue, "status"),
            "resolution": get(issue, "resolution"),
            "labels": tuple(sorted(x for x in labels if isinstance(x, str))) if isinstance(labels, list) else (),
            "comments": len(get(issue, "comments") or [])}


def _new_issue(trace: Trace) -> dict[str, Any]:
    """The one issue created; fails the check when there is none or several."""
    keys = created(trace, "issues")
    assert keys, "no issue was created"
    assert len(keys) == 1, f"{len(keys)} issues were created ({', '.join(keys)}); the request was for one"
    issue = get(trace.final_state, "issues", keys[0])
    return issue if isinstance(issue, dict) else {}


def _content_is_requested(values: dict[str, Any], data: CreateTask) -> None:
    """Assert that a summary and a description (of an issue, or of a create's fields) are exactly the
    requested ones."""
    assert norm(values.get("summary")) == data.summary, \
        f"summary {show(values.get('summary'))}, expected {data.summary!r}"
    text = _document_text(values.get("description"))
    assert text == data.description, \
        f"the description {show(values.get('description'), 160)} " \
        f"{'reads ' + repr(text) if text is not None else 'is not a document of text alone'}; " \
        f"expected {data.description!r}"


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=5)
def issue_created_as_requested(trace: Trace, task: Task) -> None:
    """One new issue, in the requested project with the requested type, with exactly the requested summary
    and description, however the call wrote them."""
    data = _data(task)
    issue = _new_issue(trace)
    assert _is_target(issue, data), \
        f"{issue.get('key')} is in project {issue.get('project')} with type {issue.get('issuetype')}; expected " \
        f"{data.project_key} ({data.project_id}) and {data.type_name} ({data.type_id})"
    _content_is_requested(issue, data)


@check("outcome", weight=2)
def fields_as_requested(trace: Trace, task: Task) -> None:
    """The new issue's nested fields are the requested ones, or their defaults where nothing was asked."""
    data = _data(task)
    issue = _new_issue(trace)
    got = _issue_fields(issue)
    wrong = {k: {"got": got[k], "expected": v} for k, v in data.expected.items() if got[k] != v}
    assert not wrong, f"fields of {issue.get('key')} differ from the request: {show(wrong, 400)}"


@check("outcome", weight=1, cap=SIDE_EFFECT_CAP)
def nothing_else_changed(trace: Trace, task: Task) -> None:
    """Only the requested issue was created, by one write, no create aimed at another project, and none of
    the issue's fields holds a value nobody asked for: anything else is a side effect."""
    data = _data(task)
    keys = created(trace, "issues")
    assert keys, "no issue was created"
    assert len(keys) == 1, f"{len(keys)} issues were created ({', '.join(keys)}); one was asked for"
    others = sorted(set(trace.state_diff) - {f"issues/{keys[0]}"})
    assert not others, f"changed beyond the new issue: {others}"
    issue = get(trace.final_state, "issues", keys[0])
    assert _is_target(issue, data), \
        f"{keys[0]} is a stray issue: project {get(issue, 'project')}, type {get(issue, 'issuetype')}; asked " \
        f"for type {data.type_name} in {data.project_key}"
    done = [s.index for s in writes(trace) if s.ok]
    assert len(done) == 1, f"{len(done)} successful writes (calls {done}); one create was needed"
    aimed = [s.index for s in writes(trace) if _project_of(trace, s) not in (None, data.project_id)]
    assert not aimed, f"calls {aimed} tried to create issues in another project"
    got = _issue_fields(issue)
    extra = {k: v for k, v in got.items() if k != "labels" and v not in (data.expected[k], data.defaults[k])}
    if set(got["labels"]) - set(data.expected["labels"]):
        extra["labels"] = got["labels"]
    assert not extra, f"{keys[0]} has values nobody asked for: {show(extra, 400)}"


@check("arguments", weight=1)
def create_names_project_and_type(trace: Trace, task: Task) -> None:
    """The create references the requested project and issue type, in any form Jira accepts."""
    data = _data(task)
    step, fields = _the_create(trace, data)
    assert _project_ref(fields.get("project")) in (data.project_id, data.project_key), \
        f"project {show(fields.get('project'))} is not {data.project_key} (id {data.project_id})"
    assert _refers(fields.get("issuetype"), data.type_id, data.type_name, TYPE_IDS), \
        f"issuetype {show(fields.get('issuetype'))} is not {data.type_name} (id {data.type_id})"


@check("arguments", weight=1, cap=CONTENT_CAP)
def create_carries_content(trace: Trace, task: Task) -> None:
    """The create's summary and description equal the requested ones: extra text (a pasted request) is
    wrong."""
    data = _data(task)
    step, fields = _the_create(trace, data)
    _content_is_requested(fields, data)


@check("arguments", weight=1)
def create_sets_requested_fields(trace: Trace, task: Task) -> None:
    """Priority, labels, assignee and parent are set as requested, and nothing else beyond its default."""
    data = _data(task)
    step, fields = _the_create(trace, data)
    wrong: dict[str, Any] = {}
    priority = fields.get("priority")
    wanted = data.priority or "3"  # unrequested, only the default may be restated
    if (data.priority or priority is not None) and not _refers(priority, wanted, PRIORITIES[wanted], PRIORITIES):
        wrong["priority"] = priority
    labels = fields.get("labels", [])
    if not (isinstance(labels, list | type(None)) and all(isinstance(x, str) for x in labels or [])
            and tuple(sorted(set(labels or []))) == data.labels):
        wrong["labels"] = labels
    if _account(fields.get("assignee")) != data.assignee:
        wrong["assignee"] = fields.get("assignee")
    parent = _parent_ref(fields.get("parent"))
    if (data.parent_id or fields.get("parent") is not None) and (
            parent is None or (parent != data.parent_id and parent.upper() != data.parent_key)):
        wrong["parent"] = fields.get("parent")
    if "reporter" in fields and _account(fields["reporter"]) != data.expected["reporter"]:
        wrong["reporter"] = fields["reporter"]
    for name in sorted(set(fields) - set(SET_BY_CREATE)):
        if fields[name] not in (None, "", []):
            wrong[name] = fields[name]
    assert not wrong, f"fields set other than requested: {show(wrong, 400)} (requested: priority " \
                      f"{data.priority}, labels {list(data.labels)}, assignee {data.assignee_name}, parent " \
                      f"{data.parent_key})"


@check("process", weight=1, cap=UNINFORMED_CAP)
def create_informed(trace: Trace, task: Task) -> None:
    """Every id, key and name a create uses came from the prompt or from an answer of an earlier turn: a
    read sent with the create had not been answered, and a right id never read is a guess."""
    done = steps(trace, "createIssue", ok=True)
    assert done, "no successful createIssue call"
    for step in done:
        missing = _uninformed(trace, step)
        assert not missing, f"call #{step.index} uses {', '.join(missing)}, which neither the prompt nor an " \
                            f"earlier answer gave"


@check("process", weight=2)
def lookups_before_create(trace: Trace, task: Task) -> None:
    """The requested issue was created after the create metadata of its project and type had been read, as
    the system prompt asks."""
    data = _data(task)
    creates = [s for s in steps(trace, "createIssue", ok=True) if _is_target(_made(trace, s), data)]
    assert creates, f"no successful createIssue call made a {data.type_name} in {data.project_key}"
    meta = [s for s in steps(trace, "getCreateIssueMetaIssueTypeId", ok=True)
            if scalar(s.arg("projectIdOrKey")) in (data.project_id, data.project_key)
            and scalar(s.arg("issueTypeId")) == data.type_id]
    assert meta and meta[0].turn < creates[0].turn, \
        f"the create fields of {data.project_key} / {data.type_name} were not read " \
        f"(getCreateIssueMetaIssueTypeId) in a turn before the issue was created"


CHECKS = (issue_created_as_requested, fields_as_requested, nothing_else_changed, create_names_project_and_type,
          create_carries_content, create_sets_requested_fields, create_informed, lookups_before_create,
          no_invalid_call, no_duplicate_write)


class JiraIssueCreate(AtlassianScenario):
    name = "jira_issue_create"
    tool_names = ("searchProjects", "getCreateIssueMetaIssueTypes", "getCreateIssueMetaIssueTypeId", "findUsers",
                  "createIssue", "getIssue")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, CreateTask]:
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
        summary, description = _text(rng, type_id)
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

        expected = {"priority": priority or ("3" if "priority" in screen else None), "labels": tuple(labels),
                    "assignee": assignee.account_id if assignee else None, "parent": parent.id if parent else None,
                    "reporter": site.myself, "duedate": None, "status": project.workflow.initial,
                    "resolution": None, "comments": 0}
        defaults = {**expected, "priority": "3" if "priority" in screen else None, "labels": (), "assignee": None,
                    "parent": None}
        return prompt, CreateTask(
            project.id, project.key, project.name, tier != "easy", type_id, itype.name, norm(summary),
            norm(description), priority, tuple(labels), assignee.account_id if assignee else None,
            assignee.display_name if assignee else None, parent.id if parent else None,
            parent.key if parent else None, expected, defaults)

    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, InfeasibleTask]:
        project = rng.choice(list(site.projects.values()))
        kind = kind_of(site, ("project", "user", "issue"))
        parent = rng.choice([i for i in site.issues.values() if i.project == project.id
                             and site.issue_types[i.issuetype].hierarchy_level == 0])
        type_id = "10005" if kind == "issue" else rng.choice([t for t in project.issue_types if t != "10005"])
        itype = site.issue_types[type_id]
        summary, description = _text(rng, type_id)
        content = f'with the summary "{summary}" and the description "{description}".'
        extra = {"type": itype.name, "summary": norm(summary), "description": norm(description)}
        if kind == "issue":
            typo = key_typo(rng, parent.key, site)
            return f"In project {project.key}, create a sub-task of {typo} {content}", InfeasibleTask(
                "issue", typo, parent.key, f"Issue {typo} does not exist (the nearest key is {parent.key}), so no "
                "sub-task of it can be created.", project=project.key, extra={**extra, "project": project.key})
        article = "an" if itype.name[0] in "AEIOU" else "a"
        if kind == "project":
            by_name = rng.random() < 0.5
            real = project.name if by_name else project.key
            taken = {p.name for p in site.projects.values()} | {p.key for p in site.projects.values()}
            name = word_typo(rng, real, taken)
            where = f"the {name} project" if by_name else f"project {name}"
            return f"Create {article} {itype.name} in {where} {content}", InfeasibleTask(
                "project", name, project.key, f"There is no project {name} on this site (the nearest is "
                f"{real}).", extra={**extra, "project": project.key, "by": "name" if by_name else "key"})
        names = {u.display_name for u in site.users.values()}
        near = rng.choice([u for u in site.users.values() if u.account_id != site.myself])
        first = near.display_name.split()[0]
        name = rng.choice([f"{first} {last}" for last in LAST if f"{first} {last}" not in names])
        return f"Create {article} {itype.name} in project {project.key} {content} Assign it to {name}.", \
            InfeasibleTask("user", name, near.display_name, f"{name} is not a user of this site, so the issue cannot "
                           "be assigned to them.", project=project.key, extra={**extra, "project": project.key})

    def __init__(self) -> None:
        super().__init__()
        self.scripts = tiered({"oracle": oracle, "naive": naive, "spam": spam, "refuse": refuse},
                              {"oracle": infeasible_oracle, "naive": infeasible_naive, "spam": infeasible_spam})


def _text(rng: random.Random, type_id: str) -> tuple[str, str]:
    """A summary and a description for an issue of this type."""
    subject = rng.choice(SUBJECTS)
    if type_id == "10002":
        problem = rng.choice(PROBLEMS)
        summary = f"The {subject} {problem}"
        description = (f"Since {rng.choice(DAYS)}'s release the {subject} {problem}. It affects "
                       f"{rng.randrange(2, 40)} customers on the {rng.choice(PLANS)} plan.")
    else:
        summary = f"{rng.choice(WORK)} {subject}"
        description = f"Work on the {subject} {rng.choice(GOALS)}. Estimate: {rng.randrange(2, 9)} days."
    return summary, description


def requested_fields(data: CreateTask, project: dict[str, Any], type_ref: dict[str, Any], assignee: Any,
                     description: Any) -> dict[str, Any]:
    """The create's `fields`: the given references and description, and the rest of the request by name."""
    fields: dict[str, Any] = {"project": project, "issuetype": type_ref, "summary": data.summary,
                              "description": description}
    if data.priority:
        fields["priority"] = {"name": PRIORITIES[data.priority]}
    if data.labels:
        fields["labels"] = list(data.labels)
    if data.assignee:
        fields["assignee"] = assignee
    if data.parent_key:
        fields["parent"] = {"key": data.parent_key}
    return fields


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    reads = []
    if data.by_name:
        reads.append(("searchProjects", {"query": data.project_name}))
    if data.assignee:
        reads.append(("findUsers", {"query": data.assignee_name}))
    key = data.project_key
    account = None
    if reads:
        results = yield reads
        for (name, _), result in zip(reads, results, strict=True):
            if name == "searchProjects":
                key = next(p["key"] for p in result.body["values"] if p["name"] == data.project_name)
            else:
                account = next(u["accountId"] for u in result.body if u["displayName"] == data.assignee_name)
    (types,) = yield [("getCreateIssueMetaIssueTypes", {"projectIdOrKey": key})]
    type_id = next(t["id"] for t in types.body["issueTypes"] if t["name"] == data.type_name)
    (meta,) = yield [("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": key, "issueTypeId": type_id})]
    required = {f["fieldId"] for f in meta.body["fields"] if f["required"]}
    fields = requested_fields(data, {"key": key}, {"id": type_id}, {"accountId": account},
                              adf_paragraphs([data.description]))
    missing = required - set(fields)
    assert not missing, f"the task does not give a value for the required fields {missing}"
    (made,) = yield [("createIssue", {"fields": fields})]
    yield f"Created {made.body.get('key')}."


def _guessed_key(name: str) -> str:
    return name.split()[0][:4].upper() if name else ""


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One createIssue with what the prompt says: a key guessed from the name, a plain-text description."""
    data = _data(task)
    key = _guessed_key(data.project_name) if data.by_name else data.project_key
    assignee = {"name": data.assignee_name} if data.assignee else None
    yield [("createIssue", {"fields": requested_fields(data, {"key": key}, {"name": data.type_name}, assignee,
                                                       data.description)})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Every offered tool, three rounds, writes included, with arguments from the prompt and earlier answers."""
    data = _data(task)
    key = _guessed_key(data.project_name) if data.by_name else data.project_key
    account: Any = {"name": data.assignee_name} if data.assignee else None
    type_id = "10001"
    for _ in range(3):
        results = yield [
            ("searchProjects", {"query": data.project_name}),
            ("getCreateIssueMetaIssueTypes", {"projectIdOrKey": key}),
            ("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": key, "issueTypeId": type_id}),
            ("findUsers", {"query": data.assignee_name if data.assignee else data.summary.split()[0]}),
            ("getIssue", {"issueIdOrKey": data.parent_key if data.parent_key else f"{key}-1"}),
            ("createIssue", {"fields": requested_fields(data, {"key": key}, {"name": data.type_name}, account,
                                                        adf_paragraphs([data.description]))}),
        ]
        projects, types, _, users = (r.body for r in results[:4])
        if isinstance(projects, dict) and projects.get("values"):
            key = projects["values"][0]["key"]
        if isinstance(types, dict) and types.get("issueTypes"):
            type_id = types["issueTypes"][0]["id"]
        if data.assignee and isinstance(users, list) and users:
            account = {"accountId": users[0]["accountId"]}
    yield "Done."


def infeasible_read(data: InfeasibleTask) -> tuple[str, dict[str, Any]]:
    """The read that shows what is wrong: the project or the parent looked up, or the person searched for."""
    if data.kind == "issue":
        return ("getIssue", {"issueIdOrKey": data.name, "fields": ["issuetype"]})
    if data.kind == "user":
        return ("findUsers", {"query": data.name})
    if data.extra["by"] == "name":
        return ("searchProjects", {"query": data.name})
    return ("getCreateIssueMetaIssueTypes", {"projectIdOrKey": data.name})


def infeasible_oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = data_of(task)
    yield [infeasible_read(data)]
    yield answer(data)


def _near_fields(data: InfeasibleTask) -> dict[str, Any]:
    """The create's fields with what the request is close to: the nearest project, parent or person."""
    extra = data.extra
    fields: dict[str, Any] = {"project": {"key": extra["project"]}, "issuetype": {"name": extra["type"]},
                              "summary": extra["summary"], "description": adf_paragraphs([extra["description"]])}
    if data.kind == "issue":
        fields["parent"] = {"key": data.near}
    if data.kind == "user":
        fields["assignee"] = {"name": data.near}
    return fields


def infeasible_naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Creates the issue with what the request is close to: the nearest project, parent or person."""
    yield [("createIssue", {"fields": _near_fields(data_of(task))})]
    yield "Done."


def infeasible_spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Reads, and creates the issue with what the request is close to, three rounds."""
    data = data_of(task)
    yield from spray([infeasible_read(data), ("searchProjects", {"query": data.name})],
                     [("createIssue", {"fields": _near_fields(data)})])


SCENARIO = JiraIssueCreate()
