"""The simulated Confluence Cloud v2 (and the v1 label route): every offered operation, success and errors.

Both layers are exercised: `World.request` with HTTP-like string query values and `World.call` with tool
arguments. Every response is also validated against the official response schema (tests/conftest.py).
Expected behaviour follows shared/specs/API-DIGEST.md, section C.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from scenarios.atlassian import catalog
from scenarios.atlassian.http import Response
from scenarios.atlassian.site import BASE_URL, Page, Site, Space
from scenarios.atlassian.world import World

SEED = 1
V2 = "/wiki/api/v2"
STORAGE = {"representation": "storage", "value": "<p>Hello <strong>world</strong></p>"}
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}]}
CONFLUENCE_TOOLS = [n for n in catalog.OFFERED if catalog.tool(n).operation.document.startswith("confluence")]


@pytest.fixture
def world() -> World:
    return World(SEED)


# -- helpers ----------------------------------------------------------------------------------------------
def space(site: Site, n: int = 0) -> Space:
    return list(site.spaces.values())[n]


def children(site: Site, page_id: str) -> list[Page]:
    return sorted((p for p in site.pages.values() if p.parent == page_id and p.status == "current"),
                  key=lambda p: p.position)


def a_child_page(site: Site, n: int = 0) -> Page:
    """A page under its space's homepage, with children of its own where one exists."""
    s = space(site, n)
    kids = children(site, s.homepage)
    return next((p for p in kids if children(site, p.id)), kids[0])


def v2_error(response: Response, status: int) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body)
    assert list(response.body) == ["errors"] and len(response.body["errors"]) == 1
    error = response.body["errors"][0]
    assert set(error) == {"status", "code", "title", "detail"} and error["status"] == status
    return error


def v1_error(response: Response, status: int) -> str:
    assert response.status == status, (response.status, response.body)
    assert response.body["statusCode"] == status
    return response.body["message"]


def create(world: World, **args: Any) -> Any:
    s = space(world.site)
    return world.call("createPage", {"spaceId": s.id, "title": "A new page", "body": STORAGE, **args})


# -- the catalog ---------------------------------------------------------------------------------------------
def test_every_confluence_operation_is_offered_with_its_spec_path() -> None:
    assert sorted(CONFLUENCE_TOOLS) == sorted([
        "createPage", "getPages", "getPageById", "updatePage", "getSpaces", "getSpaceById", "getPageDirectChildren",
        "getPageLabels", "getPageFooterComments", "createFooterComment", "addLabelsToContent"])
    assert catalog.tool("getPages").operation.path == f"{V2}/pages"
    assert catalog.tool("addLabelsToContent").operation.path == "/wiki/rest/api/content/{id}/label"
    props = catalog.tool("getPages").parameters["properties"]
    assert {"space_id", "title", "status", "body_format"} <= set(props)  # names a model can write as kwargs
    assert catalog.tool("updatePage").parameters["required"] == ["id", "status", "title", "body", "version"]


def test_unknown_paths_under_wiki_answer_in_the_confluence_envelope(world: World) -> None:
    r = world.request("GET", f"{V2}/nothing")
    assert v2_error(r, 404)["code"] == "NOT_FOUND"
    r = world.request("PATCH", f"{V2}/pages/{space(world.site).homepage}")
    assert v2_error(r, 405)["code"] == "METHOD_NOT_ALLOWED"
    r = world.request("PUT", "/wiki/rest/api/content/1/label")
    assert "not allowed" in v1_error(r, 405)


# -- create page ---------------------------------------------------------------------------------------------
def test_create_page_is_200_under_the_homepage_by_default(world: World) -> None:
    s = space(world.site)
    r = create(world)
    assert r.status == 200 and r.write  # 200, not 201
    body = r.body
    assert body["spaceId"] == s.id and body["parentId"] == s.homepage and body["parentType"] == "page"
    assert body["status"] == "current" and body["title"] == "A new page" and body["version"]["number"] == 1
    assert body["body"] == {"storage": STORAGE} and body["authorId"] == world.site.myself
    assert body["_links"]["base"] == f"{BASE_URL}/wiki" and body["_links"]["webui"].endswith(body["id"])
    diff = world.state_diff()
    assert list(diff) == [f"pages/{body['id']}"] and diff[f"pages/{body['id']}"]["before"] is None
    kids = world.call("getPageDirectChildren", {"id": s.homepage}).body["results"]
    assert kids[-1]["id"] == body["id"]  # a new page goes last among its siblings


