"""What a user's script does with each real client library, against the served simulator; and, in-process,
the routes those scripts and mcp-atlassian need beyond the scenarios' own.

One realistic session per library (contract tests): pycontribs `jira`, atlassian-python-api `Jira` and
`ConfluenceV2` here, `Confluence` in test_simulator_confluence_v1.py, each used as its documentation shows, with
only the URL and credentials set. Every call is counted; a call works when it returns and its answer is what the
site holds (checked against the site's state). At least 95 % of each session's calls work; the others are listed
with the reason they fail, which is the same on Atlassian Cloud (a client bug, or an operation the documentation
does not have).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scenarios.atlassian.documents import adf_text, storage_text
from scenarios.atlassian.jira_fields import available
from scenarios.atlassian.server import Serving
from scenarios.atlassian.site import Page, Site

SEED = 3
EMAIL, TOKEN = "agent@example.com", "api-token"


class Calls:
    """Calls through a client, each counted as working or not (and why)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, name: str, function: Callable[..., Any], *args: Any,
                 expect: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """The call's result (None when it raised); `expect` judges the answer (falsy or raising: wrong)."""
        try:
            result = function(*args, **kwargs)
            if isinstance(result, Iterator):
                result = list(result)
        except Exception as exc:  # the client's own errors (HTTPError, JIRAError ...) are what is counted
            self.calls.append((name, f"{type(exc).__name__}: {str(exc)[:300]}"))
            return None
        try:
            verdict = True if expect is None else expect(result)
        except Exception as exc:  # an answer the check cannot even read is a wrong answer
            verdict, result = f"{type(exc).__name__}: {exc}", None
        self.calls.append((name, None if verdict is True or (verdict and not isinstance(verdict, str)) else
                           f"wrong answer: {verdict if isinstance(verdict, str) else str(result)[:300]}"))
        return result

    @property
    def failures(self) -> dict[str, str]:
        return {name: reason for name, reason in self.calls if reason is not None}

    def judge(self, expected: dict[str, str]) -> None:
        """The failures are exactly the expected ones (name -> why, on Cloud too) and 95 % work."""
        assert set(self.failures) == set(expected), self.failures
        working = len(self.calls) - len(self.failures)
        assert working >= 0.95 * len(self.calls), f"{working} of {len(self.calls)} calls work"
        print(f"\n{working} of {len(self.calls)} calls work; failing: {sorted(self.failures)}")


@pytest.fixture
def served() -> Iterator[Serving]:
    with Serving(SEED) as serving, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield serving


def other_user(site: Site) -> Any:
    return next(u for u in site.users.values() if u.account_id != site.myself)


def kids(site: Site, page: Page) -> list[Page]:
    return sorted((p for p in site.pages.values() if p.parent == page.id and p.status == "current"),
                  key=lambda p: p.position)


def open_issues(site: Site, project_id: str) -> list[str]:
    """Keys of the project's issues not done, newest first (`ORDER BY created DESC`)."""
    found = [i for i in site.issues.values() if i.project == project_id and site.statuses[i.status].category != "done"]
    return [i.key for i in sorted(found, key=lambda i: i.created, reverse=True)]


