"""CQL (``scenarios.atlassian.cql``): every field, operator and function against expected result sets, the
errors as Confluence Cloud words them, and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.atlassian.cql import MAX_DEPTH, MAX_LENGTH, PREFIX, CqlError, parse, search

NOW = "2026-01-05T10:00:00.000+0000"  # a Monday; the week starts on Sunday the 4th
ALICE, BOB = "5b10ac8d82e05b22cc7d4ef5", "6c21bd9e93f16c33dd8e5f06"


def record(id: str, type: str, space: str, title: str, text: str, creator: str, created: str,
           modified: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": id, "type": type, "space": space, "space.title": {"ENG": "Engineering", "SUP": "Support"}[space],
            "space.type": "global", "title": title, "text": [title, text, *extra.get("label", [])],
            "creator": creator, "contributor": creator, "created": f"{created}:00.000+0000",
            "lastmodified": f"{modified or created}:00.000+0000", **extra}


RECORDS = [
    record("1", "page", "ENG", "Engineering Home", "Welcome to the space.", ALICE, "2026-01-01T09:00", ancestor=[]),
    record("2", "page", "ENG", "Onboarding Guides", "How new engineers start. Release notes live elsewhere.", BOB,
           "2026-01-04T12:00", "2026-01-05T09:30", parent="1", ancestor=["1"], label=["infra", "docs"]),
    record("3", "page", "ENG", "Guide: Deploying", "Deploys run on Tuesdays.", ALICE, "2026-01-05T08:00",
           parent="2", ancestor=["1", "2"], label=["infra"]),
    record("4", "page", "SUP", "Release Notes", "Release notes for customers.", BOB, "2025-12-20T10:00",
           "2026-01-03T10:00", ancestor=[]),
    record("5", "comment", "SUP", "Re: Release Notes", "Thanks, this helped.", ALICE, "2026-01-05T09:59"),
    record("6", "space", "ENG", "Engineering", "Pages of the engineering team.", ALICE, "2025-12-01T00:00"),
]


def ids(cql: str, **context: Any) -> list[str]:
    return [r["id"] for r in search(cql, RECORDS, **{"now": NOW, "current_user": ALICE, **context})]


@pytest.mark.parametrize("cql, expected", [
    # type, id and content
    ("type = page", "1234"), ("type IN (comment, space)", "56"), ("type != page", "56"), ("TYPE = PAGE", "1234"),
    ("id = 3", "3"), ("content IN (3, 4)", "34"), ("id NOT IN (1, 2, 3)", "456"),
    # space and its aliases, quoted or not, case-insensitive values
    ("space = ENG", "1236"), ("space.key = eng", "1236"), ('space IN ("ENG", SUP) AND type = page', "1234"),
    ('space.title ~ "engineer"', "1236"), ("space.type = global", "123456"), ("space != ENG", "45"),
    # title: exact (case-insensitive) and text search with stemming, wildcards
    ('title = "release notes"', "4"), ("title ~ guide", "23"), ('title ~ "guid*"', "23"), ("title ~ depl?ying", "3"),
    ("title !~ guide", "1456"), ('title IN ("Engineering Home", "Release Notes")', "14"),
    # text, its phrases, and siteSearch (what the site search box queries)
    ('text ~ "release notes"', "245"), ('text ~ "\\"notes live\\""', "2"), ('text ~ "\\"live notes\\""', ""),
    ('siteSearch ~ "deploys"', "3"), ("text ~ infra", "23"), ("text !~ release", "136"),
    # labels: Lucene negation keeps what has no labels
    ("label = infra", "23"), ("label IN (docs, missing)", "2"), ("label != infra", "1456"),
    ("label NOT IN (infra, docs)", "1456"),
    # the tree
    ("ancestor = 1", "23"), ("parent = 2", "3"), ("parent = 1 OR parent = 2", "23"), ("ancestor = 4", ""),
    # people
    ("creator = currentUser()", "1356"), ("creator != currentUser()", "24"), (f"contributor = {BOB}", "24"),
    (f'creator IN ("{BOB}", nobody)', "24"),
    # dates: a day stands for the whole day; times are minutes; functions count from the fixed clock
    ('created >= "2026-01-05"', "35"), ('created = "2026/01/04"', "2"), ("created < 2026-01-01", "46"),
    ('created <= "2026-01-01"', "146"), ('created > "2026-01-04 12:00"', "35"),
    ('created >= "2026-01-04 12:00"', "235"),
    ('created != "2026-01-05"', "1246"), ('lastmodified > now("-1h")', "25"), ("created >= startOfDay()", "35"),
    ("created >= startOfWeek()", "235"), ("created < startOfMonth()", "46"),
    ('created >= startOfYear("-1y")', "123456"),
    ('created <= endOfDay("-1d")', "1246"), ("created > -2d", "235"), ('lastmodified = "2026-01-05"', "235"),
    ("lastmodified < now()", "123456"), ("created > endOfWeek()", ""),
    # boolean structure: NOT binds tighter than AND, AND tighter than OR; keywords in any case
    ("type = page AND NOT label = infra", "14"), ("NOT (type = page OR type = comment)", "6"),
    ("type = comment OR type = space AND space = SUP", "5"), ("(type = comment OR type = space) AND space = ENG", "6"),
    ("type = page and space = eng or label = docs", "123"), ("not not type = space", "6"),
    # ORDER BY (without a restriction too); ties keep the earlier keys' order
    ("type = page ORDER BY title", "1324"), ("order by created desc", "532146"),
    ("type = page order by space desc, title asc", "4132"), ("type = page ORDER BY lastmodified DESC", "2341"),
    ("ORDER BY id DESC", "654321"),
])
def test_query_forms_find_what_confluence_finds(cql: str, expected: str) -> None:
    assert ids(cql) == list(expected)


def test_context_functions_and_the_anonymous_user() -> None:
    assert ids("space = currentSpace()", space="SUP") == ["4", "5"]
    assert ids("ancestor = currentContent()", content="2") == ["3"]
    assert ids("space = currentSpace()") == []  # no cqlcontext: a value that matches nothing
    assert ids("creator = currentUser()", current_user=None) == []
    assert ids("creator != currentUser()", current_user=None) == list("123456")
    assert ids("id IN recentlyViewedContent() OR space IN favouriteSpaces()") == []


def test_records_without_the_sort_field_go_last_either_way() -> None:
    records = [{"id": "1", "title": "b"}, {"id": "2"}, {"id": "3", "title": "a"}]
    assert [r["id"] for r in search("order by title", records)] == ["3", "1", "2"]
    assert [r["id"] for r in search("order by title desc", records)] == ["1", "3", "2"]


USERS = [{"type": "user", "user": a, "user.accountid": a, "user.userkey": a, "user.fullname": n} for a, n in
         [("a1", "Alice Costa"), ("b2", "Bob Jones"), ("c3", "Joanna Smith")]]


@pytest.mark.parametrize("cql, expected", [
    ('user.fullname ~ "jo"', ["b2", "c3"]), ('user.fullname ~ "al co"', ["a1"]), ("user.fullname ~ smithers", []),
    ('user = "a1"', ["a1"]), ("user IN (a1, c3)", ["a1", "c3"]), ("user != a1", ["b2", "c3"]),
    ('user.accountid = "b2"', ["b2"]), ("type = user", ["a1", "b2", "c3"]), ("user = currentUser()", ["c3"]),
    ("type = user ORDER BY user.fullname DESC", ["c3", "b2", "a1"]),
])
def test_user_search_fields(cql: str, expected: list[str]) -> None:
    assert [r["user"] for r in search(cql, USERS, users=True, current_user="c3")] == expected


@pytest.mark.parametrize("cql, reason", [
    ("", "The query is empty."),
    ("   ", "The query is empty."),
    ("type =", "Expecting a value, a list of values or a function but got the end of the query."),
    ("type = page AND", "Expecting a field name but got the end of the query."),
    ("type = page)", "Expecting 'AND', 'OR' or 'ORDER BY' but got ')' at position 12."),
    ("(type = page", "Expecting ')' but got the end of the query."),
    ("type page", "Expecting an operator (=, !=, ~, !~, >, >=, <, <=, IN or NOT IN) but got 'page' at position 6."),
    ("type NOT page", "Expecting 'IN' but got 'page' at position 10."),
    ("type IN (page", "Expecting ',' or ')' but got the end of the query."),
    ("type IN ()", "Expecting a value, a list of values or a function but got ')' at position 10."),
    ('title ~ "open', "The quoted string starting at position 9 is not closed."),
    ("type = page ORDER title", "Expecting 'BY' but got 'title' at position 19."),
    ("type = page ORDER BY title title", "Expecting ',' or the end of the query but got 'title' at position 28."),
    ("type = page;", "Unexpected character ';' at position 12."),
    ("created > now(-1d", "Expecting ',' or ')' but got the end of the query."),
    ("foo = bar", "The field 'foo' does not exist."),
    ("title > a", "The field 'title' does not support the operator '>'."),
    ("text = a", "The field 'text' does not support the operator '='."),
    ("created ~ 2026-01-01", "The field 'created' does not support the operator '~'."),
    ("label in infra", "The operator 'IN' needs a list of values: label IN (a, b)."),
    ("label = (a, b)", "The operator '=' does not take a list of values."),
    ('created > "yesterday"', "'yesterday' is not a date for 'created': use yyyy-MM-dd, yyyy/MM/dd, yyyy-MM-dd HH:mm, "
                              "yyyy/MM/dd HH:mm, or a function such as now(\"-7d\")."),
    ('created = "2026-02-30"', "'2026-02-30' is not a date."),
    ("created > now(-1d, 2)", "The function 'now()' takes at most one argument, an increment such as \"-1d\"."),
    ('created > now("soon")', "The function 'now()' has an invalid increment 'soon': use (+/-)nn(y|M|w|d|h|m), such "
                              "as \"-1d\"."),
    ("title = now()", "The function 'now()' cannot be used with the field 'title'."),
    ("creator = currentUser(x)", "The function 'currentUser()' takes no arguments."),
    ("label = currentUser()", "The function 'currentUser()' cannot be used with the field 'label'."),
    ("space = whoami()", "The function 'whoami()' does not exist."),
    ('text ~ "!!"', "The text searched for in 'text' has no words."),
    ("type = page ORDER BY text", "The field 'text' does not support sorting."),
    ("type = page ORDER BY nope", "The field 'nope' does not exist."),
    ('user.fullname ~ "a"', "The field 'user.fullname' is only supported by the user search "
                            "(/wiki/rest/api/search/user)."),
    ("foo = bar AND", "Expecting a field name but got the end of the query."),  # syntax errors win
    ("foo = bar AND title > x", "The field 'foo' does not exist."),  # then the first meaning error
])
def test_errors_are_cloud_400s_with_the_reason(cql: str, reason: str) -> None:
    with pytest.raises(CqlError) as caught:
        parse(cql, now=NOW)
    assert str(caught.value) == PREFIX + cql
    assert str(caught.value).startswith("com.atlassian.confluence.api.service.exceptions.BadRequestException: "
                                        "Could not parse cql : ")
    assert caught.value.reason == reason


def test_user_searches_know_only_user_fields() -> None:
    with pytest.raises(CqlError) as caught:
        parse("title ~ x", users=True)
    assert caught.value.reason == "The field 'title' does not exist."


def test_limits_on_length_and_nesting() -> None:
    with pytest.raises(CqlError) as caught:
        parse("title ~ " + "x" * MAX_LENGTH)
    assert caught.value.reason == f"The query is longer than {MAX_LENGTH} characters."
    deep = "(" * (MAX_DEPTH + 1) + "type = page" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(CqlError) as caught:
        parse(deep)
    assert caught.value.reason == f"The query is nested more than {MAX_DEPTH} levels deep."
    fine = "(" * MAX_DEPTH + "type = page" + ")" * MAX_DEPTH
    assert [r["id"] for r in search(fine, RECORDS)] == ["1", "2", "3", "4"]


PIECES = ["type", "=", "page", "AND", "OR", "NOT", "(", ")", "IN", ",", "~", '"x"', "'y", "label", "created",
          ">", "now(", '"-1d"', ")", "ORDER", "BY", "title", "desc", "\\", "!=", "currentUser()", "*", "2026-01-05"]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join) | st.text(max_size=40))
def test_any_input_parses_or_gives_a_cql_error(cql: str) -> None:
    try:
        query = parse(cql, now=NOW, current_user=ALICE)
    except CqlError as exc:
        assert str(exc).startswith(PREFIX) and exc.reason
    else:
        for r in RECORDS:
            assert isinstance(query.matches(r), bool)