def test_create_page_with_parent_adf_and_nested_body_forms(world: World) -> None:
    parent = a_child_page(world.site)
    adf_text = json.dumps(ADF)
    r = create(world, parentId=parent.id, body={"representation": "atlas_doc_format", "value": adf_text})
    assert r.status == 200 and r.body["parentId"] == parent.id
    assert r.body["body"]["storage"]["value"] == "<p>Hi</p>"  # rendered to storage
    got = world.call("getPageById", {"id": r.body["id"], "body_format": "atlas_doc_format"}).body
    assert got["body"]["atlas_doc_format"]["value"] == adf_text  # ADF comes back as written (a JSON string)
    r = create(world, title="Nested", body={"storage": {"representation": "storage", "value": "<p>n</p>"}})
    assert r.status == 200 and r.body["body"]["storage"]["value"] == "<p>n</p>"
    r = create(world, title="Wiki", body={"representation": "wiki", "value": "line one\nline <two>"})
    assert r.body["body"]["storage"]["value"] == "<p>line one</p><p>line &lt;two&gt;</p>"


def test_create_page_at_root_level_via_the_query(world: World) -> None:
    s = space(world.site)
    r = world.request("POST", f"{V2}/pages", {"root-level": "true"},
                      {"spaceId": s.id, "title": "Root page", "body": STORAGE})
    assert r.status == 200 and "parentId" not in r.body  # no parent: left out, as the schema types it string
    r = world.request("POST", f"{V2}/pages", {"root-level": "true"},
                      {"spaceId": s.id, "title": "Root 2", "parentId": s.homepage, "body": STORAGE})
    assert v2_error(r, 400)["detail"] == "parentId cannot be set for a root-level page."


def test_page_titles_are_unique_among_current_pages_of_a_space(world: World) -> None:
    site = world.site
    taken = a_child_page(site)
    before = world.snapshot()
    r = create(world, title=taken.title)
    assert "A page already exists with the same TITLE in this space" in v2_error(r, 400)["detail"]
    assert world.snapshot() == before
    other = space(site, 1)
    assert world.call("createPage", {"spaceId": other.id, "title": taken.title, "body": STORAGE}).status == 200
    draft = create(world, title=taken.title, status="draft")  # drafts do not take the title
    assert draft.status == 200 and draft.body["status"] == "draft"
    assert create(world, status="draft", title="").status == 200  # a draft needs no title


@pytest.mark.parametrize("args, status, detail", [
    ({"spaceId": "424242"}, 404, "Space not found"),
    ({"spaceId": "ENG"}, 404, "Space not found"),  # a key is not an id: look it up with getSpaces(keys=)
    ({"title": ""}, 400, "Title is required for a published page."),
    ({"title": "t" * 256}, 400, "Title cannot be longer than 255 characters."),
    ({"parentId": "424242"}, 404, "Parent page 424242 was not found"),
    ({"body": {"representation": "storage", "value": "<p>unclosed"}}, 400, "Error parsing xhtml"),
    ({"body": {"representation": "storage", "value": "<p>a</p><<"}}, 400, "Error parsing xhtml"),
    ({"body": {"representation": "atlas_doc_format", "value": "{not json"}}, 400, "not valid JSON"),
    ({"body": {"representation": "atlas_doc_format", "value": json.dumps({"type": "doc", "content": []})}}, 400,
     "Invalid atlas_doc_format: 'version' is a required property"),
    ({"body": {"representation": "html", "value": "<p>x</p>"}}, 400, ""),
    ({"body": {"value": "<p>x</p>"}}, 400, "body must have a representation"),
    ({"body": "<p>x</p>"}, 400, "Invalid argument 'body'"),
    ({"status": "archived"}, 400, "Invalid argument 'status'"),
])
def test_create_page_errors(world: World, args: dict[str, Any], status: int, detail: str) -> None:
    before = world.snapshot()
    error = v2_error(create(world, **args), status)
    assert detail in (error["detail"] or "")
    assert error["code"] == {400: "INVALID_REQUEST_PARAMETER", 404: "NOT_FOUND"}[status]
    assert world.snapshot() == before


