"""Hostile input for the simulated Atlassian Cloud: thousands of generated calls, none may break it.

Hypothesis builds batches of calls: arguments shaped by each tool's own JSON schema (with real and
nonexistent ids, valid and invalid ADF and storage bodies, workflow-violating writes) and garbage (unknown
tools, unparsable JSON, non-object arguments, wrong types, unknown and missing arguments, absurd sizes,
deep nesting), plus raw HTTP-level requests. For every call:

- no exception escapes `World.call` / `World.request` (conftest.py also turns on response-schema checks,
  so a response that breaks the official schema is an exception here too);
- no 5xx, and the status is one the operation declares (or a generic 400/404/405/413);
- every error body has its API's envelope: Jira's ErrorCollection, Confluence v2's `errors` list,
  Confluence v1's `statusCode`/`message`;
- a rejected call (status >= 400) and every read leave the site exactly as it was.

State equality is checked on `pickle.dumps(world.site)` (byte equality of the whole object graph, a
stricter test than equal snapshots and ten times cheaper); a mismatch is reported as a snapshot diff, and
each batch ends with a full `world.snapshot()` comparison against a replay of its accepted writes only.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.atlassian import catalog
from scenarios.atlassian.generate import generate
from scenarios.atlassian.http import document_of
from scenarios.atlassian.openapi import spec
from scenarios.atlassian.site import diff
from scenarios.atlassian.world import World

SEED = 3
SITE = generate(SEED)
BATCHES = 100
CALLS_PER_BATCH = 100
TOOLS = catalog.ALL_TOOLS

# -- values: real ids of the site and plausible ones that do not exist ----------------------------------------
ISSUE_REFS = [i.key for i in SITE.issues.values()] + [i.id for i in list(SITE.issues.values())[:5]]
PROJECT_REFS = [p.key for p in SITE.projects.values()] + list(SITE.projects)
PAGE_IDS = list(SITE.pages)
SPACE_IDS = list(SITE.spaces)
SPACE_KEYS = [s.key for s in SITE.spaces.values()]
ACCOUNTS = list(SITE.users)
TRANSITIONS = sorted({t.id for p in SITE.projects.values() for t in p.workflow.transitions})
TYPES = list(SITE.issue_types)
LABELS = sorted({label.name for label in SITE.labels.values()})
BOGUS = ["NOPE-1", "OPS-99999", "99999999", "0", "-1", "", " ", "abc", "../../etc", "%2F", "1e3", "ÿ€",
         "9" * 40, "null", "{id}", "OPS", "65000"]
REAL = ISSUE_REFS + PROJECT_REFS + PAGE_IDS + SPACE_IDS + SPACE_KEYS + ACCOUNTS + TRANSITIONS + TYPES + LABELS



def spread(items: list[Any]) -> st.SearchStrategy[Any]:
    """Like sampled_from, without Hypothesis's strong preference for the first item (its "simplest")."""
    return st.integers(0, 2**16).map(lambda n: items[n % len(items)])


def mostly(real: list[str], every: int = 4) -> st.SearchStrategy[str]:
    """Mostly real ids (a call must get past the lookups to test the rules), one in `every` bogus."""
    mixed = [BOGUS[n // every % len(BOGUS)] if n % every == every - 1 else real[n % len(real)]
             for n in range(every * max(len(real), len(BOGUS)))]
    return spread(mixed)


ids = mostly(REAL)
words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | words | ids
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(words | ids, inner, max_size=3), max_leaves=6)

