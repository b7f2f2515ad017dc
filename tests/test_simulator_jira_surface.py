"""The simulated Jira answers what real clients call beyond the tools models see: who am I, reference data,
users, the `/rest/api/latest/` alias, expansions and paging, the issue history (changelog), JQL's date
functions, `currentUser()`, `membersOf()`, WAS and CHANGED on it, watchers, single comments with
`visibility`, links, worklogs, components and versions, and bulk create.

Every response here is validated against its official schema (tests/conftest.py turns that on), and handler
exceptions raise (`World.strict`, turned on for this module). Requests go through `World.request` as HTTP
clients send them (query values as text); the client sessions at the end go through the served site.
"""

from __future__ import annotations

import base64
import json
import pickle
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from scenarios.atlassian import catalog, jira
from scenarios.atlassian.http import Response
from scenarios.atlassian.openapi import spec
from scenarios.atlassian.server import Serving
from scenarios.atlassian.site import BASE_URL, Issue, Site
from scenarios.atlassian.world import World

SEED = 3
API = "/rest/api/3"
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}]}
SIZES = {"16x16", "24x24", "32x32", "48x48"}
# The operations this surface adds: each is exercised below (test_every_new_operation_is_exercised).
NEW_OPERATIONS = {
    "getCurrentUser", "getAllProjects", "getIssueAllTypes", "getIssueType", "getPriorities", "getPriority",
    "getStatuses", "getStatus", "getStatusCategories", "getResolutions", "getResolution", "getUser",
    "findAssignableUsers", "bulkGetUsers", "getGroup", "getUsersFromGroup", "getEditIssueMeta", "getChangeLogs",
    "getChangeLogsByIds", "getBulkChangelogs", "getIssueWatchers", "addWatcher", "removeWatcher", "getComment",
    "updateComment", "deleteComment", "getIssueLinkTypes", "getIssueLinkType", "linkIssues", "getIssueLink",
    "deleteIssueLink", "getIssueWorklog", "addWorklog", "getWorklog", "updateWorklog", "deleteWorklog",
    "getProjectComponents", "getProjectComponentsPaginated", "createComponent", "getComponent",
    "updateComponent", "getProjectVersions", "getProjectVersionsPaginated", "createVersion", "getVersion",
    "updateVersion", "createIssues",
}
EXERCISED: set[str] = set()


@pytest.fixture(autouse=True)
def _strict_and_recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Handler exceptions raise here; every operation answered with a 2xx is recorded for the coverage test."""
    monkeypatch.setattr(World, "strict", True)
    original = World._conform

    def conform(self: World, op: Any, response: Response) -> None:
        original(self, op, response)
        if response.status < 300:
            EXERCISED.add(op.id)

    monkeypatch.setattr(World, "_conform", conform)
    yield


@pytest.fixture
def world() -> World:
    return World(SEED)


def call(world: World, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
         user: str = "") -> Response:
    raw = json.dumps(body) if body is not None else None
    return world.request(method, path, query, raw_body=raw, user=user)


def ok(response: Response, status: int = 200) -> Any:
    assert response.status == status, (response.status, response.body)
    return response.body


def errors_of(response: Response) -> dict[str, Any]:
    assert response.status >= 400 and set(response.body) == {"errorMessages", "errors"}, response.body
    return response.body


def first_issue(site: Site, n: int = 0) -> Issue:
    return list(site.issues.values())[n]


def someone(site: Site, n: int = 0) -> str:
    """An account that is not the site's own user, and not a developer (for visibility tests)."""
    plain = [a for a in site.users if a != site.myself and a not in site.groups["developers"]
             and all(a != p.lead for p in site.projects.values())]
    return plain[n]


def doc(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                          "text": text}]}]}


