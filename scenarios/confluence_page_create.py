"""confluence_page_create: create a page in the right space, under the right parent, with the requested body
and labels.

The request names the space by key (or, in the hard tier, by name) and the parent page by title; the API
wants numeric ids, so the space id comes from a space lookup and the parent id from a page search in that
space (the same parent title often exists in other spaces too). The body goes in storage format (XHTML) or
as an Atlassian Document (the site stores storage either way; any markup that carries the content is
accepted). Labels can only be added after the page exists, with the id the create answered.

Tiers: easy — space by key, parent a top-level page, one paragraph; medium — as easy, plus two labels;
hard — space by name, parent a page two or more levels down, two paragraphs or a bulleted list, two labels.

Checks (weight, group) — what each verifies and why:
- page_created_as_requested (5, outcome): exactly one new page, current, in the requested space, under the
  requested parent, with the requested title and a body that carries the requested content (each paragraph
  on its own line, or each bullet as a list item), and nothing else on the site changed but new labels.
- page_labelled_as_requested (2, outcome): that page carries exactly the requested labels (by name; none
  when none were asked for).
- create_targets_space_and_parent (1, arguments): the createPage call's spaceId is the space's id and its
  parentId the parent page's id.
- create_carries_title_and_body (1, arguments): the call's title is the requested one and its body (any
  representation the API accepts) carries the requested content.
  These two judge the one successful createPage call (or, when none succeeded, the last attempt); creating
  several pages fails them, since one was asked for.
- labels_named_as_requested (1, arguments): every addLabelsToContent call targets the created page and
  names only requested labels (global prefix), and together they name all of them; with no labels asked
  for, a page was created and no label was added.
- lookups_before_create (2, process): the spaceId and parentId of every successful create were answered
  by a space lookup (getSpaces) and a page read (getPages, getPageDirectChildren or getPageById) of an
  earlier turn: the ids were found, not guessed (or left out).
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Task, ToolCall, ToolResult, Trace, check

from .atlassian.confluence import read_body
from .atlassian.documents import storage_text
from .atlassian.generate import LABELS, PAGE_TITLES, SUBJECTS
from .atlassian.http import ApiError
from .atlassian.site import Page, Site
from .base import AtlassianScenario, args, calls_to, judged_write, made_calls, no_duplicate_write, no_invalid_call

KINDS = ["Runbook", "Checklist", "Retrospective", "Design notes", "Migration plan", "Troubleshooting guide",
         "Handover notes"]
EVENTS = ["the quarterly release", "an incident", "the database migration", "peak season", "the audit"]
TEAMS = ["platform", "on-call", "support", "release", "security"]
STEPS = ["Check the {s} dashboard", "Restart the worker pool", "Page the on-call lead",
         "Post a note in the incident channel", "Roll back the last deploy of the {s}",
         "Confirm the fix with a customer", "Update the status page"]
PAGE_LABELS = ["runbook", "how-to", "checklist", "team-notes", "q3-planning", "needs-review", *LABELS]


def _norm(text: Any) -> str:
    return " ".join(str(text).split())


def _show(value: Any, limit: int = 200) -> str:
    """A value from a call for a message: canonical JSON, so that a trace read back scores the same."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)[:limit]


def _turn_calls(trace: Trace) -> list[tuple[int, ToolCall, ToolResult]]:
    """Every call with the index of the turn that made it: a read informs only writes of later turns."""
    return [(n, c, r) for n, turn in enumerate(trace.turns) for c, r in zip(turn.tool_calls, turn.results,
                                                                            strict=True)]


def _list_items(storage: str) -> list[str]:
    """The texts of the list items of a storage body (and of wiki-style bullet lines left as text)."""
    items = [html.unescape(re.sub(r"<[^>]+>", " ", inner)) for inner in re.findall(r"<li\b[^>]*>(.*?)</li>",
                                                                                 storage, re.S)]
    items += [line.strip()[2:] for line in storage_text(storage).split("\n")
              if line.strip()[:2] in ("* ", "- ", "• ")]
    return [_norm(i) for i in items]


def content_problem(storage: str, content: dict[str, Any]) -> str | None:
    """Why a storage body does not carry the requested content, or None when it does."""
    text = storage_text(storage)
    if content["kind"] == "bullets":
        items = _list_items(storage)
        missing = [i for i in content["items"] if not any(i.rstrip(".") in got for got in items)]
        return f"list items {missing} are missing (the body's list items: {items})" if missing else None
    lines = [_norm(line) for line in text.split("\n") if line.strip()]
    if len(content["items"]) == 1:
        return None if content["items"][0] in _norm(text) else \
            f"the body reads {_norm(text)[:300]!r}; it should carry {content['items'][0]!r}"
    at = 0
    for item in content["items"]:
        at = next((n for n in range(at, len(lines)) if item in lines[n]), -1)
        if at < 0:
            return f"paragraph {item!r} is not on a line of its own after the previous one (lines: {lines})"
        at += 1
    return None


