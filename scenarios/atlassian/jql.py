"""A small subset of JQL (Jira Query Language): a parser and an in-memory evaluator.

Backs the simulated Jira Cloud ``/rest/api/3/search/jql``. An issue is a mapping from canonical lowercase
field name to ``None`` (empty), a ``str``, or a ``list[str]`` of aliases/values; equality is
case-insensitive against any of them. Rejected queries raise :class:`JqlError` with Jira's wording.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

MAX_LENGTH = 10_000
MAX_DEPTH = 50
MAX_ORDER_FIELDS = 7
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."


class JqlError(ValueError):
    """A query Jira would reject with HTTP 400; str(e) is the Jira-style message for errorMessages."""


# Field kind -> supported operators, spelled as Jira's messages display them.
_EQUALITY = ("=", "!=", "in", "not in", "is", "is not")
_OPS = {"id": _EQUALITY, "user": _EQUALITY, "text": ("~", "!~", "is", "is not")}
_OPS["date"] = _EQUALITY + ("<", "<=", ">", ">=")
_FIELDS = {
    **dict.fromkeys(("project", "key", "issuetype", "status", "statuscategory", "priority"), "id"),
    **dict.fromkeys(("resolution", "labels", "component", "fixversion", "parent"), "id"),
    **dict.fromkeys(("assignee", "reporter", "creator"), "user"),
    **dict.fromkeys(("summary", "description", "comment", "text"), "text"),
    **dict.fromkeys(("created", "updated", "duedate", "resolutiondate"), "date"),
}
_ALIASES = {"type": "issuetype", "issue": "key", "issuekey": "key", "id": "key", "createddate": "created"}
_ALIASES |= {"updateddate": "updated", "due": "duedate", "resolved": "resolutiondate"}
# Fields read from several entries (a precomputed "text" entry is used too, if the issue has one).
_SPANS = {"text": ("text", "summary", "description", "comment"), "key": ("key", "id")}
_UNSORTABLE = {"text", "comment"}
_KEYWORDS = {"and", "or", "not", "in", "is", "order", "by", "empty", "null"}
_VALID_OPS = (
    " The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", "'": "'", '"': '"', " ": " "}
_BAD_ESCAPE = "'\\{}' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \\t, \\n, "
_BAD_ESCAPE += "\\r, \\\\, '\\ ' and \\uXXXX."
_DATE_FORMATS = "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'."
_TOKEN = re.compile(r"(?P<op>!=|!~|<=|>=|[=~<>])|(?P<punct>[(),])|(?P<word>[\w.-]+)|(?P<quote>[\"'])")
_STRING = {q: re.compile(rf"{q}((?:[^{q}\\]|\\.)*){q}", re.DOTALL) for q in "\"'"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?", re.ASCII)
_WORD = re.compile(r"\w+")
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Clause:
    """One ``field OP value(s)`` restriction; ``None`` in ``values`` stands for EMPTY."""

    field: str
    op: str
    values: tuple[str | None, ...]

    def matches(self, issue: Mapping[str, Any]) -> bool:
        """Whether ``issue`` satisfies this clause."""
        have = _values(issue, self.field)
        if _FIELDS[self.field] == "date":
            have = [_date(v, strict=False) or v for v in have]
        if self.op in ("is", "is not"):
            return (not have) == (self.op == "is")
        negative = self.op in ("!=", "!~", "not in")
        if negative and not have:  # Jira: an empty field never matches a negative operator
            return False
        return any(self._hit(have, want) for want in self.values) != negative

    def _hit(self, have: list[str], want: str | None) -> bool:
        if want is None:
            return not have
        if self.op in ("~", "!~"):
            return _contains("\n".join(have), want)
        if self.op in _COMPARE:
            return any(_COMPARE[self.op](v, want) for v in have)
        return any(v.casefold() == want.casefold() for v in have)


@dataclass(frozen=True)
class Bool:
    """``op`` is ``"and"``, ``"or"`` or ``"not"`` (one child; plain negation, so it keeps empty fields)."""

    op: str
    children: tuple[Node, ...]

    def matches(self, issue: Mapping[str, Any]) -> bool:
        """Whether ``issue`` satisfies the combination."""
        if self.op == "not":
            return not self.children[0].matches(issue)
        return (all if self.op == "and" else any)(c.matches(issue) for c in self.children)


Node = Clause | Bool


@dataclass(frozen=True)
class Query:
    """A parsed query: an optional restriction plus ``(canonical field, descending)`` sort keys."""

    where: Node | None
    order_by: tuple[tuple[str, bool], ...] = ()

    @property
    def bounded(self) -> bool:
        """True when the query has a restriction (a WHERE part)."""
        return self.where is not None

    def matches(self, issue: Mapping[str, Any]) -> bool:
        """Whether ``issue`` satisfies the restriction (always, when unbounded)."""
        return self.where is None or self.where.matches(issue)

    def sort(self, issues: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Stable sort by ``order_by``; issues with an empty sort field go last in either direction."""
        out = list(issues)
        for field, desc in reversed(self.order_by):  # least significant key first; each pass is stable
            keyed = [(_sort_key(issue, field), issue) for issue in out]
            present = sorted((p for p in keyed if p[0] is not None), key=lambda p: p[0], reverse=desc)
            out = [issue for _, issue in present] + [issue for k, issue in keyed if k is None]
        return out