ADF_OK = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Fuzzed text", "marks": [{"type": "strong"}]}]},
    {"type": "bulletList", "content": [{"type": "listItem", "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "item"}]}]}]}]}
ADF_BAD = [
    {"type": "doc", "content": []},  # no version
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]},
    {"type": "doc", "version": 2, "content": []},
    {"type": "doc", "version": 1, "content": [{"type": "listItem", "content": [{"type": "text", "text": "x"}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "heading", "content": [{"type": "text", "text": "x"}]}]},
    "plain text, not a document",
]


def nested(levels: int) -> dict[str, Any]:
    """An ADF document whose lists nest `levels` deep (a valid one)."""
    node: dict[str, Any] = {"type": "paragraph", "content": [{"type": "text", "text": "deep"}]}
    for _ in range(levels):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    return {"type": "doc", "version": 1, "content": [node]}


adf = st.sampled_from([ADF_OK, *ADF_BAD]) | st.integers(1, 12).map(nested) | st.builds(
    lambda texts: {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": t}]} for t in texts]},
    st.lists(words, max_size=3))
STORAGE = ["<p>Hello</p>", "<p>unclosed", "<h1>T</h1><ul><li>a</li></ul>", "plain", "", "<p>&nbsp;&bogus;</p>",
           "<ac:structured-macro ac:name='info'/>", "<<>>"]
page_body = st.one_of(
    st.builds(lambda r, v: {"representation": r, "value": v},
              st.sampled_from(["storage", "atlas_doc_format", "wiki", "view", "bogus"]),
              st.sampled_from(STORAGE) | adf.map(json.dumps) | words),
    st.builds(lambda r, v: {r: {"representation": r, "value": v}}, st.sampled_from(["storage", "atlas_doc_format"]),
              st.sampled_from(STORAGE) | adf.map(json.dumps)),
    junk,
)
ref = st.one_of(st.builds(lambda v: {"id": v}, ids), st.builds(lambda v: {"key": v}, ids),
                st.builds(lambda v: {"name": v}, st.sampled_from(["Task", "Bug", "Story", "Epic", "Sub-task", "Done",
                                                                  "High", "Nope"])), junk)
FIELD_VALUES = {
    "project": ref, "issuetype": ref, "summary": words | st.sampled_from(["Fix it", "a\nb", "x" * 300]),
    "description": adf, "labels": st.lists(st.sampled_from(LABELS + ["new-label", "has space", ""]), max_size=3),
    "priority": ref, "assignee": st.builds(lambda a: {"accountId": a}, ids) | st.none(),
    "reporter": st.builds(lambda a: {"accountId": a}, ids), "parent": ref, "resolution": ref,
    "duedate": st.sampled_from(["2026-02-01", "tomorrow", None]), "status": ref, "customfield_10000": junk,
}
fields = st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)), st.none(), max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELD_VALUES[k] for k in keys}))
operation = st.one_of(
    st.builds(lambda verb, v: {verb: v}, st.sampled_from(["add", "remove", "set", "edit", "copy"]),
              st.sampled_from(LABELS + ["fresh"]) | words),
    st.builds(lambda v: {"set": v}, st.lists(st.sampled_from(LABELS), max_size=3) | words | ref),
    st.builds(lambda body: {"add": {"body": body}}, adf), junk)
update = st.dictionaries(st.sampled_from(["labels", "summary", "comment", "priority", "status", "bogus"]),
                         st.lists(operation, max_size=3), max_size=3)

# Arguments whose schema is a bare `object` (or an array of them): values shaped like the real request.
SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "fields": fields, "update": update, "transition": st.builds(lambda v: {"id": v}, ids) | junk,
    "version": st.builds(lambda n, m: {"number": n, "message": m}, st.integers(-1, 6), words) | junk,
    "labels_body": st.lists(st.builds(lambda p, n: {"prefix": p, "name": n},
                                      st.sampled_from(["global", "my", "team", "bogus"]),
                                      st.sampled_from(LABELS + ["fuzz", "bad name", ""]) | words), max_size=3) | junk,
}
TEXT_ARGS = {"jql": st.sampled_from(["project = OPS", "project = OPS ORDER BY key", "order by key",
                                     "status = 'In Progress' AND labels IN (backend, infra)", "summary ~ login",
                                     "project = NOPE", "((((", "assignee = currentUser()", ""]) | words,
             "title": st.sampled_from(["Runbooks", "A new page", "", "x" * 300]) | words,
             "expand": st.sampled_from(["transitions", "names", "transitions.fields", "bogus"]),
             "nextPageToken": st.sampled_from(["b2Zmc2V0OjI=", "!!!", "b2Zmc2V0Oi0x"]) | words,
             "cursor": st.sampled_from(["MQ==", "!!", "LTE="]) | words, "query": words | ids}


