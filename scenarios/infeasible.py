"""The infeasible tier: a request every scenario can receive that cannot be done as asked.

The request names an issue, project, space, parent page, person or label that does not exist (close to one that
does: a typo'd key, a person who left), asks for a status the issue's workflow does not have, or asks to create a
page whose title the space already has. The right behaviour, as on a real site: read enough to find out, write
nothing, and say in the final answer what is wrong, naming it. Each scenario builds these tasks from its seeded
site (`build_infeasible`) and picks the kinds that fit its request; the checks are the same for all.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- answer_names_the_problem (3, outcome): the final answer names the missing or conflicting thing (as the request
  wrote it, any case) within `NOT_DONE_NEAR` characters of a phrase of `NOT_DONE_PHRASES`, in at most
  `ANSWER_LIMIT` characters (a list of every name on the site, each "not found", is not an answer).
- declined_without_writing (2, outcome, gate 0.1): no write was sent, not even one the API refused, nothing
  changed, and the final answer says the request was not carried out (a silent stop, or "Done.", leaves the
  user believing it was). Acting on the near match (the typo's neighbour) is a write: it fails here.
- looked_before_answering (2, process, gate 0.3): a read whose answer shows the problem was made: the key looked
  up and not found, a search that would have listed the thing and did not, the issue's transitions, the page
  that holds the title. A refusal must be found out, not guessed.
- reads_asked_for_it (1, arguments): a read asked for what the request named (the key, name, label or title as
  written, a search term that is part of it, the issue to move), or listed everything it could be among.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.site import Site
from .reading import (
    ACTED_CAP,
    BLIND_CAP,
    MOST_NOT_DONE,
    NOT_DONE_NEAR,
    NOT_DONE_PHRASES,
    Step,
    claims_done,
    declines,
    get,
    issue_key,
    norm,
    not_done_count,
    says_not_done,
    scalar,
    scalars,
    show,
    steps,
    writes,
)

INFEASIBLE = "infeasible"
ANSWER_LIMIT = 600
"""The most characters a final answer that declines may have."""

KINDS = {
    "issue": "an issue key that does not exist (a typo of one that does)",
    "issue-about": "no issue of the named project is about the subject (one of another project is)",
    "project": "a project that does not exist (a typo of one that does)",
    "user": "a person who is not, or no longer, an active user of the site",
    "label": "a label no issue carries (a typo of one that some do)",
    "transition": "a status the issue's workflow does not have, so no transition leads there",
    "space": "a space key that does not exist (a typo of one that does)",
    "parent": "a parent page whose title the space does not have (a typo of one it has)",
    "title": "a page title the space already has",
}

SEARCH = "searchAndReconsileIssuesUsingJql"
ISSUE_READS = ("getIssue", "getComments", "getTransitions")
PROJECT_READS = ("getCreateIssueMetaIssueTypes", "getCreateIssueMetaIssueTypeId")


@dataclass(frozen=True)
class InfeasibleTask:
    """What the checks need: what is wrong, the thing the request names, and where it would be."""

    kind: str  # a key of KINDS
    name: str  # the missing or conflicting thing, as the request writes it
    near: str  # what a careless policy acts on instead: the key, name, label or title it is close to
    problem: str  # what is wrong, in one sentence that names it (the reference answer)
    project: str | None = None  # the project key the request names (issue, issue-about, label, transition)
    issue: str | None = None  # transition: the key of the issue to move
    space: str | None = None  # the space id (parent, title)
    extra: Mapping[str, Any] = field(default_factory=dict)  # what the scenario's scripts need


def data_of(task: Task) -> InfeasibleTask:
    return task.data_as(InfeasibleTask)


def kind_of(site: Site, kinds: tuple[str, ...]) -> str:
    """The kind of a scenario's infeasible task: its kinds in turn, by seed, so that every split has them all."""
    return kinds[site.seed % len(kinds)]


# -- typos ------------------------------------------------------------------------------------------------------
def key_typo(rng: random.Random, key: str, site: Site) -> str:
    """A key close to `key` that names no issue: a digit added or two swapped, or the project's letters swapped."""
    taken, projects = {i.key for i in site.issues.values()}, {p.key for p in site.projects.values()}
    project, _, number = key.partition("-")
    options = [f"{project}-{number}{d}" for d in "123456789"]
    if len(number) > 1 and number[::-1] != number and not number[::-1].startswith("0"):
        options.append(f"{project}-{number[::-1]}")
    for i in range(1, len(project) - 1):
        swapped = project[:i] + project[i + 1] + project[i] + project[i + 2:]
        if swapped != project and swapped not in projects:
            options.append(f"{swapped}-{number}")
    return rng.choice([o for o in options if o not in taken])


