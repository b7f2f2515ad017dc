"""An issue's fields as Jira Cloud REST v3 shows them: the field catalogue, `IssueBean` with its expansions
(`names`, `schema`, `renderedFields`, `changelog`, `transitions`, `editmeta`), field metadata, transitions,
and who may read a comment restricted with `visibility`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import history
from .documents import adf_to_storage
from .http import url
from .jira_json import (
    API,
    component_ref,
    issuetype_json,
    link_type_json,
    priority_json,
    project_ref,
    resolution_json,
    status_json,
    user_json,
    version_ref,
)
from .site import Comment, Issue, Project, Site, Transition, Worklog

# Fields a request may set: their names and schemas (`JsonTypeBean`).
FIELD_NAMES = {"project": "Project", "issuetype": "Issue Type", "summary": "Summary", "description": "Description",
               "priority": "Priority", "labels": "Labels", "assignee": "Assignee", "reporter": "Reporter",
               "duedate": "Due date", "parent": "Parent", "resolution": "Resolution", "components": "Components",
               "fixVersions": "Fix versions", "versions": "Affects versions"}
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
                 "resolution": {"type": "resolution", "system": "resolution"},
                 "components": {"type": "array", "items": "component", "system": "components"},
                 "fixVersions": {"type": "array", "items": "version", "system": "fixVersions"},
                 "versions": {"type": "array", "items": "version", "system": "versions"}}
# The other fields an issue shows.
OTHER_NAMES = {"status": "Status", "created": "Created", "updated": "Updated", "resolutiondate": "Resolved",
               "subtasks": "Sub-tasks", "comment": "Comment", "issuelinks": "Linked Issues", "watches": "Watchers",
               "timetracking": "Time tracking", "attachment": "Attachment", "worklog": "Log Work"}
OTHER_SCHEMAS = {"status": {"type": "status", "system": "status"},
                 "created": {"type": "datetime", "system": "created"},
                 "updated": {"type": "datetime", "system": "updated"},
                 "resolutiondate": {"type": "datetime", "system": "resolutiondate"},
                 "subtasks": {"type": "array", "items": "issuelinks", "system": "subtasks"},
                 "comment": {"type": "comments-page", "system": "comment"},
                 "issuelinks": {"type": "array", "items": "issuelinks", "system": "issuelinks"},
                 "watches": {"type": "watches", "system": "watches"},
                 "timetracking": {"type": "timetracking", "system": "timetracking"},
                 "attachment": {"type": "array", "items": "attachment", "system": "attachment"},
                 "worklog": {"type": "array", "items": "worklog", "system": "worklog"}}
NAMES = {**FIELD_NAMES, **OTHER_NAMES}
SCHEMAS = {**FIELD_SCHEMAS, **OTHER_SCHEMAS}
OPERATIONS = {"labels": ["add", "set", "remove"], "comment": ["add"], "components": ["add", "set", "remove"],
              "fixVersions": ["add", "set", "remove"], "versions": ["add", "set", "remove"]}
NAVIGABLE = ["summary", "status", "issuetype", "project", "priority", "labels", "assignee", "reporter", "created",
             "updated", "resolution", "resolutiondate", "duedate", "parent", "subtasks", "description", "components",
             "fixVersions", "versions", "issuelinks", "watches", "timetracking", "attachment"]
ALL_FIELDS = [*NAVIGABLE, "comment", "worklog"]
EXPANDS = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
ROLES = ("Administrators", "Developers", "Users")


# -- who may read what ---------------------------------------------------------------------------------------
def role_members(site: Site, project: Project, role: str) -> set[str]:
    """A project role's members: Administrators (the site admins and the lead), Developers (the developers
    group and the administrators), Users (everyone)."""
    admins = {*site.groups.get("site-admins", []), project.lead}
    if role == "Administrators":
        return admins
    if role == "Developers":
        return admins | set(site.groups.get("developers", []))
    return set(site.users) if role == "Users" else set()


def may_read(site: Site, issue: Issue, visibility: dict[str, str] | None, viewer: str | None) -> bool:
    """Whether `viewer` may read a comment or worklog restricted with `visibility` (None: anyone; a viewer of
    None is the site itself, which reads everything)."""
    if visibility is None or viewer is None:
        return True
    if visibility.get("type") == "group":
        return viewer in site.groups.get(visibility.get("value", ""), [])
    return viewer in role_members(site, site.projects[issue.project], visibility.get("value", ""))


def visibility_problem(site: Site, issue: Issue, value: Any, author: str) -> str | None:
    """Why `visibility` cannot restrict a comment or worklog by `author`, or None when it can."""
    if not isinstance(value, dict) or value.get("type") not in ("group", "role"):
        return "Visibility must be an object with a type of 'group' or 'role'."
    name = value.get("value", value.get("identifier"))
    if not isinstance(name, str) or not name:
        return "Visibility must name a group or role in 'value'."
    if value["type"] == "group":
        if name not in site.groups:
            return f"Group: {name} does not exist."
        if author not in site.groups[name]:
            return f"You are currently not a member of the group: {name}."
    else:
        if name not in ROLES:
            return f"Invalid project role: {name}."
        if author not in role_members(site, site.projects[issue.project], name):
            return f"You are currently not a member of the project role: {name}."
    return None


def stored_visibility(value: dict[str, Any]) -> dict[str, str]:
    name = value.get("value", value.get("identifier"))
    return {"type": value["type"], "value": name, "identifier": name}


# -- representations -------------------------------------------------------------------------------------------
def rendered_time(when: str | None, with_time: bool = True) -> str | None:
    """A time as Jira's renderedFields show it: "05/Jan/26 9:01 AM" (a date alone: "05/Jan/26")."""
    if not when:
        return None
    moment = datetime.fromisoformat(when[:19]) if "T" in when else datetime.fromisoformat(when)
    day = moment.strftime("%d/%b/%y")
    if not with_time:
        return day
    hour = moment.hour % 12 or 12
    return f"{day} {hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def comment_json(site: Site, issue: Issue, c: Comment, rendered: bool = False) -> dict[str, Any]:
    """`Comment`."""
    author = user_json(site, c.author)
    out: dict[str, Any] = {"self": url(f"{API}/issue/{issue.id}/comment/{c.id}"), "id": c.id, "author": author,
                           "body": c.body, "updateAuthor": user_json(site, c.update_author) or author,
                           "created": c.created, "updated": c.updated, "jsdPublic": c.visibility is None}
    if c.visibility:
        out["visibility"] = dict(c.visibility)
    if rendered:
        out["renderedBody"] = adf_to_storage(c.body)
    return out


