"""A difficulty pool for GRPO prompts (`python -m train grpo --sampling pool`): rollouts spent where there is signal.

GRPO learns from a group only when its rewards differ: a task the policy always solves, or always fails the
same way, costs a whole group and moves nothing. Each train task has a state, from its most recent group:

- `unknown`: never rolled out (nor in the probe that seeded the pool);
- `informative`: its rewards differ (`has_spread`, as the probe counts);
- `saturated`: every reward is 1.0, the most a scenario pays;
- `flat`: every reward is the same value below 1.0 (failed alike, or the same partial credit), or, in a run
  with `--skip-unsolved`, no reward reached the scenario's threshold (a group that teaches nothing there).

Prompts are drawn mostly from informative and unknown tasks, and `FLAT_SHARE` of them from saturated and flat
ones, so that a task whose state changed as the policy learned is found again (as prime-rl's difficulty
pools keep a share of easy and hard tasks). States come from each step's rollouts (`record`), and can start
from a probe's groups (`--pool PROBE.json`, written by `python -m train probe --save`).

`PoolSampler` replaces TRL's `RepeatSampler` with the same layout and draws each step's tasks when the
trainer asks for them: TRL's trainer and accelerate fetch one generation batch ahead, so the groups of step k
inform the draws of step k + 2.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

from torch.utils.data import Sampler

from pytest_rlvr.aggregate import has_spread

from .config import ConfigError, several_processes

UNKNOWN, INFORMATIVE, SATURATED, FLAT = "unknown", "informative", "saturated", "flat"
STATES = (UNKNOWN, INFORMATIVE, SATURATED, FLAT)
SIGNAL = (UNKNOWN, INFORMATIVE)  # drawn from first: a spread last time, or not seen yet
FLAT_SHARE = 0.15  # of draws from saturated and flat tasks: enough to notice within a few epochs that one changed,
# few enough that most groups go where the spread is (prime-rl's pools keep a similar small share)
TOP = 1.0  # the most a scenario's checks pay


def state_of(rewards: Sequence[float], threshold: float | None = None) -> str:
    """The state a group's rewards put its task in; with a `threshold`, a group none of whose rewards reaches
    it is flat (it has no advantage under `--skip-unsolved`)."""
    if not rewards:
        return UNKNOWN
    if threshold is not None and max(rewards) < threshold:
        return FLAT
    if has_spread(rewards):
        return INFORMATIVE
    return SATURATED if min(rewards) >= TOP - 1e-9 else FLAT


def _reward(value: float | Mapping[str, float]) -> float:
    """A rollout's reward: a number, or the check groups' shares (`rlvr_rewards`), which sum to the score."""
    return float(sum(value.values())) if isinstance(value, Mapping) else float(value)


class Pool:
    """The train tasks' states, in the order of the dataset's rows (a sampler's indices)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        if len(self.index) != len(self.keys):
            raise ValueError("the pool's task keys must be distinct")
        self.rewards: dict[str, tuple[float, ...]] = {}  # each task's most recent group
        self.states = [UNKNOWN] * len(self.keys)
        self.meta: dict[str, dict[str, Any]] = {}  # scenario and tier of each key, when built from rows
        self.thresholds: dict[str, float] = {}  # `--skip-unsolved`: each key's pass threshold

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Pool:
        """A pool over GRPO rows (`train.data.prompts`), keyed by task id (a row without one: by its index)."""
        keys = [str(row.get("task_id", i)) for i, row in enumerate(rows)]
        pool = cls(keys)
        pool.meta = {k: {"scenario": row.get("environment"), "tier": row.get("tier")}
                     for k, row in zip(keys, rows, strict=True)}
        return pool

    def record(self, key: str, rewards: Sequence[float | Mapping[str, float]]) -> str:
        """A group's rewards for this task; its new state comes back."""
        values = tuple(_reward(r) for r in rewards)
        self.rewards[key] = values
        self.states[self.index[key]] = state = state_of(values, self.thresholds.get(key))
        return state

    def state(self, key: str) -> str:
        return self.states[self.index[key]]

    def counts(self) -> dict[str, int]:
        return {s: self.states.count(s) for s in STATES}

    def seed(self, groups: Iterable[Mapping[str, Any]]) -> int:
        """States from a probe's groups (`task_id`, `rewards`); groups of other tasks are left out. How many
        tasks were seeded comes back."""
        seeded = 0
        for g in groups:
            if str(g["task_id"]) in self.index:
                self.record(str(g["task_id"]), g["rewards"])
                seeded += 1
        return seeded

    def stratum(self, index: int) -> tuple[Any, Any]:
        """(scenario, tier) of a task: one stratum when the pool knows neither."""
        meta = self.meta.get(self.keys[index], {})
        return meta.get("scenario"), meta.get("tier")

    def draw(self, n: int, rng: random.Random, flat_share: float | None = None) -> list[int]:
        """`n` distinct task indices: each from the informative and unknown tasks, or with probability
        `flat_share` (`FLAT_SHARE` by default) from the saturated and flat ones; from the other kind when one
        has none left. Within the kind, from the strata (scenario and tier) drawn least so far in this call:
        a step of several groups spreads them over the scenarios and tiers, so its update averages them where
        one group a step follows one tier at a time (docs/training.md measures both on transitions)."""
        if n > len(self.keys):
            raise ValueError(f"cannot draw {n} distinct tasks from a pool of {len(self.keys)}")
        share = FLAT_SHARE if flat_share is None else flat_share
        signal = [i for i, s in enumerate(self.states) if s in SIGNAL]
        flat = [i for i, s in enumerate(self.states) if s not in SIGNAL]
        drawn: Counter[tuple[Any, Any]] = Counter()
        chosen = []
        for _ in range(n):
            first, other = (flat, signal) if rng.random() < share else (signal, flat)
            source = first or other
            least = min(drawn[self.stratum(i)] for i in source)
            fewest = [i for i in source if drawn[self.stratum(i)] == least]
            pick = fewest[rng.randrange(len(fewest))]
            source.remove(pick)
            chosen.append(pick)
            drawn[self.stratum(pick)] += 1
        return chosen

    def to_dict(self) -> dict[str, Any]:
        """The recorded groups, in the probe's JSON shape: a pool saved so can seed another run."""
        groups = [{**self.meta.get(k, {}), "task_id": k, "rewards": list(r)} for k, r in self.rewards.items()]
        return {"config": {"source": "pool"}, "counts": self.counts(), "groups": groups}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def record(pool: Pool | None, rows_or_keys: Sequence[Mapping[str, Any] | str],
           rewards: Sequence[float | Mapping[str, float]]) -> None:
    """One step's rollouts into the pool (nothing without one): each task's rollouts, in this call, are its
    group. A rollout is named by its task key or its row; its reward is a number or `rlvr_rewards`' shares."""
    if pool is None:
        return
    groups: dict[str, list[float | Mapping[str, float]]] = {}
    for item, reward in zip(rows_or_keys, rewards, strict=True):
        key = str(item["task_id"]) if isinstance(item, Mapping) else str(item)
        groups.setdefault(key, []).append(reward)
    for key, values in groups.items():
        pool.record(key, values)


class PoolSampler(Sampler[int]):
    """TRL's `RepeatSampler` layout with the pool's draws: `batch_size` distinct tasks per chunk, each index
    `mini_repeat_count` times in a row (a group), the chunk `repeat_count` times over; as many chunks per epoch
    as the dataset holds. Each chunk is drawn only when the trainer asks for its first index, so it sees the
    groups recorded until then. Tasks are drawn from `pool` (its keys in the dataset's row order)."""

    def __init__(self, data_source: Sized, mini_repeat_count: int, batch_size: int = 1, repeat_count: int = 1,
                 seed: int | None = None, *, pool: Pool) -> None:
        if len(pool) != len(data_source):
            raise ValueError(f"the pool holds {len(pool)} tasks, the dataset {len(data_source)} rows")
        if batch_size > len(pool):
            raise ValueError(f"{batch_size} groups per step need as many distinct tasks; the pool holds {len(pool)}")
        self.data_source, self.pool = data_source, pool
        self.mini_repeat_count, self.batch_size, self.repeat_count = mini_repeat_count, batch_size, repeat_count
        self.num_samples = len(data_source)
        self.seed = seed
        self.rng = random.Random(seed)
        self.drawn: list[list[int]] = []  # every chunk drawn, for inspection

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.num_samples // self.batch_size):
            chunk = self.pool.draw(self.batch_size, self.rng)
            self.drawn.append(chunk)
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index

    def __len__(self) -> int:
        return (self.num_samples // self.batch_size) * self.batch_size * self.mini_repeat_count * self.repeat_count


def read_probe(path: Path) -> dict[str, Any]:
    """A probe's (or a saved pool's) JSON, checked for groups of task ids and rewards.

    Raises:
        ConfigError: No such file, not JSON, or not that shape.
    """
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"--pool={path}: no such file (write one with `python -m train probe --save`)") from None
    except OSError as exc:
        raise ConfigError(f"--pool={path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"--pool={path}: not JSON ({exc})") from None
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("task_id"), str) and isinstance(g.get("rewards"), list)
            and g["rewards"] and all(isinstance(r, int | float) and not isinstance(r, bool) for r in g["rewards"])
            for g in groups):
        raise ConfigError(f"--pool={path}: not a probe's JSON (`python -m train probe --save`): "
                          f"no list of groups with a task_id and rewards")
    return data


