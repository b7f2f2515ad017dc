"""Jira Cloud REST v3 handlers: (site, request) -> response, with Jira's codes and ErrorCollection bodies."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from . import jql
from .documents import adf_errors, adf_text
from .generate import field_values
from .http import ApiError, Request, Response, jira_error, url
from .site import Comment, Issue, Project, Site, Transition

API = "/rest/api/3"
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
FIELD_NAMES = {"project": "Project", "issuetype": "Issue Type", "summary": "Summary", "description": "Description",
               "priority": "Priority", "labels": "Labels", "assignee": "Assignee", "reporter": "Reporter",
               "duedate": "Due date", "parent": "Parent", "resolution": "Resolution"}
FIELD_SCHEMAS = {"project": {"type": "project", "system": "project"},
                 "issuetype": {"type": "issuetype", "system": "issuetype"},
                 "summary": {"type": "string", "system": "summary"},
                 "description": {"type": "string", "system": "description"},
                 "priority": {"type": "priority", "system": "priority"},
                 "labels": {"type": "array", "items": "string", "system": "labels"},
                 "assignee": {"type": "user", "system": "assignee"},
                 "reporter": {"type": "user", "system": "reporter"},
                 "duedate": {"type": "date", "system": "duedate"},
                 "parent": {"type": "issuelink", "system": "parent"},
                 "resolution": {"type": "resolution", "system": "resolution"}}
OPERATIONS = {"labels": ["add", "set", "remove"], "comment": ["add"]}
NAVIGABLE = ["summary", "status", "issuetype", "project", "priority", "labels", "assignee", "reporter", "created",
             "updated", "resolution", "resolutiondate", "duedate", "parent", "subtasks", "description"]
ALL_FIELDS = [*NAVIGABLE, "comment"]


# -- representations -----------------------------------------------------------------------------------------
def user_json(site: Site, account_id: str | None) -> dict[str, Any] | None:
    if account_id is None or account_id not in site.users:
        return None
    u = site.users[account_id]
    return {"self": url(f"{API}/user?accountId={u.account_id}"), "accountId": u.account_id,
            "accountType": "atlassian", "emailAddress": u.email, "displayName": u.display_name,
            "active": u.active, "timeZone": u.time_zone}


def status_json(site: Site, status_id: str) -> dict[str, Any]:
    s = site.statuses[status_id]
    cat = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow"),
           "done": (3, "Done", "green")}[s.category]
    return {"self": url(f"{API}/status/{s.id}"), "description": "", "iconUrl": url("/images/status.png"),
            "name": s.name, "id": s.id, "statusCategory": {"self": url(f"{API}/statuscategory/{cat[0]}"),
                                                           "id": cat[0], "key": s.category, "colorName": cat[2],
                                                           "name": cat[1]}}


def issuetype_json(site: Site, type_id: str) -> dict[str, Any]:
    t = site.issue_types[type_id]
    return {"self": url(f"{API}/issuetype/{t.id}"), "id": t.id, "description": t.description,
            "iconUrl": url(f"/images/issuetypes/{t.id}.png"), "name": t.name, "subtask": t.subtask,
            "hierarchyLevel": t.hierarchy_level}


def project_ref(p: Project) -> dict[str, Any]:
    return {"self": url(f"{API}/project/{p.id}"), "id": p.id, "key": p.key, "name": p.name,
            "projectTypeKey": p.type_key, "simplified": False}


def priority_json(site: Site, pid: str | None) -> dict[str, Any] | None:
    if pid is None:
        return None
    return {"self": url(f"{API}/priority/{pid}"), "iconUrl": url(f"/images/priorities/{pid}.svg"),
            "name": site.priorities[pid], "id": pid}


def resolution_json(site: Site, rid: str | None) -> dict[str, Any] | None:
    if rid is None:
        return None
    return {"self": url(f"{API}/resolution/{rid}"), "id": rid, "description": "", "name": site.resolutions[rid]}


def comment_json(site: Site, issue: Issue, c: Comment) -> dict[str, Any]:
    author = user_json(site, c.author)
    return {"self": url(f"{API}/issue/{issue.id}/comment/{c.id}"), "id": c.id, "author": author,
            "body": c.body, "updateAuthor": author, "created": c.created, "updated": c.updated,
            "jsdPublic": True}


def issue_ref(site: Site, issue: Issue) -> dict[str, Any]:
    return {"id": issue.id, "key": issue.key, "self": url(f"{API}/issue/{issue.id}"),
            "fields": {"summary": issue.summary, "status": status_json(site, issue.status),
                       "priority": priority_json(site, issue.priority),
                       "issuetype": issuetype_json(site, issue.issuetype)}}


def field_json(site: Site, issue: Issue, name: str) -> Any:
    match name:
        case "summary" | "created" | "updated" | "labels" | "duedate" | "resolutiondate":
            return getattr(issue, name)
        case "description":
            return issue.description
        case "status":
            return status_json(site, issue.status)
        case "issuetype":
            return issuetype_json(site, issue.issuetype)
        case "project":
            return project_ref(site.projects[issue.project])
        case "priority":
            return priority_json(site, issue.priority)
        case "assignee" | "reporter":
            return user_json(site, getattr(issue, name))
        case "resolution":
            return resolution_json(site, issue.resolution)
        case "parent":
            parent = site.issues.get(issue.parent or "")
            return issue_ref(site, parent) if parent else None
        case "subtasks":
            return [issue_ref(site, i) for i in site.issues.values() if i.parent == issue.id]
        case "comment":
            comments = [comment_json(site, issue, c) for c in issue.comments]
            return {"comments": comments, "self": url(f"{API}/issue/{issue.id}/comment"),
                    "maxResults": len(comments), "total": len(comments), "startAt": 0}
    return None


def wanted_fields(requested: list[str] | None, default: list[str]) -> list[str]:
    """Jira's `fields` parameter: names, `*all`, `*navigable`, and `-name` exclusions."""
    if not requested:
        return list(default)
    names = [n.strip() for part in requested for n in str(part).split(",") if n.strip()]
    chosen: list[str] = []
    for n in names:
        if n == "*all":
            chosen += ALL_FIELDS
        elif n == "*navigable":
            chosen += NAVIGABLE
        elif not n.startswith("-"):
            chosen.append(n)
    if not chosen and any(n.startswith("-") for n in names):
        chosen = list(default)
    excluded = {n[1:] for n in names if n.startswith("-")}
    return [n for n in dict.fromkeys(chosen) if n not in excluded]


