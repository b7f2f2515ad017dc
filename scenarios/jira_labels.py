"""jira_labels: add and remove labels on one or several issues without clobbering the labels they have.

Tiers: easy — add one label to one issue; medium — add two and remove one on one issue; hard — find every
issue of a project carrying a label (JQL), add one label to each and remove another; infeasible — the issue key
is a typo of one that exists, or no issue carries the label that selects the targets (a typo of one some carry):
scored by `scenarios.infeasible`.

The trap is Jira's two ways to write labels: `update.labels` operations (`add`/`remove`/`set`) change the
list in place, while `fields.labels` replaces it, dropping the labels the issue had unless they were read
first. Every legitimate route scores 1.0: keys or ids, any read that shows the labels (getIssue, a JQL
search asking for them), update verbs, `set`, or a full replacement after a read.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- labels_as_requested (5, outcome): every target issue ends with exactly the expected labels.
- nothing_else_changed (1, outcome, gate 0.2): something changed, only the targets' labels changed, and
  every successful write was a label edit of a target naming only requested labels (another issue, another
  field, an unrequested label added then removed: all side effects).
- edits_name_requested_labels (2, arguments): every target has an edit whose label operations together are
  exactly the requested ones (or a replacement with the expected list); edits of other issues earn nothing.
- edits_informed (1, process, gate 0.2): each edited issue was named by the prompt or answered by a read of
  an earlier turn (the hard tier's keys come from a search), and an issue whose labels were replaced had its
  labels shown by such a read.
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.generate import LABELS
from .atlassian.site import Site
from .base import AtlassianScenario, no_duplicate_write, no_invalid_call, tiered
from .infeasible import InfeasibleTask, answer, data_of, key_typo, kind_of, refuse, spray, word_typo
from .reading import (
    SIDE_EFFECT_CAP,
    UNINFORMED_CAP,
    Step,
    get,
    issue_informed,
    issue_key,
    issues_shown,
    show,
    steps,
    writes,
)

EXTRA = ["triaged", "release-blocker", "docs", "hotfix", "sprint-42", "on-hold", "api", "design-review"]


@dataclass(frozen=True)
class LabelsTask:
    """What the checks need: the project, the labels to add and remove, each target's expected labels."""

    project: str  # key
    add: tuple[str, ...]
    remove: tuple[str, ...]
    expected: Mapping[str, tuple[str, ...]]  # target issue key -> its labels afterwards, sorted
    marker: str | None  # hard tier: the label that selects the targets


def _data(task: Task) -> LabelsTask:
    return task.data_as(LabelsTask)


def label_ops(step: Step) -> list[tuple[str, Any]] | None:
    """An editIssue call's label writes as (verb, value) pairs: update operations, and a `fields.labels`
    replacement as ("replace", value); None when the call writes something other than labels."""
    fields, update = step.arg("fields"), step.arg("update")
    ops: list[tuple[str, Any]] = []
    for name, part in (("fields", fields), ("update", update)):
        if part is None:
            continue
        if not isinstance(part, dict) or set(part) - {"labels"}:
            return None
        if name == "fields" and "labels" in part:
            ops.append(("replace", part["labels"]))
        elif name == "update":
            items = part.get("labels")
            for op in items if isinstance(items, list) else [items]:
                if not isinstance(op, dict) or len(op) != 1:
                    return None
                ops.extend(op.items())
    return ops


def _labels(value: Any) -> tuple[str, ...] | None:
    """A list of label names, sorted and without repeats; None when it is not one."""
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        return None
    return tuple(sorted(set(value)))


def _requested(op: tuple[str, Any], data: LabelsTask, key: str) -> bool:
    """Whether one label operation on target `key` is one the request asked for."""
    verb, value = op
    if verb == "add":
        return value in data.add
    if verb == "remove":
        return value in data.remove
    if verb in ("set", "replace"):
        return _labels(value) == data.expected[key]
    return False


def _edits(trace: Trace, data: LabelsTask) -> dict[str, list[Step]]:
    """The editIssue calls on each target issue."""
    out: dict[str, list[Step]] = {key: [] for key in data.expected}
    for step in steps(trace, "editIssue"):
        key = issue_key(trace, step.arg("issueIdOrKey"))
        if key in out:
            out[key].append(step)
    return out


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=5)
def labels_as_requested(trace: Trace, task: Task) -> None:
    """Every target issue ends with exactly the labels the user asked for, however they were written."""
    data = _data(task)
    got = {k: tuple(sorted(get(trace.final_state, "issues", k, "labels") or [])) for k in data.expected}
    assert got == dict(data.expected), f"labels are {got}, expected {dict(data.expected)}"


