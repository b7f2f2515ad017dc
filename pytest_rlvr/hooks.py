"""Hook specifications of pytest-rlvr, added to pytest with `pytest_addhooks`.

Implement them in a conftest.py or an installed pytest plugin (a `pytest11` entry point).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import Reward
    from .policy import Policy
    from .scenario import Scenario
    from .settings import Settings
    from .task import Task
    from .trace import Trace


@pytest.hookspec(firstresult=True)
def pytest_rlvr_make_policy(config: pytest.Config, model: str, settings: Settings) -> Policy | None:
    """Create the policy for `--rlvr-model`, or return None when `model` is not yours.

    Called once per session (per xdist worker), after collection, only when some rlvr case was
    collected. Return quickly: load weights or start servers on the first `generate`, not here.
    Scripted names (noop, random, and the scripts the scenarios ship) are resolved before this hook.

    Args:
        config: The pytest config.
        model: The value of `--rlvr-model` (an alias, a path or a model id).
        settings: Every rlvr setting (base URLs, sampling, seed...).
    """


@pytest.hookspec
def pytest_rlvr_model_names(config: pytest.Config) -> Iterable[str] | None:
    """The model aliases your `pytest_rlvr_make_policy` knows, listed when a model is unknown."""


@pytest.hookspec
def pytest_rlvr_scenarios(config: pytest.Config) -> Iterable[Scenario] | None:
    """Scenarios to register, so that `@pytest.mark.rlvr("name")` can name them."""


@pytest.hookspec
def pytest_rlvr_rollout_finished(config: pytest.Config, task: Task, trace: Trace, reward: Reward) -> None:
    """Observe a finished and scored rollout (called on the main thread, when its case's test runs)."""