def issue_json(site: Site, issue: Issue, fields: list[str], expand: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"expand": "renderedFields,names,schema,operations,editmeta,changelog",
                           "id": issue.id, "self": url(f"{API}/issue/{issue.id}"), "key": issue.key}
    out["fields"] = {n: field_json(site, issue, n) for n in fields if n in ALL_FIELDS}
    if "transitions" in expand:
        out["transitions"] = [transition_json(site, issue, t, False) for t in available(site, issue)]
    if "names" in expand:
        out["names"] = {n: FIELD_NAMES.get(n, n.capitalize()) for n in out["fields"]}
    return out


# -- lookups that answer errors ------------------------------------------------------------------------------
def find_issue(site: Site, req: Request) -> Issue:
    issue = site.issue(req.params["issueIdOrKey"])
    if issue is None:
        raise jira_error(404, NOT_FOUND)
    return issue


def find_project(site: Site, id_or_key: str) -> Project:
    project = site.project(id_or_key)
    if project is None:
        kind = "id" if id_or_key.isdigit() else "key"
        raise jira_error(404, f"No project could be found with {kind} '{id_or_key}'.")
    return project


def ref_value(value: Any, table: dict[str, str]) -> str | None:
    """The id a reference object ({"id": ...} or {"name": ...}) points to in an id -> name table."""
    if not isinstance(value, dict):
        return None
    if "id" in value and str(value["id"]) in table:
        return str(value["id"])
    if "name" in value:
        return next((i for i, n in table.items() if n.lower() == str(value["name"]).lower()), None)
    return None


def user_value(site: Site, value: Any) -> tuple[bool, str | None]:
    """(valid, account id) for a user reference: {"accountId": ...}, {"id": ...}, or null."""
    if value is None:
        return True, None
    if isinstance(value, dict):
        account = value.get("accountId", value.get("id"))
        if isinstance(account, str) and account in site.users:
            return True, account
    return False, None


