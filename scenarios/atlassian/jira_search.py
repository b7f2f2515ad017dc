"""Jira's issue search, `GET|POST /rest/api/3/search/jql`: JQL against the site's issues as the acting user
sees them, at the site's clock (relative dates and date functions), with `currentUser()` the acting user,
`membersOf()` the site's groups, the history operators over the issues' changelogs, and the site's own
functions (`linkedIssues`, `watchedIssues`, `releasedVersions`, `unreleasedVersions`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from . import history, jql
from .documents import adf_text
from .generate import field_values
from .http import Request, Response, jira_error
from .jira import actor
from .jira_fields import NAMES, SCHEMAS, expansions, issue_json, may_read, wanted_fields
from .site import Issue, Site

PER_ISSUE = ("renderedFields", "changelog", "transitions", "editmeta", "operations")


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
    viewer = actor(site, req)
    views = [JqlView(site, i, viewer) for i in site.issues.values()]
    try:
        found = jql.search(text, views, known_values=field_values(site), current_user=viewer, now=site.clock,
                           groups=site.groups, functions=functions(site, viewer))
    except jql.JqlError as exc:
        raise jira_error(400, str(exc)) from None
    fields = wanted_fields(params.get("fields"), [])
    wanted = expansions(params.get("expand") or "")
    limit = min(max_results or 50, 5000 if set(fields) <= {"id", "key"} else 100)
    page = found[start:start + limit]
    per_issue = ",".join(e for e in PER_ISSUE if e in wanted)
    issues = []
    for view in page:
        issue = site.issues[view["id"]]
        if fields or per_issue:
            issues.append(issue_json(site, issue, fields, per_issue, viewer))
        else:
            issues.append({"id": issue.id})
    out: dict[str, Any] = {"issues": issues, "isLast": start + limit >= len(found)}
    if not out["isLast"]:
        out["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode()
    shown = [n for n in fields if n in SCHEMAS]
    if "names" in wanted:
        out["names"] = {n: NAMES[n] for n in shown}
    if "schema" in wanted:
        out["schema"] = {n: SCHEMAS[n] for n in shown}
    return Response(200, out)


def functions(site: Site, viewer: str) -> dict[str, jql.Function]:
    """The JQL functions that read the site: linked issues, watched issues, released and unreleased versions."""

    def linked(field: str, args: list[str]) -> list[str]:
        if field != "key":
            raise jql.JqlError(f"Function 'linkedIssues' is not valid for the field '{field}'.")
        if not 1 <= len(args) <= 2:
            raise jql.JqlError(f"Function 'linkedIssues' expected between 1 and 2 arguments but received "
                               f"{len(args)}.")
        issue = site.issue(args[0])
        if issue is None:
            raise jql.JqlError(f"Issue '{args[0]}' could not be found in function 'linkedIssues'.")
        out = []
        for link in site.links.values():  # the inward issue "blocks" the outward one, which "is blocked by" it
            kind = site.link_types[link.type]
            for side, other, described in ((link.inward, link.outward, kind.outward),
                                           (link.outward, link.inward, kind.inward)):
                if issue.id == side and (len(args) == 1 or args[1].casefold() == described.casefold()):
                    out.append(other)
        return out

    def watched(field: str, args: list[str]) -> list[str]:
        if field != "key" or args:
            raise jql.JqlError("Function 'watchedIssues' takes no arguments and is valid for the field 'issue'.")
        return [i.id for i in site.issues.values() if viewer in i.watchers]

    def versions(released: bool) -> jql.Function:
        name = "releasedVersions" if released else "unreleasedVersions"

        def found(field: str, args: list[str]) -> list[str]:
            if field not in ("fixversion", "affectedversion"):
                raise jql.JqlError(f"Function '{name}' is not valid for the field '{field}'.")
            keys = {a.casefold() for a in args}
            return [v.id for v in site.versions.values() if v.released == released and not v.archived and (
                not keys or site.projects[v.project].key.casefold() in keys or v.project in keys)]
        return found

    return {"linkedissues": linked, "watchedissues": watched, "releasedversions": versions(True),
            "unreleasedversions": versions(False)}


class JqlView(dict):  # type: ignore[type-arg]
    """An issue as the JQL evaluator reads it: field -> value or aliases. The text fields (walks of ADF
    documents), components and versions, and the history (`history:<field>`) are worked out the first time a
    query reads them, as most queries never do."""

    TEXTS = frozenset({"description", "comment", "text"})
    LISTS = {"component": "components", "fixversion": "fix_versions", "affectedversion": "versions"}

    def __init__(self, site: Site, issue: Issue, viewer: str | None) -> None:
        super().__init__(fields(site, issue))
        self.site, self.issue, self.viewer = site, issue, viewer

    def get(self, key: str, default: Any = None) -> Any:
        self._fill(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        self._fill(key)
        return dict.__getitem__(self, key)

    def _fill(self, key: str) -> None:
        if dict.__contains__(self, key):
            return
        if key in self.TEXTS:
            self._texts()
        elif key in self.LISTS:
            table: Any = self.site.components if key == "component" else self.site.versions
            ids = getattr(self.issue, self.LISTS[key])
            self[key] = [v for i in ids if i in table for v in (table[i].name, i)] or None
        elif key.startswith("history:") and key[8:] in history.SEARCHABLE:
            found = self.site.history.groups.get(self.issue.id)
            self[key] = history.timeline(self.site, self.issue, key[8:]) if found else None

    def _texts(self) -> None:
        issue = self.issue
        comments = "\n".join(adf_text(c.body) for c in issue.comments
                             if may_read(self.site, issue, c.visibility, self.viewer))
        description = adf_text(issue.description) if issue.description else ""
        self.update(description=description or None, comment=comments or None,
                    text="\n".join([issue.summary, description, comments]))


def fields(site: Site, issue: Issue) -> dict[str, Any]:
    """The issue's searchable fields: field -> value or aliases (None when empty)."""
    project = site.projects[issue.project]
    status = site.statuses[issue.status]
    users = lambda a: [a, site.users[a].display_name, site.users[a].email] if a else None  # noqa: E731
    parent = site.issues.get(issue.parent or "")
    return {
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
    }


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "searchAndReconsileIssuesUsingJql": search, "searchAndReconsileIssuesUsingJqlPost": search,
}
