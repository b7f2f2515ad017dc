"""Tests for the JQL subset in ``scenarios.atlassian.jql``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.atlassian.jql import MAX_DEPTH, UNBOUNDED, Bool, Clause, JqlError, Query, parse, search

ALICE = "5b10ac8d82e05b22cc7d4ef5"
BOB = "712020:bob"
PROJECTS = {"OPS": ["OPS", "10000", "Operations"], "WEB": ["WEB", "10001", "Website"]}


def issue(key: str, **fields: object) -> dict[str, object]:
    """An issue with every field empty except ``key``/``id``/``project`` and ``fields``."""
    number = int(key.split("-")[1])
    base: dict[str, object] = dict.fromkeys(("status", "assignee", "labels", "summary", "description"))
    base |= {"key": key, "id": str(10000 + number), "project": PROJECTS[key.split("-")[0]]}
    return base | fields


ISSUES = [
    issue(
        "OPS-10",
        status=["In Progress", "3"],
        statuscategory=["In Progress", "indeterminate", "4"],
        issuetype=["Bug", "10004"],
        priority=["High", "2"],
        assignee=[ALICE, "Alice Smith"],
        labels=["backend", "urgent"],
        summary="Database connection pool exhausted",
        description="Connections leak under heavy load.",
        comment=["Restarted the pods", "Root cause is the retry loop"],
        created="2026-01-05T10:00:00.000+0000",
        updated="2026-01-07T09:30:00.000+0000",
    ),
    issue(
        "OPS-2",
        status=["To Do", "1"],
        statuscategory=["To Do", "new", "2"],
        issuetype=["Task", "10003"],
        priority=["Low", "4"],
        labels=[],
        summary="Rotate TLS certificates",
        created="2026-01-03T08:00:00.000+0000",
        updated="2026-01-03T08:00:00.000+0000",
    ),
    issue(
        "WEB-3",
        status=["Done", "5"],
        statuscategory=["Done", "done", "3"],
        issuetype=["Bug", "10004"],
        priority=["High", "2"],
        resolution=["Done", "10000"],
        assignee=[BOB, "Bob Jones"],
        labels=["frontend"],
        summary="Login page styling is broken",
        description="The backend returns 200 but the page renders blank.",
        created="2026-01-06T00:00:00.000+0000",
        updated="2026-01-08T12:00:00.000+0000",
    ),
    issue(
        "OPS-1",
        status=["Done", "5"],
        statuscategory=["Done", "done", "3"],
        issuetype=["Task", "10003"],
        assignee=[ALICE, "Alice Smith"],
        labels=["backend"],
        summary="Upgrade the backend database",
        created="2026-01-01T09:00:00.000+0000",
        updated="2026-01-02T09:00:00.000+0000",
    ),
]


def keys(jql: str, **kwargs: Any) -> list[str]:
    """The keys of the matching ``ISSUES``, in result order."""
    return [str(i["key"]) for i in search(jql, ISSUES, **kwargs)]


def error(jql: str, **kwargs: Any) -> str:
    """The message of the JqlError that searching ``ISSUES`` with ``jql`` raises."""
    with pytest.raises(JqlError) as caught:
        search(jql, ISSUES, **kwargs)
    return str(caught.value)


def values(jql: str) -> tuple[str | None, ...]:
    """The values of a single-clause query."""
    where = parse(jql).where
    assert isinstance(where, Clause)
    return where.values


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = OPS", ["OPS-10", "OPS-2", "OPS-1"]),
        ("project = operations", ["OPS-10", "OPS-2", "OPS-1"]),  # any alias, any case
        ("project = 10001", ["WEB-3"]),
        ('status = "in progress"', ["OPS-10"]),
        ("status = 3", ["OPS-10"]),
        ("status != Done", ["OPS-10", "OPS-2"]),
        ("assignee != 'Alice Smith'", ["WEB-3"]),  # the unassigned OPS-2 is excluded, as in Jira
        ("labels = backend", ["OPS-10", "OPS-1"]),  # list membership
        ("labels != backend", ["WEB-3"]),
        ("status IN (Done, 'To Do')", ["OPS-2", "WEB-3", "OPS-1"]),
        ("status in (done)", ["WEB-3", "OPS-1"]),
        ("status NOT IN (Done, 'To Do')", ["OPS-10"]),
        ('assignee NOT IN ("712020:bob")', ["OPS-10", "OPS-1"]),
        ("assignee IS EMPTY", ["OPS-2"]),
        ("assignee is null", ["OPS-2"]),
        ("assignee = EMPTY", ["OPS-2"]),
        ("labels IS EMPTY", ["OPS-2"]),  # an empty list is empty
        ("resolution IS NOT EMPTY", ["WEB-3"]),
        ("resolution is not null", ["WEB-3"]),
        ("resolution = Unresolved", ["OPS-10", "OPS-2", "OPS-1"]),  # Jira's name for an empty resolution
        ("resolution in (unresolved, Done)", ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]),
        ("resolution != Unresolved", ["WEB-3"]),
        ("assignee != EMPTY", ["OPS-10", "WEB-3", "OPS-1"]),
        ("assignee in (EMPTY, 'Bob Jones')", ["OPS-2", "WEB-3"]),
        ("statusCategory = indeterminate", ["OPS-10"]),
        ("STATUSCATEGORY = 'To Do'", ["OPS-2"]),
        ("type = Bug", ["OPS-10", "WEB-3"]),
        ("issuetype = bug", ["OPS-10", "WEB-3"]),
        ("priority = High", ["OPS-10", "WEB-3"]),
        ("key = ops-2", ["OPS-2"]),
        ("issuekey = OPS-2", ["OPS-2"]),
        ("issue in (OPS-1, WEB-3)", ["WEB-3", "OPS-1"]),
        ("id = 10002", ["OPS-2"]),
        ("key != OPS-2 AND project = OPS", ["OPS-10", "OPS-1"]),
        ("summary ~ database", ["OPS-10", "OPS-1"]),
        ("summary ~ 'DATA conn'", ["OPS-10"]),  # every word, as a word prefix, any case
        ('summary ~ "data*"', ["OPS-10", "OPS-1"]),  # a trailing wildcard is just a prefix
        ("summary ~ base", []),  # prefixes of words, not substrings
        ("summary !~ database", ["OPS-2", "WEB-3"]),
        ("description ~ load", ["OPS-10"]),
        ("description !~ load", ["WEB-3"]),  # empty descriptions are excluded
        ("description IS EMPTY", ["OPS-2", "OPS-1"]),
        ("comment ~ 'retry'", ["OPS-10"]),
        ("text ~ backend", ["WEB-3", "OPS-1"]),  # summary, description and comment
        ("text ~ pods", ["OPS-10"]),
        ("text ~ backend AND project = WEB", ["WEB-3"]),
        ("created > 2026-01-05", ["OPS-10", "WEB-3"]),  # after midnight, as in Jira
        ("created >= '2026/01/06'", ["WEB-3"]),
        ("created < 2026-01-05", ["OPS-2", "OPS-1"]),
        ("created <= '2026-01-05 10:00'", ["OPS-10", "OPS-2", "OPS-1"]),
        ("created = '2026-01-06'", ["WEB-3"]),
        ("updated >= 2026-01-07 AND updated < 2026-01-08", ["OPS-10"]),
        ("createdDate > 2026-01-05", ["OPS-10", "WEB-3"]),
    ],
)
def test_operators(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # AND binds tighter than OR.
        ("project = WEB OR status = 'To Do' AND labels IS EMPTY", ["OPS-2", "WEB-3"]),
        ("(project = WEB OR status = 'To Do') AND labels = frontend", ["WEB-3"]),
        ("status = Done AND project = OPS OR priority = Low", ["OPS-2", "OPS-1"]),
        # NOT binds tighter than AND, and is plain negation (keeps empty fields).
        ("NOT assignee = 'Alice Smith' AND project = OPS", ["OPS-2"]),
        ("NOT (status = Done OR status = 'To Do')", ["OPS-10"]),
        ("not not status = done", ["WEB-3", "OPS-1"]),
        ("((((status = Done))))", ["WEB-3", "OPS-1"]),
        ("project = OPS and not labels = backend or key = WEB-3", ["OPS-2", "WEB-3"]),
    ],
)
def test_precedence(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_tree_shape() -> None:
    assert parse("labels = x OR status = y AND NOT priority = z").where == Bool(
        "or",
        (
            Clause("labels", "=", ("x",)),
            Bool("and", (Clause("status", "=", ("y",)), Bool("not", (Clause("priority", "=", ("z",)),)))),
        ),
    )
    assert parse("key in (A-1, EMPTY) and created >= '2026/1/5 7:05'").where == Bool(
        "and", (Clause("key", "in", ("A-1", None)), Clause("created", ">=", ("2026-01-05T07:05",)))
    )


def test_quoting_and_escapes() -> None:
    assert keys(r'summary ~ "Rotate TLS"') == ["OPS-2"]
    assert keys(r"summary ~ 'Rotate\u0020TLS'") == ["OPS-2"]
    assert keys(r'labels = "back\u0065nd"') == ["OPS-10", "OPS-1"]
    assert parse(r"labels = 'it\'s'").where == parse('labels = "it\'s"').where
    assert values(r'labels = "a\"b\\c\td\n\r"') == ('a"b\\c\td\n\r',)
    assert values(r'labels = "x\ y"') == ("x y",)
    assert values('labels = "{reserved} [chars] @ok"') == ("{reserved} [chars] @ok",)
    assert values("labels = 'multi\nline'") == ("multi\nline",)
    assert keys('"status" = Done and "Project" = OPS') == ["OPS-1"]  # quoted field names


def test_keywords_and_fields_are_case_insensitive() -> None:
    assert keys("PROJECT = ops aNd Status In (DONE) oRdEr By KEY dEsC") == ["OPS-1"]
    assert keys("Labels iS nOt EmPtY and NoT labels = BACKEND") == ["WEB-3"]
    assert parse("order BY Created asc, issueKey DESC, type").order_by == (
        ("created", False),
        ("key", True),
        ("issuetype", False),
    )


def test_current_user() -> None:
    assert keys("assignee = currentUser()", current_user=ALICE) == ["OPS-10", "OPS-1"]
    assert keys(f"assignee in (currentUser(), '{BOB}')", current_user=ALICE) == ["OPS-10", "WEB-3", "OPS-1"]
    assert keys("assignee != CURRENTUSER()", current_user=ALICE) == ["WEB-3"]
    assert keys("reporter = currentUser() OR assignee = currentUser ( )", current_user=BOB) == ["WEB-3"]
    # Anonymous: currentUser() is a value nobody has.
    assert keys("assignee = currentUser()") == []
    assert keys("assignee != currentUser()") == ["OPS-10", "WEB-3", "OPS-1"]


def test_order_by() -> None:
    assert keys("project = OPS ORDER BY key") == ["OPS-1", "OPS-2", "OPS-10"]  # numerically
    assert keys("key is not empty order by key desc") == ["WEB-3", "OPS-10", "OPS-2", "OPS-1"]
    assert keys("key is not empty order by created DESC") == ["WEB-3", "OPS-10", "OPS-2", "OPS-1"]
    assert keys("key is not empty ORDER BY status, key DESC") == ["WEB-3", "OPS-1", "OPS-10", "OPS-2"]
    # Empty values last in both directions; ties keep the input order (stable).
    assert keys("key is not empty order by assignee") == ["OPS-10", "OPS-1", "WEB-3", "OPS-2"]
    assert keys("key is not empty order by assignee desc") == ["WEB-3", "OPS-10", "OPS-1", "OPS-2"]
    assert keys("key is not empty order by resolution desc") == ["WEB-3", "OPS-10", "OPS-2", "OPS-1"]
    assert keys("project = OPS") == ["OPS-10", "OPS-2", "OPS-1"]  # no ORDER BY: input order
    assert parse("status = x order by " + ", ".join(["key"] * 7)).order_by == (("key", False),) * 7


def test_query_api() -> None:
    query = parse("project = OPS order by key")
    assert isinstance(query, Query) and query.bounded
    assert query.matches(ISSUES[0]) and not query.matches(ISSUES[2])
    assert [i["key"] for i in query.sort(ISSUES[:2])] == ["OPS-2", "OPS-10"]
    unbounded = parse("ORDER BY key DESC")
    assert unbounded.where is None and not unbounded.bounded and unbounded.matches(ISSUES[2])
    assert parse("").where is None and parse("   ").order_by == ()


def test_bounded_rule() -> None:
    for jql in ("", "  ", "order by key desc", "ORDER BY created"):
        assert error(jql) == UNBOUNDED
    assert UNBOUNDED == (
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    )
    assert keys("order by key", require_bounded=False) == ["OPS-1", "OPS-2", "OPS-10", "WEB-3"]
    assert keys("", require_bounded=False) == ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]


OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
SYNTAX = "Error in the JQL Query: "
OPERAND = f"{SYNTAX}Expecting either a value, list or function"
MISSING = "does not exist or you do not have permission to view it."
FORMATS = "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'."
ESCAPES = "is an illegal JQL escape sequence. The valid escape sequences are "
ESCAPES += "\\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX."
UNFINISHED = f"{SYNTAX}The quoted string '{{}}' has not been completed. (line 1, character 11)"


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("status Done", f"{SYNTAX}Expecting operator but got 'Done'. {OPERATORS} (line 1, character 8)"),
        ("status", f"{SYNTAX}Expecting operator before the end of the query. {OPERATORS}"),
        ("status not Done", f"{SYNTAX}Expecting operator but got 'Done'. {OPERATORS} (line 1, character 12)"),
        ("status = ", f"{OPERAND} before the end of the query."),
        ("status = )", f"{OPERAND} but got ')'. (line 1, character 10)"),
        ("status in (a,)", f"{OPERAND} but got ')'. (line 1, character 14)"),
        ("status = AND", f"{OPERAND} but got 'AND'. (line 1, character 10)"),
        ("(status = a", f"{SYNTAX}Expecting ')' before the end of the query."),
        ("status in (a, b", f"{SYNTAX}Expecting ')' before the end of the query."),
        ("(status = a))", f"{SYNTAX}Expecting either 'OR' or 'AND' but got ')'. (line 1, character 13)"),
        ("status = a b = c", f"{SYNTAX}Expecting either 'OR' or 'AND' but got 'b'. (line 1, character 12)"),
        ("status = a AND", f"{SYNTAX}Expecting a field name before the end of the query."),
        (
            "and = a",
            f"{SYNTAX}Expecting a field name but got 'and'. "
            "You must surround 'and' in quotation marks to use it as a field name. (line 1, character 1)",
        ),
        ("= a", f"{SYNTAX}Expecting a field name but got '='. (line 1, character 1)"),
        ("status = a order key", f"{SYNTAX}Expecting 'BY' but got 'key'. (line 1, character 18)"),
        ("status = a order by key asc key", f"{SYNTAX}Expecting ',' but got 'key'. (line 1, character 29)"),
        ("assignee = currentUser(x)", f"{SYNTAX}Expecting ')' but got 'x'. (line 1, character 24)"),
        ('summary ~ "open', UNFINISHED.format("open")),
        ("summary ~ 'a\\'", UNFINISHED.format("a\\'")),  # the backslash escapes the closing quote
        ('summary ~ "a\\qb"', f"{SYNTAX}'\\q' {ESCAPES} (line 1, character 13)"),
        ("status = a\n  AND\n (b = c", f"{SYNTAX}Expecting ')' before the end of the query."),
        (
            "status = a\nAND b c",
            f"{SYNTAX}Expecting operator but got 'c'. {OPERATORS} (line 2, character 7)",
        ),
        ("x" * 10_001, "The JQL query is too long: at most 10000 characters are allowed."),
        (
            "(" * (MAX_DEPTH + 1) + "status = a" + ")" * (MAX_DEPTH + 1),
            f"{SYNTAX}The query is nested too deeply (more than 50 levels). (line 1, character 51)",
        ),
        (
            "NOT " * (MAX_DEPTH + 1) + "status = a",
            f"{SYNTAX}The query is nested too deeply (more than 50 levels). (line 1, character 201)",
        ),
        ("status = a order by " + ", ".join(["key"] * 8), f"{SYNTAX}ORDER BY accepts at most 7 fields."),
        # Fields, operators and values.
        ("foo = bar", f"Field 'foo' {MISSING}"),
        ("project = OPS order by Foo", f"Field 'Foo' {MISSING}"),
        ("project = OPS order by text", "Field 'text' does not support sorting."),
        ("status ~ Done", "The operator '~' is not supported by the 'status' field."),
        ("Status !~ Done", "The operator '!~' is not supported by the 'Status' field."),
        ("summary > a", "The operator '>' is not supported by the 'summary' field."),
        ("summary = a", "The operator '=' is not supported by the 'summary' field."),
        ("text in (a, b)", "The operator 'in' is not supported by the 'text' field."),
        ("labels <= a", "The operator '<=' is not supported by the 'labels' field."),
        ("status = (a, b)", "The operator '=' does not support list values for the field 'status'."),
        ("created > EMPTY", "The operator '>' does not support searching for EMPTY values."),
        ("status is Done", "The operator 'is' only supports the values EMPTY and NULL."),
        ("status is not Done", "The operator 'is not' only supports the values EMPTY and NULL."),
        ("assignee = nobody()", "Unable to find JQL function 'nobody()'."),
        ("status = currentUser()", "Function 'currentUser' is not valid for the field 'status'."),
        ("created > yesterday", f"Date value 'yesterday' for field 'created' is invalid. {FORMATS}"),
        ("updated < 2026-02-30", f"Date value '2026-02-30' for field 'updated' is invalid. {FORMATS}"),
        # A field error before a syntax error still reports the syntax error.
        ("foo = bar AND status", f"{SYNTAX}Expecting operator before the end of the query. {OPERATORS}"),
        # The first field error wins.
        ("foo = bar AND baz = qux", f"Field 'foo' {MISSING}"),
    ],
)
def test_errors(jql: str, message: str) -> None:
    assert error(jql) == message


@pytest.mark.parametrize("char", list("{}[];?|*/%^$#@:+&!\\"))
def test_reserved_characters(char: str) -> None:
    escape = f"\\u{ord(char):04x}"
    assert error(f"summary ~ a{char}b") == (
        f"{SYNTAX}The character '{char}' is a reserved JQL character. "
        f"You must enclose it in a string or use the escape '{escape}' instead. (line 1, character 12)"
    )
    assert parse(f"summary ~ 'a{char}b'".replace("\\", "\\\\")).bounded  # fine inside quotes


KNOWN = {
    "project": ["OPS", "10000", "Operations", "WEB", "10001", "Website"],
    "status": ["To Do", "In Progress", "Done", "1", "3", "5"],
    "type": ["Bug", "Task"],  # aliases are accepted as keys too
}


def test_known_values() -> None:
    jql = "project = ops and status in ('done', 'TO DO') and issuetype = task"
    assert keys(jql, known_values=KNOWN) == ["OPS-2", "OPS-1"]
    for jql, value, field in [
        ("project = XYZ", "XYZ", "project"),
        ("status != Closed", "Closed", "status"),
        ("status not in (Done, Closed)", "Closed", "status"),
        ("type = Epic", "Epic", "type"),  # the field as written
    ]:
        message = f"The value '{value}' does not exist for the field '{field}'."
        assert error(jql, known_values=KNOWN) == message
    # Unchecked: fields without known values, EMPTY and functions.
    assert keys("priority = Blocker", known_values=KNOWN) == []
    jql = "status in (EMPTY, Done) and assignee != currentUser()"
    assert keys(jql, known_values=KNOWN) == ["WEB-3", "OPS-1"]
    assert keys("resolution = Unresolved", known_values={"resolution": ["Done"]}) == ["OPS-10", "OPS-2", "OPS-1"]


def test_precomputed_text_entry() -> None:
    issue_with_text = {"key": "OPS-7", "id": "10007", "summary": "Alpha", "text": "Alpha beta gamma"}
    assert search("text ~ gamma", [issue_with_text]) == [issue_with_text]
    assert search("text ~ alpha", [{"key": "OPS-8", "summary": "alpha", "text": None}]) != []


SAMPLE = ISSUES + [{"key": "BAD", "id": None, "summary": ["x", None], "created": "garbage", "labels": ("a",)}]


def assert_only_jql_errors(text: str) -> None:
    try:
        query = parse(text, current_user=ALICE)
    except JqlError:
        return
    query.sort([i for i in SAMPLE if query.matches(i)])


@settings(max_examples=2000, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text(text: str) -> None:
    assert_only_jql_errors(text)


TOKENS = st.sampled_from(
    [
        "status", "summary", "text", "created", "key", "assignee", "labels", "foo", "=", "!=", "~", "!~", "<",
        ">=", "in", "not", "is", "empty", "null", "and", "or", "order", "by", "desc", ",", "(", ")", "'a b'",
        '"x\\"', "OPS-2", "2026-01-05", "'2026/1/5 10:00'", "currentUser()", "now()", "!", "\n", "done",
    ]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(TOKENS, max_size=25))
def test_fuzz_token_soup(tokens: list[str]) -> None:
    assert_only_jql_errors(" ".join(tokens))
