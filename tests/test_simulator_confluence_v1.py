"""The simulated Confluence Cloud v1 REST API (`/wiki/rest/api/...`): content, history, children, labels,
spaces, users and CQL search, on the same pages as v2, and a realistic atlassian-python-api session over HTTP.

Every response is validated against the official v1 response schema (tests/conftest.py), and a handler's
exception fails the test instead of being answered 500 (`World.strict`).
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulator_confluence import a_child_page, children, space, v1_error

from scenarios.atlassian.confluence_search import records
from scenarios.atlassian.cql import PREFIX
from scenarios.atlassian.generate import generate
from scenarios.atlassian.openapi import spec
from scenarios.atlassian.server import Serving
from scenarios.atlassian.site import BASE_URL, Page
from scenarios.atlassian.world import World

SEED = 1
V1 = "/wiki/rest/api"
V2 = "/wiki/api/v2"
STORAGE = {"storage": {"value": "<p>Runbook: <strong>page</strong> the on-call.</p>", "representation": "storage"}}
EVERYTHING = "body.storage,version,space,ancestors,history.lastUpdated,children.page,metadata.labels,childTypes.all"


@pytest.fixture(autouse=True)
def _strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(World, "strict", True)


@pytest.fixture
def world() -> World:
    return World(SEED)


def get(world: World, path: str, **query: Any) -> Any:
    r = world.request("GET", V1 + path, {k: str(v) for k, v in query.items()})
    assert r.status == 200, (path, r.status, r.body)
    return r.body


def create(world: World, title: str = "Runbook", **extra: Any) -> Any:
    return world.request("POST", f"{V1}/content", body={"type": "page", "title": title, "space": {"key": "ENG"},
                                                        "body": STORAGE, **extra})


def put(world: World, page_id: str, number: int, **extra: Any) -> Any:
    return world.request("PUT", f"{V1}/content/{page_id}", body={"type": "page", "version": {"number": number},
                                                                 **extra})


def kids(site: Any, page: Page) -> list[Page]:
    return children(site, page.id)


def deep_page(world: World) -> Page:
    """A page two levels under its space's homepage."""
    return next(p for p in world.site.pages.values() if p.parent and world.site.pages[p.parent].parent)


# -- content: reading ---------------------------------------------------------------------------------------
def test_content_by_space_and_title_with_the_default_expansions(world: World) -> None:
    page = a_child_page(world.site)
    key = world.site.spaces[page.space].key
    found = get(world, "/content", spaceKey=key, title=page.title)
    assert [c["id"] for c in found["results"]] == [page.id] and found["size"] == 1
    item = found["results"][0]
    assert item["type"] == "page" and item["status"] == "current" and item["title"] == page.title
    assert item["space"]["key"] == key and item["version"]["number"] == 1 and item["history"]["latest"] is True
    assert item["version"]["by"]["accountId"] == page.author == item["history"]["createdBy"]["accountId"]
    assert "body" not in item and item["_expandable"]["body"] == ""
    assert item["_links"]["webui"].startswith(f"/spaces/{key}/pages/{page.id}/")
    assert found["_links"]["base"] == f"{BASE_URL}/wiki" and found["_links"]["context"] == "/wiki"
    assert get(world, "/content", spaceKey=key, title=page.title.upper())["results"] == []  # titles: exact
    assert get(world, "/content", type="blogpost")["results"] == []  # the site has no blog posts
    everything = get(world, "/content", spaceKey=key, limit=200)
    in_space = [p.id for p in world.site.pages.values() if p.space == page.space]
    assert [c["id"] for c in everything["results"]] == in_space


def test_content_list_pages_with_start_limit_and_next_links(world: World) -> None:
    everything = [c["id"] for c in get(world, "/content", limit=200)["results"]]
    assert everything == list(world.site.pages)
    seen, query = [], {"limit": "4"}
    while True:
        body = world.request("GET", f"{V1}/content", query).body
        seen += [c["id"] for c in body["results"]]
        if "next" not in body["_links"]:
            break
        link = urlsplit(body["_links"]["next"])
        assert link.path == "/rest/api/content"  # relative to the /wiki context, as Cloud writes it
        query = dict(parse_qsl(link.query))
    assert seen == everything
    ordered = get(world, "/content", orderby="title desc", limit=200)["results"]
    assert [c["title"] for c in ordered] == sorted((p.title for p in world.site.pages.values()), reverse=True)
    r = world.request("GET", f"{V1}/content", {"orderby": "colour asc"})
    assert "Unsupported orderby" in v1_error(r, 400)


def test_content_by_id_with_every_documented_expansion(world: World) -> None:
    page = deep_page(world)
    site = world.site
    got = get(world, f"/content/{page.id}", expand=EVERYTHING)
    assert got["body"]["storage"] == {"value": page.body, "representation": "storage", "embeddedContent": [],
                                      "_expandable": {"content": f"/rest/api/content/{page.id}"}}
    assert [a["id"] for a in got["ancestors"]] == [site.pages[page.parent].parent, page.parent]  # root first
    assert [c["id"] for c in got["children"]["page"]["results"]] == [c.id for c in kids(site, page)]
    assert [x["name"] for x in got["metadata"]["labels"]["results"]] == [site.labels[i].name for i in page.labels]
    assert got["history"]["lastUpdated"]["number"] == 1 and got["space"]["id"] == int(page.space)
    assert got["childTypes"]["page"]["value"] == bool(kids(site, page))
    assert got["_links"]["self"] == f"{BASE_URL}/wiki/rest/api/content/{page.id}"
    assert got["_links"]["base"] == f"{BASE_URL}/wiki"
    assert not {"body", "ancestors", "children", "metadata", "space", "version"} & set(got["_expandable"])
    views = get(world, f"/content/{page.id}", expand="body.view,body.atlas_doc_format")["body"]
    assert views["view"]["value"] == page.body and json.loads(views["atlas_doc_format"]["value"])["type"] == "doc"
    assert "storage" in views["_expandable"]


