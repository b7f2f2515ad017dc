"""Scenario packages, found through the `pytest_rlvr.scenarios` entry-point group.

An entry point names a module, optionally with an attribute::

    [project.entry-points."pytest_rlvr.scenarios"]
    atlassian = "scenarios.atlassian:SCENARIOS"

The module (a package covers its submodules) is registered for pytest's assertion rewriting at start-up,
without being imported, so that the checks it defines report pytest's introspection. The attribute, when
given, is a Scenario, an iterable or a mapping (by name) of them, or a callable returning one; it is
loaded only when a scenario is looked up by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .scenario import Scenario

GROUP = "pytest_rlvr.scenarios"


def scenario_entry_points() -> list[EntryPoint]:
    """The installed entry points of the group."""
    return list(entry_points(group=GROUP))


def rewrite_targets(points: Iterable[EntryPoint] | None = None) -> list[str]:
    """The module names to register for assertion rewriting."""
    return sorted({ep.module for ep in (scenario_entry_points() if points is None else points)})


def as_scenarios(value: Any, origin: str) -> list[Scenario]:
    """A Scenario, an iterable or a mapping (by name) of them, or a callable returning one, as a list.

    Raises:
        TypeError: Something else was given.
    """
    if callable(value) and not isinstance(value, Scenario):
        value = value()
    if isinstance(value, Scenario):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        found = list(value)
        bad = [v for v in found if not isinstance(v, Scenario)]
        if not bad:
            return found
    raise TypeError(f"{origin} must give Scenario objects, not {value!r}")


def load_entry_point_scenarios(points: Iterable[EntryPoint] | None = None) -> list[Scenario]:
    """Import the entry points that name an attribute and return their scenarios."""
    found: list[Scenario] = []
    for ep in scenario_entry_points() if points is None else points:
        if ep.attr:
            found.extend(as_scenarios(ep.load(), f"entry point {ep.name} = {ep.value!r}"))
    return found


def by_name(scenarios: Iterable[Scenario]) -> dict[str, Scenario]:
    """Index scenarios by name.

    Raises:
        ValueError: Two different scenario objects share a name.
    """
    index: dict[str, Scenario] = {}
    for scenario in scenarios:
        other = index.setdefault(scenario.name, scenario)
        if other is not scenario:
            raise ValueError(f"two scenarios are named {scenario.name!r}: {other!r} and {scenario!r}")
    return index
