"""A subset of JQL (Jira Query Language): a parser and an in-memory evaluator.

Backs the simulated Jira Cloud ``/rest/api/3/search/jql``. An issue is a mapping from canonical lowercase
field name to ``None`` (empty), a ``str``, or a ``list[str]`` of aliases/values; equality is
case-insensitive against any of them. Rejected queries raise :class:`JqlError` with Jira's wording.

Beyond fields, operators and ``ORDER BY``: relative dates (``-7d``) and date functions (``startOfWeek(-1)``)
against a given "now"; ``currentUser()`` and ``membersOf("group")``; functions a caller supplies; and the
history operators ``WAS [NOT] [IN]`` and ``CHANGED`` with their ``AFTER``, ``BEFORE``, ``ON``, ``DURING``,
``BY``, ``FROM`` and ``TO`` predicates, which read an issue's ``"history:<field>"`` entry: the values the
field held, oldest first, as ``(values, since, set by)`` (see :data:`Segment`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import jql_time, query_grammar
from .query_grammar import MAX_DEPTH, STRING, Bool, QueryError, Tok

MAX_LENGTH = 10_000
MAX_ORDER_FIELDS = 7
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."


class JqlError(QueryError):
    """A query Jira would reject with HTTP 400; str(e) is the Jira-style message for errorMessages."""


# Field kind -> supported operators, spelled as Jira's messages display them.
_EQUALITY = ("=", "!=", "in", "not in", "is", "is not")
_OPS = {"id": _EQUALITY, "user": _EQUALITY, "text": ("~", "!~", "is", "is not")}
_OPS["date"] = _EQUALITY + ("<", "<=", ">", ">=")
_FIELDS = {
    **dict.fromkeys(("project", "key", "issuetype", "status", "statuscategory", "priority"), "id"),
    **dict.fromkeys(("resolution", "labels", "component", "fixversion", "affectedversion", "parent"), "id"),
    **dict.fromkeys(("assignee", "reporter", "creator"), "user"),
    **dict.fromkeys(("summary", "description", "comment", "text"), "text"),
    **dict.fromkeys(("created", "updated", "duedate", "resolutiondate"), "date"),
}
_ALIASES = {"type": "issuetype", "issue": "key", "issuekey": "key", "id": "key", "createddate": "created"}
_ALIASES |= {"updateddate": "updated", "due": "duedate", "resolved": "resolutiondate"}
# Fields whose history WAS and CHANGED search, as in Jira.
HISTORY_FIELDS = frozenset({"status", "assignee", "reporter", "priority", "resolution", "fixversion"})
_HISTORY_OPS = ("was", "was in", "was not", "was not in", "changed")
_PREDICATES = ("after", "before", "on", "during", "by", "from", "to")
Segment = tuple[list[str], str, list[str] | None]
"""One value a field held: (its aliases, empty for EMPTY; the time it was set; aliases of who set it, None for
the value the issue was created with)."""
# Fields read from several entries (a precomputed "text" entry is used too, if the issue has one).
_SPANS = {"text": ("text", "summary", "description", "comment"), "key": ("key", "id")}
_UNSORTABLE = {"text", "comment"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "order", "by", "empty", "null", "was", "changed"})
_VALID_OPS = (
    " The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", "'": "'", '"': '"', " ": " "}
_BAD_ESCAPE = "'\\{}' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \\t, \\n, "
_BAD_ESCAPE += "\\r, \\\\, '\\ ' and \\uXXXX."
_DATE_FORMATS = "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a "
_DATE_FORMATS += "period format e.g. '-5d', '4w 2d'."
_TOKEN = re.compile(r"(?P<op>!=|!~|<=|>=|[=~<>])|(?P<punct>[(),])|(?P<word>[\w.-]+)|(?P<quote>[\"'])")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?", re.ASCII)
_WORD = re.compile(r"\w+")
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


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
class Predicate:
    """A history predicate: ``after``, ``before``, ``on`` (one time), ``during`` (two), ``by`` (users: any of
    them), ``from`` or ``to`` (one value; ``None`` for EMPTY)."""

    kind: str
    values: tuple[str | None, ...]


@dataclass(frozen=True)
class History:
    """``field WAS [NOT] [IN] values [predicates]`` or ``field CHANGED [predicates]``, over the issue's
    ``"history:<field>"`` entry (or, without one, the current value held since ``created``)."""

    field: str
    op: str
    values: tuple[str | None, ...]
    predicates: tuple[Predicate, ...] = ()

    def matches(self, issue: Mapping[str, Any]) -> bool:
        """Whether ``issue`` satisfies the clause."""
        segments = _segments(issue, self.field)
        if self.op == "changed":
            return any(self._changed(before, after) for before, after in zip(segments, segments[1:], strict=False))
        ends = [_time(s[1]) for s in segments[1:]] + [None]
        held = any(self._held(seg, end) and any(_holds(seg[0], want) for want in self.values)
                   for seg, end in zip(segments, ends, strict=True))
        return held != (self.op in ("was not", "was not in"))

    def _held(self, seg: Segment, end: str | None) -> bool:
        start = _time(seg[1])
        for p in self.predicates:
            if p.kind == "by" and not _by(seg, p.values):
                return False
            when = p.values[0] or ""
            if p.kind == "before" and not start < when:
                return False
            if p.kind == "after" and end is not None and not end > when:
                return False
            if p.kind == "on" and not (start < jql_time.day_after(when) and (end is None or end > when)):
                return False
            if p.kind == "during" and not (start <= (p.values[1] or "") and (end is None or end >= when)):
                return False
        return True

    def _changed(self, before: Segment, after: Segment) -> bool:
        at = _time(after[1])
        for p in self.predicates:
            want = p.values[0]
            if p.kind == "by" and not _by(after, p.values):
                return False
            if p.kind == "from" and not (_holds(before[0], want) and (want is None or not _holds(after[0], want))):
                return False
            if p.kind == "to" and not (_holds(after[0], want) and (want is None or not _holds(before[0], want))):
                return False
            if p.kind == "before" and not at < (want or ""):
                return False
            if p.kind == "after" and not at > (want or ""):
                return False
            if p.kind == "on" and not (want or "") <= at < jql_time.day_after(want or ""):
                return False
            if p.kind == "during" and not (want or "") <= at <= (p.values[1] or ""):
                return False
        return True


Node = Clause | Bool | History


class Query(query_grammar.Query):
    """A parsed JQL query: ``where`` (``None``: unbounded) and ``order_by``."""

    @property
    def bounded(self) -> bool:
        """True when the query has a restriction (a WHERE part)."""
        return self.where is not None

    @staticmethod
    def sort_key(issue: Mapping[str, Any], field: str) -> Any:
        """Keys sort by (project, number); dates as strings; the rest by first value, case-insensitively."""
        values = _values(issue, field)
        if not values:
            return None
        if field == "key":
            m = _KEY.fullmatch(values[0])
            return (m[1].casefold(), int(m[2])) if m else (values[0].casefold(), -1)
        return values[0] if _FIELDS[field] == "date" else values[0].casefold()


Function = Callable[[str, list[str]], list[str]]
"""A caller's JQL function: (canonical field, arguments) -> the values it stands for; raises JqlError."""