# -- pycontribs jira ------------------------------------------------------------------------------------------
@pytest.mark.contract
def test_pycontribs_jira_triage_session(served: Serving) -> None:
    """A triage script with `jira.JIRA` (REST v2, the library's default): read the site, work a ticket through."""
    from jira import JIRA

    site, call = served.app.world.site, Calls()
    client = JIRA(served.url, basic_auth=(EMAIL, TOKEN))
    project = next(iter(site.projects.values()))
    user = other_user(site)
    call("server_info", client.server_info, expect=lambda r: r["deploymentType"] == "Cloud")
    call("myself", client.myself, expect=lambda r: r["accountId"] == site.myself)
    call("projects", client.projects, expect=lambda r: sorted(p.key for p in r) == sorted(
        p.key for p in site.projects.values()))
    call("project", client.project, project.key, expect=lambda r: r.name == project.name)
    call("project_components", client.project_components, project.key, expect=lambda r: [c.name for c in r] == [
        c.name for c in site.components.values() if c.project == project.id])
    call("project_versions", client.project_versions, project.key, expect=lambda r: [v.name for v in r] == [
        v.name for v in site.versions.values() if v.project == project.id])
    call("issue_types", client.issue_types, expect=lambda r: {t.name for t in r} == {
        t.name for t in site.issue_types.values()})
    call("priorities", client.priorities, expect=lambda r: [p.name for p in r] == list(site.priorities.values()))
    call("statuses", client.statuses, expect=lambda r: len(r) == len(site.statuses))
    call("resolutions", client.resolutions, expect=lambda r: len(r) == len(site.resolutions))
    call("fields", client.fields, expect=lambda r: "summary" in [f["id"] for f in r])
    found = call("search_issues", client.search_issues,
                 f"project = {project.key} AND statusCategory != Done ORDER BY created DESC", maxResults=50,
                 expect=lambda r: [i.key for i in r] == open_issues(site, project.id))
    key = found[0].key if found else f"{project.key}-1"
    call("issue (expanded)", client.issue, key, expand="changelog,renderedFields",
         expect=lambda r: r.fields.summary == site.issue(key).summary and r.changelog.total == 0)
    call("editmeta", client.editmeta, key, expect=lambda r: "summary" in r["fields"])
    call("search_assignable_users_for_issues", client.search_assignable_users_for_issues,
         query=user.display_name.split()[-1], project=project.key,
         expect=lambda r: user.account_id in [u.accountId for u in r])
    call("user", client.user, user.account_id, expect=lambda r: r.displayName == user.display_name)
    call("assign_issue", client.assign_issue, key, user.account_id,
         expect=lambda r: site.issue(key).assignee == user.account_id)
    comment = call("add_comment", client.add_comment, key, "Looking into it.",
                   expect=lambda r: adf_text(site.issue(key).comments[-1].body).strip() == "Looking into it.")
    call("comments", client.comments, key, expect=lambda r: r[-1].id == comment.id)
    call("comment.update", lambda: comment.update(body="Looking into it today."),
         expect=lambda r: adf_text(site.issue(key).comments[-1].body).strip() == "Looking into it today.")
    call("add_watcher", client.add_watcher, key, user.account_id,
         expect=lambda r: user.account_id in site.issue(key).watchers)
    call("watchers", client.watchers, key, expect=lambda r: r.watchCount == 1)
    call("remove_watcher", client.remove_watcher, key, user.account_id,
         expect=lambda r: site.issue(key).watchers == [])
    issue = client.issue(key)
    call("issue.update (labels)", issue.update, fields={"labels": ["triaged"]},
         expect=lambda r: site.issue(key).labels == ["triaged"])
    call("add_field_value", issue.add_field_value, "labels", "checkout",
         expect=lambda r: site.issue(key).labels == ["checkout", "triaged"])
    move = next(t for t in available(site, site.issue(key)) if not t.required)
    call("transitions", client.transitions, key, expect=lambda r: move.id in [t["id"] for t in r])
    call("transition_issue", client.transition_issue, key, move.id,
         expect=lambda r: site.issue(key).status == move.to)
    call("add_worklog", client.add_worklog, key, timeSpent="1h 30m", comment="Debugged the gateway.",
         expect=lambda r: site.issue(key).worklogs[-1].seconds == 5400)
    call("worklogs", client.worklogs, key, expect=lambda r: [w.timeSpentSeconds for w in r] == [5400])
    call("issue_link_types", client.issue_link_types, expect=lambda r: [t.name for t in r] == [
        t.name for t in site.link_types.values()])
    other = f"{project.key}-2" if key != f"{project.key}-2" else f"{project.key}-3"
    call("create_issue_link", client.create_issue_link, "Blocks", key, other,
         expect=lambda r: len(site.links) == 1)
    links = client.issue(key).fields.issuelinks
    call("delete_issue_link", client.delete_issue_link, links[0].id if links else "0",
         expect=lambda r: site.links == {})
    call("add_simple_link", client.add_simple_link, key, {"url": "https://status.example.com/7",
                                                          "title": "Incident 7"},
         expect=lambda r: site.issue(key).remote_links[-1].object["title"] == "Incident 7")
    call("remote_links", client.remote_links, key, expect=lambda r: [link.object.url for link in r] == [
        "https://status.example.com/7"])
    new = call("create_issue", client.create_issue, project=project.key, issuetype={"name": "Bug"},
               summary="Script: checkout fails", description="Steps:\n1. Pay with an EU card",
               priority={"name": "High"},
               expect=lambda r: site.issue(r.key).summary == "Script: checkout fails")
    call("create_issues", client.create_issues, [
        {"project": {"key": project.key}, "issuetype": {"name": "Task"}, "summary": f"Script: follow-up {n}"}
        for n in range(2)], expect=lambda r: [x["status"] for x in r] == ["Success", "Success"])
    call("create_version", client.create_version, "9.0", project.key,
         expect=lambda r: any(v.name == "9.0" for v in site.versions.values()))
    call("create_component", client.create_component, "Payments", project.key,
         expect=lambda r: any(c.name == "Payments" for c in site.components.values()))
    call("search_issues (functions)", client.search_issues,
         "assignee was currentUser() OR (reporter = currentUser() AND created >= -1d) ORDER BY key", maxResults=50,
         expect=lambda r: new.key in [i.key for i in r])
    call("group_members", client.group_members, "developers",
         expect=lambda r: set(r) == set(site.groups["developers"]))
    call("issue.delete", lambda: client.issue(new.key).delete(), expect=lambda r: site.issue(new.key) is None)
    call.judge({})