def _scenario(group: Mapping[str, Any]) -> str:
    return str(group.get("scenario") or group["task_id"].split("/", 1)[0])


def check(path: Path | None, scenarios: Sequence[str], seed: int) -> None:
    """`--sampling pool` options, before anything loads. A probe of another model is fine (the pool only
    starts from it); one of another training seed shares no task with this run, and one of none of this run's
    scenarios neither: both are refused. Groups of scenarios this run does not train are left out.

    Raises:
        ConfigError: As `read_probe`, or the probe cannot seed this run, or several training processes would
            each record only their own share of each step's groups.
    """
    if several_processes():
        raise ConfigError("--sampling pool: records each step's groups in one training process; on several, "
                          "use --sampling uniform")
    if path is None:
        return
    data = read_probe(path)
    probed = data.get("config", {}).get("seed") if isinstance(data.get("config"), dict) else None
    if probed is not None and probed != seed:
        raise ConfigError(f"--pool={path}: a probe of --seed={probed}'s train tasks; this run trains on "
                          f"--seed={seed}'s (probe with --seed={seed})")
    theirs = sorted({_scenario(g) for g in data["groups"]})
    if not set(theirs) & set(scenarios):
        raise ConfigError(f"--pool={path}: a probe of {', '.join(theirs) or 'no scenario'}; this run trains "
                          f"{', '.join(scenarios)}")


def make_pool(cfg: Any, rows: Sequence[Mapping[str, Any]]) -> Pool | None:
    """The GRPO run's pool over its rows (None unless `--sampling pool`), seeded from `--pool` if given.

    Raises:
        ConfigError: The probe holds none of this run's tasks (other tiers, or other tasks).
    """
    if getattr(cfg, "sampling", "uniform") != "pool":
        return None
    pool = Pool.from_rows(rows)
    if getattr(cfg, "skip_unsolved", False):
        from scenarios import SCENARIOS

        pool.thresholds = {k: SCENARIOS[m["scenario"]].threshold for k, m in pool.meta.items()}
    if cfg.pool is not None and not pool.seed(read_probe(cfg.pool)["groups"]):
        raise ConfigError(f"--pool={cfg.pool}: none of its tasks is one this run trains on (other tiers?)")
    return pool
