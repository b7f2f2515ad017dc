"""Tool calls per second through `World.call` on one core, and where the time goes.

A fixed mix, as a model produces it (arguments as JSON text): reads (get issue, JQL search, transitions,
comments, users, pages, spaces), ADF-bearing writes (createIssue with an ADF description, addComment,
createPage in ADF) and rejected calls (unknown tool, unparsable JSON, a schema violation, an unknown issue,
invalid ADF, a transition the workflow does not allow, a stale page version). Every call is validated as
in evaluation and training: tool arguments, request bodies and ADF documents against the official schemas.

A fresh world is built for every round of the mix (an episode); its cost is reported apart. The split is
measured with time.perf_counter around the parts, in a second, instrumented run:

- args: validation of the tool arguments (`Tool.argument_error`: an exact compiled check, and jsonschema for
  the message when it fails);
- body: validation of the request body against the operation's schema (the compiled check, and jsonschema
  for the message when it fails);
- adf: ADF validation of documents (`adf_errors`, called by the handlers; verdicts are remembered by the
  document's JSON text, so the fixed mix validates each of its documents once, and the run with new
  documents shows the cost of validating every one);
- handler: the handlers themselves, without the ADF validation inside them;
- rest: JSON parsing, routing, query coercion, rendering the result and recording it.

Run: `python -m bench simulator` (or `python -m bench.simulator`).
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from scenarios.atlassian import catalog, confluence, jira, world
from scenarios.atlassian.generate import generate
from scenarios.atlassian.openapi import Spec
from scenarios.atlassian.site import Site
from scenarios.atlassian.world import World

SEED = 11
TARGET = 10_000  # calls/s
ROUNDS = 200
REPEATS = 5


def adf(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text, "marks": [{"type": "strong"}]}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "step one"}]}]}]}]}


def mix(site: Site) -> list[tuple[str, str, str]]:
    """(kind, tool, arguments as JSON text) for one round, built from the site's own ids."""
    issue = next(iter(site.issues.values()))
    project = site.projects[issue.project]
    task_type = next(t for t in project.issue_types if not site.issue_types[t].subtask)
    required = {f.id for f in project.screens[task_type] if f.required}
    fields: dict[str, Any] = {"project": {"key": project.key}, "issuetype": {"id": task_type},
                              "summary": "Checkout fails for EU cards", "description": adf("Seen in production.")}
    if "priority" in required:
        fields["priority"] = {"name": "High"}
    blocked = next(t for t in project.workflow.transitions if t not in jira.available(site, issue))
    space = next(iter(site.spaces.values()))
    page = next(p for p in site.pages.values() if p.parent == space.homepage)
    calls: list[tuple[str, str, dict[str, Any] | str]] = [
        ("read", "getIssue", {"issueIdOrKey": issue.key}),
        ("read", "getIssue", {"issueIdOrKey": issue.key, "fields": ["summary", "status", "labels"]}),
        ("read", "searchAndReconsileIssuesUsingJql", {"jql": f"project = {project.key} AND labels IS EMPTY",
                                                      "fields": ["summary", "status"], "maxResults": 5}),
        ("read", "getTransitions", {"issueIdOrKey": issue.key}),
        ("read", "getComments", {"issueIdOrKey": issue.key}),
        ("read", "findUsers", {"query": "a"}),
        ("read", "getCreateIssueMetaIssueTypeId", {"projectIdOrKey": project.key, "issueTypeId": task_type}),
        ("read", "getSpaces", {"keys": [space.key]}),
        ("read", "getPages", {"space_id": [int(space.id)], "title": page.title, "body_format": "storage"}),
        ("read", "getPageById", {"id": page.id, "body_format": "storage"}),
        ("write", "createIssue", {"fields": fields}),
        ("write", "addComment", {"issueIdOrKey": issue.key, "body": adf("Reproduced on staging.")}),
        ("write", "editIssue", {"issueIdOrKey": issue.key, "update": {"labels": [{"add": "triaged"}]}}),
        ("write", "createPage", {"spaceId": space.id, "title": "Postmortem {n}", "body": {
            "representation": "atlas_doc_format", "value": json.dumps(adf("Timeline."))}}),
        ("rejected", "deleteIssue", {"issueIdOrKey": issue.key}),
        ("rejected", "getIssue", '{"issueIdOrKey": "' + issue.key),
        ("rejected", "createIssue", {"fields": fields, "assignee": "me"}),
        ("rejected", "getIssue", {"issueIdOrKey": f"{project.key}-9999"}),
        ("rejected", "addComment", {"issueIdOrKey": issue.key, "body": {"type": "doc", "content": []}}),
        ("rejected", "doTransition", {"issueIdOrKey": issue.key, "transition": {"id": blocked.id}}),
        ("rejected", "updatePage", {"id": page.id, "status": "current", "title": page.title, "version": {
            "number": 1}, "body": {"representation": "storage", "value": "<p>stale</p>"}}),
    ]
    return [(kind, name, args if isinstance(args, str) else json.dumps(args)) for kind, name, args in calls]


def one_core() -> tuple[str, set[int] | None]:
    """Pin this process to one CPU where the platform allows it: (where, the CPUs to give back after)."""
    if hasattr(os, "sched_setaffinity"):
        before = os.sched_getaffinity(0)
        cpu = min(before)
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}", before
    return "not pinned (no sched_setaffinity here)", None