# -- atlassian-python-api Jira --------------------------------------------------------------------------------
@pytest.mark.contract
def test_atlassian_python_api_jira_session(served: Serving) -> None:
    """A reporting-and-upkeep script with `atlassian.Jira` (Cloud, REST v2, the library's default)."""
    from atlassian import Jira

    site, call = served.app.world.site, Calls()
    jira = Jira(served.url, username=EMAIL, password=TOKEN, cloud=True)
    project = list(site.projects.values())[1]
    user = other_user(site)
    call("get_server_info", jira.get_server_info, expect=lambda r: r["deploymentType"] == "Cloud")
    call("myself", jira.myself, expect=lambda r: r["accountId"] == site.myself)
    call("projects", jira.projects, expect=lambda r: len(r) == len(site.projects))
    call("get_project", jira.get_project, project.key, expect=lambda r: r["name"] == project.name)
    call("get_project_components", jira.get_project_components, project.key,
         expect=lambda r: len(r) == sum(c.project == project.id for c in site.components.values()))
    call("get_project_versions", jira.get_project_versions, project.key,
         expect=lambda r: len(r) == sum(v.project == project.id for v in site.versions.values()))
    call("get_issue_types", jira.get_issue_types, expect=lambda r: len(r) == len(site.issue_types))
    call("get_all_priorities", jira.get_all_priorities, expect=lambda r: len(r) == len(site.priorities))
    call("get_all_statuses", jira.get_all_statuses, expect=lambda r: len(r) == len(site.statuses))
    result = call("jql", jira.jql, f"project = {project.key} AND statusCategory != Done ORDER BY created DESC",
                  limit=50, expect=lambda r: [i["key"] for i in r["issues"]] == open_issues(site, project.id))
    key = result["issues"][0]["key"] if result else f"{project.key}-1"
    call("get_issue", jira.get_issue, key, expand="renderedFields,names",
         expect=lambda r: r["fields"]["summary"] == site.issue(key).summary and r["names"]["summary"] == "Summary")
    call("issue_exists", jira.issue_exists, key, expect=lambda r: r is True)
    call("get_all_assignable_users_for_project", jira.get_all_assignable_users_for_project, project.key,
         expect=lambda r: user.account_id in [u["accountId"] for u in r])
    call("user", jira.user, account_id=user.account_id, expect=lambda r: r["displayName"] == user.display_name)
    call("assign_issue", jira.assign_issue, key, user.account_id,
         expect=lambda r: site.issue(key).assignee == user.account_id)
    call("update_issue_field", jira.update_issue_field, key, {"labels": ["weekly"]},
         expect=lambda r: site.issue(key).labels == ["weekly"])
    call("get_issue_labels", jira.get_issue_labels, key, expect=lambda r: r == ["weekly"])
    comment = call("issue_add_comment", jira.issue_add_comment, key, "Status: in review.",
                   expect=lambda r: adf_text(site.issue(key).comments[-1].body).strip() == "Status: in review.")
    call("issue_get_comments", jira.issue_get_comments, key,
         expect=lambda r: r["comments"][-1]["id"] == comment["id"])
    call("issue_edit_comment", jira.issue_edit_comment, key, comment["id"] if comment else "0", "Status: merged.",
         expect=lambda r: adf_text(site.issue(key).comments[-1].body).strip() == "Status: merged.")
    move = next(t for t in available(site, site.issue(key)) if not t.required)
    call("get_issue_transitions", jira.get_issue_transitions, key,
         expect=lambda r: move.name in [t["name"] for t in r])
    call("set_issue_status", jira.set_issue_status, key, site.statuses[move.to].name,
         expect=lambda r: site.issue(key).status == move.to)
    call("get_issue_status", jira.get_issue_status, key, expect=lambda r: r == site.statuses[move.to].name)
    call("issue_add_watcher", jira.issue_add_watcher, key, user.account_id,
         expect=lambda r: site.issue(key).watchers == [user.account_id])
    call("issue_get_watchers", jira.issue_get_watchers, key, expect=lambda r: r["watchCount"] == 1)
    call("issue_worklog", jira.issue_worklog, key, "2026-01-05T10:00:00.000+0000", 3600,
         expect=lambda r: site.issue(key).worklogs[-1].seconds == 3600)
    call("issue_get_worklog", jira.issue_get_worklog, key, expect=lambda r: r["total"] == 1)
    call("get_issue_link_types", jira.get_issue_link_types, expect=lambda r: len(r) == len(site.link_types))
    call("create_issue_link", jira.create_issue_link, {"type": {"name": "Relates"}, "inwardIssue": {"key": key},
                                                       "outwardIssue": {"key": f"{project.key}-1"}},
         expect=lambda r: len(site.links) == 1)
    call("create_or_update_issue_remote_links", jira.create_or_update_issue_remote_links, key,
         "https://ci.example.com/build/42", "Build 42", global_id="ci-42",
         expect=lambda r: site.issue(key).remote_links[-1].global_id == "ci-42")
    call("get_issue_remote_links", jira.get_issue_remote_links, key,
         expect=lambda r: [x["object"]["title"] for x in r] == ["Build 42"])
    call("get_issue_changelog", jira.get_issue_changelog, key,
         expect=lambda r: [i["field"] for h in r["values"] for i in h["items"]][:2] == ["assignee", "labels"])
    created = call("issue_create", jira.issue_create, fields={
        "project": {"key": project.key}, "issuetype": {"name": "Task"}, "summary": "Script: weekly report",
        "priority": {"name": "Low"}}, expect=lambda r: site.issue(r["key"]).summary == "Script: weekly report")
    call("create_issues", jira.create_issues, [{"fields": {
        "project": {"key": project.key}, "issuetype": {"name": "Task"}, "summary": f"Script: chore {n}",
        "priority": {"name": "Low"}}} for n in range(2)], expect=lambda r: len(r["issues"]) == 2)
    call("add_version", jira.add_version, project.key, project.id, "9.0",
         expect=lambda r: any(v.name == "9.0" for v in site.versions.values()))
    call("enhanced_jql", jira.enhanced_jql, "assignee changed AND updated >= -1h", fields="key",
         expect=lambda r: [i["key"] for i in r["issues"]] == [key])
    call("delete_issue", jira.delete_issue, created["key"] if created else "X-1",
         expect=lambda r: site.issue(created["key"]) is None)
    call.judge({})


