"""Jira's reference data and people, as clients read them first: `/myself`, users, assignable users, groups,
projects, issue types, priorities, statuses, resolutions, edit metadata, link types, and the projects'
components and versions (read, create, update)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from .http import Request, Response, jira_error, url
from .jira import actor, find_issue, find_project
from .jira_fields import editmeta_json
from .jira_json import (
    API,
    CATEGORIES,
    category_json,
    component_json,
    issuetype_json,
    link_type_json,
    page_bean,
    priority_json,
    project_json,
    resolution_json,
    status_json,
    user_json,
    version_json,
)
from .site import Component, Project, Site, User, Version

NO_USER = "Specified user does not exist or you do not have required permissions"
NO_NAMES = "The 'username' and 'key' parameters are no longer supported: use 'accountId'."
DATE = re.compile(r"\d{4}-\d\d-\d\d")


# -- people ---------------------------------------------------------------------------------------------------
def group_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"group:{name}"))


def full_user_json(site: Site, account: str, expand: Any = "") -> dict[str, Any]:
    """`User` as `/myself` and `/user` answer: with locale, and its groups and application roles (their
    items only when expanded)."""
    groups = [g for g, members in site.groups.items() if account in members]
    items = [{"name": g, "groupId": group_id(g), "self": url(f"{API}/group?groupId={group_id(g)}")}
             for g in groups] if "groups" in str(expand) else []
    return {**(user_json(site, account) or {}), "locale": "en_US", "expand": "groups,applicationRoles",
            "groups": {"size": len(groups), "items": items},
            "applicationRoles": {"size": 1, "items": []}}


def get_myself(site: Site, req: Request) -> Response:
    return Response(200, full_user_json(site, actor(site, req), req.query.get("expand", "")))


def get_user(site: Site, req: Request) -> Response:
    q = req.query
    if q.get("username") or q.get("key"):
        raise jira_error(400, NO_NAMES)
    account = q.get("accountId")
    if not account:
        raise jira_error(400, "The query parameter 'accountId' is required.")
    if account not in site.users:
        raise jira_error(404, NO_USER)
    return Response(200, full_user_json(site, account, q.get("expand", "")))


def matches(user: User, needle: str) -> bool:
    """Jira's user query: a prefix of the display name, of any of its words, or of the email address."""
    needle = needle.lower()
    name = user.display_name.lower()
    return any(w.startswith(needle) for w in [name, *name.split(), user.email.lower()])


def assignable_users(site: Site, req: Request) -> Response:
    q = req.query
    if q.get("username"):
        raise jira_error(400, NO_NAMES)
    if q.get("issueKey") or q.get("issueId"):
        find_issue(site, Request(req.method, req.path, params={"issueIdOrKey": str(q.get("issueKey")
                                                                                   or q.get("issueId"))}))
    elif q.get("project"):
        find_project(site, str(q["project"]))
    else:
        raise jira_error(400, "One of 'project', 'issueKey' or 'issueId' must be provided.")
    users = [u for u in site.users.values() if u.active]
    if q.get("accountId"):
        users = [u for u in users if u.account_id == q["accountId"]]
    if q.get("query"):
        users = [u for u in users if matches(u, str(q["query"]))]
    start, limit = q.get("startAt", 0), q.get("maxResults", 50)
    return Response(200, [user_json(site, u.account_id) for u in users[start:start + limit]])


def bulk_users(site: Site, req: Request) -> Response:
    if req.query.get("username") or req.query.get("key"):
        raise jira_error(400, NO_NAMES)
    wanted = [a for a in req.query.get("accountId", []) if a in site.users]
    return Response(200, page_bean("/user/bulk", req, wanted, lambda a: user_json(site, a), default_limit=10))


def find_group(site: Site, req: Request) -> str:
    """The group a request names by `groupname` or `groupId`.

    Raises:
        ApiError: 400 when it names none, 404 when there is no such group.
    """
    q = req.query
    name = q.get("groupname") or next((g for g in site.groups if group_id(g) == q.get("groupId")), None)
    if not name:
        raise jira_error(400, "You must specify a group name or a group ID.")
    if name not in site.groups:
        raise jira_error(404, f"Group '{name}' does not exist.")
    return name