def word_typo(rng: random.Random, word: str, taken: set[str]) -> str:
    """A misspelling of `word` that is not in `taken`: two neighbouring letters swapped, or one left out."""
    options = []
    for i in range(1, len(word) - 1):
        if word[i].isalpha() and word[i + 1].isalpha() and word[i] != word[i + 1]:
            options.append(word[:i] + word[i + 1] + word[i] + word[i + 2:])
        if word[i].isalpha() and word[i - 1] != word[i]:
            options.append(word[:i] + word[i + 1:])
    used = {t.casefold() for t in taken} | {word.casefold()}
    options = [o for o in dict.fromkeys(options) if o.casefold() not in used]
    if not options:  # a short word: its first two letters swapped, or its last doubled
        options = [o for o in (word[1::-1] + word[2:], word + word[-1]) if o.casefold() not in used]
    return rng.choice(options)


# -- what a read showed ---------------------------------------------------------------------------------------
def _same(a: Any, b: str) -> bool:
    return isinstance(a, str | int) and not isinstance(a, bool) and norm(str(a)).casefold() == norm(b).casefold()


def _mentions(text: Any, name: str) -> bool:
    """Whether `name` appears in `text` as a whole word, in any case."""
    return isinstance(text, str) and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", norm(text), re.I) is not None


def _complete(body: Any, items: Any) -> bool:
    """Whether a listing answered all there is (no further page)."""
    if not isinstance(items, list):
        return False
    if get(body, "isLast") is True:
        return True
    if get(body, "nextPageToken") or get(body, "_links", "next"):
        return False
    total = get(body, "total")
    if isinstance(total, int) and not isinstance(total, bool):
        return total <= (get(body, "startAt") or 0) + len(items)
    return get(body, "isLast") is None


def _whole_project(jql: Any, project: str | None) -> bool:
    """Whether a JQL query asks for every issue of the project (and nothing narrower)."""
    if not isinstance(jql, str) or not project:
        return False
    pattern = rf"\s*project\s*(?:=|in\s*\()\s*\"?{re.escape(project)}\"?\s*\)?\s*(?:order\s+by\s+[\w\s,]+)?"
    return re.fullmatch(pattern, jql, re.I) is not None


def _error_text(body: Any) -> str:
    """The messages of a Jira error body, as one text."""
    messages, errors = get(body, "errorMessages"), get(body, "errors")
    found = [*(messages if isinstance(messages, list) else []), *(errors.values() if isinstance(errors, dict) else [])]
    return " ".join(m for m in found if isinstance(m, str))


