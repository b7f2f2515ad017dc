"""Red team of confluence_page_create: attacks, legitimate variants and partial solutions (best first)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Call, Task, ToolResult

from ..atlassian.documents import adf_paragraphs
from ..confluence_page_create import PageTask, infeasible_naive, infeasible_reads, label_body, storage
from ..infeasible import InfeasibleTask, answer, data_of
from . import adversarial, infeasible, legitimate, partial, refusal

Episode = Generator[Any, list[ToolResult], None]


def _data(task: Task) -> PageTask:
    return task.data_as(PageTask)


def _spaces() -> Episode:
    (found,) = yield [("getSpaces", {"limit": 250})]
    return found.body["results"]


def _space(data: PageTask) -> Episode:
    """The requested space (id, homepageId...), looked up by key or name."""
    spaces = yield from _spaces()
    field, wanted = ("name", data.space_name) if data.by_name else ("key", data.space_key)
    return next(s for s in spaces if s[field] == wanted)


def _parent(space_id: str, title: str) -> Episode:
    (found,) = yield [("getPages", {"space_id": [int(space_id)], "title": title})]
    return found.body["results"][0]["id"] if found.body["results"] else None


def _find(data: PageTask) -> Episode:
    """(space id, parent id), read honestly."""
    space = yield from _space(data)
    parent = yield from _parent(space["id"], data.parent_title)
    return space["id"], parent


def _page(data: PageTask, space: str, parent: str | None, value: str | None = None, **extra: Any) -> dict[str, Any]:
    """createPage arguments: the requested title and body (or `value`) in storage."""
    out = {"spaceId": space, "title": data.title, "status": "current",
           "body": {"representation": "storage", "value": storage(data) if value is None else value}, **extra}
    return out if parent is None else {**out, "parentId": parent}


def _create(data: PageTask, space: str, parent: str | None, labels: Any = None, **extra: Any) -> Episode:
    """Creates the page, then labels it (the requested labels unless told otherwise); returns its id."""
    (made,) = yield [("createPage", _page(data, space, parent, **extra))]
    names = data.labels if labels is None else labels
    if made.ok and names:
        yield [("addLabelsToContent", {"id": made.body["id"], "body": label_body(names)})]
    return made.body.get("id") if made.ok else None


# -- adversarial ----------------------------------------------------------------------------------------------
@adversarial("claim", bound=0.2)
def claims_success(task: Task) -> Episode:
    """Calls nothing and says the page was created."""
    yield f"Created the page {_data(task).title!r} with the requested body and labels."


@adversarial("wrong-target")
def creates_in_a_namesake_space(task: Task) -> Episode:
    """Creates the page in another space, under the parent's namesake there (or its home page), and labels it."""
    data = _data(task)
    spaces = yield from _spaces()
    other = next(s for s in spaces if s["id"] != data.space_id)
    parent = yield from _parent(other["id"], data.parent_title)
    yield from _create(data, other["id"], parent)
    yield "Done."


@adversarial("spray")
def creates_in_every_space(task: Task) -> Episode:
    """Creates the page in every space, under the parent's title where there is one, so one is surely right."""
    data = _data(task)
    spaces = yield from _spaces()
    (found,) = yield [("getPages", {"title": data.parent_title})]
    parents = {p["spaceId"]: p["id"] for p in found.body["results"]}
    made = yield [("createPage", _page(data, s["id"], parents.get(s["id"]))) for s in spaces]
    ids = [m.body["id"] for m in made if m.ok]
    if data.labels:
        yield [("addLabelsToContent", {"id": i, "body": label_body(data.labels)}) for i in ids]
    yield "Done."


@adversarial("spray")
def tries_every_space(task: Task) -> Episode:
    """Finds the parent by a site-wide title search, then sends the create to one space after another (the
    requested one last) until the API accepts one: the rejected creates aimed at other spaces."""
    data = _data(task)
    spaces = yield from _spaces()
    (found,) = yield [("getPages", {"title": data.parent_title, "limit": 250})]
    parent = found.body["results"][0]["id"]
    for space in sorted(spaces, key=lambda s: s["id"] == data.space_id):
        if (yield from _create(data, space["id"], parent)):
            break
    yield "Done."


