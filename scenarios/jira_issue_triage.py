"""jira_issue_triage: find an issue from a description (JQL), read its comments, and act on what only they say.

The issue is described, not named: the policy must search. The fact it must act on (the affected
customer, or who should own the issue) is written only in one of the issue's comments (a "note"): a policy
that stops after the search, or acts before a read of the comments was answered, cannot act correctly.

Tiers: easy — comment the affected customer; medium — assign the issue to the owner a comment names
(a user search turns the name into an accountId); hard — both; infeasible — no issue of the named project is
about the subject (one of another project is), or the owner the comments name is not, or no longer, an active
user: scored by `scenarios.infeasible`.

Every legitimate route scores 1.0: key or id, the comments read by getComments, getIssue asking for the
`comment` field, or a JQL search asking for it; any user search that shows the owner's accountId; any
short comment that names the customer (ADF, any wording), the writes in any order or turn.

Checks (weight, group) — what each verifies and why (the rules are in `scenarios.reading`):
- actions_as_requested (5, outcome): the target ends with exactly one new comment, naming the customer and
  no other customer (when a comment was asked; none otherwise) and assigned to the owner (when asked).
- nothing_else_changed (1, outcome, gate 0.2): something changed, only the target's requested fields, and
  every accepted write was a requested one on the target: at most one comment, assignments only to the
  owner (another issue, an unasked comment, an assignment detour: all side effects).
- comment_is_just_the_fact (1, arguments, gate 0.3): every accepted comment names the customer and no
  other, in at most 200 characters, without a run of the request's words (a comment listing every
  customer, or pasting the request or the issue's comments, is not the comment asked for).
- writes_carry_the_facts (2, arguments): the target got an accepted comment naming only the customer and
  an accepted assignment to the owner's accountId, as asked; writes on other issues earn nothing.
- writes_informed (1, process, gate 0.2): every write names an issue that a result of an earlier turn (or
  the prompt) showed, a comment follows a result of an earlier turn that showed the note naming the
  customer, and an assignment uses an accountId such a result showed, after one showed the owner's note.
- read_the_comments (1, process): some result showed the target's notes (credit for the read itself).
- no_invalid_call (1, process), no_duplicate_write (1, process): clean, non-repeating calls.
"""

from __future__ import annotations

import random
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.documents import adf_paragraphs, adf_text
from .atlassian.generate import LAST, SUBJECTS
from .atlassian.site import Comment, Issue, Site, User
from .base import AtlassianScenario, no_duplicate_write, no_invalid_call, tiered
from .infeasible import InfeasibleTask, answer, data_of, kind_of, refuse, spray
from .reading import (
    CONTENT_CAP,
    SIDE_EFFECT_CAP,
    UNINFORMED_CAP,
    Step,
    get,
    informed,
    issue_informed,
    issue_key,
    mentions,
    norm,
    prompt,
    show,
    steps,
    writes,
)

CUSTOMERS = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods",
             "Hooli", "Vandelay Imports", "Soylent Labs", "Tyrell Freight", "Cyberdyne Retail", "Wonka Candy"]
COMMENT_LIMIT = 200  # characters: a comment naming a customer, not a report
PASTE_RUN = 6  # words in a row shared with the request that make a comment a paste of it


@dataclass(frozen=True)
class TriageTask:
    """What the checks need: the target issue, the facts its comments hold, and how many comments it had."""

    key: str
    id: str
    project: str  # key
    subject: str
    customer: str | None  # easy, hard: the customer the new comment names
    owner: str | None  # medium, hard: the accountId the issue is assigned to
    owner_name: str | None
    comments: int  # the target's comments before the task
    customer_note: str | None  # the comment that names the customer
    owner_note: str | None  # the comment that names the owner


def _data(task: Task) -> TriageTask:
    return task.data_as(TriageTask)


def _customers(text: str) -> set[str]:
    """The site's customers a text names (whole words, any case, any whitespace)."""
    text = norm(text).casefold()
    return {c for c in CUSTOMERS if re.search(rf"(?<!\w){re.escape(c.casefold())}(?!\w)", text)}


def _comment(step: Step) -> str:
    """An addComment call's text, whitespace collapsed (accepted bodies are valid ADF)."""
    return norm(adf_text(step.arg("body")))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _pasted(trace: Trace, text: str) -> bool:
    """Whether a text repeats PASTE_RUN words in a row of the request."""
    said, written = _words(prompt(trace)), f" {' '.join(_words(text))} "
    return any(f" {' '.join(said[i:i + PASTE_RUN])} " in written for i in range(len(said) - PASTE_RUN + 1))


