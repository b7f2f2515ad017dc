"""Statistics of a run: mean reward with a 95% bootstrap interval, unbiased pass@k, pass^k."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """A mean with its 95% confidence interval (None when a single value gives no spread)."""

    mean: float
    low: float | None
    high: float | None

    def __str__(self) -> str:
        if self.low is None or self.high is None:
            return f"{self.mean:.3f}"
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): the chance that some of k samples drawn from n succeeds.

    Args:
        n: Samples drawn.
        c: Samples that succeeded.
        k: Samples allowed.
    """
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (Yao et al. 2024, tau-bench): the chance that all of k samples drawn from n succeed."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


BOOTSTRAP_RESAMPLES = 2000
"""Resamples of a bootstrap interval: enough for stable 2.5% and 97.5% percentiles, fast for 1000 cases."""


def bootstrap_interval(
    values: Sequence[float], seed: int | str = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> Interval:
    """The mean with a 95% percentile bootstrap interval, resampling the values (cases) with replacement.

    Deterministic: the resamples derive from `seed` and the values as a multiset (not their order, so that
    every report of one run prints one interval). Pass one value per case (the case's mean over its samples,
    or for a paired comparison the difference of two runs' means on the case): cases are the independent
    units. A single value gives no interval.
    """
    values = sorted(values)
    n = len(values)
    if n == 0:
        raise ValueError("the mean of no values is undefined")
    mean = sum(values) / n
    if n == 1:
        return Interval(mean, None, None)
    rng = random.Random(f"bootstrap:{seed}")
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(resamples))
    low = means[int(0.025 * (resamples - 1))]
    high = means[math.ceil(0.975 * (resamples - 1))]
    # The percentiles of a float sum may miss the mean of constant values by an ulp: keep mean in range.
    return Interval(mean, min(low, mean), max(high, mean))
