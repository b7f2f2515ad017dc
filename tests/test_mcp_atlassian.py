"""Contract test: mcp-atlassian, the MCP server agents use for Jira and Confluence, against the served simulator.

mcp-atlassian (0.23.1, in its own environment `.venv/mcp-atlassian`, which `make` installs) runs over stdio,
driven by the `mcp` client package, configured as Atlassian **Cloud** for both products: it treats a site as
Cloud only when its host ends in `.atlassian.net`, so it is given `http://sim.atlassian.net` and an HTTP proxy
that is the served simulator, which answers absolute-form requests as the site they name. Nothing outside the
test changes (no hosts file, no network).

Every tool it lists is called once, in an order a user's session would take, with arguments from the seeded
site; each answer is checked against the site (what the tool returns names the right issues and pages, a write
shows in the site's state). Each tool has one of three verdicts:

- **works**: the answer is correct;
- **cloud**: it fails on Atlassian Cloud exactly as here (the reason, from the documentation, is given);
- **outside**: it calls an API the simulator does not serve (another product's, or data the site does not have).

| tool | verdict | reason |
|---|---|---|
| `jira_get_user_profile` | works |  |
| `jira_search_assignable_users` | works |  |
| `jira_get_all_projects` | works |  |
| `jira_search_projects` | works |  |
| `jira_get_project_issue_types` | works |  |
| `jira_get_create_fields` | works |  |
| `jira_get_project_fields` | cloud | reads the per-type create metadata's `values`; Cloud answers it as `fields` (PageOfCreateMetaIssueTypeWithField in the v3 docs), so the tool lists no field there either |
| `jira_get_project_versions` | works |  |
| `jira_get_project_components` | works |  |
| `jira_search_fields` | works |  |
| `jira_get_field_options` | outside | lists a custom field's options through its contexts (`/field/{id}/context`); the site has no custom fields and the simulator serves no field contexts |
| `jira_get_issue` | works |  |
| `jira_search` | works |  |
| `jira_get_project_issues` | works |  |
| `jira_get_transitions` | works |  |
| `jira_get_issue_watchers` | works |  |
| `jira_add_watcher` | works |  |
| `jira_remove_watcher` | works |  |
| `jira_get_link_types` | works |  |
| `jira_create_issue` | works |  |
| `jira_batch_create_issues` | works |  |
| `jira_update_issue` | works |  |
| `jira_assign_issue` | works |  |
| `jira_add_comment` | works |  |
| `jira_edit_comment` | works |  |
| `jira_add_worklog` | works |  |
| `jira_get_worklog` | works |  |
| `jira_transition_issue` | works |  |
| `jira_batch_get_changelogs` | works |  |
| `jira_create_issue_link` | works |  |
| `jira_get_cross_project_dependencies` | works |  |
| `jira_remove_issue_link` | works |  |
| `jira_create_remote_issue_link` | works |  |
| `jira_link_to_epic` | works |  |
| `jira_get_project_epic_hierarchy` | works |  |
| `jira_create_version` | works |  |
| `jira_batch_create_versions` | works |  |
| `jira_update_version` | works |  |
| `jira_get_issue_dates` | works |  |
| `jira_get_issue_sla` | works |  |
| `jira_download_attachments` | works |  |
| `jira_get_issue_images` | works |  |
| `jira_move_issue` | works |  |
| `jira_delete_issue` | works |  |
| `jira_get_agile_boards` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_get_board_issues` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_get_sprints_from_board` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_get_sprint_issues` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_create_sprint` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_update_sprint` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_add_issues_to_sprint` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_move_issues_to_backlog` | outside | the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated |
| `jira_get_service_desk_for_project` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_get_service_desk_queues` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_get_queue_issues` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_get_request_types` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_get_request_type_fields` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_create_customer_request` | outside | Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated |
| `jira_get_issue_proforma_forms` | outside | ProForma forms (the Forms app's API) are another product's; not simulated |
| `jira_get_proforma_form_details` | outside | ProForma forms (the Forms app's API) are another product's; not simulated |
| `jira_update_proforma_form_answers` | outside | ProForma forms (the Forms app's API) are another product's; not simulated |
| `jira_get_issue_development_info` | outside | development information (`/rest/dev-status`, Bitbucket/GitHub links) is an internal API; not simulated |
| `jira_get_issues_development_info` | outside | development information (`/rest/dev-status`, Bitbucket/GitHub links) is an internal API; not simulated |
| `confluence_search` | works |  |
| `confluence_get_page` | works |  |
| `confluence_get_page_children` | works |  |
| `confluence_get_space_page_tree` | works |  |
| `confluence_get_comments` | works |  |
| `confluence_reply_to_comment` | works |  |
| `confluence_get_labels` | works |  |
| `confluence_add_label` | works |  |
| `confluence_search_user` | works |  |
| `confluence_create_page` | works |  |
| `confluence_update_page` | works |  |
| `confluence_update_page_section` | works |  |
| `confluence_get_page_history` | works |  |
| `confluence_get_page_diff` | works |  |
| `confluence_add_comment` | works |  |
| `confluence_get_page_restrictions` | works |  |
| `confluence_set_page_restrictions` | works |  |
| `confluence_copy_page` | works |  |
| `confluence_move_page` | outside | moves through `/wiki/pages/movepage.action`, an action of the web UI that no REST document describes (v1's is `PUT /wiki/rest/api/content/{id}/move/{position}/{targetId}`); not simulated |
| `confluence_add_inline_comment` | works |  |
| `confluence_get_inline_comments` | works |  |
| `confluence_delete_page` | works |  |
| `confluence_get_attachments` | works |  |
| `confluence_download_content_attachments` | works |  |
| `confluence_get_page_images` | works |  |
| `confluence_upload_attachment` | outside | attachments (uploaded files) are not simulated: the site's pages have none |
| `confluence_upload_attachments` | outside | attachments (uploaded files) are not simulated: the site's pages have none |
| `confluence_download_attachment` | outside | attachments (uploaded files) are not simulated: the site's pages have none |
| `confluence_delete_attachment` | outside | attachments (uploaded files) are not simulated: the site's pages have none |
| `confluence_get_page_views` | outside | page analytics (`/wiki/rest/api/analytics`): the site records no views |
| `confluence_list_page_templates` | outside | page templates (`/wiki/rest/api/template`) are not simulated |
| `confluence_get_page_template` | outside | page templates (`/wiki/rest/api/template`) are not simulated |
| `confluence_create_page_from_template` | outside | page templates (`/wiki/rest/api/template`) are not simulated |
| `confluence_check_content_permissions` | outside | space permissions and permission checks (v2 `/permissions`, `/permission/check`) are not simulated |
| `confluence_get_space_permissions` | outside | space permissions and permission checks (v2 `/permissions`, `/permission/check`) are not simulated |
"""  # noqa: E501 - the table's rows are one line each

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scenarios.atlassian.documents import adf_text, storage_text
from scenarios.atlassian.server import Serving
from scenarios.atlassian.site import Page, Site

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / ".venv" / "mcp-atlassian" / "bin" / "mcp-atlassian"
SEED = 3
HOST = "http://sim.atlassian.net"
EMAIL = "agent@example.com"
WORKS, CLOUD, OUTSIDE = "works", "cloud", "outside"
# The tools of the toolsets whose APIs the simulator serves (Jira platform REST, Confluence pages, comments,
# labels and users): the ones the targets count.
JIRA_SCOPE = ("jira_users", "jira_watchers", "jira_issues", "jira_fields", "jira_transitions", "jira_worklog",
              "jira_links", "jira_comments", "jira_projects")