# -- strict mode --------------------------------------------------------------------------------------------------
def test_a_handler_exception_raises_in_strict_mode_and_is_a_500_otherwise(world: World,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from scenarios.atlassian import world as world_module

    def broken(site: Site, req: Any) -> Response:
        raise KeyError("a simulator bug")

    monkeypatch.setitem(world_module.HANDLERS, "getCurrentUser", broken)
    with pytest.raises(KeyError, match="a simulator bug"):
        world.request("GET", f"{API}/myself")
    monkeypatch.setattr(World, "strict", False)
    r = world.request("GET", f"{API}/myself")
    assert r.status == 500 and "KeyError" in r.body["errorMessages"][0]


# -- who am I, users, groups ----------------------------------------------------------------------------------------
def test_myself_is_the_acting_user_with_avatars_and_groups(world: World) -> None:
    site = world.site
    me = ok(call(world, "GET", f"{API}/myself"))
    assert me["accountId"] == site.myself and me["displayName"] == "Automation Agent"
    assert set(me["avatarUrls"]) == SIZES and all(u.startswith(BASE_URL) for u in me["avatarUrls"].values())
    assert me["groups"]["size"] == 3 and me["groups"]["items"] == []  # developers, site-admins, everyone
    expanded = ok(call(world, "GET", f"{API}/myself", {"expand": "groups"}))
    assert sorted(g["name"] for g in expanded["groups"]["items"]) == ["developers", "jira-software-users",
                                                                       "site-admins"]
    other = someone(site)
    assert ok(call(world, "GET", f"{API}/myself", user=other))["accountId"] == other
    assert ok(call(world, "GET", f"{API}/myself", user="not-a-user"))["accountId"] == site.myself


def test_get_user_by_account_id(world: World) -> None:
    other = someone(world.site)
    got = ok(call(world, "GET", f"{API}/user", {"accountId": other}))
    assert got["accountId"] == other and got["displayName"] == world.site.users[other].display_name
    assert set(got["avatarUrls"]) == SIZES
    assert errors_of(call(world, "GET", f"{API}/user", {"accountId": "nobody"}))["errorMessages"] == [
        "Specified user does not exist or you do not have required permissions"]
    assert call(world, "GET", f"{API}/user", {"username": "alice"}).status == 400
    assert call(world, "GET", f"{API}/user").status == 400


def test_assignable_users_need_a_project_or_issue_and_match_the_query(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    project = site.projects[issue.project]
    everyone = ok(call(world, "GET", f"{API}/user/assignable/search", {"project": project.key}))
    assert [u["accountId"] for u in everyone] == list(site.users)  # the site's own user included
    target = site.users[someone(site)]
    surname = target.display_name.split()[1]
    found = ok(call(world, "GET", f"{API}/user/assignable/search", {"issueKey": issue.key, "query": surname}))
    assert target.account_id in [u["accountId"] for u in found]
    assert all(surname.lower() in (u["displayName"].lower() + u["emailAddress"]) for u in found)
    page = ok(call(world, "GET", f"{API}/user/assignable/search", {"project": project.key, "startAt": "2",
                                                                    "maxResults": "3"}))
    assert [u["accountId"] for u in page] == list(site.users)[2:5]
    assert call(world, "GET", f"{API}/user/assignable/search", {"query": "a"}).status == 400
    assert call(world, "GET", f"{API}/user/assignable/search", {"project": "NOPE"}).status == 404
    assert errors_of(call(world, "GET", f"{API}/user/assignable/search", {"issueKey": "NOPE-1"}))[
        "errorMessages"] == [NOT_FOUND]


def test_bulk_users_page_with_is_last_and_next_page(world: World) -> None:
    accounts = list(world.site.users)[:5]
    first = ok(call(world, "GET", f"{API}/user/bulk", {"accountId": accounts, "maxResults": "2"}))
    assert [u["accountId"] for u in first["values"]] == accounts[:2]
    assert first["total"] == 5 and first["isLast"] is False
    assert first["nextPage"].startswith(f"{BASE_URL}{API}/user/bulk?") and "startAt=2" in first["nextPage"]
    last = ok(call(world, "GET", f"{API}/user/bulk", {"accountId": accounts, "startAt": "4", "maxResults": "2"}))
    assert last["isLast"] is True and "nextPage" not in last and len(last["values"]) == 1
    assert ok(call(world, "GET", f"{API}/user/bulk", {"accountId": "nobody"}))["values"] == []
    assert call(world, "GET", f"{API}/user/bulk").status == 400  # accountId is required


def test_groups_and_their_members(world: World) -> None:
    site = world.site
    members = ok(call(world, "GET", f"{API}/group/member", {"groupname": "developers"}))
    assert [u["accountId"] for u in members["values"]] == site.groups["developers"] and members["isLast"]
    group = ok(call(world, "GET", f"{API}/group", {"groupname": "support-team", "expand": "users"}))
    assert [u["accountId"] for u in group["users"]["items"]] == site.groups["support-team"]
    by_id = ok(call(world, "GET", f"{API}/group/member", {"groupId": group["groupId"]}))
    assert by_id["total"] == len(site.groups["support-team"])
    assert call(world, "GET", f"{API}/group/member", {"groupname": "nope"}).status == 404
    assert call(world, "GET", f"{API}/group/member").status == 400


# -- reference data -------------------------------------------------------------------------------------------------
def test_projects_list_with_avatars_components_and_versions(world: World) -> None:
    site = world.site
    projects = ok(call(world, "GET", f"{API}/project"))
    assert [p["key"] for p in projects] == sorted(p.key for p in site.projects.values())
    for p in projects:
        assert set(p["avatarUrls"]) == SIZES
        assert [c["id"] for c in p["components"]] == [c.id for c in site.components.values()
                                                      if c.project == p["id"]]
        assert [v["name"] for v in p["versions"]] == ["1.0", "1.1", "2.0"]
    one = ok(call(world, "GET", f"{API}/project/{projects[0]['key']}"))
    assert one == projects[0]


def test_issue_types_priorities_statuses_resolutions(world: World) -> None:
    site = world.site
    types = ok(call(world, "GET", f"{API}/issuetype"))
    assert [t["name"] for t in types] == ["Task", "Bug", "Story", "Epic", "Sub-task"]
    assert ok(call(world, "GET", f"{API}/issuetype/10002"))["name"] == "Bug"
    assert call(world, "GET", f"{API}/issuetype/99").status == 404
    priorities = ok(call(world, "GET", f"{API}/priority"))
    assert [(p["name"], p["isDefault"]) for p in priorities][2] == ("Medium", True)
    assert ok(call(world, "GET", f"{API}/priority/1"))["name"] == "Highest"
    assert call(world, "GET", f"{API}/priority/9").status == 404
    statuses = ok(call(world, "GET", f"{API}/status"))
    assert [s["id"] for s in statuses] == list(site.statuses)
    assert ok(call(world, "GET", f"{API}/status/in review"))["id"] == "3"  # by name, any case
    assert ok(call(world, "GET", f"{API}/status/4"))["name"] == "Done"
    assert call(world, "GET", f"{API}/status/Nope").status == 404
    categories = ok(call(world, "GET", f"{API}/statuscategory"))
    assert [c["key"] for c in categories] == ["undefined", "new", "indeterminate", "done"]
    assert [r["name"] for r in ok(call(world, "GET", f"{API}/resolution"))] == list(site.resolutions.values())
    assert ok(call(world, "GET", f"{API}/resolution/10001"))["name"] == "Won't Do"
    assert call(world, "GET", f"{API}/resolution/1").status == 404


def test_editmeta_lists_the_edit_screen_with_components_and_versions(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    project = site.projects[issue.project]
    meta = ok(call(world, "GET", f"{API}/issue/{issue.key}/editmeta"))["fields"]
    screen = [f.id for f in project.screens[issue.issuetype] if f.id not in ("project", "issuetype")]
    assert list(meta) == [*screen, "comment"]
    assert [c["name"] for c in meta["components"]["allowedValues"]] == [
        c.name for c in site.components.values() if c.project == project.id]
    assert meta["fixVersions"]["operations"] == ["add", "set", "remove"]
    assert call(world, "GET", f"{API}/issue/NOPE-1/editmeta").status == 404


# -- issues: expansions, new fields ---------------------------------------------------------------------------------
def test_issue_expansions_names_schema_rendered_fields_editmeta(world: World) -> None:
    issue = first_issue(world.site)
    got = ok(call(world, "GET", f"{API}/issue/{issue.key}", {"expand": "names,schema,renderedFields,editmeta"}))
    fields = got["fields"]
    assert set(got["names"]) == set(fields) == set(got["schema"]) == set(got["renderedFields"])
    assert got["names"]["fixVersions"] == "Fix versions" and got["schema"]["components"]["items"] == "component"
    rendered = got["renderedFields"]
    assert rendered["description"] == "<p>" + fields["description"]["content"][0]["content"][0]["text"] + "</p>"
    assert rendered["created"].startswith("05/Jan/26 ") and rendered["created"].endswith(" AM")
    assert rendered["summary"] is None and "editmeta" in got and "changelog" not in got
    for c, r in zip(fields["comment"]["comments"], rendered["comment"]["comments"], strict=True):
        assert r["body"].startswith("<p>") and r["id"] == c["id"]
    plain = ok(call(world, "GET", f"{API}/issue/{issue.key}"))
    assert set(plain) == {"expand", "id", "self", "key", "fields"}


def test_issues_show_components_versions_links_watches_time_tracking(world: World) -> None:
    site = world.site
    issue = next(i for i in site.issues.values() if i.components and i.fix_versions)
    fields = ok(call(world, "GET", f"{API}/issue/{issue.key}"))["fields"]
    assert [c["id"] for c in fields["components"]] == issue.components
    assert [v["id"] for v in fields["fixVersions"]] == issue.fix_versions
    assert fields["versions"] == [] and fields["issuelinks"] == [] and fields["attachment"] == []
    assert fields["watches"] == {"self": f"{BASE_URL}{API}/issue/{issue.key}/watchers", "watchCount": 0,
                                 "isWatching": False}
    assert fields["timetracking"] == {} and fields["worklog"]["total"] == 0
    for user in (fields["reporter"], fields["project"]):
        assert set(user["avatarUrls"]) == SIZES


def test_components_and_versions_are_set_on_issues_by_fields_and_update(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    own = [c for c in site.components.values() if c.project == issue.project]
    versions = [v for v in site.versions.values() if v.project == issue.project]
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {
        "components": [{"name": own[0].name.lower()}, {"id": own[1].id}], "fixVersions": [{"name": "2.0"}]}}), 204)
    assert (site.issues[issue.id].components, site.issues[issue.id].fix_versions) == (
        [own[0].id, own[1].id], [versions[2].id])
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"update": {
        "components": [{"remove": {"id": own[0].id}}, {"add": {"name": own[2].name}}],
        "versions": [{"add": {"name": "1.0"}}]}}), 204)
    assert site.issues[issue.id].components == [own[1].id, own[2].id]
    assert site.issues[issue.id].versions == [versions[0].id]
    before = world.snapshot()
    other = next(c for c in site.components.values() if c.project != issue.project)
    r = call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"components": [{"id": other.id}]}})
    assert "is not valid for project" in errors_of(r)["errors"]["components"]
    r = call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"fixVersions": "2.0"}})
    assert "fixVersions" in errors_of(r)["errors"]
    assert world.snapshot() == before
    diff = world.state_diff()
    assert diff[f"issues/{issue.key}/components"]["after"] == [own[1].id, own[2].id]


# -- the issue history ------------------------------------------------------------------------------------------------
def history_of(world: World, key: str) -> list[dict[str, Any]]:
    return ok(call(world, "GET", f"{API}/issue/{key}", {"expand": "changelog", "fields": "summary"}))[
        "changelog"]["histories"]


def items_of(group: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(i["field"], i.get("fromString"), i.get("toString")) for i in group["items"]]