def test_create_page_in_another_spaces_tree_is_404(world: World) -> None:
    elsewhere = a_child_page(world.site, 1)
    r = create(world, parentId=elsewhere.id)
    assert "was not found in space" in v2_error(r, 404)["detail"]


def test_create_page_requires_a_space(world: World) -> None:
    r = world.call("createPage", {"title": "No space", "body": STORAGE})
    assert r.error == "invalid_arguments" and "'spaceId' is a required property" in v2_error(r, 400)["detail"]
    r = world.request("POST", f"{V2}/pages", body={"title": "No space"})
    assert "'spaceId' is a required property" in v2_error(r, 400)["detail"]


# -- get pages and get page ------------------------------------------------------------------------------------
def test_get_pages_filters_by_space_title_and_status(world: World) -> None:
    site = world.site
    s = space(site)
    in_space = [p.id for p in site.pages.values() if p.space == s.id]
    r = world.request("GET", f"{V2}/pages", {"space-id": s.id, "limit": "250"})
    assert r.status == 200 and [p["id"] for p in r.body["results"]] == in_space
    assert all(p["body"] == {} for p in r.body["results"])  # no body-format: no body
    r = world.call("getPages", {"space_id": [int(s.id), int(space(site, 1).id)], "limit": 250})
    assert {p["spaceId"] for p in r.body["results"]} == {s.id, space(site, 1).id}
    target = a_child_page(site)
    r = world.call("getPages", {"title": target.title, "body_format": "storage"})
    assert [p["id"] for p in r.body["results"]] == [target.id]
    assert r.body["results"][0]["body"]["storage"]["value"] == target.body
    assert world.call("getPages", {"title": target.title.upper()}).body["results"] == []  # exact title

    draft = create(world, title="Drafted", status="draft").body
    listed = {p["id"] for p in world.call("getPages", {"space_id": [int(s.id)], "limit": 250}).body["results"]}
    assert draft["id"] not in listed  # the default statuses are current and archived
    r = world.request("GET", f"{V2}/pages", {"status": "current,archived", "space-id": s.id, "limit": "250"})
    assert {p["id"] for p in r.body["results"]} == listed
    r = world.request("GET", f"{V2}/pages", {"status": "trashed"})
    assert r.body["results"] == []


def test_get_pages_cursor_paging_with_link_header(world: World) -> None:
    site = world.site
    all_ids = [p.id for p in site.pages.values() if p.status == "current"]
    seen: list[str] = []
    query: dict[str, Any] = {"limit": "4"}
    for _ in range(50):
        r = world.request("GET", f"{V2}/pages", query)
        assert r.status == 200 and len(r.body["results"]) <= 4
        seen += [p["id"] for p in r.body["results"]]
        links = r.body["_links"]
        assert links["base"] == f"{BASE_URL}/wiki"
        if "next" not in links:
            assert "Link" not in r.headers
            break
        assert r.headers["Link"] == f'<{links["next"]}>; rel="next", <{links["base"]}>; rel="base"'
        url = urlsplit(links["next"])
        assert url.path == f"{V2}/pages"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert query["limit"] == "4"
    assert seen == all_ids


@pytest.mark.parametrize("query, detail", [
    ({"limit": "0"}, "limit must be between 1 and 250"),
    ({"limit": "251"}, "Parameter 'limit' must not exceed the limit '250'"),
    ({"limit": "many"}, "Invalid value for parameter 'limit'"),
    ({"cursor": "not-a-cursor"}, "Invalid cursor"),
    ({"space-id": "ENG"}, "Invalid value for parameter 'space-id'"),
    ({"status": "draft"}, "Invalid value 'draft' for parameter 'status'"),
    ({"body-format": "view"}, "Invalid value 'view' for parameter 'body-format'"),
])
def test_get_pages_errors(world: World, query: dict[str, str], detail: str) -> None:
    assert detail in v2_error(world.request("GET", f"{V2}/pages", query), 400)["detail"]


