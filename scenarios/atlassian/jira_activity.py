"""What happens around an issue: watchers, single comments (read, edit, delete; `visibility` stored and
honoured), issue links, worklogs, and the issue history routes (`/changelog`, `/changelog/list`,
`/changelog/bulkfetch`)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from . import history
from .documents import adf_errors, adf_text
from .http import Request, Response, jira_error, url
from .jira import NOT_FOUND, actor, find_issue, next_comment_id
from .jira_fields import (
    comment_json,
    link_json,
    may_read,
    stored_visibility,
    visibility_problem,
    worklog_json,
)
from .jira_json import API, page_bean, user_json
from .site import ChangeItem, Comment, Issue, IssueLink, Site, Worklog

SPAN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhm])", re.ASCII)
SECONDS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}  # Jira's defaults: 8-hour days, 5-day weeks
STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")


# -- watchers ---------------------------------------------------------------------------------------------------
def get_watchers(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    return Response(200, {"self": url(f"{API}/issue/{issue.key}/watchers"), "isWatching": actor(site, req) in
                          issue.watchers, "watchCount": len(issue.watchers),
                          "watchers": [user_json(site, a) for a in issue.watchers]})


def add_watcher(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    account = req.body
    if not isinstance(account, str) or account not in site.users:
        raise jira_error(404, f"The user with account ID '{str(account)[:100]}' does not exist.")
    if account not in issue.watchers:
        issue.watchers.append(account)
    return Response(204)


def remove_watcher(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    if req.query.get("username"):
        raise jira_error(400, "The 'username' parameter is no longer supported: use 'accountId'.")
    account = req.query.get("accountId")
    if not account:
        raise jira_error(400, "The query parameter 'accountId' is required.")
    if account not in site.users:
        raise jira_error(404, f"The user with account ID '{account}' does not exist.")
    if account in issue.watchers:
        issue.watchers.remove(account)
    return Response(204)


# -- single comments --------------------------------------------------------------------------------------------
def find_comment(site: Site, req: Request) -> tuple[Issue, Comment]:
    """The issue and the comment of the path, as the acting user may read it.

    Raises:
        ApiError: 404 for an unknown issue, or a comment that is not there or not readable.
    """
    issue = find_issue(site, req)
    wanted = req.params["id"]
    found = next((c for c in issue.comments if c.id == wanted), None)
    if found is None or not may_read(site, issue, found.visibility, actor(site, req)):
        raise jira_error(404, f"Can not find a comment for id: {wanted}.")
    return issue, found


def get_comment(site: Site, req: Request) -> Response:
    issue, c = find_comment(site, req)
    return Response(200, comment_json(site, issue, c, "renderedBody" in str(req.query.get("expand", ""))))


def update_comment(site: Site, req: Request) -> Response:
    issue, c = find_comment(site, req)
    body = req.body.get("body")
    problem = "Comment body can not be empty!" if body in (None, "") else adf_errors(body)
    if problem:
        raise jira_error(400, errors={"comment": problem if body in (None, "") else
                                      f"Comment body is not valid! {problem}"})
    if len(adf_text(body)) > 32767:
        raise jira_error(400, errors={"comment": "The entered text is too long. It exceeds the allowed limit "
                                                 "of 32767 characters."})
    author = actor(site, req)
    visibility = c.visibility
    if "visibility" in req.body:
        visibility = req.body["visibility"]
        if visibility is not None:
            problem = visibility_problem(site, issue, visibility, author)
            if problem:
                raise jira_error(400, problem)
            visibility = stored_visibility(visibility)
    if body != c.body or visibility != c.visibility:
        c.body, c.visibility, c.update_author = body, visibility, author if author != c.author else None
        c.updated = issue.updated = site.tick()
    return Response(200, comment_json(site, issue, c, "renderedBody" in str(req.query.get("expand", ""))))


def delete_comment(site: Site, req: Request) -> Response:
    issue, c = find_comment(site, req)
    issue.comments.remove(c)
    issue.updated = site.tick()
    return Response(204)


# -- links --------------------------------------------------------------------------------------------------------
def linked_issue(site: Site, value: Any, side: str) -> Issue:
    """The issue a link request names on one side ({"key": ...} or {"id": ...}).

    Raises:
        ApiError: 404 when there is no such issue.
    """
    ref = value.get("key", value.get("id")) if isinstance(value, dict) else None
    issue = site.issue(str(ref)) if isinstance(ref, str | int) and not isinstance(ref, bool) else None
    if issue is None:
        raise jira_error(404, f"{NOT_FOUND} ({side})")
    return issue


def link_issues(site: Site, req: Request) -> Response:
    kind_ref = req.body.get("type") or {}
    kind = site.link_types.get(str(kind_ref.get("id"))) or next(
        (t for t in site.link_types.values() if t.name.lower() == str(kind_ref.get("name", "")).lower()), None)
    if kind is None:
        raise jira_error(404, f"No issue link type with name '{kind_ref.get('name', kind_ref.get('id'))}' found.")
    inward = linked_issue(site, req.body.get("inwardIssue"), "inwardIssue")
    outward = linked_issue(site, req.body.get("outwardIssue"), "outwardIssue")
    if inward.id == outward.id:
        raise jira_error(400, "You cannot link an issue to itself.")
    comment = req.body.get("comment")
    body = comment.get("body") if isinstance(comment, dict) else None
    if comment is not None and (body is None or adf_errors(body)):
        raise jira_error(400, errors={"comment": f"Comment body is not valid! {adf_errors(body) or 'empty'}"})
    author = actor(site, req)
    existing = next((lid for lid, link in site.links.items() if (link.type, link.inward, link.outward) ==
                     (kind.id, inward.id, outward.id)), None)
    if existing is None:
        lid = str(max([10000, *(int(i) for i in site.links)]) + 1)
        site.links[lid] = IssueLink(lid, kind.id, inward.id, outward.id)
        when = site.tick()
        for issue, other, text in ((inward, outward, kind.outward), (outward, inward, kind.inward)):
            issue.updated = when
            history.record(site, issue.id, author, [ChangeItem("Link", "issuelinks", None, None, other.key,
                                                               f"This issue {text} {other.key}")])
        existing = lid
    if body is not None:
        when = site.tick()
        outward.comments.append(Comment(next_comment_id(site), author, body, when, when))
    return Response(201, None, {"Location": url(f"{API}/issueLink/{existing}")})


def find_link(site: Site, req: Request) -> IssueLink:
    """The link of the path's `linkId`.

    Raises:
        ApiError: 404 when there is none.
    """
    found = site.links.get(req.params["linkId"])
    if found is None:
        raise jira_error(404, f"No issue link with id '{req.params['linkId']}' exists.")
    return found


def get_link(site: Site, req: Request) -> Response:
    return Response(200, link_json(site, find_link(site, req).id))


def delete_link(site: Site, req: Request) -> Response:
    link = find_link(site, req)
    kind = site.link_types[link.type]
    inward, outward = site.issues[link.inward], site.issues[link.outward]
    del site.links[link.id]
    when = site.tick()
    for issue, other, text in ((inward, outward, kind.outward), (outward, inward, kind.inward)):
        issue.updated = when
        history.record(site, issue.id, actor(site, req), [ChangeItem("Link", "issuelinks", other.key,
                                                                     f"This issue {text} {other.key}", None, None)])
    return Response(204)


# -- worklogs ---------------------------------------------------------------------------------------------------
def seconds_of(text: str) -> int | None:
    """Seconds in a Jira time span ("3h 20m", "1w 2d", "1.5h"), or None when it is not one."""
    total, pos = 0.0, 0
    text = text.strip()
    while pos < len(text):
        m = SPAN.match(text, pos)
        if m is None:
            return None
        total += float(m[1]) * SECONDS[m[2]]
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return int(total) if text and total > 0 else None


def worklog_values(site: Site, issue: Issue, body: dict[str, Any], author: str,
                   current: Worklog | None) -> tuple[int, str | None, dict[str, Any] | None, dict[str, str] | None]:
    """(seconds, started, comment, visibility) of a worklog request, validated; unspecified values kept (a new
    worklog's start: None, for the time it is logged at).

    Raises:
        ApiError: 400 naming the field: no time spent, a start not like "2021-01-17T12:34:00.000+0000", a
            comment that is not ADF, a visibility the author may not use.
    """
    seconds = current.seconds if current else None
    if "timeSpentSeconds" in body:
        seconds = body["timeSpentSeconds"] if isinstance(body["timeSpentSeconds"], int) and \
            body["timeSpentSeconds"] > 0 else None
    elif "timeSpent" in body:
        seconds = seconds_of(str(body["timeSpent"]))
    if seconds is None:
        raise jira_error(400, errors={"timeLogged": "You must indicate the time spent working, as a duration "
                                                    "such as '3h 20m' or as seconds."})
    started = body.get("started", current.started if current else None)
    if started is not None and not (isinstance(started, str) and STARTED.fullmatch(started)):
        raise jira_error(400, errors={"started": "The start date and time must look like "
                                                "'2021-01-17T12:34:00.000+0000'."})
    comment = body.get("comment", current.comment if current else None)
    if comment is not None and adf_errors(comment):
        raise jira_error(400, errors={"comment": f"Comment body is not valid! {adf_errors(comment)}"})
    visibility = body.get("visibility", current.visibility if current else None)
    if visibility is not None and "visibility" in body:
        problem = visibility_problem(site, issue, visibility, author)
        if problem:
            raise jira_error(400, problem)
        visibility = stored_visibility(visibility)
    return seconds, started, comment, visibility


def spent_item(before: int, after: int) -> ChangeItem:
    return ChangeItem("timespent", "timespent", str(before) if before else None, str(before) if before else None,
                      str(after) if after else None, str(after) if after else None)


def get_worklogs(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    viewer = actor(site, req)
    logs = [w for w in issue.worklogs if may_read(site, issue, w.visibility, viewer)]
    start, limit = req.query.get("startAt", 0), req.query.get("maxResults", 5000)
    return Response(200, {"startAt": start, "maxResults": limit, "total": len(logs),
                          "worklogs": [worklog_json(site, issue, w) for w in logs[start:start + limit]]})


def add_worklog(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    author = actor(site, req)
    seconds, started, comment, visibility = worklog_values(site, issue, req.body, author, None)
    spent = sum(w.seconds for w in issue.worklogs)
    when = site.tick()
    wid = str(max([30000, *(int(w.id) for i in site.issues.values() for w in i.worklogs)]) + 1)
    issue.worklogs.append(Worklog(wid, author, started or when, seconds, when, when, comment, visibility))
    issue.updated = when
    history.record(site, issue.id, author, [spent_item(spent, spent + seconds),
                                            ChangeItem("WorklogId", "WorklogId", None, None, wid, wid)])
    return Response(201, worklog_json(site, issue, issue.worklogs[-1]))


def find_worklog(site: Site, req: Request) -> tuple[Issue, Worklog]:
    """The issue and the worklog of the path, as the acting user may read it.

    Raises:
        ApiError: 404 for an unknown issue, or a worklog that is not there or not readable.
    """
    issue = find_issue(site, req)
    found = next((w for w in issue.worklogs if w.id == req.params["id"]), None)
    if found is None or not may_read(site, issue, found.visibility, actor(site, req)):
        raise jira_error(404, f"Cannot find worklog with id: '{req.params['id']}'.")
    return issue, found


def get_worklog(site: Site, req: Request) -> Response:
    issue, w = find_worklog(site, req)
    return Response(200, worklog_json(site, issue, w))


def update_worklog(site: Site, req: Request) -> Response:
    issue, w = find_worklog(site, req)
    author = actor(site, req)
    seconds, started, comment, visibility = worklog_values(site, issue, req.body, author, w)
    spent = sum(x.seconds for x in issue.worklogs)
    w.updated = issue.updated = site.tick()
    if seconds != w.seconds:
        history.record(site, issue.id, author, [spent_item(spent, spent - w.seconds + seconds)])
    w.seconds, w.started, w.comment, w.visibility = seconds, started or w.started, comment, visibility
    return Response(200, worklog_json(site, issue, w))


def delete_worklog(site: Site, req: Request) -> Response:
    issue, w = find_worklog(site, req)
    spent = sum(x.seconds for x in issue.worklogs)
    issue.worklogs.remove(w)
    issue.updated = site.tick()
    history.record(site, issue.id, actor(site, req), [spent_item(spent, spent - w.seconds),
                                                      ChangeItem("WorklogId", "WorklogId", w.id, w.id, None, None)])
    return Response(204)


# -- history ------------------------------------------------------------------------------------------------------
def get_changelog(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    groups = history.groups_of(site, issue.id)
    return Response(200, page_bean(f"/issue/{issue.key}/changelog", req, groups,
                                   lambda g: history.group_json(site, g), default_limit=100))


def changelog_by_ids(site: Site, req: Request) -> Response:
    issue = find_issue(site, req)
    wanted = {str(i) for i in req.body.get("changelogIds", [])}
    found = [history.group_json(site, g) for g in history.groups_of(site, issue.id) if g.id in wanted]
    return Response(200, {"startAt": 0, "maxResults": len(found), "total": len(found), "histories": found})


def bulk_changelogs(site: Site, req: Request) -> Response:
    body = req.body
    refs = body.get("issueIdsOrKeys", [])
    if not refs or len(refs) > 1000:
        raise jira_error(400, "Between 1 and 1000 issue IDs or keys must be given in 'issueIdsOrKeys'.")
    fields = body.get("fieldIds") or None
    if fields is not None and len(fields) > 10:
        raise jira_error(400, "At most 10 field IDs can be given in 'fieldIds'.")
    limit = body.get("maxResults", 1000)
    if not 1 <= limit <= 10000:
        raise jira_error(400, "The maxResults parameter must be between 1 and 10000.")
    start = 0
    if body.get("nextPageToken"):
        try:
            start = int(base64.urlsafe_b64decode(str(body["nextPageToken"]).encode()).decode())
        except (ValueError, UnicodeError):
            raise jira_error(400, "Invalid format of nextPageToken") from None
    issues = {i.id: i for i in (site.issue(str(r)) for r in refs) if i is not None}
    entries = sorted(((g.created, int(i), g) for i in issues for g in history.groups_of(site, i)
                      if fields is None or any(x.field_id in fields or x.field in fields for x in g.items)),
                     key=lambda e: (e[0], e[1]))
    page = entries[start:start + limit]
    out: dict[str, Any] = {"issueChangeLogs": []}
    by_issue: dict[str, list[dict[str, Any]]] = {}
    for _, issue_id, group in page:
        if str(issue_id) not in by_issue:
            by_issue[str(issue_id)] = []
            out["issueChangeLogs"].append({"issueId": str(issue_id), "changeHistories": by_issue[str(issue_id)]})
        by_issue[str(issue_id)].append(history.group_json(site, group, fields))
    if start + limit < len(entries):
        out["nextPageToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return Response(200, out)


HANDLERS: dict[str, Callable[[Site, Request], Response]] = {
    "getIssueWatchers": get_watchers, "addWatcher": add_watcher, "removeWatcher": remove_watcher,
    "getComment": get_comment, "updateComment": update_comment, "deleteComment": delete_comment,
    "linkIssues": link_issues, "getIssueLink": get_link, "deleteIssueLink": delete_link,
    "getIssueWorklog": get_worklogs, "addWorklog": add_worklog, "getWorklog": get_worklog,
    "updateWorklog": update_worklog, "deleteWorklog": delete_worklog,
    "getChangeLogs": get_changelog, "getChangeLogsByIds": changelog_by_ids, "getBulkChangelogs": bulk_changelogs,
}