@dataclass(frozen=True)
class Context:
    """What a query's functions and relative dates read: who asks, when, the groups, extra functions."""

    current_user: str | None = None
    now: datetime | str | None = None
    groups: Mapping[str, Collection[str]] | None = None
    functions: Mapping[str, Function] | None = None


def parse(
    jql: str,
    *,
    known_values: Mapping[str, Collection[str]] | None = None,
    current_user: str | None = None,
    now: datetime | str | None = None,
    groups: Mapping[str, Collection[str]] | None = None,
    functions: Mapping[str, Function] | None = None,
) -> Query:
    """Parse and validate a JQL query.

    Args:
        jql: The query text.
        known_values: Canonical field -> accepted values (case-insensitive), checked for ``=``, ``!=``,
            ``IN`` and ``NOT IN`` literals (and history values).
        current_user: Account id that ``currentUser()`` stands for; ``None`` makes it match no one.
        now: The time relative dates and date functions count from (a datetime or a Jira timestamp, UTC);
            ``None``: the wall clock.
        groups: Group name -> account ids, for ``membersOf()``; ``None``: no groups.
        functions: Lower-case function name -> :data:`Function`, for functions beyond the built-in ones.

    Returns:
        The parsed query.

    Raises:
        JqlError: Whatever Jira would reject; syntax errors win over field and value errors.
    """
    if len(jql) > MAX_LENGTH:
        raise JqlError(f"The JQL query is too long: at most {MAX_LENGTH} characters are allowed.")
    return Query(*_Parser(jql, known_values or {}, Context(current_user, now, groups, functions)).parse())