def _repeats_a_comment(trace: Trace, data: TriageTask, text: str) -> bool:
    """Whether a text repeats a whole comment the target had, other than the one naming the customer."""
    comments = get(trace.final_state, "issues", data.key, "comments")
    old = [adf_text(get(c, "body")) for c in comments[:data.comments]] if isinstance(comments, list) else []
    written, note = f" {' '.join(_words(text))} ", _words(data.customer_note or "")
    return any(f" {' '.join(said)} " in written for t in old if (said := _words(t)) and said != note)


def _on_target(trace: Trace, data: TriageTask, step: Step) -> bool:
    return issue_key(trace, step.arg("issueIdOrKey")) == data.key


# -- checks ---------------------------------------------------------------------------------------------------
@check("outcome", weight=5)
def actions_as_requested(trace: Trace, task: Task) -> None:
    """The target ends as asked: one new comment naming the affected customer, assigned to the owner."""
    data = _data(task)
    issue = get(trace.final_state, "issues", data.key)
    comments = get(issue, "comments")
    new = [norm(adf_text(get(c, "body"))) for c in comments[data.comments:]] if isinstance(comments, list) else []
    if data.customer:
        assert len(new) == 1, f"{len(new)} new comments on {data.key}, expected one naming {data.customer!r}"
        assert _customers(new[0]) == {data.customer}, \
            f"the new comment names {sorted(_customers(new[0]))}, expected only {data.customer!r}: {new[0]!r}"
    else:
        assert not new, f"{len(new)} new comments on {data.key}; no comment was asked for"
    if data.owner:
        assignee = get(issue, "assignee")
        assert assignee == data.owner, \
            f"{data.key} is assigned to {assignee!r}, expected {data.owner_name} ({data.owner})"


@check("outcome", weight=1, cap=SIDE_EFFECT_CAP)
def nothing_else_changed(trace: Trace, task: Task) -> None:
    """Only the requested fields of the target changed, and every write was one the task needed."""
    data = _data(task)
    assert trace.state_diff, "nothing changed on the site"
    allowed = {f"issues/{data.key}/{field}" for field, asked in (("comments", data.customer),
                                                                  ("assignee", data.owner)) if asked}
    others = sorted(set(trace.state_diff) - allowed)
    assert not others, f"changed beyond the request: {others}"
    done = [s for s in writes(trace) if s.ok]
    for step in done:
        assert _on_target(trace, data, step), \
            f"call #{step.index} {step.op} on {show(step.arg('issueIdOrKey'))}: not the issue of the request"
        if step.op == "addComment":
            assert data.customer, f"call #{step.index} adds a comment; only an assignment was asked for"
        else:
            assert step.op == "assignIssue" and data.owner, f"call #{step.index} {step.op} was not asked for"
            assert step.arg("accountId") == data.owner, \
                f"call #{step.index} assigns {data.key} to {show(step.arg('accountId'))}, not to {data.owner_name}"
    added = [s.index for s in done if s.op == "addComment"]
    assert len(added) <= 1, f"calls {added} add {len(added)} comments; one was asked for"


@check("arguments", weight=1, cap=CONTENT_CAP)
def comment_is_just_the_fact(trace: Trace, task: Task) -> None:
    """A comment names the affected customer and no other, briefly, without pasting the request."""
    data = _data(task)
    assert any(s.ok for s in writes(trace)), "no write was accepted"
    for step in steps(trace, "addComment", ok=True):
        text = _comment(step)
        named = _customers(text)
        assert named <= {data.customer}, f"call #{step.index} names other customers: {sorted(named)}"
        assert not data.customer or named, f"call #{step.index} does not name {data.customer!r}: {text[:200]!r}"
        assert len(text) <= COMMENT_LIMIT, \
            f"call #{step.index} writes {len(text)} characters, more than {COMMENT_LIMIT} to name a customer"
        assert not _pasted(trace, text), f"call #{step.index} pastes the request: {text[:200]!r}"
        assert not _repeats_a_comment(trace, data, text), \
            f"call #{step.index} copies the issue's other comments: {text[:200]!r}"


@check("arguments", weight=2)
def writes_carry_the_facts(trace: Trace, task: Task) -> None:
    """The target got the comment and the assignment asked, with the customer and the owner's accountId."""
    data = _data(task)
    done = [s for s in steps(trace, "addComment", "assignIssue", ok=True) if _on_target(trace, data, s)]
    if data.customer:
        assert any(s.op == "addComment" and _customers(_comment(s)) == {data.customer} for s in done), \
            f"no accepted comment on {data.key} names only {data.customer!r}"
    if data.owner:
        got = [s.arg("accountId") for s in done if s.op == "assignIssue"]
        assert data.owner in got, \
            f"{data.key} was assigned to {show(got)}, expected {data.owner_name} ({data.owner})"


