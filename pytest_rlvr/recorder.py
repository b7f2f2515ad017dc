"""Collects the case records of a run from test reports (its own, or every xdist worker's), then shows
the summary and saves the results.

Runs in the process that reports: the only process without xdist, the controller with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .session import RECORD_ATTRIBUTE, RolloutSession
from .settings import Settings


class Recorder:
    """Gathers case records as reports arrive; summary at the end; results JSON with `--rlvr-save`."""

    def __init__(self, config: pytest.Config, settings: Settings, rollouts: RolloutSession) -> None:
        self.config = config
        self.settings = settings
        self.rollouts = rollouts
        self.records: list[dict[str, Any]] = []
        self.worker_policies: list[dict[str, Any]] = []
        self.saved: Path | None = None

    def start(self) -> None:
        """Start an empty traces file for the run (before any xdist worker appends to it)."""
        if self.settings.traces_path is not None:
            from .results import TraceLog

            TraceLog.start(self.settings.traces_path)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, RECORD_ATTRIBUTE, None)
        if isinstance(record, dict):
            self.records.append(record)

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

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.records or self.settings.save is None:
            return
        from .results import results_document, write_results

        document = results_document(self.records, self.settings, self.policy_info, self.config.rootpath)
        write_results(self.settings.save, document)
        self.saved = self.settings.save

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.records:
            return
        from .aggregate import aggregate
        from .summary import render  # rich, imported only when there is something to show

        s = self.settings
        stats = aggregate(self.records)
        samples = f"{s.samples} sample{'s' if s.samples > 1 else ''}"
        title = f"model {s.model} · {samples} per case · split {s.split} · seed {s.seed}"
        terminalreporter.write_sep("=", "rlvr summary")
        width = self.config.get_terminal_writer().fullwidth
        terminalreporter.write_line(render(stats, title, width, terminalreporter.hasmarkup))
        if self.saved is not None:
            terminalreporter.write_line(f"results saved to {self.saved}; traces in {s.traces_path}")