def test_content_by_id_errors_and_statuses(world: World) -> None:
    page = a_child_page(world.site)
    missing = world.request("GET", f"{V1}/content/424242")
    assert v1_error(missing, 404) == "No content found with id: ContentId{id=424242}"
    assert v1_error(world.request("GET", f"{V1}/content/ENG"), 404) == "No content found with id: ContentId{id=ENG}"
    assert "version 7" in v1_error(world.request("GET", f"{V1}/content/{page.id}", {"version": "7"}), 404)
    assert get(world, f"/content/{page.id}", version=1)["id"] == page.id
    r = world.request("GET", f"{V1}/content/{page.id}", {"status": "nonsense"})
    assert v1_error(r, 400).startswith("Invalid value 'nonsense' for parameter 'status'")
    assert get(world, f"/content/{page.id}", status="any")["id"] == page.id


def test_a_comment_is_content_too(world: World) -> None:
    page = next(p for p in world.site.pages.values() if p.comments)
    comment = page.comments[0]
    got = get(world, f"/content/{comment.id}", expand="body.storage,container,history,version")
    assert got["type"] == "comment" and got["title"] == f"Re: {page.title}"
    assert got["extensions"] == {"location": "footer"} and got["container"]["id"] == page.id
    assert got["body"]["storage"]["value"] == comment.body
    assert got["history"]["createdBy"]["accountId"] == comment.author


# -- content: writing ---------------------------------------------------------------------------------------
def test_create_page_at_the_space_root_and_read_it_back_through_v2(world: World) -> None:
    r = create(world)
    assert r.status == 200, r.body
    body = r.body
    assert body["type"] == "page" and body["version"]["number"] == 1 and body["space"]["key"] == "ENG"
    assert body["version"]["by"]["accountId"] == world.site.myself and "ancestors" not in body
    v2 = world.request("GET", f"{V2}/pages/{body['id']}", {"body-format": "storage"}).body
    assert "parentId" not in v2 and v2["title"] == "Runbook"  # no ancestors: a page at the root of the space
    assert v2["body"]["storage"]["value"] == STORAGE["storage"]["value"]
    diff = world.state_diff()
    assert list(diff) == [f"pages/{body['id']}"] and diff[f"pages/{body['id']}"]["before"] is None


def test_create_page_under_a_parent_in_each_body_format(world: World) -> None:
    parent = a_child_page(world.site)
    r = create(world, "Child", ancestors=[{"id": parent.id}])
    assert r.status == 200 and world.site.pages[r.body["id"]].parent == parent.id
    assert kids(world.site, parent)[-1].id == r.body["id"]  # goes last among its siblings
    r = create(world, "Wiki", body={"wiki": {"value": "one\n<two>", "representation": "wiki"}})
    assert world.site.pages[r.body["id"]].body == "<p>one</p><p>&lt;two&gt;</p>"
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "A"}]}]}
    r = create(world, "Adf", body={"atlas_doc_format": {"value": json.dumps(adf),
                                                         "representation": "atlas_doc_format"}})
    assert world.site.pages[r.body["id"]].body == "<p>A</p>"
    r = create(world, "Draft", status="draft")
    assert r.status == 200 and r.body["status"] == "draft"
    r = world.request("POST", f"{V1}/content", body={"type": "page", "title": "Blank", "space": {"key": "ENG"}})
    assert r.status == 200 and world.site.pages[r.body["id"]].body == ""


def test_create_page_as_the_authenticated_user(world: World) -> None:
    someone = next(u for u in world.site.users if u != world.site.myself)
    r = world.request("POST", f"{V1}/content", body={"type": "page", "title": "Mine", "space": {"key": "ENG"}},
                      user=someone)
    assert r.body["history"]["createdBy"]["accountId"] == someone
    assert world.request("GET", f"{V2}/pages/{r.body['id']}").body["authorId"] == someone
    r = world.request("POST", f"{V2}/pages", body={"spaceId": space(world.site).id, "title": "Mine too"}, user=someone)
    assert r.body["authorId"] == someone  # v2 writes as the authenticated user as well
    r = world.request("POST", f"{V2}/footer-comments", body={"pageId": r.body["id"], "body": {
        "representation": "storage", "value": "<p>Mine.</p>"}}, user=someone)
    assert r.status == 201 and r.body["version"]["authorId"] == someone


@pytest.mark.parametrize("change, status, message", [
    ({"title": "Onboarding"}, 400, "A page with this title already exists"),
    ({"title": ""}, 400, "Title is required"),
    ({"space": None}, 400, "A page needs a space: set space.key."),
    ({"space": {"key": "NOPE"}}, 403, "Space 'NOPE' does not exist"),
    ({"ancestors": [{"id": "424242"}]}, 404, "Parent page 424242 was not found in space ENG."),
    ({"type": "blogpost"}, 400, "Content type 'blogpost' cannot be created on this site"),
    ({"status": "historical"}, 400, "must be current or draft"),
    ({"body": {"storage": {"value": "<p>open", "representation": "storage"}}}, 400, "Error parsing xhtml"),
    ({"body": {"view": {"value": "<p>x</p>", "representation": "view"}}}, 400, "'view' representation"),
    ({"body": {"storage": {"value": "a", "representation": "storage"}, "wiki": {"value": "b",
                                                                                "representation": "wiki"}}},
     400, "exactly one representation"),
    ({"type": 7}, 400, "Invalid request body at /type"),
])
def test_create_page_errors_use_the_v1_envelope(world: World, change: dict[str, Any], status: int,
                                                message: str) -> None:
    before = world.snapshot()
    r = create(world, **{"title": "Fresh", **change})
    assert message in v1_error(r, status)
    assert world.snapshot() == before


