"""Jira Cloud REST v3 representations of the site's objects: users, statuses, types, projects, components,
versions and link types, in the shapes of the official schemas (User, StatusDetails, IssueTypeDetails, ...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlencode

from .http import Request, url
from .site import Component, LinkType, Project, Site, Version

API = "/rest/api/3"
SIZES = ("48x48", "24x24", "16x16", "32x32")
CATEGORIES = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow"),
              "done": (3, "Done", "green")}
_T = TypeVar("_T")


def avatar_urls(path: str) -> dict[str, str]:
    """`AvatarUrlsBean`: the four sizes Jira serves, on the site."""
    return dict(_avatars(path))


@cache
def _avatars(path: str) -> tuple[tuple[str, str], ...]:
    return tuple((size, url(f"{path}?size={size.split('x')[0]}")) for size in SIZES)


def initials(name: str) -> str:
    return "".join(w[0] for w in name.split()[:2]).upper() or "U"


def user_json(site: Site, account_id: str | None) -> dict[str, Any] | None:
    """`User` / `UserDetails` as Jira embeds them (no groups or application roles)."""
    if account_id is None or account_id not in site.users:
        return None
    u = site.users[account_id]
    return {"self": url(f"{API}/user?accountId={u.account_id}"), "accountId": u.account_id,
            "accountType": "atlassian", "emailAddress": u.email,
            "avatarUrls": avatar_urls(f"/avatars/initials/{initials(u.display_name)}.png"),
            "displayName": u.display_name, "active": u.active, "timeZone": u.time_zone}


def category_json(key: str) -> dict[str, Any]:
    cid, name, colour = CATEGORIES[key]
    return {"self": url(f"{API}/statuscategory/{cid}"), "id": cid, "key": key, "colorName": colour, "name": name}


def status_json(site: Site, status_id: str) -> dict[str, Any]:
    s = site.statuses[status_id]
    return {"self": url(f"{API}/status/{s.id}"), "description": "", "iconUrl": url("/images/status.png"),
            "name": s.name, "id": s.id, "statusCategory": category_json(s.category)}


def issuetype_json(site: Site, type_id: str) -> dict[str, Any]:
    t = site.issue_types[type_id]
    return {"self": url(f"{API}/issuetype/{t.id}"), "id": t.id, "description": t.description,
            "iconUrl": url(f"/images/issuetypes/{t.id}.png"), "name": t.name, "subtask": t.subtask,
            "avatarId": 10300 + int(t.id) % 100, "hierarchyLevel": t.hierarchy_level}


def project_ref(p: Project) -> dict[str, Any]:
    return {"self": url(f"{API}/project/{p.id}"), "id": p.id, "key": p.key, "name": p.name,
            "avatarUrls": avatar_urls(f"{API}/universal_avatar/view/type/project/avatar/{10400 + int(p.id) % 100}"),
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


def component_json(site: Site, c: Component) -> dict[str, Any]:
    """`ProjectComponent`."""
    project = site.projects[c.project]
    out: dict[str, Any] = {"self": url(f"{API}/component/{c.id}"), "id": c.id, "name": c.name,
                           "description": c.description, "assigneeType": "PROJECT_DEFAULT",
                           "realAssigneeType": "PROJECT_DEFAULT", "isAssigneeTypeValid": False,
                           "project": project.key, "projectId": int(project.id)}
    if c.lead:  # its `leadAccountId` is write-only: answers name the lead as `lead`
        out["lead"] = user_json(site, c.lead)
    return out


def component_ref(c: Component) -> dict[str, Any]:
    """A component as an issue's `components` field holds it."""
    return {"self": url(f"{API}/component/{c.id}"), "id": c.id, "name": c.name, "description": c.description}


def version_json(site: Site, v: Version) -> dict[str, Any]:
    """`Version`."""
    out: dict[str, Any] = {"self": url(f"{API}/version/{v.id}"), "id": v.id, "name": v.name,
                           "description": v.description, "archived": v.archived, "released": v.released,
                           "projectId": int(v.project)}
    if v.release_date:
        out["releaseDate"] = v.release_date
        out["overdue"] = not v.released and v.release_date < site.clock[:10]
    if v.start_date:
        out["startDate"] = v.start_date
    return out


def version_ref(v: Version) -> dict[str, Any]:
    """A version as an issue's `fixVersions` and `versions` fields hold it."""
    out: dict[str, Any] = {"self": url(f"{API}/version/{v.id}"), "id": v.id, "name": v.name,
                           "description": v.description, "archived": v.archived, "released": v.released}
    if v.release_date:
        out["releaseDate"] = v.release_date
    return out


def link_type_json(t: LinkType) -> dict[str, Any]:
    """`IssueLinkType`."""
    return {"id": t.id, "name": t.name, "inward": t.inward, "outward": t.outward,
            "self": url(f"{API}/issueLinkType/{t.id}")}


def project_json(site: Site, p: Project) -> dict[str, Any]:
    """`Project`, with what Jira includes by default: description, lead, issue types, components, versions."""
    return {**project_ref(p), "description": p.description, "lead": user_json(site, p.lead),
            "components": [component_json(site, c) for c in site.components.values() if c.project == p.id],
            "issueTypes": [issuetype_json(site, t) for t in p.issue_types],
            "assigneeType": "UNASSIGNED",
            "versions": [version_json(site, v) for v in site.versions.values() if v.project == p.id],
            "style": "classic", "isPrivate": False}


def page_bean(path: str, req: Request, items: Sequence[_T], render: Callable[[_T], Any],
              default_limit: int = 50) -> dict[str, Any]:
    """A `PageBean*` of `items` from `startAt` and `maxResults`: `self`, `nextPage` when more follow, `isLast`."""
    start, limit = req.query.get("startAt", 0), req.query.get("maxResults", default_limit)
    page = items[start:start + limit]
    query = {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in req.query.items()}
    out: dict[str, Any] = {"self": url(f"{API}{path}?{urlencode({**query, 'startAt': start, 'maxResults': limit})}"),
                           "maxResults": limit, "startAt": start, "total": len(items),
                           "isLast": start + limit >= len(items), "values": [render(i) for i in page]}
    if not out["isLast"] and limit > 0:
        out["nextPage"] = url(f"{API}{path}?{urlencode({**query, 'startAt': start + limit, 'maxResults': limit})}")
    return out
