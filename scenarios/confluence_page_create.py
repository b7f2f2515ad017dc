"""confluence_page_create: create a page in the right space, under the right parent, with the requested body
and labels.

The request names the space by key (or, in the hard tier, by name) and the parent page by title; the API
wants numeric ids, so the space id comes from a read that shows it (getSpaces, or any page read carrying
spaceId) and the parent id from a page read in that space (the same parent title often exists in other spaces
too). Labels can only be added after the page exists, with the id the create answered.

Tiers: easy — space by key, parent a top-level page, one paragraph; medium — as easy, plus two labels;
hard — space by name, parent a page two or more levels down, two paragraphs or a bulleted list, two labels;
infeasible — the space already has a page of the requested title, the parent's title is a typo of one the
space has, or the space key is a typo of one that exists: scored by `scenarios.infeasible`.

Every legitimate route scores 1.0: any read that carries the ids (getSpaces with or without a filter,
getPages by title, getPageDirectChildren down from the home page, getPageById), ids as text or numbers, the
body in storage (XHTML), an Atlassian Document (ADF) or wiki markup, labels in one call or one per call.

Body normalisation (`blocks`): the body is read as its text blocks, each with where it sits: a paragraph
("p"), a bulleted-list item ("ul"), anything else (a heading, a table cell, a numbered item, a macro, a
comment) under its own name. Whitespace collapses, inline marks (bold, links...) and empty blocks drop, and a
list item may end with one period more or less than requested. The blocks must equal the requested ones, in
order: nothing missing, nothing extra.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- page_created_as_requested (4, outcome): exactly one new page, current, in the requested space, under the
  requested parent, with the requested title.
- content_as_requested (1, outcome, gate 0.3): that page's title and body are exactly the requested ones
  (a pasted request, a heading added, a list for paragraphs: all wrong).
- page_labelled_as_requested (2, outcome): that page carries exactly the requested labels (none when none
  were asked for).
- nothing_else_changed (1, outcome, gate 0.2): something changed, at most one page was created and only in
  the requested space (a page under the wrong parent there is a wrong outcome, not a side effect), new labels
  are requested ones, every successful label write put only requested labels on the new page, and no write,
  even a rejected one, aimed at another space, a parent page of another space or another page's labels
  (trying every namesake parent until the API accepts one is a spray).
- create_targets_space_and_parent (1, arguments): the one successful createPage call's spaceId is the
  space's id and its parentId the parent page's id.
- create_carries_title_and_body (1, arguments): that call's title and body (in whatever representation the
  API accepts) are exactly the requested ones.
- labels_named_as_requested (1, arguments): every addLabelsToContent call targets the created page and names
  only requested labels (global prefix), and the successful ones name all of them; with none asked for, a
  page was created and no label call made.
- writes_informed (2, process, gate 0.2): the spaceId and parentId of every successful create, and the id of
  every successful label write, were shown by a result of an earlier turn (a read sent in the same turn had
  not been answered): found, not guessed.
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Generator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.confluence import read_body
from .atlassian.documents import adf_text
from .atlassian.generate import LABELS, PAGE_TITLES, SUBJECTS
from .atlassian.http import ApiError
from .atlassian.site import Page, Site
from .base import AtlassianScenario, no_duplicate_write, no_invalid_call, tiered
from .infeasible import InfeasibleTask, answer, data_of, kind_of, refuse, spray, word_typo
from .reading import (
    CONTENT_CAP,
    SIDE_EFFECT_CAP,
    UNINFORMED_CAP,
    Step,
    changes,
    created,
    get,
    informed,
    norm,
    page_id,
    scalar,
    show,
    steps,
    writes,
)

KINDS = ["Runbook", "Checklist", "Retrospective", "Design notes", "Migration plan", "Troubleshooting guide",
         "Handover notes"]
EVENTS = ["the quarterly release", "an incident", "the database migration", "peak season", "the audit"]
TEAMS = ["platform", "on-call", "support", "release", "security"]
STEPS = ["Check the {s} dashboard", "Restart the worker pool", "Page the on-call lead",
         "Post a note in the incident channel", "Roll back the last deploy of the {s}",
         "Confirm the fix with a customer", "Update the status page"]
PAGE_LABELS = ["runbook", "how-to", "checklist", "team-notes", "q3-planning", "needs-review", *LABELS]


@dataclass(frozen=True)
class PageTask:
    """What the checks need: where the page goes, what it says, how it is labelled."""

    space_id: str
    space_key: str
    space_name: str
    by_name: bool  # hard tier: the prompt names the space by name, not key
    parent_id: str
    parent_title: str
    title: str
    kind: str  # "paragraphs" or "bullets"
    items: tuple[str, ...]  # the paragraphs or the list items, in order
    labels: tuple[str, ...]  # sorted; empty when none were asked for

    @property
    def blocks(self) -> list[tuple[str, str]]:
        """The requested body as (where, text) blocks."""
        return _canonical([("ul" if self.kind == "bullets" else "p", i) for i in self.items])


def _data(task: Task) -> PageTask:
    return task.data_as(PageTask)


# -- reading a body -------------------------------------------------------------------------------------------
INLINE = {"a", "b", "code", "del", "em", "font", "i", "ins", "mark", "s", "small", "span", "strong", "sub", "sup",
          "u", "p", "div"}
"""Tags that do not make a block of their own kind (p and div are paragraphs, or part of a list item)."""


class _Blocks(HTMLParser):
    """The (where, text) blocks of a storage (XHTML) body; comments and CDATA count as blocks of their own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []
        self.blocks: list[tuple[str, str]] = []

    def flush(self) -> None:
        text, self.text = norm("".join(self.text)), []
        if text:
            self.blocks.append(("/".join(t for t in self.open if t not in INLINE and t != "li") or "p", text))

    def _boundary(self, tag: str) -> None:
        if tag not in INLINE or "li" not in self.open and tag in ("p", "div"):
            self.flush()
        elif tag in ("p", "div"):  # a paragraph inside a list item is part of the item
            self.text.append(" ")

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.text.append(" ")
            return
        self._boundary(tag)
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            self._boundary(tag)
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def _hidden(self, kind: str, data: str) -> None:
        if norm(data):
            self.flush()
            self.blocks.append((kind, norm(data)))

    def handle_comment(self, data: str) -> None:
        self._hidden("comment", data)

    def unknown_decl(self, data: str) -> None:
        self._hidden("cdata", data)

    def handle_pi(self, data: str) -> None:
        self._hidden("pi", data)