def _new_page(trace: Trace) -> dict[str, Any]:
    """The one page created; fails the check when there is none or several."""
    ids = sorted(path.split("/", 1)[1] for path, change in trace.state_diff.items()
           if path.startswith("pages/") and path.count("/") == 1 and change.get("before") is None)
    assert ids, "no page was created"
    assert len(ids) == 1, f"{len(ids)} pages were created ({', '.join(ids)}); the request was for one"
    return trace.final_state["pages"][ids[0]]




def _ids_in(body: Any) -> set[str]:
    """Ids of the entities a read answered (a listing's results, or one entity)."""
    if not isinstance(body, dict):
        return set()
    found = body.get("results") if isinstance(body.get("results"), list) else [body]
    return {str(x["id"]) for x in found if isinstance(x, dict) and "id" in x}


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=5)
def page_created_as_requested(trace: Trace, task: Task) -> None:
    page = _new_page(trace)
    d = task.data
    others = sorted(p for p, change in trace.state_diff.items() if p != f"pages/{page['id']}" and not (
        p.startswith("labels/") and p.count("/") == 1 and change.get("before") is None))
    assert not others, f"other things changed: {others}"
    assert page["space"] == d["space"]["id"], f"created in space {page['space']}, expected {d['space']['key']} " \
                                              f"({d['space']['id']})"
    assert page["parent"] == d["parent"]["id"], f"created under page {page['parent']}, expected " \
                                                f"{d['parent']['title']!r} ({d['parent']['id']})"
    assert page["title"] == d["title"], f"title {page['title']!r}, expected {d['title']!r}"
    assert page["status"] == "current", f"the page is {page['status']}, not published (current)"
    problem = content_problem(page["body"], d["content"])
    assert problem is None, problem


@check("outcome", weight=2)
def page_labelled_as_requested(trace: Trace, task: Task) -> None:
    page = _new_page(trace)
    labels = trace.final_state.get("labels", {})
    names = sorted(labels[i]["name"] for i in page["labels"] if i in labels)
    assert names == task.data["labels"], f"the page's labels are {names}, expected {task.data['labels']}"


@check("arguments", weight=1)
def create_targets_space_and_parent(trace: Trace, task: Task) -> None:
    a = judged_write(trace, "createPage", "page")
    d = task.data
    assert str(a.get("spaceId")) == d["space"]["id"], \
        f"spaceId {_show(a.get('spaceId'))} is not the id of space {d['space']['key']} ({d['space']['id']})"
    assert str(a.get("parentId")) == d["parent"]["id"], \
        f"parentId {_show(a.get('parentId'))} is not the id of page {d['parent']['title']!r} ({d['parent']['id']})"


@check("arguments", weight=1)
def create_carries_title_and_body(trace: Trace, task: Task) -> None:
    a = judged_write(trace, "createPage", "page")
    assert a.get("title") == task.data["title"], f"title {_show(a.get('title'))}, expected {task.data['title']!r}"
    try:
        storage, _ = read_body(a.get("body", {"representation": "storage", "value": ""}))
    except ApiError as exc:
        raise AssertionError(f"the body is not one the API accepts: {exc.response.body}") from None
    problem = content_problem(storage, task.data["content"])
    assert problem is None, problem


@check("arguments", weight=1)
def labels_named_as_requested(trace: Trace, task: Task) -> None:
    made_calls(trace)
    created = {str(r.body.get("id")) for _, r in calls_to(trace, "createPage", ok=True) if isinstance(r.body, dict)}
    assert created, "no page was created"
    calls = calls_to(trace, "addLabelsToContent")
    wanted = task.data["labels"]
    if not wanted:
        assert not calls, f"labels were added though none were asked for: {_show([args(c) for c, _ in calls])}"
        return
    assert calls, "no addLabelsToContent call"
    named: set[str] = set()
    for call, result in calls:
        a = args(call)
        assert str(a.get("id")) in created, f"labels were added to content {_show(a.get('id'))}, not the new page"
        items = a.get("body") if isinstance(a.get("body"), list) else [a.get("body")]
        for item in items:
            name = str(item.get("name", "")).strip().lower() if isinstance(item, dict) else None
            assert name in wanted and item.get("prefix") == "global", \
                f"label {_show(item)} was not asked for (asked: {wanted}, prefix global)"
            if result.ok:
                named.add(name)
    assert named == set(wanted), f"labels {sorted(set(wanted) - named)} were never added"