def _issue_missing(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """The key looked up and not found, or a search that would have listed it and did not."""
    body = step.result.body
    if step.op in ISSUE_READS:
        return _same(step.arg("issueIdOrKey"), data.name) and step.result.status == 404
    if step.op != SEARCH:
        return False
    jql = step.arg("jql")
    if step.result.status == 400:  # the key named, or the project it would be in, does not exist
        return any(_mentions(jql, name) and _mentions(_error_text(body), name) for name in (data.name, data.project)
                   if name and (name == data.name or _whole_project(jql, name)))
    issues = get(body, "issues")
    return step.ok and (_mentions(jql, data.name) or _whole_project(jql, data.project)) \
        and _complete(body, issues) and not any(_same(get(i, "key"), data.name) for i in issues)


def _nothing_about(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A search of the subject (or of the whole project) whose answer holds no issue of the project about it."""
    if step.op != SEARCH or not step.ok:
        return False
    jql, body = step.arg("jql"), step.result.body
    issues = get(body, "issues")
    if not (data.name.casefold() in norm(jql).casefold() or _whole_project(jql, data.project)):
        return False
    if not _complete(body, issues):
        return False
    for issue in issues:
        key, summary = scalar(get(issue, "key")) or "", get(issue, "fields", "summary")
        if key.upper().startswith(f"{data.project}-") and (
                not isinstance(summary, str) or data.name.casefold() in summary.casefold()):
            return False
    return True


def _no_project(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A project search that would have shown it and did not, or a read of it answered 404."""
    if step.op in PROJECT_READS:
        return _same(step.arg("projectIdOrKey"), data.name) and step.result.status == 404
    if step.op != "searchProjects" or not step.ok:
        return False
    query, keys, body = scalar(step.arg("query")) or "", step.arg("keys"), step.result.body
    if keys and not (isinstance(keys, list) and any(_same(k, data.name) for k in keys)):
        return False
    if query.casefold() not in data.name.casefold():
        return False  # it would not have matched
    values = get(body, "values")
    return _complete(body, values) and not any(
        _same(get(p, "key"), data.name) or _same(get(p, "name"), data.name) for p in values)


def _would_match(name: str, query: str) -> bool:
    """Jira's user query: a prefix of the display name or of one of its words."""
    q = query.casefold()
    return bool(q) and any(w.startswith(q) for w in [name.casefold(), *name.casefold().split()])


def _no_user(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A user search that would have found the person and showed no active user of that name."""
    if step.op != "findUsers" or not step.ok or not _would_match(data.name, scalar(step.arg("query")) or ""):
        return False
    users = step.result.body
    return isinstance(users, list) and not any(
        _same(get(u, "displayName"), data.name) and get(u, "active") is not False for u in users)


def _no_label(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A search for the label (or of the whole project, showing labels) whose answer holds no issue carrying it."""
    if step.op != SEARCH or not step.ok:
        return False
    jql, body = step.arg("jql"), step.result.body
    issues = get(body, "issues")
    if not (_mentions(jql, data.name) or _whole_project(jql, data.project)) or not _complete(body, issues):
        return False
    return all(isinstance(labels := get(i, "fields", "labels"), list) and data.name not in labels for i in issues)


def shown_transitions(trace: Trace, step: Step) -> Iterator[tuple[str, list[Any]]]:
    """The transitions a successful read showed, as (issue key, transitions): getTransitions, or an issue read
    with `expand=transitions` (alone or in a search's list)."""
    body = step.result.body
    if not step.ok:
        return
    if step.op == "getTransitions":
        found = [(step.arg("issueIdOrKey"), get(body, "transitions"))]
    else:
        items = get(body, "issues")
        found = [(get(i, "key"), get(i, "transitions")) for i in (items if isinstance(items, list) else [body])]
    for ref, offered in found:
        key = issue_key(trace, ref)
        if key is not None and isinstance(offered, list):
            yield key, offered


def _no_route(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """The issue's transitions read, none leading to the status asked for."""
    return any(key == data.issue and not any(_same(get(t, "to", "name"), data.name) for t in offered)
               for key, offered in shown_transitions(trace, step))


def _no_space(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A space listing that would have shown it (all spaces, or the key asked for) and did not."""
    if step.op != "getSpaces" or not step.ok or step.arg("ids"):
        return False
    keys, body = step.arg("keys"), step.result.body
    if keys and not (isinstance(keys, list) and any(_same(k, data.name) for k in keys)):
        return False
    results = get(body, "results")
    return _complete(body, results) and not any(
        _same(get(s, "key"), data.name) or _same(get(s, "name"), data.name) for s in results)


def _no_page(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A page listing that would have shown the title in the space (by title, or all the space's pages) and did
    not."""
    if step.op != "getPages" or not step.ok:
        return False
    title, spaces, body = step.arg("title"), step.arg("space_id"), step.result.body
    if title is not None and not _same(title, data.name):
        return False
    listed = spaces if isinstance(spaces, list) else [spaces]
    if spaces is not None and str(data.space) not in [str(s) for s in listed]:
        return False
    results = get(body, "results")
    return _complete(body, results) and not any(
        _same(get(p, "title"), data.name) and scalar(get(p, "spaceId")) == data.space for p in results)


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _title_taken(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """A read that showed a page of the space with that title."""
    return step.ok and any(_same(o.get("title"), data.name) and scalar(o.get("spaceId")) == data.space
                           for o in _objects(step.result.body))


REVEALS: dict[str, Callable[[Trace, Step, InfeasibleTask], bool]] = {
    "issue": _issue_missing, "issue-about": _nothing_about, "project": _no_project, "user": _no_user,
    "label": _no_label, "transition": _no_route, "space": _no_space, "parent": _no_page, "title": _title_taken,
}


def reveals(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """Whether this read's answer shows what is wrong."""
    return REVEALS[data.kind](trace, step, data)


def asks_for_it(trace: Trace, step: Step, data: InfeasibleTask) -> bool:
    """Whether a read's arguments name what the request named (a search `query` may be part of it, three
    characters or more); for a transition, the issue to move."""
    if step.write:
        return False
    if data.kind == "transition":
        return issue_key(trace, step.arg("issueIdOrKey")) == data.issue or _mentions(step.arg("jql"), data.issue or "")
    query = scalar(step.arg("query")) or ""
    return (len(query) >= 3 and query.casefold() in data.name.casefold()) or any(
        _mentions(text, data.name) for text in scalars(step.args))


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=3)
def answer_names_the_problem(trace: Trace, task: Task) -> None:
    """The final answer names what is wrong: the missing or conflicting thing, beside words that say so."""
    data = data_of(task)
    text = trace.final_text
    assert len(text) <= ANSWER_LIMIT, f"the final answer has {len(text)} characters, more than {ANSWER_LIMIT}"
    assert not_done_count(text) <= MOST_NOT_DONE, \
        f"the final answer says something is wrong {not_done_count(text)} times, more than {MOST_NOT_DONE}: it " \
        f"does not single out the problem ({data.problem})"
    assert says_not_done(text, data.name), \
        f"the final answer does not name {data.name!r} within {NOT_DONE_NEAR} characters of a phrase that says " \
        f"what is wrong ({', '.join(NOT_DONE_PHRASES[:3])}...): {text[:200]!r}; the problem: {data.problem}"


@check("outcome", weight=2, cap=ACTED_CAP)
def declined_without_writing(trace: Trace, task: Task) -> None:
    """Nothing was written, not even a write the API refused, and the answer says the request was not done."""
    data = data_of(task)
    sent = [f"#{s.index} {s.op}({show(s.args, 120)})" for s in writes(trace)]
    assert not sent, f"writes were sent though the request cannot be done ({data.problem}): {sent[:3]}"
    assert not trace.state_diff, f"the site changed: {sorted(trace.state_diff)[:5]}"
    assert declines(trace.final_text), \
        f"the final answer does not say that the request was not carried out: {trace.final_text[:200]!r}"
    assert not claims_done(trace.final_text), \
        f"the final answer claims the work was done, though nothing was: {trace.final_text[:200]!r}"


@check("process", weight=2, cap=BLIND_CAP)
def looked_before_answering(trace: Trace, task: Task) -> None:
    """A read whose answer shows the problem was made: a refusal is found out, not guessed."""
    data = data_of(task)
    assert any(reveals(trace, s, data) for s in steps(trace)), \
        f"no read showed what is wrong ({KINDS[data.kind]}: {data.problem})"


@check("arguments", weight=1)
def reads_asked_for_it(trace: Trace, task: Task) -> None:
    """A read asked for what the request named, or listed everything it could be among."""
    data = data_of(task)
    asked = [s for s in steps(trace) if asks_for_it(trace, s, data) or reveals(trace, s, data)]
    target = data.issue if data.kind == "transition" else data.name
    assert asked, f"no read asked for {target!r}"


CHECKS = (answer_names_the_problem, declined_without_writing, looked_before_answering, reads_asked_for_it)


# -- scripts --------------------------------------------------------------------------------------------------
Episode = Generator[Any, list[ToolResult], None]


def answer(data: InfeasibleTask) -> str:
    """The reference answer: what is wrong, and that nothing was changed."""
    return f"{data.problem} I changed nothing."


def refuse(task: Task) -> Episode:
    """Always refuses without a call: on an infeasible task it names what is wrong (read from the task, the
    answer key a policy lacks); on a feasible one it declines."""
    if task.tier == INFEASIBLE:
        yield f"I cannot do that: {data_of(task).name} is the problem."
    else:
        yield "I cannot do that."


def spray(reads: list[tuple[str, dict[str, Any]]], acts: list[tuple[str, dict[str, Any]]]) -> Episode:
    """Three rounds of the reads and the writes together (the spam policy on the infeasible tier)."""
    for _ in range(3):
        yield [*reads, *acts]
    yield "Done."