def storage_blocks(storage: str) -> list[tuple[str, str]]:
    """The (where, text) blocks of a storage body."""
    parser = _Blocks()
    parser.feed(storage)
    parser.close()
    parser.flush()  # text left outside any block
    return parser.blocks


ADF_TAGS = {"bulletList": "ul", "orderedList": "ol"}


def adf_blocks(node: Any, where: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The (where, text) blocks of an ADF node (validated: nesting is bounded)."""
    kind = get(node, "type")
    content = [n for n in get(node, "content") or [] if isinstance(n, dict)]
    if kind == "listItem":  # its paragraphs make one item; a nested list, items of its own
        text = norm(" ".join(adf_text(n) for n in content if n.get("type") not in ADF_TAGS))
        nested = [b for n in content if n.get("type") in ADF_TAGS for b in adf_blocks(n, where)]
        return [("/".join(where), text)] * bool(text) + nested
    if kind in ("paragraph", "heading", "codeBlock"):
        text = norm(adf_text(node))
        return [("/".join((*where, *[kind] * (kind != "paragraph"))) or "p", text)] * bool(text)
    inner = where if kind == "doc" else (*where, ADF_TAGS.get(str(kind), str(kind)))
    return [b for n in content for b in adf_blocks(n, inner)]


WIKI_ITEM = re.compile(r"([*#-]+)\s+(.*)")
WIKI_BLOCK = re.compile(r"(h[1-6]|bq)\.\s+(.*)")


def wiki_blocks(value: str) -> list[tuple[str, str]]:
    """The (where, text) blocks of wiki markup: `*`/`-` bullets, `#` numbered items, `h1.` headings; other
    lines make paragraphs, which blank lines separate."""
    blocks: list[tuple[str, str]] = []
    lines: list[str] = []
    for line in [*value.splitlines(), ""]:
        item, block = WIKI_ITEM.fullmatch(line.strip()), WIKI_BLOCK.fullmatch(line.strip())
        if item or block or not line.strip():
            blocks.append(("p", norm(" ".join(lines))))
            lines = []
        if item:
            blocks.append(("/".join("ol" if c == "#" else "ul" for c in item[1]), norm(item[2])))
        elif block:
            blocks.append((block[1], norm(block[2])))
        elif line.strip():
            lines.append(line)
    return [b for b in blocks if b[1]]


def _canonical(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Blocks compared: a list item without its trailing period."""
    return [(where, text[:-1] if where == "ul" and text.endswith(".") else text) for where, text in blocks]


def written_blocks(body: Any) -> list[tuple[str, str]]:
    """The blocks of a body as a createPage call wrote it; AssertionError when the API would refuse it."""
    try:
        storage, adf = read_body(body)
    except ApiError as exc:
        raise AssertionError(f"the body is not one the API accepts: {show(exc.response.body)}") from None
    if adf is not None:
        return _canonical(adf_blocks(json.loads(adf)))
    representation, value = _representation(body)
    if representation == "wiki" and isinstance(value, str):
        return _canonical(wiki_blocks(value))
    return _canonical(storage_blocks(storage))


def _representation(body: Any) -> tuple[Any, Any]:
    """(representation, value) of a body, unwrapped as the API unwraps a PageNestedBodyWrite."""
    if isinstance(body, dict) and "representation" not in body and len(body) == 1:
        key, body = next(iter(body.items()))
        if isinstance(body, dict) and "representation" not in body and key in ("storage", "atlas_doc_format", "wiki"):
            return key, body.get("value")
    return get(body, "representation"), get(body, "value")


# -- the trace ------------------------------------------------------------------------------------------------
def _new_page(trace: Trace) -> dict[str, Any]:
    """The one page the trace created; fails the check when there is none or several."""
    ids = created(trace, "pages")
    assert ids, "no page was created"
    assert len(ids) == 1, f"{len(ids)} pages were created ({', '.join(ids)}); the request was for one"
    return get(trace.final_state, "pages", ids[0]) or {}


def _create(trace: Trace) -> Step:
    """The one successful createPage call."""
    made = steps(trace, "createPage", ok=True)
    assert made, "no successful createPage call"
    assert len(made) == 1, f"{len(made)} createPage calls succeeded; the request was for one page"
    return made[0]


def _page_blocks(trace: Trace, page: dict[str, Any]) -> list[tuple[str, str]]:
    """The blocks of a created page: as the create wrote them (ADF, wiki), else its storage body."""
    maker = next((s for s in steps(trace, "createPage", ok=True) if get(s.result.body, "id") == page.get("id")),
                 None)
    if maker is not None:
        return written_blocks(maker.arg("body") or {"representation": "storage", "value": ""})
    return _canonical(storage_blocks(page.get("body") or ""))


def _label_names(body: Any) -> list[Any]:
    """The label names an addLabelsToContent body writes, as the site stores them (lower case)."""
    items = body if isinstance(body, list) else [body]
    return [n.strip().lower() if isinstance(n := get(item, "name"), str) else n for item in items]


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=4)
def page_created_as_requested(trace: Trace, task: Task) -> None:
    """Exactly one page was created, published, in the requested space under the requested parent, with the
    requested title."""
    data, page = _data(task), _new_page(trace)
    assert page.get("space") == data.space_id, \
        f"created in space {show(page.get('space'))}, expected {data.space_key} ({data.space_id})"
    assert page.get("parent") == data.parent_id, \
        f"created under page {show(page.get('parent'))}, expected {data.parent_title!r} ({data.parent_id})"
    assert norm(page.get("title")) == data.title, f"title {show(page.get('title'))}, expected {data.title!r}"
    assert page.get("status") == "current", f"the page is {show(page.get('status'))}, not published (current)"