def parse(
    jql: str, *, known_values: Mapping[str, Collection[str]] | None = None, current_user: str | None = None
) -> Query:
    """Parse and validate a JQL query.

    Args:
        jql: The query text.
        known_values: Canonical field -> accepted values (case-insensitive), checked for ``=``, ``!=``,
            ``IN`` and ``NOT IN`` literals.
        current_user: Account id that ``currentUser()`` stands for; ``None`` makes it match no one.

    Returns:
        The parsed query.

    Raises:
        JqlError: Whatever Jira would reject; syntax errors win over field and value errors.
    """
    if len(jql) > MAX_LENGTH:
        raise JqlError(f"The JQL query is too long: at most {MAX_LENGTH} characters are allowed.")
    return _Parser(jql, known_values or {}, current_user).query()


def search(
    jql: str,
    issues: Iterable[Mapping[str, Any]],
    *,
    known_values: Mapping[str, Collection[str]] | None = None,
    current_user: str | None = None,
    require_bounded: bool = True,
) -> list[Mapping[str, Any]]:
    """Return the ``issues`` matching ``jql``, in the query's order.

    Args:
        jql: The query text.
        issues: The candidates.
        known_values: As for :func:`parse`.
        current_user: As for :func:`parse`.
        require_bounded: Reject queries without a restriction, as ``/rest/api/3/search/jql`` does.

    Raises:
        JqlError: If the query is invalid, or unbounded while ``require_bounded``.
    """
    query = parse(jql, known_values=known_values, current_user=current_user)
    if require_bounded and not query.bounded:
        raise JqlError(UNBOUNDED)
    return query.sort([issue for issue in issues if query.matches(issue)])


def _values(issue: Mapping[str, Any], field: str) -> list[str]:
    """The issue's non-empty values for a canonical field."""
    out: list[str] = []
    for name in _SPANS.get(field, (field,)):
        value = issue.get(name)
        items = value if isinstance(value, list | tuple) else [value]
        out += [str(v) for v in items if v is not None and v != ""]
    return out


def _contains(text: str, term: str) -> bool:
    """Jira's ``~``, approximated: each word of ``term`` starts some word of ``text``."""
    want, have = _WORD.findall(term.casefold()), _WORD.findall(text.casefold())
    return bool(want) and all(any(h.startswith(w) for h in have) for w in want)


def _date(text: str, *, strict: bool) -> str | None:
    """Normalise ``yyyy-MM-dd[ HH:mm]`` or ``yyyy/MM/dd[ HH:mm]`` (or, not strict, a prefix) for comparing."""
    m = (_DATE.fullmatch if strict else _DATE.match)(text)
    if m is None:
        return None
    try:
        return datetime(int(m[1]), int(m[3]), int(m[4]), int(m[5] or 0), int(m[6] or 0)).isoformat()[:16]
    except ValueError:  # no such day or time
        return None


def _sort_key(issue: Mapping[str, Any], field: str) -> Any:
    """Keys sort by (project, number); dates as strings; the rest by first value, case-insensitively."""
    values = _values(issue, field)
    if not values:
        return None
    if field == "key":
        m = _KEY.fullmatch(values[0])
        return (m[1].casefold(), int(m[2])) if m else (values[0].casefold(), -1)
    return values[0] if _FIELDS[field] == "date" else values[0].casefold()


