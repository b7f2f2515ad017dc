"""jira_issue_triage: find an issue from a description (JQL), read it, and act on what only the read shows.

The issue is described, not named: the policy must search. The fact it must act on (the affected
customer, or who should own the issue) is written only in one of the issue's comments: a policy that
stops after the search, or after a single read of the wrong thing, cannot act correctly.

Tiers: easy — comment the affected customer; medium — assign the issue to the owner a comment names
(a user search turns the name into an accountId); hard — both.

Checks (weight, group) — what each verifies and why:
- requested_actions_done (5, outcome): the target issue has a new comment naming the customer and/or is
  assigned to the named owner, as asked.
- only_target_changed (1, outcome): something changed, and only on the target issue.
- write_arguments_correct (2, arguments): every write targets the right issue, comments carry the
  customer's name, assignments carry the owner's accountId.
- searched_first (1, process): a successful JQL search preceded the first write (the key was found, not
  guessed).
- read_before_acting (2, process): the target's comments were read (getComments, or getIssue returning
  its comment field) before the first write.
- no_invalid_call (1, process), no_duplicate_write (1, process).
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

from pytest_rlvr import Task, ToolResult, Trace, check

from .atlassian.documents import adf_paragraphs, adf_text
from .atlassian.generate import SUBJECTS
from .atlassian.site import Comment, Site
from .base import (
    AtlassianScenario,
    args,
    calls_to,
    made_calls,
    no_duplicate_write,
    no_invalid_call,
    only_target_changed,
)

CUSTOMERS = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods",
             "Hooli", "Vandelay Imports", "Soylent Labs", "Tyrell Freight", "Cyberdyne Retail", "Wonka Candy"]


def _targets(call_args: dict[str, Any], task: Task) -> bool:
    return str(call_args.get("issueIdOrKey", "")).upper() in (task.data["key"], task.data["id"])


def _new_comments(trace: Trace, task: Task) -> list[str]:
    comments = trace.final_state.get("issues", {}).get(task.data["key"], {}).get("comments", [])
    return [adf_text(c.get("body")) for c in comments[task.data["comments"]:]]


@check("outcome", weight=5)
def requested_actions_done(trace: Trace, task: Task) -> None:
    if task.data["customer"]:
        texts = _new_comments(trace, task)
        assert any(task.data["customer"].lower() in t.lower() for t in texts), \
            f"no new comment on {task.data['key']} names {task.data['customer']!r} (new comments: {texts})"
    if task.data["owner"]:
        assignee = trace.final_state.get("issues", {}).get(task.data["key"], {}).get("assignee")
        assert assignee == task.data["owner"], f"{task.data['key']} is assigned to {assignee!r}, " \
                                               f"expected {task.data['owner_name']} ({task.data['owner']})"




@check("arguments", weight=2)
def write_arguments_correct(trace: Trace, task: Task) -> None:
    writes = calls_to(trace, "addComment", "assignIssue")
    assert writes, "no addComment or assignIssue call"
    for call, _ in writes:
        a = args(call)
        assert _targets(a, task), f"{call.name} on {a.get('issueIdOrKey')!r}, expected {task.data['key']}"
        if call.name == "addComment":
            assert task.data["customer"], "a comment was not asked for"
            text = adf_text(a.get("body")) if isinstance(a.get("body"), dict) else str(a.get("body"))
            assert task.data["customer"].lower() in text.lower(), f"the comment does not name " \
                                                                   f"{task.data['customer']!r}: {text!r}"
        else:
            assert a.get("accountId") == task.data["owner"], \
                f"assigned to {a.get('accountId')!r}, expected {task.data['owner']} ({task.data['owner_name']})"


def _first_write(trace: Trace) -> int:
    made_calls(trace)
    index = next((n for n, (_, r) in enumerate(trace.calls) if r.write), None)
    assert index is not None, "no write was made"
    return index


@check("process", weight=1)
def searched_first(trace: Trace, task: Task) -> None:
    first = _first_write(trace)
    assert any(r.operation == "searchAndReconsileIssuesUsingJql" and r.ok for _, r in trace.calls[:first]), \
        "no successful JQL search before the first write"


@check("process", weight=2)
def read_before_acting(trace: Trace, task: Task) -> None:
    first = _first_write(trace)
    read = False
    for call, result in trace.calls[:first]:
        if result.ok and _targets(args(call), task):
            fields = result.body.get("fields", {}) if isinstance(result.body, dict) else {}
            read |= result.operation == "getComments" or (result.operation == "getIssue" and "comment" in fields)
    assert read, f"the comments of {task.data['key']} were not read before acting"


CHECKS = (requested_actions_done, only_target_changed, write_arguments_correct, searched_first,
          read_before_acting, no_invalid_call,
          no_duplicate_write)


class JiraIssueTriage(AtlassianScenario):
    name = "jira_issue_triage"
    tool_names = ("searchAndReconsileIssuesUsingJql", "getIssue", "getComments", "addComment", "findUsers",
                  "assignIssue")
    checks = CHECKS
    max_turns = 12

    def __init__(self) -> None:
        super().__init__()
        self.scripts = {"oracle": oracle, "naive": naive, "spam": spam}

    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, dict[str, Any]]:
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
        data = {"key": target.key, "id": target.id, "project": project.key, "subject": subject,
                "customer": customer, "owner": owner.account_id if owner else None,
                "owner_name": owner.display_name if owner else None, "comments": n + len(notes)}
        return prompt, data


def oracle(task: Task) -> Generator[Any, list[ToolResult], None]:
    jql = f'project = {task.data["project"]} AND summary ~ "{task.data["subject"]}"'
    (found,) = yield [("searchAndReconsileIssuesUsingJql", {"jql": jql, "fields": ["summary"]})]
    key = found.body["issues"][0]["key"]
    (comments,) = yield [("getComments", {"issueIdOrKey": key})]
    texts = [adf_text(c["body"]) for c in comments.body["comments"]]
    writes = []
    if task.data["customer"]:
        line = next(t for t in texts if "affected customer is" in t)
        customer = line.split("affected customer is ")[1].split(" (")[0]
        body = adf_paragraphs([f"Affected customer: {customer}."])
        writes.append(("addComment", {"issueIdOrKey": key, "body": body}))
    if task.data["owner"]:
        line = next(t for t in texts if " owns the " in t)
        name = line.split(" owns the ")[0]
        (users,) = yield [("findUsers", {"query": name})]
        writes.append(("assignIssue", {"issueIdOrKey": key, "accountId": users.body[0]["accountId"]}))
    yield writes
    yield f"Triaged {key}."


def naive(task: Task) -> Generator[Any, list[ToolResult], None]:
    """Acts on the first issue of the project without searching or reading."""
    key = f"{task.data['project']}-1"
    if task.data["customer"]:
        yield [("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Affected customer: unknown."])})]
    if task.data["owner"]:
        yield [("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})]
    yield "Done."


def spam(task: Task) -> Generator[Any, list[ToolResult], None]:
    project = task.data["project"]
    for n in range(1, 4):
        key = f"{project}-{n}"
        yield [("searchAndReconsileIssuesUsingJql", {"jql": f"project = {project}"}),
               ("getIssue", {"issueIdOrKey": key}), ("getComments", {"issueIdOrKey": key}),
               ("findUsers", {"query": "a"}),
               ("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Looking into this."])}),
               ("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})]
    yield "Done."


SCENARIO = JiraIssueTriage()