CONFLUENCE_SCOPE = ("confluence_pages", "confluence_comments", "confluence_labels", "confluence_users")


# -- calling tools --------------------------------------------------------------------------------------------
@dataclass
class Answer:
    error: bool
    text: str
    data: Any  # the text as JSON when it is JSON
    requests: list[dict[str, Any]]  # what the call sent to the site: the world's log entries

    def unserved(self) -> list[str]:
        """The paths of the requests the simulator has no operation for."""
        return [f"{r['method']} {r['path']}" for r in self.requests if r["operation"] is None]


@dataclass
class Session:
    """The MCP session, the served site, and what earlier steps left for later ones."""

    mcp: Any
    serving: Serving
    upload: Path  # a file to attach
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def site(self) -> Site:
        return self.serving.app.world.site

    async def call(self, tool: str, **arguments: Any) -> Answer:
        log = self.serving.app.world.log
        mark = len(log)
        result = await self.mcp.call_tool(tool, arguments)
        text = "".join(c.text for c in result.content if hasattr(c, "text"))
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        return Answer(bool(result.isError), text, data, list(log[mark:]))


Check = Callable[[Session], Awaitable[None]]


@dataclass
class Step:
    tool: str
    verdict: str
    reason: str
    check: Check


STEPS: list[Step] = []


def step(tool: str, verdict: str = WORKS, reason: str = "") -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        STEPS.append(Step(tool, verdict, reason, check))
        return check
    return register


def outside(tool: str, reason: str, **arguments: Any) -> None:
    """A tool whose API the simulator does not serve: it must say so, never answer as if the data were there.
    Either it reaches an unserved path, or it refuses before calling (mcp-atlassian's own checks), or the site
    answers it as Cloud answers a site without that product or data (an error)."""

    async def check(s: Session) -> None:
        answer = await s.call(tool, **{k: v(s) if callable(v) else v for k, v in arguments.items()})
        if answer.unserved():
            return
        assert all(r["status"] >= 400 for r in answer.requests), answer.requests
        assert answer.requests or refused(answer), f"expected an error, got {answer.text[:300]}"
    STEPS.append(Step(tool, OUTSIDE, reason, check))


def refused(answer: Answer) -> bool:
    """Whether the tool says it failed (an MCP error, or a result that says so)."""
    data = answer.data
    return answer.error or isinstance(data, dict) and (data.get("success") is False or "error" in data)


def ok(answer: Answer) -> Any:
    assert not answer.error, answer.text[:500]
    return answer.data


# -- the seeded site --------------------------------------------------------------------------------------------
def project(s: Session, n: int = 0) -> Any:
    return list(s.site.projects.values())[n]


def someone(s: Session) -> Any:
    return next(u for u in s.site.users.values() if u.account_id != s.site.myself)


def issue(s: Session, key: str) -> Any:
    found = s.site.issue(key)
    assert found is not None, f"no issue {key} on the site"
    return found


def space(s: Session, n: int = 0) -> Any:
    return list(s.site.spaces.values())[n]


def kids(site: Site, page: Page) -> list[Page]:
    return sorted((p for p in site.pages.values() if p.parent == page.id and p.status == "current"),
                  key=lambda p: p.position)


def words(text: str) -> list[str]:
    return text.split()


def type_id(s: Session, name: str) -> str:
    return next(t.id for t in s.site.issue_types.values() if t.name == name)