# -- field values --------------------------------------------------------------------------------------------
def set_field(site: Site, issue: Issue, name: str, value: Any, errors: dict[str, str]) -> None:
    """Validate one field value and apply it to `issue` (a scratch copy: callers commit only without errors)."""
    match name:
        case "summary":
            if not isinstance(value, str) or not value.strip():
                errors[name] = "You must specify a summary of the issue."
            elif "\n" in value or "\r" in value:
                errors[name] = "The summary is invalid because it contains newline characters."
            elif len(value) > 255:
                errors[name] = "Summary must be less than 255 characters."
            else:
                issue.summary = value
        case "description":
            problem = None if value is None else adf_errors(value)
            if problem:
                errors[name] = f"Operation value must be an Atlassian Document (see the Atlassian Document " \
                               f"Format): {problem}"
            else:
                issue.description = value
        case "priority":
            pid = ref_value(value, site.priorities)
            if pid is None:
                errors[name] = "Specify a valid priority id or name."
            else:
                issue.priority = pid
        case "labels":
            problem = label_problem(value)
            if problem:
                errors[name] = problem
            else:
                issue.labels = sorted(dict.fromkeys(value))
        case "assignee" | "reporter":
            ok, account = user_value(site, value)
            if not ok:
                errors[name] = f"Specify a valid value for {name}: user not found."
            elif name == "reporter" and account is None:
                errors[name] = "Reporter is required."
            else:
                setattr(issue, name, account)
        case "duedate":
            if value is not None and not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value)):
                errors[name] = f"Error parsing date string: {value}"
            else:
                issue.duedate = value
        case "parent":
            set_parent(site, issue, value, errors)
        case "resolution":
            rid = ref_value(value, site.resolutions)
            if rid is None:
                errors[name] = "Specify a valid resolution id or name."
            else:
                issue.resolution = rid


