"""The simulator's fast validation paths give jsonschema's verdicts, exactly.

Three shortcuts stand in front of jsonschema (which then runs only to say why an instance is rejected):
the compiled Draft 4 check (`openapi.compiled`) for ADF documents, request bodies and responses; the
quick check of flat tool arguments (`catalog._quick`, Draft 2020-12 semantics); and the verdicts ADF
validation remembers by JSON text. Each is compared here with plain jsonschema on generated instances:
mostly-valid shapes with one thing broken, and garbage.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft202012Validator

from scenarios.atlassian import catalog
from scenarios.atlassian.documents import adf_errors
from scenarios.atlassian.openapi import compiled, spec
from scenarios.atlassian.world import World

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NODE_TYPES = ["doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "rule",
              "blockquote", "panel", "hardBreak", "mention", "emoji", "table", "tableRow", "tableCell",
              "mediaSingle", "media", "expand", "taskList", "taskItem", "status", "date", "inlineCard", "bogus"]
MARKS = ["strong", "em", "code", "link", "strike", "underline", "textColor", "subsup", "bogus"]
scalars = st.none() | st.booleans() | st.integers(-3, 8) | st.floats(allow_nan=False, width=32) | st.text(max_size=4)
junk = st.recursive(scalars, lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=3), c, max_size=2),
                    max_leaves=4)
attrs = st.fixed_dictionaries({}, optional={
    "level": st.integers(0, 7) | st.floats(1, 6) | st.text(max_size=1), "href": st.text(max_size=3) | st.none(),
    "localId": st.text(max_size=3) | st.integers(), "language": st.text(max_size=3), "id": st.text(max_size=3),
    "panelType": st.sampled_from(["info", "note", "bogus"]), "text": st.text(max_size=3),
    "order": st.integers(-1, 3), "layout": st.sampled_from(["center", "wide", "bogus"]),
    "color": st.sampled_from(["#ff0000", "red", ""]), "type": st.sampled_from(["sub", "sup", "x"]),
    "bogus": junk})
marks = st.lists(st.fixed_dictionaries({"type": st.sampled_from(MARKS)}, optional={"attrs": attrs}), max_size=2)


def node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"type": st.sampled_from(NODE_TYPES)}, optional={
        "content": st.lists(children, max_size=3), "text": st.text(max_size=3), "attrs": attrs, "marks": marks,
        "version": st.sampled_from([1, 2, "1"])})


leaf = st.one_of(
    st.builds(lambda t, m: {"type": "text", "text": t, **({"marks": m} if m else {})}, st.text(max_size=3), marks),
    st.sampled_from([{"type": "hardBreak"}, {"type": "rule"}, {"type": "mention", "attrs": {"id": "a"}}]),
    junk)
adf_like = st.builds(lambda content, version, extra: {"type": "doc", "version": version, "content": content, **extra},
                     st.lists(st.recursive(leaf, node, max_leaves=6), max_size=3),
                     st.sampled_from([1, 1, 1, 2, "1"]), st.sampled_from([{}, {}, {"attrs": {}}]))




@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.builds(lambda content: {"type": "doc", "version": 1, "content": content},
                 st.lists(st.recursive(leaf, node, max_leaves=3), max_size=2)))
def test_compiled_adf_check_agrees_with_plain_jsonschema(doc: dict[str, Any]) -> None:
    plain = Draft4Validator(spec().adf.schema, registry=spec().registry)  # no shortcut at all (slow)
    assert spec().adf_check(doc) == plain.is_valid(doc)


def test_adf_verdicts_are_remembered_by_text_and_stay_right() -> None:
    good = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                         "text": "remembered"}]}]}
    bad = copy.deepcopy(good)
    bad["content"][0]["content"][0]["text"] = ""
    for _ in range(3):
        assert adf_errors(good) is None
        assert adf_errors(bad) is not None
        assert adf_errors(json.loads(json.dumps(good))) is None
    assert adf_errors({"type": "doc", "version": 1, "content": [{1, 2}]}) is not None  # not JSON: still judged


# -- request bodies -------------------------------------------------------------------------------------------
BODY_OPS = [op for op in spec().operations.values() if op.body_schema is not None]
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}]}
bodies = st.one_of(
    junk,
    st.dictionaries(st.sampled_from(["fields", "update", "transition", "historyMetadata", "properties", "body",
                                     "visibility", "accountId", "jql", "maxResults", "nextPageToken", "spaceId",
                                     "status", "title", "parentId", "id", "version", "pageId", "prefix", "name",
                                     "expand", "reconcileIssues", "subtype", "ownerId"]),
                    junk | st.sampled_from([ADF, {"id": "5"}, {"number": 2}, {"number": "2"},
                                            {"representation": "storage", "value": "<p/>"},
                                            {"storage": {"representation": "storage", "value": "x"}},
                                            {"labels": [{"add": "x"}]}, {"labels": {"add": "x"}},
                                            [{"prefix": "global", "name": "x"}], "current", "draft", [1, 2],
                                            {"type": "role", "value": "x"}, {"key": "k", "value": 1}]),
                    max_size=4),
    st.lists(st.fixed_dictionaries({"prefix": st.sampled_from(["global", 1]), "name": st.text(max_size=3)}),
             max_size=2),
)


@SETTINGS
@given(st.sampled_from(BODY_OPS), bodies)
def test_compiled_body_check_agrees_with_jsonschema(op: Any, body: Any) -> None:
    check = spec().body_check(op)
    assert check is not None, f"{op.id}: its body schema should compile"
    plain = Draft4Validator(op.body_schema, registry=spec().registry)
    assert check(body) == plain.is_valid(body), (op.id, body)


def responses() -> list[tuple[Any, int, Any]]:
    """(operation, status, body) for responses of every operation, successes and errors."""
    world = World(2)
    issue = next(iter(world.site.issues.values()))
    page = next(p for p in world.site.pages.values() if p.parent)
    out = []
    for name, args in [("getIssue", {"issueIdOrKey": issue.key}), ("getTransitions", {"issueIdOrKey": issue.key}),
                       ("getComments", {"issueIdOrKey": issue.key}), ("searchProjects", {}),
                       ("getProject", {"projectIdOrKey": issue.key.split("-")[0]}), ("findUsers", {"query": "a"}),
                       ("getCreateIssueMetaIssueTypeId", {"projectIdOrKey": issue.key.split("-")[0],
                                                          "issueTypeId": issue.issuetype}),
                       ("searchAndReconsileIssuesUsingJql", {"jql": "project is not empty", "fields": ["*all"]}),
                       ("getPages", {"body_format": "storage"}), ("getPageById", {"id": page.id,
                                                                                  "include_labels": True}),
                       ("getSpaces", {}), ("getPageDirectChildren", {"id": page.parent}),
                       ("getPageLabels", {"id": page.id}), ("getPageFooterComments", {"id": page.id}),
                       ("addComment", {"issueIdOrKey": issue.key, "body": ADF}),
                       ("createIssue", {"fields": {}}), ("getIssue", {"issueIdOrKey": "NOPE-1"})]:
        result = world.call(name, args)
        out.append((spec().operations[result.operation], result.status, result.body))
    return out


RESPONSES = responses()


def mutations(value: Any) -> st.SearchStrategy[Any]:
    """`value` with one node replaced, dropped or given an extra key."""
    paths: list[tuple[Any, ...]] = []

    def walk(v: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, (*path, k))
        elif isinstance(v, list):
            for i, x in enumerate(v[:3]):
                walk(x, (*path, i))

    walk(value, ())

    def apply(path: tuple[Any, ...], how: str, new: Any) -> Any:
        out = copy.deepcopy(value)
        if not path:
            return new
        parent = out
        for step in path[:-1]:
            parent = parent[step]
        if how == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == "extra" and isinstance(parent[path[-1]], dict):
            parent[path[-1]]["unexpected"] = new
        else:
            parent[path[-1]] = new
        return out

    return st.builds(apply, st.sampled_from(paths), st.sampled_from(["drop", "extra", "replace"]),
                     st.none() | st.integers(-1, 3) | st.text(max_size=2) | st.just([]) | st.just({}))


@SETTINGS
@given(st.sampled_from(RESPONSES).flatmap(lambda r: st.tuples(st.just(r[0]), st.just(r[1]), mutations(r[2]))))
def test_compiled_response_check_agrees_with_jsonschema(case: tuple[Any, int, Any]) -> None:
    op, status, body = case
    check = spec().response_check(op, status)
    validator = spec().response_validator(op, status)
    if validator is None:
        return
    assert check is not None, f"{op.id} {status}: its response schema should compile"
    plain = Draft4Validator(op.responses[str(status)], registry=spec().registry)
    assert check(body) == plain.is_valid(body)


def test_the_unmutated_responses_are_valid() -> None:
    for op, status, body in RESPONSES:
        check = spec().response_check(op, status)
        assert check is None or check(body), (op.id, status)


def test_compiled_refuses_keywords_it_does_not_know() -> None:
    assert compiled({"not": {"type": "string"}}, lambda ref: {}) is None
    assert compiled({"oneOf": [{"type": "string"}]}, lambda ref: {}) is None
    check = compiled({"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}},
                      "required": ["n"], "x-extension": 1}, lambda ref: {})
    assert check is not None
    assert [check(v) for v in ({"n": 2}, {"n": 1}, {"n": 2.0}, {"n": True}, {}, [])] == [
        True, False, False, False, False, False]


# -- tool arguments ---------------------------------------------------------------------------------------------
arguments = st.dictionaries(st.sampled_from(sorted({a.name for n in catalog.OFFERED for a in catalog.tool(n).arguments}
                                                   | {"bogus"})), junk | st.lists(st.text(max_size=3), max_size=2)
                            | st.sampled_from(["current", "storage", "-created", 2.0, 2.5, 10**20]), max_size=4)


@SETTINGS
@given(st.sampled_from(list(catalog.OFFERED)), arguments)
def test_quick_argument_check_agrees_with_jsonschema(name: str, args: dict[str, Any]) -> None:
    tool = catalog.tool(name)
    quick = catalog._quick(name)
    assert quick is not None
    plain = Draft202012Validator(tool.validator.schema)
    required = {a.name: "x" for a in tool.arguments if a.required and a.schema.get("type") == "string"}
    for candidate in (args, {**required, **args}):
        assert quick(candidate) == plain.is_valid(candidate), candidate


# -- ADF documents, valid and one mutation away ------------------------------------------------------------------
valid_marks = st.lists(st.sampled_from([{"type": "strong"}, {"type": "em"}, {"type": "underline"},
                                         {"type": "link", "attrs": {"href": "https://x"}},
                                         {"type": "textColor", "attrs": {"color": "#ff0000"}}]),
                       max_size=2, unique_by=lambda m: m["type"])
texts = st.lists(st.builds(lambda t, m: {"type": "text", "text": t, **({"marks": m} if m else {})},
                           st.text(min_size=1, max_size=4), valid_marks), min_size=1, max_size=3)
paragraph = st.builds(lambda c: {"type": "paragraph", "content": c}, texts)


def lists(blocks: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    item = st.builds(lambda c: {"type": "listItem", "content": c}, st.lists(blocks, min_size=1, max_size=2))
    return st.builds(lambda kind, items: {"type": kind, "content": items},
                     st.sampled_from(["bulletList", "orderedList"]), st.lists(item, min_size=1, max_size=2))


block = st.one_of(
    paragraph, st.builds(lambda level, c: {"type": "heading", "attrs": {"level": level}, "content": c},
                         st.integers(1, 6), texts),
    st.just({"type": "rule"}), st.builds(lambda t: {"type": "codeBlock", "attrs": {"language": "python"},
                                                     "content": [{"type": "text", "text": t}]}, st.text(min_size=1)),
    st.builds(lambda c: {"type": "blockquote", "content": c}, st.lists(paragraph, min_size=1, max_size=2)),
    st.builds(lambda c: {"type": "panel", "attrs": {"panelType": "info"}, "content": c},
              st.lists(paragraph, min_size=1, max_size=2)),
    st.recursive(paragraph, lists, max_leaves=4))
valid_adf = st.builds(lambda c: {"type": "doc", "version": 1, "content": c}, st.lists(block, max_size=3))


@SETTINGS
@given(valid_adf.flatmap(lambda doc: st.one_of(st.just(doc), mutations(doc))) | adf_like)
def test_compiled_adf_check_agrees_with_jsonschema(doc: dict[str, Any]) -> None:
    assert spec().adf_check(doc) == spec().adf.is_valid(doc)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(valid_adf)
def test_generated_documents_are_valid(doc: dict[str, Any]) -> None:
    assert spec().adf_check(doc) and adf_errors(doc) is None
