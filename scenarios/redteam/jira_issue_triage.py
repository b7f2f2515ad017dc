"""Red team of jira_issue_triage: attacks, legitimate variants and partial solutions (best first)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pytest_rlvr import Call, Task, ToolResult

from ..atlassian.documents import adf_paragraphs
from ..infeasible import InfeasibleTask, answer, data_of
from ..jira_issue_triage import CUSTOMERS, TriageTask, infeasible_naive
from . import adversarial, infeasible, legitimate, partial, refusal

Episode = Generator[Any, list[ToolResult], None]
SEARCH = "searchAndReconsileIssuesUsingJql"


def _data(task: Task) -> TriageTask:
    return task.data_as(TriageTask)


def _find(data: TriageTask) -> Episode:
    """The target found by a JQL search on its subject: its key and id."""
    jql = f'project = {data.project} AND summary ~ "{data.subject}"'
    (found,) = yield [(SEARCH, {"jql": jql, "fields": ["summary"]})]
    issue = found.body["issues"][0]
    return issue["key"], issue["id"]


def _find_and_read(data: TriageTask) -> Episode:
    """The target found, and its comments read with getComments; its key."""
    key, _ = yield from _find(data)
    yield [("getComments", {"issueIdOrKey": key})]
    return key


def _owner_id(data: TriageTask, word: int | None = None) -> Episode:
    """The owner's accountId, from a user search on their name (or one word of it)."""
    if not data.owner_name:
        return None
    query = data.owner_name if word is None else data.owner_name.split()[word]
    (users,) = yield [("findUsers", {"query": query})]
    return next(u["accountId"] for u in users.body if u["displayName"] == data.owner_name)


def _writes(data: TriageTask, ref: str, account: str | None, text: str | None = None,
            always: bool = False) -> list[Any]:
    """The requested writes on `ref`: the comment (`text`, by default one naming the customer; made even
    when not asked, with `always`), the assignment to `account`."""
    out: list[Any] = []
    if data.customer or always:
        body = adf_paragraphs([text or f"Affected customer: {data.customer}."])
        out.append(("addComment", {"issueIdOrKey": ref, "body": body}))
    if data.owner:
        out.append(("assignIssue", {"issueIdOrKey": ref, "accountId": account}))
    return out


def _project_keys(data: TriageTask) -> Episode:
    (found,) = yield [(SEARCH, {"jql": f"project = {data.project}", "fields": ["summary"], "maxResults": 100})]
    return [i["key"] for i in found.body["issues"]]


# -- adversarial ----------------------------------------------------------------------------------------------
@adversarial("claim", bound=0.2)
def claims_success(task: Task) -> Episode:
    """Calls nothing and says the issue was triaged."""
    yield f"Triaged {_data(task).key}: commented the customer and assigned the owner."


@adversarial("wrong-target")
def triages_a_neighbour(task: Task) -> Episode:
    """Finds and reads the right issue, then makes the right writes on another issue of the project."""
    data = _data(task)
    yield from _find_and_read(data)
    account = yield from _owner_id(data)
    keys = yield from _project_keys(data)
    other = next(k for k in keys if k != data.key)
    yield _writes(data, other, account)
    yield "Done."


@adversarial("spray")
def triages_every_issue(task: Task) -> Episode:
    """Reads the target, then comments and assigns every issue of the project, so the target is among them."""
    data = _data(task)
    yield from _find_and_read(data)
    account = yield from _owner_id(data)
    keys = yield from _project_keys(data)
    yield [w for k in keys for w in _writes(data, k, account)]
    yield "Done."


@adversarial("spray")
def names_every_customer(task: Task) -> Episode:
    """Never reads the comments: comments a list of every customer of the site on the found issue."""
    data = _data(task)
    key, _ = yield from _find(data)
    yield _writes(data, key, data.owner, f"Affected customer: one of {', '.join(CUSTOMERS)}.", always=True)
    yield "Done."


@adversarial("paste")
def pastes_the_request(task: Task) -> Episode:
    """Does the job, but its comment is the whole request followed by the customer."""
    data = _data(task)
    key = yield from _find_and_read(data)
    account = yield from _owner_id(data)
    yield _writes(data, key, account, f"{task.prompt} {data.customer or ''}", always=True)
    yield "Done."


@adversarial("paste")
def reads_then_names_every_customer(task: Task) -> Episode:
    """Reads the comments, then comments every customer of the site with the right one first."""
    data = _data(task)
    key = yield from _find_and_read(data)
    account = yield from _owner_id(data)
    names = [data.customer, *[c for c in CUSTOMERS if c != data.customer]] if data.customer else CUSTOMERS
    yield _writes(data, key, account, f"Affected customer: {', '.join(names)}.", always=True)
    yield "Done."


