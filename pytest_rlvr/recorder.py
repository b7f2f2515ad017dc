"""Collects the case records of a run from test reports (its own, or every xdist worker's), then shows
the summary and saves the results.

Runs in the process that reports: the only process without xdist, the controller with it.

With `--rlvr-save PATH`, the run holds a lock on `PATH.lock` from start to end, so that a second run on the
same path is refused. While it runs, traces are appended to `<traces>.partial` as rollouts finish and the
results so far are written to `PATH.partial` (marked incomplete); when the session ends, however it ends,
both are moved into place, the results marked complete or not. The previous run's files stay whole until
then, and a run killed outright leaves its `.partial` files, which `--rlvr-resume` reads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .session import RECORD_ATTRIBUTE, RolloutSession
from .settings import Settings

if TYPE_CHECKING:
    from .results import SavedRun, SaveLock

SNAPSHOT_S = 2.0
"""The least time between two writes of the results so far (each computes every scenario's figures)."""


def _distributed(config: pytest.Config) -> bool:
    return getattr(config.option, "dist", "no") != "no" or bool(getattr(config.option, "numprocesses", None))


class Recorder:
    """Gathers case records as reports arrive; summary at the end; results JSON with `--rlvr-save`."""

    def __init__(self, config: pytest.Config, settings: Settings, rollouts: RolloutSession) -> None:
        self.config = config
        self.settings = settings
        self.rollouts = rollouts
        self.records: list[dict[str, Any]] = []
        self.worker_policies: list[dict[str, Any]] = []
        self.saved: Path | None = None
        self.reported: Path | None = None
        self.report_error: str | None = None
        self.complete = True
        self.save_error: str | None = None
        self._lock: SaveLock | None = None
        self._carried_checks: dict[str, list[str]] = {}
        self._env: dict[str, Any] | None = None
        self._snapshot_at = 0.0

    # -- start -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Check the save path, lock it, load the run to resume, and start this run's traces file (before any
        xdist worker appends to it).

        Raises:
            pytest.UsageError: The path cannot be written, another run holds it, or the saved run cannot be
                resumed (one line naming the option).
        """
        s = self.settings
        if s.resume and s.save is None:
            raise pytest.UsageError("--rlvr-resume: give --rlvr-save=PATH, the saved run to resume and extend")
        if s.save is None or s.traces_path is None:
            return
        if s.resume and _distributed(self.config):
            raise pytest.UsageError("--rlvr-resume: resuming needs a single process; run without -n (pytest-xdist)")
        from .results import SaveLock

        flag = f"--rlvr-save={s.save}"
        for path in (s.save, s.traces_path):
            if path.is_dir():
                raise pytest.UsageError(f"{flag}: {path} is a directory; give a file path, e.g. "
                                        f"{s.save / 'results.json'}")
        try:
            s.save.parent.mkdir(parents=True, exist_ok=True)
            lock = SaveLock(s.save)
            locked = lock.acquire()
        except OSError as exc:
            raise pytest.UsageError(f"{flag}: cannot write in {s.save.parent}: {exc.strerror or exc}; give a path "
                                    "in a writable directory") from None
        if not locked:
            raise pytest.UsageError(f"{flag}: another pytest run is writing there (it holds {lock.path}); wait for "
                                    "it to end or save to another path")
        self._lock = lock
        try:
            self._start_files(self._saved_run() if s.resume else None)
        except BaseException:
            self.release()
            raise

    def _saved_run(self) -> SavedRun | None:
        """The run to resume: the one killed while running (`.partial` files) if any, else the saved one."""
        from .compare import read_results
        from .options import OPTIONS
        from .results import in_progress, load_saved_run

        s = self.settings
        assert s.save is not None and s.traces_path is not None
        pairs = ((in_progress(s.save), in_progress(s.traces_path)), (s.save, s.traces_path))
        results, traces = next(((r, t) for r, t in pairs if r.exists()), (None, None))
        orphan = in_progress(s.traces_path)
        if traces != orphan and orphan.is_file() and orphan.stat().st_size:
            raise pytest.UsageError(f"--rlvr-resume: {orphan} holds rollouts of a stopped run whose results were "
                                    f"not saved beside it; score them with `python -m pytest_rlvr rescore {orphan}`"
                                    ", or move it away to start over")
        if results is None or traces is None:
            return None
        try:
            document = read_results(results)
        except ValueError as exc:
            raise pytest.UsageError(f"--rlvr-resume: {exc}; delete it or save to another path") from None
        saved = load_saved_run(results, document, traces, s.samples)
        differences = saved.differences(s, {o.field: o.flag for o in OPTIONS})
        if differences:
            raise pytest.UsageError(f"--rlvr-resume: the run saved at {results} differs: {'; '.join(differences)}; "
                                    "rerun with its settings, without --rlvr-resume, or save to another path")
        return saved

    def _start_files(self, saved: SavedRun | None) -> None:
        from .results import TraceLog, in_progress, write_results

        s = self.settings
        assert s.save is not None and s.traces_path is not None
        # The resumed run's finished traces come first, so that this run's traces file holds every trace it
        # scores; until this run records a case, its `.partial` results are the saved run's, marked incomplete.
        TraceLog.start(in_progress(s.traces_path), [t for traces in (saved.cases if saved else {}).values()
                                                    for t in traces])
        if saved is None:
            in_progress(s.save).unlink(missing_ok=True)  # written anew once the run's cases are known
            return
        self.rollouts.saved_run = saved
        self._carried_checks = {name: versions for name, versions in saved.checks_versions.items()
                                if any(scenario == name for scenario, _ in saved.cases)}
        write_results(in_progress(s.save), {**saved.document, "complete": False})

    # -- during the run --------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Before any rollout of a new run, empty results with the checks version of every scenario it scores:
        a run killed before its first case reports leaves what `--rlvr-resume` needs to reuse its traces (a
        resumed run's `.partial` results already hold the saved run's)."""
        from .session import case_spec

        specs = [spec for item in session.items if (spec := case_spec(item)) is not None]
        if self._lock is None or self.rollouts.saved_run is not None or not specs or self.config.option.collectonly:
            return
        for spec in specs:
            self._carried_checks.setdefault(spec.scenario.name, [spec.scenario.checks_version])
        self._snapshot()
        self._snapshot_at = 0.0  # the first case is saved as soon as it reports

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, RECORD_ATTRIBUTE, None)
        if isinstance(record, dict):
            self.records.append(record)
            if self._lock is not None and time.monotonic() - self._snapshot_at >= SNAPSHOT_S:
                self._snapshot()

    def _snapshot(self) -> None:
        """The results so far to `PATH.partial`, marked incomplete (what a run killed outright leaves)."""
        from .results import in_progress, write_results

        assert self.settings.save is not None
        try:
            write_results(in_progress(self.settings.save), self.document(complete=False))
        except OSError as exc:
            self.save_error = f"cannot write {in_progress(self.settings.save)}: {exc.strerror or exc}"
        self._snapshot_at = time.monotonic()

    def document(self, complete: bool) -> dict[str, Any]:
        """This run's results document."""
        from .results import environment, results_document

        if self._env is None:
            self._env = environment(self.config.rootpath)
        return results_document([*self.records, *self._carried_records()], self.settings, self.policy_info,
                                self.config.rootpath,
                                complete=complete, checks_versions=self._carried_checks,
                                resumed=self.rollouts.resumed, env=self._env)

    def _carried_records(self) -> list[dict[str, Any]]:
        """The saved records of reused cases this run has not reached yet (a resumed run stopped early): they
        are finished cases, scored by the same checks, and stay in the results."""
        saved = self.rollouts.saved_run
        if saved is None or not self.rollouts.reused:
            return []
        done = {(r.get("scenario"), r.get("task_id")) for r in self.records}
        return [r for r in saved.document.get("cases") or [] if isinstance(r, dict)
                and (r.get("scenario"), r.get("task_id")) in self.rollouts.reused
                and (r.get("scenario"), r.get("task_id")) not in done]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        info = getattr(node, "workeroutput", {}).get("rlvr_policy")
        if info and info not in self.worker_policies:
            self.worker_policies.append(info)

    @property
    def policy_info(self) -> dict[str, Any] | None:
        if self.rollouts.policy_info is not None:
            return self.rollouts.policy_info
        if len(self.worker_policies) == 1:
            return self.worker_policies[0]
        return {"workers": self.worker_policies} if self.worker_policies else None

    # -- end -------------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        s = self.settings
        if self._lock is None or s.save is None or s.traces_path is None:
            return
        from .results import in_progress, write_results

        traces = in_progress(s.traces_path)
        if not self.records:  # nothing scored: the saved run stays as it was, and a stopped one resumable
            if not traces.is_file() or not traces.stat().st_size:
                traces.unlink(missing_ok=True)
                if self.rollouts.saved_run is None:
                    in_progress(s.save).unlink(missing_ok=True)
            return
        self.complete = (exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
                         and not session.shouldfail and not session.shouldstop)
        try:
            if traces.exists():
                os.replace(traces, s.traces_path)
            document = self.document(self.complete)
            write_results(s.save, document)
            in_progress(s.save).unlink(missing_ok=True)
        except OSError as exc:
            self.save_error = f"cannot write {exc.filename or s.save}: {exc.strerror or exc}"
            return
        self.saved = s.save
        if s.report is not None:
            self._write_report(document)

    def _write_report(self, document: dict[str, Any]) -> None:
        from .report import write_report

        s = self.settings
        assert s.report is not None
        try:
            self.reported = write_report(s.report, document, s.traces_path, s.baseline, max_drop=s.max_drop)
        except OSError as exc:
            self.report_error = f"cannot write {exc.filename or s.report}: {exc.strerror or exc}"
        except ValueError as exc:  # a malformed baseline or traces file
            self.report_error = str(exc)

    def pytest_unconfigure(self) -> None:
        self.release()

    def release(self) -> None:
        """Let another run write the save path."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Any:
        # Around pytest's own summary, so that the table comes after its short test summary, last.
        result = yield
        self.summary(terminalreporter)
        return result

    def summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The table per scenario, the errored cases, and where the results went."""
        s = self.settings
        if self.save_error is not None:
            terminalreporter.write_line(f"rlvr: --rlvr-save={s.save}: {self.save_error}", red=True)
        if self.report_error is not None:
            terminalreporter.write_line(f"rlvr: --rlvr-report={s.report}: {self.report_error}", red=True)
        if not self.records:
            return
        from .aggregate import aggregate, unique_records
        from .summary import render  # rich, imported only when there is something to show

        stats = aggregate(self.records)
        samples = f"{s.samples} sample{'s' if s.samples > 1 else ''}"
        title = f"model {s.model} · {samples} per case · split {s.split} · seed {s.seed}"
        terminalreporter.write_sep("=", "rlvr summary")
        width = self.config.get_terminal_writer().fullwidth
        terminalreporter.write_line(render(stats, title, width, terminalreporter.hasmarkup))
        cases = unique_records(self.records)
        errored = sum(1 for record in cases if "error" in record)
        if errored:
            terminalreporter.write_line(f"rlvr: {errored} of {len(cases)} case(s) errored and were not scored "
                                        "(infrastructure or check errors; see each case's error above)", red=True)
        if self.saved is not None:
            state = "" if self.complete else " (incomplete: the run stopped early; --rlvr-resume continues it)"
            terminalreporter.write_line(f"results saved to {self.saved}; traces in {s.traces_path}{state}")
        if self.reported is not None:
            terminalreporter.write_line(f"report written to {self.reported}")
