"""CQL (Confluence Query Language): a parser and an in-memory evaluator.

Backs the simulated Confluence Cloud's ``/wiki/rest/api/search``, ``/content/search`` and ``/search/user``.
A record (a page, comment, space or user) is a mapping from field name to ``None``, a ``str`` or a list of
them. Fields, operators and functions are Confluence Cloud's:

- ``type space space.key space.title space.type title text siteSearch label ancestor parent id content creator
  contributor created lastmodified``, and for user searches ``user user.accountid user.userkey user.fullname``;
- ``= != ~ !~ > >= < <= IN NOT IN``, ``AND OR NOT``, parentheses, ``ORDER BY field [ASC|DESC], ...``;
- ``currentUser()``, ``currentSpace()``, ``currentContent()``, ``now("-7d")``, ``startOfDay()`` ...
  ``endOfYear("+1M")`` (against a given "now", so a fixed clock gives fixed answers), and the personal
  functions ``recentlyViewedContent()``, ``recentlyViewedSpaces()``, ``favouriteSpaces()``.

Negation is Lucene's: ``label != x`` matches every record without the label x, records without labels
included. ``~`` searches words with light stemming (``guides`` finds ``guide``), ``*`` and ``?`` wildcards, and
exact phrases in escaped quotes (``text ~ "\\"release notes\\""``). A date written without a time stands for
its whole day. Rejected queries raise :class:`CqlError`, whose text is Cloud's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from . import jql_time, query_grammar
from .query_grammar import MAX_DEPTH, STRING, Bool, QueryError, Tok

MAX_LENGTH = 10_000
PREFIX = "com.atlassian.confluence.api.service.exceptions.BadRequestException: Could not parse cql : "

_EQUALITY = ("=", "!=", "in", "not in")
_NEGATIVE = ("!=", "not in", "!~")
_OPS = {"id": _EQUALITY, "title": (*_EQUALITY, "~", "!~"), "text": ("~", "!~"),
        "date": ("=", "!=", ">", ">=", "<", "<=")}
CONTENT_FIELDS = {
    **dict.fromkeys(("type", "id", "space", "space.type", "label", "ancestor", "parent", "creator", "contributor"),
                    "id"),
    "title": "title", "space.title": "title", "text": "text", "created": "date", "lastmodified": "date",
}
USER_FIELDS = {"type": "id", "user": "id", "user.accountid": "id", "user.userkey": "id", "user.fullname": "title"}
_ALIASES = {"content": "id", "space.key": "space", "sitesearch": "text"}  # siteSearch: the site search's field
_SORTABLE = {"type", "id", "space", "title", "created", "lastmodified", "user.fullname"}
_USER_VALUED = {"creator", "contributor", "user", "user.accountid", "user.userkey"}
_CONTENT_VALUED = {"id", "ancestor", "parent"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "order", "by"})
_TOKEN = re.compile(r"(?P<op>!=|!~|<=|>=|[=~<>])|(?P<punct>[(),])|(?P<word>[\w./*?:+-]+)|(?P<quote>[\"'])")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DATE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?", re.ASCII)
_WORD = re.compile(r"[\w*?]+")
_SUFFIXES = ("ies", "es", "s", "ing", "ed", "e", "d")
_DATE_FUNCTIONS = jql_time.FUNCTIONS
_EMPTY_FUNCTIONS = {"recentlyviewedcontent": "id", "recentlyviewedspaces": "space", "favouritespaces": "space",
                    "favoritespaces": "space"}


class CqlError(QueryError):
    """A query Confluence rejects with HTTP 400: ``str(e)`` is Cloud's message, ``reason`` says what is wrong."""

    def __init__(self, cql: str, reason: str) -> None:
        super().__init__(PREFIX + cql)
        self.reason = reason


class Span(NamedTuple):
    """A time value as the half-open interval of minutes it stands for (``yyyy-MM-ddTHH:mm`` texts)."""

    start: str
    end: str