def label_problem(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "The labels field must be a list of strings."
    for label in value:
        if not label or " " in label:
            return f"The label '{label}' contains spaces which is invalid."
        if len(label) > 255:
            return "The label is too long: labels must be 255 characters or fewer."
    return None


def set_parent(site: Site, issue: Issue, value: Any, errors: dict[str, str]) -> None:
    ref = value.get("key", value.get("id")) if isinstance(value, dict) else None
    parent = site.issue(str(ref)) if isinstance(ref, str | int) else None
    if parent is None:
        errors["parent"] = "Could not find issue by id or key."
        return
    child_type = site.issue_types[issue.issuetype]
    parent_type = site.issue_types[parent.issuetype]
    if parent.project != issue.project:
        errors["project"] = "Sub-tasks must be created in the same project as the parent."
    elif parent_type.hierarchy_level != child_type.hierarchy_level + 1:
        errors["parent"] = "Given parent work item does not belong to appropriate hierarchy."
    else:
        issue.parent = parent.id


def apply_update(site: Site, issue: Issue, update: Any, screen: set[str], errors: dict[str, str],
                 comments: list[dict[str, Any]]) -> None:
    """Jira's `update` operations: labels add/set/remove, `set` on any screen field, comment add."""
    if not isinstance(update, dict):
        errors["update"] = "The update must be an object of field -> list of operations."
        return
    for name, ops in update.items():
        if name != "comment" and name not in screen:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            continue
        if not isinstance(ops, list):
            errors[name] = f"The operations for field '{name}' must be a list."
            continue
        for op in ops:
            verb = next(iter(op), None) if isinstance(op, dict) and len(op) == 1 else None
            allowed = OPERATIONS.get(name, ["set"])
            if verb not in allowed:
                errors[name] = f"Field '{name}' does not support operation '{verb}'. Supported: {allowed}."
                break
            arg = op[verb]
            if name == "comment":
                body = arg.get("body") if isinstance(arg, dict) else None
                problem = adf_errors(body)
                if problem:
                    errors["comment"] = f"Comment body is not valid! {problem}"
                else:
                    comments.append(body)
            elif name == "labels" and verb != "set":
                if not isinstance(arg, str) or label_problem([arg]):
                    errors[name] = label_problem([arg]) or "A label must be a string."
                elif verb == "add" and arg not in issue.labels:
                    issue.labels = sorted([*issue.labels, arg])
                elif verb == "remove":
                    issue.labels = [label for label in issue.labels if label != arg]
            else:
                set_field(site, issue, name, arg, errors)


def apply_fields(site: Site, issue: Issue, fields: Any, screen: set[str], errors: dict[str, str],
                 skip: tuple[str, ...] = ()) -> None:
    if not isinstance(fields, dict):
        errors["fields"] = "The fields must be an object of field id -> value."
        return
    for name, value in fields.items():
        if name in skip:
            continue
        if name not in screen:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        else:
            set_field(site, issue, name, value, errors)


def both_ways(body: dict[str, Any]) -> None:
    fields, update = body.get("fields"), body.get("update")
    if isinstance(fields, dict) and isinstance(update, dict):
        for name in set(fields) & set(update):
            raise jira_error(400, errors={name: f"Field '{name}' cannot be set in both 'fields' and 'update'."})


def add_comments(site: Site, issue: Issue, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        when = site.tick()
        issue.comments.append(Comment(next_comment_id(site), site.myself, body, when, when))


def next_comment_id(site: Site) -> str:
    return str(max([20000, *(int(c.id) for i in site.issues.values() for c in i.comments)]) + 1)


# -- handlers ------------------------------------------------------------------------------------------------
def create_issue(site: Site, req: Request) -> Response:
    body = req.body
    both_ways(body)
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise jira_error(400, errors={"fields": "The fields must be an object of field id -> value."})
    errors: dict[str, str] = {}
    pref = fields.get("project")
    raw = pref.get("id", pref.get("key")) if isinstance(pref, dict) else None
    project = site.project(str(raw)) if isinstance(raw, str | int) else None
    if project is None:
        raise jira_error(400, errors={"project": "Specify a valid project ID or key"})
    tref = fields.get("issuetype")
    type_names = {t: site.issue_types[t].name for t in project.issue_types}
    type_id = ref_value(tref, type_names)
    if type_id is None:
        message = "Specify an issue type" if tref is None else "The issue type selected is invalid."
        raise jira_error(400, errors={"issuetype": message})
    screen_fields = project.screens[type_id]
    screen = {f.id for f in screen_fields}
    when = site.clock
    issue = Issue(id="", key="", project=project.id, issuetype=type_id, summary="",
                  status=project.workflow.initial, priority=None, reporter=site.myself, created=when,
                  updated=when)
    comments: list[dict[str, Any]] = []
    apply_fields(site, issue, fields, screen, errors, skip=("project", "issuetype"))
    if "update" in body and body["update"] is not None:
        apply_update(site, issue, body["update"], screen, errors, comments)
    given = set(fields) | set(body.get("update") or {})
    for f in screen_fields:
        if f.required and f.id not in given and f.id not in errors:
            errors[f.id] = ("You must specify a summary of the issue." if f.id == "summary"
                            else f"{FIELD_NAMES.get(f.id, f.id)} is required.")
    if "priority" in screen and issue.priority is None and "priority" not in errors:
        issue.priority = "3"  # the default priority scheme's default
    if errors:
        raise jira_error(400, errors=errors)
    issue.id = str(max([10000, *(int(i) for i in site.issues)]) + 1)
    issue.key = f"{project.key}-{project.next_number}"
    project.next_number += 1
    issue.created = issue.updated = site.tick()
    site.issues[issue.id] = issue
    add_comments(site, issue, comments)
    return Response(201, {"id": issue.id, "key": issue.key, "self": url(f"{API}/issue/{issue.id}")})


def get_issue(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    fields = wanted_fields(req.query.get("fields"), ALL_FIELDS)
    return Response(200, issue_json(site, issue, fields, req.query.get("expand", "")))


def edit_issue(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    body = req.body
    both_ways(body)
    project = site.projects[issue.project]
    screen = {f.id for f in project.screens[issue.issuetype]} - {"project", "issuetype"}
    draft = Issue(**{**issue.__dict__, "labels": list(issue.labels)})
    errors: dict[str, str] = {}
    comments: list[dict[str, Any]] = []
    if body.get("fields") is not None:
        apply_fields(site, draft, body["fields"], screen, errors)
    if body.get("update") is not None:
        apply_update(site, draft, body["update"], screen, errors, comments)
    if errors:
        raise jira_error(400, errors=errors)
    if draft.__dict__ != issue.__dict__ or comments:
        draft.updated = site.tick()
        site.issues[issue.id] = draft
        add_comments(site, draft, comments)
    if req.query.get("returnIssue"):
        return Response(200, issue_json(site, draft, ALL_FIELDS))
    return Response(204)


def search(site: Site, req: Request) -> Response:
    params = req.body if req.method == "POST" else req.query
    text = params.get("jql") or ""
    max_results = params.get("maxResults", 50)
    if not isinstance(max_results, int) or max_results < 0:
        raise jira_error(400, "The maxResults parameter must be a non-negative integer.")
    start = 0
    token = params.get("nextPageToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
        except (ValueError, UnicodeError):
            raise jira_error(400, "Invalid format of nextPageToken") from None
    views = [jql_view(site, i) for i in site.issues.values()]
    try:
        found = jql.search(text, views, known_values=field_values(site), current_user=site.myself)
    except jql.JqlError as exc:
        raise jira_error(400, str(exc)) from None
    fields = wanted_fields(params.get("fields"), [])
    limit = min(max_results or 50, 5000 if set(fields) <= {"id", "key"} else 100)
    page = found[start:start + limit]
    issues = []
    for view in page:
        issue = site.issues[view["id"]]
        if fields:
            issues.append(issue_json(site, issue, fields))
        else:
            issues.append({"id": issue.id})
    out: dict[str, Any] = {"issues": issues, "isLast": start + limit >= len(found)}
    if not out["isLast"]:
        out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
    return Response(200, out)


class JqlView(dict):  # type: ignore[type-arg]
    """An issue as the JQL evaluator reads it: field -> value or aliases. The text fields (walks of ADF
    documents) are worked out the first time a query reads them, as most queries never do."""

    TEXTS = frozenset({"description", "comment", "text"})

    def __init__(self, issue: Issue, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.issue = issue

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.TEXTS and not dict.__contains__(self, key):
            self._texts()
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        if key in self.TEXTS and not dict.__contains__(self, key):
            self._texts()
        return dict.__getitem__(self, key)

    def _texts(self) -> None:
        issue = self.issue
        comments = "\n".join(adf_text(c.body) for c in issue.comments)
        description = adf_text(issue.description) if issue.description else ""
        self.update(description=description or None, comment=comments or None,
                    text="\n".join([issue.summary, description, comments]))


def jql_view(site: Site, issue: Issue) -> dict[str, Any]:
    """An issue as the JQL evaluator reads it: field -> value or aliases."""
    project = site.projects[issue.project]
    status = site.statuses[issue.status]
    users = lambda a: [a, site.users[a].display_name, site.users[a].email] if a else None  # noqa: E731
    parent = site.issues.get(issue.parent or "")
    return JqlView(issue, {
        "id": issue.id, "key": issue.key, "project": [project.key, project.id, project.name],
        "status": [status.name, status.id], "statuscategory": [status.category, {
            "new": "To Do", "indeterminate": "In Progress", "done": "Done"}[status.category]],
        "issuetype": [site.issue_types[issue.issuetype].name, issue.issuetype],
        "priority": [site.priorities[issue.priority], issue.priority] if issue.priority else None,
        "resolution": [site.resolutions[issue.resolution], issue.resolution] if issue.resolution else None,
        "assignee": users(issue.assignee), "reporter": users(issue.reporter),
        "labels": list(issue.labels) or None, "summary": issue.summary,
        "parent": [parent.key, parent.id] if parent else None, "created": issue.created,
        "updated": issue.updated, "duedate": issue.duedate,
    })


def available(site: Site, issue: Issue) -> list[Transition]:
    """Transitions from the issue's current status (global ones included), never to the status it is in."""
    return [t for t in site.projects[issue.project].workflow.transitions
            if (not t.sources or issue.status in t.sources) and t.to != issue.status]


def transition_json(site: Site, issue: Issue, t: Transition, with_fields: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.id, "name": t.name, "to": status_json(site, t.to),
                           "hasScreen": bool(t.screen), "isGlobal": not t.sources, "isInitial": False,
                           "isAvailable": True, "isConditional": False, "isLooped": False}
    if with_fields:
        out["fields"] = {f: field_meta(site, f, f in t.required) for f in t.screen}
    return out


def field_meta(site: Site, name: str, required: bool, with_id: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"required": required, "schema": FIELD_SCHEMAS[name],
                            "name": FIELD_NAMES[name], "key": name,
                            "operations": OPERATIONS.get(name, ["set"]), "hasDefaultValue": name == "priority"}
    if with_id:
        meta = {"fieldId": name, **meta}
    if name == "resolution":
        meta["allowedValues"] = [resolution_json(site, r) for r in site.resolutions]
    if name == "priority":
        meta["allowedValues"] = [priority_json(site, p) for p in site.priorities]
        meta["defaultValue"] = priority_json(site, "3")
    return meta


def get_transitions(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    with_fields = "transitions.fields" in str(req.query.get("expand", ""))
    wanted = req.query.get("transitionId")
    ts = [transition_json(site, issue, t, with_fields) for t in available(site, issue)
          if wanted is None or t.id == str(wanted)]
    return Response(200, {"expand": "transitions", "transitions": ts})


def do_transition(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    body = req.body
    both_ways(body)
    ref = body.get("transition")
    tid = ref.get("id") if isinstance(ref, dict) else None
    if tid is None:
        raise jira_error(400, "Missing 'transition' identifier")
    t = next((t for t in available(site, issue) if t.id == str(tid)), None)
    if t is None:
        raise jira_error(400, f"Transition id '{tid}' is not valid for this issue.")
    draft = Issue(**{**issue.__dict__, "labels": list(issue.labels)})
    errors: dict[str, str] = {}
    comments: list[dict[str, Any]] = []
    screen = set(t.screen)
    if body.get("fields") is not None:
        apply_fields(site, draft, body["fields"], screen, errors)
    if body.get("update") is not None:
        apply_update(site, draft, body["update"], screen, errors, comments)
    given = set(body.get("fields") or {}) | set(body.get("update") or {})
    for f in t.required:
        if f not in given and f not in errors:
            errors[f] = f"{FIELD_NAMES[f]} is required."
    if errors:
        raise jira_error(400, errors=errors)
    draft.status = t.to
    draft.updated = site.tick()
    if site.statuses[t.to].category == "done":
        draft.resolution = draft.resolution or "10000"
        draft.resolutiondate = draft.updated
    else:  # leaving done clears the resolution, as Jira's default workflows do
        draft.resolution = draft.resolutiondate = None
    site.issues[issue.id] = draft
    add_comments(site, draft, comments)
    return Response(204)


def get_comments(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    start, limit = req.query.get("startAt", 0), req.query.get("maxResults", 100)
    comments = list(issue.comments)
    if req.query.get("orderBy") == "-created":
        comments.reverse()
    page = comments[start:start + limit]
    return Response(200, {"comments": [comment_json(site, issue, c) for c in page], "maxResults": limit,
                          "startAt": start, "total": len(comments)})


def add_comment(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    body = req.body.get("body")
    if body is None or body == "":
        raise jira_error(400, errors={"comment": "Comment body can not be empty!"})
    problem = adf_errors(body)
    if problem:
        raise jira_error(400, errors={"comment": f"Comment body is not valid! {problem}"})
    if len(adf_text(body)) > 32767:
        raise jira_error(400, errors={"comment": "The entered text is too long. It exceeds the allowed limit "
                                                 "of 32767 characters."})
    add_comments(site, issue, [body])
    issue.updated = site.clock
    return Response(201, comment_json(site, issue, issue.comments[-1]))


def project_json(site: Site, p: Project) -> dict[str, Any]:
    return {**project_ref(p), "description": p.description, "lead": user_json(site, p.lead),
            "issueTypes": [{**issuetype_json(site, t), "avatarId": 10300 + int(t) % 100} for t in p.issue_types],
            "assigneeType": "UNASSIGNED", "style": "classic", "isPrivate": False}


def get_project(site: Site, req: Request) -> Response:
    return Response(200, project_json(site, find_project(site, req.params["projectIdOrKey"])))


def search_projects(site: Site, req: Request) -> Response:
    q = req.query
    start, limit = q.get("startAt", 0), q.get("maxResults", 50)
    found = list(site.projects.values())
    if q.get("keys"):
        found = [p for p in found if p.key in q["keys"]]
    if q.get("query"):
        needle = str(q["query"]).lower()
        found = [p for p in found if needle in p.key.lower() or needle in p.name.lower()]
    found.sort(key=lambda p: p.key)
    page = found[start:start + limit]
    return Response(200, {"self": url(f"{API}/project/search"), "maxResults": limit, "startAt": start,
                          "total": len(found), "isLast": start + limit >= len(found),
                          "values": [project_json(site, p) for p in page]})


def issue_types_for_project(site: Site, req: Request) -> Response:
    project = site.projects.get(str(req.query["projectId"]))
    if project is None:
        raise jira_error(404, f"No project could be found with id '{req.query['projectId']}'.")
    return Response(200, [{**issuetype_json(site, t), "scope": {"type": "PROJECT", "project": {"id": project.id}}}
                          for t in project.issue_types])


def createmeta_types(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    types = [issuetype_json(site, t) for t in project.issue_types]
    return Response(200, {"issueTypes": types, "maxResults": req.query.get("maxResults", 50),
                          "startAt": req.query.get("startAt", 0), "total": len(types)})


def createmeta_fields(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    type_id = req.params["issueTypeId"]
    if type_id not in project.screens:
        raise jira_error(400, f"The issue type with id '{type_id}' does not exist or is not valid for "
                              f"project '{project.key}'.")
    fields = [field_meta(site, f.id, f.required, with_id=True) for f in project.screens[type_id]]
    return Response(200, {"fields": fields, "maxResults": req.query.get("maxResults", 50),
                          "startAt": req.query.get("startAt", 0), "total": len(fields)})


def assign_issue(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    body = req.body
    given = [k for k in ("accountId", "name", "key") if k in body]
    if len(given) != 1:
        raise jira_error(400, "Exactly one of 'accountId', 'name' or 'key' must be provided.")
    if given[0] != "accountId":
        raise jira_error(400, errors={"assignee": "The 'name' and 'key' of a user are no longer supported; "
                                                  "use 'accountId'."})
    account = body["accountId"]
    if account == "-1":
        account = site.projects[issue.project].lead
    if account is not None and account not in site.users:
        raise jira_error(400, errors={"assignee": f"User '{account}' cannot be assigned issues."})
    if issue.assignee != account:
        issue.assignee = account
        issue.updated = site.tick()
    return Response(204)


def find_users(site: Site, req: Request) -> Response:
    q = req.query
    if not any(q.get(k) for k in ("query", "accountId", "property")):
        raise jira_error(400, "One of 'query', 'accountId' or 'property' must be provided.")
    if q.get("query") and q.get("accountId"):
        raise jira_error(400, "Only one of 'query' or 'accountId' can be provided.")
    users = [u for u in site.users.values() if u.account_id != site.myself or q.get("accountId")]
    if q.get("accountId"):
        users = [u for u in users if u.account_id == q["accountId"]]
    if q.get("query"):
        needle = str(q["query"]).lower()
        users = [u for u in users if any(w.startswith(needle) for w in
                                         [u.display_name.lower(), *u.display_name.lower().split(),
                                          u.email.lower()])]
    start, limit = q.get("startAt", 0), q.get("maxResults", 50)
    return Response(200, [user_json(site, u.account_id) for u in users[start:start + limit]])


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "createIssue": create_issue, "getIssue": get_issue, "editIssue": edit_issue,
    "searchAndReconsileIssuesUsingJql": search, "searchAndReconsileIssuesUsingJqlPost": search,
    "getTransitions": get_transitions, "doTransition": do_transition, "getComments": get_comments,
    "addComment": add_comment, "getProject": get_project, "searchProjects": search_projects,
    "getIssueTypesForProject": issue_types_for_project, "getCreateIssueMetaIssueTypes": createmeta_types,
    "getCreateIssueMetaIssueTypeId": createmeta_fields, "assignIssue": assign_issue, "findUsers": find_users,
}

__all__ = ["HANDLERS", "ApiError"]