# == Jira ======================================================================================================
@step("jira_get_user_profile")
async def _(s: Session) -> None:
    user = someone(s)
    got = ok(await s.call("jira_get_user_profile", user_identifier=user.email))
    assert got["user"]["account_id"] == user.account_id and got["user"]["display_name"] == user.display_name


@step("jira_search_assignable_users")
async def _(s: Session) -> None:
    user = someone(s)
    got = ok(await s.call("jira_search_assignable_users", query=user.display_name.split()[-1],
                          project_key=project(s).key))
    assert user.account_id in [u["account_id"] for u in got["users"]]


@step("jira_get_all_projects")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_all_projects"))
    assert sorted(p["key"] for p in got) == sorted(p.key for p in s.site.projects.values())


@step("jira_search_projects")
async def _(s: Session) -> None:
    wanted = project(s, 1)
    got = ok(await s.call("jira_search_projects", query=wanted.name.split()[0]))
    assert [p["key"] for p in got] == [wanted.key]


@step("jira_get_project_issue_types")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_project_issue_types", project_key=project(s).key))
    assert [t["id"] for t in got] == project(s).issue_types


@step("jira_get_create_fields")
async def _(s: Session) -> None:
    p = project(s)
    task = type_id(s, "Task")
    got = ok(await s.call("jira_get_create_fields", project_key=p.key, issue_type_id=task))
    assert [f["field_id"] for f in got] == [f.id for f in p.screens[task]]
    assert {f["field_id"] for f in got if f["required"]} == {f.id for f in p.screens[task] if f.required}


@step("jira_get_project_fields", CLOUD,
      "reads the per-type create metadata's `values`; Cloud answers it as `fields` (PageOfCreateMetaIssueTypeWith"
      "Field in the v3 docs), so the tool lists no field there either")
async def _(s: Session) -> None:
    p = project(s)
    answer = await s.call("jira_get_project_fields", project_key=p.key)
    assert ok(answer) == []
    metas = [r for r in answer.requests if r["operation"] == "getCreateIssueMetaIssueTypeId"]
    assert len(metas) == len(p.issue_types) and all(r["status"] == 200 for r in metas)
    first = s.serving.app.world.request("GET", f"/rest/api/3/issue/createmeta/{p.key}/issuetypes/{p.issue_types[0]}")
    assert first.body["fields"] and "values" not in first.body  # what the tool read: the fields, as `fields`


@step("jira_get_project_versions")
async def _(s: Session) -> None:
    p = project(s)
    got = ok(await s.call("jira_get_project_versions", project_key=p.key))
    assert [v["name"] for v in got] == [v.name for v in s.site.versions.values() if v.project == p.id]


@step("jira_get_project_components")
async def _(s: Session) -> None:
    p = project(s)
    got = ok(await s.call("jira_get_project_components", project_key=p.key))
    assert [c["name"] for c in got] == [c.name for c in s.site.components.values() if c.project == p.id]


@step("jira_search_fields")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_search_fields", keyword="fix version"))
    assert got[0]["id"] == "fixVersions"


outside("jira_get_field_options", "lists a custom field's options through its contexts (`/field/{id}/context`); "
        "the site has no custom fields and the simulator serves no field contexts", field_id="customfield_10020")


@step("jira_get_issue")
async def _(s: Session) -> None:
    key = f"{project(s).key}-4"
    got = ok(await s.call("jira_get_issue", issue_key=key, fields="*all", expand="changelog"))
    i = issue(s, key)
    assert (got["key"], got["summary"]) == (i.key, i.summary)
    assert got["status"]["name"] == s.site.statuses[i.status].name
    assert got["description"] == adf_text(i.description).strip()


@step("jira_search")
async def _(s: Session) -> None:
    p = project(s)
    component = next(c for c in s.site.components.values() if c.project == p.id and any(
        c.id in i.components for i in s.site.issues.values()))
    got = ok(await s.call("jira_search", jql=f'project = {p.key} AND component = "{component.name}" ORDER BY key',
                          fields="summary,components", limit=50))
    expected = sorted((i for i in s.site.issues.values() if component.id in i.components),
                      key=lambda i: int(i.key.split("-")[1]))
    assert [i["key"] for i in got["issues"]] == [i.key for i in expected]


@step("jira_get_project_issues")
async def _(s: Session) -> None:
    p = project(s, 2)
    got = ok(await s.call("jira_get_project_issues", project_key=p.key, limit=50))
    assert sorted(i["key"] for i in got["issues"]) == sorted(i.key for i in s.site.issues.values()
                                                            if i.project == p.id)


@step("jira_get_transitions")
async def _(s: Session) -> None:
    from scenarios.atlassian.jira_fields import available

    i = issue(s, f"{project(s).key}-1")
    got = ok(await s.call("jira_get_transitions", issue_key=i.key))
    assert sorted(str(t["id"]) for t in got) == sorted(t.id for t in available(s.site, i))


@step("jira_get_issue_watchers")
async def _(s: Session) -> None:
    i = issue(s, f"{project(s).key}-1")
    got = ok(await s.call("jira_get_issue_watchers", issue_key=i.key))
    assert got["watcher_count"] == len(i.watchers)


@step("jira_add_watcher")
async def _(s: Session) -> None:
    key, user = f"{project(s).key}-1", someone(s)
    ok(await s.call("jira_add_watcher", issue_key=key, user_identifier=user.account_id))
    assert user.account_id in issue(s, key).watchers
    got = ok(await s.call("jira_get_issue_watchers", issue_key=key))
    assert [w["account_id"] for w in got["watchers"]] == [user.account_id]