# -- atlassian-python-api ConfluenceV2 ------------------------------------------------------------------------
@pytest.mark.contract
def test_atlassian_python_api_confluence_v2_session(served: Serving) -> None:
    """A documentation sweep with `atlassian.ConfluenceV2` (the v2 REST API): walk a space, read every page under
    a section with its labels and comments, publish release notes, revise them, clean up.

    (`atlassian.Confluence`, the v1 client, has its session in test_simulator_confluence_v1.py.)"""
    from atlassian import ConfluenceV2

    site, call = served.app.world.site, Calls()
    c = ConfluenceV2(served.url + "/wiki", username=EMAIL, password=TOKEN, cloud=True)
    space = next(iter(site.spaces.values()))
    home = site.pages[space.homepage]
    section = kids(site, home)[0]
    call("get_spaces", c.get_spaces, expect=lambda r: sorted(s["key"] for s in r) == sorted(
        s.key for s in site.spaces.values()))
    call("get_space_names", c.get_space_names, expect=lambda r: len(r) == len(site.spaces))
    call("get_space_by_key", c.get_space_by_key, space.key, expect=lambda r: r["id"] == space.id)
    call("get_space", c.get_space, space.id, expect=lambda r: r["homepageId"] == home.id)
    call("get_pages", c.get_pages, space_id=space.id, body_format="storage",
         expect=lambda r: sorted(p["id"] for p in r) == sorted(p.id for p in site.pages.values()
                                                               if p.space == space.id))
    call("get_page_by_title", c.get_page_by_title, space.key, section.title,
         expect=lambda r: [p["id"] for p in r["results"]] == [section.id])
    call("get_page_id", c.get_page_id, space.key, section.title, expect=lambda r: r == section.id)
    call("get_child_pages", c.get_child_pages, section.id,
         expect=lambda r: [p["id"] for p in r] == [k.id for k in kids(site, section)])
    for page in [section, *kids(site, section)]:
        call("get_page_by_id", c.get_page_by_id, page.id, body_format="storage",
             expect=lambda r, page=page: (r["title"], r["body"]["storage"]["value"]) == (page.title, page.body))
        call("get_page_labels", c.get_page_labels, page.id,
             expect=lambda r, page=page: [x["name"] for x in r] == [site.labels[i].name for i in page.labels])
        call("get_page_footer_comments", c.get_page_footer_comments, page.id, body_format="storage",
             expect=lambda r, page=page: [x["body"]["storage"]["value"] for x in r] == [
                 x.body for x in page.comments])
    call("get_page_inline_comments", c.get_page_inline_comments, section.id, expect=lambda r: r == [])
    created = call("create_page", c.create_page, space_id=space.id, title="Script: release notes",
                   body="<p>Draft.</p>", parent_id=section.id,
                   expect=lambda r: site.pages[r["id"]].parent == section.id)
    nid = created["id"] if created else "0"
    call("update_page", c.update_page, nid, title="Script: release notes", body="<p>Version 9.0.</p>",
         version=1, status="current", expect=lambda r: site.pages[nid].body == "<p>Version 9.0.</p>")
    call("get_page_versions", c.get_page_versions, nid, expect=lambda r: [v["number"] for v in r["results"]] == [2, 1])
    call("get_all_page_versions", c.get_all_page_versions, nid,
         expect=lambda r: sorted(v["number"] for v in r) == [1, 2])
    call("get_page_by_id (updated)", c.get_page_by_id, nid, body_format="storage",
         expect=lambda r: (r["version"]["number"], r["body"]["storage"]["value"]) == (2, "<p>Version 9.0.</p>"))
    call("create_page_footer_comment", c.create_page_footer_comment, nid, "<p>Please review.</p>",
         expect=lambda r: site.pages[nid].comments)
    call("get_content_children", c.get_content_children, section.id,
         expect=lambda r: nid in [p["id"] for p in r])
    call("delete_page", c.delete_page, nid, expect=lambda r: site.pages[nid].status == "trashed")
    call("get_child_pages (after delete)", c.get_child_pages, section.id,
         expect=lambda r: nid not in [p["id"] for p in r])
    call.judge({"create_page_footer_comment": "the client posts to /wiki/api/v2/comments, which the v2 API does "
                                              "not have (footer comments are POST /footer-comments): 404 on Cloud"})


