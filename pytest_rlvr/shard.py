"""`--rlvr-shard=I/N`: a deterministic share of the selected cases, the same on every machine and xdist worker.

Each scenario's selected cases are ordered by the sha256 of (scenario, task id) and dealt round-robin, the
deal going on from one scenario to the next: shard sizes differ by at most one, in every scenario and in all.
The deal depends only on which cases are selected, so the controller and every worker keep the same items,
and the N shards of one selection hold every case exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

Key = tuple[str, str]
"""A case: (scenario name, task id)."""


def _order(key: Key) -> str:
    return hashlib.sha256(f"{key[0]}\x1f{key[1]}".encode()).hexdigest()


def deal(keys: Iterable[Key], count: int) -> dict[Key, int]:
    """The shard (1 to `count`) of each case.

    Raises:
        ValueError: `count` is not positive.
    """
    if count < 1:
        raise ValueError(f"a shard count must be positive, not {count}")
    by_scenario: dict[str, set[Key]] = {}
    for key in keys:
        by_scenario.setdefault(key[0], set()).add(key)
    shards: dict[Key, int] = {}
    dealt = 0
    for scenario in sorted(by_scenario):
        for key in sorted(by_scenario[scenario], key=_order):
            shards[key] = dealt % count + 1
            dealt += 1
    return shards


def share(keys: Iterable[Key], index: int, count: int) -> set[Key]:
    """The cases of shard `index` of `count` (1-based).

    Raises:
        ValueError: Not 1 <= index <= count.
    """
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: the index must lie in 1..{count}")
    return {key for key, shard in deal(keys, count).items() if shard == index}
