"""`python -m train probe`: a learnability pre-flight before any training is spent.

K rollouts per task on the first train tasks of each scenario (the tasks `grpo --seed` trains on), with the
rollout loop evaluation uses, scored by the scenario's checks. Per scenario and tier it reports the mean
reward, the share of groups (tasks) whose rewards are not all equal, and the shares where every sample passed
or none did. GRPO's advantages are zero on a group without a spread: a scenario or tier with none is flagged.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from pytest_rlvr import Scenario, Task, score
from pytest_rlvr.aggregate import has_spread, tier_key
from pytest_rlvr.engine import Engine
from pytest_rlvr.settings import Settings
from pytest_rlvr.summary import render_table

from .config import ConfigError, ProbeConfig

ALL = "all"
"""The tier name of a scenario's row over all its tiers."""


@dataclass(frozen=True)
class Group:
    """One task's K sample rewards."""

    scenario: str
    tier: str
    task_id: str
    rewards: tuple[float, ...]
    threshold: float


@dataclass(frozen=True)
class Cell:
    """The figures of one scenario and tier (or `ALL` of its tiers).

    Attributes:
        scenario: The scenario.
        tier: The tier, or `ALL`.
        groups: Tasks rolled out.
        mean: Mean reward over every sample.
        spread: Share of groups whose rewards are not all equal: the groups GRPO learns from.
        all_pass: Share of groups in which every sample reached the scenario's threshold.
        all_fail: Share of groups in which no sample reached it.
    """

    scenario: str
    tier: str
    groups: int
    mean: float
    spread: float
    all_pass: float
    all_fail: float

    @property
    def flat(self) -> bool:
        """No group has a spread: GRPO has nothing to learn from here."""
        return self.spread == 0

    @property
    def signal(self) -> str:
        """Whether GRPO has groups to learn from here, and why not when it has none."""
        if not self.flat:
            return "yes"
        if self.all_pass == 1:
            return "none: saturated, every sample passes"
        return "none: flat, no sample passes" if self.all_fail == 1 else "none: every group flat"

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "tier": self.tier, "groups": self.groups, "mean": self.mean,
                "spread": self.spread, "all_pass": self.all_pass, "all_fail": self.all_fail, "flat": self.flat,
                "signal": self.signal}


def cell(scenario: str, tier: str, groups: Sequence[Group]) -> Cell:
    """The figures over these groups (at least one)."""
    n = len(groups)
    samples = [r for g in groups for r in g.rewards]
    return Cell(scenario, tier, n, sum(samples) / len(samples),
                sum(1 for g in groups if has_spread(g.rewards)) / n,
                sum(1 for g in groups if all(r >= g.threshold for r in g.rewards)) / n,
                sum(1 for g in groups if all(r < g.threshold for r in g.rewards)) / n)


def summarize(groups: Iterable[Group]) -> list[Cell]:
    """Per scenario (in first-seen order): a row per tier in `TIER_ORDER`, then `ALL` when it has several."""
    by_scenario: dict[str, list[Group]] = {}
    for g in groups:
        by_scenario.setdefault(g.scenario, []).append(g)
    cells = []
    for name, rows in by_scenario.items():
        tiers = sorted({g.tier for g in rows}, key=tier_key)
        cells.extend(cell(name, t, [g for g in rows if g.tier == t]) for t in tiers)
        if len(tiers) > 1:
            cells.append(cell(name, ALL, rows))
    return cells


def make_policy(model: str, scenarios: Mapping[str, Scenario], settings: Settings) -> Any:
    """A scripted policy by name, or a model (alias, checkpoint directory, or id) run as evaluation would.

    Raises:
        ConfigError: The name is neither, or the model cannot run here.
    """
    import pytest

    from policies.plugin import choose, known, make
    from policies.registry import looks_like_path, resolve
    from pytest_rlvr.scripted import make_scripted

    if looks_like_path(model) and not Path(model).expanduser().is_dir():
        raise ConfigError(f"--model={model}: no such checkpoint directory")
    try:
        policy = make_scripted(model, scenarios)
        if policy is None and known(model):
            policy = make(resolve(model), choose(model, "auto", ())[0], settings)
    except (ValueError, pytest.UsageError) as exc:
        raise ConfigError(f"--model={model}: {exc}") from None
    if policy is None:
        raise ConfigError(f"--model={model}: not a scripted policy, an alias, a checkpoint directory or a model id")
    return policy