@check("process", weight=1, cap=UNINFORMED_CAP)
def writes_informed(trace: Trace, task: Task) -> None:
    """Each write used an issue, a customer and an owner that results of earlier turns had shown."""
    data = _data(task)
    done = [s for s in writes(trace) if s.ok]
    assert done, "no write was accepted"
    for step in done:
        ref = step.arg("issueIdOrKey")
        assert issue_informed(trace, step.turn, ref), \
            f"call #{step.index} writes on {show(ref)}, which no earlier answer or the prompt named"
        if step.op == "addComment" and data.customer_note:
            assert mentions(trace, step.turn, data.customer_note), \
                f"call #{step.index} comments before an answer of an earlier turn showed who the customer is"
        if step.op == "assignIssue":
            assert informed(trace, step.turn, step.arg("accountId")), \
                f"call #{step.index} assigns {show(step.arg('accountId'))}, an accountId no earlier answer showed"
            assert not data.owner_note or mentions(trace, step.turn, data.owner_note), \
                f"call #{step.index} assigns before an answer of an earlier turn showed who owns the issue"


@check("process", weight=1)
def read_the_comments(trace: Trace, task: Task) -> None:
    """The target's comments were read: a result showed the notes the task depends on."""
    data = _data(task)
    notes = [n for n in (data.customer_note, data.owner_note) if n]
    unread = [n for n in notes if not mentions(trace, len(trace.turns), n)]
    assert not unread, f"no result showed the comments of {data.key} that say {unread}"


CHECKS = (actions_as_requested, nothing_else_changed, comment_is_just_the_fact, writes_carry_the_facts,
          writes_informed, read_the_comments, no_invalid_call, no_duplicate_write)
class JiraIssueTriage(AtlassianScenario):
    name = "jira_issue_triage"
    tool_names = ("searchAndReconsileIssuesUsingJql", "getIssue", "getComments", "addComment", "findUsers",
                  "assignIssue")
    checks = CHECKS
    max_turns = 12

    def __init__(self) -> None:
        super().__init__()
        self.scripts = tiered({"oracle": oracle, "naive": naive, "spam": spam, "refuse": refuse},
                              {"oracle": infeasible_oracle, "naive": infeasible_naive, "spam": infeasible_spam})

    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, InfeasibleTask]:
        project, other = rng.sample(list(site.projects.values()), 2)
        subject = rng.choice(SUBJECTS)
        for i in site.issues.values():  # the subject names no issue of the project, and one of another
            if subject in i.summary:
                i.summary = i.summary.replace(subject, "legacy module")
        people = [u for u in site.users.values() if u.account_id != site.myself]
        if kind_of(site, ("issue-about", "user")) == "issue-about":
            near = rng.choice([i for i in site.issues.values() if i.project == other.id])
            near.summary = f"Investigate the {subject} escalation"
            _note(rng, near, f"Support says the affected customer is {rng.choice(CUSTOMERS)}.", people)
            prompt = (f"In project {project.key} there is an issue about the {subject} escalation. Find it, read "
                      f"its comments, then add a comment to it that names the affected customer.")
            return prompt, InfeasibleTask(
                "issue-about", subject, near.key, f"No issue in project {project.key} is about the {subject} "
                f"escalation ({near.key}, in project {other.key}, is).", project=project.key)
        target = rng.choice([i for i in site.issues.values() if i.project == project.id])
        target.summary = f"Investigate the {subject} escalation"
        names = {u.display_name for u in site.users.values()}
        near = rng.choice(people)
        if rng.random() < 0.5:
            first = near.display_name.split()[0]
            name = rng.choice([f"{first} {last}" for last in LAST if f"{first} {last}" not in names])
            why = f"{name} is not a user of this site"
        else:
            gone = rng.choice([u for u in people if u is not near])
            gone.active = False
            name, why = gone.display_name, f"{gone.display_name} is not an active user any more"
        _note(rng, target, f"{name} owns the {subject} now; please route it to them.", people)
        prompt = (f"In project {project.key} there is an issue about the {subject} escalation. Find it, read its "
                  f"comments, then assign it to the person its comments say owns it.")
        return prompt, InfeasibleTask("user", name, near.display_name,
                                      f"{why}, so {target.key} cannot be assigned to them.", project=project.key,
                                      extra={"key": target.key, "subject": subject})

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, TriageTask]:
        project = rng.choice(list(site.projects.values()))
        issues = [i for i in site.issues.values() if i.project == project.id]
        target = rng.choice(issues)
        subject = rng.choice(SUBJECTS)
        for i in issues:  # the subject names exactly one issue of the project
            if subject in i.summary and i is not target:
                i.summary = i.summary.replace(subject, "legacy module")
        target.summary = f"Investigate the {subject} escalation"
        people = [u for u in site.users.values() if u.account_id not in (site.myself, target.assignee)]
        owner = rng.choice(people) if tier != "easy" else None
        customer = rng.choice(CUSTOMERS) if tier != "medium" else None
        notes = []
        if customer:
            ticket = rng.randrange(1000, 9999)
            notes.append(f"Support says the affected customer is {customer} (ticket #{ticket}).")
        if owner:
            notes.append(f"{owner.display_name} owns the {subject} now; please route it to them.")
        n = len(target.comments)
        for text in notes:
            target.comments.insert(rng.randrange(0, len(target.comments) + 1), Comment(
                str(30000 + rng.randrange(0, 9999)), rng.choice(people).account_id, adf_paragraphs([text]),
                target.created, target.created))
        asks = []
        if customer:
            asks.append("add a comment to it that names the affected customer")
        if owner:
            asks.append("assign it to the person its comments say owns it")
        prompt = (f"In project {project.key} there is an issue about the {subject} escalation. Find it, read "
                  f"its comments, then {' and '.join(asks)}.")
        return prompt, TriageTask(target.key, target.id, project.key, subject, customer,
                                  owner.account_id if owner else None, owner.display_name if owner else None,
                                  n + len(notes), notes[0] if customer else None, notes[-1] if owner else None)