@dataclass(frozen=True)
class Term:
    """One ``~`` operand: word alternatives (stems or a wildcard pattern), or an exact phrase."""

    words: tuple[frozenset[str] | re.Pattern[str], ...]
    phrase: str | None = None

    def found_in(self, text: str) -> bool:
        """Whether every word (or the phrase) occurs in ``text``."""
        if self.phrase is not None:
            return self.phrase in " ".join(_WORD.findall(text.casefold()))
        have = [(w, _stems(w)) for w in _WORD.findall(text.casefold())]
        for want in self.words:
            if isinstance(want, re.Pattern):
                if not any(want.fullmatch(w) for w, _ in have):
                    return False
            elif not any(want & stems for _, stems in have):
                return False
        return bool(self.words)


@dataclass(frozen=True)
class Clause:
    """One ``field OP value(s)`` restriction."""

    field: str
    op: str
    values: tuple[Any, ...]  # casefolded texts; a Span each for a date field; a Term each for ~ and !~
    kind: str = "id"

    def matches(self, record: Mapping[str, Any]) -> bool:
        have = _values(record, self.field)
        if self.op in ("~", "!~"):
            text = "\n".join(have)
            hit = bool(have) and any(term.found_in(text) for term in self.values)
        elif self.kind == "date":
            hit = any(_compare(self.op, v[:16], span) for v in have for span in self.values)
        else:
            folded = {v.casefold() for v in have}
            hit = any(want in folded for want in self.values)
        return not hit if self.op in _NEGATIVE else hit


Node = Clause | Bool


class Query(query_grammar.Query):
    """A parsed CQL query: ``where`` and ``order_by``."""

    @staticmethod
    def sort_key(record: Mapping[str, Any], field: str) -> Any:
        """Ids sort as numbers, before any that are not; dates as strings; the rest case-insensitively."""
        values = _values(record, field)
        if not values:
            return None
        if field == "id":
            return (0, int(values[0]), "") if values[0].isdigit() else (1, 0, values[0])
        return values[0] if field in ("created", "lastmodified") else values[0].casefold()


@dataclass(frozen=True)
class Context:
    """What functions read: who asks, when, and the search's context (``cqlcontext``)."""

    current_user: str | None = None
    now: datetime | str | None = None
    space: str | None = None  # currentSpace()
    content: str | None = None  # currentContent()


def parse(cql: str, *, users: bool = False, **context: Any) -> Query:
    """Parse and check a CQL query.

    Args:
        cql: The query text.
        users: Parse a user search (``/search/user``: user fields only) instead of a content search.
        **context: The :class:`Context` fields: ``current_user``, ``now``, ``space``, ``content``.

    Raises:
        CqlError: Whatever Confluence would reject.
    """
    if len(cql) > MAX_LENGTH:
        raise CqlError(cql[:100], f"The query is longer than {MAX_LENGTH} characters.")
    if not cql.strip():
        raise CqlError(cql, "The query is empty.")
    return Query(*_Parser(cql, USER_FIELDS if users else CONTENT_FIELDS, Context(**context)).parse())


def search(cql: str, records: Iterable[Mapping[str, Any]], *, users: bool = False,
           **context: Any) -> list[Mapping[str, Any]]:
    """The ``records`` matching ``cql``, in the query's order.

    Raises:
        CqlError: The query is invalid.
    """
    query = parse(cql, users=users, **context)
    return query.sort([r for r in records if query.matches(r)])


# -- values -------------------------------------------------------------------------------------------------
def _values(record: Mapping[str, Any], field: str) -> list[str]:
    value = record.get(field)
    items = value if isinstance(value, list | tuple) else [value]
    return [str(v) for v in items if v is not None and v != ""]


def _compare(op: str, value: str, span: Span) -> bool:
    if op in ("=", "!="):
        return span.start <= value < span.end
    if op == ">":
        return value >= span.end
    if op == ">=":
        return value >= span.start
    if op == "<":
        return value < span.start
    return value < span.end  # <=