def tasks(cfg: ProbeConfig, scenario: Scenario) -> list[Task]:
    """The first `cfg.tasks` train tasks of the tiers asked for, from the seed's start (as GRPO's pool)."""
    from .data import train_tasks

    return train_tasks(scenario, cfg.tasks, cfg.seed, cfg.tiers)


def settings(cfg: ProbeConfig) -> Settings:
    return Settings(model=cfg.model, samples=cfg.samples, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                    max_turns=cfg.max_turns, seed=cfg.seed, split="train", tasks=cfg.tasks,
                    concurrency=cfg.concurrency)


def rollouts(cfg: ProbeConfig, policy: Any, scenarios: Mapping[str, Scenario]) -> list[Group]:
    """Every task's K rollouts, scored by its scenario's checks."""
    engine = Engine(policy, settings(cfg))
    cases = [(s, t) for s in scenarios.values() for t in tasks(cfg, s)]
    done, start = 0, time.monotonic()

    async def group(s: Scenario, t: Task) -> Group:
        nonlocal done
        traces = await engine.run_case(s, t)
        g = Group(s.name, t.tier, t.id, tuple(score(s.checks_for(t), trace, t).score for trace in traces),
                  s.threshold)
        done += 1
        print(f"probe: {done}/{len(cases)} groups, {(time.monotonic() - start) / 60:.1f} min: {t.id} ({t.tier}) "
              + " ".join(f"{r:.2f}" for r in g.rewards), file=sys.stderr, flush=True)
        return g

    async def run() -> list[Group]:
        try:
            return list(await asyncio.gather(*(group(s, t) for s, t in cases)))
        finally:
            await policy.close()

    return asyncio.run(run())


def table(cells: Sequence[Cell], title: str) -> Table:
    """Scenario, tier, groups, mean reward, spread, all-pass and all-fail shares, and the flag."""
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    out.add_column("scenario", no_wrap=True)
    out.add_column("tier", no_wrap=True)
    for header in ("groups", "mean reward", "spread", "all-pass", "all-fail"):
        out.add_column(header, justify="right", no_wrap=True)
    out.add_column("GRPO signal", no_wrap=True)
    for c in cells:
        out.add_row(c.scenario, c.tier, str(c.groups), f"{c.mean:.3f}", f"{c.spread:.2f}", f"{c.all_pass:.2f}",
                    f"{c.all_fail:.2f}", c.signal)
    return out


def report(cfg: ProbeConfig, cells: Sequence[Cell]) -> str:
    title = (f"probe: {cfg.model}, {cfg.tasks} train tasks x {cfg.samples} samples per scenario, "
             f"temperature {cfg.temperature:g}, seed {cfg.seed}")
    flat = [f"{c.scenario}/{c.tier}" for c in cells if c.flat and c.tier != ALL]
    lines = ["spread: share of groups (tasks) whose sample rewards differ; GRPO learns from those only"]
    if flat:
        lines.append(f"no signal for GRPO (every group flat): {', '.join(flat)}")
    return render_table(table(cells, title), lines, width=100, color=False)


def probe(cfg: ProbeConfig) -> list[Cell]:
    """Roll out, score and print the figures; they come back too.

    Raises:
        ConfigError: The model cannot be made.
    """
    from scenarios import SCENARIOS

    scenarios = {name: SCENARIOS[name] for name in cfg.scenarios}
    policy = make_policy(cfg.model, scenarios, settings(cfg))
    groups = rollouts(cfg, policy, scenarios)
    cells = summarize(groups)
    print(report(cfg, cells))
    if cfg.save is not None:
        save(cfg, cells, groups)
    return cells


def save(cfg: ProbeConfig, cells: Sequence[Cell], groups: Sequence[Group]) -> None:
    """The configuration, the figures and every group's rewards as JSON at `cfg.save`.

    Raises:
        ConfigError: The file cannot be written.
    """
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    data = {"config": config, "cells": [c.to_dict() for c in cells], "groups": [asdict(g) for g in groups]}
    try:
        cfg.save.parent.mkdir(parents=True, exist_ok=True)
        cfg.save.write_text(json.dumps(data, indent=1) + "\n")
    except OSError as exc:
        raise ConfigError(f"--save={cfg.save}: {exc.strerror or exc}") from None
