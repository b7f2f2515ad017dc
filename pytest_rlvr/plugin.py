"""The pytest plugin (entry point `pytest11: rlvr`): wiring only.

A test becomes an evaluation case with a marker and a fixture::

    @pytest.mark.rlvr(SCENARIO)          # a Scenario object, or the name of a registered one
    def test_scenario(rlvr_case):
        assert_checks(rlvr_case)         # optional: the plugin gates on the threshold anyway

The test is parametrized over the scenario's tasks (ids are the task ids); the rollouts of every
selected case start when collection ends, on a background thread, and each test waits for its own.
With `--rlvr-baseline` or `--rlvr-min-reward`, gate items (`rlvr-gate::...`) run after the cases. With
`--rlvr-shard=I/N`, only the I-th of N shares of the selected cases stays selected (`pytest_rlvr.shard`).
"""

from __future__ import annotations

from typing import Any

import pytest

from . import hooks, registry
from .case import Case
from .gates import Gates, check_single_process
from .options import add_options, read_settings
from .policy import InfrastructureError, PolicyRequestError
from .recorder import Recorder
from .scenario import Scenario
from .session import FIXTURE, MARKER, RolloutSession, case_spec
from .settings import Settings
from .shard import share
from .workers import is_worker

SETTINGS_KEY = pytest.StashKey[Settings]()
SESSION_KEY = pytest.StashKey[RolloutSession]()
CHECK_MODULES = ("pytest_rlvr.generic",)
"""Modules of this package that define checks; registered for assertion rewriting."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # Before conftests import scenario modules: their checks report pytest's assertion introspection.
    pytest.register_assert_rewrite(*CHECK_MODULES, *registry.rewrite_targets())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario, gate=True): an rlvr evaluation case; the test takes the {FIXTURE} fixture and "
        "is parametrized over the scenario's tasks (scenario: a Scenario or a registered name; gate: fail "
        "the test when the mean reward is below the threshold, unless the test calls assert_checks)",
    )
    settings = read_settings(config)
    config.stash[SETTINGS_KEY] = settings
    rollouts = RolloutSession(config, settings)
    config.stash[SESSION_KEY] = rollouts
    config.pluginmanager.register(rollouts, "rlvr-rollouts")
    if settings.shard is not None:  # before the gates: of two trylast hooks, the first registered runs first
        config.pluginmanager.register(ShardSelection(*settings.shard), "rlvr-shard")
    if not is_worker(config):
        check_single_process(config, settings)
        recorder = Recorder(config, settings, rollouts)
        recorder.start()
        config.pluginmanager.register(recorder, "rlvr-recorder")
        gates = Gates(config, settings, recorder)
        if gates.active:
            config.pluginmanager.register(gates, "rlvr-gates")


class ShardSelection:
    """`--rlvr-shard=I/N`: deselects the rlvr cases of the other shards; every other test stays.

    Called after pytest's own selection (`-k`, `-m`, `--sw`), so that the deal is over the selected cases, and
    the same in every xdist worker; before the gates, which add an item per scenario the shard holds.
    """

    def __init__(self, index: int, count: int) -> None:
        self.index, self.count = index, count

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keys = [spec.key if (spec := case_spec(item)) is not None else None for item in items]
        mine = share((key for key in keys if key is not None), self.index, self.count)
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item, key in zip(items, keys, strict=True):
            (kept if key is None or key in mine else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept


def _marked_scenario(rollouts: RolloutSession, marker: pytest.Mark, where: str) -> tuple[Scenario, bool]:
    if len(marker.args) != 1 or set(marker.kwargs) - {"gate"}:
        pytest.fail(f"{where}: use @pytest.mark.{MARKER}(scenario, gate=True)", pytrace=False)
    target: Any = marker.args[0]
    if isinstance(target, str):
        try:
            target = rollouts.scenario_named(target)
        except LookupError as exc:
            problem = str(exc)
        else:
            problem = ""
        if problem:
            pytest.fail(f"{where}: {problem}", pytrace=False)
    if not isinstance(target, Scenario):
        pytest.fail(f"{where}: @pytest.mark.{MARKER} needs a Scenario or a scenario name, not {target!r}",
                    pytrace=False)
    return target, bool(marker.kwargs.get("gate", True))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        return
    where = metafunc.definition.nodeid
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        pytest.fail(f"{where}: the {FIXTURE} fixture needs @pytest.mark.{MARKER}(scenario)", pytrace=False)
    rollouts = metafunc.config.stash[SESSION_KEY]
    scenario, gate = _marked_scenario(rollouts, marker, where)
    specs = rollouts.specs(scenario, gate)
    ids = [spec.task.id for spec in specs]
    if len(set(ids)) != len(ids):
        pytest.fail(f"{where}: scenario {scenario.name!r} has duplicate task ids", pytrace=False)
    metafunc.parametrize(FIXTURE, specs, ids=ids, indirect=True)


@pytest.fixture
def rlvr_case(request: pytest.FixtureRequest) -> Case:
    """The case of this test: its task, its K traces and their rewards (waits for its rollouts).

    An infrastructure failure of the policy, or a check that raises something other than AssertionError,
    errors the test here, in setup. A failure of the serving side shows as its one-line message.
    """
    try:
        return request.config.stash[SESSION_KEY].case(request)
    except (InfrastructureError, PolicyRequestError) as exc:
        message = f"{type(exc).__name__}: {exc}"
    pytest.fail(message, pytrace=False)  # outside the except block: no chained tracebacks either