@check("outcome", weight=1, cap=SIDE_EFFECT_CAP)
def nothing_else_changed(trace: Trace, task: Task) -> None:
    """Only the requested labels of the target issues changed, and every write was one the task needed."""
    data = _data(task)
    assert trace.state_diff, "nothing changed on the site"
    allowed = {f"issues/{k}/labels" for k in data.expected}
    others = sorted(set(trace.state_diff) - allowed)
    assert not others, f"changed beyond the request: {others}"
    for step in writes(trace):
        if not step.ok:
            continue
        key = issue_key(trace, step.arg("issueIdOrKey"))
        assert step.op == "editIssue" and key in data.expected, \
            f"call #{step.index} {step.op} on {show(step.arg('issueIdOrKey'))}: not a target of the request"
        ops = label_ops(step)
        assert ops is not None, f"call #{step.index} writes more than labels: {show(step.args)}"
        wrong = [op for op in ops if not _requested(op, data, key)]
        assert not wrong, f"call #{step.index} makes label changes on {key} nobody asked for: {show(wrong)}"


@check("arguments", weight=2)
def edits_name_requested_labels(trace: Trace, task: Task) -> None:
    """Each target gets edit calls whose label operations are exactly the requested ones."""
    data = _data(task)
    for key, edits in _edits(trace, data).items():
        assert edits, f"no editIssue call on {key}"
        ops = [op for step in edits for op in label_ops(step) or []]
        if any(verb in ("set", "replace") for verb, _ in ops):
            assert all(_requested(op, data, key) for op in ops), \
                f"{key}: label writes {show(ops)} are not a replacement with {list(data.expected[key])}"
            continue
        added = sorted({str(v) for verb, v in ops if verb == "add"})
        removed = sorted({str(v) for verb, v in ops if verb == "remove"})
        assert (added, removed) == (sorted(data.add), sorted(data.remove)), \
            f"{key}: added {added} and removed {removed}; asked to add {list(data.add)}, remove {list(data.remove)}"


@check("process", weight=1, cap=UNINFORMED_CAP)
def edits_informed(trace: Trace, task: Task) -> None:
    """Each edited issue was named in the prompt or found by an earlier read, and labels were replaced only
    after a read showed them."""
    edits = steps(trace, "editIssue", ok=True)
    assert edits, "no successful editIssue call"
    for step in edits:
        ref = step.arg("issueIdOrKey")
        assert issue_informed(trace, step.turn, ref), \
            f"call #{step.index} edits {show(ref)}, which no earlier answer or the prompt named"
        key = issue_key(trace, ref)
        replaces = any(verb in ("set", "replace") for verb, _ in label_ops(step) or [])
        assert not replaces or "labels" in issues_shown(trace, step.turn).get(key or "", {}), \
            f"call #{step.index} replaces the labels of {key} before any answer showed them"


CHECKS = (labels_as_requested, nothing_else_changed, edits_name_requested_labels, edits_informed,
          no_invalid_call, no_duplicate_write)