def test_get_page_by_id_with_body_formats_and_labels(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.labels)
    r = world.call("getPageById", {"id": page.id})
    assert r.status == 200 and r.body["id"] == page.id and r.body["body"] == {}
    assert r.body["version"]["number"] == page.version and r.body["_links"]["base"] == f"{BASE_URL}/wiki"
    assert "labels" not in r.body
    r = world.request("GET", f"{V2}/pages/{page.id}", {"body-format": "storage", "include-labels": "true"})
    assert r.body["body"]["storage"] == {"representation": "storage", "value": page.body}
    assert [label["name"] for label in r.body["labels"]["results"]] == [site.labels[i].name for i in page.labels]
    r = world.call("getPageById", {"id": page.id, "body_format": "atlas_doc_format"})
    doc = json.loads(r.body["body"]["atlas_doc_format"]["value"])
    assert doc["type"] == "doc" and doc["content"][0]["content"][0]["text"] == f"{page.title} for the team."
    r = world.call("getPageById", {"id": page.id, "body_format": "view"})
    assert r.body["body"]["view"]["representation"] == "view"
    home = world.call("getPageById", {"id": space(site).homepage}).body
    assert "parentId" not in home and "parentType" not in home


def test_get_page_not_found_and_bad_ids(world: World) -> None:
    r = world.call("getPageById", {"id": "424242"})
    assert v2_error(r, 404) == {"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": None}
    r = world.call("getPageById", {"id": "ENG"})
    assert v2_error(r, 400)["detail"] == "The path parameter 'id' must be a number, not 'ENG'."
    r = world.request("GET", f"{V2}/pages/{space(world.site).homepage}", {"body-format": "xml"})
    assert "body-format" in v2_error(r, 400)["detail"]


# -- update page ---------------------------------------------------------------------------------------------
def update(world: World, page: Page, **args: Any) -> Any:
    return world.call("updatePage", {"id": page.id, "status": "current", "title": page.title, "body": STORAGE,
                                     "version": {"number": page.version + 1, "message": "edit"}, **args})


def test_update_page_with_the_next_version(world: World) -> None:
    page = a_child_page(world.site)
    title = page.title
    r = update(world, page, title="Renamed page")
    assert r.status == 200 and r.body["version"]["number"] == 2 and r.body["title"] == "Renamed page"
    assert r.body["body"] == {"storage": STORAGE} and r.body["parentId"] == page.parent
    assert world.site.pages[page.id].version == 2
    diff = world.state_diff()
    assert diff[f"pages/{page.id}/title"] == {"before": title, "after": "Renamed page"}
    assert diff[f"pages/{page.id}/version"] == {"before": 1, "after": 2}
    r = update(world, world.site.pages[page.id], body={"representation": "atlas_doc_format",
                                                        "value": json.dumps(ADF)})
    assert r.status == 200 and r.body["version"]["number"] == 3


def test_update_page_version_conflicts_are_409(world: World) -> None:
    page = a_child_page(world.site)
    before = world.snapshot()
    for number in (page.version, page.version + 2, 0):
        r = update(world, page, version={"number": number})
        error = v2_error(r, 409)
        assert error["code"] == "CONFLICT"
        assert error["detail"] == f"Version must be incremented on update. Current version is: {page.version}"
    assert world.snapshot() == before


def test_update_page_moves_it_under_another_parent(world: World) -> None:
    site = world.site
    s = space(site)
    page = a_child_page(site)
    target = next(p for p in children(site, s.homepage) if p.id != page.id)
    r = update(world, page, parentId=target.id)
    assert r.status == 200 and r.body["parentId"] == target.id
    kids = world.call("getPageDirectChildren", {"id": target.id}).body["results"]
    assert kids[-1]["id"] == page.id
    assert page.id not in [k["id"] for k in world.call("getPageDirectChildren", {"id": s.homepage}).body["results"]]