def _canonical(name: str) -> str | None:
    low = _ALIASES.get(name.casefold(), name.casefold())
    return low if low in _FIELDS else None


def _at(src: str, pos: int, message: str) -> JqlError:
    """A syntax error at 0-based offset ``pos``, located as Jira does (1-based line and character)."""
    line, char = src.count("\n", 0, pos) + 1, pos - src.rfind("\n", 0, pos)
    return JqlError(f"Error in the JQL Query: {message} (line {line}, character {char})")


class _Tok(NamedTuple):
    kind: str  # "op", "(", ")", ",", "word", "str", "eof"; operands also "lit", "empty", "func"
    value: str
    pos: int


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while True:
        while i < len(src) and src[i].isspace():
            i += 1
        if i == len(src):
            return [*toks, _Tok("eof", "", i)]
        m = _TOKEN.match(src, i)
        if m is None:
            hint = f"You must enclose it in a string or use the escape '\\u{ord(src[i]):04x}' instead."
            raise _at(src, i, f"The character '{src[i]}' is a reserved JQL character. {hint}")
        if m["quote"]:
            text, end = _read_string(src, i)
            toks.append(_Tok("str", text, i))
        else:
            toks.append(_Tok("op" if m["op"] else "word" if m["word"] else m[0], m[0], i))
            end = m.end()
        i = end


def _read_string(src: str, start: int) -> tuple[str, int]:
    """Decode the quoted string at ``start``; return its text and the offset just past it."""
    m = _STRING[src[start]].match(src, start)
    if m is None:
        raise _at(src, start, f"The quoted string '{src[start + 1 :]}' has not been completed.")

    def unescape(e: re.Match[str]) -> str:
        if len(e[1]) == 5:  # \uXXXX
            return chr(int(e[1][1:], 16))
        if e[1] not in _ESCAPES:
            raise _at(src, m.start(1) + e.start(), _BAD_ESCAPE.format(e[1]))
        return _ESCAPES[e[1]]

    return _ESCAPE.sub(unescape, m[1]), m.end()


