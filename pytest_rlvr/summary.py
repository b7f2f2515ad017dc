"""The terminal summary: one row per scenario, rendered with rich."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from .aggregate import ScenarioStats

TOP_FAILING = 3
MAX_WIDTH = 200


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary_table(stats: Mapping[str, ScenarioStats], title: str) -> Table:
    """The table: cases, samples, mean reward [95% interval], passed, pass@1, pass@k and pass^k (k > 1), errors."""
    show_k = any(s.k > 1 for s in stats.values())
    show_errors = any(s.errors for s in stats.values())
    k = max((s.k for s in stats.values()), default=1)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("scenario", no_wrap=True)
    for header in ("cases", "samples", "mean reward [95% CI]", "passed", "pass@1",
                   *([f"pass@{k}", f"pass^{k}"] if show_k else []), *(["errors"] if show_errors else [])):
        table.add_column(header, justify="right", no_wrap=True)
    for s in stats.values():
        row = [s.name, str(s.cases), str(s.samples), str(s.reward) if s.reward else "-",
               f"{s.passed}/{s.cases}", _rate(s.pass_at_1)]
        if show_k:
            row.extend([_rate(s.pass_at_k), _rate(s.pass_hat_k)] if s.k > 1 else ["-", "-"])
        if show_errors:
            row.append(str(s.errors))
        table.add_row(*row)
    return table


def failing_lines(stats: Mapping[str, ScenarioStats]) -> list[str]:
    """One line per scenario with failing checks: the most frequent, with their failed-sample counts."""
    lines = []
    for s in stats.values():
        if s.failing_checks:
            top = ", ".join(f"{name} ({count}/{s.samples})" for name, count in s.failing_checks[:TOP_FAILING])
            lines.append(f"{s.name}: most frequent failing checks: {top}")
    return lines


def tier_lines(stats: Mapping[str, ScenarioStats]) -> list[str]:
    """One line per scenario whose cases span several tiers: each tier's mean reward, passed and cases."""
    lines = []
    for s in stats.values():
        if len(s.tiers) > 1:
            tiers = ", ".join(f"{name} {t.mean:.3f} ({t.passed}/{t.cases})" for name, t in s.tiers.items())
            lines.append(f"{s.name}: mean reward per tier (passed/cases): {tiers}")
    return lines


def spread_lines(stats: Mapping[str, ScenarioStats]) -> list[str]:
    """One line per scenario sampled more than once: the share of cases whose samples' rewards differ (the
    groups GRPO can learn from), flagged when there is none."""
    lines = []
    for s in stats.values():
        if s.spread is not None:
            flag = " (none: every case's samples scored alike, GRPO has no signal)" if s.spread == 0 else ""
            lines.append(f"{s.name}: share of cases whose sample rewards differ (groups with a spread): "
                         f"{s.spread:.3f}{flag}")
    return lines


def render(stats: Mapping[str, ScenarioStats], title: str, width: int, color: bool) -> str:
    """The summary as text for pytest's terminal writer, at least as wide as the table (never truncated)."""
    lines = [*tier_lines(stats), *spread_lines(stats), *failing_lines(stats)]
    return render_table(summary_table(stats, title), lines, width, color)


def render_table(table: Table, lines: Sequence[str], width: int, color: bool) -> str:
    """A table and lines after it as text, at least as wide as the table (never truncated)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=MAX_WIDTH, force_terminal=color, no_color=not color, highlight=False)
    console.width = min(MAX_WIDTH, max(width, console.measure(table).maximum))
    console.print(table)
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