def group_members(site: Site, req: Request) -> Response:
    name = find_group(site, req)
    members = [a for a in site.groups[name] if a in site.users and (site.users[a].active or req.query.get(
        "includeInactiveUsers"))]
    return Response(200, page_bean("/group/member", req, members, lambda a: user_json(site, a)))


def get_group(site: Site, req: Request) -> Response:
    """The deprecated `GET /group`, which pycontribs `jira` reads members with (`expand=users`)."""
    name = find_group(site, req)
    members = [a for a in site.groups[name] if a in site.users]
    shown = [user_json(site, a) for a in members[:50]] if "users" in str(req.query.get("expand", "")) else []
    return Response(200, {"name": name, "groupId": group_id(name), "self": url(f"{API}/group?groupId={group_id(name)}"),
                          "users": {"size": len(members), "items": shown, "max-results": 50, "start-index": 0,
                                    "end-index": max(len(shown) - 1, 0)}, "expand": "users"})


# -- reference data ---------------------------------------------------------------------------------------------
def all_projects(site: Site, req: Request) -> Response:
    return Response(200, [project_json(site, p) for p in sorted(site.projects.values(), key=lambda p: p.key)])


def all_issue_types(site: Site, req: Request) -> Response:
    return Response(200, [issuetype_json(site, t) for t in site.issue_types])


def one_issue_type(site: Site, req: Request) -> Response:
    if req.params["id"] not in site.issue_types:
        raise jira_error(404, f"The issue type with id '{req.params['id']}' does not exist.")
    return Response(200, issuetype_json(site, req.params["id"]))


def full_priority_json(site: Site, pid: str) -> dict[str, Any]:
    colours = {"1": "#d04437", "2": "#f15c75", "3": "#f79232", "4": "#707070", "5": "#999999"}
    return {**(priority_json(site, pid) or {}), "description": f"{site.priorities[pid]} priority.",
            "statusColor": colours.get(pid, "#707070"), "isDefault": pid == "3"}


def all_priorities(site: Site, req: Request) -> Response:
    return Response(200, [full_priority_json(site, p) for p in site.priorities])


def one_priority(site: Site, req: Request) -> Response:
    if req.params["id"] not in site.priorities:
        raise jira_error(404, f"The priority with id '{req.params['id']}' does not exist.")
    return Response(200, full_priority_json(site, req.params["id"]))


def all_statuses(site: Site, req: Request) -> Response:
    return Response(200, [status_json(site, s) for s in site.statuses])


def one_status(site: Site, req: Request) -> Response:
    wanted = req.params["idOrName"]
    found = wanted if wanted in site.statuses else next(
        (s.id for s in site.statuses.values() if s.name.lower() == wanted.lower()), None)
    if found is None:
        raise jira_error(404, f"The status with id or name '{wanted}' does not exist.")
    return Response(200, status_json(site, found))


def status_categories(site: Site, req: Request) -> Response:
    undefined = {"self": url(f"{API}/statuscategory/1"), "id": 1, "key": "undefined", "colorName": "medium-gray",
                 "name": "No Category"}
    return Response(200, [undefined, *(category_json(k) for k in CATEGORIES)])


def all_resolutions(site: Site, req: Request) -> Response:
    return Response(200, [resolution_json(site, r) for r in site.resolutions])


def one_resolution(site: Site, req: Request) -> Response:
    if req.params["id"] not in site.resolutions:
        raise jira_error(404, f"The resolution with id '{req.params['id']}' does not exist.")
    return Response(200, resolution_json(site, req.params["id"]))


def edit_meta(site: Site, req: Request) -> Response:
    return Response(200, editmeta_json(site, find_issue(site, req)))


def link_types(site: Site, req: Request) -> Response:
    return Response(200, {"issueLinkTypes": [link_type_json(t) for t in site.link_types.values()]})


def one_link_type(site: Site, req: Request) -> Response:
    found = site.link_types.get(req.params["issueLinkTypeId"])
    if found is None:
        raise jira_error(404, f"No issue link type with id '{req.params['issueLinkTypeId']}' found.")
    return Response(200, link_type_json(found))


