"""The simulated Jira Cloud REST v3: every operation the catalog offers, its success path and its errors.

Both layers are exercised: `World.request` with query values as an HTTP client sends them (strings), and
`World.call` with tool arguments as a model sends them. Every response is also validated against the
official response schema (tests/conftest.py turns that on). Expected behaviour follows
shared/specs/API-DIGEST.md; where it says a rejected call changes nothing, the snapshot is compared.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scenarios.atlassian import catalog, jira
from scenarios.atlassian.http import Response
from scenarios.atlassian.site import BASE_URL, Issue, Project, Site
from scenarios.atlassian.world import World

SEED = 1
NOT_FOUND = "Issue does not exist or you do not have permission to see it."
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}]}
JIRA_TOOLS = [name for name in catalog.OFFERED if catalog.tool(name).operation.document == "jira-v3"]


@pytest.fixture
def world() -> World:
    return World(SEED)


# -- helpers ----------------------------------------------------------------------------------------------
def project(site: Site, n: int = 0) -> Project:
    return list(site.projects.values())[n]


def issues_of(site: Site, p: Project) -> list[Issue]:
    return [i for i in site.issues.values() if i.project == p.id]


def an_issue(site: Site) -> Issue:
    return next(iter(site.issues.values()))


def required_fields(site: Site, p: Project, type_id: str) -> dict[str, Any]:
    """A minimal valid `fields` object for a project and issue type, from its create screen."""
    values = {"summary": "Created by a test", "description": ADF, "priority": {"name": "High"},
              "labels": ["from-test"], "duedate": "2026-03-01"}
    out: dict[str, Any] = {"project": {"key": p.key}, "issuetype": {"id": type_id}}
    for f in p.screens[type_id]:
        if f.required and f.id in values:
            out[f.id] = values[f.id]
    if type_id == "10005":  # a sub-task's parent: a standard issue of the same project
        out["parent"] = {"key": next(i.key for i in issues_of(site, p)
                                     if site.issue_types[i.issuetype].hierarchy_level == 0)}
    return out


def error_fields(response: Response) -> dict[str, str]:
    assert set(response.body) == {"errorMessages", "errors"}, response.body
    return response.body["errors"]


def error_messages(response: Response) -> list[str]:
    assert set(response.body) == {"errorMessages", "errors"}, response.body
    return response.body["errorMessages"]


def unchanged(world: World, before: dict[str, Any]) -> bool:
    return world.snapshot() == before


# -- the catalog and the tool layer -------------------------------------------------------------------------
def test_every_jira_operation_is_offered_as_a_tool_with_its_spec_path() -> None:
    assert len(JIRA_TOOLS) == 16
    for name in JIRA_TOOLS:
        t = catalog.tool(name)
        d = t.definition
        assert d["type"] == "function" and d["function"]["name"] == name and d["function"]["description"]
        params = d["function"]["parameters"]
        assert params["type"] == "object"
        for placeholder in [p for p in t.operation.path.split("/") if p.startswith("{")]:
            assert placeholder[1:-1] in params["required"], (name, placeholder)
        for schema in params["properties"].values():  # plain JSON types only, as TRL renders callables
            assert schema["type"] in ("string", "integer", "number", "boolean", "array", "object"), schema
    assert catalog.tool("createIssue").operation.path == "/rest/api/3/issue"
    assert catalog.tool("doTransition").operation.method == "POST"
    with pytest.raises(KeyError):
        catalog.tool("deleteIssue")


def test_comment_body_and_nullable_account_are_typed_as_the_api_takes_them() -> None:
    body = catalog.tool("addComment").parameters["properties"]["body"]
    assert body["type"] == "object"  # ADF, untyped in the spec: not a string
    account = catalog.tool("assignIssue").parameters["properties"]["accountId"]
    assert account == {**account, "type": "string", "nullable": True}


def test_unknown_tool_is_a_jira_shaped_404_and_changes_nothing(world: World) -> None:
    before = world.snapshot()
    r = world.call("deleteIssue", {"issueIdOrKey": "WEB-1"})
    assert (r.status, r.error, r.operation, r.write) == (404, "unknown_tool", None, False)
    assert "Unknown tool 'deleteIssue'" in r.body["errorMessages"][0] and r.body["errors"] == {}
    assert json.loads(r.content) == {"status": 404, "body": r.body}
    assert unchanged(world, before)


def test_a_world_offers_only_its_tools() -> None:
    w = World(SEED, tools=["getIssue"])
    assert w.call("getIssue", {"issueIdOrKey": an_issue(w.site).key}).status == 200
    r = w.call("createIssue", {"fields": {}})
    assert (r.status, r.error) == (404, "unknown_tool") and "The tools are: getIssue." in r.body["errorMessages"][0]


@pytest.mark.parametrize("arguments, error, status, where", [
    ('{"issueIdOrKey": "WEB-1"', "invalid_json", 400, "not valid JSON"),
    ("[1, 2]", "invalid_json", 400, "must be a JSON object"),
    ([1, 2], "invalid_json", 400, "must be a JSON object"),
    ({}, "invalid_arguments", 400, "'issueIdOrKey' is a required property"),
    ({"issueIdOrKey": 12}, "invalid_arguments", 400, "12 is not of type 'string'"),
    ({"issueIdOrKey": "WEB-1", "fields": "summary"}, "invalid_arguments", 400, "is not of type 'array'"),
    ({"issueIdOrKey": "WEB-1", "issue": "x"}, "invalid_arguments", 400, "Unexpected argument 'issue'"),
    ({"issueIdOrKey": ""}, "invalid_arguments", 400, "must not be empty"),
    ({"issueIdOrKey": "x" * (6 * 1024 * 1024)}, "invalid_arguments", 413, "too large"),
])
def test_bad_tool_arguments_are_rejected_in_jira_shape(world: World, arguments: Any, error: str, status: int,
                                                      where: str) -> None:
    before = world.snapshot()
    r = world.call("getIssue", arguments)
    assert (r.status, r.error, r.operation) == (status, error, "getIssue")
    text = " ".join(r.body["errorMessages"] + list(r.body["errors"].values()))
    assert where in text
    assert unchanged(world, before)


def test_argument_errors_name_the_offending_argument(world: World) -> None:
    r = world.call("getComments", {"issueIdOrKey": "WEB-1", "maxResults": "ten"})
    assert r.status == 400 and list(r.body["errors"]) == ["maxResults"]
    r = world.call("getComments", {"issueIdOrKey": "WEB-1", "orderBy": "newest"})
    assert r.status == 400 and list(r.body["errors"]) == ["orderBy"]


def test_results_record_operation_write_flag_and_raw_arguments(world: World) -> None:
    key = an_issue(world.site).key
    read = world.call("getIssue", json.dumps({"issueIdOrKey": key}), call_id="c1")
    assert (read.call_id, read.operation, read.write, read.error, read.ok) == ("c1", "getIssue", False, None, True)
    assert json.loads(read.request["raw"]) == {"issueIdOrKey": key}
    write = world.call("addComment", {"issueIdOrKey": key, "body": ADF})
    assert (write.operation, write.write, write.status) == ("addComment", True, 201)
    search = world.call("searchAndReconsileIssuesUsingJqlPost", {"jql": "project = WEB"})
    assert search.write is False  # a POST that only reads


# -- HTTP level: routing -------------------------------------------------------------------------------------
def test_unknown_paths_and_methods(world: World) -> None:
    r = world.request("GET", "/rest/api/3/nothing")
    assert r.status == 404 and error_messages(r) == ["No API operation at /rest/api/3/nothing."]
    r = world.request("PATCH", "/rest/api/3/issue/WEB-1")
    assert r.status == 405 and "PATCH is not allowed" in error_messages(r)[0]
    r = world.request("get", f"/rest/api/3/issue/{an_issue(world.site).key}/?fields=summary")
    assert r.status == 200  # method case, trailing slash and a query string in the path are tolerated
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_unparsable_and_missing_request_bodies(world: World) -> None:
    before = world.snapshot()
    r = world.request("POST", "/rest/api/3/issue", raw_body="{not json")
    assert r.status == 400 and "Unexpected character" in error_messages(r)[0]
    r = world.request("POST", "/rest/api/3/issue")
    assert r.status == 400 and error_messages(r) == ["The request body is missing."]
    r = world.request("POST", "/rest/api/3/issue", raw_body="x" * (5 * 1024 * 1024 + 1))
    assert r.status == 413
    r = world.request("POST", "/rest/api/3/issue", body={"fields": {"summary": "y" * (5 * 1024 * 1024)}})
    assert r.status == 413
    r = world.request("POST", "/rest/api/3/issue", raw_body="[" * 10_000)
    assert r.status == 400 and "nested more than" in error_messages(r)[0]
    assert unchanged(world, before)


# -- create issue ------------------------------------------------------------------------------------------
def test_create_issue_returns_201_with_id_key_and_self(world: World) -> None:
    site = world.site
    p = project(site)
    expected_key = f"{p.key}-{p.next_number}"
    fields = {**required_fields(site, p, "10001"), "description": ADF, "labels": ["b", "a", "b"]}
    r = world.call("createIssue", {"fields": fields})
    assert r.status == 201 and r.write
    assert set(r.body) == {"id", "key", "self"}
    assert r.body["key"] == expected_key and r.body["id"].isdigit()
    assert r.body["self"] == f"{BASE_URL}/rest/api/3/issue/{r.body['id']}"
    got = world.call("getIssue", {"issueIdOrKey": expected_key}).body
    assert got["id"] == r.body["id"] and got["fields"]["summary"] == "Created by a test"
    assert got["fields"]["description"] == ADF
    assert got["fields"]["labels"] == ["a", "b"]  # de-duplicated, sorted
    assert got["fields"]["status"]["id"] == p.workflow.initial
    assert got["fields"]["reporter"]["accountId"] == site.myself
    assert got["fields"]["project"]["key"] == p.key
    diff = world.state_diff()
    assert list(diff) == [f"issues/{expected_key}"] and diff[f"issues/{expected_key}"]["before"] is None
    assert diff[f"issues/{expected_key}"]["after"]["summary"] == "Created by a test"


def test_create_issue_accepts_ids_keys_and_names_for_references(world: World) -> None:
    p = project(world.site)
    body = {"fields": {"project": {"id": p.id}, "issuetype": {"name": "task"}, "summary": "By ids"}}
    r = world.request("POST", "/rest/api/3/issue", body=body)
    assert r.status == 201 and r.body["key"].startswith(p.key + "-")
    got = world.request("GET", f"/rest/api/3/issue/{r.body['key']}").body["fields"]
    assert got["issuetype"]["name"] == "Task"
    assert got["priority"]["name"] == "Medium"  # a priority on the screen, not given: the scheme's default


@pytest.mark.parametrize("n", [0, 1, 2])
def test_required_fields_come_from_create_meta_per_project_and_issue_type(world: World, n: int) -> None:
    site = world.site
    p = project(site, n)
    for type_id in p.issue_types:
        meta = world.call("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": p.key, "issueTypeId": type_id})
        assert meta.status == 200
        required = {f["fieldId"] for f in meta.body["fields"] if f["required"]}
        assert required == {f.id for f in p.screens[type_id] if f.required}
        assert {"project", "issuetype", "summary"} <= required
        fields = required_fields(site, p, type_id)
        for missing in sorted(required - {"project", "issuetype"}):
            before = world.snapshot()
            r = world.call("createIssue", {"fields": {k: v for k, v in fields.items() if k != missing}})
            assert r.status == 400, (p.key, type_id, missing)
            message = error_fields(r)[missing]
            assert message == ("You must specify a summary of the issue." if missing == "summary"
                               else f"{jira.FIELD_NAMES[missing]} is required.")
            assert unchanged(world, before)
        assert world.call("createIssue", {"fields": fields}).status == 201, (p.key, type_id)


def test_unknown_and_off_screen_fields_are_rejected_with_jiras_message(world: World) -> None:
    site = world.site
    p = project(site)
    fields = required_fields(site, p, "10001")
    before = world.snapshot()
    for name in ("foo", "customfield_10000", "status", "resolution"):
        r = world.call("createIssue", {"fields": {**fields, name: "x"}})
        assert r.status == 400
        assert error_fields(r) == {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                                         f"or unknown."}
    epic = next((q for q in site.projects.values() if "10004" in q.issue_types), None)
    if epic is not None:  # an epic's create screen has no parent
        r = world.call("createIssue", {"fields": {**required_fields(site, epic, "10004"),
                                                  "parent": {"key": issues_of(site, epic)[0].key}}})
        assert r.status == 400 and "parent" in error_fields(r)
    assert unchanged(world, before)


@pytest.mark.parametrize("change, field, message", [
    ({"project": {"key": "NOPE"}}, "project", "Specify a valid project ID or key"),
    ({"project": "WEB"}, "project", "Specify a valid project ID or key"),
    ({"issuetype": None}, "issuetype", "Specify an issue type"),
    ({"issuetype": {"name": "Incident"}}, "issuetype", "The issue type selected is invalid."),
    ({"summary": ""}, "summary", "You must specify a summary of the issue."),
    ({"summary": "two\nlines"}, "summary", "The summary is invalid because it contains newline characters."),
    ({"summary": "s" * 256}, "summary", "Summary must be less than 255 characters."),
    ({"description": "plain text"}, "description", "Operation value must be an Atlassian Document"),
    ({"description": {"type": "doc", "content": []}}, "description", "'version' is a required property"),
    ({"labels": ["has space"]}, "labels", "The label 'has space' contains spaces which is invalid."),
    ({"labels": "one"}, "labels", "The labels field must be a list of strings."),
    ({"priority": {"name": "Urgent"}}, "priority", "Specify a valid priority id or name."),
    ({"assignee": {"accountId": "nobody"}}, "assignee", "Specify a valid value for assignee: user not found."),
    ({"reporter": None}, "reporter", "Reporter is required."),
    ({"fields_typo": 1}, "fields_typo", "Field 'fields_typo' cannot be set."),
])
def test_invalid_field_values_are_400_with_the_field_named(world: World, change: dict[str, Any], field: str,
                                                            message: str) -> None:
    site = world.site
    p = project(site)
    fields = {**required_fields(site, p, "10001"), **change}
    before = world.snapshot()
    r = world.call("createIssue", {"fields": fields})
    assert r.status == 400
    assert message in error_fields(r)[field]
    assert unchanged(world, before) and p.next_number == world.site.projects[p.id].next_number


def test_issue_types_not_in_the_project_are_invalid(world: World) -> None:
    small = next((p for p in world.site.projects.values() if "10003" not in p.issue_types), None)
    if small is None:
        pytest.skip("every project has stories in this seed")
    r = world.call("createIssue", {"fields": {"project": {"key": small.key}, "issuetype": {"id": "10003"},
                                              "summary": "A story"}})
    assert r.status == 400 and error_fields(r) == {"issuetype": "The issue type selected is invalid."}


def test_a_field_in_both_fields_and_update_is_rejected(world: World) -> None:
    site = world.site
    p = project(site)
    r = world.call("createIssue", {"fields": {**required_fields(site, p, "10001"), "labels": ["a"]},
                                   "update": {"labels": [{"add": "b"}]}})
    assert r.status == 400 and error_fields(r) == {"labels": "Field 'labels' cannot be set in both 'fields' and "
                                                             "'update'."}


def test_create_with_update_operations(world: World) -> None:
    site = world.site
    p = project(site)
    r = world.call("createIssue", {"fields": required_fields(site, p, "10001"),
                                   "update": {"labels": [{"add": "x"}, {"add": "y"}, {"remove": "x"}],
                                              "comment": [{"add": {"body": ADF}}]}})
    assert r.status == 201
    got = world.call("getIssue", {"issueIdOrKey": r.body["key"], "fields": ["labels", "comment"]}).body["fields"]
    assert got["labels"] == ["y"]
    assert got["comment"]["total"] == 1 and got["comment"]["comments"][0]["body"] == ADF


# -- sub-tasks and parents ---------------------------------------------------------------------------------
def test_subtask_needs_a_parent_in_the_same_project_one_level_up(world: World) -> None:
    site = world.site
    p, other = project(site, 0), project(site, 1)
    fields = required_fields(site, p, "10005")
    before = world.snapshot()
    r = world.call("createIssue", {"fields": {k: v for k, v in fields.items() if k != "parent"}})
    assert r.status == 400 and error_fields(r)["parent"] == "Parent is required."
    r = world.call("createIssue", {"fields": {**fields, "parent": {"key": issues_of(site, other)[0].key}}})
    assert r.status == 400
    assert error_fields(r)["project"] == "Sub-tasks must be created in the same project as the parent."
    r = world.call("createIssue", {"fields": {**fields, "parent": {"key": f"{p.key}-999"}}})
    assert r.status == 400 and error_fields(r)["parent"] == "Could not find issue by id or key."
    assert unchanged(world, before)

    created = world.call("createIssue", {"fields": fields})
    assert created.status == 201
    parent_key = fields["parent"]["key"]
    got = world.call("getIssue", {"issueIdOrKey": created.body["key"], "fields": ["parent", "issuetype"]}).body
    assert got["fields"]["parent"]["key"] == parent_key and got["fields"]["issuetype"]["subtask"] is True
    parent = world.call("getIssue", {"issueIdOrKey": parent_key, "fields": ["subtasks"]}).body
    assert created.body["key"] in [s["key"] for s in parent["fields"]["subtasks"]]

    # A sub-task cannot be the parent of a sub-task.
    r = world.call("createIssue", {"fields": {**fields, "parent": {"key": created.body["key"]}}})
    assert r.status == 400
    assert error_fields(r)["parent"] == "Given parent work item does not belong to appropriate hierarchy."


def test_a_standard_issue_can_have_an_epic_parent(world: World) -> None:
    site = world.site
    p = next((q for q in site.projects.values() if "10004" in q.issue_types), None)
    if p is None:
        pytest.skip("no project with epics in this seed")
    epic = world.call("createIssue", {"fields": required_fields(site, p, "10004")})
    assert epic.status == 201
    story = world.call("createIssue", {"fields": {**required_fields(site, p, "10001"),
                                                  "parent": {"key": epic.body["key"]}}})
    assert story.status == 201
    task = next(i for i in issues_of(site, p) if i.issuetype == "10001")
    r = world.call("createIssue", {"fields": {**required_fields(site, p, "10001"), "parent": {"key": task.key}}})
    assert r.status == 400  # a task is not an epic


# -- get issue ---------------------------------------------------------------------------------------------
def test_get_issue_by_key_id_and_any_case(world: World) -> None:
    issue = an_issue(world.site)
    by_key = world.call("getIssue", {"issueIdOrKey": issue.key})
    by_id = world.call("getIssue", {"issueIdOrKey": issue.id})
    lower = world.request("GET", f"/rest/api/3/issue/{issue.key.lower()}")
    assert by_key.status == by_id.status == lower.status == 200
    assert by_key.body == by_id.body == lower.body
    body = by_key.body
    assert body["key"] == issue.key and body["id"] == issue.id
    assert body["self"] == f"{BASE_URL}/rest/api/3/issue/{issue.id}"
    assert set(body["fields"]) == set(jira.ALL_FIELDS)
    comment = body["fields"]["comment"]  # a PageOfComments, as the real service returns it
    assert set(comment) == {"comments", "self", "maxResults", "total", "startAt"}
    assert comment["total"] == len(issue.comments)


def test_get_issue_fields_parameter(world: World) -> None:
    issue = an_issue(world.site)
    path = f"/rest/api/3/issue/{issue.key}"
    assert set(world.request("GET", path, {"fields": "summary,status"}).body["fields"]) == {"summary", "status"}
    assert set(world.call("getIssue", {"issueIdOrKey": issue.key, "fields": ["labels"]}).body["fields"]) == {
        "labels"}
    assert "comment" not in world.request("GET", path, {"fields": "*navigable"}).body["fields"]
    assert "comment" not in world.request("GET", path, {"fields": "*all,-comment"}).body["fields"]
    assert set(world.request("GET", path, {"fields": "-comment"}).body["fields"]) == set(jira.ALL_FIELDS) - {
        "comment"}


def test_get_issue_expand(world: World) -> None:
    issue = an_issue(world.site)
    body = world.call("getIssue", {"issueIdOrKey": issue.key, "fields": ["summary"],
                                   "expand": "names,transitions"}).body
    assert body["names"] == {"summary": "Summary"}
    assert [t["id"] for t in body["transitions"]] == [t.id for t in jira.available(world.site, issue)]


def test_get_issue_not_found(world: World) -> None:
    for ref in ("WEB-9999", "99999", "NOPE-1", "not a key"):
        r = world.call("getIssue", {"issueIdOrKey": ref})
        assert r.status == 404 and r.body == {"errorMessages": [NOT_FOUND], "errors": {}}


# -- edit issue --------------------------------------------------------------------------------------------
def test_edit_issue_fields_is_204_and_changes_the_issue(world: World) -> None:
    issue = an_issue(world.site)
    before_updated = issue.updated
    r = world.call("editIssue", {"issueIdOrKey": issue.key, "fields": {"summary": "Renamed", "description": ADF}})
    assert (r.status, r.body) == (204, None)
    edited = world.site.issue(issue.key)
    assert edited.summary == "Renamed" and edited.description == ADF and edited.updated > before_updated
    diff = world.state_diff()
    assert diff[f"issues/{issue.key}/summary"] == {"before": issue.summary, "after": "Renamed"}


def test_edit_issue_return_issue(world: World) -> None:
    issue = an_issue(world.site)
    r = world.request("PUT", f"/rest/api/3/issue/{issue.key}", {"returnIssue": "true"},
                      {"fields": {"summary": "Returned"}})
    assert r.status == 200 and r.body["key"] == issue.key and r.body["fields"]["summary"] == "Returned"


def test_labels_add_remove_set_through_update_and_replace_through_fields(world: World) -> None:
    issue = an_issue(world.site)
    key = issue.key
    world.call("editIssue", {"issueIdOrKey": key, "fields": {"labels": ["keep", "drop"]}})
    assert world.site.issue(key).labels == ["drop", "keep"]
    r = world.call("editIssue", {"issueIdOrKey": key, "update": {"labels": [
        {"add": "new"}, {"remove": "drop"}, {"add": "keep"}, {"remove": "absent"}]}})
    assert r.status == 204 and world.site.issue(key).labels == ["keep", "new"]
    r = world.call("editIssue", {"issueIdOrKey": key, "update": {"labels": [{"set": ["only"]}]}})
    assert r.status == 204 and world.site.issue(key).labels == ["only"]
    r = world.call("editIssue", {"issueIdOrKey": key, "fields": {"labels": []}})
    assert r.status == 204 and world.site.issue(key).labels == []


@pytest.mark.parametrize("body, field, message", [
    ({"fields": {"status": {"name": "Done"}}}, "status",
     "Field 'status' cannot be set. It is not on the appropriate screen, or unknown."),
    ({"fields": {"project": {"key": "DATA"}}}, "project",
     "Field 'project' cannot be set. It is not on the appropriate screen, or unknown."),
    ({"update": {"summary": [{"add": "x"}]}}, "summary",
     "Field 'summary' does not support operation 'add'. Supported: ['set']."),
    ({"update": {"labels": [{"add": "bad label"}]}}, "labels",
     "The label 'bad label' contains spaces which is invalid."),
    ({"update": {"labels": {"add": "x"}}}, "update", "Invalid request body at /update/labels: {'add': 'x'} is not "
                                                     "of type 'array'"),  # the spec's IssueUpdateDetails
    ({"update": {"labels": [{"add": "a", "remove": "b"}]}}, "labels", "does not support operation 'None'"),
    ({"fields": {"summary": "ok", "labels": ["a"]}, "update": {"labels": [{"add": "b"}]}}, "labels",
     "Field 'labels' cannot be set in both 'fields' and 'update'."),
    ({"fields": {"summary": "Valid", "description": "not ADF"}}, "description", "Atlassian Document"),
    ({"update": {"comment": [{"add": {"body": "plain"}}]}}, "comment", "Comment body is not valid!"),
])
def test_invalid_edits_are_400_and_apply_nothing(world: World, body: dict[str, Any], field: str,
                                                 message: str) -> None:
    issue = an_issue(world.site)
    before = world.snapshot()
    r = world.call("editIssue", {"issueIdOrKey": issue.key, **body})
    assert r.status == 400
    assert message in error_fields(r)[field]
    assert unchanged(world, before)  # all or nothing: the valid summary of a rejected edit is not applied


def test_edit_unknown_issue_is_404(world: World) -> None:
    r = world.call("editIssue", {"issueIdOrKey": "WEB-9999", "fields": {"summary": "x"}})
    assert r.status == 404 and r.body == {"errorMessages": [NOT_FOUND], "errors": {}}


def test_edit_without_changes_is_204_and_changes_nothing(world: World) -> None:
    before = world.snapshot()
    r = world.call("editIssue", {"issueIdOrKey": an_issue(world.site).key})
    assert r.status == 204 and unchanged(world, before)


# -- JQL search --------------------------------------------------------------------------------------------
def test_search_returns_ids_only_by_default_and_pages_with_next_page_token(world: World) -> None:
    p = project(world.site)
    expected = [i.id for i in issues_of(world.site, p)]
    assert len(expected) > 2
    seen: list[str] = []
    query: dict[str, Any] = {"jql": f"project = {p.key}", "maxResults": "2"}
    for _ in range(20):
        r = world.request("GET", "/rest/api/3/search/jql", query)
        assert r.status == 200 and "total" not in r.body and "startAt" not in r.body
        assert all(set(i) == {"id"} for i in r.body["issues"])  # "By default, returns IDs only"
        assert len(r.body["issues"]) <= 2
        seen += [i["id"] for i in r.body["issues"]]
        if r.body["isLast"]:
            assert "nextPageToken" not in r.body
            break
        query["nextPageToken"] = r.body["nextPageToken"]
    assert sorted(seen) == sorted(expected)


def test_search_fields_parameter_on_get_and_post(world: World) -> None:
    p = project(world.site)
    r = world.request("GET", "/rest/api/3/search/jql", {"jql": f"project = {p.key}", "fields": "summary,status"})
    issue = r.body["issues"][0]
    assert set(issue) >= {"id", "key", "self", "fields"} and set(issue["fields"]) == {"summary", "status"}
    r = world.call("searchAndReconsileIssuesUsingJqlPost", {"jql": f"project = {p.key} ORDER BY key DESC",
                                                            "fields": ["labels"], "maxResults": 3})
    assert r.status == 200 and len(r.body["issues"]) == 3
    assert all(set(i["fields"]) == {"labels"} for i in r.body["issues"])
    keys = [i["key"] for i in r.body["issues"]]
    assert keys == sorted(keys, key=lambda k: int(k.split("-")[1]), reverse=True)


def test_search_filters_by_status_label_and_text(world: World) -> None:
    site = world.site
    issue = next(i for i in site.issues.values() if i.labels)
    label = issue.labels[0]
    r = world.call("searchAndReconsileIssuesUsingJql", {"jql": f"labels = {label}", "maxResults": 100})
    assert {i["id"] for i in r.body["issues"]} == {i.id for i in site.issues.values() if label in i.labels}
    status = site.statuses[issue.status].name
    r = world.call("searchAndReconsileIssuesUsingJql", {"jql": f'status = "{status}" AND project in '
                                                               f'({", ".join(p.key for p in site.projects.values())})'})
    assert {i["id"] for i in r.body["issues"]} == {i.id for i in site.issues.values() if i.status == issue.status}
    word = issue.summary.split()[-1]
    r = world.call("searchAndReconsileIssuesUsingJql", {"jql": f"summary ~ {word}", "fields": ["summary"]})
    assert r.status == 200 and all(word.lower() in i["fields"]["summary"].lower() for i in r.body["issues"])


@pytest.mark.parametrize("query, message", [
    ({"jql": "order by key desc"}, "Unbounded JQL queries are not allowed here."),
    ({}, "Unbounded JQL queries are not allowed here."),
    ({"jql": "project = "}, ""),
    ({"jql": "project = NOPE"}, "The value 'NOPE' does not exist for the field 'project'."),
    ({"jql": "nosuchfield = 1"}, "Field 'nosuchfield' does not exist"),
    ({"jql": "project = WEB", "nextPageToken": "!!!"}, "Invalid format of nextPageToken"),
    ({"jql": "project = WEB", "maxResults": "abc"}, "Invalid value for parameter 'maxResults'"),
    ({"jql": "project = WEB", "maxResults": "-1"}, "maxResults"),
])
def test_search_errors_are_400_error_collections(world: World, query: dict[str, Any], message: str) -> None:
    r = world.request("GET", "/rest/api/3/search/jql", query)
    assert r.status == 400 and error_fields(r) == {}
    assert message in error_messages(r)[0]


# -- transitions -------------------------------------------------------------------------------------------
def test_transitions_are_those_from_the_current_status_only(world: World) -> None:
    site = world.site
    for issue in site.issues.values():
        r = world.call("getTransitions", {"issueIdOrKey": issue.key})
        assert r.status == 200
        workflow = site.projects[issue.project].workflow
        expected = [t.id for t in workflow.transitions if (not t.sources or issue.status in t.sources)
                    and t.to != issue.status]
        assert [t["id"] for t in r.body["transitions"]] == expected
        for t in r.body["transitions"]:
            assert t["name"] != t["to"]["name"]  # transition names differ from their target statuses
            assert "fields" not in t


def test_transition_screen_fields_with_expand(world: World) -> None:
    site = world.site
    issue, t = next((i, t) for i in site.issues.values() for t in jira.available(site, i) if t.required)
    r = world.request("GET", f"/rest/api/3/issue/{issue.key}/transitions", {"expand": "transitions.fields"})
    body = next(x for x in r.body["transitions"] if x["id"] == t.id)
    assert body["hasScreen"] is True and body["fields"]["resolution"]["required"] is True
    assert {v["name"] for v in body["fields"]["resolution"]["allowedValues"]} == set(site.resolutions.values())
    one = world.request("GET", f"/rest/api/3/issue/{issue.key}/transitions", {"transitionId": t.id}).body
    assert [x["id"] for x in one["transitions"]] == [t.id]
    none = world.request("GET", f"/rest/api/3/issue/{issue.key}/transitions", {"transitionId": "424242"}).body
    assert none["transitions"] == []  # an unknown transition id: an empty list, not an error


def test_do_transition_moves_the_issue_and_sets_resolution_on_done(world: World) -> None:
    site = world.site
    issue, t = next((i, t) for i in site.issues.values() for t in jira.available(site, i) if t.required)
    before = world.snapshot()
    r = world.call("doTransition", {"issueIdOrKey": issue.key, "transition": {"id": t.id}})
    assert r.status == 400 and error_fields(r) == {"resolution": "Resolution is required."}
    r = world.call("doTransition", {"issueIdOrKey": issue.key, "transition": {"id": t.id},
                                    "fields": {"summary": "not on the screen", "resolution": {"name": "Done"}}})
    assert r.status == 400 and "summary" in error_fields(r)
    assert unchanged(world, before)
    r = world.call("doTransition", {"issueIdOrKey": issue.key, "transition": {"id": t.id},
                                    "fields": {"resolution": {"name": "Won't Do"}},
                                    "update": {"comment": [{"add": {"body": ADF}}]}})
    assert (r.status, r.body) == (204, None)
    moved = world.site.issue(issue.key)
    assert moved.status == t.to and site.resolutions[moved.resolution] == "Won't Do"
    assert moved.resolutiondate is not None and moved.comments[-1].body == ADF


def test_transition_not_available_from_the_current_status_is_400(world: World) -> None:
    site = world.site
    issue = an_issue(site)
    workflow = site.projects[issue.project].workflow
    available = {t.id for t in jira.available(site, issue)}
    blocked = [t for t in workflow.transitions if t.id not in available]
    assert blocked
    before = world.snapshot()
    for t in blocked:
        r = world.call("doTransition", {"issueIdOrKey": issue.key, "transition": {"id": t.id},
                                        "fields": {"resolution": {"name": "Done"}}})
        assert r.status == 400
        assert error_messages(r) == [f"Transition id '{t.id}' is not valid for this issue."]
    for bad in ({}, {"transition": {}}, {"transition": {"name": workflow.transitions[0].name}}):
        r = world.call("doTransition", {"issueIdOrKey": issue.key, **bad})
        assert r.status == 400 and error_messages(r) == ["Missing 'transition' identifier"]
    r = world.call("doTransition", {"issueIdOrKey": "WEB-9999", "transition": {"id": "1"}})
    assert r.status == 404 and error_messages(r) == [NOT_FOUND]
    assert unchanged(world, before)


def test_a_simple_transition_then_back(world: World) -> None:
    site = world.site
    issue, t = next((i, t) for i in site.issues.values() for t in jira.available(site, i)
                    if not t.required and site.statuses[i.status].category != "done")
    start = issue.status
    assert world.call("doTransition", {"issueIdOrKey": issue.id, "transition": {"id": t.id}}).status == 204
    assert world.site.issue(issue.key).status == t.to and world.site.issue(issue.key).resolution is None
    diff = world.state_diff()
    assert diff[f"issues/{issue.key}/status"] == {"before": start, "after": t.to}


# -- comments ----------------------------------------------------------------------------------------------
def test_get_comments_pages_and_orders(world: World) -> None:
    issue = next(i for i in world.site.issues.values() if len(i.comments) >= 2)
    path = f"/rest/api/3/issue/{issue.key}/comment"
    r = world.request("GET", path)
    assert r.status == 200 and r.body["total"] == len(issue.comments) and r.body["startAt"] == 0
    assert [c["id"] for c in r.body["comments"]] == [c.id for c in issue.comments]
    first = r.body["comments"][0]
    assert first["self"] == f"{BASE_URL}/rest/api/3/issue/{issue.id}/comment/{first['id']}"
    assert first["author"]["accountId"] == issue.comments[0].author
    r = world.request("GET", path, {"maxResults": "1", "startAt": "1"})
    assert [c["id"] for c in r.body["comments"]] == [issue.comments[1].id] and r.body["maxResults"] == 1
    r = world.call("getComments", {"issueIdOrKey": issue.key, "orderBy": "-created"})
    assert [c["id"] for c in r.body["comments"]] == [c.id for c in reversed(issue.comments)]
    r = world.request("GET", path, {"orderBy": "updated"})
    assert r.status == 400 and "orderBy" in error_messages(r)[0]
    assert world.call("getComments", {"issueIdOrKey": "WEB-9999"}).status == 404


def test_add_comment_is_201_with_the_comment(world: World) -> None:
    issue = an_issue(world.site)
    count = len(issue.comments)
    r = world.call("addComment", {"issueIdOrKey": issue.key, "body": ADF})
    assert r.status == 201
    assert r.body["body"] == ADF and r.body["author"]["accountId"] == world.site.myself
    assert r.body["id"] not in {c.id for i in world.site.issues.values() for c in i.comments[:-1]}
    after = world.call("getComments", {"issueIdOrKey": issue.key}).body
    assert after["total"] == count + 1 and after["comments"][-1]["id"] == r.body["id"]


@pytest.mark.parametrize("body, message", [
    (None, "Comment body can not be empty!"),
    ("", "Comment body can not be empty!"),
    ("plain text", "Comment body is not valid!"),
    ({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]},
     "Comment body is not valid!"),
    ({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                   "text": "x" * 40000}]}]},
     "exceeds the allowed limit of 32767 characters"),
])
def test_invalid_comment_bodies_are_400(world: World, body: Any, message: str) -> None:
    issue = an_issue(world.site)
    before = world.snapshot()
    r = world.request("POST", f"/rest/api/3/issue/{issue.key}/comment", body={} if body is None else {"body": body})
    assert r.status == 400 and message in error_fields(r)["comment"]
    assert unchanged(world, before)
    r = world.call("addComment", {"issueIdOrKey": issue.key, "body": "plain"})  # the tool takes an object
    assert r.status == 400 and r.error == "invalid_arguments"
    r = world.call("addComment", {"issueIdOrKey": "WEB-9999", "body": ADF})
    assert r.status == 404 and unchanged(world, before)


# -- projects, issue types, create-meta ----------------------------------------------------------------------
def test_get_project_by_key_and_id(world: World) -> None:
    p = project(world.site)
    by_key = world.call("getProject", {"projectIdOrKey": p.key})
    by_id = world.call("getProject", {"projectIdOrKey": p.id})
    assert by_key.status == by_id.status == 200 and by_key.body == by_id.body
    body = by_key.body
    assert (body["id"], body["key"], body["name"]) == (p.id, p.key, p.name)
    assert body["lead"]["accountId"] == p.lead
    assert [t["id"] for t in body["issueTypes"]] == p.issue_types
    r = world.call("getProject", {"projectIdOrKey": p.key.lower()})  # keys are case-sensitive here
    assert r.status == 404 and error_messages(r) == [f"No project could be found with key '{p.key.lower()}'."]
    r = world.call("getProject", {"projectIdOrKey": "424242"})
    assert r.status == 404 and error_messages(r) == ["No project could be found with id '424242'."]


def test_search_projects(world: World) -> None:
    site = world.site
    keys = sorted(p.key for p in site.projects.values())
    r = world.call("searchProjects", {})
    assert r.status == 200 and [v["key"] for v in r.body["values"]] == keys
    assert (r.body["total"], r.body["isLast"], r.body["startAt"]) == (len(keys), True, 0)
    r = world.request("GET", "/rest/api/3/project/search", {"maxResults": "1", "startAt": "1"})
    assert [v["key"] for v in r.body["values"]] == keys[1:2] and r.body["isLast"] is False
    r = world.call("searchProjects", {"keys": [keys[0], "NOPE"]})
    assert [v["key"] for v in r.body["values"]] == [keys[0]]
    p = project(site)
    r = world.call("searchProjects", {"query": p.name.split()[0].lower()})
    assert p.key in [v["key"] for v in r.body["values"]]
    r = world.request("GET", "/rest/api/3/project/search", {"maxResults": "101"})
    assert r.status == 400 and error_messages(r) == ["Parameter 'maxResults' must not exceed the limit '100'"]


def test_issue_types_for_project(world: World) -> None:
    p = project(world.site)
    r = world.call("getIssueTypesForProject", {"projectId": int(p.id)})
    assert r.status == 200 and [t["id"] for t in r.body] == p.issue_types
    assert all(t["scope"] == {"type": "PROJECT", "project": {"id": p.id}} for t in r.body)
    assert [t["subtask"] for t in r.body] == [t == "10005" for t in p.issue_types]
    r = world.request("GET", "/rest/api/3/issuetype/project", {"projectId": "424242"})
    assert r.status == 404
    r = world.request("GET", "/rest/api/3/issuetype/project")
    assert r.status == 400 and error_messages(r) == ["The query parameter 'projectId' is required."]
    r = world.request("GET", "/rest/api/3/issuetype/project", {"projectId": p.key})
    assert r.status == 400 and "expected integer" in error_messages(r)[0]


def test_create_meta_issue_types_and_fields(world: World) -> None:
    p = project(world.site)
    r = world.call("getCreateIssueMetaIssueTypes", {"projectIdOrKey": p.key})
    assert r.status == 200 and [t["id"] for t in r.body["issueTypes"]] == p.issue_types
    assert r.body["total"] == len(p.issue_types)
    assert world.call("getCreateIssueMetaIssueTypes", {"projectIdOrKey": p.id}).body == r.body
    r = world.request("GET", f"/rest/api/3/issue/createmeta/{p.key}/issuetypes", {"maxResults": "201"})
    assert r.status == 400 and error_messages(r) == ["Parameter 'maxResults' must not exceed the limit '200'"]
    r = world.call("getCreateIssueMetaIssueTypes", {"projectIdOrKey": "NOPE"})
    assert r.status == 404 and error_messages(r) == ["No project could be found with key 'NOPE'."]

    r = world.call("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": p.key, "issueTypeId": "10002"})
    assert r.status == 200
    fields = {f["fieldId"]: f for f in r.body["fields"]}
    assert list(fields) == [f.id for f in p.screens["10002"]]
    assert fields["summary"]["required"] is True and fields["labels"]["operations"] == ["add", "set", "remove"]
    assert fields["priority"]["hasDefaultValue"] is True and fields["priority"]["allowedValues"]
    missing = next(t for t in world.site.issue_types if t not in p.issue_types)
    r = world.call("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": p.key, "issueTypeId": missing})
    assert r.status == 400 and error_messages(r) == [
        f"The issue type with id '{missing}' does not exist or is not valid for project '{p.key}'."]


# -- assign --------------------------------------------------------------------------------------------------
def test_assign_to_a_user_to_nobody_and_to_the_default(world: World) -> None:
    site = world.site
    issue = an_issue(site)
    someone = next(a for a in site.users if a not in (site.myself, issue.assignee))
    r = world.call("assignIssue", {"issueIdOrKey": issue.key, "accountId": someone})
    assert (r.status, r.body) == (204, None) and world.site.issue(issue.key).assignee == someone
    r = world.call("assignIssue", {"issueIdOrKey": issue.key, "accountId": None})
    assert r.status == 204 and world.site.issue(issue.key).assignee is None
    r = world.request("PUT", f"/rest/api/3/issue/{issue.key}/assignee", body={"accountId": "-1"})
    assert r.status == 204 and world.site.issue(issue.key).assignee == site.projects[issue.project].lead
    got = world.call("getIssue", {"issueIdOrKey": issue.key, "fields": ["assignee"]}).body["fields"]["assignee"]
    assert got["accountId"] == site.projects[issue.project].lead


def test_assign_errors(world: World) -> None:
    issue = an_issue(world.site)
    before = world.snapshot()
    r = world.call("assignIssue", {"issueIdOrKey": issue.key, "accountId": "nobody"})
    assert r.status == 400 and error_fields(r) == {"assignee": "User 'nobody' cannot be assigned issues."}
    r = world.call("assignIssue", {"issueIdOrKey": issue.key})
    assert r.status == 400 and error_messages(r) == ["Exactly one of 'accountId', 'name' or 'key' must be provided."]
    r = world.request("PUT", f"/rest/api/3/issue/{issue.key}/assignee", body={"name": "bob"})
    assert r.status == 400 and "assignee" in error_fields(r)
    r = world.request("PUT", f"/rest/api/3/issue/{issue.key}/assignee", body={"accountId": "x" * 129})
    assert r.status == 400 and "accountId" in error_fields(r)
    r = world.call("assignIssue", {"issueIdOrKey": "WEB-9999", "accountId": None})
    assert r.status == 404 and error_messages(r) == [NOT_FOUND]
    assert unchanged(world, before)


# -- users ---------------------------------------------------------------------------------------------------
def test_find_users(world: World) -> None:
    site = world.site
    user = next(u for u in site.users.values() if u.account_id != site.myself)
    first, last = user.display_name.split()
    for query in (first.lower(), last[:3], user.email, first.upper()):
        r = world.request("GET", "/rest/api/3/user/search", {"query": query})
        assert r.status == 200 and isinstance(r.body, list)
        assert user.account_id in [u["accountId"] for u in r.body], query
    r = world.call("findUsers", {"accountId": user.account_id})
    assert [u["accountId"] for u in r.body] == [user.account_id]
    assert r.body[0] == {**r.body[0], "displayName": user.display_name, "emailAddress": user.email,
                         "accountType": "atlassian", "active": True}
    assert world.call("findUsers", {"query": "zzzz-nobody"}).body == []
    r = world.call("findUsers", {"query": "a", "maxResults": 1})
    assert len(r.body) == 1
    r = world.call("findUsers", {})
    assert r.status == 400 and error_messages(r) == ["One of 'query', 'accountId' or 'property' must be provided."]
    r = world.call("findUsers", {"query": first, "accountId": user.account_id})
    assert r.status == 400 and error_messages(r) == ["Only one of 'query' or 'accountId' can be provided."]