# == the routes behind these sessions, in-process (every answer checked against its schema: see conftest.py) ==
API, WIKI, V2 = "/rest/api/3", "/wiki/rest/api", "/wiki/api/v2"
DOC = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}
MOVE_FLAGS = {"inferClassificationDefaults": True, "inferFieldDefaults": True, "inferStatusDefaults": True,
              "inferSubtaskTypeDefault": True}


@pytest.fixture
def world() -> Any:
    from scenarios.atlassian.world import World

    return World(SEED)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status == status, (response.status, response.body)
    return response.body


def subtask_of(world: Any, key: str) -> str:
    sub = next(t.id for t in world.site.issue_types.values() if t.subtask)
    project = world.site.issue(key).project
    body = ok(world.request("POST", f"{API}/issue", body={"fields": {
        "project": {"id": project}, "issuetype": {"id": sub}, "summary": "Part", "parent": {"key": key}}}), 201)
    return body["key"]


def test_delete_issue_needs_delete_subtasks_for_a_parent_and_takes_its_links_and_history(world: Any) -> None:
    site = world.site
    key = next(i.key for i in site.issues.values() if "Sub-task" in [site.issue_types[t].name for t in
                                                                     site.projects[i.project].issue_types])
    part = subtask_of(world, key)
    ok(world.request("POST", f"{API}/issueLink", body={"type": {"name": "Relates"}, "inwardIssue": {"key": key},
                                                       "outwardIssue": {"key": "WEB-1"}}), 201)
    assert "subtasks" in ok(world.request("DELETE", f"{API}/issue/{key}"), 400)["errorMessages"][0]
    assert site.issue(key) is not None
    gone = site.issue(key).id
    ok(world.request("DELETE", f"{API}/issue/{key}", {"deleteSubtasks": "True"}), 204)  # any case, as Java reads it
    assert site.issue(key) is None and site.issue(part) is None and site.links == {}
    assert gone not in site.history.groups
    ok(world.request("GET", f"{API}/issue/{key}"), 404)