@pytest.mark.parametrize("change, status, detail", [
    ({"parentId": "424242"}, 404, "Parent page 424242 was not found in this space."),
    ({"title": ""}, 400, "Title is required for a published page."),
    ({"body": {"representation": "storage", "value": "<b>bad"}}, 400, "Error parsing xhtml"),
    ({"version": {"message": "no number"}}, 400, "version.number is required."),
    ({"version": 2}, 400, "Invalid argument 'version'"),
])
def test_update_page_errors(world: World, change: dict[str, Any], status: int, detail: str) -> None:
    page = a_child_page(world.site)
    before = world.snapshot()
    assert detail in v2_error(update(world, page, **change), status)["detail"]
    assert world.snapshot() == before


def test_update_page_tree_and_space_rules(world: World) -> None:
    site = world.site
    page = a_child_page(site)
    before = world.snapshot()
    grandchild = children(site, page.id)[0]
    r = update(world, page, parentId=grandchild.id)
    assert v2_error(r, 400)["detail"] == "A page cannot be moved under itself or its descendants."
    r = update(world, page, parentId=page.id)
    assert v2_error(r, 400)["detail"] == "A page cannot be moved under itself or its descendants."
    elsewhere = a_child_page(site, 1)
    r = update(world, page, parentId=elsewhere.id)
    assert v2_error(r, 404)["detail"] == f"Parent page {elsewhere.id} was not found in this space."
    sibling = next(p for p in site.pages.values() if p.space == page.space and p.id != page.id)
    r = update(world, page, title=sibling.title)
    assert "A page already exists with the same TITLE" in v2_error(r, 400)["detail"]
    r = world.request("PUT", f"{V2}/pages/{page.id}", body={
        "id": sibling.id, "status": "current", "title": "x", "body": STORAGE, "version": {"number": 2}})
    assert v2_error(r, 400)["detail"] == "The page id in the body does not match the id in the path."
    r = world.request("PUT", f"{V2}/pages/{page.id}", body={
        "id": page.id, "status": "current", "title": "x", "body": STORAGE, "version": {"number": 2},
        "spaceId": space(site, 1).id})
    assert v2_error(r, 400)["detail"] == "Moving a page to another space is not supported."
    r = world.request("PUT", f"{V2}/pages/{page.id}", body={"id": page.id, "status": "current", "title": "x"})
    assert "is a required property" in v2_error(r, 400)["detail"]
    r = world.call("updatePage", {"id": "424242", "status": "current", "title": "x", "body": STORAGE,
                                  "version": {"number": 2}})
    assert v2_error(r, 404)["detail"] is None
    assert world.snapshot() == before


# -- spaces ----------------------------------------------------------------------------------------------------
def test_get_spaces_by_keys_and_ids(world: World) -> None:
    site = world.site
    spaces = sorted(site.spaces.values(), key=lambda s: int(s.id))
    r = world.call("getSpaces", {})
    assert r.status == 200 and [s["id"] for s in r.body["results"]] == [s.id for s in spaces]
    one = spaces[1]
    r = world.call("getSpaces", {"keys": [one.key]})
    assert [s["key"] for s in r.body["results"]] == [one.key]
    got = r.body["results"][0]
    assert (got["id"], got["name"], got["homepageId"], got["type"]) == (one.id, one.name, one.homepage, "global")
    r = world.request("GET", f"{V2}/spaces", {"keys": f"{spaces[0].key},{spaces[2].key},NOPE"})
    assert [s["key"] for s in r.body["results"]] == [spaces[0].key, spaces[2].key]
    r = world.request("GET", f"{V2}/spaces", {"ids": one.id})
    assert [s["id"] for s in r.body["results"]] == [one.id]
    r = world.request("GET", f"{V2}/spaces", {"limit": "1"})
    assert len(r.body["results"]) == 1 and "cursor=" in r.body["_links"]["next"] and "Link" in r.headers
    assert world.call("getSpaces", {"keys": [one.key.lower()]}).body["results"] == []
    assert "Invalid value for parameter 'ids'" in v2_error(world.request("GET", f"{V2}/spaces", {"ids": "ENG"}),
                                                           400)["detail"]


