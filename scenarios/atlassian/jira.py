"""Jira Cloud REST v3 handlers for issues, transitions, comments, projects, create metadata and users:
(site, request) -> response, with Jira's codes and ErrorCollection bodies. Every write to an issue records
its changes in the issue's history (see history.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import history
from .documents import adf_errors, adf_text
from .http import ApiError, Request, Response, jira_error, url
from .jira_fields import (  # noqa: F401 - re-exported: the field catalogue is read as jira.<NAME>
    ALL_FIELDS,
    FIELD_NAMES,
    FIELD_SCHEMAS,
    NAVIGABLE,
    OPERATIONS,
    available,
    comment_json,
    field_meta,
    issue_json,
    readable_comments,
    stored_visibility,
    transition_json,
    visibility_problem,
    wanted_fields,
)
from .jira_json import API, issuetype_json, page_bean, project_json, user_json
from .site import Comment, Issue, Project, Site

NOT_FOUND = "Issue does not exist or you do not have permission to see it."
REFERENCE_LISTS = {"components": "components", "fixVersions": "fix_versions", "versions": "versions"}


def actor(site: Site, req: Request) -> str:
    """The account a request acts as: the authenticated user, else the site's own (in-process tool calls)."""
    return req.user if req.user in site.users else site.myself


def copy_issue(issue: Issue) -> Issue:
    """A scratch copy to apply a write to (lists copied; comments and worklogs are appended to the original)."""
    return Issue(**{**issue.__dict__, "labels": list(issue.labels), "components": list(issue.components),
                    "fix_versions": list(issue.fix_versions), "versions": list(issue.versions),
                    "watchers": list(issue.watchers)})


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
        case "components" | "fixVersions" | "versions":
            if not isinstance(value, list):
                errors[name] = f"The {name} field must be a list of references ({{\"id\"}} or {{\"name\"}})."
                return
            ids = [reference(site, issue, name, v, errors) for v in value]
            if name not in errors:
                setattr(issue, REFERENCE_LISTS[name], list(dict.fromkeys(i for i in ids if i)))


def reference(site: Site, issue: Issue, name: str, value: Any, errors: dict[str, str]) -> str | None:
    """The id of a component or version of the issue's project, from {"id": ...} or {"name": ...}."""
    table: dict[str, Any] = site.components if name == "components" else site.versions
    own = {i: item.name for i, item in table.items() if item.project == issue.project}
    found = ref_value(value, own)
    if found is None:
        kind = "Component" if name == "components" else "Version"
        shown = value.get("id", value.get("name")) if isinstance(value, dict) else value
        errors[name] = f"{kind} '{str(shown)[:100]}' is not valid for project " \
                       f"'{site.projects[issue.project].key}'."
    return found


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
            elif name in REFERENCE_LISTS and verb != "set":
                found = reference(site, issue, name, arg, errors)
                current = getattr(issue, REFERENCE_LISTS[name])
                if found and verb == "add" and found not in current:
                    setattr(issue, REFERENCE_LISTS[name], [*current, found])
                elif found and verb == "remove":
                    setattr(issue, REFERENCE_LISTS[name], [i for i in current if i != found])
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


def add_comments(site: Site, issue: Issue, bodies: list[dict[str, Any]], author: str,
                 visibility: dict[str, str] | None = None) -> None:
    for body in bodies:
        when = site.tick()
        issue.comments.append(Comment(next_comment_id(site), author, body, when, when, visibility))


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
                  status=project.workflow.initial, priority=None, reporter=actor(site, req), created=when,
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
    add_comments(site, issue, comments, actor(site, req))
    return Response(201, {"id": issue.id, "key": issue.key, "self": url(f"{API}/issue/{issue.id}")})


def create_issues(site: Site, req: Request) -> Response:
    """`POST /issue/bulk`: each issue as `createIssue` makes it; the ones that fail are listed by position."""
    updates = req.body.get("issueUpdates")
    if not isinstance(updates, list) or not updates:
        raise jira_error(400, "The issueUpdates list must hold at least one issue.")
    if len(updates) > 50:
        raise jira_error(400, "At most 50 issues can be created in one request.")
    created, errors = [], []
    for n, update in enumerate(updates):
        try:
            if not isinstance(update, dict):
                raise jira_error(400, "Each issue must be an object with 'fields' and 'update'.")
            created.append(create_issue(site, Request("POST", f"{API}/issue", {}, update, {}, req.user)).body)
        except ApiError as exc:
            errors.append({"status": exc.response.status, "elementErrors": exc.response.body,
                           "failedElementNumber": n})
    return Response(201 if created else 400, {"issues": created, "errors": errors})