def search(
    jql: str,
    issues: Iterable[Mapping[str, Any]],
    *,
    require_bounded: bool = True,
    **context: Any,
) -> list[Mapping[str, Any]]:
    """Return the ``issues`` matching ``jql``, in the query's order.

    Args:
        jql: The query text.
        issues: The candidates.
        require_bounded: Reject queries without a restriction, as ``/rest/api/3/search/jql`` does.
        **context: ``known_values``, ``current_user``, ``now``, ``groups``, ``functions``, as for :func:`parse`.

    Raises:
        JqlError: If the query is invalid, or unbounded while ``require_bounded``.
    """
    query = parse(jql, **context)
    if require_bounded and not query.bounded:
        raise JqlError(UNBOUNDED)
    return query.sort([issue for issue in issues if query.matches(issue)])


def _segments(issue: Mapping[str, Any], field: str) -> list[Segment]:
    recorded = issue.get(f"history:{field}")
    if isinstance(recorded, list) and recorded:
        return recorded
    return [(_values(issue, field), str(issue.get("created") or ""), None)]


def _time(text: str) -> str:
    return _date(text, strict=False) or text


def _holds(values: list[str], want: str | None) -> bool:
    """Whether a held value (its aliases) is ``want``, or, for ``None`` (EMPTY), whether it was empty."""
    if want is None:
        return not values
    return any(v.casefold() == want.casefold() for v in values)


def _by(seg: Segment, users: tuple[str | None, ...]) -> bool:
    return seg[2] is not None and any(_holds(seg[2], u) for u in users)


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


def _canonical(name: str) -> str | None:
    low = _ALIASES.get(name.casefold(), name.casefold())
    return low if low in _FIELDS else None


def _at(src: str, pos: int, message: str) -> JqlError:
    """A syntax error at 0-based offset ``pos``, located as Jira does (1-based line and character)."""
    line, char = src.count("\n", 0, pos) + 1, pos - src.rfind("\n", 0, pos)
    return JqlError(f"Error in the JQL Query: {message} (line {line}, character {char})")