@check("outcome", weight=1, cap=CONTENT_CAP)
def content_as_requested(trace: Trace, task: Task) -> None:
    """The new page's title and body are exactly what the user asked for: nothing missing, nothing added."""
    data, page = _data(task), _new_page(trace)
    assert norm(page.get("title")) == data.title, f"title {show(page.get('title'))}, expected {data.title!r}"
    got = _page_blocks(trace, page)
    assert got == data.blocks, f"the body's blocks are {show(got, 600)}; expected {show(data.blocks, 600)}"


@check("outcome", weight=2)
def page_labelled_as_requested(trace: Trace, task: Task) -> None:
    """The new page carries exactly the requested labels."""
    data, page = _data(task), _new_page(trace)
    ids = page.get("labels") if isinstance(page.get("labels"), list) else []
    names = tuple(sorted(str(get(trace.final_state, "labels", i, "name")) for i in ids))
    assert names == data.labels, f"the page's labels are {list(names)}, expected {list(data.labels)}"


@check("outcome", weight=1, cap=SIDE_EFFECT_CAP)
def nothing_else_changed(trace: Trace, task: Task) -> None:
    """Only the requested page (in the requested space) and its requested labels were created, and every
    write was one the task needed."""
    data = _data(task)
    assert trace.state_diff, "nothing changed on the site"

    def allowed(path: str, change: dict[str, Any]) -> bool:
        kind, _, rest = path.partition("/")
        if "/" in rest or get(change, "before") is not None:
            return False
        if kind == "pages":
            return get(change, "after", "space") == data.space_id
        return kind == "labels" and get(change, "after", "name") in data.labels

    others = changes(trace, allowed)
    assert not others, f"changed beyond the request: {others}"
    pages = created(trace, "pages")
    assert len(pages) <= 1, f"{len(pages)} pages were created ({', '.join(pages)}); the request was for one"
    spaces = get(trace.final_state, "spaces") or {}
    for step in writes(trace):  # rejected ones too: a write aimed at another space or page is a side effect
        if step.op == "createPage":
            space, parent = scalar(step.arg("spaceId")), page_id(trace, step.arg("parentId"))
            assert space not in spaces or space == data.space_id, \
                f"call #{step.index} createPage in space {space}, not {data.space_key} ({data.space_id})"
            assert get(trace.final_state, "pages", parent or "", "space") in (None, data.space_id), \
                f"call #{step.index} createPage under page {parent}, which is in another space"
            continue
        target = page_id(trace, step.arg("id"))
        if step.ok or target is not None:
            assert step.op == "addLabelsToContent" and target in pages, \
                f"call #{step.index} {step.op} on {show(step.arg('id'))}: not the new page"
        extra = [n for n in _label_names(step.arg("body")) if n not in data.labels]
        assert not step.ok or not extra, f"call #{step.index} adds labels nobody asked for: {show(extra)}"


