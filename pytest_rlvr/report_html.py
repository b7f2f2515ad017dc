"""A tiny HTML builder for the report: every string that is not already `Html` is escaped.

Data from the model, the traces and the results file is untrusted; building the page only through `h`
makes escaping structural: text becomes markup only by passing through `html.escape`.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

CUT = 4000
"""The most characters of one body (model text, arguments, an API answer) the page shows."""


UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Control characters (terminal escapes, NUL) and lone surrogates: shown as `\\xNN` / `\\uNNNN` escapes."""


MAX_DEPTH = 40
"""Deeper JSON is shown on one line."""


class Html(str):
    """A string of markup that is safe to insert as it is."""

    __slots__ = ()


Child = Html | str | int | float | None | Iterable["Child"]


def text(value: Any) -> Html:
    """`value` as escaped text (None gives nothing; anything else goes through `str`)."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    shown = UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value))
    return Html(html.escape(shown, quote=True))


def join(children: Iterable[Child]) -> Html:
    """Children as markup, in order: `Html` as it is, strings escaped, iterables flattened."""
    parts: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, str | int | float):
            parts.append(text(child))
        else:
            parts.append(join(child))
    return Html("".join(parts))


VOID = frozenset({"meta", "link", "br", "input", "hr"})


def h(tag: str, *children: Child, cls: str | None = None, **attrs: Any) -> Html:
    """An element: `h("td", "x", cls="num", data_check="a")` gives `<td class="num" data-check="a">x</td>`.

    Attribute names take `_` for `-` (a trailing `_` is dropped: `for_`); True gives a bare attribute,
    None and False leave it out; every value is escaped.
    """
    if cls:
        attrs = {"class": cls, **attrs}
    rendered = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        rendered.append(f" {name}" if value is True else f' {name}="{text(value)}"')
    opening = f"<{tag}{''.join(rendered)}>"
    if tag in VOID:
        return Html(opening)
    return Html(f"{opening}{join(children)}</{tag}>")


def cut(value: str, limit: int = CUT) -> Html:
    """`value` escaped, at most `limit` characters, with a visible note of what was cut."""
    if len(value) <= limit:
        return text(value)
    rest = len(value) - limit
    return join([value[:limit], h("span", f"\n… cut: {rest:,} more characters not shown", cls="cut")])


def pre(value: str, cls: str = "", limit: int = CUT) -> Html:
    """A block of text shown exactly, capped at `limit` characters."""
    return h("pre", cut(value, limit), cls=("block " + cls).strip())


def as_text(value: Any) -> str:
    """A value as text: strings as they are, anything else as JSON (`pretty`)."""
    if isinstance(value, str):
        return value
    return pretty(value)


def pretty(value: Any, width: int = 100, depth: int = 0) -> str:
    """JSON indented by two spaces, except that an object or array that fits in `width` stays on one line."""
    one = json.dumps(value, ensure_ascii=False, default=str)
    if not isinstance(value, dict | list) or not value or len(one) + 2 * depth <= width or depth >= MAX_DEPTH:
        return one
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        inner = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {pretty(v, width, depth + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(inner) + "\n" + "  " * depth + "}"
    inner = [pad + pretty(v, width, depth + 1) for v in value]
    return "[\n" + ",\n".join(inner) + "\n" + "  " * depth + "]"


def compact(value: Any) -> str:
    """A value as one line of JSON (strings as they are)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def number(value: Any) -> float | None:
    """A finite number, or None for anything else (a boolean, a string, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def fmt(value: Any, digits: int = 3, signed: bool = False) -> str:
    """A number with `digits` decimals, '–' when it is not a number."""
    x = number(value)
    if x is None:
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty one (results files are read defensively)."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """`value` when it is a list, else an empty list."""
    return value if isinstance(value, list) else []