@step("jira_remove_watcher")
async def _(s: Session) -> None:
    key, user = f"{project(s).key}-1", someone(s)
    ok(await s.call("jira_remove_watcher", issue_key=key, account_id=user.account_id))
    assert user.account_id not in issue(s, key).watchers


@step("jira_get_link_types")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_link_types"))
    assert [t["name"] for t in got] == [t.name for t in s.site.link_types.values()]


@step("jira_create_issue")
async def _(s: Session) -> None:
    p = project(s)
    component = next(c for c in s.site.components.values() if c.project == p.id)
    got = ok(await s.call("jira_create_issue", project_key=p.key, summary="MCP: checkout fails", issue_type="Task",
                          description="Fails for **EU** cards.", components=component.name,
                          additional_fields=json.dumps({"labels": ["mcp"], "priority": {"name": "High"}})))
    i = issue(s, got["issue"]["key"])
    assert (i.summary, i.labels, i.components) == ("MCP: checkout fails", ["mcp"], [component.id])
    assert s.site.priorities[i.priority] == "High" and adf_text(i.description).strip() == "Fails for EU cards."
    s.memo["created"] = i.key


@step("jira_batch_create_issues")
async def _(s: Session) -> None:
    p = project(s, 1)
    issues = [{"project_key": p.key, "summary": f"MCP bulk {n}", "issue_type": kind, "priority": {"name": "Low"},
               "description": "Found in the **nightly** run."} for n, kind in enumerate(["Task", "Bug"])]
    got = ok(await s.call("jira_batch_create_issues", issues=json.dumps(issues)))
    made = [issue(s, i["key"]) for i in got["issues"]]
    assert [(i.summary, s.site.issue_types[i.issuetype].name, s.site.priorities[i.priority]) for i in made] == [
        ("MCP bulk 0", "Task", "Low"), ("MCP bulk 1", "Bug", "Low")]


@step("jira_update_issue")
async def _(s: Session) -> None:
    key = s.memo["created"]
    ok(await s.call("jira_update_issue", issue_key=key, fields=json.dumps({"summary": "MCP: checkout fails (EU)",
                                                                          "labels": ["mcp", "payments"]})))
    assert (issue(s, key).summary, issue(s, key).labels) == ("MCP: checkout fails (EU)", ["mcp", "payments"])


@step("jira_assign_issue")
async def _(s: Session) -> None:
    key, user = s.memo["created"], someone(s)
    ok(await s.call("jira_assign_issue", issue_key=key, assignee=user.email))
    assert issue(s, key).assignee == user.account_id


@step("jira_add_comment")
async def _(s: Session) -> None:
    key = s.memo["created"]
    got = ok(await s.call("jira_add_comment", issue_key=key, body="Reproduced on staging."))
    comment = issue(s, key).comments[-1]
    assert got["id"] == comment.id and adf_text(comment.body).strip() == "Reproduced on staging."
    s.memo["comment"] = comment.id


@step("jira_edit_comment")
async def _(s: Session) -> None:
    key = s.memo["created"]
    ok(await s.call("jira_edit_comment", issue_key=key, comment_id=s.memo["comment"], body="Reproduced on prod."))
    comment = next(c for c in issue(s, key).comments if c.id == s.memo["comment"])
    assert adf_text(comment.body).strip() == "Reproduced on prod."


@step("jira_add_worklog")
async def _(s: Session) -> None:
    key = s.memo["created"]
    ok(await s.call("jira_add_worklog", issue_key=key, time_spent="2h 30m", comment="Paired on it"))
    log = issue(s, key).worklogs[-1]
    assert log.seconds == 9000 and adf_text(log.comment).strip() == "Paired on it"


@step("jira_get_worklog")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_worklog", issue_key=s.memo["created"]))
    assert [w["time_spent_seconds"] for w in got["worklogs"]] == [9000]


@step("jira_transition_issue")
async def _(s: Session) -> None:
    from scenarios.atlassian.jira_fields import available

    i = issue(s, s.memo["created"])
    t = next(t for t in available(s.site, i) if not t.required)
    ok(await s.call("jira_transition_issue", issue_key=i.key, transition_id=t.id, comment="Starting."))
    assert issue(s, i.key).status == t.to and adf_text(issue(s, i.key).comments[-1].body).strip() == "Starting."


@step("jira_batch_get_changelogs")
async def _(s: Session) -> None:
    i = issue(s, s.memo["created"])
    got = ok(await s.call("jira_batch_get_changelogs", issue_ids_or_keys=i.key, fields="assignee,status"))
    items = [item for entry in got for change in entry["changelogs"] for item in change["items"]]
    assert [x["field"] for x in items] == ["assignee", "status"]
    assert items[0]["to_string"] == s.site.users[i.assignee].display_name


@step("jira_create_issue_link")
async def _(s: Session) -> None:
    key, other = s.memo["created"], f"{project(s, 1).key}-1"
    ok(await s.call("jira_create_issue_link", link_type="Blocks", inward_issue_key=key, outward_issue_key=other))
    link = next(link for link in s.site.links.values()
                if (link.inward, link.outward) == (issue(s, key).id, issue(s, other).id))
    assert s.site.link_types[link.type].name == "Blocks"
    s.memo["link"] = link.id