def test_get_space_by_id(world: World) -> None:
    s = space(world.site)
    r = world.call("getSpaceById", {"id": s.id})
    assert r.status == 200 and (r.body["key"], r.body["homepageId"]) == (s.key, s.homepage)
    assert r.body["description"]["plain"]["value"] == s.description
    assert v2_error(world.call("getSpaceById", {"id": "424242"}), 404)["detail"] is None
    assert "must be a number" in v2_error(world.call("getSpaceById", {"id": s.key}), 400)["detail"]


# -- children ------------------------------------------------------------------------------------------------
def test_direct_children_in_position_order(world: World) -> None:
    site = world.site
    s = space(site)
    r = world.call("getPageDirectChildren", {"id": s.homepage})
    assert r.status == 200
    assert [c["id"] for c in r.body["results"]] == [p.id for p in children(site, s.homepage)]
    for c in r.body["results"]:
        assert set(c) == {"id", "status", "title", "type", "spaceId", "childPosition"}
        assert c["type"] == "page" and c["spaceId"] == s.id
    leaf = next(p for p in site.pages.values() if not children(site, p.id))
    assert world.call("getPageDirectChildren", {"id": leaf.id}).body["results"] == []
    r = world.request("GET", f"{V2}/pages/{s.homepage}/direct-children", {"limit": "1"})
    assert len(r.body["results"]) == 1 and "next" in r.body["_links"]
    link = urlsplit(r.body["_links"]["next"])
    assert link.path == f"{V2}/pages/{s.homepage}/direct-children"  # the page's id, not a placeholder
    second = world.request("GET", link.path, dict(parse_qsl(link.query))).body["results"]
    assert [c["id"] for c in second] == [c.id for c in children(world.site, s.homepage)[1:2]]
    assert v2_error(world.call("getPageDirectChildren", {"id": "424242"}), 404)["code"] == "NOT_FOUND"


# -- labels --------------------------------------------------------------------------------------------------
def test_page_labels_read(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if len(p.labels) >= 2)
    r = world.call("getPageLabels", {"id": page.id})
    assert r.status == 200
    assert r.body["results"] == [{"id": i, "name": site.labels[i].name, "prefix": "global"} for i in page.labels]
    r = world.request("GET", f"{V2}/pages/{page.id}/labels", {"limit": "1"})
    assert len(r.body["results"]) == 1 and "next" in r.body["_links"]
    assert v2_error(world.call("getPageLabels", {"id": "424242"}), 404)["code"] == "NOT_FOUND"


def test_add_labels_through_the_v1_route(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.labels)
    existing = [site.labels[i].name for i in page.labels]
    r = world.call("addLabelsToContent", {"id": page.id, "body": [
        {"prefix": "global", "name": "Runbook"}, {"prefix": "global", "name": existing[0]},
        {"prefix": "global", "name": "runbook"}]})
    assert r.status == 200 and r.operation == "addLabelsToContent" and r.write
    names = [x["name"] for x in r.body["results"]]
    assert names == [*existing, "runbook"]  # lower-cased, no duplicates, appended
    assert r.body["size"] == len(names) and all(x["label"] == x["name"] for x in r.body["results"])
    assert [x["name"] for x in world.call("getPageLabels", {"id": page.id}).body["results"]] == names
    # A single LabelCreate object (the spec's other alternative) is accepted at the HTTP level.
    other = next(p for p in site.pages.values() if p.id != page.id)
    r = world.request("POST", f"/wiki/rest/api/content/{other.id}/label", body={"prefix": "global",
                                                                                "name": "runbook"})
    assert r.status == 200 and "runbook" in [x["name"] for x in r.body["results"]]
    label_ids = {x["id"] for p in (page, other) for x in
                 world.call("getPageLabels", {"id": p.id}).body["results"] if x["name"] == "runbook"}
    assert len(label_ids) == 1  # one label, shared by both pages