def worklog_json(site: Site, issue: Issue, w: Worklog) -> dict[str, Any]:
    """`Worklog`."""
    author = user_json(site, w.author)
    out: dict[str, Any] = {"self": url(f"{API}/issue/{issue.id}/worklog/{w.id}"), "author": author,
                           "updateAuthor": author, "created": w.created, "updated": w.updated,
                           "started": w.started, "timeSpent": duration(w.seconds), "timeSpentSeconds": w.seconds,
                           "id": w.id, "issueId": issue.id}
    if w.comment is not None:
        out["comment"] = w.comment
    if w.visibility:
        out["visibility"] = dict(w.visibility)
    return out


def duration(seconds: int) -> str:
    """Jira's short form of a time span, with its default 8-hour days and 5-day weeks: "1w 2d 3h 30m"."""
    parts = []
    for unit, size in (("w", 5 * 8 * 3600), ("d", 8 * 3600), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0m"


def issue_ref(site: Site, issue: Issue) -> dict[str, Any]:
    return {"id": issue.id, "key": issue.key, "self": url(f"{API}/issue/{issue.id}"),
            "fields": {"summary": issue.summary, "status": status_json(site, issue.status),
                       "priority": priority_json(site, issue.priority),
                       "issuetype": issuetype_json(site, issue.issuetype)}}


def link_json(site: Site, link_id: str, issue: Issue | None = None) -> dict[str, Any]:
    """An issue link: as `IssueLink` (issue None) or as an issue's `issuelinks` entry, which names the other
    issue only, as `inwardIssue` or `outwardIssue`."""
    link = site.links[link_id]
    out: dict[str, Any] = {"id": link.id, "self": url(f"{API}/issueLink/{link.id}"),
                           "type": link_type_json(site.link_types[link.type])}
    if issue is None or issue.id != link.inward:
        out["inwardIssue"] = issue_ref(site, site.issues[link.inward])
    if issue is None or issue.id != link.outward:
        out["outwardIssue"] = issue_ref(site, site.issues[link.outward])
    return out


def links_of(site: Site, issue: Issue) -> list[str]:
    return [lid for lid, link in site.links.items() if issue.id in (link.inward, link.outward)]


def readable_comments(site: Site, issue: Issue, viewer: str | None) -> list[Comment]:
    return [c for c in issue.comments if may_read(site, issue, c.visibility, viewer)]


def field_json(site: Site, issue: Issue, name: str, viewer: str | None = None) -> Any:
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
            comments = [comment_json(site, issue, c) for c in readable_comments(site, issue, viewer)]
            return {"comments": comments, "self": url(f"{API}/issue/{issue.id}/comment"),
                    "maxResults": len(comments), "total": len(comments), "startAt": 0}
        case "components":
            return [component_ref(site.components[c]) for c in issue.components if c in site.components]
        case "fixVersions" | "versions":
            ids = issue.fix_versions if name == "fixVersions" else issue.versions
            return [version_ref(site.versions[v]) for v in ids if v in site.versions]
        case "issuelinks":
            return [link_json(site, lid, issue) for lid in links_of(site, issue)]
        case "watches":
            return {"self": url(f"{API}/issue/{issue.key}/watchers"), "watchCount": len(issue.watchers),
                    "isWatching": viewer in issue.watchers}
        case "timetracking":
            spent = sum(w.seconds for w in issue.worklogs)
            return {"timeSpent": duration(spent), "timeSpentSeconds": spent} if spent else {}
        case "attachment":
            return []
        case "worklog":
            logs = [worklog_json(site, issue, w) for w in issue.worklogs if may_read(site, issue, w.visibility, viewer)]
            return {"startAt": 0, "maxResults": 20, "total": len(logs), "worklogs": logs}
    return None


def rendered_json(site: Site, issue: Issue, name: str, viewer: str | None) -> Any:
    """A field as `renderedFields` shows it: documents as HTML, times as text, None where nothing renders."""
    match name:
        case "description":
            return adf_to_storage(issue.description) if issue.description else None
        case "created" | "updated" | "resolutiondate":
            return rendered_time(getattr(issue, name))
        case "duedate":
            return rendered_time(issue.duedate, with_time=False)
        case "comment":
            comments = [{**comment_json(site, issue, c), "body": adf_to_storage(c.body)}
                        for c in readable_comments(site, issue, viewer)]
            return {"comments": comments, "maxResults": len(comments), "total": len(comments), "startAt": 0}
    return None


def changelog_json(site: Site, issue: Issue) -> dict[str, Any]:
    """`PageOfChangelogs`, as `expand=changelog` embeds it: every change group, oldest first."""
    groups = [history.group_json(site, g) for g in history.groups_of(site, issue.id)]
    return {"startAt": 0, "maxResults": len(groups), "total": len(groups), "histories": groups}


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


def expansions(expand: Any) -> set[str]:
    """The names in an `expand` parameter (a comma list, or a list of them)."""
    parts = expand if isinstance(expand, list) else [expand]
    return {n.strip() for p in parts if isinstance(p, str) for n in p.split(",") if n.strip()}


def issue_json(site: Site, issue: Issue, fields: list[str], expand: Any = "", viewer: str | None = None
               ) -> dict[str, Any]:
    """`IssueBean`, with the expansions asked for."""
    wanted = expansions(expand) if expand else set()
    out: dict[str, Any] = {"expand": EXPANDS, "id": issue.id, "self": url(f"{API}/issue/{issue.id}"),
                           "key": issue.key}
    shown = [n for n in fields if n in SCHEMAS]
    out["fields"] = {n: field_json(site, issue, n, viewer) for n in shown}
    if not wanted:
        return out
    if "renderedFields" in wanted:
        out["renderedFields"] = {n: rendered_json(site, issue, n, viewer) for n in shown}
    if "names" in wanted:
        out["names"] = {n: NAMES[n] for n in shown}
    if "schema" in wanted:
        out["schema"] = {n: SCHEMAS[n] for n in shown}
    if "transitions" in wanted:
        out["transitions"] = [transition_json(site, issue, t, False) for t in available(site, issue)]
    if "editmeta" in wanted:
        out["editmeta"] = editmeta_json(site, issue)
    if "changelog" in wanted:
        out["changelog"] = changelog_json(site, issue)
    return out


# -- metadata and transitions ------------------------------------------------------------------------------------
def field_meta(site: Site, name: str, required: bool, with_id: bool = False,
               project: Project | None = None) -> dict[str, Any]:
    """`FieldMetadata` (with `fieldId`: `FieldCreateMetadata`)."""
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
    if name == "components" and project is not None:
        meta["allowedValues"] = [component_ref(c) for c in site.components.values() if c.project == project.id]
    if name in ("fixVersions", "versions") and project is not None:
        meta["allowedValues"] = [version_ref(v) for v in site.versions.values() if v.project == project.id]
    return meta


def editmeta_json(site: Site, issue: Issue) -> dict[str, Any]:
    """`IssueUpdateMetadata`: the fields of the issue's edit screen (its create screen without project and
    type), and comment."""
    project = site.projects[issue.project]
    fields = {f.id: field_meta(site, f.id, f.required, project=project) for f in project.screens[issue.issuetype]
              if f.id not in ("project", "issuetype")}
    fields["comment"] = {"required": False, "schema": OTHER_SCHEMAS["comment"], "name": "Comment",
                         "key": "comment", "operations": ["add", "edit", "remove"]}
    return {"fields": fields}


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