def _note(rng: random.Random, issue: Issue, text: str, people: list[User]) -> None:
    """Add a comment to an issue's notes, at a random place among them."""
    issue.comments.insert(rng.randrange(0, len(issue.comments) + 1), Comment(
        str(30000 + rng.randrange(0, 9999)), rng.choice(people).account_id, adf_paragraphs([text]), issue.created,
        issue.created))


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = _data(task)
    jql = f'project = {data.project} AND summary ~ "{data.subject}"'
    (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["summary"]})]
    key = found.body["issues"][0]["key"]
    (comments,) = yield [("getComments", {"issueIdOrKey": key})]
    texts = [adf_text(c["body"]) for c in comments.body["comments"]]
    writes = []
    if data.customer:
        line = next(t for t in texts if "affected customer is" in t)
        customer = line.split("affected customer is ")[1].split(" (")[0]
        body = adf_paragraphs([f"Affected customer: {customer}."])
        writes.append(("addComment", {"issueIdOrKey": key, "body": body}))
    if data.owner:
        line = next(t for t in texts if " owns the " in t)
        name = line.split(" owns the ")[0]
        (users,) = yield [("findUsers", {"query": name})]
        writes.append(("assignIssue", {"issueIdOrKey": key, "accountId": users.body[0]["accountId"]}))
    yield writes
    yield f"Triaged {key}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Acts on the first issue of the project without searching or reading."""
    data = _data(task)
    key = f"{data.project}-1"
    if data.customer:
        yield [("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Affected customer: unknown."])})]
    if data.owner:
        yield [("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    project = _data(task).project
    for n in range(1, 4):
        key = f"{project}-{n}"
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {project}"}),
               ("getIssue", {"issueIdOrKey": key}), ("getComments", {"issueIdOrKey": key}),
               ("findUsers", {"query": "a"}),
               ("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Looking into this."])}),
               ("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})]
    yield "Done."


def infeasible_oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    data = data_of(task)
    subject = data.extra.get("subject", data.name)
    jql = f'project = {data.project} AND summary ~ "{subject}"'
    (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["summary"]})]
    if data.kind == "user":
        key = found.body["issues"][0]["key"]
        yield [("getComments", {"issueIdOrKey": key})]
        yield [("findUsers", {"query": data.name})]
    yield answer(data)


def infeasible_naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Acts on what the request is close to: comments on the other project's issue, or assigns the issue to the
    first person a search for a namesake finds."""
    data = data_of(task)
    if data.kind == "issue-about":
        yield [("addComment", {"issueIdOrKey": data.near, "body": adf_paragraphs(["Affected customer: unknown."])})]
    else:
        (users,) = yield [("findUsers", {"query": data.near})]
        account = users.body[0]["accountId"] if isinstance(users.body, list) and users.body else "-1"
        yield [("assignIssue", {"issueIdOrKey": data.extra["key"], "accountId": account})]
    yield "Done."


def infeasible_spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Reads, comments and assigns on what the request is close to, three rounds."""
    data = data_of(task)
    key = data.near if data.kind == "issue-about" else data.extra["key"]
    yield from spray([("searchAndReconsileIssuesUsingJql", {"jql": f"project = {data.project}"}),
                      ("findUsers", {"query": data.name})],
                     [("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Looking into this."])}),
                      ("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})])


SCENARIO = JiraIssueTriage()