class JiraLabels(AtlassianScenario):
    name = "jira_labels"
    tool_names = ("searchAndReconsileIssuesUsingJql", "getIssue", "editIssue")
    checks = CHECKS
    max_turns = 10

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, LabelsTask]:
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
        expected = {i.key: tuple(sorted((set(i.labels) | set(add)) - set(remove))) for i in targets}
        return prompt, LabelsTask(project.key, tuple(add), tuple(remove), expected,
                                  marker if tier == "hard" else None)

    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, InfeasibleTask]:
        project = rng.choice(list(site.projects.values()))
        issues = [i for i in site.issues.values() if i.project == project.id]
        add = rng.sample(EXTRA, rng.choice([1, 2]))
        carried = sorted({x for i in issues for x in i.labels})
        if carried and kind_of(site, ("label", "issue")) == "label":
            marker = rng.choice(carried)
            taken = {x for i in site.issues.values() for x in i.labels} | set(LABELS) | set(EXTRA)
            typo = word_typo(rng, marker, taken)
            drop = rng.choice([x for x in LABELS if x != marker])
            prompt = (f"In project {project.key}, every issue labelled '{typo}' should also get the label "
                      f"'{add[0]}' and lose the label '{drop}'.")
            return prompt, InfeasibleTask(
                "label", typo, marker, f"No issue in project {project.key} is labelled '{typo}' (did you mean "
                f"'{marker}'?).", project=project.key, extra={"add": (add[0],), "remove": (drop,)})
        target = rng.choice(issues)
        typo = key_typo(rng, target.key, site)
        remove = target.labels[:1] if len(add) > 1 else []
        asks = [f"add the label{'s' if len(add) > 1 else ''} {' and '.join(repr(x) for x in add)}"]
        if remove:
            asks.append(f"remove the label '{remove[0]}'")
        prompt = f"On issue {typo}, {' and '.join(asks)}."
        return prompt, InfeasibleTask("issue", typo, target.key, f"Issue {typo} does not exist (the nearest key is "
                                      f"{target.key}).", project=typo.split("-")[0],
                                      extra={"add": tuple(add), "remove": tuple(remove)})

    def __init__(self) -> None:
        super().__init__()
        self.scripts = tiered({"oracle": oracle, "naive": naive, "spam": spam, "refuse": refuse},
                              {"oracle": infeasible_oracle, "naive": infeasible_naive, "spam": infeasible_spam})


def ops(data: LabelsTask) -> list[dict[str, str]]:
    """The requested label operations as `update.labels` verbs."""
    return [{"add": x} for x in data.add] + [{"remove": x} for x in data.remove]


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    if data.marker:
        jql = f"project = {data.project} AND labels = {data.marker}"
        (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["labels"]})]
        keys = [i["key"] for i in found.body["issues"]]
    else:
        keys = list(data.expected)
        yield [("getIssue", {"issueIdOrKey": keys[0], "fields": ["labels"]})]
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": ops(data)}}) for k in keys]
    yield f"Updated the labels of {', '.join(keys)}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Writes the requested labels over the old ones, on the issues it can name without reading."""
    data = _data(task)
    yield [("editIssue", {"issueIdOrKey": next(iter(data.expected)), "fields": {"labels": list(data.add)}})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    key = next(iter(data.expected))
    for _ in range(3):
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project}"}),
               ("getIssue", {"issueIdOrKey": key}),
               ("editIssue", {"issueIdOrKey": key, "fields": {"labels": list(data.add)}}),
               ("editIssue", {"issueIdOrKey": key, "update": {"labels": [{"add": x} for x in data.add]}})]
    yield "Done."


def infeasible_ops(data: InfeasibleTask) -> list[dict[str, str]]:
    return [{"add": x} for x in data.extra["add"]] + [{"remove": x} for x in data.extra["remove"]]


def infeasible_read(data: InfeasibleTask) -> tuple[str, dict[str, Any]]:
    """The read that shows what is wrong: the issue looked up, or the project's issues with the label."""
    if data.kind == "label":
        return ("searchAndReconsileIssuesUsingJql",
                {"jql": f'project = {data.project} AND labels = "{data.name}"', "fields": ["labels"]})
    return ("getIssue", {"issueIdOrKey": data.name, "fields": ["labels"]})


def infeasible_oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = data_of(task)
    yield [infeasible_read(data)]
    yield answer(data)


def infeasible_naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Edits what the request is close to: the neighbouring issue, or the issues that carry the neighbouring label."""
    data = data_of(task)
    keys = [data.near]
    if data.kind == "label":
        (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project} AND labels = "
                                                                       f"{data.near}", "fields": ["labels"]})]
        keys = [i["key"] for i in found.body["issues"]]
    yield [("editIssue", {"issueIdOrKey": k, "update": {"labels": infeasible_ops(data)}}) for k in keys]
    yield "Done."


def infeasible_spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Reads, and edits what the request names and what it is close to, three rounds."""
    data = data_of(task)
    keys = [data.name, data.near] if data.kind == "issue" else [f"{data.project}-1"]
    yield from spray([infeasible_read(data)],
                     [("editIssue", {"issueIdOrKey": k, "update": {"labels": infeasible_ops(data)}}) for k in keys])


SCENARIO = JiraLabels()
