"""The terminal summary: one row per scenario, rendered with rich."""

from __future__ import annotations

import io
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

from .aggregate import ScenarioStats

TOP_FAILING = 3


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary_table(stats: Mapping[str, ScenarioStats], title: str) -> Table:
    """The table: cases, samples, mean reward [95% interval], pass@1, pass^k (k > 1), failing checks."""
    show_k = any(s.k > 1 for s in stats.values())
    k = max((s.k for s in stats.values()), default=1)
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("scenario", no_wrap=True)
    table.add_column("cases", justify="right")
    table.add_column("samples", justify="right")
    table.add_column("mean reward [95% CI]", justify="right", no_wrap=True)
    table.add_column("passed", justify="right")
    table.add_column("pass@1", justify="right")
    if show_k:
        table.add_column(f"pass^{k}", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("most frequent failing checks")
    for s in stats.values():
        failing = ", ".join(f"{name} ({count})" for name, count in s.failing_checks[:TOP_FAILING]) or "-"
        row = [
            s.name, str(s.cases), str(s.samples), str(s.reward) if s.reward else "-",
            f"{s.passed}/{s.cases}", _rate(s.pass_at_1),
        ]
        if show_k:
            row.append(_rate(s.pass_hat_k) if s.k > 1 else "-")
        row += [str(s.errors), failing]
        table.add_row(*row)
    return table


def render(stats: Mapping[str, ScenarioStats], title: str, width: int, color: bool) -> str:
    """The summary as text for pytest's terminal writer."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    console.print(summary_table(stats, title))
    return buffer.getvalue().rstrip("\n")