def test_a_page_in_another_space_cannot_be_the_parent(world: World) -> None:
    other = next(p for p in world.site.pages.values() if world.site.spaces[p.space].key != "ENG")
    assert "was not found in space ENG" in v1_error(create(world, ancestors=[{"id": other.id}]), 404)


def test_update_with_the_next_version_and_read_through_v2(world: World) -> None:
    page = a_child_page(world.site)
    r = put(world, page.id, 2, title="Renamed", body={"storage": {"value": "<p>v2</p>", "representation": "storage"}})
    assert r.status == 200 and r.body["version"]["number"] == 2 and r.body["title"] == "Renamed"
    v2 = world.request("GET", f"{V2}/pages/{page.id}", {"body-format": "storage"}).body
    assert v2["version"]["number"] == 2 and v2["body"]["storage"]["value"] == "<p>v2</p>" and v2["title"] == "Renamed"
    r = world.request("PUT", f"{V2}/pages/{page.id}", body={"id": page.id, "status": "current", "title": "Via v2",
                                                             "body": {"representation": "storage", "value": "<p>3</p>"},
                                                             "version": {"number": 3}})
    assert r.status == 200
    assert get(world, f"/content/{page.id}/history")["lastUpdated"]["number"] == 3
    r = put(world, page.id, 4, title="Via v2")  # no body: the body stays
    assert r.status == 200 and world.site.pages[page.id].body == "<p>3</p>"


def test_stale_versions_are_409_as_cloud_says(world: World) -> None:
    page = a_child_page(world.site)
    for number in (1, 3, 0):
        r = put(world, page.id, number, title=page.title)
        assert v1_error(r, 409) == "Version must be incremented on update. Current version is: 1"
    assert world.state_diff() == {}


def test_update_moves_a_page_and_refuses_cycles(world: World) -> None:
    site = world.site
    page = deep_page(world)
    home = site.spaces[page.space].homepage
    r = put(world, page.id, 2, title=page.title, ancestors=[{"id": home}])
    assert r.status == 200 and site.pages[page.id].parent == home
    assert kids(site, site.pages[home])[-1].id == page.id
    parent = next(p for p in site.pages.values() if p.parent == home and kids(site, p))
    child = kids(site, parent)[0]
    r = put(world, parent.id, parent.version + 1, title=parent.title, ancestors=[{"id": child.id}])
    assert v1_error(r, 400) == "A page cannot be moved under itself or one of its descendants."


@pytest.mark.parametrize("change, status, message", [
    ({"version": {"number": 2}, "type": "comment"}, 400, "Content type cannot be changed"),
    ({"version": {"number": 2}, "type": "page"}, 400, "Title is required"),
    ({"version": None, "type": "page", "title": "x"}, 400, "version.number is required"),
    ({"type": "page", "title": "x"}, 400, "'version' is a required property"),
    ({"version": {"number": 2}, "type": "page", "title": "x", "status": "historical"}, 400,
     "cannot be updated to status 'historical'"),
])
def test_update_errors(world: World, change: dict[str, Any], status: int, message: str) -> None:
    page = a_child_page(world.site)
    r = world.request("PUT", f"{V1}/content/{page.id}", body=change)
    assert message in v1_error(r, status)
    assert world.state_diff() == {}
    assert v1_error(put(world, "424242", 2, title="x"), 404) == "No content found with id: ContentId{id=424242}"


def test_delete_trashes_then_purges_and_children_move_up(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if p.parent and kids(site, p))
    below, parent = [c.id for c in kids(site, page)], page.parent
    assert world.request("DELETE", f"{V1}/content/{page.id}").status == 204
    assert site.pages[page.id].status == "trashed"
    assert all(site.pages[k].parent == parent for k in below)
    assert v1_error(world.request("GET", f"{V1}/content/{page.id}"), 404).startswith("No content found")
    assert world.request("GET", f"{V2}/pages/{page.id}").status == 404
    assert get(world, f"/content/{page.id}", status="trashed")["status"] == "trashed"
    assert page.id not in [c["id"] for c in get(world, "/content", limit=200)["results"]]
    assert v1_error(world.request("DELETE", f"{V1}/content/{page.id}"), 404).startswith("No content found")
    assert world.request("DELETE", f"{V1}/content/{page.id}", {"status": "trashed"}).status == 204
    assert page.id not in site.pages


def test_delete_refuses_a_home_page_and_deletes_comments_and_drafts(world: World) -> None:
    home = space(world.site).homepage
    assert "home page cannot be deleted" in v1_error(world.request("DELETE", f"{V1}/content/{home}"), 400)
    page = next(p for p in world.site.pages.values() if p.comments)
    comment = page.comments[0].id
    assert world.request("DELETE", f"{V1}/content/{comment}").status == 204
    assert comment not in [c.id for c in page.comments]
    draft = create(world, "Draft", status="draft").body["id"]
    assert world.request("DELETE", f"{V1}/content/{draft}").status == 204 and draft not in world.site.pages