@step("jira_get_cross_project_dependencies", WORKS)
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_cross_project_dependencies", project_key=project(s).key))
    assert got["total_cross_project_links"] == 1 and list(got["by_project"]) == [project(s, 1).key]


@step("jira_remove_issue_link")
async def _(s: Session) -> None:
    ok(await s.call("jira_remove_issue_link", link_id=s.memo["link"]))
    assert s.memo["link"] not in s.site.links


@step("jira_create_remote_issue_link")
async def _(s: Session) -> None:
    key = s.memo["created"]
    ok(await s.call("jira_create_remote_issue_link", issue_key=key, url="https://status.example.com/incidents/7",
                    title="Incident 7", relationship="is caused by"))
    link = issue(s, key).remote_links[-1]
    assert (link.object["url"], link.object["title"], link.relationship) == (
        "https://status.example.com/incidents/7", "Incident 7", "is caused by")


@step("jira_link_to_epic")
async def _(s: Session) -> None:
    p = next(p for p in s.site.projects.values() if type_id(s, "Epic") in p.issue_types)
    epic = ok(await s.call("jira_create_issue", project_key=p.key, summary="MCP epic", issue_type="Epic",
                           description="Everything about checkout."))["issue"]["key"]
    child = next(i for i in s.site.issues.values() if i.project == p.id and i.parent is None
                 and s.site.issue_types[i.issuetype].hierarchy_level == 0)
    ok(await s.call("jira_link_to_epic", issue_key=child.key, epic_key=epic))
    assert issue(s, child.key).parent == issue(s, epic).id
    s.memo["epic"] = (p.key, epic, child.key)


@step("jira_get_project_epic_hierarchy")
async def _(s: Session) -> None:
    key, epic, child = s.memo["epic"]
    got = ok(await s.call("jira_get_project_epic_hierarchy", project_key=key))
    epics = [e for g in got["groups"] for e in g["epics"]]
    assert [e["key"] for e in epics] == [epic] and issue(s, child).parent == issue(s, epic).id


@step("jira_create_version")
async def _(s: Session) -> None:
    p = project(s)
    ok(await s.call("jira_create_version", project_key=p.key, name="9.0", release_date="2026-06-30"))
    v = next(v for v in s.site.versions.values() if v.project == p.id and v.name == "9.0")
    assert v.release_date == "2026-06-30"


@step("jira_batch_create_versions")
async def _(s: Session) -> None:
    p = project(s)
    ok(await s.call("jira_batch_create_versions", project_key=p.key,
                    versions=json.dumps([{"name": "9.1"}, {"name": "9.2", "description": "Later"}])))
    names = {v.name: v for v in s.site.versions.values() if v.project == p.id}
    assert "9.1" in names and names["9.2"].description == "Later"


@step("jira_update_version")
async def _(s: Session) -> None:
    vid = next(v.id for v in s.site.versions.values() if v.name == "9.0")
    got = ok(await s.call("jira_update_version", version_id=vid, released=True, description="Shipped"))
    v = s.site.versions[vid]
    assert (v.released, v.description) == (True, "Shipped") and got["released"] is True


@step("jira_get_issue_dates")
async def _(s: Session) -> None:
    i = issue(s, s.memo["created"])
    got = ok(await s.call("jira_get_issue_dates", issue_key=i.key, include_status_changes=True))
    assert got["current_status"] == s.site.statuses[i.status].name
    assert [c["status"] for c in got["status_changes"]] == [s.site.statuses[s.site.projects[i.project].workflow
                                                                              .initial].name,
                                                             s.site.statuses[i.status].name]


@step("jira_get_issue_sla")
async def _(s: Session) -> None:
    i = issue(s, s.memo["created"])
    got = ok(await s.call("jira_get_issue_sla", issue_key=i.key, metrics="time_in_status"))
    shown = {row["status"] for row in got["metrics"]["time_in_status"]["statuses"]}
    assert s.site.statuses[i.status].name in shown


@step("jira_download_attachments")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_download_attachments", issue_key=s.memo["created"]))
    assert got["total"] == 0 and got["downloaded"] == 0  # the site's issues carry no attachments


@step("jira_get_issue_images")
async def _(s: Session) -> None:
    got = ok(await s.call("jira_get_issue_images", issue_key=s.memo["created"]))
    assert got["total_images"] == 0


@step("jira_move_issue")
async def _(s: Session) -> None:
    old, target = s.memo["created"], project(s, 2)
    issue_id = issue(s, old).id
    got = ok(await s.call("jira_move_issue", issue_key=old, target_project_key=target.key))
    moved = s.site.issues[issue_id]
    assert moved.project == target.id and moved.key.startswith(target.key + "-") and got["issue"]["key"] == moved.key
    assert issue(s, old) is moved and old in moved.former_keys  # the old key still finds it
    s.memo["created"] = moved.key


@step("jira_delete_issue")
async def _(s: Session) -> None:
    key = s.memo["created"]
    ok(await s.call("jira_delete_issue", issue_key=key))
    assert s.site.issue(key) is None


AGILE = "the Jira Software agile API (`/rest/agile/1.0`: boards, sprints) is another product's; not simulated"
for _tool, _args in [("jira_get_agile_boards", {}), ("jira_get_board_issues", {"board_id": "1", "jql": "x"}),
                     ("jira_get_sprints_from_board", {"board_id": "1"}), ("jira_get_sprint_issues", {"sprint_id": "1"}),
                     ("jira_create_sprint", {"board_id": "1", "name": "S", "start_date": "2099-01-05T09:00:00.000Z",
                                             "end_date": "2099-01-19T09:00:00.000Z"}),
                     ("jira_update_sprint", {"sprint_id": "1", "name": "S2"}),
                     ("jira_add_issues_to_sprint", {"sprint_id": "1", "issue_keys": "INFRA-1"}),
                     ("jira_move_issues_to_backlog", {"issue_keys": "INFRA-1"})]:
    outside(_tool, AGILE, **_args)
