"""Tests for the JQL subset in ``scenarios.atlassian.jql``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.atlassian import jql_time
from scenarios.atlassian.jql import (
    MAX_DEPTH,
    UNBOUNDED,
    Bool,
    Clause,
    History,
    JqlError,
    Predicate,
    Query,
    parse,
    search,
)

ALICE = "5b10ac8d82e05b22cc7d4ef5"
BOB = "712020:bob"
PROJECTS = {"OPS": ["OPS", "10000", "Operations"], "WEB": ["WEB", "10001", "Website"]}


def issue(key: str, **fields: object) -> dict[str, object]:
    """An issue with every field empty except ``key``/``id``/``project`` and ``fields``."""
    number = int(key.split("-")[1])
    base: dict[str, object] = dict.fromkeys(("status", "assignee", "labels", "summary", "description"))
    base |= {"key": key, "id": str(10000 + number), "project": PROJECTS[key.split("-")[0]]}
    return base | fields


ALICE_AS = [ALICE, "Alice Smith"]
BOB_AS = [BOB, "Bob Jones"]
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
        component=["Backend", "10100"],
        fixversion=["1.0", "10200"],
        # Created To Do and assigned to Bob; Alice moved it to In Progress; Bob handed it to Alice.
        **{"history:status": [(["To Do", "1"], "2026-01-05T10:00:00.000+0000", None),
                              (["In Progress", "3"], "2026-01-06T09:00:00.000+0000", ALICE_AS)],
           "history:assignee": [(BOB_AS, "2026-01-05T10:00:00.000+0000", None),
                                (ALICE_AS, "2026-01-06T09:00:00.000+0000", BOB_AS)]},
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
        component=["Frontend", "10101"],
        fixversion=["1.0", "10200", "2.0", "10201"],
        # To Do -> In Progress -> Done, both by Bob.
        **{"history:status": [(["To Do", "1"], "2026-01-06T00:00:00.000+0000", None),
                              (["In Progress", "3"], "2026-01-07T10:00:00.000+0000", BOB_AS),
                              (["Done", "5"], "2026-01-08T11:00:00.000+0000", BOB_AS)]},
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
FORMATS = "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
FORMATS += "format e.g. '-5d', '4w 2d'."
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
        ("assignee = currentUser(x)", "Function 'currentUser' expected 0 arguments but received 1."),
        ("assignee = currentUser(,)", f"{SYNTAX}Expecting ')' but got ','. (line 1, character 24)"),
        ("assignee in membersOf(a b)", f"{SYNTAX}Expecting ')' but got 'b'. (line 1, character 25)"),
        ("assignee in membersOf(a,)", f"{SYNTAX}Expecting a function argument but got ')'. (line 1, character 25)"),
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


# -- dates relative to a fixed "now", and date functions ------------------------------------------------------
NOW = "2026-01-08T12:00:00.000+0000"  # a Thursday; the week began on Sunday 2026-01-04


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("updated >= -1d", ["WEB-3"]),
        ("updated >= -2d", ["OPS-10", "WEB-3"]),
        ("updated > '-3h'", ["WEB-3"]),
        ("created > -1w", ["OPS-10", "OPS-2", "WEB-3"]),
        ("created <= -1w", ["OPS-1"]),
        ("created < '-1w 2d'", []),  # the sign applies to every part: nine days back
        ("created > '-1w 2d'", ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]),
        ("created >= -5d AND created < -2d", ["OPS-10", "WEB-3"]),
        ("created >= startOfWeek()", ["OPS-10", "WEB-3"]),
        ("created < startOfWeek()", ["OPS-2", "OPS-1"]),
        ("created >= startOfDay(-3)", ["OPS-10", "WEB-3"]),
        ("created <= endOfDay(-3)", ["OPS-10", "OPS-2", "OPS-1"]),
        ("created >= startOfDay('-3d')", ["OPS-10", "WEB-3"]),
        ("updated >= endOfDay('-1d')", ["WEB-3"]),
        ("created >= startOfMonth()", ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]),
        ("created < startOfYear()", []),
        ("created > startOfMonth(-1) AND created < endOfMonth()", ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]),
        ("updated = now()", ["WEB-3"]),
        ("updated < NOW()", ["OPS-10", "OPS-2", "OPS-1"]),
        ("created >= startOfWeek(-1) AND created < startOfWeek()", ["OPS-2", "OPS-1"]),
    ],
)
def test_relative_dates_and_date_functions(jql: str, expected: list[str]) -> None:
    assert keys(jql, now=NOW) == expected


def test_date_functions_against_a_clock() -> None:
    now = jql_time.parse_now("2026-01-31T10:30:00.000+0000")  # a Saturday
    values = {call: jql_time.call(name, args, now) for call, (name, args) in {
        "now()": ("now", []), "startOfDay()": ("startOfDay", []), "endOfDay()": ("endOfDay", []),
        "startOfWeek()": ("startOfWeek", []), "endOfWeek()": ("endOfWeek", []),
        "startOfWeek(1)": ("startOfWeek", ["1"]), "startOfMonth()": ("startOfMonth", []),
        "endOfMonth()": ("endOfMonth", []), "endOfMonth(1)": ("endOfMonth", ["1"]),
        "startOfMonth('+14d')": ("startOfMonth", ["+14d"]), "startOfYear(-1)": ("startOfYear", ["-1"]),
        "endOfYear()": ("endOfYear", []), "startOfDay('-1w 1h')": ("startOfDay", ["-1w 1h"]),
    }.items()}
    assert values == {
        "now()": "2026-01-31T10:30", "startOfDay()": "2026-01-31T00:00", "endOfDay()": "2026-01-31T23:59",
        "startOfWeek()": "2026-01-25T00:00", "endOfWeek()": "2026-01-31T23:59", "startOfWeek(1)": "2026-02-01T00:00",
        "startOfMonth()": "2026-01-01T00:00", "endOfMonth()": "2026-01-31T23:59",
        "endOfMonth(1)": "2026-02-28T23:59", "startOfMonth('+14d')": "2026-01-15T00:00",
        "startOfYear(-1)": "2025-01-01T00:00", "endOfYear()": "2026-12-31T23:59",
        "startOfDay('-1w 1h')": "2026-01-23T23:00",
    }
    assert jql_time.relative("+1M", now) == "2026-02-28T10:30"  # the day clamped to the month's last
    assert jql_time.relative("-1y", now) == "2025-01-31T10:30"
    assert jql_time.relative("-90m", now) == "2026-01-31T09:00"
    assert [jql_time.relative(t, now) for t in ("2026-01-01", "abc", "-", "-1x", "1d x")] == [None] * 5


def test_relative_dates_follow_the_given_clock_not_the_wall_clock() -> None:
    assert keys("created > -1d", now="2026-01-06T12:00:00.000+0000") == ["WEB-3"]
    assert keys("created < -1d", now="2026-01-04T08:00:00.000+0000") == ["OPS-1"]
    assert parse("created > -1d", now=NOW).where == Clause("created", ">", ("2026-01-07T12:00",))


# -- users and groups ------------------------------------------------------------------------------------------
GROUPS = {"devs": [ALICE], "Ops Team": [BOB, "nobody-else"]}


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("assignee in membersOf(devs)", ["OPS-10", "OPS-1"]),
        ("assignee in membersOf('ops team')", ["WEB-3"]),  # group names in any case
        ("assignee not in membersOf(\"Ops Team\")", ["OPS-10", "OPS-1"]),  # the unassigned never match NOT IN
        ("assignee in membersOf(devs) OR assignee is EMPTY", ["OPS-10", "OPS-2", "OPS-1"]),
        ("assignee in (membersOf(devs), currentUser())", ["OPS-10", "WEB-3", "OPS-1"]),
        ("reporter in membersOf(devs)", []),
    ],
)
def test_members_of(jql: str, expected: list[str]) -> None:
    assert keys(jql, groups=GROUPS, current_user=BOB) == expected


# -- components and versions -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("component = Backend", ["OPS-10"]),
        ("component in (frontend, 10100)", ["OPS-10", "WEB-3"]),  # names in any case, or ids
        ("component is EMPTY", ["OPS-2", "OPS-1"]),
        ('fixVersion = "1.0"', ["OPS-10", "WEB-3"]),
        ("fixVersion = 2.0", ["WEB-3"]),
        ("fixVersion = 10201", ["WEB-3"]),
        ("fixVersion != 2.0", ["OPS-10"]),  # WEB-3 has 2.0 among others; the empty never match !=
        ("fixversion in (2.0) and component = frontend", ["WEB-3"]),
        ("affectedVersion is empty and project = OPS", ["OPS-10", "OPS-2", "OPS-1"]),
        ("project = OPS order by component desc", ["OPS-10", "OPS-2", "OPS-1"]),
    ],
)
def test_components_and_versions(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_known_components_and_versions() -> None:
    known = {"component": ["Backend", "10100", "Frontend", "10101"], "fixVersion": ["1.0", "2.0"]}
    assert keys("component = backend and fixVersion = '1.0'", known_values=known) == ["OPS-10"]
    assert error("fixVersion = 9.9", known_values=known) == "The value '9.9' does not exist for the field 'fixVersion'."
    assert error("component in (Mobile)", known_values=known) == (
        "The value 'Mobile' does not exist for the field 'component'.")


# -- history: WAS and CHANGED ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('status was "To Do"', ["OPS-10", "OPS-2", "WEB-3"]),  # now, or at any time before
        ("status was 'In Progress'", ["OPS-10", "WEB-3"]),
        ("status was 3", ["OPS-10", "WEB-3"]),  # ids too
        ("status was not 'In Progress'", ["OPS-2", "OPS-1"]),
        ("status was in (Done, 'To Do')", ["OPS-10", "OPS-2", "WEB-3", "OPS-1"]),
        ("status was not in (Done, 'To Do')", []),
        ("status was not in (Done)", ["OPS-10", "OPS-2"]),
        ("status was 'To Do' before '2026-01-06'", ["OPS-10", "OPS-2"]),
        ("status was 'In Progress' after '2026-01-07'", ["OPS-10", "WEB-3"]),
        ("status was 'In Progress' after '2026-01-08 11:30'", ["OPS-10"]),  # WEB-3 left it at 11:00
        ("status was 'In Progress' on '2026-01-06'", ["OPS-10"]),
        ("status was 'In Progress' on 2026-01-07", ["OPS-10", "WEB-3"]),
        ("status was 'In Progress' during ('2026-01-06', '2026-01-06 12:00')", ["OPS-10"]),
        ("status was 'In Progress' by 'Alice Smith'", ["OPS-10"]),
        ("status was 'In Progress' by currentUser()", ["WEB-3"]),
        ("status was 'To Do' by currentUser()", []),  # the value an issue was created with was set by no one
        ("status was 'In Progress' before '2026-01-07' after '2026-01-06'", ["OPS-10"]),
        ("status was not 'To Do' before '2026-01-06'", ["WEB-3", "OPS-1"]),
        ("assignee was 'Bob Jones'", ["OPS-10", "WEB-3"]),
        ("assignee was EMPTY", ["OPS-2"]),
        ("assignee was currentUser()", ["OPS-10", "WEB-3"]),
        ("assignee was in membersOf(devs)", ["OPS-10", "OPS-1"]),
        ("status changed", ["OPS-10", "WEB-3"]),
        ("NOT status changed", ["OPS-2", "OPS-1"]),
        ("status changed from 'To Do' to 'In Progress'", ["OPS-10", "WEB-3"]),
        ("status changed to Done", ["WEB-3"]),
        ("status changed from 'In Progress'", ["WEB-3"]),
        ("status changed from Done", []),
        ("status changed by 'bob jones'", ["WEB-3"]),
        ("status changed by currentUser() after '2026-01-08'", ["WEB-3"]),
        ("status changed before '2026-01-07'", ["OPS-10"]),
        ("status changed on '2026-01-07'", ["WEB-3"]),
        ("status changed during ('2026-01-06', '2026-01-07')", ["OPS-10"]),
        ("status changed after -1d", ["WEB-3"]),
        ("status changed after startOfWeek() to 'In Progress' by membersOf(devs)", ["OPS-10"]),
        ("assignee changed from 'Bob Jones' to 'Alice Smith'", ["OPS-10"]),
        ("assignee changed from EMPTY", []),
        ("assignee changed to EMPTY", []),
        ("resolution changed", []),
        ("status was Done and status changed to Done by currentUser() order by key desc", ["WEB-3"]),
    ],
)
def test_history_operators(jql: str, expected: list[str]) -> None:
    assert keys(jql, now=NOW, current_user=BOB, groups=GROUPS) == expected


def test_history_clause_shape() -> None:
    where = parse("status changed from 'To Do' to Done by currentUser() during (2026-01-01, -1d)", now=NOW,
                  current_user=ALICE).where
    assert where == History("status", "changed", (), (
        Predicate("from", ("To Do",)), Predicate("to", ("Done",)), Predicate("by", (ALICE,)),
        Predicate("during", ("2026-01-01T00:00", "2026-01-07T12:00"))))
    assert parse("fixVersion WAS NOT IN (1.0, EMPTY)").where == History("fixversion", "was not in", ("1.0", None))


HISTORY_ERRORS = [
    ("summary was a", "The operator 'was' is not supported by the 'summary' field."),
    ("labels changed", "The operator 'changed' is not supported by the 'labels' field."),
    ("status was (a, b)", "The operator 'was' does not support list values for the field 'status'."),
    ("status was (a)", "The operator 'was' does not support list values for the field 'status'."),
    ("status changed from", f"{OPERAND} before the end of the query."),
    ("status was Done from Done", f"{SYNTAX}Expecting either 'OR' or 'AND' but got 'from'. (line 1, character 17)"),
    ("status changed during (2026-01-01)", "The 'DURING' predicate takes two dates: DURING (start, end)."),
    ("status changed during 2026-01-01", f"{SYNTAX}Expecting '(' but got '2026-01-01'. (line 1, character 23)"),
    ("status changed after yesterday", f"Date value 'yesterday' for field 'AFTER' is invalid. {FORMATS}"),
    ("status changed before EMPTY", "The 'BEFORE' predicate does not support EMPTY values."),
    ("status changed by EMPTY", "The 'BY' predicate does not support EMPTY values."),
    ("status was Nope", "The value 'Nope' does not exist for the field 'status'."),
    ("status changed to Nope", "The value 'Nope' does not exist for the field 'status'."),
    ("was = a", f"{SYNTAX}Expecting a field name but got 'was'. "
                "You must surround 'was' in quotation marks to use it as a field name. (line 1, character 1)"),
]


@pytest.mark.parametrize(("jql", "message"), HISTORY_ERRORS)
def test_history_errors(jql: str, message: str) -> None:
    assert error(jql, known_values={"status": ["To Do", "In Progress", "Done"]}, now=NOW) == message


FUNCTION_ERRORS = [
    ("assignee = membersOf(devs)", "Function 'membersOf' returns a list: use it with IN or NOT IN, not '='."),
    ("assignee in membersOf(nope)", "The group 'nope' for function 'membersOf' does not exist."),
    ("assignee in membersOf()", "Function 'membersOf' expected 1 argument but received 0."),
    ("status in membersOf(devs)", "Function 'membersOf' is not valid for the field 'status'."),
    ("created > now(1)", "Function 'now' expected 0 arguments but received 1."),
    ("created > startOfDay(x)",
     "Function 'startOfDay' has an invalid offset 'x'. Use a number or a duration such as '-1d' or '+2w'."),
    ("created > endOfMonth(1, 2)", "Function 'endOfMonth' expected between 0 and 1 arguments but received 2."),
    ("status = startOfDay()", "Function 'startOfDay' is not valid for the field 'status'."),
    ("issue in linkedIssues(OPS-1)", "Unable to find JQL function 'linkedIssues()'."),
    ("created > -99999999d", f"Date value '-99999999d' for field 'created' is invalid. {FORMATS}"),
]


@pytest.mark.parametrize(("jql", "message"), FUNCTION_ERRORS)
def test_function_errors(jql: str, message: str) -> None:
    assert error(jql, groups=GROUPS, now=NOW) == message


def test_functions_supplied_by_the_caller() -> None:
    calls: list[tuple[str, list[str]]] = []

    def linked(field: str, args: list[str]) -> list[str]:
        calls.append((field, args))
        if args != ["OPS-1"]:
            raise JqlError("Issue 'X' could not be found in function 'linkedIssues'.")
        return ["10002"]

    functions = {"linkedissues": linked}
    assert keys("issue in linkedIssues('OPS-1') order by key", functions=functions) == ["OPS-2"]
    assert calls == [("key", ["OPS-1"])]
    assert error("key in linkedIssues(X)", functions=functions) == (
        "Issue 'X' could not be found in function 'linkedIssues'.")


HISTORY_TOKENS = st.sampled_from(
    [
        "status", "assignee", "fixVersion", "was", "not", "in", "changed", "from", "to", "after", "before", "on",
        "during", "by", "(", ")", ",", "'To Do'", "Done", "EMPTY", "-1d", "'2026-01-05'", "startOfDay(-1)",
        "membersOf(devs)", "currentUser()", "now()", "and", "or",
    ]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(HISTORY_TOKENS, max_size=20))
def test_fuzz_history_and_functions(tokens: list[str]) -> None:
    try:
        query = parse(" ".join(tokens), current_user=ALICE, now=NOW, groups=GROUPS)
    except JqlError:
        return
    query.sort([i for i in SAMPLE if query.matches(i)])