def test_comments_created_and_updated_through_v1_show_in_v2(world: World) -> None:
    page = a_child_page(world.site)
    r = world.request("POST", f"{V1}/content", body={
        "type": "comment", "container": {"id": page.id, "type": "page", "status": "current"},
        "body": {"storage": {"value": "<p>Looks good.</p>", "representation": "storage"}}})
    assert r.status == 200 and r.body["type"] == "comment" and r.body["container"]["id"] == page.id
    cid = r.body["id"]
    v2 = world.request("GET", f"{V2}/pages/{page.id}/footer-comments", {"body-format": "storage"}).body
    assert [c["id"] for c in v2["results"]][-1] == cid and v2["results"][-1]["body"]["storage"]["value"] == \
        "<p>Looks good.</p>"
    r = world.request("PUT", f"{V1}/content/{cid}", body={"type": "comment", "version": {"number": 2}, "body": {
        "storage": {"value": "<p>Edited.</p>", "representation": "storage"}}})
    assert r.status == 200 and r.body["version"]["number"] == 2 and page.comments[-1].body == "<p>Edited.</p>"
    bad = world.request("POST", f"{V1}/content", body={"type": "comment", "container": {"id": "424242",
                                                                                          "type": "page"}})
    assert "container page 424242 was not found" in v1_error(bad, 404)
    empty = world.request("POST", f"{V1}/content", body={"type": "comment", "container": {"id": page.id,
                                                                                            "type": "page"}})
    assert v1_error(empty, 400) == "The comment body cannot be empty."


def test_history_tracks_the_version(world: World) -> None:
    page = a_child_page(world.site)
    history = get(world, f"/content/{page.id}/history", expand="contributors")
    assert history["lastUpdated"]["number"] == 1 and history["createdBy"]["accountId"] == page.author
    assert history["contributors"]["publishers"]["userAccountIds"] == [page.author]
    put(world, page.id, 2, title=page.title)
    assert get(world, f"/content/{page.id}/history")["lastUpdated"]["number"] == 2


# -- children and descendants -------------------------------------------------------------------------------
def test_children_by_type_in_tree_order(world: World) -> None:
    site = world.site
    home = site.pages[space(site).homepage]
    below = [c.id for c in kids(site, home)]
    assert [c["id"] for c in get(world, f"/content/{home.id}/child/page")["results"]] == below
    assert get(world, f"/content/{home.id}/child/attachment")["results"] == []
    mapped = get(world, f"/content/{home.id}/child", expand="page")
    assert [c["id"] for c in mapped["page"]["results"]] == below
    assert set(mapped["_expandable"]) == {"attachment", "comment"}
    r = world.request("GET", f"{V1}/content/{home.id}/child/blogpost")
    assert v1_error(r, 400) == "Content of type 'blogpost' cannot be a child of a page."
    first = world.request("GET", f"{V1}/content/{home.id}/child/page", {"limit": "1"}).body
    assert len(first["results"]) == 1 and first["_links"]["next"].startswith(f"/rest/api/content/{home.id}/child/page?")


def test_descendants_depth_first(world: World) -> None:
    site = world.site
    home = site.pages[space(site).homepage]

    def walk(page: Page) -> list[str]:
        return [x for c in kids(site, page) for x in [c.id, *walk(c)]]

    assert [c["id"] for c in get(world, f"/content/{home.id}/descendant/page", limit=200)["results"]] == walk(home)
    mapped = get(world, f"/content/{home.id}/descendant", expand="page,comment")
    assert [c["id"] for c in mapped["page"]["results"]] == walk(home)


def test_comments_of_a_page_with_location_and_paging(world: World) -> None:
    page = next(p for p in world.site.pages.values() if p.comments)
    got = get(world, f"/content/{page.id}/child/comment", expand="body.view.value,version", depth="all")
    assert [c["id"] for c in got["results"]] == [c.id for c in page.comments]
    assert got["results"][0]["body"]["view"]["value"] == page.comments[0].body
    assert get(world, f"/content/{page.id}/child/comment", location="footer")["size"] == len(page.comments)
    assert get(world, f"/content/{page.id}/child/comment", location="inline")["results"] == []


# -- labels -------------------------------------------------------------------------------------------------
def test_labels_read_and_removed_by_path_and_by_query(world: World) -> None:
    site = world.site
    page = next(p for p in site.pages.values() if len(p.labels) >= 2)
    names = [site.labels[i].name for i in page.labels]
    got = get(world, f"/content/{page.id}/label")
    assert [x["name"] for x in got["results"]] == names and got["size"] == len(names)
    assert get(world, f"/content/{page.id}/label", prefix="my")["results"] == []
    assert world.request("DELETE", f"{V1}/content/{page.id}/label/{names[0]}").status == 204
    assert world.request("DELETE", f"{V1}/content/{page.id}/label", {"name": names[1]}).status == 204
    assert get(world, f"/content/{page.id}/label")["results"] == [] and page.labels == []
    r = world.request("DELETE", f"{V1}/content/{page.id}/label/{names[0]}")
    assert v1_error(r, 404) == f"Label '{names[0]}' is not on content {page.id}."
    r = world.request("DELETE", f"{V1}/content/{page.id}/label")
    assert v1_error(r, 400) == "The query parameter 'name' is required."
    world.request("POST", f"{V1}/content/{page.id}/label", body=[{"prefix": "global", "name": "a/b"}])
    assert world.request("DELETE", f"{V1}/content/{page.id}/label", {"name": "a/b"}).status == 204
    assert list(world.state_diff()) == [f"pages/{page.id}/labels", "labels/" + next(
        i for i, lb in site.labels.items() if lb.name == "a/b")]