@lru_cache(maxsize=1 << 16)  # a site's words recur in every search
def _stems(word: str) -> frozenset[str]:
    """A word and what it may stem to ("guides", "guided" and "guide" share "guid")."""
    out = {word}
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.add(word[: -len(suffix)] + ("y" if suffix == "ies" else ""))
    return frozenset(out)


def _term(text: str, prefix: bool = False) -> Term:
    """A ``~`` operand; with ``prefix``, each word matches the words it starts (user names: "jo" finds "John")."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return Term((), " ".join(_WORD.findall(text[1:-1].casefold())))
    words: list[frozenset[str] | re.Pattern[str]] = []
    for word in _WORD.findall(text.casefold()):
        if prefix:
            words.append(re.compile(re.escape(word.strip("*?")) + r"\w*"))
        elif "*" in word or "?" in word:
            words.append(re.compile(re.escape(word).replace(r"\*", r"\w*").replace(r"\?", r"\w")))
        else:
            words.append(_stems(word))
    return Term(tuple(words))


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _span(start: datetime, day: bool) -> Span:
    return Span(_minute(start), _minute(start + (timedelta(days=1) if day else timedelta(minutes=1))))


# -- parsing ------------------------------------------------------------------------------------------------
class _Parser(query_grammar.Parser):
    """CQL's tokens, clauses and wording; field, operator and value errors are deferred."""

    TOKEN, KEYWORDS = _TOKEN, _KEYWORDS
    AFTER_WHERE, AFTER_ORDER = "'AND', 'OR' or 'ORDER BY'", "',' or the end of the query"
    LIST_END, FIRST_ARG, VALUE = "',' or ')'", "a function argument", "a value, a list of values or a function"

    def __init__(self, src: str, fields: Mapping[str, str], context: Context) -> None:
        super().__init__(src, context)
        self.fields = fields

    def fail(self, reason: str) -> CqlError:
        return CqlError(self.src, reason)

    def unexpected(self, pos: int) -> CqlError:
        return self.fail(f"Unexpected character '{self.src[pos]}' at position {pos + 1}.")

    def string(self, start: int) -> tuple[str, int]:
        s = STRING[self.src[start]].match(self.src, start)
        if s is None:
            raise self.fail(f"The quoted string starting at position {start + 1} is not closed.")
        return _ESCAPE.sub(lambda e: e[1], s[1]), s.end()

    def expected(self, what: str) -> CqlError:
        tok = self.peek()
        got = f"'{tok.value}' at position {tok.pos + 1}" if tok.kind != "eof" else "the end of the query"
        return self.fail(f"Expecting {what} but got {got}.")

    def too_deep(self, tok: Tok) -> CqlError:
        return self.fail(f"The query is nested more than {MAX_DEPTH} levels deep.")

    def starts_order(self) -> bool:
        return self.peek().value.casefold() == "order"  # a quoted "order" too

    def clause(self) -> Node:
        name = self.field_name()
        if self.peek().kind == "op":
            op = self.take().value
        elif self.take_kw("in"):
            op = "in"
        elif self.take_kw("not"):
            if not self.take_kw("in"):
                raise self.expected("'IN'")
            op = "not in"
        else:
            raise self.expected("an operator (=, !=, ~, !~, >, >=, <, <=, IN or NOT IN)")
        is_list = self.peek().kind == "("
        items = self.value_list() if is_list else [self.value()]
        return self.defer(lambda: self.build(name, op, items, is_list), Bool("and", ()))

    def sort_field(self, name: str, position: int) -> str:
        field = _ALIASES.get(name.casefold(), name.casefold())
        if field not in self.fields:
            self.deferred = self.deferred or self.fail(f"The field '{name}' does not exist.")
        elif field not in _SORTABLE:
            self.deferred = self.deferred or self.fail(f"The field '{name}' does not support sorting.")
        return field

    # -- meaning ----------------------------------------------------------------------------------------------
    def build(self, name: str, op: str, items: list[Tok], is_list: bool) -> Clause:
        field = _ALIASES.get(name.casefold(), name.casefold())
        kind = self.fields.get(field)
        if kind is None:
            if field.startswith("user") and self.fields is CONTENT_FIELDS:
                raise self.fail(f"The field '{name}' is only supported by the user search "
                                "(/wiki/rest/api/search/user).")
            raise self.fail(f"The field '{name}' does not exist.")
        if op not in _OPS[kind]:
            raise self.fail(f"The field '{name}' does not support the operator '{op.upper()}'.")
        if is_list != (op in ("in", "not in")) and not (items[0].kind == "func" and not is_list):  # IN f() is a list
            raise self.fail(f"The operator '{op.upper()}' needs a list of values: {name} {op.upper()} (a, b)."
                            if not is_list else f"The operator '{op}' does not take a list of values.")
        values: list[Any] = []
        for item in items:
            if item.kind == "func":
                values += self.call(item.value, item.args, field, name, kind)
            elif kind == "date":
                values.append(self.date(item.value, name))
            elif op in ("~", "!~"):
                values.append(_term(item.value, prefix=field == "user.fullname"))
            else:
                values.append(item.value.casefold())
        if op in ("~", "!~") and not any(t.words or t.phrase for t in values):
            raise self.fail(f"The text searched for in '{name}' has no words.")
        return Clause(field, op, tuple(values), kind)

    def date(self, text: str, name: str) -> Span:
        m = _DATE.fullmatch(text.strip())
        if m:
            try:
                start = datetime(int(m[1]), int(m[3]), int(m[4]), int(m[5] or 0), int(m[6] or 0))
            except ValueError:
                raise self.fail(f"'{text}' is not a date.") from None
            return _span(start, day=m[5] is None)
        relative = jql_time.relative(text.strip(), self.now)
        if relative is None:
            raise self.fail(f"'{text}' is not a date for '{name}': use yyyy-MM-dd, yyyy/MM/dd, yyyy-MM-dd HH:mm, "
                            f"yyyy/MM/dd HH:mm, or a function such as now(\"-7d\").")
        return _span(datetime.fromisoformat(relative), day=False)

    def call(self, function: str, args: tuple[str, ...], field: str, name: str, kind: str) -> list[Any]:
        low = function.casefold()
        if low in _DATE_FUNCTIONS:
            if kind != "date":
                raise self.fail(f"The function '{function}()' cannot be used with the field '{name}'.")
            if len(args) > 1:
                raise self.fail(f"The function '{function}()' takes at most one argument, an increment such as "
                                f"\"-1d\".")
            try:
                if low == "now":
                    moment = jql_time.offset(args[0], self.now) if args else self.now
                else:
                    moment = datetime.fromisoformat(jql_time.call(low, list(args), self.now))
            except jql_time.DateError:
                raise self.fail(f"The function '{function}()' has an invalid increment '{args[0]}': use "
                                f"(+/-)nn(y|M|w|d|h|m), such as \"-1d\".") from None
            return [_span(moment, day=False)]
        if low == "currentuser":
            self.no_args(function, args, field in _USER_VALUED, name)
            return [self.context.current_user.casefold()] if self.context.current_user else []
        if low == "currentspace":
            self.no_args(function, args, field == "space", name)
            return [self.context.space.casefold()] if self.context.space else []
        if low == "currentcontent":
            self.no_args(function, args, field in _CONTENT_VALUED, name)
            return [self.context.content.casefold()] if self.context.content else []
        if low in _EMPTY_FUNCTIONS:  # the simulated users have viewed and favourited nothing
            self.no_args(function, args, field == _EMPTY_FUNCTIONS[low], name)
            return []
        raise self.fail(f"The function '{function}()' does not exist.")

    def no_args(self, function: str, args: tuple[str, ...], fits: bool, name: str) -> None:
        if not fits:
            raise self.fail(f"The function '{function}()' cannot be used with the field '{name}'.")
        if args:
            raise self.fail(f"The function '{function}()' takes no arguments.")