class _Parser(query_grammar.Parser):
    """JQL's tokens, clauses (history ones too) and wording; field and value errors are deferred."""

    TOKEN, KEYWORDS = _TOKEN, _KEYWORDS
    AFTER_WHERE, AFTER_ORDER, VALUE = "either 'OR' or 'AND'", "','", "either a value, list or function"
    LIST_END = FIRST_ARG = "')'"

    def __init__(self, src: str, known: Mapping[str, Collection[str]], context: Context) -> None:
        super().__init__(src, context)
        self.user = context.current_user
        self.known = {_canonical(k) or k: {str(v).casefold() for v in vs} for k, vs in known.items()}

    # Tokens and syntax errors.
    def unexpected(self, pos: int) -> JqlError:
        hint = f"You must enclose it in a string or use the escape '\\u{ord(self.src[pos]):04x}' instead."
        return _at(self.src, pos, f"The character '{self.src[pos]}' is a reserved JQL character. {hint}")

    def string(self, start: int) -> tuple[str, int]:
        src = self.src
        m = STRING[src[start]].match(src, start)
        if m is None:
            raise _at(src, start, f"The quoted string '{src[start + 1 :]}' has not been completed.")

        def unescape(e: re.Match[str]) -> str:
            if len(e[1]) == 5:  # \uXXXX
                return chr(int(e[1][1:], 16))
            if e[1] not in _ESCAPES:
                raise _at(src, m.start(1) + e.start(), _BAD_ESCAPE.format(e[1]))
            return _ESCAPES[e[1]]

        return _ESCAPE.sub(unescape, m[1]), m.end()

    def expected(self, what: str, hint: str = "") -> JqlError:
        tok = self.peek()
        if tok.kind != "eof":
            return _at(self.src, tok.pos, f"Expecting {what} but got '{tok.value}'.{hint}")
        return JqlError(f"Error in the JQL Query: Expecting {what} before the end of the query.{hint}")

    def too_deep(self, tok: Tok) -> JqlError:
        return _at(self.src, tok.pos, f"The query is nested too deeply (more than {MAX_DEPTH} levels).")

    # Grammar beyond the shared one: keyword hints, EMPTY, the clauses and their history predicates.
    def field_name(self) -> str:
        tok = self.peek()
        if tok.kind == "word" and not self.is_name(tok):  # a keyword
            hint = f" You must surround '{tok.value}' in quotation marks to use it as a field name."
            raise self.expected("a field name", hint)
        return super().field_name()

    def clause(self) -> Clause | History:
        name = self.field_name()
        if self.peek().kind == "op":
            op = self.take().value
        elif self.take_kw("in"):
            op = "in"
        elif self.take_kw("is"):
            op = "is not" if self.take_kw("not") else "is"
        elif self.take_kw("not") and self.take_kw("in"):
            op = "not in"
        elif self.take_kw("was"):
            op = "was" + (" not" if self.take_kw("not") else "") + (" in" if self.take_kw("in") else "")
        elif self.take_kw("changed"):
            op = "changed"
        else:
            raise self.expected("operator", _VALID_OPS)
        is_list = op != "changed" and self.peek().kind == "("
        items = [] if op == "changed" else self.value_list() if is_list else [self.value()]
        if op in _HISTORY_OPS:
            predicates = self.predicates(op)
            return self.defer(lambda: self.build_history(name, op, items, is_list, predicates), History("", op, ()))
        return self.defer(lambda: self.build(name, op, items, is_list), Clause("", op, ()))

    def predicates(self, op: str) -> list[tuple[str, list[Tok]]]:
        """The predicates after a history clause: ``AFTER x``, ``DURING (x, y)``, ``BY x``, ``FROM x`` ..."""
        allowed = _PREDICATES if op == "changed" else _PREDICATES[:5]
        found: list[tuple[str, list[Tok]]] = []
        while kind := self.take_kw(*allowed):
            if kind == "during" and self.peek().kind != "(":
                raise self.expected("'('")
            found.append((kind, self.value_list() if kind == "during" else [self.value()]))
        return found

    def value(self) -> Tok:
        """``EMPTY``/``NULL`` as kind empty, else a literal or function call (see the shared ``value``)."""
        tok = self.peek()
        if self.take_kw("empty", "null"):
            return tok._replace(kind="empty")
        return super().value()

    def sort_field(self, name: str, position: int) -> str:
        field = self.defer(lambda: self.field(name, sorting=True), "")
        if position == MAX_ORDER_FIELDS:
            raise JqlError(f"Error in the JQL Query: ORDER BY accepts at most {MAX_ORDER_FIELDS} fields.")
        return field

    # Validation (reported through ``defer``).
    @staticmethod
    def field(name: str, sorting: bool = False) -> str:
        field = _canonical(name)
        if field is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        if sorting and field in _UNSORTABLE:
            raise JqlError(f"Field '{name}' does not support sorting.")
        return field

    def build(self, name: str, op: str, items: list[Tok], is_list: bool) -> Clause:
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
                values += self.call(item, field, name, op)
            else:
                values.append(None if item.kind == "empty" else self.literal(item.value, field, name, op))
        return Clause(field, op, tuple(values))

    def build_history(self, name: str, op: str, items: list[Tok], is_list: bool,
                      predicates: list[tuple[str, list[Tok]]]) -> History:
        field = self.field(name)
        if field not in HISTORY_FIELDS:
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        if is_list and not op.endswith(" in"):
            raise JqlError(f"The operator '{op}' does not support list values for the field '{name}'.")
        values = tuple(self.operand(item, field, name, op) for item in items)
        out = []
        for kind, operands in predicates:
            if kind == "during" and len(operands) != 2:
                raise JqlError("The 'DURING' predicate takes two dates: DURING (start, end).")
            if kind == "by":
                if operands[0].kind == "empty":
                    raise JqlError("The 'BY' predicate does not support EMPTY values.")
                users = tuple(self.call(operands[0], "assignee", "BY", "in") if operands[0].kind == "func"
                              else [operands[0].value])
                out.append(Predicate(kind, users))
            elif kind in ("from", "to"):
                out.append(Predicate(kind, self.operand(operands[0], field, name, "=")[:1]))
            else:
                times = tuple(self.operand(item, "created", kind.upper(), "=")[0] for item in operands)
                if None in times:
                    raise JqlError(f"The '{kind.upper()}' predicate does not support EMPTY values.")
                out.append(Predicate(kind, times))
        return History(field, op, tuple(v for group in values for v in group), tuple(out))

    def operand(self, item: Tok, field: str, name: str, op: str) -> tuple[str | None, ...]:
        """The values one history operand stands for (a literal, EMPTY, or a function)."""
        if item.kind == "empty":
            return (None,)
        if item.kind == "func":
            return tuple(self.call(item, field, name, "in" if op.endswith("in") else "="))
        return (self.literal(item.value, field, name, "="),)

    def call(self, item: Tok, field: str, name: str, op: str) -> list[str]:
        """The values a function stands for in a clause on ``field`` (written ``name``) with ``op``."""
        function, args, kind = item.value.casefold(), list(item.args), _FIELDS[field]
        if function in ("currentuser", "membersof") and kind != "user":
            raise JqlError(f"Function '{item.value}' is not valid for the field '{name}'.")
        if function == "currentuser":
            if args:
                raise JqlError(f"Function 'currentUser' expected 0 arguments but received {len(args)}.")
            return [self.user] if self.user else []  # anonymous: a value that matches no one
        if function == "membersof":
            if op not in ("in", "not in"):
                raise JqlError(f"Function 'membersOf' returns a list: use it with IN or NOT IN, not '{op}'.")
            if len(args) != 1:
                raise JqlError(f"Function 'membersOf' expected 1 argument but received {len(args)}.")
            groups = self.context.groups or {}
            found = next((g for g in groups if g.casefold() == args[0].casefold()), None)
            if found is None:
                raise JqlError(f"The group '{args[0]}' for function 'membersOf' does not exist.")
            return list(groups[found])
        if function in jql_time.FUNCTIONS:
            if kind != "date":
                raise JqlError(f"Function '{item.value}' is not valid for the field '{name}'.")
            try:
                return [jql_time.call(item.value, args, self.now)]
            except jql_time.DateError as exc:
                raise JqlError(str(exc)) from None
        extra = (self.context.functions or {}).get(function)
        if extra is None:
            raise JqlError(f"Unable to find JQL function '{item.value}()'.")
        return extra(field, args)

    def literal(self, text: str, field: str, name: str, op: str) -> str | None:
        if field == "resolution" and text.casefold() == "unresolved":  # Jira's name for an empty resolution
            return None
        if _FIELDS[field] == "date":
            normal = _date(text, strict=True) or jql_time.relative(text, self.now)
            if normal is None:
                raise JqlError(f"Date value '{text}' for field '{name}' is invalid. {_DATE_FORMATS}")
            return normal
        allowed = self.known.get(field)
        if allowed is not None and op in ("=", "!=", "in", "not in") and text.casefold() not in allowed:
            raise JqlError(f"The value '{text}' does not exist for the field '{name}'.")
        return text