def test_move_gives_a_new_key_keeps_the_old_one_and_records_the_history(world: Any) -> None:
    site = world.site
    source = next(i for i in site.issues.values() if i.key.startswith("INFRA-") and i.components)
    target = site.project("WEB")
    old_key, status = source.key, site.statuses[source.status].name
    body = ok(world.request("POST", f"{API}/bulk/issues/move", body={"targetToSourcesMapping": {
        f"WEB,{source.issuetype}": {"issueIdsOrKeys": [old_key, "NOPE-1"], **MOVE_FLAGS}}}), 201)
    task = ok(world.request("GET", f"{API}/bulk/queue/{body['taskId']}"))
    assert (task["status"], task["processedAccessibleIssues"], task["invalidOrInaccessibleIssueCount"]) == (
        "COMPLETE", [int(source.id)], 1)
    moved = site.issues[source.id]
    assert moved.key == f"WEB-{target.next_number - 1}" and moved.project == target.id and moved.components == []
    assert site.issue(old_key) is moved and ok(world.request("GET", f"{API}/issue/{old_key}"))["key"] == moved.key
    in_target = status in [site.statuses[t.to].name for t in target.workflow.transitions]
    assert site.statuses[moved.status].name == (status if in_target else site.statuses[target.workflow.initial].name)
    items = ok(world.request("GET", f"{API}/issue/{moved.key}/changelog"))["values"][-1]["items"]
    assert [(i["field"], i.get("fromString"), i.get("toString")) for i in items][:2] == [
        ("project", "Infrastructure", "Web Platform"), ("Key", old_key, moved.key)]


@pytest.mark.parametrize("mapping, message", [
    ({"NOPE,10001": {"issueIdsOrKeys": ["INFRA-1"], **MOVE_FLAGS}}, "does not exist"),
    ({"WEB,99999": {"issueIdsOrKeys": ["INFRA-1"], **MOVE_FLAGS}}, "not available"),
    ({"WEB,10001": {"issueIdsOrKeys": ["INFRA-1"]}}, "is a required property"),  # the request check, same envelope
])
def test_bad_moves_are_400_in_the_bulk_envelope_and_move_nothing(world: Any, mapping: dict[str, Any],
                                                                 message: str) -> None:
    before = world.snapshot()
    body = ok(world.request("POST", f"{API}/bulk/issues/move", body={"targetToSourcesMapping": mapping}), 400)
    assert message in body["errors"][0]["message"] and world.snapshot() == before


def test_remote_links_create_update_by_global_id_read_and_delete(world: Any) -> None:
    site, path = world.site, f"{API}/issue/OPS-1/remotelink"
    link = {"globalId": "ci=1", "object": {"url": "https://ci.example.com/1", "title": "Build 1"}}
    made = ok(world.request("POST", path, body=link), 201)
    again = ok(world.request("POST", path, body={**link, "relationship": "built by"}), 200)
    assert made["id"] == again["id"] and len(site.issue("OPS-1").remote_links) == 1
    listed = ok(world.request("GET", path))
    assert [(x["id"], x["relationship"], x["object"]["title"]) for x in listed] == [(made["id"], "built by",
                                                                                     "Build 1")]
    assert ok(world.request("GET", path, {"globalId": "ci=1"}))["id"] == made["id"]
    ok(world.request("PUT", f"{path}/{made['id']}", body={"object": {"url": "https://ci.example.com/2",
                                                                       "title": "Build 2"}}), 204)
    assert ok(world.request("GET", f"{path}/{made['id']}"))["object"]["title"] == "Build 2"
    assert "title" in ok(world.request("POST", path, body={"object": {"url": "https://x", "title": " "}}), 400)[
        "errors"]
    ok(world.request("GET", f"{API}/issue/OPS-2/remotelink/{made['id']}"), 400)  # another issue's link
    ok(world.request("DELETE", path, {"globalId": "nope"}), 404)
    ok(world.request("DELETE", f"{path}/{made['id']}"), 204)
    assert site.issue("OPS-1").remote_links == []
    fields = [i["field"] for h in ok(world.request("GET", f"{API}/issue/OPS-1/changelog"))["values"]
              for i in h["items"]]
    assert fields == ["RemoteIssueLink", "RemoteIssueLink"]  # added, removed


