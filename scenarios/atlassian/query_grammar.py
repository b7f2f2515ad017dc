"""The grammar JQL (jql.py) and CQL (cql.py) share: tokens, a recursive-descent parser for
``restriction [ORDER BY key [ASC|DESC], ...]`` with AND, OR, NOT and parentheses, and the parsed shapes.

Each language subclasses :class:`Parser` (its tokens, clauses, sort fields and error wording) and
:class:`Query` (how a record sorts by a field); their semantics stay in their own modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple, Protocol, TypeVar

from . import jql_time

MAX_DEPTH = 50
STRING = {q: re.compile(rf"{q}((?:[^{q}\\]|\\.)*){q}", re.DOTALL) for q in "\"'"}
"""A quoted string by its opening quote; group 1 is the text between the quotes, still escaped."""
SortKeys = tuple[tuple[str, bool], ...]
_T = TypeVar("_T")


class QueryError(ValueError):
    """A query the service rejects with HTTP 400 (see JqlError and CqlError)."""


class Node(Protocol):
    """A restriction: a language's clause, or a :class:`Bool` of them."""

    def matches(self, record: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class Bool:
    """``op`` is ``"and"``, ``"or"`` or ``"not"`` (one child; plain negation, so it keeps empty fields)."""

    op: str
    children: tuple[Node, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` satisfies the combination."""
        if self.op == "not":
            return not self.children[0].matches(record)
        return (all if self.op == "and" else any)(c.matches(record) for c in self.children)


@dataclass(frozen=True)
class Query:
    """A parsed query: an optional restriction plus ``(canonical field, descending)`` sort keys. A language's
    subclass defines ``sort_key(record, field)``: what a record sorts by, ``None`` when it has no value."""

    where: Node | None
    order_by: SortKeys = ()

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` satisfies the restriction (always, without one)."""
        return self.where is None or self.where.matches(record)

    def sort(self, records: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Stable sort by ``order_by``; records with an empty sort field go last in either direction."""
        out = list(records)
        for field, desc in reversed(self.order_by):  # least significant key first; each pass is stable
            keyed = [(self.sort_key(r, field), r) for r in out]
            present = sorted((p for p in keyed if p[0] is not None), key=lambda p: p[0], reverse=desc)
            out = [r for _, r in present] + [r for k, r in keyed if k is None]
        return out


class Tok(NamedTuple):
    kind: str  # "op", "(", ")", ",", "word", "str", "eof"; operands also "lit", "func" (and JQL's "empty")
    value: str
    pos: int
    args: tuple[str, ...] = ()  # a function's arguments


class Parser:
    """Recursive descent over the tokens; field and value errors are deferred (see :meth:`defer`) so that a
    syntax error anywhere wins. A language's subclass sets the class attributes below and defines:

    - ``clause()``: one ``field OP value(s)`` restriction;
    - ``sort_field(name, position)``: the field the ``position``-th ORDER BY key (from 0) sorts by;
    - ``string(start)``: the decoded quoted string at offset ``start``, and the offset just past it;
    - the errors ``unexpected(pos)`` (no token starts at ``pos``), ``expected(what)`` (the next token is not
      ``what``, e.g. ``"')'"``) and ``too_deep(tok)`` (``tok`` nests past :data:`MAX_DEPTH`).

    ``context`` is the language's Context: who asks, and the ``now`` that :attr:`now` reads.
    """

    TOKEN: re.Pattern[str]  # one token, by group: op, punct, word or quote
    KEYWORDS: frozenset[str]  # lowercase words that are no field name or value unless quoted
    # What "Expecting ..." says at: the end of the restriction, after a sort key, a list's or an argument
    # list's end, a function's first argument, a value.
    AFTER_WHERE: str
    AFTER_ORDER: str
    LIST_END: str
    FIRST_ARG: str
    VALUE: str

    def __init__(self, src: str, context: Any) -> None:
        self.src, self.context, self.i, self.depth = src, context, 0, 0
        self.toks = self.tokenize()
        self.deferred: QueryError | None = None

    @cached_property
    def now(self) -> datetime:
        """The time relative dates and date functions count from: the context's `now`, or the wall clock."""
        return jql_time.parse_now(self.context.now)

    # Tokens.
    def tokenize(self) -> list[Tok]:
        src, toks, i = self.src, [], 0
        while True:
            while i < len(src) and src[i].isspace():
                i += 1
            if i == len(src):
                return [*toks, Tok("eof", "", i)]
            m = self.TOKEN.match(src, i)
            if m is None:
                raise self.unexpected(i)
            if m["quote"]:
                text, end = self.string(i)
                toks.append(Tok("str", text, i))
            else:
                toks.append(Tok("op" if m["op"] else "word" if m["word"] else m[0], m[0], i))
                end = m.end()
            i = end

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += tok.kind != "eof"
        return tok

    def at(self, *words: str) -> str:
        """The next token as a lowercase keyword if it is one of ``words``, else ``""``."""
        tok = self.peek()
        return tok.value.casefold() if tok.kind == "word" and tok.value.casefold() in words else ""

    def take_kw(self, *words: str) -> str:
        """Like :meth:`at`, also consuming the keyword when it matches."""
        word = self.at(*words)
        self.i += bool(word)
        return word

    def is_name(self, tok: Tok) -> bool:
        """Whether ``tok`` can be a field name or a value: a quoted string, or a word that is no keyword."""
        return tok.kind == "str" or (tok.kind == "word" and tok.value.casefold() not in self.KEYWORDS)

    def defer(self, check: Callable[[], _T], fallback: _T) -> _T:
        """``check()``, or, if it raises, ``fallback`` with the first such error kept for :meth:`parse`."""
        try:
            return check()
        except QueryError as e:
            self.deferred = self.deferred or e
            return fallback

    # Grammar.
    def starts_order(self) -> bool:
        """Whether the query starts with ORDER BY, having no restriction."""
        return bool(self.at("order"))

    def parse(self) -> tuple[Node | None, SortKeys]:
        """The whole query: its restriction (``None`` without one) and sort keys."""
        where = None if self.peek().kind == "eof" or self.starts_order() else self.expr(0)
        order: SortKeys = ()
        if self.take_kw("order"):
            if not self.take_kw("by"):
                raise self.expected("'BY'")
            order = self.sort_keys()
        if self.peek().kind != "eof":
            raise self.expected(self.AFTER_ORDER if order else self.AFTER_WHERE)
        if self.deferred:
            raise self.deferred
        return where, order

    def expr(self, level: int) -> Node:
        """OR (level 0) binds loosest, then AND (level 1), then NOT, parentheses and clauses."""
        if level == 2:
            return self.unary()
        word = ("or", "and")[level]
        parts = [self.expr(level + 1)]
        while self.take_kw(word):
            parts.append(self.expr(level + 1))
        return parts[0] if len(parts) == 1 else Bool(word, tuple(parts))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind != "(" and not self.at("not"):
            return self.clause()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.too_deep(tok)
        self.take()
        if tok.kind == "(":
            node = self.expr(0)
            if self.peek().kind != ")":
                raise self.expected("')'")
            self.take()
        else:
            node = Bool("not", (self.unary(),))
        self.depth -= 1
        return node

    def field_name(self) -> str:
        if self.is_name(self.peek()):
            return self.take().value
        raise self.expected("a field name")

    def value_list(self) -> list[Tok]:
        """``(value, ...)``, at its ``(``."""
        items: list[Tok] = []
        while not items or self.peek().kind == ",":
            self.take()  # "(" or ","
            items.append(self.value())
        if self.peek().kind != ")":
            raise self.expected(self.LIST_END)
        self.take()
        return items

    def value(self) -> Tok:
        """A literal or a call ``function(arg, ...)``, as kind lit or func."""
        tok = self.peek()
        if not self.is_name(tok):
            raise self.expected(self.VALUE)
        self.take()
        if tok.kind != "word" or self.peek().kind != "(":
            return tok._replace(kind="lit")
        self.take()
        args: list[str] = []
        while self.peek().kind != ")":
            if args:
                if self.peek().kind != ",":
                    raise self.expected(self.LIST_END)
                self.take()
            if self.peek().kind not in ("str", "word"):
                raise self.expected("a function argument" if args else self.FIRST_ARG)
            args.append(self.take().value)
        self.take()
        return tok._replace(kind="func", args=tuple(args))

    def sort_keys(self) -> SortKeys:
        keys: list[tuple[str, bool]] = []
        while True:
            field = self.sort_field(self.field_name(), len(keys))
            keys.append((field, self.take_kw("asc", "desc") == "desc"))
            if self.peek().kind != ",":
                return tuple(keys)
            self.take()