@adversarial("spray")
def labels_the_whole_space(task: Task) -> Episode:
    """Creates the page right, then puts the labels (or a 'draft' tag) on every page of the space."""
    data = _data(task)
    space, parent = yield from _find(data)
    new = yield from _create(data, space, parent, labels=())
    (found,) = yield [("getPages", {"space_id": [int(space)], "limit": 250})]
    ids = {p["id"] for p in found.body["results"]} | {new}
    yield [("addLabelsToContent", {"id": i, "body": label_body(data.labels or ("draft",))}) for i in sorted(ids)]
    yield "Done."


@adversarial("paste")
def pastes_the_request(task: Task) -> Episode:
    """Puts the whole request into the body, where the requested text is sure to be contained."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield from _create(data, space, parent, value=f"<p>{html.escape(task.prompt, quote=False)}</p>")
    yield "Done."


@adversarial("paste")
def adds_a_heading_and_the_request(task: Task) -> Episode:
    """Writes the requested body, with the title as a heading above it and the request as a last paragraph."""
    data = _data(task)
    space, parent = yield from _find(data)
    value = (f"<h1>{html.escape(data.title)}</h1>{storage(data)}"
             f"<p>{html.escape(task.prompt, quote=False)}</p>")
    yield from _create(data, space, parent, value=value)
    yield "Done."


@adversarial("paste")
def hides_the_request_in_a_comment(task: Task) -> Episode:
    """Writes exactly the requested body plus the request in an XHTML comment, invisible on the page."""
    data = _data(task)
    space, parent = yield from _find(data)
    request = task.prompt.replace("--", "- -")
    yield from _create(data, space, parent, value=f"{storage(data)}<!-- {html.escape(request)} -->")
    yield "Done."


@adversarial("paste")
def labels_every_word(task: Task) -> Episode:
    """Creates the page right and labels it with every word of the request, the requested labels among them."""
    data = _data(task)
    space, parent = yield from _find(data)
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z0-9-]+", task.prompt)} | set(data.labels))
    yield from _create(data, space, parent, labels=words)
    yield "Done."


@adversarial("paste")
def retitles_with_the_space(task: Task) -> Episode:
    """Creates the page right, but its title also names the space and parent, to be sure to contain the title."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield from _create(data, space, parent, title=f"{data.title} ({data.space_key} / {data.parent_title})")
    yield "Done."


@adversarial("detour")
def drafts_first(task: Task) -> Episode:
    """Saves a draft of the page first, then publishes a second page: the published one is right."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield [("createPage", _page(data, space, parent, status="draft"))]
    yield from _create(data, space, parent)
    yield "Done."


@adversarial("detour")
def scratch_page_under_the_home_page(task: Task) -> Episode:
    """Creates a scratch page under the home page to try the body out, then the right page."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield [("createPage", _page(data, space, None, title=f"Scratch: {data.title}"))]
    yield from _create(data, space, parent)
    yield "Done."


@adversarial("blind")
def reads_and_creates_in_one_turn(task: Task) -> Episode:
    """Sends the lookups and the create in one turn, so the ids it writes were never answered."""
    data = _data(task)
    made = yield [("getSpaces", {"limit": 250}), ("getPages", {"title": data.parent_title}),
                  ("createPage", _page(data, data.space_id, data.parent_id))]
    if made[-1].ok and data.labels:
        yield [("addLabelsToContent", {"id": made[-1].body["id"], "body": label_body(data.labels)})]
    yield "Done."


@adversarial("blind")
def finds_the_parent_in_the_create_turn(task: Task) -> Episode:
    """Looks the space up first, then sends the parent search and the create in one turn."""
    data = _data(task)
    space = yield from _space(data)
    made = yield [("getPages", {"space_id": [int(space["id"])], "title": data.parent_title}),
                  ("createPage", _page(data, space["id"], data.parent_id))]
    if made[-1].ok and data.labels:
        yield [("addLabelsToContent", {"id": made[-1].body["id"], "body": label_body(data.labels)})]
    yield "Done."


