"""Seeded worlds, snapshots and diffs, response conformance, and the ADF validator's speed-up.

Same seed, same site, byte for byte: within a process, across processes (with different hash seeds), and
after the same calls. Different seeds give different sites.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from scenarios.atlassian.documents import MAX_DEPTH, adf_errors, too_deep
from scenarios.atlassian.generate import generate
from scenarios.atlassian.http import Response
from scenarios.atlassian.openapi import route, spec
from scenarios.atlassian.world import ConformanceError, World

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1, 7, 2026]
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}]}


def fingerprint(seed: int) -> str:
    return hashlib.sha256(json.dumps(generate(seed).snapshot()).encode()).hexdigest()


# -- determinism ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_same_seed_same_site_byte_for_byte(seed: int) -> None:
    first, second = json.dumps(generate(seed).snapshot()), json.dumps(generate(seed).snapshot())
    assert first == second
    assert json.dumps(World(seed).snapshot()) == first


def test_same_seed_same_site_in_a_fresh_process_with_another_hash_seed() -> None:
    code = ("import hashlib, json, sys; from scenarios.atlassian.generate import generate; "
            "print(' '.join(hashlib.sha256(json.dumps(generate(int(s)).snapshot()).encode()).hexdigest() "
            "for s in sys.argv[1:]))")
    for hash_seed in ("1", "4242"):
        out = subprocess.run([sys.executable, "-c", code, *map(str, SEEDS)], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed}, timeout=120, check=True)
        assert out.stdout.split() == [fingerprint(s) for s in SEEDS]


def test_different_seeds_give_different_sites() -> None:
    prints = {fingerprint(s) for s in range(20)}
    assert len(prints) == 20
    a, b = generate(0), generate(1)
    assert [u.account_id for u in a.users.values()] != [u.account_id for u in b.users.values()]
    assert {p.key for p in a.projects.values()} != {p.key for p in b.projects.values()} or \
        [i.summary for i in a.issues.values()] != [i.summary for i in b.issues.values()]


def test_path_templates_route_by_placeholder_whatever_its_name() -> None:
    pattern, names = route("/wiki/api/v2/pages/{page-id}/properties/{property-id}")  # Confluence v2's spelling
    assert names == ("page-id", "property-id")
    assert pattern.match("/wiki/api/v2/pages/12/properties/7").groups() == ("12", "7")
    assert pattern.match("/wiki/api/v2/pages/12/properties") is None
    assert pattern.match("/wiki/api/v2/pages/1/2/properties/7") is None  # a placeholder never spans a "/"
    for op in spec().operations.values():  # every served path routes to an operation of its template
        path = op.path
        for i, name in enumerate(op.placeholders):
            path = path.replace("{" + name + "}", f"v{i}", 1)
        found, params, known = spec().match(op.method, path)
        assert known and found is not None and found.path.count("/") == op.path.count("/"), op.id
        assert params == {n: f"v{i}" for i, n in enumerate(found.placeholders)} or found.path != op.path, op.id


def test_same_calls_same_answers_and_same_state() -> None:
    def run(world: World) -> list[tuple[int, str]]:
        project = next(iter(world.site.projects.values()))
        space = next(iter(world.site.spaces.values()))
        out = []
        for name, args in [
            ("createIssue", {"fields": {"project": {"key": project.key}, "issuetype": {"name": "Bug"},
                                        "summary": "Same", "priority": {"name": "High"}, "description": ADF}}),
            ("addComment", {"issueIdOrKey": f"{project.key}-1", "body": ADF}),
            ("createPage", {"spaceId": space.id, "title": "Same page",
                            "body": {"representation": "storage", "value": "<p>x</p>"}}),
            ("searchAndReconsileIssuesUsingJql", {"jql": f"project = {project.key}", "fields": ["summary"]}),
            ("getIssue", {"issueIdOrKey": "NOPE-1"}),
        ]:
            r = world.call(name, args)
            out.append((r.status, r.content))
        return out

    a, b = World(5), World(5)
    assert run(a) == run(b)
    assert json.dumps(a.snapshot()) == json.dumps(b.snapshot())
    assert a.state_diff() == b.state_diff() and a.state_diff()


def test_worlds_from_one_site_are_independent() -> None:
    site = generate(3)
    before = json.dumps(site.snapshot())
    a, b = World(site), World(site)
    issue = next(iter(a.site.issues.values()))
    assert a.call("editIssue", {"issueIdOrKey": issue.key, "fields": {"summary": "Only in a"}}).status == 204
    assert b.site.issue(issue.key).summary != "Only in a"
    assert json.dumps(site.snapshot()) == before and b.state_diff() == {}


# -- snapshot and diff ---------------------------------------------------------------------------------------
def test_reads_leave_no_diff_and_writes_show_up_in_it() -> None:
    world = World(2)
    issue = next(iter(world.site.issues.values()))
    for name, args in [("getIssue", {"issueIdOrKey": issue.key}), ("getComments", {"issueIdOrKey": issue.key}),
                       ("getSpaces", {}), ("getPages", {"limit": 5}), ("findUsers", {"query": "a"})]:
        assert world.call(name, args).status == 200
    assert world.state_diff() == {}
    world.call("editIssue", {"issueIdOrKey": issue.key, "update": {"labels": [{"add": "zzz-new"}]}})
    diff = world.state_diff()
    assert diff == {f"issues/{issue.key}/labels": {"before": issue.labels, "after": sorted([*issue.labels,
                                                                                            "zzz-new"])}}
    assert "updated" not in json.dumps(diff)  # timestamps are volatile: left out of diffs


def test_snapshot_is_plain_json_keyed_by_issue_key() -> None:
    snap = World(4).snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert all(key == issue["key"] for key, issue in snap["issues"].items())
    assert {"users", "projects", "issues", "spaces", "pages", "labels"} <= set(snap)


# -- conformance checking is real ----------------------------------------------------------------------------
def test_responses_are_checked_against_the_spec_in_this_test_run() -> None:
    assert World.check_responses is True  # tests/conftest.py
    world = World(1)
    op = spec().operations["getProject"]
    world._conform(op, Response(200, world.call("getProject", {"projectIdOrKey": next(
        iter(world.site.projects.values())).key}).body))
    with pytest.raises(ConformanceError, match="getProject 200 breaks the spec"):
        world._conform(op, Response(200, {"id": 10000, "key": "X"}))  # an id must be a string
    with pytest.raises(ConformanceError):
        world._conform(spec().operations["createIssue"], Response(400, {"errorMessages": "x", "errors": {}}))


# -- ADF validation: the discriminated validator agrees with the plain one, without its blow-up ----------------
def nested(levels: int, text: str = "deep") -> dict:
    node: dict = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    for _ in range(levels):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    return {"type": "doc", "version": 1, "content": [node]}


DOCS = [
    ADF, nested(1), nested(2), nested(1, ""),
    {"type": "doc", "version": 1, "content": []},
    {"type": "doc", "content": []},
    {"type": "doc", "version": 1, "content": [{"type": "heading", "attrs": {"level": 2}, "content": [
        {"type": "text", "text": "Title", "marks": [{"type": "strong"}, {"type": "link", "attrs": {"href": "x"}}]}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "heading", "content": [{"type": "text", "text": "x"}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "listItem", "content": [{"type": "text", "text": "x"}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "codeBlock", "content": [{"type": "text", "text": "x = 1"}]},
                                              {"type": "rule"}]},
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "mention", "attrs": {"id": "abc"}}, {"type": "hardBreak"}, {"type": "emoji"}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "panel", "attrs": {"panelType": "info"}, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "note"}]}]}]},
    {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": 7}]}]},
    {"type": "doc", "version": 1, "content": [{"type": ["paragraph"]}]},
    "text", None, [],
]


@pytest.mark.parametrize("doc", DOCS, ids=range(len(DOCS)))
def test_adf_validator_gives_the_plain_validators_verdict(doc: object) -> None:
    plain = Draft4Validator(spec().adf.schema, registry=spec().registry)
    assert spec().adf.is_valid(doc) == plain.is_valid(doc)
    assert (adf_errors(doc) is None) == plain.is_valid(doc)


def test_adf_validation_stays_fast_and_bounded_on_deep_documents() -> None:
    assert adf_errors(nested(12)) is None
    assert adf_errors(nested(12, "")) is not None  # the plain validator takes minutes on this one
    assert too_deep(nested(40)) and not too_deep(nested(5))
    assert f"nested more than {MAX_DEPTH} levels" in adf_errors(nested(40))