def test_every_write_records_a_change_group_from_the_sites_clock(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    old = (issue.summary, site.statuses[issue.status].name, issue.labels)
    assert history_of(world, issue.key) == []  # the seeded site has no history
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": "Renamed"},
                                                            "update": {"labels": [{"add": "zz-new"}]}}), 204)
    edited_at = site.clock
    transition = jira.available(site, site.issues[issue.id])[0]
    ok(call(world, "POST", f"{API}/issue/{issue.key}/transitions", body={"transition": {"id": transition.id}}), 204)
    other = someone(site)
    ok(call(world, "PUT", f"{API}/issue/{issue.key}/assignee", body={"accountId": other}, user=other), 204)
    groups = history_of(world, issue.key)
    assert [items_of(g) for g in groups] == [
        [("summary", old[0], "Renamed"), ("labels", " ".join(old[2]) or None, " ".join(sorted([*old[2], "zz-new"])))],
        [("status", old[1], site.statuses[transition.to].name)],
        [("assignee", site.users[issue.assignee].display_name if issue.assignee else None,
          site.users[other].display_name)],
    ]
    assert groups[0]["created"] == edited_at and groups[2]["created"] == site.clock
    assert [g["author"]["accountId"] for g in groups] == [site.myself, site.myself, other]
    status = groups[1]["items"][0]
    assert (status["fieldId"], status["from"], status["to"]) == ("status", issue.status, transition.to)
    assert len({g["id"] for g in groups}) == 3


def test_history_stays_out_of_snapshots_and_state_diffs(world: World) -> None:
    issue = first_issue(world.site)
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": "Renamed"}}), 204)
    assert world.site.history.groups  # recorded ...
    snapshot = world.snapshot()
    assert "history" not in snapshot and "changelog" not in json.dumps(snapshot)  # ... but not state
    assert world.state_diff() == {f"issues/{issue.key}/summary": {"before": issue.summary, "after": "Renamed"}}


def test_rejected_writes_and_writes_that_change_nothing_record_nothing(world: World) -> None:
    issue = first_issue(world.site)
    assert call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": ""}}).status == 400
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": issue.summary}}), 204)
    ok(call(world, "PUT", f"{API}/issue/{issue.key}/assignee", body={"accountId": issue.assignee}), 204)
    assert call(world, "POST", f"{API}/issue/{issue.key}/transitions", body={"transition": {"id": "0"}}).status \
        == 400
    assert world.site.history.groups == {}


def test_changelog_routes_page_filter_and_fetch_by_id(world: World) -> None:
    site = world.site
    issue, other = first_issue(site), first_issue(site, 1)
    for n in range(3):
        ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": f"Edit {n}"}}), 204)
    ok(call(world, "PUT", f"{API}/issue/{other.key}/assignee", body={"accountId": site.myself}), 204)
    page = ok(call(world, "GET", f"{API}/issue/{issue.key}/changelog", {"maxResults": "2"}))
    assert (page["total"], page["isLast"], len(page["values"])) == (3, False, 2)
    assert "startAt=2" in page["nextPage"]
    rest = ok(call(world, "GET", f"{API}/issue/{issue.key}/changelog", {"startAt": "2"}))
    assert rest["isLast"] and [v["items"][0]["toString"] for v in rest["values"]] == ["Edit 2"]
    ids = [int(v["id"]) for v in page["values"]]
    by_id = ok(call(world, "POST", f"{API}/issue/{issue.key}/changelog/list", body={"changelogIds": [ids[1], 1]}))
    assert [h["id"] for h in by_id["histories"]] == [str(ids[1])] and by_id["total"] == 1

    bulk = ok(call(world, "POST", f"{API}/changelog/bulkfetch",
                   body={"issueIdsOrKeys": [other.key, issue.id, "NOPE-1"], "maxResults": 3}))
    assert [(c["issueId"], len(c["changeHistories"])) for c in bulk["issueChangeLogs"]] == [(issue.id, 3)]
    after = ok(call(world, "POST", f"{API}/changelog/bulkfetch",
                    body={"issueIdsOrKeys": [other.key, issue.id], "nextPageToken": bulk["nextPageToken"]}))
    assert [c["issueId"] for c in after["issueChangeLogs"]] == [other.id] and "nextPageToken" not in after
    only = ok(call(world, "POST", f"{API}/changelog/bulkfetch",
                   body={"issueIdsOrKeys": [other.key, issue.key], "fieldIds": ["assignee"]}))
    assert [c["issueId"] for c in only["issueChangeLogs"]] == [other.id]
    assert call(world, "POST", f"{API}/changelog/bulkfetch", body={"issueIdsOrKeys": []}).status == 400
    assert call(world, "POST", f"{API}/changelog/bulkfetch", body={"issueIdsOrKeys": ["X"],
                                                                   "nextPageToken": "%%%"}).status == 400
    assert call(world, "GET", f"{API}/issue/NOPE-1/changelog").status == 404