SERVICE_DESK = "Jira Service Management's API (`/rest/servicedeskapi`) is another product's; not simulated"
for _tool, _args in [("jira_get_service_desk_for_project", {"project_key": "OPS"}),
                     ("jira_get_service_desk_queues", {"service_desk_id": "1"}),
                     ("jira_get_queue_issues", {"service_desk_id": "1", "queue_id": "1"}),
                     ("jira_get_request_types", {"service_desk_id": "1"}),
                     ("jira_get_request_type_fields", {"service_desk_id": "1", "request_type_id": "1"}),
                     ("jira_create_customer_request", {"service_desk_id": "1", "request_type_id": "1",
                                                       "request_field_values": "{\"summary\": \"x\"}"})]:
    outside(_tool, SERVICE_DESK, **_args)
FORMS = "ProForma forms (the Forms app's API) are another product's; not simulated"
for _tool, _args in [("jira_get_issue_proforma_forms", {"issue_key": "INFRA-1"}),
                     ("jira_get_proforma_form_details", {"issue_key": "INFRA-1", "form_id": "1"}),
                     ("jira_update_proforma_form_answers", {"issue_key": "INFRA-1", "form_id": "1",
                                                            "answers": [{"questionId": "1", "type": "TEXT",
                                                                         "value": "x"}]})]:
    outside(_tool, FORMS, **_args)
DEV = "development information (`/rest/dev-status`, Bitbucket/GitHub links) is an internal API; not simulated"
outside("jira_get_issue_development_info", DEV, issue_key="INFRA-1")
outside("jira_get_issues_development_info", DEV, issue_keys="INFRA-1")


# == Confluence ================================================================================================
@step("confluence_search")
async def _(s: Session) -> None:
    eng = space(s)
    got = ok(await s.call("confluence_search", query=f'type = page AND space = {eng.key} AND title ~ "Meeting"',
                          limit=25))
    assert sorted(r["id"] for r in got) == sorted(p.id for p in s.site.pages.values() if p.space == eng.id
                                                  and "meeting" in p.title.lower() and p.status == "current")
    plain = ok(await s.call("confluence_search", query="Runbooks", limit=10))  # free text: a siteSearch
    assert plain and all("runbook" in (r["title"] + storage_text(s.site.pages[r["id"]].body)).lower()
                         for r in plain)


@step("confluence_get_page")
async def _(s: Session) -> None:
    page = kids(s.site, s.site.pages[space(s).homepage])[0]
    got = ok(await s.call("confluence_get_page", page_id=page.id))["metadata"]
    assert (got["id"], got["title"], got["version"]) == (page.id, page.title, page.version)
    assert words(got["content"]["value"]) == words(storage_text(page.body))  # as Markdown
    by_title = ok(await s.call("confluence_get_page", title=page.title, space_key=space(s).key))
    assert by_title["metadata"]["id"] == page.id


@step("confluence_get_page_children")
async def _(s: Session) -> None:
    page = kids(s.site, s.site.pages[space(s).homepage])[0]
    got = ok(await s.call("confluence_get_page_children", parent_id=page.id))
    assert [r["id"] for r in got["results"]] == [k.id for k in kids(s.site, page)]


@step("confluence_get_space_page_tree")
async def _(s: Session) -> None:
    eng = space(s)
    got = ok(await s.call("confluence_get_space_page_tree", space_key=eng.key))
    assert sorted(p["id"] for p in got["pages"]) == sorted(p.id for p in s.site.pages.values() if p.space == eng.id)


@step("confluence_get_comments")
async def _(s: Session) -> None:
    page = next(p for p in s.site.pages.values() if p.comments)
    got = ok(await s.call("confluence_get_comments", page_id=page.id))
    assert [c["id"] for c in got] == [c.id for c in page.comments]
    assert got[0]["body"].strip() == storage_text(page.comments[0].body).strip()
    s.memo["thread"] = page.comments[0].id


@step("confluence_reply_to_comment")
async def _(s: Session) -> None:
    parent = s.memo["thread"]
    got = ok(await s.call("confluence_reply_to_comment", comment_id=parent, body="Agreed, **thanks**."))
    page = next(p for p in s.site.pages.values() if any(c.id == parent for c in p.comments))
    reply = page.comments[-1]
    assert got["success"] and got["comment"]["id"] == reply.id and reply.parent == parent
    assert storage_text(reply.body).strip() == "Agreed, thanks."


@step("confluence_get_labels")
async def _(s: Session) -> None:
    page = next(p for p in s.site.pages.values() if p.labels)
    got = ok(await s.call("confluence_get_labels", page_id=page.id))
    assert [x["name"] for x in got] == [s.site.labels[i].name for i in page.labels]


@step("confluence_add_label")
async def _(s: Session) -> None:
    page = next(p for p in s.site.pages.values() if p.labels)
    got = ok(await s.call("confluence_add_label", page_id=page.id, name="mcp-reviewed"))
    assert "mcp-reviewed" in [s.site.labels[i].name for i in page.labels] and "mcp-reviewed" in [x["name"] for x
                                                                                                 in got]