# Which ids an argument takes, by its name (and tool where names are shared): mostly the right kind of id.
ID_POOLS: dict[str, list[str]] = {
    "issueIdOrKey": ISSUE_REFS, "projectIdOrKey": PROJECT_REFS, "projectId": list(SITE.projects),
    "issueTypeId": TYPES, "accountId": ACCOUNTS, "spaceId": SPACE_IDS, "pageId": PAGE_IDS, "parentId": PAGE_IDS,
    "space_id": SPACE_IDS, "ids": SPACE_IDS, "keys": SPACE_KEYS + [p.key for p in SITE.projects.values()],
    "getSpaceById.id": SPACE_IDS, "id": PAGE_IDS,
}


def id_for(name: str, tool: str) -> st.SearchStrategy[Any]:
    pool = ID_POOLS.get(f"{tool}.{name}") or ID_POOLS.get(name)
    return mostly(pool) if pool else ids


def from_schema(name: str, schema: dict[str, Any], tool: str) -> st.SearchStrategy[Any]:
    """Values for one argument, following its JSON schema (and the request's real shape for objects)."""
    kind = schema.get("type")
    if tool == "addComment" and name == "body" or name == "description":
        return adf
    if name == "body" and tool in ("createPage", "updatePage", "createFooterComment"):
        return page_body
    if tool == "addLabelsToContent" and name == "body":
        return SHAPED["labels_body"]
    if name in SHAPED:
        return SHAPED[name]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "string":
        if name in TEXT_ARGS:
            return TEXT_ARGS[name]
        return id_for(name, tool) if name in ID_POOLS else ids | words
    if kind == "integer":
        if name in ID_POOLS:
            return id_for(name, tool).map(lambda v: int(v) if v.isdigit() else -1)
        return st.integers(-3, 300) | st.sampled_from([0, 1, 2, 5000, 10**12])
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(from_schema(name, schema.get("items", {}), tool), max_size=3)
    return junk


@st.composite
def schema_call(draw: st.DrawFn) -> tuple[str, Any]:
    """A tool call shaped by the tool's schema, sometimes broken on purpose."""
    tool = catalog.tool(draw(spread(list(TOOLS))))
    args: dict[str, Any] = {}
    for a in tool.arguments:
        if a.required or draw(st.booleans()):
            args[a.name] = draw(from_schema(a.name, a.schema, tool.name))
    damage = draw(st.sampled_from(["none"] * 12 + ["wrong_type", "unknown_arg", "drop_required", "as_text"]))
    if damage == "wrong_type" and args:
        args[draw(st.sampled_from(sorted(args)))] = draw(junk)
    elif damage == "unknown_arg":
        args[draw(st.sampled_from(["foo", "issueKey", "page_id", "fields_", ""]))] = draw(junk)
    elif damage == "drop_required":
        for a in tool.arguments:
            if a.required:
                args.pop(a.name, None)
    if damage == "as_text":
        return tool.name, json.dumps(args)
    return tool.name, args


# Moves the generated site allows (each transition from its issue's starting status), and ones it does not.
MOVES = [(i.key, t.id, bool(t.required)) for i in SITE.issues.values()
         for t in SITE.projects[i.project].workflow.transitions
         if (not t.sources or i.status in t.sources) and t.to != i.status]
CREATE_VALUES = {"description": ADF_OK, "priority": {"name": "High"}, "labels": ["fuzz"], "duedate": "2026-02-01"}