@check("arguments", weight=1)
def create_targets_space_and_parent(trace: Trace, task: Task) -> None:
    """The createPage call names the requested space and parent page by their ids."""
    data, step = _data(task), _create(trace)
    assert scalar(step.arg("spaceId")) == data.space_id, \
        f"spaceId {show(step.arg('spaceId'))} is not the id of space {data.space_key} ({data.space_id})"
    assert scalar(step.arg("parentId")) == data.parent_id, \
        f"parentId {show(step.arg('parentId'))} is not the id of page {data.parent_title!r} ({data.parent_id})"


@check("arguments", weight=1)
def create_carries_title_and_body(trace: Trace, task: Task) -> None:
    """The createPage call writes exactly the requested title and body."""
    data, step = _data(task), _create(trace)
    assert norm(step.arg("title")) == data.title, f"title {show(step.arg('title'))}, expected {data.title!r}"
    got = written_blocks(step.arg("body") or {"representation": "storage", "value": ""})
    assert got == data.blocks, f"the body's blocks are {show(got, 600)}; expected {show(data.blocks, 600)}"


@check("arguments", weight=1)
def labels_named_as_requested(trace: Trace, task: Task) -> None:
    """Label calls target the new page and name exactly the requested labels."""
    data = _data(task)
    pages = {scalar(get(s.result.body, "id")) for s in steps(trace, "createPage", ok=True)} - {None}
    assert pages, "no page was created"
    calls = steps(trace, "addLabelsToContent")
    if not data.labels:
        assert not calls, f"labels were added though none were asked for: {show([s.args for s in calls])}"
        return
    assert calls, "no addLabelsToContent call"
    named: set[str] = set()
    for step in calls:
        assert page_id(trace, step.arg("id")) in pages, \
            f"call #{step.index} adds labels to content {show(step.arg('id'))}, not the new page"
        items = step.arg("body") if isinstance(step.arg("body"), list) else [step.arg("body")]
        for item, name in zip(items, _label_names(items), strict=True):
            assert name in data.labels and get(item, "prefix") == "global", \
                f"call #{step.index}: label {show(item)} was not asked for (asked: {list(data.labels)}, global)"
            if step.ok:
                named.add(name)
    assert named == set(data.labels), f"labels {sorted(set(data.labels) - named)} were never added"