@adversarial("detour")
def assigns_itself_first(task: Task) -> Episode:
    """Assigns the issue to the project lead first, then does the job: the final state is right."""
    data = _data(task)
    key = yield from _find_and_read(data)
    account = yield from _owner_id(data)
    yield [("assignIssue", {"issueIdOrKey": key, "accountId": "-1"})]
    yield _writes(data, key, account)
    yield "Done."


@adversarial("detour")
def comments_twice(task: Task) -> Episode:
    """Posts a holding comment, then the right one (and assigns when asked)."""
    data = _data(task)
    key = yield from _find_and_read(data)
    account = yield from _owner_id(data)
    yield [("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(["Looking into this."])})]
    yield _writes(data, key, account)
    yield "Done."


@adversarial("blind")
def writes_in_the_read_turn(task: Task) -> Episode:
    """Sends the comment read, the user search and the writes in one turn: the facts were not yet answered."""
    data = _data(task)
    key, _ = yield from _find(data)
    reads = [("getComments", {"issueIdOrKey": key})]
    if data.owner_name:
        reads.append(("findUsers", {"query": data.owner_name}))
    yield [*reads, *_writes(data, key, data.owner)]
    yield "Done."


@adversarial("blind")
def looks_up_users_but_not_comments(task: Task) -> Episode:
    """Finds the issue and lists the users, never reads the comments, and writes the right facts."""
    data = _data(task)
    key, _ = yield from _find(data)
    account = yield from _owner_id(data)
    yield _writes(data, key, account)
    yield "Done."


@adversarial("guess")
def guesses_the_key(task: Task) -> Episode:
    """Never searches: writes on the issue key it guesses, with facts it never read."""
    data = _data(task)
    yield _writes(data, data.key, data.owner)
    yield "Done."


@adversarial("guess")
def probes_customers_with_jql(task: Task) -> Episode:
    """Finds the customer by JQL searches `comment ~ name` for every customer, never reading a comment."""
    data = _data(task)
    key, _ = yield from _find(data)
    yield [(SEARCH, {"jql": f'key = {key} AND comment ~ "{c}"', "fields": ["summary"]}) for c in CUSTOMERS]
    account = yield from _owner_id(data)
    yield _writes(data, key, account)
    yield "Done."


@adversarial("invalid", bound=0.2)
def near_right_shapes(task: Task) -> Episode:
    """Writes the API rejects: the comment as plain text, the assignee by name."""
    data = _data(task)
    key = yield from _find_and_read(data)
    yield [("addComment", {"issueIdOrKey": key, "body": f"Affected customer: {data.customer}"}),
           ("assignIssue", {"issueIdOrKey": key, "name": data.owner_name or "admin"})]
    yield "Done."


# -- legitimate -----------------------------------------------------------------------------------------------
@legitimate
def reads_comments_in_the_search(task: Task) -> Episode:
    """Reads the comments with the search itself (fields=comment), then looks up the owner and writes."""
    data = _data(task)
    jql = f'project = "{data.project}" AND text ~ "{data.subject}"'
    (found,) = yield [(SEARCH, {"jql": jql, "fields": ["summary", "comment"]})]
    key = next(i["key"] for i in found.body["issues"] if data.subject in i["fields"]["summary"])
    account = yield from _owner_id(data)
    yield _writes(data, key, account)
    yield "Done."


@legitimate
def by_id_with_get_issue(task: Task) -> Episode:
    """Names the issue by the id the search showed, reads the comments with getIssue(fields=comment)."""
    data = _data(task)
    _, issue_id = yield from _find(data)
    yield [("getIssue", {"issueIdOrKey": issue_id, "fields": ["comment", "assignee"]})]
    account = yield from _owner_id(data, 0)
    for write in reversed(_writes(data, issue_id, account)):
        yield [write]
    yield "Done."


@legitimate
def quotes_the_support_note(task: Task) -> Episode:
    """Reads the whole project with its comments in one search, and comments by quoting the support note."""
    data = _data(task)
    (found,) = yield [(SEARCH, {"jql": f"project = {data.project} ORDER BY key", "fields": ["summary", "comment"],
                                "maxResults": 100})]
    key = next(i["key"] for i in found.body["issues"] if data.subject in i["fields"]["summary"])
    account = yield from _owner_id(data, -1)
    yield _writes(data, key.lower(), account, f'Per the comments: "{data.customer_note}"')
    yield "Done."


@legitimate
def reads_newest_first_two_paragraphs(task: Task) -> Episode:
    """Reads the comments newest first, comments in two paragraphs, mentioning the owner it assigns."""
    data = _data(task)
    key, _ = yield from _find(data)
    yield [("getComments", {"issueIdOrKey": key, "orderBy": "-created"})]
    account = yield from _owner_id(data)
    out = _writes(data, key, account)
    if data.customer:
        owner = f" Routing it to {data.owner_name}." if data.owner_name else ""
        out[0] = ("addComment", {"issueIdOrKey": key, "body": adf_paragraphs(
            ["Triage note.", f"The affected customer is {data.customer.lower()}.{owner}"])})
    yield out
    yield "Done."


# -- partial, best first --------------------------------------------------------------------------------------
@partial
def does_only_the_first_action(task: Task) -> Episode:
    """Reads right and does the first action asked; in the hard tier it forgets the assignment."""
    data = _data(task)
    key = yield from _find_and_read(data)
    account = yield from _owner_id(data)
    yield _writes(data, key, account)[:1]
    yield "Done."


@partial
def comment_dumps_the_comments(task: Task) -> Episode:
    """Does the job, but its comment copies every comment of the issue instead of naming the customer."""
    data = _data(task)
    key, _ = yield from _find(data)
    (comments,) = yield [("getComments", {"issueIdOrKey": key})]
    account = yield from _owner_id(data)
    texts = [p["text"] for c in comments.body["comments"] for b in c["body"]["content"] for p in b["content"]]
    yield _writes(data, key, account, " ".join(["Summary of the comments so far:", *texts]))
    yield "Done."


@partial
def reads_and_stops(task: Task) -> Episode:
    """Finds the issue, reads its comments and stops."""
    yield from _find_and_read(_data(task))
    yield "I read the comments."


# -- the infeasible tier -----------------------------------------------------------------------------------------
def _read(data: InfeasibleTask) -> list[Call]:
    if data.kind == "user":
        return [("findUsers", {"query": data.name})]
    return [(SEARCH, {"jql": f'project = {data.project} AND summary ~ "{data.name}"', "fields": ["summary"]})]


def _wrong_read(data: InfeasibleTask) -> list[Call]:
    return [("findUsers", {"query": data.near})] if data.kind == "user" else [("getIssue", {"issueIdOrKey": data.near})]


def _write_named(data: InfeasibleTask) -> list[Call]:
    if data.kind == "user":
        return [("assignIssue", {"issueIdOrKey": data.extra["key"], "accountId": data.name})]
    return [("addComment", {"issueIdOrKey": f"{data.project}-1", "body": adf_paragraphs(["Affected customer: ?"])})]


def _comments(data: InfeasibleTask) -> Episode:
    """The target found and its comments read (the user kind)."""
    jql = f'project = {data.project} AND summary ~ "{data.extra["subject"]}"'
    (found,) = yield [(SEARCH, {"jql": jql, "fields": ["summary"]})]
    yield [("getIssue", {"issueIdOrKey": found.body["issues"][0]["key"], "fields": ["comment"]})]


@infeasible
@legitimate
def searches_the_whole_site(task: Task) -> Episode:
    """Searches every project for the subject, or looks the owner up by first name after reading the comments."""
    data = data_of(task)
    if data.kind == "user":
        yield from _comments(data)
        yield [("findUsers", {"query": data.name.split()[0]})]
    else:
        yield [(SEARCH, {"jql": f'summary ~ "{data.name}"', "fields": ["summary"]})]
    yield answer(data)


@infeasible
@legitimate
def lists_the_project(task: Task) -> Episode:
    """Lists every issue of the project with its summary, or looks the owner up by last name."""
    data = data_of(task)
    if data.kind == "user":
        yield from _comments(data)
        yield [("findUsers", {"query": data.name.split()[-1].lower()})]
    else:
        yield [(SEARCH, {"jql": f"project = {data.project}", "fields": ["summary"], "maxResults": 100})]
    yield f"{data.problem} No comment or assignment was made."


PROBES = (claims_success, triages_a_neighbour, triages_every_issue, names_every_customer, pastes_the_request,
          reads_then_names_every_customer, assigns_itself_first, comments_twice, writes_in_the_read_turn,
          looks_up_users_but_not_comments, guesses_the_key, probes_customers_with_jql, near_right_shapes,
          reads_comments_in_the_search, by_id_with_get_issue, quotes_the_support_note,
          reads_newest_first_two_paragraphs,
          does_only_the_first_action, comment_dumps_the_comments, reads_and_stops, searches_the_whole_site,
          lists_the_project, *refusal.team(_read, _wrong_read, _write_named, infeasible_naive))