@st.composite
def workflow_call(draw: st.DrawFn) -> tuple[str, Any]:
    """Writes that the workflow rules decide: transitions from the right or a wrong status, with or without
    the screen's fields; page versions, current + 1 or stale; issues with and without what create-meta
    requires, sub-tasks with right and wrong parents."""
    kind = draw(spread(["transition", "transition", "page_version", "create", "create"]))
    if kind == "transition":
        if draw(spread([True, True, False])):
            key, tid, needs = draw(spread(MOVES))
        else:
            key, tid, needs = draw(spread(ISSUE_REFS)), draw(spread(TRANSITIONS)), draw(st.booleans())
        args: dict[str, Any] = {"issueIdOrKey": key, "transition": {"id": tid}}
        if needs and draw(spread([True, True, False])):
            args["fields"] = {"resolution": draw(spread([{"name": "Done"}, {"id": "10001"}, {"name": "Nope"}]))}
        return "doTransition", args
    if kind == "page_version":
        return "updatePage", {"id": draw(spread(PAGE_IDS)), "status": "current", "title": draw(words),
                              "body": {"representation": "storage", "value": "<p>v</p>"},
                              "version": {"number": draw(spread([2, 2, 2, 1, 3, 0]))},
                              **({"parentId": draw(spread(PAGE_IDS))} if draw(st.booleans()) else {})}
    project = draw(spread(list(SITE.projects.values())))
    type_id = draw(spread(project.issue_types + ["10003"]))
    f: dict[str, Any] = {"project": {"key": project.key}, "issuetype": {"id": type_id}, "summary": "Fuzzed"}
    for field in project.screens.get(type_id, []):
        if field.id in CREATE_VALUES and (field.required or draw(st.booleans())):
            f[field.id] = CREATE_VALUES[field.id]
    if type_id == "10005" or draw(spread([False, False, True])):
        f["parent"] = {"key": draw(spread(ISSUE_REFS))}
    if draw(spread([False, False, False, True])):  # one required field forgotten
        f.pop(draw(spread(sorted(f))))
    return "createIssue", {"fields": f}


BIG = "x" * (5 * 1024 * 1024 + 1024)  # just over the 5 MB request limit
BIG_TEXT = json.dumps({"issueIdOrKey": "x" * (6 * 1024 * 1024)})  # 6 MB of arguments, as a model would send them
LARGE = "y" * 40_000  # under the limit, but over every field's (a comment's text: 32,767 characters)
garbage_call = st.one_of(
    st.tuples(st.sampled_from(["deleteIssue", "", "getissue", "create_issue", "x" * 5000, "jira.getIssue",
                               "getIssue ", "__init__"]), junk),
    st.tuples(spread(list(TOOLS)), st.sampled_from(['{"issueIdOrKey": "OPS-1"', "{", "[1, 2", "nul",
                                                       '{"a": 1}}', "'single'", "\x00", '{"id": NaN}',
                                                       "{" * 5000 + "}" * 5000, "[" * 100_000])),
    st.tuples(spread(list(TOOLS)), st.sampled_from(["[]", "null", "42", '"text"', "true", "", "   "])),
    st.tuples(spread(list(TOOLS)), junk),
    st.tuples(spread(list(TOOLS)), st.sampled_from([
        {"issueIdOrKey": BIG}, BIG_TEXT, BIG,
        {"issueIdOrKey": "OPS-1", "body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": LARGE}]}]}},
        {"fields": {"summary": LARGE}}, {"spaceId": SPACE_IDS[0], "title": LARGE},
        {"jql": "project = OPS AND " * 2000 + "project = OPS"}, {"jql": "(" * 5000},
        {"issueIdOrKey": "OPS-1", "fields": {"labels": [LARGE]}},
        {"id": PAGE_IDS[1], "body": [{"prefix": "global", "name": LARGE}]},
        {"id": PAGE_IDS[1], "body": [{"prefix": "global", "name": f"l{n}"} for n in range(600)]},
        {"issueIdOrKey": "OPS-1", "body": nested(80)},
    ])),
)

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "get"]
PATHS = ["/rest/api/3/issue/{i}", "/rest/api/3/issue/{i}/transitions", "/rest/api/3/issue/{i}/comment",
         "/rest/api/3/issue/{i}/assignee", "/rest/api/3/issue", "/rest/api/3/search/jql", "/rest/api/3/project/{i}",
         "/rest/api/3/project/search", "/rest/api/3/issuetype/project", "/rest/api/3/user/search",
         "/rest/api/3/issue/createmeta/{i}/issuetypes", "/rest/api/3/issue/createmeta/{i}/issuetypes/{i}",
         "/wiki/api/v2/pages", "/wiki/api/v2/pages/{i}", "/wiki/api/v2/pages/{i}/labels",
         "/wiki/api/v2/pages/{i}/direct-children", "/wiki/api/v2/pages/{i}/footer-comments",
         "/wiki/api/v2/spaces", "/wiki/api/v2/spaces/{i}", "/wiki/api/v2/footer-comments",
         "/wiki/rest/api/content/{i}/label", "/", "/rest/api/2/issue/{i}", "/wiki/api/v2/nothing", "//",
         "/rest/api/3/issue/{i}/", "/wiki/api/v2/pages?limit=1"]