def test_labels_of_trashed_or_missing_content_are_404(world: World) -> None:
    page = next(p for p in world.site.pages.values() if p.labels and not kids(world.site, p) and p.parent)
    world.request("DELETE", f"{V1}/content/{page.id}")
    assert world.request("GET", f"{V1}/content/{page.id}/label").status == 404
    r = world.request("POST", f"{V1}/content/{page.id}/label", body=[{"prefix": "global", "name": "x"}])
    assert v1_error(r, 404) == f"No content found with id: ContentId{{id={page.id}}}"


# -- spaces and users ---------------------------------------------------------------------------------------
def test_space_by_key_with_expansions_and_its_content(world: World) -> None:
    site = world.site
    s = space(site)
    got = get(world, f"/space/{s.key}", expand="homepage,description.plain,history")
    assert got["id"] == int(s.id) and got["key"] == s.key and got["homepage"]["id"] == s.homepage
    assert got["description"]["plain"]["value"] == s.description and got["history"]["createdBy"]["accountId"]
    assert v1_error(world.request("GET", f"{V1}/space/NOPE"), 404) == "No space found with key : NOPE"
    content = get(world, f"/space/{s.key}/content", limit=200)
    pages = sorted((p.id for p in site.pages.values() if p.space == s.id), key=int)
    assert [c["id"] for c in content["page"]["results"]] == pages and content["blogpost"]["results"] == []
    assert [c["id"] for c in get(world, f"/space/{s.key}/content", depth="root")["page"]["results"]] == [s.homepage]
    assert [c["id"] for c in get(world, f"/space/{s.key}/content/page", limit=200)["results"]] == pages
    assert get(world, f"/space/{s.key}/content/blogpost")["results"] == []


def test_bulk_user_lookup(world: World) -> None:
    people = list(world.site.users)[:2]
    got = get(world, "/user/bulk", accountId=",".join([*people, "nobody"]))
    assert [u["accountId"] for u in got["results"]] == people
    assert got["results"][0]["displayName"] == world.site.users[people[0]].display_name


def test_users_current_user_and_the_space_list(world: World) -> None:
    site = world.site
    someone = next(u for u in site.users.values() if u.account_id != site.myself)
    assert get(world, "/user", accountId=someone.account_id)["displayName"] == someone.display_name
    assert v1_error(world.request("GET", f"{V1}/user", {"accountId": "nobody"}), 404) == \
        "No user found with accountId: nobody"
    assert get(world, "/user/current")["accountId"] == site.myself
    r = world.request("GET", f"{V1}/user/current", user=someone.account_id)
    assert r.body["accountId"] == someone.account_id
    listed = get(world, "/space", expand="description.plain")
    assert [s["key"] for s in listed["results"]] == sorted(s.key for s in site.spaces.values())
    assert get(world, "/space", spaceKey=space(site).key)["results"][0]["id"] == int(space(site).id)
    assert get(world, "/space", type="personal")["results"] == []
    # Jira's and v2's operations with the same ids are still theirs.
    assert world.request("GET", "/rest/api/3/myself").status == 200
    assert world.request("GET", f"{V2}/spaces").status == 200


def test_user_search_by_cql(world: World) -> None:
    site = world.site
    user = next(u for u in site.users.values() if u.account_id != site.myself)
    first = user.display_name.split()[0][:3]
    got = get(world, "/search/user", cql=f'user.fullname ~ "{first}"')
    expected = [u.account_id for u in site.users.values() if any(w.lower().startswith(first.lower()) for w in
                                                                  u.display_name.split())]
    assert [r["user"]["accountId"] for r in got["results"]] == expected and got["totalSize"] == len(expected)
    assert got["results"][0]["entityType"] == "user" and got["cqlQuery"] == f'user.fullname ~ "{first}"'
    assert [r["user"]["accountId"] for r in get(world, "/search/user", cql=f"user = {user.account_id}")["results"]] \
        == [user.account_id]
    assert get(world, "/search/user", cql="type = user", limit=3)["size"] == 3
    r = world.request("GET", f"{V1}/search/user", {"cql": "title ~ x"})
    assert r.body["data"]["errors"][0]["message"]["translation"] == "The field 'title' does not exist."


# -- CQL search ---------------------------------------------------------------------------------------------
def test_search_finds_pages_comments_and_spaces(world: World) -> None:
    site = world.site
    s = space(site)
    got = get(world, "/search", cql=f"space = {s.key}", limit=100)
    content = [p.id for p in site.pages.values() if p.space == s.id]
    comments = [c.id for p in site.pages.values() if p.space == s.id for c in p.comments]
    assert [r.get("content", {}).get("id") for r in got["results"]] == [*content, *comments, None]
    assert got["results"][-1]["space"]["key"] == s.key and got["results"][-1]["entityType"] == "space"
    first = got["results"][0]
    assert first["entityType"] == "content" and first["resultGlobalContainer"] == {"title": s.name,
                                                                                 "displayUrl": f"/spaces/{s.key}"}
    assert first["url"] == first["content"]["_links"]["webui"] and first["excerpt"]
    assert got["totalSize"] == got["size"] == len(content) + len(comments) + 1
    assert got["cqlQuery"] == f"space = {s.key}" and "next" not in got["_links"]


