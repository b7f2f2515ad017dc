"""A rich progress display shown while a test waits for its rollouts: rollouts done of all submitted, the
turns the policy has answered, the rollouts in flight and the time elapsed.

Shown only on a terminal and not under `-q`, on a line of its own below pytest's output, while pytest
itself is waiting (so the two never write at once); it clears itself and puts the cursor back where
pytest left it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import sys
from typing import TypeVar

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .engine import Engine

T = TypeVar("T")

SHOW_AFTER_S = 0.3
REFRESH_S = 0.1


class RolloutProgress:
    """Waits for a case's rollouts, with a progress bar of the whole run when the wait is noticeable."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.enabled = bool(
            reporter is not None and reporter.isatty() and config.get_verbosity() >= 0
            and not hasattr(config, "workerinput")
        )

    def wait(self, future: concurrent.futures.Future[T], engine: Engine) -> T:
        """The future's result; shows the progress of all rollouts while it is not ready."""
        if not self.enabled:
            return future.result()
        with contextlib.suppress(concurrent.futures.TimeoutError):
            return future.result(timeout=SHOW_AFTER_S)
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        suspended = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with suspended:
            return self._show(future, engine)

    def _show(self, future: concurrent.futures.Future[T], engine: Engine) -> T:
        column = self.config.get_terminal_writer().width_of_current_line
        console = Console(file=sys.stdout)
        if not console.is_terminal:
            return future.result()
        console.file.write("\n")
        progress = Progress(
            TextColumn("[bold]rlvr[/] rollouts"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[turns]} turns · {task.fields[running]} in flight"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        try:
            with progress:
                bar = progress.add_task("rollouts", total=engine.rollouts_submitted, running=0, turns=0)
                while True:
                    progress.update(bar, completed=engine.rollouts_finished, total=engine.rollouts_submitted,
                                    running=engine.rollouts_started - engine.rollouts_finished,
                                    turns=engine.turns_finished)
                    with contextlib.suppress(concurrent.futures.TimeoutError):
                        return future.result(timeout=REFRESH_S)
        finally:
            # Back to the end of pytest's line: one line up, then to its column (1-based).
            console.file.write(f"\x1b[1A\x1b[{column + 1}G")
            console.file.flush()
