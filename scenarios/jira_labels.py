"""jira_labels: add and remove labels on one or several issues without clobbering the labels they have.

Tiers: easy — add one label to one issue; medium — add two and remove one on one issue; hard — find every
issue of a project carrying a label (JQL), add one label to each and remove another.

The trap is Jira's two ways to write labels: `update.labels` operations (`add`/`remove`) change the list in
place, while `fields.labels` replaces it, dropping the labels the issue had unless they were read first.

Checks (weight, group) — what each verifies and why:
- labels_as_requested (5, outcome): every target issue ends with exactly the expected labels; the result
  is what the user asked for, however it was written.
- only_targets_changed (1, outcome): something changed, and only the targets' labels: no collateral edits.
- edits_name_requested_labels (2, arguments): the edit calls add only requested labels, remove only
  requested ones, and a `fields.labels` replacement carries the whole expected list.
- read_before_replace (1, process): an issue whose labels were replaced was read first (its labels known).
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.generate import LABELS
from .atlassian.site import Site
from .base import AtlassianScenario, args, calls_to, made_calls, no_duplicate_write, no_invalid_call

EXTRA = ["triaged", "release-blocker", "docs", "hotfix", "sprint-42", "on-hold", "api", "design-review"]


def _target_labels(trace: Trace, task: Task) -> dict[str, list[str]]:
    return {k: trace.final_state.get("issues", {}).get(k, {}).get("labels") for k in task.data["expected"]}


@check("outcome", weight=5)
def labels_as_requested(trace: Trace, task: Task) -> None:
    labels = _target_labels(trace, task)
    assert labels == task.data["expected"], f"labels are {labels}, expected {task.data['expected']}"


@check("outcome", weight=1)
def only_targets_changed(trace: Trace, task: Task) -> None:
    changed = sorted(trace.state_diff)
    allowed = {f"issues/{k}/labels" for k in task.data["expected"]}
    assert changed, "nothing changed on the site"
    assert set(changed) <= allowed, f"unexpected changes: {sorted(set(changed) - allowed)}"


@check("arguments", weight=2)
def edits_name_requested_labels(trace: Trace, task: Task) -> None:
    edits = calls_to(trace, "editIssue")
    assert edits, "no editIssue call"
    add, remove = set(task.data["add"]), set(task.data["remove"])
    touched = [c for c, _ in edits if task.data["ids"].get(str(args(c).get("issueIdOrKey")),
                                                           str(args(c).get("issueIdOrKey", "")).upper())
               in task.data["expected"] and ("labels" in (args(c).get("fields") or {}) or
                                             "labels" in (args(c).get("update") or {}))]
    assert touched, "no editIssue call writes the labels of a target issue"
    for call, _ in edits:
        a = args(call)
        raw = str(a.get("issueIdOrKey", ""))
        key = task.data["ids"].get(raw, raw.upper())
        ops = ((a.get("update") or {}).get("labels") or []) if isinstance(a.get("update"), dict) else []
        for op in ops if isinstance(ops, list) else []:
            verb, value = next(iter(op.items())) if isinstance(op, dict) and op else (None, None)
            assert verb in ("add", "remove", "set"), f"unknown label operation {op!r}"
            if verb == "add":
                assert value in add, f"added label {value!r} was not requested"
            elif verb == "remove":
                assert value in remove, f"removed label {value!r} was not requested"
            else:
                assert sorted(value or []) == task.data["expected"].get(key), f"set {value!r} on {key}"
        fields = a.get("fields") if isinstance(a.get("fields"), dict) else {}
        if "labels" in fields:
            expected = task.data["expected"].get(key)
            assert sorted(fields["labels"] or []) == expected, f"fields.labels on {key} replaces the labels " \
                                                               f"with {fields['labels']!r}, expected {expected!r}"


@check("process", weight=1)
def read_before_replace(trace: Trace, task: Task) -> None:
    made_calls(trace)
    assert calls_to(trace, "editIssue", ok=True), "no successful editIssue call"
    seen: set[str] = set()
    for call, result in trace.calls:
        if result.ok and result.operation in ("getIssue", "searchAndReconsileIssuesUsingJql"):
            issues = result.body.get("issues", [result.body]) if isinstance(result.body, dict) else []
            seen |= {str(i.get(k)) for i in issues for k in ("key", "id") if "labels" in i.get("fields", {})}
        if result.operation == "editIssue" and "labels" in (args(call).get("fields") or {}):
            target = str(args(call).get("issueIdOrKey", ""))
            assert target in seen or target.upper() in seen, f"replaced the labels of {target} without reading them"


CHECKS = (labels_as_requested, only_targets_changed, edits_name_requested_labels, read_before_replace,
          no_invalid_call,
          no_duplicate_write)


class JiraLabels(AtlassianScenario):
    name = "jira_labels"
    tool_names = ("searchAndReconsileIssuesUsingJql", "getIssue", "editIssue")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, dict[str, Any]]:
        project = rng.choice(list(site.projects.values()))
        issues = [i for i in site.issues.values() if i.project == project.id]
        new = rng.sample([x for x in EXTRA], 2)
        if tier == "hard":
            marker = rng.choice(LABELS)
            targets = rng.sample(issues, rng.randrange(2, 4))
            for i in issues:
                i.labels = [x for x in i.labels if x != marker]
            drop = rng.choice([x for x in LABELS if x != marker])
            for i in targets:
                i.labels = sorted({marker, drop, *i.labels[:1]})
            add, remove = [new[0]], [drop]
            prompt = (f"In project {project.key}, every issue labelled '{marker}' should also get the label "
                      f"'{add[0]}' and lose the label '{drop}'.")
        else:
            target = rng.choice(issues)
            keep = rng.sample([x for x in LABELS], 2)
            target.labels = sorted(set(keep))
            targets = [target]
            add = new if tier == "medium" else new[:1]
            remove = [keep[0]] if tier == "medium" else []
            asks = [f"add the label{'s' if len(add) > 1 else ''} {' and '.join(repr(x) for x in add)}"]
            if remove:
                asks.append(f"remove the label '{remove[0]}'")
            prompt = f"On issue {target.key}, {' and '.join(asks)}."
        expected = {i.key: sorted((set(i.labels) | set(add)) - set(remove)) for i in targets}
        data = {"project": project.key, "add": add, "remove": remove, "expected": expected,
                "ids": {i.id: i.key for i in targets}, "marker": marker if tier == "hard" else None}
        return prompt, data

    def __init__(self) -> None:
        super().__init__()
        self.scripts = {"oracle": oracle, "naive": naive, "spam": spam}


def _ops(task: Task) -> list[dict[str, str]]:
    return [{"add": x} for x in task.data["add"]] + [{"remove": x} for x in task.data["remove"]]


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    if task.data["marker"]:
        jql = f"project = {task.data['project']} AND labels = {task.data['marker']}"
        (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["labels"]})]
        keys = [i["key"] for i in found.body["issues"]]
    else:
        keys = list(task.data["expected"])
        yield [("getIssue", {"issueIdOrKey": keys[0], "fields": ["labels"]})]
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": _ops(task)}}) for k in keys]
    yield f"Updated the labels of {', '.join(keys)}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Writes the requested labels over the old ones, on the issues it can name without reading."""
    key = next(iter(task.data["expected"]))
    yield [("editIssue", {"issueIdOrKey": key, "fields": {"labels": task.data["add"]}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    key = next(iter(task.data["expected"]))
    for _ in range(3):
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {task.data['project']}"}),
               ("getIssue", {"issueIdOrKey": key}),
               ("editIssue", {"issueIdOrKey": key, "fields": {"labels": task.data["add"]}}),
               ("editIssue", {"issueIdOrKey": key, "update": {"labels": [{"add": x} for x in task.data["add"]]}})]
    yield "Done."


SCENARIO = JiraLabels()