def test_earlier_page_versions_are_kept_and_served(world: Any) -> None:
    page = next(p for p in world.site.pages.values() if p.parent)
    first = page.body
    for number, text in ((2, "<p>Two.</p>"), (3, "<p>Three.</p>")):
        ok(world.request("PUT", f"{WIKI}/content/{page.id}", body={
            "type": "page", "title": page.title, "version": {"number": number},
            "body": {"storage": {"value": text, "representation": "storage"}}}))
    old = ok(world.request("GET", f"{WIKI}/content/{page.id}", {"status": "historical", "version": "1",
                                                                  "expand": "body.storage,version"}))
    assert (old["status"], old["version"]["number"], old["body"]["storage"]["value"]) == ("historical", 1, first)
    ok(world.request("GET", f"{WIKI}/content/{page.id}", {"version": "9"}), 404)
    versions = ok(world.request("GET", f"{V2}/pages/{page.id}/versions"))["results"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert world.snapshot()["pages"][page.id]["version"] == 3  # the history stays out of the state


def test_replies_hang_under_their_comment(world: Any) -> None:
    page = next(p for p in world.site.pages.values() if p.comments)
    root = page.comments[0]
    reply = ok(world.request("POST", f"{WIKI}/content", {"expand": "ancestors"}, {
        "type": "comment", "container": {"id": page.id, "type": "page"}, "ancestors": [{"id": root.id}],
        "body": {"storage": {"value": "<p>Agreed.</p>", "representation": "storage"}}}))
    assert [a["id"] for a in reply["ancestors"]] == [root.id]
    assert [c["id"] for c in ok(world.request("GET", f"{WIKI}/content/{page.id}/child/comment"))["results"]] == [
        c.id for c in page.comments if c.parent is None]
    assert [c["id"] for c in ok(world.request("GET", f"{WIKI}/content/{root.id}/child/comment"))["results"]] == [
        reply["id"]]
    v2 = ok(world.request("POST", f"{V2}/footer-comments", body={
        "parentCommentId": root.id, "body": {"representation": "storage", "value": "<p>Me too.</p>"}}), 201)
    assert v2["parentCommentId"] == root.id
    children = ok(world.request("GET", f"{V2}/footer-comments/{root.id}/children"))["results"]
    assert [c["id"] for c in children] == [reply["id"], v2["id"]]
    assert root.id not in [c["id"] for c in children] and all(
        c["id"] != reply["id"] for c in ok(world.request("GET", f"{V2}/pages/{page.id}/footer-comments"))["results"])
    other = next(p for p in world.site.pages.values() if p.id != page.id and p.status == "current")
    ok(world.request("POST", f"{WIKI}/content", body={
        "type": "comment", "container": {"id": other.id, "type": "page"}, "ancestors": [{"id": root.id}],
        "body": {"storage": {"value": "<p>Lost.</p>", "representation": "storage"}}}), 400)
    ok(world.request("DELETE", f"{WIKI}/content/{root.id}"), 204)  # the thread goes with it
    assert all(c.id not in (root.id, reply["id"], v2["id"]) for c in page.comments)


def test_copy_page_to_a_space_under_a_page_and_over_a_page(world: Any) -> None:
    site = world.site
    source = next(p for p in site.pages.values() if p.labels and p.parent)
    hr = list(site.spaces.values())[1]
    copy = ok(world.request("POST", f"{WIKI}/content/{source.id}/copy", body={
        "destination": {"type": "space", "value": hr.key}, "copyLabels": True}))
    made = site.pages[copy["id"]]
    assert (made.space, made.parent, made.title, made.body, made.labels) == (hr.id, None, source.title, source.body,
                                                                            source.labels)
    under = ok(world.request("POST", f"{WIKI}/content/{source.id}/copy", body={
        "destination": {"type": "parent_page", "value": source.parent}, "pageTitle": "Copy"}))
    assert (site.pages[under["id"]].parent, site.pages[under["id"]].labels) == (source.parent, [])
    ok(world.request("POST", f"{WIKI}/content/{source.id}/copy", body={
        "destination": {"type": "parent_page", "value": source.parent}}), 400)  # the title is taken there
    target = next(p for p in site.pages.values() if p.space == source.space and p.parent and p.id != source.id)
    over = ok(world.request("POST", f"{WIKI}/content/{source.id}/copy", body={
        "destination": {"type": "existing_page", "value": target.id}, "pageTitle": "Replaced"}))
    assert (over["id"], target.title, target.body, target.version) == (target.id, "Replaced", source.body, 2)
    ok(world.request("POST", f"{WIKI}/content/{source.id}/copy", body={
        "destination": {"type": "parent_page", "value": "99999"}}), 404)


def test_restrictions_are_kept_reported_and_replaced(world: Any) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.parent)
    user = other_user(site)
    path = f"{WIKI}/content/{page.id}/restriction"
    empty = ok(world.request("GET", f"{path}/byOperation"))
    assert empty["read"]["restrictions"]["user"]["results"] == [] and empty["update"]["operation"] == "update"
    ok(world.request("PUT", path, body=[{"operation": "read", "restrictions": {
        "user": [{"type": "known", "accountId": user.account_id}],
        "group": [{"type": "group", "name": "developers"}]}}]))
    ok(world.request("POST", path, body={"results": [{"operation": "update", "restrictions": {
        "user": {"results": [{"type": "known", "accountId": user.account_id}]}}}]}))
    assert page.restrictions == {"read": {"user": [user.account_id], "group": ["developers"]},
                                 "update": {"user": [user.account_id]}}
    got = ok(world.request("GET", path))["results"]
    assert [(r["operation"], [u["accountId"] for u in r["restrictions"]["user"]["results"]]) for r in got] == [
        ("read", [user.account_id]), ("update", [user.account_id])]
    for bad in ({"operation": "administer", "restrictions": {"group": [{"type": "group", "name": "developers"}]}},
                {"operation": "read", "restrictions": {"user": [{"type": "known", "accountId": "nobody"}]}},
                {"operation": "read", "restrictions": {"group": [{"type": "group", "name": "nobody"}]}}):
        ok(world.request("PUT", path, body=[bad]), 400)
    ok(world.request("DELETE", path))
    assert page.restrictions == {}