QUERY_NAMES = ["maxResults", "startAt", "jql", "fields", "expand", "limit", "cursor", "space-id", "title", "status",
               "body-format", "keys", "ids", "projectId", "query", "accountId", "orderBy", "returnIssue",
               "include-labels", "nextPageToken", "root-level", "bogus"]
QUERY_VALUES = st.sampled_from(["2", "-1", "0", "abc", "1.5", "true", "x,y", "", "300", "99999999999999999999",
                                "current", "storage", "project = OPS", "summary,status", "*all", "MQ=="]) | ids
http_call = st.tuples(
    st.sampled_from(METHODS),
    st.builds(lambda template, i: template.replace("{i}", i), st.sampled_from(PATHS), ids),
    st.dictionaries(st.sampled_from(QUERY_NAMES), QUERY_VALUES | st.lists(QUERY_VALUES, max_size=2), max_size=4),
    st.one_of(st.none(), junk, st.builds(lambda v: ("raw", v), st.sampled_from(
        ["{", "", "[]", '{"fields": {}}', "not json", '{"spaceId": "65001", "title": "Raw"}']))),
)

one_call = st.one_of(
    *[schema_call().map(lambda c: ("call", *c))] * 4,
    *[workflow_call().map(lambda c: ("call", *c))] * 2,
    garbage_call.map(lambda c: ("call", *c)),
    http_call.map(lambda c: ("request", *c)),
)


# -- the checks -------------------------------------------------------------------------------------------
def assert_error_shape(document: str, status: int, body: Any) -> None:
    """An error body in the envelope of its API family."""
    if document == "jira-v3":
        assert isinstance(body, dict) and set(body) <= {"errorMessages", "errors", "status"}, body
        assert isinstance(body["errorMessages"], list) and all(isinstance(m, str) for m in body["errorMessages"])
        assert isinstance(body["errors"], dict) and all(isinstance(k, str) and isinstance(v, str)
                                                        for k, v in body["errors"].items())
        assert body["errorMessages"] or body["errors"], "a Jira error must say what is wrong"
    elif document == "confluence-v2":
        assert isinstance(body, dict) and list(body) == ["errors"], body
        assert isinstance(body["errors"], list) and body["errors"]
        for e in body["errors"]:
            assert e["status"] == status and isinstance(e["code"], str) and isinstance(e["title"], str)
            assert e["detail"] is None or isinstance(e["detail"], str)
    else:
        assert document == "confluence-v1"
        assert isinstance(body, dict) and body["statusCode"] == status and isinstance(body["message"], str), body


GENERIC = {400, 404, 413}  # bad input, an unknown id, an oversized request: possible on every operation