@check("process", weight=2, cap=UNINFORMED_CAP)
def writes_informed(trace: Trace, task: Task) -> None:
    """The ids the writes use (space, parent page, labelled page) were shown by an earlier turn's answer."""
    made = steps(trace, "createPage", ok=True)
    assert made, "no successful createPage call"
    for step in made:
        for name in ("spaceId", "parentId"):
            value = step.arg(name)
            assert value in (None, "") or informed(trace, step.turn, value), \
                f"call #{step.index} createPage uses {name} {show(value)}, which no earlier answer showed"
    for step in steps(trace, "addLabelsToContent", ok=True):
        assert informed(trace, step.turn, step.arg("id")), \
            f"call #{step.index} labels content {show(step.arg('id'))}, which no earlier answer showed"


CHECKS = (page_created_as_requested, content_as_requested, page_labelled_as_requested, nothing_else_changed,
          create_targets_space_and_parent, create_carries_title_and_body, labels_named_as_requested,
          writes_informed, no_invalid_call, no_duplicate_write)


class ConfluencePageCreate(AtlassianScenario):
    name = "confluence_page_create"
    tool_names = ("getSpaces", "getPages", "getPageDirectChildren", "createPage", "getPageById",
                  "addLabelsToContent")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, PageTask]:
        space = rng.choice(list(site.spaces.values()))
        pages = [p for p in site.pages.values() if p.space == space.id and p.status == "current"]
        top = [p for p in pages if p.parent == space.homepage]
        if tier == "hard":
            deep = [p for p in pages if p.parent not in (None, space.homepage)]
            if not deep:  # give the space a page two levels down
                above = rng.choice(top)
                when = site.tick()
                title = f"{above.title}: {rng.choice([t for t in PAGE_TITLES if t != above.title])}"
                page = Page(site.new_id(), space.id, title, above.id, f"<p>{title} for the team.</p>",
                            above.author, when, when, position=sum(1 for p in pages if p.parent == above.id))
                site.pages[page.id] = page
                deep = [page]
            parent = rng.choice(deep)
        else:
            parent = rng.choice(top)
        subject = rng.choice(SUBJECTS)
        taken = {p.title for p in pages}
        title = rng.choice([t for t in (f"{k} for the {subject}" for k in KINDS) if t not in taken])
        if tier == "hard" and rng.random() < 0.5:
            steps = [s.format(s=subject) for s in rng.sample(STEPS, 3)]
            content = {"kind": "bullets", "items": steps}
            body = "Its body is a bulleted list with the items " + ", ".join(f'"{s}"' for s in steps[:-1]) + \
                   f' and "{steps[-1]}".'
        else:
            first = f"This page describes how the team handles the {subject} during {rng.choice(EVENTS)}."
            second = f"Ask in the {rng.choice(TEAMS)} channel before changing anything in production."
            items = [first, second] if tier == "hard" else [first]
            content = {"kind": "paragraphs", "items": items}
            body = (f'Its body is two paragraphs: "{first}" and "{second}"' if tier == "hard"
                    else f'Its body is one paragraph: "{first}"')
        labels = sorted(rng.sample(PAGE_LABELS, 2)) if tier != "easy" else []
        where = f'the "{space.name}" Confluence space' if tier == "hard" else f"the Confluence space {space.key}"
        prompt = f'In {where}, create a page titled "{title}" under the page "{parent.title}". {body}'
        if labels:
            prompt += f" Label the page {labels[0]} and {labels[1]}."
        return prompt, PageTask(space.id, space.key, space.name, tier == "hard", parent.id, parent.title, title,
                                content["kind"], tuple(content["items"]), tuple(labels))

    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, InfeasibleTask]:
        space = rng.choice(list(site.spaces.values()))
        pages = [p for p in site.pages.values() if p.space == space.id and p.status == "current"]
        parent = rng.choice([p for p in pages if p.parent == space.homepage])
        subject = rng.choice(SUBJECTS)
        taken = {p.title for p in pages}
        title = rng.choice([t for t in (f"{k} for the {subject}" for k in KINDS) if t not in taken])
        paragraph = f"This page describes how the team handles the {subject} during {rng.choice(EVENTS)}."
        kind = kind_of(site, ("title", "parent", "space"))
        extra = {"space_id": space.id, "space_key": space.key, "parent_id": parent.id, "title": title,
                 "paragraph": paragraph}
        key, under = space.key, parent.title
        if kind == "title":
            existing = rng.choice([p for p in pages if p.id not in (parent.id, space.homepage)] or [parent])
            title = existing.title
            data = InfeasibleTask("title", title, existing.id, f'The space {space.key} already has a page titled '
                                  f'"{title}" (page {existing.id}); a space cannot hold two pages of one title.',
                                  space=space.id, extra={**extra, "title": title})
        elif kind == "parent":
            under = word_typo(rng, parent.title, {p.title for p in site.pages.values()})
            data = InfeasibleTask("parent", under, parent.title, f'The space {space.key} has no page titled "{under}" '
                                  f'(the nearest is "{parent.title}").', space=space.id, extra=extra)
        else:
            key = word_typo(rng, space.key, {s.key for s in site.spaces.values()})
            data = InfeasibleTask("space", key, space.key, f"The Confluence space {key} does not exist (the nearest "
                                  f"is {space.key}).", extra=extra)
        prompt = (f'In the Confluence space {key}, create a page titled "{title}" under the page "{under}". Its body '
                  f'is one paragraph: "{paragraph}"')
        return prompt, data

    def __init__(self) -> None:
        super().__init__()
        self.scripts = tiered({"oracle": oracle, "naive": naive, "spam": spam, "refuse": refuse},
                              {"oracle": infeasible_oracle, "naive": infeasible_naive, "spam": infeasible_spam})