def test_search_by_label_ancestor_and_title_agrees_with_the_site(world: World) -> None:
    site = world.site
    label = next(iter(site.labels.values()))
    labelled = [p.id for p in site.pages.values() if label.id in p.labels]
    assert [r["id"] for r in get(world, "/content/search", cql=f'label = "{label.name}"')["results"]] == labelled
    home = site.pages[space(site).homepage]
    under = [p.id for p in site.pages.values() if p.id != home.id and p.space == home.space]
    assert [r["id"] for r in get(world, "/content/search", cql=f"ancestor = {home.id}", limit=100)["results"]] \
        == under
    page = deep_page(world)
    word = page.title.split()[0].strip(":").lower()
    titled = get(world, "/content/search", cql=f'type = page AND title ~ "{word}" ORDER BY title', limit=100)
    want = sorted((p.title for p in site.pages.values() if word in p.title.lower()), key=str.casefold)
    assert [r["title"] for r in titled["results"]] == want


def test_search_reads_the_authenticated_user_and_the_site_clock(world: World) -> None:
    site = world.site
    author = space(site).author
    mine = get(world, "/content/search", cql="creator = currentUser() AND type = page", limit=100)
    assert [r["id"] for r in mine["results"]] == [p.id for p in site.pages.values() if p.author == site.myself]
    r = world.request("GET", f"{V1}/content/search", {"cql": "creator = currentUser() AND type = page", "limit": "100"},
                      user=author)
    assert [x["id"] for x in r.body["results"]] == [p.id for p in site.pages.values() if p.author == author]
    assert get(world, "/content/search", cql="lastmodified > now()")["results"] == []  # nothing after the clock
    new = create(world, "Fresh today").body["id"]  # a write moves the clock on a minute
    assert [r["id"] for r in get(world, "/content/search", cql="lastmodified >= now()")["results"]] == [new]


def test_search_cursor_paging_next_and_prev(world: World) -> None:
    everything = [r["content"]["id"] for r in get(world, "/search", cql="type = page", limit=100)["results"]]
    seen, query = [], {"cql": "type = page", "limit": "5"}
    while True:
        body = world.request("GET", f"{V1}/search", query).body
        seen += [r["content"]["id"] for r in body["results"]]
        if "next" not in body["_links"]:
            break
        link = urlsplit(body["_links"]["next"])
        assert link.path == "/rest/api/search"
        query = dict(parse_qsl(link.query))
    assert seen == everything
    back = dict(parse_qsl(urlsplit(body["_links"]["prev"]).query))
    assert [r["content"]["id"] for r in world.request("GET", f"{V1}/search", back).body["results"]] == \
        everything[-len(body["results"]) - 5:-len(body["results"])]
    assert [r["content"]["id"] for r in get(world, "/search", cql="type = page", start=3, limit=2)["results"]] == \
        everything[3:5]
    r = world.request("GET", f"{V1}/search", {"cql": "type = page", "cursor": "%%%"})
    assert "cursor is not valid" in v1_error(r, 400)
    cursor = base64.urlsafe_b64encode(b"2").decode()
    assert [x["id"] for x in get(world, "/content/search", cql="type = page", cursor=cursor, limit=2)["results"]] \
        == everything[2:4]


def test_search_expansions_context_and_excerpts(world: World) -> None:
    site = world.site
    s = space(site)
    got = get(world, "/search", cql="type = page", limit=1, expand="content.space,content.body.storage", excerpt="none")
    result = got["results"][0]
    page = site.pages[result["content"]["id"]]
    assert result["content"]["space"]["key"] == site.spaces[page.space].key and result["excerpt"] == ""
    assert result["content"]["body"]["storage"]["value"] == page.body
    context = json.dumps({"spaceKey": s.key})
    here = get(world, "/content/search", cql="space = currentSpace() AND type = page", cqlcontext=context, limit=100)
    assert [r["id"] for r in here["results"]] == [p.id for p in site.pages.values() if p.space == s.id]
    r = world.request("GET", f"{V1}/search", {"cql": "type = page", "cqlcontext": "{nope"})
    assert "cqlcontext must be a JSON object" in v1_error(r, 400)
    wide = get(world, "/content/search", cql="type = page", limit=500, expand="body.export_view")
    assert wide["limit"] == 25


@pytest.mark.parametrize("path", ["/search", "/content/search"])
def test_bad_cql_is_cloud_s_400_with_the_reason_in_data(world: World, path: str) -> None:
    r = world.request("GET", V1 + path, {"cql": 'type = page AND title ~ "open'})
    assert v1_error(r, 400) == PREFIX + 'type = page AND title ~ "open'
    assert r.body["data"]["errors"] == [{"message": {"translation": "The quoted string starting at position 25 is "
                                                                    "not closed.", "args": []}}]
    r = world.request("GET", V1 + path, {"cql": "user.fullname ~ jo"})
    assert "only supported by the user search" in r.body["data"]["errors"][0]["message"]["translation"]
    assert v1_error(world.request("GET", V1 + path), 400) == "The query parameter 'cql' is required."


def test_search_records_cover_every_current_page_and_comment() -> None:
    site = generate(SEED)
    found = records(site, ("current",), spaces=True)
    pages = [p for p in site.pages.values() if p.status == "current"]
    assert [r["id"] for r in found if r["type"] == "page"] == [p.id for p in pages]
    assert sum(r["type"] == "comment" for r in found) == sum(len(p.comments) for p in pages)
    assert [r["space"] for r in found if r["type"] == "space"] == [s.key for s in site.spaces.values()]