def run(site: Site, rounds: int, distinct: bool = False) -> tuple[float, float, int, Counter[str]]:
    """(seconds in World.call, seconds building worlds, calls, statuses by kind). `distinct`: every ADF
    document differs from all before it, so no validation verdict is reused."""
    calls = mix(site)
    in_calls = in_worlds = 0.0
    count = 0
    seen: Counter[str] = Counter()
    for n in range(rounds):
        started = time.perf_counter()
        w = World(site)
        in_worlds += time.perf_counter() - started
        batch = [(kind, name, arguments.replace("{n}", str(n)).replace(
            "step one", f"step {n}-{next(UNIQUE)}" if distinct else "step one")) for kind, name, arguments in calls]
        started = time.perf_counter()
        for kind, name, arguments in batch:
            result = w.call(name, arguments)
            seen[f"{kind} {result.status // 100}xx"] += 1
        in_calls += time.perf_counter() - started
        count += len(calls)
    return in_calls, in_worlds, count, seen


UNIQUE = itertools.count()


def rates(site: Site, repeats: int) -> dict[str, Any]:
    """Runs of the fixed mix and of the mix with new documents, interleaved so that both meet the same
    disturbance from other work on this shared machine; the best run of each is the least disturbed."""
    fixed, fresh, worlds = [], [], []
    seen: Counter[str] = Counter()
    for _ in range(repeats):
        in_calls, in_worlds, count, seen = run(site, ROUNDS)
        fixed.append(count / in_calls)
        worlds.append(in_worlds / ROUNDS)
        in_calls, _, count, _ = run(site, ROUNDS, distinct=True)
        fresh.append(count / in_calls)
    return {"best": max(fixed), "median": statistics.median(fixed), "fresh best": max(fresh),
            "fresh median": statistics.median(fresh), "world": min(worlds), "seen": seen}


class Split:
    """Wraps the parts of a call with perf_counter timers."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)
        spent = self.spent

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - started

        setattr(owner, name, timed)
        self.undo.append(lambda: setattr(owner, name, original))

    def __enter__(self) -> Split:
        self.wrap(catalog.Tool, "argument_error", "args")
        self.wrap(world, "best_match", "body")  # jsonschema's account of a rejected body (World._dispatch)
        body_check = Spec.body_check  # the compiled verdict on every body
        spent = self.spent

        def timed_body_check(spec_: Spec, op: Any) -> Any:
            check = body_check(spec_, op)
            if check is None:
                return None

            def timed(body: Any) -> bool:
                started = time.perf_counter()
                try:
                    return check(body)
                finally:
                    spent["body"] += time.perf_counter() - started
            return timed

        Spec.body_check = timed_body_check  # type: ignore[method-assign]
        self.undo.append(lambda: setattr(Spec, "body_check", body_check))
        self.wrap(jira, "adf_errors", "adf")
        self.wrap(confluence, "adf_errors", "adf")
        for op in list(world.HANDLERS):
            handler = world.HANDLERS[op]
            world.HANDLERS[op] = self._timed_handler(handler)
            self.undo.append(lambda op=op, handler=handler: world.HANDLERS.__setitem__(op, handler))
        return self

    def _timed_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        spent = self.spent

        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(*args)
            finally:
                spent["handler"] += time.perf_counter() - started

        return timed

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self.undo):
            undo()


def main() -> None:
    where, before = one_core()
    try:
        measure(where)
    finally:  # `python -m bench` runs the other benchmarks in this process: give their CPUs back
        if before is not None:
            os.sched_setaffinity(0, before)


def measure(where: str) -> None:
    site = generate(SEED)
    assert not World.check_responses, "response conformance checks are for tests, not for the bench"
    run(site, 20)  # warm up: compiled validators, caches
    r = rates(site, REPEATS)
    per_world = len(mix(site))
    kinds = Counter(kind for kind, _, _ in mix(site))
    print(f"simulator: {r['best']:,.0f} tool calls/s through World.call on one core ({where}), best of {REPEATS} "
          f"runs (median {r['median']:,.0f}); target {TARGET:,}: {'met' if r['best'] >= TARGET else 'NOT met'}")
    print(f"  mix per round: {kinds['read']} reads, {kinds['write']} writes (3 with ADF documents), "
          f"{kinds['rejected']} rejected calls; {ROUNDS} rounds per run; statuses {dict(sorted(r['seen'].items()))}")
    print(f"  with every ADF document new (no remembered verdict): {r['fresh best']:,.0f} calls/s "
          f"(median {r['fresh median']:,.0f}); ratio to the fixed mix {r['fresh best'] / r['best']:.2f}")
    print(f"  a fresh world per round: {r['world'] * 1e3:.2f} ms ({per_world} calls per world: "
          f"{per_world / (per_world / r['best'] + r['world']):,.0f} calls/s counting its creation)")
    with Split() as split:
        instrumented, _, count, _ = run(site, ROUNDS)
    spent = split.spent
    handler_only = spent["handler"] - spent["adf"]
    rest = instrumented - spent["args"] - spent["body"] - spent["adf"] - handler_only
    parts = {"args validation": spent["args"], "body validation": spent["body"], "ADF validation": spent["adf"],
             "handler": handler_only, "rest": rest}
    print(f"  split (one instrumented run, {count / instrumented:,.0f} calls/s with the timers): " + ", ".join(
        f"{name} {seconds / instrumented:.0%} ({seconds / count * 1e6:.1f} us/call)"
        for name, seconds in parts.items()))
    validation = spent["args"] + spent["body"] + spent["adf"]
    print(f"  validation {validation / instrumented:.0%} in all, handlers {handler_only / instrumented:.0%}, "
          f"the rest {rest / instrumented:.0%}; a call costs {instrumented / handler_only:.1f}x its handler alone")


if __name__ == "__main__":
    main()