# -- components and versions -------------------------------------------------------------------------------------
def owner(site: Site, body: dict[str, Any]) -> Project:
    """The project a new component or version names, by `projectId` or `project` (key or id).

    Raises:
        ApiError: 400 when it names none, 404 when there is no such project.
    """
    ref = body.get("projectId", body.get("project"))
    project = site.project(str(ref)) if isinstance(ref, str | int) and not isinstance(ref, bool) else None
    if project is None:
        raise jira_error(404 if ref is not None else 400, errors={"project": "The project is not valid." if ref
                                                                  is not None else "The project must be specified."})
    return project


def checked_name(site: Site, table: dict[str, Any], project: Project, name: Any, kind: str,
                 exclude: str | None = None) -> str:
    """A component's or version's name, stripped: given, at most 255 characters, unique in its project.

    Raises:
        ApiError: 400 naming the `name` field otherwise.
    """
    if not isinstance(name, str) or not name.strip():
        raise jira_error(400, errors={"name": f"The {kind} name must be specified."})
    if len(name) > 255:
        raise jira_error(400, errors={"name": f"The {kind} name must be 255 characters or fewer."})
    if any(i.project == project.id and i.name.lower() == name.strip().lower() and i.id != exclude
           for i in table.values()):
        raise jira_error(400, errors={"name": f"A {kind} with the name {name.strip()} already exists in this "
                                              f"project."})
    return name.strip()


def checked_lead(site: Site, body: dict[str, Any], current: str | None) -> str | None:
    """The lead a component request sets (`leadAccountId`), or `current` when it sets none.

    Raises:
        ApiError: 400 for an account the site does not have.
    """
    if "leadAccountId" not in body:
        return current
    lead = body["leadAccountId"]
    if lead is not None and lead not in site.users:
        raise jira_error(400, errors={"leadAccountId": f"The user '{lead}' does not exist."})
    return lead