# -- hostile requests ----------------------------------------------------------------------------------------
V1_OPERATIONS = sorted((op for op in spec().operations.values() if op.document == "confluence-v1"), key=lambda o: o.id)
HOSTILE = st.recursive(st.none() | st.booleans() | st.integers(-2, 300) | st.text(max_size=6) |
                       st.sampled_from(["page", "comment", "current", "trashed", "any", "global", "ENG", "65003",
                                        'type = page', "body.storage,children.page", "{}", '{"spaceKey": 1}']),
                       lambda c: st.lists(c, max_size=2) | st.dictionaries(
                           st.sampled_from(["type", "title", "space", "key", "body", "storage", "value", "id",
                                            "representation", "version", "number", "ancestors", "container", "status",
                                            "name", "prefix"]), c, max_size=3), max_leaves=8)
PLACES = st.sampled_from(["65002", "65003", "65022", "424242", "abc", "ENG", "NOPE", "page", "comment", "attachment",
                          "infra", "%2F", "0"])


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(V1_OPERATIONS), st.data())
def test_hostile_requests_get_an_answer_never_a_crash(op: Any, data: Any) -> None:
    """Any path value, query and body: a 2xx or a 4xx in the v1 envelope, validated; never an exception."""
    path = op.path
    for p in op.parameters:
        if p.location == "path":
            path = path.replace("{" + p.name + "}", data.draw(PLACES))
    names = [p.name for p in op.parameters if p.location == "query"] or ["x"]
    query = data.draw(st.dictionaries(st.sampled_from(names), HOSTILE.map(lambda v: v if isinstance(v, list) else
                                                                         str(v)), max_size=4))
    body = data.draw(HOSTILE) if op.body_schema is not None else None
    r = World(SEED).request(op.method, path, query, body)
    assert r.status < 500, (op.id, path, query, body, r.body)
    if r.status >= 400:
        assert r.body["statusCode"] == r.status and r.body["message"]


# -- the site stays the same until written ---------------------------------------------------------------
def test_reads_change_nothing(world: World) -> None:
    page = deep_page(world)
    for path, query in [("/content", {}), (f"/content/{page.id}", {"expand": EVERYTHING}),
                        (f"/content/{page.id}/history", {}), (f"/content/{page.id}/child", {"expand": "page"}),
                        ("/search", {"cql": "type = page"}), ("/search/user", {"cql": "type = user"}),
                        (f"/space/{space(world.site).key}/content", {})]:
        assert world.request("GET", V1 + path, query).status == 200
    assert world.state_diff() == {} and not world._written


# -- a realistic atlassian-python-api session over HTTP -------------------------------------------------------
class Session:
    """Calls through a client; each is counted as working or not, with the reason."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, name: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """The call's result, or None when it raised."""
        try:
            result = function(*args, **kwargs)
            if isinstance(result, Iterator):
                result = list(result)
        except Exception as exc:  # the client's own errors (HTTPError, ApiError ...) are what is counted
            self.calls.append((name, f"{type(exc).__name__}: {str(exc)[:200]}"))
            return None
        self.calls.append((name, None))
        return result

    def wrong(self, name: str, reason: str) -> None:
        """Count the last call as not working: it answered, but not what its user asked for."""
        assert self.calls[-1][0] == name
        self.calls[-1] = (name, reason)

    @property
    def failures(self) -> list[tuple[str, str | None]]:
        return [c for c in self.calls if c[1] is not None]


@pytest.fixture
def served() -> Iterator[Serving]:
    with Serving(SEED) as serving:
        yield serving


def client(served: Serving) -> Any:
    from atlassian import Confluence

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Confluence(served.url + "/wiki", username="agent@example.com", password="api-token")