@step("confluence_search_user")
async def _(s: Session) -> None:
    user = someone(s)
    got = ok(await s.call("confluence_search_user", query=user.display_name.split()[-1]))
    assert user.account_id in [r["user"]["account_id"] for r in got]


@step("confluence_create_page")
async def _(s: Session) -> None:
    parent = kids(s.site, s.site.pages[space(s).homepage])[0]
    got = ok(await s.call("confluence_create_page", space_key=space(s).key, title="MCP: runbook",
                          content="# Runbook\n\nRestart the service.\n\n## Checks\n\nLook at the dashboard.",
                          parent_id=parent.id))
    page = s.site.pages[got["page"]["id"]]
    assert (page.title, page.parent, page.space) == ("MCP: runbook", parent.id, space(s).id)
    assert "<h2" in page.body and "Restart the service." in storage_text(page.body)
    s.memo["page"] = page.id


@step("confluence_update_page")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    ok(await s.call("confluence_update_page", page_id=page.id, title="MCP: runbook",
                    content="# Runbook\n\nRestart the service twice.\n\n## Checks\n\nLook at the dashboard.",
                    version_comment="Twice"))
    assert page.version == 2 and "Restart the service twice." in storage_text(page.body)


@step("confluence_update_page_section")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    ok(await s.call("confluence_update_page_section", page_id=page.id, heading_text="Checks",
                    new_content="Look at the error rate."))
    text = storage_text(page.body)
    assert page.version == 3 and "Look at the error rate." in text and "dashboard" not in text
    assert "Restart the service twice." in text


@step("confluence_get_page_history")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_get_page_history", page_id=s.memo["page"], version=1))
    assert got["version"] == 1 and "Restart the service." in got["content"]["value"]
    assert "twice" not in got["content"]["value"]