def test_the_same_calls_give_the_same_history_byte_for_byte() -> None:
    def run() -> str:
        w = World(SEED)
        issue = first_issue(w.site)
        call(w, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": "Same"}})
        call(w, "POST", f"{API}/issue/{issue.key}/worklog", body={"timeSpent": "1h"})
        call(w, "POST", f"{API}/issueLink", body={"type": {"name": "Blocks"}, "inwardIssue": {"key": issue.key},
                                                  "outwardIssue": {"key": first_issue(w.site, 1).key}})
        return json.dumps(call(w, "GET", f"{API}/issue/{issue.key}/changelog").body)

    assert run() == run()


# -- JQL on the site: the clock, the acting user, groups, history ------------------------------------------------
def keys(world: World, jql: str, user: str = "") -> list[str]:
    body = ok(call(world, "GET", f"{API}/search/jql", {"jql": jql, "fields": "key", "maxResults": "100"},
                   user=user))
    return [i["key"] for i in body["issues"]]


def test_jql_dates_are_relative_to_the_sites_clock(world: World) -> None:
    site = world.site
    now = datetime.fromisoformat(site.clock[:19])
    ordered = sorted(site.issues.values(), key=lambda i: i.created)
    cut = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    recent = [i.key for i in ordered if i.created[:16] >= cut]
    assert 0 < len(recent) < len(ordered)
    assert keys(world, "created >= -30m order by created") == recent
    assert keys(world, "created >= startOfDay() order by created") == [i.key for i in ordered]
    assert keys(world, "created < startOfDay() OR created > now()") == []
    assert sorted(keys(world, "created > -1w")) == sorted(i.key for i in site.issues.values())
    ok(call(world, "PUT", f"{API}/issue/{ordered[0].key}", body={"fields": {"summary": "Touched"}}), 204)
    assert keys(world, "updated >= -1m") == [ordered[0].key]  # the write moved the clock and the issue with it


def test_jql_current_user_is_the_authenticated_user(world: World) -> None:
    site = world.site
    other = next(i.assignee for i in site.issues.values() if i.assignee and i.assignee != site.myself)
    mine = [i.key for i in site.issues.values() if i.assignee == other]
    assert keys(world, "assignee = currentUser()", user=other) == mine
    assert keys(world, "assignee = currentUser()") == [i.key for i in site.issues.values()
                                                       if i.assignee == site.myself]


def test_jql_members_of_components_and_fix_versions(world: World) -> None:
    site = world.site
    devs = set(site.groups["developers"])
    assert keys(world, 'assignee in membersOf("developers")') == [i.key for i in site.issues.values()
                                                                   if i.assignee in devs]
    component = next(iter(site.components.values()))
    assert keys(world, f'component = "{component.name}"') == [
        i.key for i in site.issues.values() if set(i.components) & {c.id for c in site.components.values()
                                                                    if c.name == component.name}]
    assert keys(world, 'fixVersion = "1.0"') == [i.key for i in site.issues.values() if any(
        site.versions[v].name == "1.0" for v in i.fix_versions)]
    assert keys(world, "fixVersion in releasedVersions()") == [i.key for i in site.issues.values() if any(
        site.versions[v].released for v in i.fix_versions)]
    r = call(world, "GET", f"{API}/search/jql", {"jql": 'fixVersion = "9.9"'})
    assert errors_of(r)["errorMessages"] == ["The value '9.9' does not exist for the field 'fixVersion'."]
    r = call(world, "GET", f"{API}/search/jql", {"jql": 'assignee in membersOf("nope")'})
    assert errors_of(r)["errorMessages"] == ["The group 'nope' for function 'membersOf' does not exist."]


def test_jql_was_and_changed_read_the_history(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    start = site.statuses[issue.status].name
    transition = jira.available(site, issue)[0]
    target = site.statuses[transition.to].name
    other = someone(site)
    ok(call(world, "POST", f"{API}/issue/{issue.key}/transitions", body={"transition": {"id": transition.id}},
            user=other), 204)
    was_start = [i.key for i in site.issues.values() if site.statuses[i.status].name == start or i.id == issue.id]
    assert keys(world, f'status was "{start}"') == was_start
    assert keys(world, "status changed") == [issue.key]
    assert keys(world, f'status changed from "{start}" to "{target}" by {other} after -5m') == [issue.key]
    assert keys(world, "status changed by currentUser()") == []  # the site's own user did not move it
    assert keys(world, "status changed by currentUser()", user=other) == [issue.key]
    assert keys(world, f'status was "{start}" after -1m and key = {issue.key}') == [issue.key]
    assert keys(world, f'status was "{start}" after now() and key = {issue.key}') == []  # it has left it
    assert keys(world, f'status was "{start}" before now() and status = "{target}"') == [issue.key]
    assert keys(world, "status changed during (startOfDay(), endOfDay())") == [issue.key]
    assert keys(world, "status changed before startOfDay()") == []


def test_jql_linked_and_watched_issues(world: World) -> None:
    site = world.site
    a, b = first_issue(site), first_issue(site, 1)
    ok(call(world, "POST", f"{API}/issueLink", body={"type": {"name": "Blocks"}, "inwardIssue": {"key": a.key},
                                                     "outwardIssue": {"key": b.key}}), 201)
    assert keys(world, f"issue in linkedIssues({a.key})") == [b.key]
    assert keys(world, f'issue in linkedIssues({a.key}, "blocks")') == [b.key]
    assert keys(world, f'issue in linkedIssues({b.key}, "is blocked by")') == [a.key]
    assert keys(world, f'issue in linkedIssues({a.key}, "is blocked by")') == []
    assert errors_of(call(world, "GET", f"{API}/search/jql", {"jql": "issue in linkedIssues(NOPE-1)"}))[
        "errorMessages"] == ["Issue 'NOPE-1' could not be found in function 'linkedIssues'."]
    ok(call(world, "POST", f"{API}/issue/{b.key}/watchers", body=site.myself), 204)
    assert keys(world, "issue in watchedIssues()") == [b.key]
    assert keys(world, "issue in watchedIssues()", user=someone(site)) == []


def test_search_expands_changelog_and_names(world: World) -> None:
    issue = first_issue(world.site)
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": "Renamed"}}), 204)
    body = ok(call(world, "POST", f"{API}/search/jql", body={"jql": f"key = {issue.key}",
                                                              "fields": ["summary", "status"],
                                                              "expand": "names,changelog,renderedFields"}))
    assert body["names"] == {"summary": "Summary", "status": "Status"}
    (found,) = body["issues"]
    assert found["changelog"]["total"] == 1 and found["renderedFields"]["summary"] is None
    ids_only = ok(call(world, "POST", f"{API}/search/jql", body={"jql": f"key = {issue.key}",
                                                                  "expand": "changelog"}))["issues"][0]
    assert ids_only["fields"] == {} and ids_only["changelog"]["total"] == 1


# -- watchers ---------------------------------------------------------------------------------------------------
def test_watchers_add_list_remove(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    other = someone(site)
    ok(call(world, "POST", f"{API}/issue/{issue.key}/watchers", body=other), 204)
    ok(call(world, "POST", f"{API}/issue/{issue.key}/watchers", body=other), 204)  # once only
    ok(call(world, "POST", f"{API}/issue/{issue.id}/watchers", body=site.myself), 204)
    watchers = ok(call(world, "GET", f"{API}/issue/{issue.key}/watchers"))
    assert [w["accountId"] for w in watchers["watchers"]] == [other, site.myself]
    assert (watchers["watchCount"], watchers["isWatching"]) == (2, True)
    assert ok(call(world, "GET", f"{API}/issue/{issue.key}/watchers", user=someone(site, 1)))["isWatching"] is False
    ok(call(world, "DELETE", f"{API}/issue/{issue.key}/watchers", {"accountId": other}), 204)
    assert ok(call(world, "GET", f"{API}/issue/{issue.key}", {"fields": "watches"}))["fields"]["watches"][
        "watchCount"] == 1
    before = world.snapshot()
    assert call(world, "POST", f"{API}/issue/{issue.key}/watchers", body="nobody").status == 404
    assert call(world, "POST", f"{API}/issue/{issue.key}/watchers", body={"accountId": other}).status == 400
    assert call(world, "DELETE", f"{API}/issue/{issue.key}/watchers").status == 400
    assert call(world, "DELETE", f"{API}/issue/{issue.key}/watchers", {"username": "bob"}).status == 400
    assert call(world, "GET", f"{API}/issue/NOPE-1/watchers").status == 404
    assert world.snapshot() == before
    assert world.site.history.groups == {}  # watching is not an issue change


# -- single comments, with visibility ----------------------------------------------------------------------------
def test_comment_visibility_is_stored_and_honoured(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    outsider = someone(site)
    restricted = ok(call(world, "POST", f"{API}/issue/{issue.key}/comment", body={
        "body": doc("Admins only"), "visibility": {"type": "role", "value": "Administrators"}}), 201)
    assert restricted["visibility"] == {"type": "role", "value": "Administrators", "identifier": "Administrators"}
    assert restricted["jsdPublic"] is False
    grouped = ok(call(world, "POST", f"{API}/issue/{issue.key}/comment", body={
        "body": doc("Developers only"), "visibility": {"type": "group", "value": "developers"}}), 201)
    public = ok(call(world, "POST", f"{API}/issue/{issue.key}/comment", body={"body": doc("Everyone")}), 201)
    mine = ok(call(world, "GET", f"{API}/issue/{issue.key}/comment"))["comments"]
    assert [c["id"] for c in mine][-3:] == [restricted["id"], grouped["id"], public["id"]]
    theirs = ok(call(world, "GET", f"{API}/issue/{issue.key}/comment", user=outsider))
    assert public["id"] in [c["id"] for c in theirs["comments"]]
    assert {restricted["id"], grouped["id"]}.isdisjoint(c["id"] for c in theirs["comments"])
    assert theirs["total"] == len(mine) - 2
    field = ok(call(world, "GET", f"{API}/issue/{issue.key}", {"fields": "comment"}, user=outsider))["fields"]
    assert field["comment"]["total"] == len(mine) - 2
    assert call(world, "GET", f"{API}/issue/{issue.key}/comment/{restricted['id']}", user=outsider).status == 404
    assert ok(call(world, "GET", f"{API}/issue/{issue.key}/comment/{restricted['id']}"))["body"] == doc("Admins only")
    # JQL's comment text follows the same rule.
    assert keys(world, 'comment ~ "Admins"') == [issue.key]
    assert keys(world, 'comment ~ "Admins"', user=outsider) == []


@pytest.mark.parametrize("visibility, message", [
    ({"type": "role", "value": "Wizards"}, "Invalid project role: Wizards."),
    ({"type": "group", "value": "nope"}, "Group: nope does not exist."),
    ({"type": "group", "value": "support-team"}, "You are currently not a member of the group: support-team."),
    ({"type": "user", "value": "x"}, "Invalid request body at /visibility/type: 'user' is not one of"),
    ({"type": "role"}, "Visibility must name a group or role in 'value'."),
])
def test_invalid_visibility_is_a_400_and_stores_nothing(world: World, visibility: dict[str, str],
                                                        message: str) -> None:
    issue = first_issue(world.site)
    before = world.snapshot()
    r = call(world, "POST", f"{API}/issue/{issue.key}/comment", body={"body": doc("x"), "visibility": visibility})
    said = errors_of(r)["errorMessages"] + list(r.body["errors"].values())
    assert len(said) == 1 and said[0].startswith(message)
    assert world.snapshot() == before


def test_comment_get_edit_delete(world: World) -> None:
    site = world.site
    issue = next(i for i in site.issues.values() if i.comments)
    comment = issue.comments[0]
    got = ok(call(world, "GET", f"{API}/issue/{issue.key}/comment/{comment.id}", {"expand": "renderedBody"}))
    assert got["body"] == comment.body and got["renderedBody"].startswith("<p>")
    edited = ok(call(world, "PUT", f"{API}/issue/{issue.key}/comment/{comment.id}", body={
        "body": doc("Edited"), "visibility": {"type": "group", "value": "developers"}}))
    assert edited["body"] == doc("Edited") and edited["updated"] == site.clock > edited["created"]
    assert edited["updateAuthor"]["accountId"] == site.myself and edited["visibility"]["value"] == "developers"
    kept = ok(call(world, "PUT", f"{API}/issue/{issue.key}/comment/{comment.id}", body={"body": doc("Again")}))
    assert kept["visibility"]["value"] == "developers"  # left out: unchanged
    before = world.snapshot()
    for body in ({"body": "plain"}, {"body": None}, {}):
        assert call(world, "PUT", f"{API}/issue/{issue.key}/comment/{comment.id}", body=body).status == 400
    assert call(world, "PUT", f"{API}/issue/{issue.key}/comment/999", body={"body": doc("x")}).status == 404
    assert world.snapshot() == before
    count = len(site.issues[issue.id].comments)
    ok(call(world, "DELETE", f"{API}/issue/{issue.key}/comment/{comment.id}"), 204)
    assert len(site.issues[issue.id].comments) == count - 1
    assert call(world, "GET", f"{API}/issue/{issue.key}/comment/{comment.id}").status == 404
    assert call(world, "DELETE", f"{API}/issue/{issue.key}/comment/{comment.id}").status == 404
    assert [k.rsplit("/", 1)[0] for k in world.state_diff()] == [f"issues/{issue.key}"]


# -- issue links -----------------------------------------------------------------------------------------------------
def test_links_create_show_read_delete_and_record_history(world: World) -> None:
    site = world.site
    a, b = first_issue(site), first_issue(site, 1)
    types = ok(call(world, "GET", f"{API}/issueLinkType"))["issueLinkTypes"]
    assert [t["name"] for t in types] == ["Blocks", "Cloners", "Duplicate", "Relates"]
    assert ok(call(world, "GET", f"{API}/issueLinkType/10000"))["outward"] == "blocks"
    assert call(world, "GET", f"{API}/issueLinkType/1").status == 404
    r = ok(call(world, "POST", f"{API}/issueLink", body={
        "type": {"name": "blocks"}, "inwardIssue": {"key": a.key}, "outwardIssue": {"id": b.id},
        "comment": {"body": doc("Linked")}}), 201)
    assert r is None
    link_id = call(world, "POST", f"{API}/issueLink", body={  # a duplicate: created, once
        "type": {"id": "10000"}, "inwardIssue": {"key": a.key}, "outwardIssue": {"key": b.key}}).headers[
        "Location"].rsplit("/", 1)[1]
    assert list(site.links) == [link_id]
    on_a = ok(call(world, "GET", f"{API}/issue/{a.key}", {"fields": "issuelinks"}))["fields"]["issuelinks"]
    on_b = ok(call(world, "GET", f"{API}/issue/{b.key}", {"fields": "issuelinks,comment"}))["fields"]
    assert [(x["type"]["outward"], x["outwardIssue"]["key"]) for x in on_a] == [("blocks", b.key)]
    assert [(x["type"]["inward"], x["inwardIssue"]["key"]) for x in on_b["issuelinks"]] == [("is blocked by", a.key)]
    assert "inwardIssue" not in on_a[0] and "outwardIssue" not in on_b["issuelinks"][0]
    assert on_b["comment"]["comments"][-1]["body"] == doc("Linked")
    link = ok(call(world, "GET", f"{API}/issueLink/{link_id}"))
    assert (link["inwardIssue"]["key"], link["outwardIssue"]["key"]) == (a.key, b.key)
    assert items_of(history_of(world, a.key)[-1]) == [("Link", None, f"This issue blocks {b.key}")]
    assert items_of(history_of(world, b.key)[-1]) == [("Link", None, f"This issue is blocked by {a.key}")]
    ok(call(world, "DELETE", f"{API}/issueLink/{link_id}"), 204)
    assert site.links == {} and call(world, "GET", f"{API}/issueLink/{link_id}").status == 404
    assert items_of(history_of(world, a.key)[-1]) == [("Link", f"This issue blocks {b.key}", None)]


@pytest.mark.parametrize("body, status", [
    ({"type": {"name": "Nope"}, "inwardIssue": {"key": "{a}"}, "outwardIssue": {"key": "{b}"}}, 404),
    ({"type": {"name": "Blocks"}, "inwardIssue": {"key": "NOPE-1"}, "outwardIssue": {"key": "{b}"}}, 404),
    ({"type": {"name": "Blocks"}, "inwardIssue": {"key": "{a}"}, "outwardIssue": {"key": "{a}"}}, 400),
    ({"type": {"name": "Blocks"}, "inwardIssue": {"key": "{a}"}}, 400),
    ({"type": {"name": "Blocks"}, "inwardIssue": {"key": "{a}"}, "outwardIssue": {"key": "{b}"},
      "comment": {"body": "plain"}}, 400),
])
def test_bad_links_change_nothing(world: World, body: dict[str, Any], status: int) -> None:
    a, b = first_issue(world.site), first_issue(world.site, 1)
    text = json.dumps(body).replace("{a}", a.key).replace("{b}", b.key)
    before = pickle.dumps(world.site)
    assert world.request("POST", f"{API}/issueLink", raw_body=text).status == status
    assert pickle.dumps(world.site) == before


# -- worklogs ----------------------------------------------------------------------------------------------------------
def test_worklogs_add_read_update_delete_and_time_tracking(world: World) -> None:
    site = world.site
    issue = first_issue(site)
    first = ok(call(world, "POST", f"{API}/issue/{issue.key}/worklog", body={
        "timeSpent": "1d 2h 30m", "started": "2026-01-05T08:00:00.000+0000", "comment": doc("Investigated")}), 201)
    assert (first["timeSpent"], first["timeSpentSeconds"]) == ("1d 2h 30m", (8 + 2.5) * 3600)
    assert first["author"]["accountId"] == site.myself and first["issueId"] == issue.id
    second = ok(call(world, "POST", f"{API}/issue/{issue.key}/worklog", body={"timeSpentSeconds": 1800}), 201)
    assert second["started"] == second["created"] == site.clock
    logs = ok(call(world, "GET", f"{API}/issue/{issue.key}/worklog"))
    assert [w["id"] for w in logs["worklogs"]] == [first["id"], second["id"]] and logs["total"] == 2
    assert ok(call(world, "GET", f"{API}/issue/{issue.key}/worklog/{first['id']}"))["comment"] == doc("Investigated")
    tracking = ok(call(world, "GET", f"{API}/issue/{issue.key}", {"fields": "timetracking"}))["fields"]
    assert tracking["timetracking"] == {"timeSpent": "1d 3h", "timeSpentSeconds": 11 * 3600}
    updated = ok(call(world, "PUT", f"{API}/issue/{issue.key}/worklog/{second['id']}", body={"timeSpent": "1w"}))
    assert updated["timeSpentSeconds"] == 40 * 3600 and updated["started"] == second["started"]
    ok(call(world, "DELETE", f"{API}/issue/{issue.key}/worklog/{first['id']}"), 204)
    assert [w.id for w in site.issues[issue.id].worklogs] == [second["id"]]
    spent = [(i["from"] if "from" in i else None, i.get("to")) for g in history_of(world, issue.key)
             for i in g["items"] if i["field"] == "timespent"]
    assert spent == [(None, "37800"), ("37800", "39600"), ("39600", "181800"), ("181800", "144000")]


@pytest.mark.parametrize("body, field", [
    ({}, "timeLogged"),
    ({"timeSpent": "soon"}, "timeLogged"),
    ({"timeSpent": "0m"}, "timeLogged"),
    ({"timeSpentSeconds": -5}, "timeLogged"),
    ({"timeSpent": "1h", "started": "yesterday"}, "started"),
    ({"timeSpent": "1h", "comment": "plain"}, "comment"),
])
def test_bad_worklogs_are_400_and_change_nothing(world: World, body: dict[str, Any], field: str) -> None:
    issue = first_issue(world.site)
    before = pickle.dumps(world.site)
    assert field in errors_of(call(world, "POST", f"{API}/issue/{issue.key}/worklog", body=body))["errors"]
    assert pickle.dumps(world.site) == before
    assert call(world, "GET", f"{API}/issue/{issue.key}/worklog/1").status == 404


# -- components and versions -----------------------------------------------------------------------------------------
def test_components_list_page_create_update(world: World) -> None:
    site = world.site
    project = next(iter(site.projects.values()))
    listed = ok(call(world, "GET", f"{API}/project/{project.key}/components"))
    assert len(listed) == 3 and all(c["project"] == project.key for c in listed)
    page = ok(call(world, "GET", f"{API}/project/{project.key}/component", {"maxResults": "2",
                                                                           "orderBy": "-name"}))
    names = sorted((c["name"] for c in listed), reverse=True)
    assert [c["name"] for c in page["values"]] == names[:2] and page["isLast"] is False and "nextPage" in page
    counts = {c["id"]: c["issueCount"] for c in page["values"]}
    assert counts == {cid: sum(cid in i.components for i in site.issues.values()) for cid in counts}
    created = ok(call(world, "POST", f"{API}/component", body={
        "name": "Search", "project": project.key, "description": "Finding things", "leadAccountId": site.myself}),
        201)
    assert created["lead"]["accountId"] == site.myself and "leadAccountId" not in created
    assert ok(call(world, "GET", f"{API}/component/{created['id']}")) == created
    renamed = ok(call(world, "PUT", f"{API}/component/{created['id']}", body={"name": "Search API"}))
    assert renamed["name"] == "Search API" and renamed["description"] == "Finding things"
    before = world.snapshot()
    assert "already exists" in errors_of(call(world, "POST", f"{API}/component", body={
        "name": listed[0]["name"].upper(), "projectId": int(project.id)}))["errors"]["name"]
    assert call(world, "POST", f"{API}/component", body={"name": "X", "project": "NOPE"}).status == 404
    assert call(world, "POST", f"{API}/component", body={"name": "X"}).status == 400
    assert call(world, "POST", f"{API}/component", body={"name": " ", "project": project.key}).status == 400
    assert call(world, "POST", f"{API}/component", body={"name": "Y", "project": project.key,
                                                         "leadAccountId": "nobody"}).status == 400
    assert call(world, "GET", f"{API}/component/1").status == 404
    assert call(world, "GET", f"{API}/project/NOPE/components").status == 404
    assert world.snapshot() == before
    assert keys(world, 'component = "Search API"') == []
    ok(call(world, "PUT", f"{API}/issue/{first_issue(site).key}", body={"update": {
        "components": [{"add": {"name": "Search API"}}]}}), 204)
    assert keys(world, 'component = "search api"') == [first_issue(site).key]


def test_versions_list_page_create_update(world: World) -> None:
    site = world.site
    project = next(iter(site.projects.values()))
    listed = ok(call(world, "GET", f"{API}/project/{project.key}/versions"))
    assert [(v["name"], v["released"]) for v in listed] == [("1.0", True), ("1.1", True), ("2.0", False)]
    assert listed[2]["overdue"] is False and listed[0]["releaseDate"] == "2025-10-01"
    unreleased = ok(call(world, "GET", f"{API}/project/{project.key}/version", {"status": "unreleased"}))
    assert [v["name"] for v in unreleased["values"]] == ["2.0"] and unreleased["isLast"]
    newest = ok(call(world, "GET", f"{API}/project/{project.key}/version", {"orderBy": "-releaseDate",
                                                                           "maxResults": "1"}))
    assert [v["name"] for v in newest["values"]] == ["2.0"] and newest["total"] == 3
    created = ok(call(world, "POST", f"{API}/version", body={
        "name": "3.0", "projectId": int(project.id), "releaseDate": "2025-12-31", "description": "Next"}), 201)
    assert created["overdue"] is True and created["released"] is False  # its date has passed on the clock
    assert ok(call(world, "GET", f"{API}/version/{created['id']}")) == created
    released = ok(call(world, "PUT", f"{API}/version/{created['id']}", body={"released": True}))
    assert released["released"] and released["name"] == "3.0" and "overdue" in released
    before = world.snapshot()
    assert "already exists" in errors_of(call(world, "POST", f"{API}/version", body={
        "name": "1.0", "project": project.key}))["errors"]["name"]
    assert "releaseDate" in errors_of(call(world, "POST", f"{API}/version", body={
        "name": "4.0", "project": project.key, "releaseDate": "soon"}))["errors"]
    assert "releaseDate" in errors_of(call(world, "PUT", f"{API}/version/{created['id']}", body={
        "releaseDate": "31/12/2026"}))["errors"]
    assert call(world, "GET", f"{API}/version/1").status == 404
    assert world.snapshot() == before
    assert keys(world, "fixVersion in releasedVersions() and fixVersion = '3.0'") == []


# -- bulk create -------------------------------------------------------------------------------------------------------
def test_bulk_create_creates_the_valid_issues_and_lists_the_others(world: World) -> None:
    site = world.site
    project = next(iter(site.projects.values()))
    task = {"project": {"key": project.key}, "issuetype": {"name": "Task"}}
    r = ok(call(world, "POST", f"{API}/issue/bulk", body={"issueUpdates": [
        {"fields": {**task, "summary": "First"}},
        {"fields": {**task, "summary": ""}},
        {"fields": {**task, "summary": "Third"}, "update": {"labels": [{"add": "bulk"}]}},
    ]}), 201)
    assert [i["key"] for i in r["issues"]] == [f"{project.key}-{project.next_number - 2}",
                                               f"{project.key}-{project.next_number - 1}"]
    assert r["errors"] == [{"status": 400, "failedElementNumber": 1, "elementErrors": {
        "errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}}]
    assert site.issue(r["issues"][1]["key"]).labels == ["bulk"]
    before = world.snapshot()
    none = call(world, "POST", f"{API}/issue/bulk", body={"issueUpdates": [{"fields": {}}]})
    assert none.status == 400 and none.body["issues"] == [] and none.body["errors"][0]["failedElementNumber"] == 0
    too_many = call(world, "POST", f"{API}/issue/bulk", body={"issueUpdates": [{"fields": task}] * 51})
    assert too_many.status == 400 and too_many.body["errors"][0]["elementErrors"]["errorMessages"] == [
        "At most 50 issues can be created in one request."]
    missing = world.request("POST", f"{API}/issue/bulk", raw_body="")
    assert missing.status == 400 and missing.body["errors"][0]["elementErrors"]["errorMessages"] == [
        "The request body is missing."]
    assert world.snapshot() == before


# -- reads change nothing; bad input is answered -------------------------------------------------------------------
def reads(site: Site) -> list[tuple[str, str, dict[str, Any] | None, Any]]:
    issue = first_issue(site)
    project = next(iter(site.projects.values()))
    return [
        ("GET", f"{API}/myself", {"expand": "groups,applicationRoles"}, None), ("GET", f"{API}/project", None, None),
        ("GET", f"{API}/issuetype", None, None), ("GET", f"{API}/priority", None, None),
        ("GET", f"{API}/status", None, None), ("GET", f"{API}/statuscategory", None, None),
        ("GET", f"{API}/resolution", None, None), ("GET", f"{API}/user", {"accountId": site.myself}, None),
        ("GET", f"{API}/user/assignable/search", {"project": project.key}, None),
        ("GET", f"{API}/user/bulk", {"accountId": site.myself}, None),
        ("GET", f"{API}/group/member", {"groupname": "developers"}, None),
        ("GET", f"{API}/issue/{issue.key}/editmeta", None, None),
        ("GET", f"{API}/issue/{issue.key}", {"expand": "changelog,renderedFields,names,schema,editmeta"}, None),
        ("GET", f"{API}/issue/{issue.key}/changelog", None, None),
        ("POST", f"{API}/issue/{issue.key}/changelog/list", None, {"changelogIds": [1]}),
        ("POST", f"{API}/changelog/bulkfetch", None, {"issueIdsOrKeys": [issue.key]}),
        ("GET", f"{API}/issue/{issue.key}/watchers", None, None),
        ("GET", f"{API}/issue/{issue.key}/worklog", None, None), ("GET", f"{API}/issueLinkType", None, None),
        ("GET", f"{API}/project/{project.key}/components", None, None),
        ("GET", f"{API}/project/{project.key}/component", None, None),
        ("GET", f"{API}/project/{project.key}/versions", None, None),
        ("GET", f"{API}/project/{project.key}/version", None, None),
        ("GET", f"{API}/search/jql", {"jql": "status was Done or status changed or updated > -1d"}, None),
    ]


def test_reads_change_nothing_not_even_the_history(world: World) -> None:
    issue = first_issue(world.site)
    ok(call(world, "PUT", f"{API}/issue/{issue.key}", body={"fields": {"summary": "Renamed"}}), 204)
    before = pickle.dumps(world.site)
    for method, path, query, body in reads(world.site):
        r = call(world, method, path, query, body)
        assert r.status == 200, (path, r.body)
        assert spec().match(method, path)[0].write is False, path
    assert pickle.dumps(world.site) == before


HOSTILE = [
    ("GET", "/issue/{i}/comment/abc", None, None), ("PUT", "/issue/{i}/comment/abc", None, {"body": ADF}),
    ("DELETE", "/issue/{i}/comment/abc", None, None), ("GET", "/issue/{i}/worklog/x", None, None),
    ("PUT", "/issue/{i}/worklog/x", None, {"timeSpent": "1h"}), ("DELETE", "/issue/{i}/worklog/x", None, None),
    ("GET", "/issueLink/x", None, None), ("DELETE", "/issueLink/x", None, None),
    ("GET", "/issue/{i}/changelog", {"startAt": "abc"}, None), ("GET", "/user/bulk", {"maxResults": "x"}, None),
    ("POST", "/changelog/bulkfetch", None, {"issueIdsOrKeys": "X"}), ("POST", "/changelog/bulkfetch", None, [1]),
    ("POST", "/changelog/bulkfetch", None, {"issueIdsOrKeys": ["X"], "maxResults": 0}),
    ("POST", "/issue/{i}/changelog/list", None, {"changelogIds": ["x"]}), ("POST", "/issue/{i}/watchers", None, 5),
    ("POST", "/component", None, {"name": 5, "project": "{p}"}), ("PUT", "/component/x", None, {"name": "y"}),
    ("POST", "/version", None, {"project": "{p}"}), ("PUT", "/version/x", None, {"name": "y"}),
    ("POST", "/issue/bulk", None, {"issueUpdates": "x"}), ("POST", "/issue/bulk", None, {"issueUpdates": []}),
    ("GET", "/project/{p}/component", {"orderBy": "size"}, None), ("GET", "/project/NOPE/version", None, None),
    ("GET", "/issue/NOPE-1/editmeta", None, None), ("GET", "/issueLinkType/x", None, None),
    ("POST", "/issueLink", None, {"type": {}, "inwardIssue": {}, "outwardIssue": {}}),
    ("GET", "/group", None, None), ("GET", "/status/%00", None, None), ("PATCH", "/myself", None, None),
]


@pytest.mark.parametrize("method, path, query, body", HOSTILE)
def test_hostile_requests_get_a_jira_error_and_change_nothing(world: World, method: str, path: str,
                                                              query: dict[str, Any] | None, body: Any) -> None:
    site = world.site
    full = API + path.replace("{i}", first_issue(site).key).replace("{p}", next(iter(site.projects.values())).key)
    text = json.dumps(body).replace("{p}", next(iter(site.projects.values())).key) if body is not None else None
    before = pickle.dumps(site)
    r = world.request(method, full, query, raw_body=text)
    assert 400 <= r.status < 500, (full, r.status, r.body)
    if path != "/issue/bulk":
        assert errors_of(r)["errorMessages"] or r.body["errors"]
    assert pickle.dumps(world.site) == before


# -- every new operation, answered and conforming -----------------------------------------------------------------
def test_every_new_operation_is_answered_with_a_conforming_success(world: World) -> None:
    """One session that reaches every operation this surface adds; each answer is validated against its
    schema on the way (tests/conftest.py), and each must be a success."""
    site = world.site
    issue, other_issue = first_issue(site), first_issue(site, 1)
    project = next(iter(site.projects.values()))
    i, p = f"{API}/issue/{issue.key}", f"{API}/project/{project.key}"
    for method, path, query, body in [
        *reads(site),
        ("GET", f"{API}/issuetype/10001", None, None), ("GET", f"{API}/priority/3", None, None),
        ("GET", f"{API}/status/1", None, None), ("GET", f"{API}/resolution/10000", None, None),
        ("GET", f"{API}/group", {"groupname": "developers", "expand": "users"}, None),
        ("GET", f"{API}/issueLinkType/10003", None, None),
        ("PUT", i, None, {"fields": {"summary": "Renamed"}}),
        ("POST", f"{i}/watchers", None, site.myself), ("DELETE", f"{i}/watchers", {"accountId": site.myself}, None),
        ("POST", f"{i}/comment", None, {"body": ADF}),
        ("GET", f"{i}/comment/{{comment}}", None, None), ("PUT", f"{i}/comment/{{comment}}", None, {"body": ADF}),
        ("DELETE", f"{i}/comment/{{comment}}", None, None),
        ("POST", f"{API}/issueLink", None, {"type": {"name": "Relates"}, "inwardIssue": {"key": issue.key},
                                            "outwardIssue": {"key": other_issue.key}}),
        ("GET", f"{API}/issueLink/{{link}}", None, None), ("DELETE", f"{API}/issueLink/{{link}}", None, None),
        ("POST", f"{i}/worklog", None, {"timeSpent": "2h"}), ("GET", f"{i}/worklog/{{worklog}}", None, None),
        ("PUT", f"{i}/worklog/{{worklog}}", None, {"timeSpent": "3h"}),
        ("DELETE", f"{i}/worklog/{{worklog}}", None, None),
        ("POST", f"{API}/component", None, {"name": "New", "project": project.key}),
        ("GET", f"{API}/component/{{component}}", None, None),
        ("PUT", f"{API}/component/{{component}}", None, {"description": "Changed"}),
        ("POST", f"{API}/version", None, {"name": "9.0", "project": project.key}),
        ("GET", f"{API}/version/{{version}}", None, None),
        ("PUT", f"{API}/version/{{version}}", None, {"released": True}),
        ("GET", f"{p}/components", None, None),
        ("POST", f"{API}/issue/bulk", None, {"issueUpdates": [{"fields": {
            "project": {"key": project.key}, "issuetype": {"name": "Task"}, "summary": "Bulk"}}]}),
        ("POST", f"{i}/changelog/list", None, {"changelogIds": []}),
    ]:
        issue = site.issues[issue.id]
        path = path.format(comment=issue.comments[-1].id if issue.comments else "", link=next(iter(site.links), ""),
                           worklog=next((w.id for w in issue.worklogs), ""),
                           component=max(site.components, key=int), version=max(site.versions, key=int))
        r = call(world, method, path, query, body)
        assert r.status < 300, (method, path, r.status, r.body)
    answered = {e["operation"] for e in world.log if e["status"] < 300}
    assert NEW_OPERATIONS <= answered, sorted(NEW_OPERATIONS - answered)
    assert {op for op in NEW_OPERATIONS if spec().operations[op].document != "jira-v3"} == set()


def test_the_tools_models_see_are_unchanged() -> None:
    assert set(catalog.ALL_TOOLS).isdisjoint(NEW_OPERATIONS)
    assert len([t for t in catalog.ALL_TOOLS if catalog.tool(t).operation.document == "jira-v3"]) == 16


# -- the served site: credentials, the latest alias ------------------------------------------------------------------
def http(serving: Serving, method: str, path: str, body: Any = None, user: str | None = None) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    auth = "Bearer token" if user is None else "Basic " + base64.b64encode(f"{user}:token".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(serving.url + path, data=data, method=method,
                                 headers={"Authorization": auth, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.mark.contract
def test_served_site_acts_as_the_user_basic_credentials_name() -> None:
    with Serving(SEED) as serving:
        site = serving.app.world.site
        user = site.users[someone(site)]
        issue = first_issue(site)
        assert http(serving, "GET", f"{API}/myself", user=user.email.upper())[1]["accountId"] == user.account_id
        assert http(serving, "GET", f"{API}/myself", user="stranger@example.com")[1]["accountId"] == site.myself
        assert http(serving, "GET", f"{API}/myself")[1]["accountId"] == site.myself  # a bearer token
        status, comment = http(serving, "POST", f"{API}/issue/{issue.key}/comment", {"body": ADF}, user=user.email)
        assert status == 201 and comment["author"]["accountId"] == user.account_id
        status, _ = http(serving, "PUT", f"{API}/issue/{issue.key}/assignee", {"accountId": user.account_id},
                         user=user.email)
        status, found = http(serving, "POST", f"{API}/search/jql", {
            "jql": "assignee = currentUser() AND assignee changed by currentUser()", "fields": ["key"]},
            user=user.email)
        assert status == 200 and [i["key"] for i in found["issues"]] == [issue.key]


@pytest.mark.contract
def test_served_latest_alias_is_the_v2_flavour() -> None:
    with Serving(SEED) as serving:
        site = serving.app.world.site
        issue = first_issue(site)
        status, got = http(serving, "GET", f"/rest/api/latest/issue/{issue.key}?fields=description")
        assert status == 200 and isinstance(got["fields"]["description"], str)  # v2: plain text
        assert got["self"] == f"{serving.url}/rest/api/2/issue/{issue.id}"
        status, _ = http(serving, "PUT", f"/rest/api/latest/issue/{issue.key}/assignee", {"accountId": site.myself})
        assert status == 204 and serving.app.world.site.issues[issue.id].assignee == site.myself
        status, comment = http(serving, "POST", f"/rest/api/latest/issue/{issue.key}/comment", {"body": "Plain"})
        assert status == 201 and comment["body"] == "Plain"
        status, log = http(serving, "POST", f"/rest/api/2/issue/{issue.key}/worklog", {"timeSpent": "1h",
                                                                                       "comment": "Did it"})
        assert status == 201 and log["comment"] == "Did it"
        assert serving.app.world.site.issues[issue.id].worklogs[0].comment == doc("Did it")


# -- real clients -----------------------------------------------------------------------------------------------------
@pytest.mark.contract
@pytest.mark.parametrize("version", ["2", "3"])
def test_pycontribs_jira_session(version: str) -> None:
    from jira import JIRA

    text = (lambda t: t) if version == "2" else doc  # noqa: E731 - v2 takes plain text, v3 documents
    with Serving(SEED) as serving, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        site = serving.app.world.site
        client = JIRA(serving.url, basic_auth=("agent@example.com", "token"), options={"rest_api_version": version})
        project = next(iter(site.projects.values())).key
        key, other = f"{project}-1", f"{project}-2"
        assignee = someone(site)
        assert client.myself()["accountId"] == site.myself
        assert [p.key for p in client.projects()] == sorted(p.key for p in site.projects.values())
        assert [t.name for t in client.issue_types()][:2] == ["Task", "Bug"]
        assert len(client.priorities()) == 5 and len(client.statuses()) == len(site.statuses)
        assert client.user(assignee).accountId == assignee
        surname = site.users[assignee].display_name.split()[1]
        assert assignee in [u.accountId for u in client.search_assignable_users_for_issues(query=surname,
                                                                                           project=project)]
        client.assign_issue(key, assignee)  # through /rest/api/latest/
        issue = client.issue(key, expand="changelog,renderedFields")
        assert issue.fields.assignee.accountId == assignee
        assert [i.field for h in issue.changelog.histories for i in h.items] == ["assignee"]
        assert issue.renderedFields.description.startswith("<p>")
        client.add_watcher(key, assignee)
        assert client.watchers(key).watchCount == 1
        client.remove_watcher(key, assignee)
        assert [t.name for t in client.issue_link_types()] == ["Blocks", "Cloners", "Duplicate", "Relates"]
        client.create_issue_link("Blocks", key, other)
        assert [link.outwardIssue.key for link in client.issue(key).fields.issuelinks] == [other]
        client.add_worklog(key, timeSpent="2h", comment=text("Paired") if version == "2" else None)
        assert [w.timeSpentSeconds for w in client.worklogs(key)] == [7200]
        assert len(client.project_components(project)) == 3
        assert [v.name for v in client.project_versions(project)] == ["1.0", "1.1", "2.0"]
        assert client.create_component("Client", project).name == "Client"
        assert client.create_version("9.9", project).name == "9.9"
        created = client.create_issues([{"project": {"key": project}, "issuetype": {"name": "Task"},
                                         "summary": f"Bulk {n}"} for n in range(2)])
        assert [c["status"] for c in created] == ["Success", "Success"]
        comment = client.add_comment(key, text("First"))
        comment.update(body=text("Second"))
        assert client.comment(key, comment.id).raw["body"] == text("Second")
        comment.delete()
        assert all(c.id != comment.id for c in client.comments(key))
        found = client.search_issues(f"assignee changed to {assignee} AND updated >= -1h", maxResults=10)
        assert [i.key for i in found] == [key]
        assert "fixVersions" in client.editmeta(key)["fields"]
        assert site.myself in client.group_members("developers")


@pytest.mark.contract
def test_atlassian_python_api_jira_session() -> None:
    from atlassian import Jira

    with Serving(SEED) as serving:
        site = serving.app.world.site
        jira_api = Jira(serving.url, username="agent@example.com", password="token", cloud=True, api_version="3")
        project = next(iter(site.projects.values())).key
        key = f"{project}-1"
        assignee = someone(site)
        assert jira_api.myself()["accountId"] == site.myself
        assert len(jira_api.get_all_priorities()) == 5 and len(jira_api.get_all_statuses()) == len(site.statuses)
        assert len(jira_api.get_all_resolutions()) == len(site.resolutions)
        assert jira_api.user(account_id=assignee)["accountId"] == assignee
        assert assignee in [u["accountId"] for u in jira_api.get_all_assignable_users_for_project(project)]
        jira_api.assign_issue(key, assignee)
        changes = jira_api.get_issue_changelog(key)
        assert changes["total"] == 1 and changes["values"][0]["items"][0]["to"] == assignee
        jira_api.issue_add_watcher(key, assignee)
        assert jira_api.issue_get_watchers(key)["watchCount"] == 1
        jira_api.create_issue_link({"type": {"name": "Relates"}, "inwardIssue": {"key": key},
                                    "outwardIssue": {"key": f"{project}-2"}})
        jira_api.issue_worklog(key, "2026-01-05T10:00:00.000+0000", 3600)
        assert jira_api.issue_get_worklog(key)["total"] == 1
        assert [v["name"] for v in jira_api.get_project_versions(project)] == ["1.0", "1.1", "2.0"]
        assert len(jira_api.get_project_components(project)) == 3
        got = jira_api.get_issue(key, expand="changelog,renderedFields,names")
        assert got["changelog"]["total"] == 3 and got["names"]["issuelinks"] == "Linked Issues"
        found = jira_api.enhanced_jql("assignee was currentUser() OR assignee changed", fields="key")
        assert [i["key"] for i in found["issues"]] == [key]