@pytest.mark.contract
def test_atlassian_python_api_confluence_session(served: Serving) -> None:
    """What a user's script does with `Confluence(...)`: find, read, write, label, comment, search, delete."""
    c, call = client(served), Session()
    site = served.app.world.site
    key = space(site).key
    home = space(site).homepage
    parent = call("get_page_id", c.get_page_id, key, site.pages[kids(site, site.pages[home])[0].id].title)
    assert parent == kids(site, site.pages[home])[0].id
    assert call("page_exists", c.page_exists, key, site.pages[parent].title) is True
    assert call("page_exists (missing)", c.page_exists, key, "No such page") is False
    assert call("get_space", c.get_space, key, expand="description.plain,homepage")["homepage"]["id"] == home
    assert call("get_home_page_of_space", c.get_home_page_of_space, key)["id"] == home
    pages = call("get_all_pages_from_space", c.get_all_pages_from_space, key)
    assert [p["id"] for p in pages] == [p.id for p in site.pages.values() if p.space == space(site).id]
    assert call("get_space_content", c.get_space_content, key)["size"] == len(pages)
    assert call("get_page_by_title", c.get_page_by_title, key, site.pages[parent].title,
                expand="body.storage")["results"][0]["id"] == parent
    page = call("get_page_by_id", c.get_page_by_id, parent, expand="body.storage,version,space,ancestors")
    assert page["body"]["storage"]["value"] == site.pages[parent].body and page["ancestors"][-1]["id"] == home
    assert call("get_page_space", c.get_page_space, parent) == key
    assert call("get_parent_content_id", c.get_parent_content_id, parent) == home
    assert call("get_parent_content_title", c.get_parent_content_title, parent) == site.pages[home].title
    assert [a["id"] for a in call("get_page_ancestors", c.get_page_ancestors, parent)] == [home]
    below = [k.id for k in kids(site, site.pages[parent])]
    assert [k["id"] for k in call("get_child_pages", c.get_child_pages, parent)] == below
    assert call("get_child_id_list", c.get_child_id_list, parent) == below
    assert call("get_child_title_list", c.get_child_title_list, parent) == [site.pages[k].title for k in below]
    assert [k["id"] for k in call("get_page_child_by_type", c.get_page_child_by_type, parent, type="page", start=0,
                                  limit=10)] == below
    assert call("page_has_children", c.page_has_children, parent) is bool(below)
    assert call("get_page_child_count", c.get_page_child_count, parent) == len(below)
    assert call("get_descendant_pages", c.get_descendant_pages, home)["size"] >= len(below)
    assert set(call("get_content_children", c.get_content_children, parent)["_expandable"]) >= {"page", "comment"}
    assert call("get_content_descendants", c.get_content_descendants, parent)["_links"]["self"]
    labels = [site.labels[i].name for i in site.pages[parent].labels]
    assert [x["name"] for x in call("get_page_labels", c.get_page_labels, parent)["results"]] == labels
    assert call("history", c.history, parent)["lastUpdated"]["number"] == 1
    commented = next(p for p in site.pages.values() if p.comments)
    comments = call("get_page_comments", c.get_page_comments, commented.id, expand="body.view,version")
    assert [x["id"] for x in comments["results"]] == [x.id for x in commented.comments]
    assert call("get_tables_from_page", c.get_tables_from_page, parent)["number_of_tables_in_page"] == 0
    # Writing: create, update, update_or_create, labels, a comment.
    new = call("create_page", c.create_page, key, "Client: runbook", "<p>Step one.</p>", parent_id=parent)
    nid = new["id"]
    assert site.pages[nid].parent == parent and new["version"]["number"] == 1
    updated = call("update_page", c.update_page, nid, "Client: runbook", "<p>Step two.</p>")
    assert updated["version"]["number"] == 2 and site.pages[nid].body == "<p>Step two.</p>"
    assert call("is_page_content_is_already_updated", c.is_page_content_is_already_updated, nid,
                "<p>Step two.</p>") is True
    call("update_page (unchanged)", c.update_page, nid, "Client: runbook", "<p>Step two.</p>")
    assert site.pages[nid].version == 2  # the client saw nothing changed and did not write
    call("update_or_create (existing)", c.update_or_create, parent, "Client: runbook", "<p>Step three.</p>")
    assert site.pages[nid].version == 3 and site.pages[nid].body == "<p>Step three.</p>"
    created = call("update_or_create (new)", c.update_or_create, parent, "Client: notes", "<p>Notes.</p>")
    assert site.pages[created["id"]].parent == parent
    call("append_page", c.append_page, nid, "Client: runbook", "<p>Step four.</p>")
    assert site.pages[nid].body == "<p>Step three.</p><p>Step four.</p>"
    call("set_page_label", c.set_page_label, nid, "runbook")
    call("set_page_label (second)", c.set_page_label, nid, "ops")
    # Cloud's GET /content has no `label` filter: it answers every page, and so does the simulator.
    everything = call("get_all_pages_by_label", c.get_all_pages_by_label, "runbook")
    assert len(everything) == sum(p.status == "current" for p in site.pages.values())
    call.wrong("get_all_pages_by_label", "GET /wiki/rest/api/content has no label filter on Cloud")
    call("remove_page_label", c.remove_page_label, nid, "ops")
    assert [site.labels[i].name for i in site.pages[nid].labels] == ["runbook"]
    comment = call("add_comment", c.add_comment, nid, "<p>Reviewed.</p>")
    assert site.pages[nid].comments[-1].id == comment["id"]
    # Searching.
    found = call("cql", c.cql, f'space = {key} AND type = page AND title ~ "runbook"', limit=10)
    assert [r["content"]["id"] for r in found["results"]] == [  # "Runbooks" too: words are stemmed
        p.id for p in site.pages.values() if p.space == space(site).id and "runbook" in p.title.lower()]
    assert [r["id"] for r in call("search_content", c.search_content, "label = runbook")["results"]] == [nid]
    assert call("get_descendant_page_id", c.get_descendant_page_id, key, parent, "Client: runbook") == nid
    assert [r["content"]["id"] for r in call("cql_all", c.cql_all, "label = runbook")] == [nid]
    # Client bug, as on Cloud: it resolves `_links.next` ("/rest/api/...", relative to the /wiki context) against
    # the site root, so its second page is a 404 there too.
    call("get_all_pages_from_space (paged by 2)", c.get_all_pages_from_space, key, limit=2)
    # Removing.
    assert call("remove_page", c.remove_page, created["id"]) == 204
    assert call("remove_page (purge)", c.remove_page, created["id"], status="trashed") == 204
    assert created["id"] not in site.pages
    assert call("remove_page (missing)", c.remove_page, created["id"]) == 404  # the documented answer

    expected_failures = {"get_all_pages_from_space (paged by 2)", "get_all_pages_by_label"}
    assert {name for name, _ in call.failures} == expected_failures, call.failures
    working = len(call.calls) - len(call.failures)
    assert working / len(call.calls) >= 0.95, f"{working} of {len(call.calls)} calls work"


@pytest.mark.contract
def test_atlassian_python_api_users_and_spaces(served: Serving) -> None:
    c, call = client(served), Session()
    site = served.app.world.site
    someone = next(u for u in site.users.values() if u.account_id != site.myself)
    assert call("get_user_details_by_accountid", c.get_user_details_by_accountid,
                someone.account_id)["displayName"] == someone.display_name
    assert call("get_current_user", c.get_current_user)["email"] == "agent@example.com"
    assert [s["key"] for s in call("get_all_spaces", c.get_all_spaces)["results"]] == sorted(
        s.key for s in site.spaces.values())
    assert call("get_space_names", c.get_space_names) == [s.name for s in sorted(site.spaces.values(),
                                                                                 key=lambda s: s.key)]
    assert call.failures == []