def assert_status(operation: str | None, status: int) -> None:
    assert status < 500, f"{operation}: server error {status}"
    if operation is None:
        assert status in (400, 404, 405, 413)
        return
    declared = {int(code) for code in spec().operations[operation].responses if code.isdigit()}
    extra = {409} if operation == "updatePage" else set()  # a stale version: the real service's 409
    assert status in declared | GENERIC | extra, f"{operation} answered {status}, declared {sorted(declared)}"


def run_one(world: World, call: tuple[Any, ...], stats: Counter[str]) -> tuple[int, bool]:
    """Send one call; check the answer. Returns (status, whether it may have changed the site)."""
    if call[0] == "call":
        _, name, arguments = call
        result = world.call(name, arguments, call_id="fuzz")
        status, body, operation = result.status, result.body, result.operation
        document = spec().operations[operation].document if operation else "jira-v3"
        assert json.loads(result.content)["status"] == status
        assert result.error in (None, "unknown_tool", "invalid_json", "invalid_arguments")
        if result.error is not None:
            assert status >= 400 and (result.error == "unknown_tool") == (operation is None)
        write = result.write
    else:
        _, method, path, query, body_in = call
        if isinstance(body_in, tuple):
            response = world.request(method, path, query, raw_body=body_in[1])
        else:
            response = world.request(method, path, query, body_in)
        status, body = response.status, response.body
        operation = world.log[-1]["operation"]
        document = document_of(path)
        write = operation is not None and spec().operations[operation].write
        if status == 201 and operation == "createFooterComment":
            assert response.headers["location"].endswith(f"/wiki/api/v2/footer-comments/{body['id']}")
    assert_status(operation, status)
    if status >= 400:
        assert_error_shape(document, status, body)
    stats["calls"] += 1
    stats[f"{status // 100}xx"] += 1
    return status, write and status < 400


def test_fuzz_simulator_survives_hostile_calls() -> None:
    stats: Counter[str] = Counter()

    @settings(max_examples=BATCHES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.lists(one_call, min_size=CALLS_PER_BATCH, max_size=CALLS_PER_BATCH))
    def batch(calls: list[tuple[Any, ...]]) -> None:
        world = World(SITE)
        replay = World(SITE)
        state = pickle.dumps(world.site)
        for call in calls:
            status, changed = run_one(world, call, stats)
            after = pickle.dumps(world.site)
            if not changed and after != state:
                before = pickle.loads(state).snapshot()
                raise AssertionError(f"{call[:2]} answered {status} but changed the site: "
                                     f"{diff(before, world.snapshot())}")
            if changed:
                stats["accepted writes"] += 1
                replay_status, _ = run_one(replay, call, Counter())
                assert replay_status == status, "the same call on the same state must answer the same"
            state = after
        # Only the accepted writes changed anything: replaying them alone gives the very same site.
        assert world.snapshot() == replay.snapshot()

    batch()
    assert stats["calls"] >= BATCHES * CALLS_PER_BATCH >= 10_000, stats
    # The mix really exercises both sides: plenty of accepted writes and plenty of rejections.
    assert stats["accepted writes"] >= 500 and stats["4xx"] >= 3000 and stats["2xx"] >= 800, stats


