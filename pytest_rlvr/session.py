"""The rollout side of a pytest session: starts the engine after collection, gives each test its case.

Registered by the plugin in `pytest_configure`; does nothing until collection ends with some rlvr case,
so that a session without one creates no policy and no engine thread.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from . import registry
from .case import Case
from .checks import score
from .scenario import Scenario
from .scripted import make_scripted, scripted_names
from .settings import Settings
from .task import Task
from .workers import is_worker, queued_items

if TYPE_CHECKING:
    from .background import BackgroundEngine
    from .engine import Engine
    from .policy import Policy
    from .progress import RolloutProgress
    from .results import SavedRun, TraceLog
    from .trace import Trace

FIXTURE = "rlvr_case"
MARKER = "rlvr"
CASE_KEY = pytest.StashKey[Case]()
RECORD_ATTRIBUTE = "rlvr_case"
"""The attribute of a test report that carries its case record (it travels with xdist reports)."""


@dataclass(frozen=True)
class CaseSpec:
    """What a parametrized rlvr test stands for: a task of a scenario, and how it is judged."""

    scenario: Scenario
    task: Task
    threshold: float
    gate: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.scenario.name, self.task.id)


def case_spec(item: pytest.Item) -> CaseSpec | None:
    """The case an item runs, or None for a test that is not an rlvr case."""
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get(FIXTURE) if callspec is not None else None
    return spec if isinstance(spec, CaseSpec) else None


class RolloutSession:
    """Owns the policy, the background engine and the traces log of one pytest process."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.policy: Policy | None = None
        self.engine: BackgroundEngine | None = None
        self.trace_log: TraceLog | None = None
        self.policy_info: dict[str, Any] | None = None
        self.progress: RolloutProgress | None = None
        self._tasks: dict[tuple[int, str, int | None], list[Task]] = {}
        self._named: dict[str, Scenario] | None = None
        self._start_error: str | None = None
        self.saved_run: SavedRun | None = None  # set by the recorder with --rlvr-resume
        self.reused: dict[tuple[str, str], list[Trace]] = {}
        self.resumed: dict[str, Any] | None = None

    # -- collection ------------------------------------------------------------------------------------
    def scenario_named(self, name: str) -> Scenario:
        """A registered scenario (hook `pytest_rlvr_scenarios`, or the `pytest_rlvr.scenarios` entry points).

        Raises:
            LookupError: No scenario has that name.
        """
        if self._named is None:
            hooked = self.config.hook.pytest_rlvr_scenarios(config=self.config)
            found = [s for result in hooked for s in registry.as_scenarios(result, "pytest_rlvr_scenarios")]
            self._named = registry.by_name([*found, *registry.load_entry_point_scenarios()])
        if name not in self._named:
            known = ", ".join(sorted(self._named)) or "none"
            raise LookupError(f"no scenario named {name!r}; registered: {known}")
        return self._named[name]

    def tasks(self, scenario: Scenario) -> list[Task]:
        """The tasks of a scenario for this run's split and count (asked once per scenario)."""
        key = (id(scenario), self.settings.split, self.settings.tasks)
        if key not in self._tasks:
            self._tasks[key] = list(scenario.tasks(self.settings.split, self.settings.tasks))
        return self._tasks[key]

    def specs(self, scenario: Scenario, gate: bool) -> list[CaseSpec]:
        """One case per task, with the run's threshold (or the scenario's)."""
        threshold = self.settings.threshold if self.settings.threshold is not None else scenario.threshold
        return [CaseSpec(scenario, task, threshold, gate) for task in self.tasks(scenario)]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        specs = [spec for item in session.items if (spec := case_spec(item)) is not None]
        if not specs or self.config.option.collectonly:
            return
        if self.settings.resume and not is_worker(self.config):
            self._reuse(specs)
        try:
            self._start(specs)
        except pytest.UsageError as exc:
            if not is_worker(self.config):
                raise
            # An xdist worker cannot stop the run with a usage error: each of its cases errors instead.
            self._start_error = str(exc)
            return
        if self.settings.resume and not is_worker(self.config):
            self._announce_resume(specs)
        if not is_worker(self.config):
            for spec in specs:
                if spec.key not in self.reused:
                    self._submit(spec)

    def _reuse(self, specs: list[CaseSpec]) -> None:
        """Take the saved run's finished cases among `specs`, after checking that its checks are today's."""
        saved = self.saved_run
        if saved is None:
            return
        versions = saved.checks_versions
        scenarios = {spec.scenario.name: spec.scenario for spec in specs}
        differences = [f"{name}: checks_version {', '.join(versions[name])} saved, {s.checks_version} now"
                       for name, s in scenarios.items() if versions.get(name) not in (None, [], [s.checks_version])]
        if differences:
            raise pytest.UsageError(f"--rlvr-resume: the run saved at {saved.path} differs: {'; '.join(differences)}"
                                    "; rerun without --rlvr-resume or save to another path")
        # A scenario without a recorded checks version (no case scored before the run stopped) is rolled out again.
        self.reused = {spec.key: saved.cases[spec.key] for spec in specs if spec.key in saved.cases
                       and versions.get(spec.scenario.name) == [spec.scenario.checks_version]}

    def _announce_resume(self, specs: list[CaseSpec]) -> None:
        saved = self.saved_run
        backend = self.policy_info.get("backend") if self.policy_info else None
        if saved is not None and saved.backend and backend and saved.backend != backend:
            raise pytest.UsageError(f"--rlvr-resume: the run saved at {saved.path} differs: --rlvr-backend: "
                                    f"{saved.backend!r} saved, {backend!r} now; rerun without --rlvr-resume or "
                                    "save to another path")
        total = len({spec.key for spec in specs}) * self.settings.samples
        reused = sum(len(traces) for traces in self.reused.values())
        where = f"from {saved.path}" if saved is not None else f"(nothing saved at {self.settings.save})"
        self.resumed = {"from": str(saved.path) if saved is not None else None, "reused": reused, "of": total}
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        line = f"rlvr: resumed: reused {reused} of {total} rollouts {where}"
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line)

    def _start(self, specs: list[CaseSpec]) -> None:
        # Imported here: a session without rlvr cases pays for neither asyncio nor rich.
        from .background import BackgroundEngine
        from .engine import Engine
        from .progress import RolloutProgress
        from .results import TraceLog

        try:
            scenarios = registry.by_name({id(s.scenario): s.scenario for s in specs}.values())
        except ValueError as exc:  # cases and scripts are keyed by scenario name
            raise pytest.UsageError(f"@pytest.mark.rlvr: {exc}") from None
        from .results import in_progress

        if self.settings.agent is not None:  # an agent in place of the policy and its rollout loop
            engine = self._make_agent_engine()
        else:
            engine = Engine(self._make_policy(scenarios), self.settings)
        self.policy = engine.policy
        traces_path = self.settings.traces_path  # appended to while the run runs; the recorder moves it into place
        self.trace_log = TraceLog(in_progress(traces_path)) if traces_path is not None else None
        engine.on_trace = self.trace_log.append if self.trace_log is not None else None
        self.policy_info = dict(engine.policy_info)
        self.engine = BackgroundEngine(engine)
        self.progress = RolloutProgress(self.config)

    def _make_agent_engine(self) -> Engine:
        """The engine that runs `--rlvr-agent` (imported now, from the invocation directory when need be).

        Raises:
            pytest.UsageError: The agent cannot be loaded; one line says why.
        """
        from pathlib import Path

        from .agent import AgentEngine

        spec = self.settings.agent
        assert spec is not None
        try:
            return AgentEngine.from_spec(spec, self.settings, search=(Path(self.config.invocation_params.dir),))
        except ValueError as exc:
            raise pytest.UsageError(f"--rlvr-agent={spec}: {exc}") from None

    def _make_policy(self, scenarios: dict[str, Scenario]) -> Policy:
        model = self.settings.model
        try:
            scripted = make_scripted(model, scenarios)
        except ValueError as exc:
            raise pytest.UsageError(f"--rlvr-model={model}: {exc}") from None
        if scripted is not None:
            return scripted
        hook = self.config.hook
        policy = hook.pytest_rlvr_make_policy(config=self.config, model=model, settings=self.settings)
        if policy is None:
            aliases = itertools.chain.from_iterable(hook.pytest_rlvr_model_names(config=self.config))
            known = sorted(scripted_names(scenarios) | set(aliases))
            raise pytest.UsageError(f"--rlvr-model={model}: unknown model; known: {', '.join(known)}")
        return policy

    def _submit(self, spec: CaseSpec) -> None:
        assert self.engine is not None
        self.engine.submit(spec.scenario, spec.task)

    # -- running ---------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        # An xdist worker rolls out what it has been handed: this test, the next, and its queue.
        if self.engine is None or not is_worker(self.config):
            return
        for candidate in (item, nextitem, *queued_items(self.config, item.session)):
            spec = case_spec(candidate) if candidate is not None else None
            if spec is not None:
                self._submit(spec)

    def case(self, request: pytest.FixtureRequest) -> Case:
        """Wait for the request's case, score it, record its properties, and return it.

        Raises:
            InfrastructureError: The policy kept failing (the test errors).
            CheckBug: A check raised something other than AssertionError (the test errors).
        """
        spec: CaseSpec = request.param
        if self._start_error is not None:
            pytest.fail(self._start_error, pytrace=False)
        traces = self.reused.get(spec.key)
        if traces is None:
            if self.engine is None:  # e.g. a test run that bypassed collection_finish
                self._start([spec])
            assert self.engine is not None and self.progress is not None
            future = self.engine.submit(spec.scenario, spec.task)
            traces = self.progress.wait(future, self.engine.engine)
        rewards = [score(spec.scenario.checks_for(spec.task), trace, spec.task) for trace in traces]
        case = Case(spec.scenario, spec.task, traces, rewards, spec.threshold, spec.gate)
        for trace, reward in zip(traces, rewards, strict=True):
            self.config.hook.pytest_rlvr_rollout_finished(config=self.config, task=spec.task, trace=trace,
                                                          reward=reward)
        item = request.node
        item.user_properties.extend([("reward", round(case.mean, 6)), ("tier", spec.task.tier)])
        for name, rate in case.check_pass_rates().items():
            item.user_properties.append((f"check:{name}", round(rate, 6)))
        item.stash[CASE_KEY] = case
        return case

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, object, object]:
        result = yield
        case = pyfuncitem.stash.get(CASE_KEY, None)
        if case is not None and case.gate and not case.asserted and not case.passed:
            case.asserted = True
            pytest.fail(case.explain(), pytrace=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        spec = case_spec(item)
        if spec is None:
            return report
        case = item.stash.get(CASE_KEY, None)
        if call.when == "call" and case is not None:
            setattr(report, RECORD_ATTRIBUTE, self._record(item, spec, case.record()))
        elif call.when == "setup" and report.failed:
            error = call.excinfo.exconly() if call.excinfo is not None else "setup failed"
            setattr(report, RECORD_ATTRIBUTE, self._record(item, spec, {"error": error}))
        return report

    def _record(self, item: pytest.Item, spec: CaseSpec, data: dict[str, Any]) -> dict[str, Any]:
        name = spec.scenario.name
        task = spec.task
        return {"nodeid": item.nodeid, "task_id": task.id, "scenario": name, "split": task.split,
                "seed": task.seed, "tier": task.tier, "checks_version": spec.scenario.checks_version, **data}

    # -- ending ----------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.close()
        if self.policy_info is not None and is_worker(self.config):
            self.config.workeroutput["rlvr_policy"] = self.policy_info  # type: ignore[attr-defined]

    def pytest_unconfigure(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop the engine (cancelling unfinished rollouts), close the policy and the traces log."""
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()
        if self.trace_log is not None:
            self.trace_log.close()