class _Parser:
    """Recursive descent over the tokens; field and value errors wait until the syntax is known good."""

    def __init__(self, src: str, known: Mapping[str, Collection[str]], user: str | None) -> None:
        self.src, self.user, self.toks, self.i, self.depth = src, user, _tokenize(src), 0, 0
        self.known = {_canonical(k) or k: {str(v).casefold() for v in vs} for k, vs in known.items()}
        self.deferred: JqlError | None = None

    def query(self) -> Query:
        where = None if self.peek().kind == "eof" or self.at("order") else self.expr(0)
        order: tuple[tuple[str, bool], ...] = ()
        if self.take_kw("order"):
            if not self.take_kw("by"):
                raise self.fail("'BY'")
            order = self.sort_keys()
        if self.peek().kind != "eof":
            raise self.fail("','" if order else "either 'OR' or 'AND'")
        if self.deferred:
            raise self.deferred
        return Query(where, order)

    # Token helpers.
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
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

    def expect(self, kind: str) -> None:
        if self.peek().kind != kind:
            raise self.fail(f"'{kind}'")
        self.take()

    def fail(self, expected: str, hint: str = "") -> JqlError:
        tok = self.peek()
        if tok.kind != "eof":
            return _at(self.src, tok.pos, f"Expecting {expected} but got '{tok.value}'.{hint}")
        return JqlError(f"Error in the JQL Query: Expecting {expected} before the end of the query.{hint}")

    def defer(self, check: Callable[[], _T], fallback: _T) -> _T:
        try:
            return check()
        except JqlError as e:
            self.deferred = self.deferred or e
            return fallback

    # Grammar.
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
            raise _at(self.src, tok.pos, f"The query is nested too deeply (more than {MAX_DEPTH} levels).")
        self.take()
        if tok.kind == "(":
            node = self.expr(0)
            self.expect(")")
        else:
            node = Bool("not", (self.unary(),))
        self.depth -= 1
        return node

    def field_name(self) -> str:
        tok = self.peek()
        if tok.kind == "str" or (tok.kind == "word" and tok.value.casefold() not in _KEYWORDS):
            return self.take().value
        hint = f" You must surround '{tok.value}' in quotation marks to use it as a field name."
        raise self.fail("a field name", hint if tok.kind == "word" else "")

    def clause(self) -> Clause:
        name = self.field_name()
        if self.peek().kind == "op":
            op = self.take().value
        elif self.take_kw("in"):
            op = "in"
        elif self.take_kw("is"):
            op = "is not" if self.take_kw("not") else "is"
        elif self.take_kw("not") and self.take_kw("in"):
            op = "not in"
        else:
            raise self.fail("operator", _VALID_OPS)
        is_list = self.peek().kind == "("
        items = self.value_list() if is_list else [self.value()]
        return self.defer(lambda: self.build(name, op, items, is_list), Clause("", op, ()))

    def value_list(self) -> list[_Tok]:
        items: list[_Tok] = []
        while not items or self.peek().kind == ",":
            self.take()  # "(" or ","
            items.append(self.value())
        self.expect(")")
        return items

    def value(self) -> _Tok:
        """A literal, ``EMPTY``/``NULL`` or a call ``function()``, as kind lit, empty or func."""
        tok = self.peek()
        if self.take_kw("empty", "null"):
            return tok._replace(kind="empty")
        if tok.kind == "str" or (tok.kind == "word" and tok.value.casefold() not in _KEYWORDS):
            self.take()
            if tok.kind == "word" and self.peek().kind == "(":
                self.take()
                self.expect(")")
                return tok._replace(kind="func")
            return tok._replace(kind="lit")
        raise self.fail("either a value, list or function")

    def sort_keys(self) -> tuple[tuple[str, bool], ...]:
        keys: list[tuple[str, bool]] = []
        while True:
            name = self.field_name()
            field = self.defer(lambda name=name: self.field(name, sorting=True), "")
            keys.append((field, self.take_kw("asc", "desc") == "desc"))
            if len(keys) > MAX_ORDER_FIELDS:
                raise JqlError(f"Error in the JQL Query: ORDER BY accepts at most {MAX_ORDER_FIELDS} fields.")
            if self.peek().kind != ",":
                return tuple(keys)
            self.take()

    # Validation (reported through ``defer``).
    @staticmethod
    def field(name: str, sorting: bool = False) -> str:
        field = _canonical(name)
        if field is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        if sorting and field in _UNSORTABLE:
            raise JqlError(f"Field '{name}' does not support sorting.")
        return field

    def build(self, name: str, op: str, items: list[_Tok], is_list: bool) -> Clause:
        field = self.field(name)
        kind = _FIELDS[field]
        if op not in _OPS[kind]:
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        if is_list and op not in ("in", "not in"):
            raise JqlError(f"The operator '{op}' does not support list values for the field '{name}'.")
        values: list[str | None] = []
        for item in items:
            if item.kind == "empty" and op not in _EQUALITY:
                raise JqlError(f"The operator '{op}' does not support searching for EMPTY values.")
            if item.kind != "empty" and op in ("is", "is not"):
                raise JqlError(f"The operator '{op}' only supports the values EMPTY and NULL.")
            if item.kind == "func":
                values += self.call(item.value, name, kind)
            else:
                values.append(None if item.kind == "empty" else self.literal(item.value, field, name, op))
        return Clause(field, op, tuple(values))

    def call(self, function: str, name: str, kind: str) -> list[str]:
        if function.casefold() != "currentuser":
            raise JqlError(f"Unable to find JQL function '{function}()'.")
        if kind != "user":
            raise JqlError(f"Function 'currentUser' is not valid for the field '{name}'.")
        return [self.user] if self.user else []  # anonymous: a value that matches no one

    def literal(self, text: str, field: str, name: str, op: str) -> str | None:
        if field == "resolution" and text.casefold() == "unresolved":  # Jira's name for an empty resolution
            return None
        if _FIELDS[field] == "date":
            if (normal := _date(text, strict=True)) is None:
                raise JqlError(f"Date value '{text}' for field '{name}' is invalid. {_DATE_FORMATS}")
            return normal
        allowed = self.known.get(field)
        if allowed is not None and op in ("=", "!=", "in", "not in") and text.casefold() not in allowed:
            raise JqlError(f"The value '{text}' does not exist for the field '{name}'.")
        return text