@step("confluence_get_page_diff")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_get_page_diff", page_id=s.memo["page"], from_version=1, to_version=2))
    removed = [line for line in got["diff"].splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in got["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any("Restart the service." in line for line in removed)
    assert any("Restart the service twice." in line for line in added)


@step("confluence_add_comment")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    got = ok(await s.call("confluence_add_comment", page_id=page.id, body="Reviewed."))
    assert got["comment"]["id"] == page.comments[-1].id and storage_text(page.comments[-1].body).strip() == \
        "Reviewed."


@step("confluence_get_page_restrictions")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_get_page_restrictions", page_id=s.memo["page"]))
    assert got == {"read": {"users": [], "groups": []}, "update": {"users": [], "groups": []}}


@step("confluence_set_page_restrictions")
async def _(s: Session) -> None:
    page, user = s.site.pages[s.memo["page"]], someone(s)
    group = sorted(s.site.groups)[0]
    ok(await s.call("confluence_set_page_restrictions", page_id=page.id, read_users=[user.account_id, s.site.myself],
                    edit_groups=[group]))
    assert page.restrictions == {"read": {"user": [user.account_id, s.site.myself]}, "update": {"group": [group]}}
    got = ok(await s.call("confluence_get_page_restrictions", page_id=page.id))
    assert got == {"read": {"users": [user.account_id, s.site.myself], "groups": []},
                   "update": {"users": [], "groups": [group]}}


@step("confluence_copy_page")
async def _(s: Session) -> None:
    source, hr = s.site.pages[s.memo["page"]], space(s, 1)
    got = ok(await s.call("confluence_copy_page", source_page_id=source.id, destination_space_key=hr.key,
                          new_title="MCP: runbook (copy)"))
    copy = s.site.pages[got["page"]["id"]] if "page" in got else s.site.pages[got["id"]]
    assert (copy.space, copy.parent, copy.title, copy.body) == (hr.id, None, "MCP: runbook (copy)", source.body)
    s.memo["copy"] = copy.id


@step("confluence_move_page", OUTSIDE,
      "moves through `/wiki/pages/movepage.action`, an action of the web UI that no REST document describes (v1's "
      "is `PUT /wiki/rest/api/content/{id}/move/{position}/{targetId}`); not simulated")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    answer = await s.call("confluence_move_page", page_id=page.id, target_parent_id=space(s).homepage)
    assert "POST /wiki/pages/movepage.action" in answer.unserved() and page.parent != space(s).homepage


@step("confluence_add_inline_comment")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    got = ok(await s.call("confluence_add_inline_comment", page_id=page.id, body="Which service?",
                          text_selection="Restart the service twice."))
    comment = page.comments[-1]
    assert got["success"] and got["comment"]["id"] == comment.id
    assert (comment.inline, storage_text(comment.body).strip()) == ("Restart the service twice.", "Which service?")


@step("confluence_get_inline_comments")
async def _(s: Session) -> None:
    page = s.site.pages[s.memo["page"]]
    got = ok(await s.call("confluence_get_inline_comments", page_id=page.id))
    assert got["success"] and [c["id"] for c in got["comments"]] == [c.id for c in page.comments if c.inline]


@step("confluence_delete_page")
async def _(s: Session) -> None:
    ok(await s.call("confluence_delete_page", page_id=s.memo["copy"]))
    assert s.site.pages[s.memo["copy"]].status == "trashed"


@step("confluence_get_attachments")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_get_attachments", content_id=s.memo["page"]))
    assert got["attachments"] == [] and got["total"] == 0  # the site's pages carry no attachments


@step("confluence_download_content_attachments")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_download_content_attachments", content_id=s.memo["page"]))
    assert got["total"] == 0 if isinstance(got, dict) and "total" in got else got


@step("confluence_get_page_images")
async def _(s: Session) -> None:
    got = ok(await s.call("confluence_get_page_images", content_id=s.memo["page"]))
    assert got


ATTACHMENTS = "attachments (uploaded files) are not simulated: the site's pages have none"
outside("confluence_upload_attachment", ATTACHMENTS, content_id="65003", content_base64="aGk=", filename="a.txt")
outside("confluence_upload_attachments", ATTACHMENTS, content_id="65003", file_paths=lambda s: str(s.upload))
outside("confluence_download_attachment", ATTACHMENTS, attachment_id="att1")
outside("confluence_delete_attachment", ATTACHMENTS, attachment_id="att1")
outside("confluence_get_page_views", "page analytics (`/wiki/rest/api/analytics`): the site records no views",
        page_id="65003")
TEMPLATES = "page templates (`/wiki/rest/api/template`) are not simulated"
outside("confluence_list_page_templates", TEMPLATES, space_key="ENG")
outside("confluence_get_page_template", TEMPLATES, template_id="1")
outside("confluence_create_page_from_template", TEMPLATES, space_key="ENG", title="T", template_id="1")
PERMISSIONS = "space permissions and permission checks (v2 `/permissions`, `/permission/check`) are not simulated"
outside("confluence_check_content_permissions", PERMISSIONS, content_id="65003", user_identifier=EMAIL,
        operation="read")
outside("confluence_get_space_permissions", PERMISSIONS, space_id="65001")


# -- running ----------------------------------------------------------------------------------------------------
def server_environment(serving: Serving, home: Path) -> dict[str, str]:
    """mcp-atlassian's environment: Cloud for both products, every request through the served simulator."""
    proxy = f"http://127.0.0.1:{serving.server.server_port}"
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "JIRA_URL": HOST, "JIRA_USERNAME": EMAIL, "JIRA_API_TOKEN": "api-token",
            "CONFLUENCE_URL": f"{HOST}/wiki", "CONFLUENCE_USERNAME": EMAIL, "CONFLUENCE_API_TOKEN": "api-token",
            "JIRA_HTTP_PROXY": proxy, "CONFLUENCE_HTTP_PROXY": proxy, "NO_PROXY": "", "TOOLSETS": "all",
            "READ_ONLY_MODE": "false", "FASTMCP_CHECK_FOR_UPDATES": "off", "FASTMCP_SHOW_SERVER_BANNER": "false"}


@dataclass
class Outcome:
    verdict: str
    reason: str
    held: bool
    detail: str = ""


Run = tuple[dict[str, str], dict[str, Outcome]]


async def drive(serving: Serving, home: Path) -> Run:
    """Start mcp-atlassian over stdio, list its tools, run every step: (the toolset of each tool listed, the
    outcome per tool)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=str(SERVER), args=[], env=server_environment(serving, home), cwd=home)
    outcomes: dict[str, Outcome] = {}
    with (home / "mcp-atlassian.log").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            listed = {t.name: next((tag.removeprefix("toolset:") for tag in (t.meta or {}).get("fastmcp", {}).get(
                "tags", []) if tag.startswith("toolset:")), "") for t in (await mcp.list_tools()).tools}
            upload = home / "notes.txt"
            upload.write_text("Notes.\n")
            session = Session(mcp, serving, upload)
            for s in STEPS:
                try:
                    await asyncio.wait_for(s.check(session), timeout=30)
                    outcomes[s.tool] = Outcome(s.verdict, s.reason, True)
                except Exception as exc:  # every step is recorded, then each tool's test reports its own
                    outcomes[s.tool] = Outcome(s.verdict, s.reason, False, f"{type(exc).__name__}: {exc}"[:1500])
    return listed, outcomes


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    if not SERVER.exists():
        pytest.fail(f"mcp-atlassian is not installed at {SERVER.relative_to(ROOT)}: `make test` installs it")
    home = tmp_path_factory.mktemp("mcp-atlassian")
    with Serving(SEED) as serving:
        return asyncio.run(drive(serving, home))


@pytest.mark.parametrize("tool", [s.tool for s in STEPS])
def test_tool(run: Run, tool: str) -> None:
    """The tool's answer is what the site holds (works), or its failure is the documented one."""
    outcome = run[1][tool]
    assert outcome.held, f"{tool} ({outcome.verdict}): {outcome.detail}"


def test_every_listed_tool_has_a_step(run: Run) -> None:
    listed = run[0]
    assert sorted(listed) == sorted(s.tool for s in STEPS)
    assert len({s.tool for s in STEPS}) == len(STEPS)


def table_rows() -> list[str]:
    return [f"| `{s.tool}` | {s.verdict} | {s.reason} |" for s in STEPS]


def test_the_docstring_table_is_the_steps() -> None:
    documented = [line for line in (__doc__ or "").splitlines() if line.startswith("| `")]
    assert documented == table_rows(), "\n".join(table_rows())


def test_targets(run: Run) -> None:
    """Nearly every tool of the toolsets whose APIs the simulator serves works; the rest fail as on Cloud."""
    toolsets, outcomes = run
    for scope, minimum in ((JIRA_SCOPE, 36), (CONFLUENCE_SCOPE, 21)):
        tools = [t for t, kind in toolsets.items() if kind in scope]
        working = [t for t in tools if outcomes[t].verdict == WORKS and outcomes[t].held]
        assert len(working) >= minimum, sorted(set(tools) - set(working))