def test_v2_delete_page_trashes_then_purges_and_inline_comments_are_none(world: Any) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.parent and any(k.parent == p.id for k in site.pages.values()))
    below = [k.id for k in kids(site, page)]
    assert ok(world.request("GET", f"{V2}/pages/{page.id}/inline-comments"))["results"] == []
    ok(world.request("DELETE", f"{V2}/pages/{page.id}", {"purge": "true"}), 404)  # only a trashed page is purged
    ok(world.request("DELETE", f"{V2}/pages/{page.id}"), 204)
    assert page.status == "trashed" and all(site.pages[k].parent == page.parent for k in below)
    ok(world.request("DELETE", f"{V2}/pages/{page.id}", {"purge": "true"}), 204)
    assert page.id not in site.pages
    home = next(iter(site.spaces.values())).homepage
    ok(world.request("DELETE", f"{V2}/pages/{home}"), 400)


@pytest.mark.contract
def test_the_served_site_answers_as_the_site_a_proxy_request_names(served: Serving) -> None:
    import json
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler(
        {"http": f"http://127.0.0.1:{served.server.server_port}"}))
    request = urllib.request.Request("http://acme.atlassian.net/rest/api/3/issue/OPS-1",
                                     headers={"Authorization": "Bearer token"})
    with opener.open(request, timeout=10) as response:
        body = json.loads(response.read())
    assert body["key"] == "OPS-1" and body["self"] == f"http://acme.atlassian.net{API}/issue/{body['id']}"


def test_inline_comments_anchor_to_text_on_the_page(world: Any) -> None:
    page = next(p for p in world.site.pages.values() if p.comments)
    text = storage_text(page.body).split()[0]
    count = storage_text(page.body).count(text)

    def create(selection: str, matches: int, index: int = 0, status: int = 201) -> Any:
        return ok(world.request("POST", f"{V2}/inline-comments", body={
            "pageId": page.id, "body": {"representation": "storage", "value": "<p>Why?</p>"},
            "inlineCommentProperties": {"textSelection": selection, "textSelectionMatchCount": matches,
                                        "textSelectionMatchIndex": index}}), status)

    made = create(text, count)
    assert made["properties"]["inlineOriginalSelection"] == text and made["resolutionStatus"] == "open"
    create("words nowhere on the page", 1, status=400)
    create(text, count + 1, status=400)
    create(text, count, index=count, status=400)
    assert [c["id"] for c in ok(world.request("GET", f"{V2}/pages/{page.id}/inline-comments"))["results"]] == [
        made["id"]]
    footer = [c["id"] for c in ok(world.request("GET", f"{V2}/pages/{page.id}/footer-comments"))["results"]]
    assert made["id"] not in footer
    v1 = ok(world.request("GET", f"{WIKI}/content/{page.id}/child/comment", {"location": "inline"}))["results"]
    assert [(c["id"], c["extensions"]["location"]) for c in v1] == [(made["id"], "inline")]
    everything = ok(world.request("GET", f"{WIKI}/content/{page.id}/child/comment"))["results"]
    assert [c["id"] for c in everything] == [*footer, made["id"]]