def get_issue(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    fields = wanted_fields(req.query.get("fields"), ALL_FIELDS)
    return Response(200, issue_json(site, issue, fields, req.query.get("expand", ""), actor(site, req)))


def edit_issue(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    body = req.body
    both_ways(body)
    project = site.projects[issue.project]
    screen = {f.id for f in project.screens[issue.issuetype]} - {"project", "issuetype"}
    draft = copy_issue(issue)
    errors: dict[str, str] = {}
    comments: list[dict[str, Any]] = []
    if body.get("fields") is not None:
        apply_fields(site, draft, body["fields"], screen, errors)
    if body.get("update") is not None:
        apply_update(site, draft, body["update"], screen, errors, comments)
    if errors:
        raise jira_error(400, errors=errors)
    author = actor(site, req)
    if draft.__dict__ != issue.__dict__ or comments:
        draft.updated = site.tick()
        site.issues[issue.id] = draft
        history.record_write(site, issue, draft, author)
        add_comments(site, draft, comments, author)
    if req.query.get("returnIssue"):
        return Response(200, issue_json(site, draft, ALL_FIELDS, req.query.get("expand", ""), author))
    return Response(204)


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
    draft = copy_issue(issue)
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
    author = actor(site, req)
    history.record_write(site, issue, draft, author)
    add_comments(site, draft, comments, author)
    return Response(204)


def get_comments(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    start, limit = req.query.get("startAt", 0), req.query.get("maxResults", 100)
    comments = readable_comments(site, issue, actor(site, req))
    if req.query.get("orderBy") == "-created":
        comments.reverse()
    page = comments[start:start + limit]
    rendered = "renderedBody" in str(req.query.get("expand", ""))
    return Response(200, {"comments": [comment_json(site, issue, c, rendered) for c in page], "maxResults": limit,
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
    author = actor(site, req)
    visibility = req.body.get("visibility")
    if visibility is not None:
        problem = visibility_problem(site, issue, visibility, author)
        if problem:
            raise jira_error(400, problem)
        visibility = stored_visibility(visibility)
    add_comments(site, issue, [body], author, visibility)
    issue.updated = site.clock
    rendered = "renderedBody" in str(req.query.get("expand", ""))
    return Response(201, comment_json(site, issue, issue.comments[-1], rendered))


def get_project(site: Site, req: Request) -> Response:
    return Response(200, project_json(site, find_project(site, req.params["projectIdOrKey"])))


def search_projects(site: Site, req: Request) -> Response:
    q = req.query
    found = list(site.projects.values())
    if q.get("keys"):
        found = [p for p in found if p.key in q["keys"]]
    if q.get("query"):
        needle = str(q["query"]).lower()
        found = [p for p in found if needle in p.key.lower() or needle in p.name.lower()]
    found.sort(key=lambda p: p.key)
    return Response(200, page_bean("/project/search", req, found, lambda p: project_json(site, p)))


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
    fields = [field_meta(site, f.id, f.required, with_id=True, project=project) for f in project.screens[type_id]]
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
        before = copy_issue(issue)
        issue.assignee = account
        issue.updated = site.tick()
        history.record_write(site, before, issue, actor(site, req))
    return Response(204)


def find_users(site: Site, req: Request) -> Response:
    q = req.query
    if not any(q.get(k) for k in ("query", "accountId", "property")):
        raise jira_error(400, "One of 'query', 'accountId' or 'property' must be provided.")
    if q.get("query") and q.get("accountId"):
        raise jira_error(400, "Only one of 'query' or 'accountId' can be provided.")
    query = str(q.get("query") or "")
    users = [u for u in site.users.values() if u.account_id != site.myself or q.get("accountId")
             or u.account_id == query]
    if q.get("accountId"):
        users = [u for u in users if u.account_id == q["accountId"]]
    if query:
        needle = query.lower()
        users = [u for u in users if u.account_id == query or any(w.startswith(needle) for w in [
            u.display_name.lower(), *u.display_name.lower().split(), u.email.lower()])]
    start, limit = q.get("startAt", 0), q.get("maxResults", 50)
    return Response(200, [user_json(site, u.account_id) for u in users[start:start + limit]])


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "createIssue": create_issue, "getIssue": get_issue, "editIssue": edit_issue,
    "getTransitions": get_transitions, "doTransition": do_transition, "getComments": get_comments,
    "addComment": add_comment, "getProject": get_project, "searchProjects": search_projects,
    "getIssueTypesForProject": issue_types_for_project, "getCreateIssueMetaIssueTypes": createmeta_types,
    "getCreateIssueMetaIssueTypeId": createmeta_fields, "assignIssue": assign_issue, "findUsers": find_users,
    "createIssues": create_issues,
}

__all__ = ["HANDLERS", "ApiError"]