# -- a systematic sweep: every tool, every argument, every kind of bad value ------------------------------------
def valid_calls() -> dict[str, dict[str, Any]]:
    """One accepted call per tool on SITE, built from the site's own ids."""
    issue = next(iter(SITE.issues.values()))
    project = SITE.projects[issue.project]
    transition = jira_available(issue)[0]
    space = next(iter(SITE.spaces.values()))
    page = next(p for p in SITE.pages.values() if p.parent == space.homepage)
    plain = next(t for t in project.issue_types if not SITE.issue_types[t].subtask)
    fields = {"project": {"key": project.key}, "issuetype": {"id": plain}, "summary": "Swept",
              **{f.id: {"description": ADF_OK, "priority": {"name": "High"}, "labels": ["x"],
                        "duedate": "2026-02-01"}[f.id]
                 for f in project.screens[plain] if f.required and f.id not in ("project", "issuetype", "summary")}}
    return {
        "createIssue": {"fields": fields},
        "getIssue": {"issueIdOrKey": issue.key, "fields": ["summary"], "expand": "names"},
        "editIssue": {"issueIdOrKey": issue.key, "fields": {"summary": "Edited"}, "update": {"labels": [{"add": "e"}]}},
        "searchAndReconsileIssuesUsingJql": {"jql": f"project = {project.key}", "fields": ["summary"], "maxResults": 2},
        "searchAndReconsileIssuesUsingJqlPost": {"jql": f"project = {project.key}", "maxResults": 2},
        "getTransitions": {"issueIdOrKey": issue.key, "expand": "transitions.fields"},
        "doTransition": {"issueIdOrKey": issue.key, "transition": {"id": transition.id},
                         **({"fields": {"resolution": {"name": "Done"}}} if transition.required else {})},
        "getComments": {"issueIdOrKey": issue.key, "maxResults": 5, "orderBy": "-created"},
        "addComment": {"issueIdOrKey": issue.key, "body": ADF_OK},
        "getProject": {"projectIdOrKey": project.key},
        "searchProjects": {"query": project.key, "maxResults": 5},
        "getIssueTypesForProject": {"projectId": int(project.id)},
        "getCreateIssueMetaIssueTypes": {"projectIdOrKey": project.key},
        "getCreateIssueMetaIssueTypeId": {"projectIdOrKey": project.key, "issueTypeId": plain},
        "assignIssue": {"issueIdOrKey": issue.key, "accountId": ACCOUNTS[1]},
        "findUsers": {"query": "a", "maxResults": 3},
        "createPage": {"spaceId": space.id, "title": "Swept page", "parentId": page.id,
                       "body": {"representation": "storage", "value": "<p>x</p>"}},
        "getPages": {"space_id": [int(space.id)], "status": ["current"], "body_format": "storage", "limit": 3},
        "getPageById": {"id": page.id, "body_format": "storage", "include_labels": True},
        "updatePage": {"id": page.id, "status": "current", "title": "Swept title", "version": {"number": 2},
                       "body": {"representation": "storage", "value": "<p>y</p>"}},
        "getSpaces": {"keys": [space.key], "limit": 3},
        "getSpaceById": {"id": space.id},
        "getPageDirectChildren": {"id": space.homepage, "limit": 3},
        "getPageLabels": {"id": page.id},
        "getPageFooterComments": {"id": page.id, "body_format": "storage"},
        "createFooterComment": {"pageId": page.id, "body": {"representation": "storage", "value": "<p>c</p>"}},
        "addLabelsToContent": {"id": page.id, "body": [{"prefix": "global", "name": "swept"}]},
    }


def jira_available(issue: Any) -> list[Any]:
    from scenarios.atlassian.jira import available

    return available(SITE, issue)


BAD_VALUES: list[Any] = [*BOGUS, None, True, -1, 0, 10**30, 1.5, [], [None], {}, {"id": None}, "x" * 70_000,
                         {"type": "doc"}, [[[]]], "<p>", "' OR 1=1 --"]


def test_every_tool_survives_every_bad_value_in_every_argument() -> None:
    valid = valid_calls()
    assert sorted(valid) == sorted(TOOLS)
    stats: Counter[str] = Counter()
    state = pickle.dumps(World(SITE).site)
    for name, good in valid.items():
        world = World(SITE)
        status, changed = run_one(world, ("call", name, good), stats)
        assert 200 <= status < 300, (name, world.call(name, good).body if status >= 400 else status)
        for argument in catalog.tool(name).names:
            variants = [{k: v for k, v in good.items() if k != argument}]
            variants += [{**good, argument: bad} for bad in BAD_VALUES]
            for args in variants:
                if changed:  # start again from the generated site; unchanged worlds are reused
                    world = World(SITE)
                status, changed = run_one(world, ("call", name, args), stats)
                if not changed:
                    assert pickle.dumps(world.site) == state, (name, argument, args)
    assert stats["calls"] > 2000 and stats["4xx"] > 1500, stats