@pytest.mark.parametrize("body, status, message", [
    ([{"prefix": "global", "name": "has space"}], 400, "Invalid label name: 'has space'"),
    ([{"prefix": "global", "name": ""}], 400, "Invalid label name"),
    ([{"prefix": "global", "name": "x" * 256}], 400, "Invalid label name"),
    ([{"prefix": "public", "name": "ok"}], 400, "Invalid label prefix: public"),
    ([{"name": "ok"}], 400, "'prefix' is a required property"),
    ([{"prefix": "global", "name": f"l{n}"} for n in range(501)], 400, "too many labels"),
])
def test_add_labels_errors_use_the_v1_envelope(world: World, body: Any, status: int, message: str) -> None:
    page = a_child_page(world.site)
    before = world.snapshot()
    r = world.request("POST", f"/wiki/rest/api/content/{page.id}/label", body=body)
    assert message in v1_error(r, status)
    assert world.snapshot() == before


def test_add_labels_to_missing_content_is_404(world: World) -> None:
    r = world.call("addLabelsToContent", {"id": "424242", "body": [{"prefix": "global", "name": "x"}]})
    assert v1_error(r, 404) == "No content found with id: ContentId{id=424242}"
    r = world.call("addLabelsToContent", {"id": "ENG", "body": [{"prefix": "global", "name": "x"}]})
    assert v1_error(r, 404) == "No content found with id: ContentId{id=ENG}"


# -- footer comments -----------------------------------------------------------------------------------------
def test_footer_comments_list_and_create_with_location(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.comments)
    r = world.call("getPageFooterComments", {"id": page.id, "body_format": "storage"})
    assert r.status == 200 and [c["id"] for c in r.body["results"]] == [c.id for c in page.comments]
    assert r.body["results"][0]["body"]["storage"]["value"] == page.comments[0].body
    assert r.body["results"][0]["pageId"] == page.id
    assert world.call("getPageFooterComments", {"id": page.id}).body["results"][0]["body"] == {}

    r = world.request("POST", f"{V2}/footer-comments", body={"pageId": page.id, "body": {
        "representation": "storage", "value": "<p>LGTM</p>"}})
    assert r.status == 201
    assert r.headers["location"] == f"{BASE_URL}{V2}/footer-comments/{r.body['id']}"
    assert r.body["pageId"] == page.id and r.body["version"]["number"] == 1
    assert r.body["body"]["storage"]["value"] == "<p>LGTM</p>" and r.body["_links"]["base"] == f"{BASE_URL}/wiki"
    listed = world.call("getPageFooterComments", {"id": page.id, "body_format": "atlas_doc_format"}).body
    assert listed["results"][-1]["id"] == r.body["id"]
    assert json.loads(listed["results"][-1]["body"]["atlas_doc_format"]["value"])["content"][0]["content"][0][
        "text"] == "LGTM"
    t = world.call("createFooterComment", {"pageId": page.id, "body": {"representation": "atlas_doc_format",
                                                                       "value": json.dumps(ADF)}})
    assert t.status == 201 and t.body["body"]["storage"]["value"] == "<p>Hi</p>"


@pytest.mark.parametrize("args, status, detail", [
    ({"pageId": "424242", "body": STORAGE}, 404, "The page was not found."),
    ({"body": STORAGE}, 400, "A footer comment needs a pageId"),
    ({"pageId": "{page}"}, 400, "body is required."),
    ({"pageId": "{page}", "body": {"representation": "storage", "value": ""}}, 400,
     "The comment body cannot be empty."),
    ({"pageId": "{page}", "body": {"representation": "storage", "value": "<p>open"}}, 400, "Error parsing xhtml"),
    ({"pageId": "{page}", "body": None}, 400, "Invalid argument 'body'"),
])
def test_create_footer_comment_errors(world: World, args: dict[str, Any], status: int, detail: str) -> None:
    page = a_child_page(world.site)
    before = world.snapshot()
    r = world.call("createFooterComment", {k: page.id if v == "{page}" else v for k, v in args.items()})
    assert detail in (v2_error(r, status)["detail"] or "")
    assert world.snapshot() == before
    assert v2_error(world.call("getPageFooterComments", {"id": "424242"}), 404)["code"] == "NOT_FOUND"