def project_components(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    return Response(200, [component_json(site, c) for c in site.components.values() if c.project == project.id])


def project_components_page(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    found = [c for c in site.components.values() if c.project == project.id]
    if req.query.get("query"):
        found = [c for c in found if str(req.query["query"]).lower() in c.name.lower()]
    order = str(req.query.get("orderBy", "name"))
    key = {"name": lambda c: c.name.lower(), "description": lambda c: c.description.lower(),
           "issueCount": lambda c: issue_count(site, c.id), "lead": lambda c: c.lead or ""}[order.lstrip("+-")]
    found.sort(key=key, reverse=order.startswith("-"))

    def render(c: Component) -> dict[str, Any]:
        return {**component_json(site, c), "issueCount": issue_count(site, c.id)}
    return Response(200, page_bean(f"/project/{req.params['projectIdOrKey']}/component", req, found, render))


def issue_count(site: Site, component: str) -> int:
    return sum(component in i.components for i in site.issues.values())


def find_component(site: Site, req: Request) -> Component:
    """The component of the path's `id`.

    Raises:
        ApiError: 404 when there is none.
    """
    found = site.components.get(req.params["id"])
    if found is None:
        raise jira_error(404, f"The component with id '{req.params['id']}' does not exist.")
    return found


def get_component(site: Site, req: Request) -> Response:
    return Response(200, component_json(site, find_component(site, req)))


def create_component(site: Site, req: Request) -> Response:
    project = owner(site, req.body)
    name = checked_name(site, site.components, project, req.body.get("name"), "component")
    description = req.body.get("description") or ""
    cid = str(max([10099, *(int(i) for i in site.components)]) + 1)
    site.components[cid] = Component(cid, project.id, name, str(description), checked_lead(site, req.body, None))
    site.tick()
    return Response(201, component_json(site, site.components[cid]))


def update_component(site: Site, req: Request) -> Response:
    c = find_component(site, req)
    project = site.projects[c.project]
    name = checked_name(site, site.components, project, req.body.get("name", c.name), "component", c.id)
    lead = checked_lead(site, req.body, c.lead)
    description = req.body.get("description", c.description)
    c.name, c.lead, c.description = name, lead, str(description or "")
    site.tick()
    return Response(200, component_json(site, c))


def project_versions(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    return Response(200, [version_json(site, v) for v in site.versions.values() if v.project == project.id])


def project_versions_page(site: Site, req: Request) -> Response:
    project = find_project(site, req.params["projectIdOrKey"])
    found = [v for v in site.versions.values() if v.project == project.id]
    if req.query.get("query"):
        needle = str(req.query["query"]).lower()
        found = [v for v in found if needle in v.name.lower() or needle in v.description.lower()]
    states = {s.strip() for s in str(req.query.get("status", "")).split(",") if s.strip()}
    if states:
        found = [v for v in found if ("archived" if v.archived else "released" if v.released else "unreleased")
                 in states]
    order = str(req.query.get("orderBy", "sequence"))
    keys: dict[str, Callable[[Version], Any]] = {
        "sequence": lambda v: int(v.id), "name": lambda v: v.name.lower(), "description": lambda v: v.description,
        "releaseDate": lambda v: v.release_date or "", "startDate": lambda v: v.start_date or ""}
    found.sort(key=keys[order.lstrip("+-")], reverse=order.startswith("-"))
    return Response(200, page_bean(f"/project/{req.params['projectIdOrKey']}/version", req, found,
                                   lambda v: version_json(site, v)))


def find_version(site: Site, req: Request) -> Version:
    """The version of the path's `id`.

    Raises:
        ApiError: 404 when there is none.
    """
    found = site.versions.get(req.params["id"])
    if found is None:
        raise jira_error(404, f"Could not find version for id '{req.params['id']}'")
    return found


def get_version(site: Site, req: Request) -> Response:
    return Response(200, version_json(site, find_version(site, req)))


def version_fields(body: dict[str, Any], v: Version) -> None:
    """Apply the writable fields of a version request to `v` (validated first).

    Raises:
        ApiError: 400 for a date not in the form yyyy-MM-dd.
    """
    for name in ("releaseDate", "startDate"):
        value = body.get(name)
        if value is not None and not (isinstance(value, str) and DATE.fullmatch(value)):
            raise jira_error(400, errors={name: "Please enter the date in the format yyyy-MM-dd."})
    if "description" in body:
        v.description = str(body["description"] or "")
    if "released" in body:
        v.released = bool(body["released"])
    if "archived" in body:
        v.archived = bool(body["archived"])
    if "releaseDate" in body:
        v.release_date = body["releaseDate"]
    if "startDate" in body:
        v.start_date = body["startDate"]


def create_version(site: Site, req: Request) -> Response:
    project = owner(site, req.body)
    name = checked_name(site, site.versions, project, req.body.get("name"), "version")
    vid = str(max([10199, *(int(i) for i in site.versions)]) + 1)
    version = Version(vid, project.id, name)
    version_fields(req.body, version)
    site.versions[vid] = version
    site.tick()
    return Response(201, version_json(site, version))


def update_version(site: Site, req: Request) -> Response:
    v = find_version(site, req)
    project = site.projects[v.project]
    name = checked_name(site, site.versions, project, req.body.get("name", v.name), "version", v.id)
    draft = Version(**v.__dict__)
    version_fields(req.body, draft)
    draft.name = name
    site.versions[v.id] = draft
    site.tick()
    return Response(200, version_json(site, draft))


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "getCurrentUser": get_myself, "getUser": get_user, "findAssignableUsers": assignable_users,
    "bulkGetUsers": bulk_users, "getUsersFromGroup": group_members, "getGroup": get_group,
    "getAllProjects": all_projects,
    "getIssueAllTypes": all_issue_types, "getIssueType": one_issue_type, "getPriorities": all_priorities,
    "getPriority": one_priority, "getStatuses": all_statuses, "getStatus": one_status,
    "getStatusCategories": status_categories, "getResolutions": all_resolutions, "getResolution": one_resolution,
    "getEditIssueMeta": edit_meta, "getIssueLinkTypes": link_types, "getIssueLinkType": one_link_type,
    "getProjectComponents": project_components, "getProjectComponentsPaginated": project_components_page,
    "getComponent": get_component, "createComponent": create_component, "updateComponent": update_component,
    "getProjectVersions": project_versions, "getProjectVersionsPaginated": project_versions_page,
    "getVersion": get_version, "createVersion": create_version, "updateVersion": update_version,
}