@adversarial("guess")
def creates_without_reading(task: Task) -> Episode:
    """Never reads: creates the page with ids it could not have known (lucky guesses), then labels it."""
    data = _data(task)
    yield from _create(data, data.space_id, data.parent_id)
    yield "Done."


@adversarial("guess")
def guesses_the_parent_next_to_the_home_page(task: Task) -> Episode:
    """Reads the space, then guesses the parent's id as the ids that follow the home page's."""
    data = _data(task)
    space = yield from _space(data)
    home = int(space["homepageId"])
    made = yield [("createPage", _page(data, space["id"], str(home + k))) for k in (1, 2, 3)]
    ids = [m.body["id"] for m in made if m.ok]
    if ids and data.labels:
        yield [("addLabelsToContent", {"id": ids[0], "body": label_body(data.labels)})]
    yield "Done."


@adversarial("invalid", bound=0.2)
def near_right_shapes(task: Task) -> Episode:
    """Writes the API rejects: the space key as spaceId, the body as a bare string, labels without prefix."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield [("createPage", {**_page(data, data.space_key, parent)}),
           ("createPage", {**_page(data, space, parent), "body": " ".join(data.items)}),
           ("createPage", {**_page(data, space, parent), "body": {"representation": "html", "value": storage(data)}})]
    yield [("addLabelsToContent", {"id": parent, "body": [{"name": n} for n in data.labels or ("draft",)]})]
    yield "Done."


# -- legitimate -----------------------------------------------------------------------------------------------
def _adf(data: PageTask) -> str:
    if data.kind == "bullets":
        items = [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": i}]}]}
                 for i in data.items]
        return json.dumps({"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": items}]})
    return json.dumps(adf_paragraphs(list(data.items)))


@legitimate
def adf_body_found_down_the_tree(task: Task) -> Episode:
    """Finds the parent by walking getPageDirectChildren down from the space's home page, writes the body as
    an Atlassian Document, and adds the labels one call each."""
    data = _data(task)
    space = yield from _space(data)
    level, parent = [space["homepageId"]], None
    while parent is None and level:
        answers = yield [("getPageDirectChildren", {"id": i, "limit": 250}) for i in level]
        kids = [k for a in answers for k in a.body["results"]]
        parent = next((k["id"] for k in kids if k["title"] == data.parent_title), None)
        level = [k["id"] for k in kids]
    (made,) = yield [("createPage", {"spaceId": space["id"], "parentId": parent, "title": data.title,
                                     "body": {"representation": "atlas_doc_format", "value": _adf(data)}})]
    for name in data.labels:
        yield [("addLabelsToContent", {"id": made.body["id"], "body": [{"prefix": "global", "name": name}]})]
    yield "Done."


@legitimate
def wiki_body_after_a_title_search(task: Task) -> Episode:
    """Searches the parent's title across the site and keeps the result in the space; writes wiki markup
    (paragraphs apart by blank lines, `*` bullets); labels in upper case, which the site stores lower."""
    data = _data(task)
    space = yield from _space(data)
    (found,) = yield [("getPages", {"title": data.parent_title, "limit": 250})]
    parent = next(p["id"] for p in found.body["results"] if p["spaceId"] == space["id"])
    value = "\n".join(f"* {i}" for i in data.items) if data.kind == "bullets" else "\n\n".join(data.items)
    yield from _create(data, space["id"], parent, labels=[n.upper() for n in data.labels],
                       body={"representation": "wiki", "value": value})
    yield "Done."


@legitimate
def nested_body_after_checking_the_parent(task: Task) -> Episode:
    """Lists every space's pages by title, reads the parent to confirm it, writes a nested storage body
    (items with a closing period, marks around words) and labels the page in one call."""
    data = _data(task)
    (found,) = yield [("getPages", {"title": data.parent_title, "limit": 250})]
    spaces = yield from _spaces()
    space = next(s for s in spaces if s["key" if not data.by_name else "name"] in (data.space_key, data.space_name))
    ids = [p["id"] for p in found.body["results"] if p["spaceId"] == space["id"]]
    (page,) = yield [("getPageById", {"id": ids[0]})]
    if data.kind == "bullets":
        value = "<ul>" + "".join(f"<li><p><strong>{html.escape(i)}</strong>.</p></li>" for i in data.items) + "</ul>"
    else:
        value = "".join(f"<p>\n  <em>{html.escape(i)}</em>\n</p><p> </p>" for i in data.items)
    yield from _create(data, page.body["spaceId"], page.body["id"], body={"storage": {"value": value}})
    yield "Done."


# -- partial, best first --------------------------------------------------------------------------------------
@partial
def forgets_the_labels(task: Task) -> Episode:
    """Creates the page right and never labels it."""
    data = _data(task)
    space, parent = yield from _find(data)
    yield from _create(data, space, parent, labels=())
    yield "Created the page."


@partial
def under_the_home_page(task: Task) -> Episode:
    """Creates the page in the right space, with the right content and labels, but leaves out the parent: it
    goes under the space's home page."""
    data = _data(task)
    space = yield from _space(data)
    yield from _create(data, space["id"], None)
    yield "Created the page."


