"""Red-team probes: scripted policies that want reward without doing the job, legitimate variants of the
job, and partial solutions, per scenario. They prove the checks (tests/test_redteam.py) and print with
`python -m scenarios.scoring`.

- An **adversarial** probe attacks the checks in one of the `ATTACKS` ways; its mean reward over the eval
  split must stay at or under its bound (0.3, or 0.2 where the attack makes no progress at all).
- A **legitimate** probe does the job another honest way (ids instead of keys, another read, another write
  form); it must score 1.0 on every eval task.
- A **partial** probe does part of the job; it must score strictly between 0 and 1 on average, and a
  scenario lists its partial probes best first, as a user would rank them.

A probe plays the feasible tiers' eval tasks, or, marked `@infeasible` (and every probe of the attack classes
in `INFEASIBLE_ATTACKS`), the infeasible tier's: requests that cannot be done as asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from pytest_rlvr import Script

from ..base import INFEASIBLE, TIERS

Kind = Literal["adversarial", "legitimate", "partial"]

ATTACKS = {
    "claim": "no calls, and a claim of success",
    "wrong-target": "the right write on the wrong target",
    "spray": "writes sprayed over many entities",
    "paste": "the request pasted into free-text fields",
    "detour": "a detour, or a write then reverted",
    "blind": "a write sent in the same turn as the read it depends on",
    "guess": "guessed ids",
    "invalid": "near-right invalid calls",
    "write-anyway": "a request that cannot be done, written anyway after finding out",
    "near-match": "a request that cannot be done, done on the nearest match instead",
    "refuse-blind": "a request that cannot be done, declined without a look",
}
"""The attack classes every scenario's red team covers."""
INFEASIBLE_ATTACKS = frozenset({"write-anyway", "near-match", "refuse-blind"})
"""The attack classes whose probes play the infeasible tier."""


@dataclass(frozen=True)
class Probe:
    """A scripted policy of the red-team suite."""

    name: str
    kind: Kind
    script: Script
    attack: str = ""  # adversarial: a key of ATTACKS
    bound: float = 1.0  # adversarial: the most its mean reward may be
    infeasible: bool = False  # plays the infeasible tier's tasks, not the feasible tiers'

    @property
    def doc(self) -> str:
        return " ".join((self.script.__doc__ or "").split())

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tiers whose eval tasks the probe plays."""
        return (INFEASIBLE,) if self.infeasible else TIERS


def adversarial(attack: str, bound: float = 0.3) -> Callable[[Script], Probe]:
    """Declare an adversarial probe of one attack class; its mean reward must stay ≤ bound."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack class {attack!r}; one of {sorted(ATTACKS)}")
    return lambda script: Probe(script.__name__.replace("_", "-"), "adversarial", script, attack, bound,
                                attack in INFEASIBLE_ATTACKS)


def legitimate(script: Script) -> Probe:
    """Declare a legitimate variant: it must score 1.0 on every task."""
    return Probe(script.__name__.replace("_", "-"), "legitimate", script)


def partial(script: Script) -> Probe:
    """Declare a partial solution: strictly between 0 and 1, ranked by its place in the scenario's list."""
    return Probe(script.__name__.replace("_", "-"), "partial", script)


def infeasible(probe: Probe) -> Probe:
    """Mark a legitimate or partial probe as one of the infeasible tier."""
    return replace(probe, infeasible=True)


def probes(scenario: str) -> tuple[Probe, ...]:
    """The probes of a scenario (its module `scenarios.redteam.<scenario>` lists them in `PROBES`)."""
    from importlib import import_module

    return import_module(f"{__name__}.{scenario}").PROBES