@check("process", weight=2)
def lookups_before_create(trace: Trace, task: Task) -> None:
    made_calls(trace)
    calls = _turn_calls(trace)
    creates = [(n, args(c)) for n, c, r in calls if r.operation == "createPage" and r.ok]
    assert creates, "no successful createPage call"
    for turn, a in creates:
        space, parent = str(a.get("spaceId")), a.get("parentId")
        assert any(n < turn and r.operation == "getSpaces" and r.ok and space in _ids_in(r.body)
                   for n, _, r in calls), f"spaceId {space} was not answered by an earlier space lookup"
        assert parent is not None, "no parentId: the page went under the space's home page"
        assert any(n < turn and r.operation in ("getPages", "getPageDirectChildren", "getPageById") and r.ok
                   and str(parent) in _ids_in(r.body) for n, _, r in calls), \
            f"parentId {parent} was not answered by an earlier page read"


CHECKS = (page_created_as_requested, page_labelled_as_requested, create_targets_space_and_parent,
          create_carries_title_and_body, labels_named_as_requested, lookups_before_create,
          no_invalid_call,
          no_duplicate_write)


class ConfluencePageCreate(AtlassianScenario):
    name = "confluence_page_create"
    tool_names = ("getSpaces", "getPages", "getPageDirectChildren", "createPage", "getPageById",
                  "addLabelsToContent")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, dict[str, Any]]:
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
        data = {"space": {"id": space.id, "key": space.key, "name": space.name}, "by_name": tier == "hard",
                "parent": {"id": parent.id, "title": parent.title}, "title": title, "content": content,
                "labels": labels}
        return prompt, data

    def __init__(self) -> None:
        super().__init__()
        self.scripts = {"oracle": oracle, "naive": naive, "spam": spam}


def _storage(content: dict[str, Any]) -> str:
    escaped = [html.escape(i, quote=False) for i in content["items"]]
    if content["kind"] == "bullets":
        return "<ul>" + "".join(f"<li>{i}</li>" for i in escaped) + "</ul>"
    return "".join(f"<p>{i}</p>" for i in escaped)


def _label_body(names: list[str]) -> list[dict[str, str]]:
    return [{"prefix": "global", "name": n} for n in names]


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    d = task.data
    lookup = {"limit": 250} if d["by_name"] else {"keys": [d["space"]["key"]]}
    (spaces,) = yield [("getSpaces", lookup)]
    field = "name" if d["by_name"] else "key"
    space_id = next(s["id"] for s in spaces.body["results"] if s[field] == d["space"][field])
    (pages,) = yield [("getPages", {"space_id": [int(space_id)], "title": d["parent"]["title"]})]
    parent_id = pages.body["results"][0]["id"]
    (created,) = yield [("createPage", {"spaceId": space_id, "status": "current", "title": d["title"],
                                        "parentId": parent_id,
                                        "body": {"representation": "storage", "value": _storage(d["content"])}})]
    if d["labels"]:
        yield [("addLabelsToContent", {"id": created.body["id"], "body": _label_body(d["labels"])})]
    yield f"Created the page {d['title']!r}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """One createPage with what the prompt says: the space key (or name) as spaceId, no parent, plain text."""
    d = task.data
    space = d["space"]["name"] if d["by_name"] else d["space"]["key"]
    yield [("createPage", {"spaceId": space, "title": d["title"],
                           "body": {"representation": "storage", "value": " ".join(d["content"]["items"])}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Every offered tool, three rounds, writes included, with arguments from the prompt and earlier answers."""
    d = task.data
    space = d["space"]["name"] if d["by_name"] else d["space"]["key"]
    page = "1"
    body = {"representation": "storage", "value": _storage(d["content"])}
    labels = _label_body(d["labels"] or ["draft"])
    for _ in range(3):
        results = yield [
            ("getSpaces", {"keys": [d["space"]["key"]]} if not d["by_name"] else {}),
            ("getPages", {"title": d["parent"]["title"]}),
            ("getPageDirectChildren", {"id": page}),
            ("createPage", {"spaceId": space, "title": d["title"], "body": body}),
            ("createPage", {"spaceId": space, "title": d["title"], "parentId": page, "body": body}),
            ("getPageById", {"id": page}),
            ("addLabelsToContent", {"id": page, "body": labels}),
        ]
        spaces, pages = results[0].body, results[1].body
        if isinstance(spaces, dict) and spaces.get("results"):
            space = spaces["results"][0]["id"]
        if isinstance(pages, dict) and pages.get("results"):
            page = pages["results"][0]["id"]
    yield "Done."


SCENARIO = ConfluencePageCreate()
