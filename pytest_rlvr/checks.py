"""Checks: plain functions over (trace, task) that `assert`; run together they give a Reward.

The same function is a pytest assertion and a reinforcement-learning reward. No pytest, torch or trl
imports here.

The score is the weighted share of checks that hold. A check declared with a `cap` is also a gate: when it
fails, the whole score is at most the cap (a side effect or an uninformed write must cost more than one
weight among many, as Fleet's and AppWorld's `expect_only` checkers fail a task).
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .task import Task
    from .trace import Trace

Group = Literal["arguments", "process", "outcome"]
GROUPS: tuple[Group, ...] = ("arguments", "process", "outcome")


class CheckBug(Exception):
    """A check raised something other than AssertionError: a bug in the check, never a score of 0."""


@dataclass(frozen=True)
class Check:
    """A named, weighted, grouped assertion over a trace."""

    fn: Callable[[Trace, Task], None]
    group: Group
    weight: float
    name: str
    doc: str = ""
    cap: float | None = None

    def __call__(self, trace: Trace, task: Task) -> None:
        self.fn(trace, task)


def check(group: Group, weight: float = 1.0, name: str | None = None,
          cap: float | None = None) -> Callable[[Callable], Check]:
    """Declare a check: `@check("outcome", weight=2)` over `def f(trace, task): assert ...`.

    With `cap`, a failure also caps the whole score at that value (a gate).
    """
    if group not in GROUPS:
        raise ValueError(f"check group must be one of {GROUPS}, not {group!r}")
    if not weight > 0:
        raise ValueError(f"check weight must be positive, not {weight!r}")
    if cap is not None and not 0 <= cap < 1:
        raise ValueError(f"a check's cap must be in [0, 1), not {cap!r}")

    def wrap(fn: Callable) -> Check:
        return Check(fn, group, float(weight), name or fn.__name__, (fn.__doc__ or "").strip(),
                     None if cap is None else float(cap))

    return wrap


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    group: Group
    weight: float
    held: bool
    message: str = ""
    cap: float | None = None
    doc: str = ""  # why the check exists: its docstring's first sentence


@dataclass(frozen=True)
class Reward:
    """The weighted share of checks that held, capped by failed gates, with every check's outcome."""

    score: float
    outcomes: tuple[CheckOutcome, ...] = field(default_factory=tuple)

    @property
    def failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.held]

    def by_group(self) -> dict[str, float]:
        """Each group's contribution to the score; the contributions sum to `score` (a cap scales them all)."""
        total = sum(o.weight for o in self.outcomes) or 1.0
        share = {g: sum(o.weight for o in self.outcomes if o.group == g and o.held) / total for g in GROUPS}
        uncapped = sum(share.values())
        scale = self.score / uncapped if uncapped > self.score else 1.0
        return {g: v * scale for g, v in share.items()}

    def explain(self) -> str:
        lines = [f"reward {self.score:.3f}"]
        for o in self.failures:
            first, _, rest = (o.message or "assertion failed").partition("\n")
            gate = f", caps the reward at {o.cap:g}" if o.cap is not None else ""
            lines.append(f"  FAILED [{o.group} w={o.weight:g}{gate}] {o.name}: {first}")
            if o.doc:
                lines.append(f"      why: {o.doc}")
            lines.extend(f"      {line}" for line in rest.splitlines() if line.strip())
        return "\n".join(lines)


ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
"""Terminal escape sequences: pytest's introspection colours diffs when it writes to a terminal."""


def _message(exc: AssertionError) -> str:
    """The assertion's message, without object addresses or terminal colours (pytest's introspection adds
    both), so that the same trace always gives the same plain-text outcome, on a terminal or not."""
    return ANSI.sub("", ADDRESS.sub("", str(exc))) or "assertion failed"


def _why(doc: str) -> str:
    """A check docstring's first sentence, on one line."""
    text = " ".join(doc.split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def score(checks: Iterable[Check], trace: Trace, task: Task) -> Reward:
    """Run every check on the trace; AssertionError means "did not hold", anything else is a CheckBug."""
    outcomes = []
    for c in checks:
        try:
            c(trace, task)
        except AssertionError as exc:
            outcomes.append(CheckOutcome(c.name, c.group, c.weight, False, _message(exc), c.cap, _why(c.doc)))
        except Exception as exc:
            raise CheckBug(f"check {c.name!r} raised {type(exc).__name__}: {exc}") from exc
        else:
            outcomes.append(CheckOutcome(c.name, c.group, c.weight, True, "", c.cap, _why(c.doc)))
    total = sum(o.weight for o in outcomes)
    if not total:
        raise CheckBug("a scenario without checks cannot be scored")
    held = sum(o.weight for o in outcomes if o.held)
    caps = [o.cap for o in outcomes if not o.held and o.cap is not None]
    return Reward(min([held / total, *caps]), tuple(outcomes))


def checks_version(checks: Iterable[Check]) -> str:
    """A short fingerprint of a set of checks: their names, groups, weights and source code.

    Saved with results, so that runs scored by different checkers are not compared unawares.
    """
    digest = hashlib.sha256()
    for c in checks:
        digest.update(f"{c.name}\x1f{c.group}\x1f{c.weight!r}\x1f{c.cap!r}\x1f{_code_text(c.fn)}\x1e".encode())
    return digest.hexdigest()[:12]


def _code_text(fn: Callable) -> str:
    """A function's source, and that of what it closes over (a factory's parameters shape the check)."""
    try:
        parts = [inspect.getsource(fn)]
    except (OSError, TypeError):
        parts = [getattr(fn, "__qualname__", type(fn).__name__)]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if inspect.isfunction(value):
            parts.append(_code_text(value))
        elif " at 0x" not in (text := _stable_repr(value)):
            parts.append(text)
    return "\x1d".join(parts)


def _stable_repr(value: object) -> str:
    """repr with sets and mappings sorted, so that it does not change between processes."""
    if isinstance(value, Mapping):
        items = sorted((_stable_repr(k), _stable_repr(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_stable_repr(v) for v in value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_stable_repr(v) for v in value) + "]"
    return repr(value)