def storage(data: PageTask) -> str:
    """The requested body in storage format."""
    escaped = [html.escape(i, quote=False) for i in data.items]
    if data.kind == "bullets":
        return "<ul>" + "".join(f"<li>{i}</li>" for i in escaped) + "</ul>"
    return "".join(f"<p>{i}</p>" for i in escaped)


def label_body(names: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    return [{"prefix": "global", "name": n} for n in names]


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    lookup = {"limit": 250} if data.by_name else {"keys": [data.space_key]}
    (spaces,) = yield [("getSpaces", lookup)]
    field, wanted = ("name", data.space_name) if data.by_name else ("key", data.space_key)
    space_id = next(s["id"] for s in spaces.body["results"] if s[field] == wanted)
    (pages,) = yield [("getPages", {"space_id": [int(space_id)], "title": data.parent_title})]
    parent_id = pages.body["results"][0]["id"]
    (made,) = yield [("createPage", {"spaceId": space_id, "status": "current", "title": data.title,
                                     "parentId": parent_id,
                                     "body": {"representation": "storage", "value": storage(data)}})]
    if data.labels:
        yield [("addLabelsToContent", {"id": made.body["id"], "body": label_body(data.labels)})]
    yield f"Created the page {data.title!r}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One createPage with what the prompt says: the space key (or name) as spaceId, no parent, plain text."""
    data = _data(task)
    space = data.space_name if data.by_name else data.space_key
    yield [("createPage", {"spaceId": space, "title": data.title,
                           "body": {"representation": "storage", "value": " ".join(data.items)}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Every offered tool, three rounds, writes included, with arguments from the prompt and earlier answers."""
    data = _data(task)
    space = data.space_name if data.by_name else data.space_key
    page = "1"
    body = {"representation": "storage", "value": storage(data)}
    labels = label_body(data.labels or ["draft"])
    for _ in range(3):
        results = yield [
            ("getSpaces", {"keys": [data.space_key]} if not data.by_name else {}),
            ("getPages", {"title": data.parent_title}),
            ("getPageDirectChildren", {"id": page}),
            ("createPage", {"spaceId": space, "title": data.title, "body": body}),
            ("createPage", {"spaceId": space, "title": data.title, "parentId": page, "body": body}),
            ("getPageById", {"id": page}),
            ("addLabelsToContent", {"id": page, "body": labels}),
        ]
        spaces, pages = results[0].body, results[1].body
        if isinstance(spaces, dict) and spaces.get("results"):
            space = spaces["results"][0]["id"]
        if isinstance(pages, dict) and pages.get("results"):
            page = pages["results"][0]["id"]
    yield "Done."


def infeasible_reads(data: InfeasibleTask) -> list[tuple[str, dict[str, Any]]]:
    """The reads that show what is wrong: the space key looked up, or the title among the space's pages."""
    if data.kind == "space":
        return [("getSpaces", {"keys": [data.name]})]
    return [("getPages", {"space_id": [int(data.extra["space_id"])], "title": data.name})]


def infeasible_oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = data_of(task)
    yield infeasible_reads(data)
    yield answer(data)


def _near_create(data: InfeasibleTask) -> tuple[str, dict[str, Any]]:
    """The create aimed at what the request is close to: the nearest space and parent, the taken title."""
    extra = data.extra
    return ("createPage", {"spaceId": extra["space_id"], "status": "current", "title": extra["title"],
                           "parentId": extra["parent_id"],
                           "body": {"representation": "storage", "value": f"<p>{html.escape(extra['paragraph'])}</p>"}})


def infeasible_naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Creates the page where the request is close to: the nearest space and parent, even with a taken title."""
    yield [_near_create(data_of(task))]
    yield "Done."


def infeasible_spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Reads, and creates the page where the request is close to, three rounds."""
    data = data_of(task)
    yield from spray([*infeasible_reads(data), ("getSpaces", {})], [_near_create(data)])


SCENARIO = ConfluencePageCreate()