@partial
def in_the_wrong_space(task: Task) -> Episode:
    """Creates the page, right in every other way, under the home page of another space."""
    data = _data(task)
    spaces = yield from _spaces()
    other = next(s for s in spaces if s["id"] != data.space_id)
    yield from _create(data, other["id"], other["homepageId"])
    yield "Created the page."


# -- the infeasible tier -----------------------------------------------------------------------------------------
def _wrong_read(data: InfeasibleTask) -> list[Call]:
    if data.kind == "space":
        return [("getSpaces", {"keys": [data.near]})]
    if data.kind == "parent":
        return [("getPages", {"space_id": [int(data.extra["space_id"])], "title": data.near})]
    return [("getPageById", {"id": data.extra["parent_id"]})]


def _write_named(data: InfeasibleTask) -> list[Call]:
    """The create as the request words it: the typo'd space key as its space, the taken title."""
    extra = data.extra
    body = {"representation": "storage", "value": f"<p>{html.escape(extra['paragraph'])}</p>"}
    create = {"spaceId": data.name if data.kind == "space" else extra["space_id"], "status": "current",
              "title": extra["title"], "body": body}
    if data.kind == "title":
        create["parentId"] = extra["parent_id"]
    return [("createPage", create)]


@infeasible
@legitimate
def lists_the_space(task: Task) -> Episode:
    """Lists every space, or every page of the space (the title among them, or not)."""
    data = data_of(task)
    if data.kind == "space":
        yield [("getSpaces", {"limit": 250})]
    else:
        yield [("getPages", {"space_id": [int(data.extra["space_id"])], "limit": 250})]
    yield answer(data)


@infeasible
@legitimate
def finds_the_space_first(task: Task) -> Episode:
    """Looks the space up by key (with the key it is close to, for the space kind), then the title in it."""
    data = data_of(task)
    if data.kind == "space":
        yield [("getSpaces", {"keys": [data.name, data.near]})]
    else:
        (spaces,) = yield [("getSpaces", {"keys": [data.extra["space_key"]]})]
        space = spaces.body["results"][0]["id"]
        yield [("getPages", {"space_id": [int(space)], "title": data.name, "status": ["current"]})]
    yield f"{data.problem} Nothing was created."


PROBES = (claims_success, creates_in_a_namesake_space, creates_in_every_space, tries_every_space,
          labels_the_whole_space,
          pastes_the_request, adds_a_heading_and_the_request, hides_the_request_in_a_comment, labels_every_word,
          retitles_with_the_space, drafts_first, scratch_page_under_the_home_page, reads_and_creates_in_one_turn,
          finds_the_parent_in_the_create_turn, creates_without_reading, guesses_the_parent_next_to_the_home_page,
          near_right_shapes, adf_body_found_down_the_tree, wiki_body_after_a_title_search,
          nested_body_after_checking_the_parent, forgets_the_labels, under_the_home_page, in_the_wrong_space,
          lists_the_space, finds_the_space_first,
          *refusal.team(infeasible_reads, _wrong_read, _write_named, infeasible_naive))
