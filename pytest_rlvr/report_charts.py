"""Small inline SVG charts for the report: a reward histogram, mean reward per tier, a reward bar.

Hand-written SVG (no plotting library): colours come from the page's stylesheet through classes, so the
charts need no inline style and follow the page's colour scheme.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .aggregate import tier_key
from .report_html import Html, h

BINS = 10
"""Histogram bins of width 1/BINS over [0, 1), plus one bar for rewards of exactly 1."""


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def reward_class(value: float | None) -> str:
    """The colour class of a reward: full (1), partial, zero, or none (no score)."""
    if value is None:
        return "none"
    if value >= 1:
        return "full"
    return "partial" if value > 0 else "zero"


def bins(rewards: Sequence[float]) -> list[int]:
    """Counts of rewards per bin: [0, 0.1), ..., [0.9, 1), then exactly 1 (values outside [0, 1] are clamped)."""
    counts = [0] * (BINS + 1)
    for value in rewards:
        value = min(max(value, 0.0), 1.0)
        counts[BINS if value >= 1 else int(value * BINS)] += 1
    return counts


def histogram(rewards: Sequence[float], width: int = 300, height: int = 150) -> Html:
    """Bars of how many samples scored each reward band; the last bar is a reward of exactly 1."""
    counts = bins(rewards)
    top, bottom, left, right = 16, 22, 8, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(counts)
    peak = max(counts) or 1
    parts = []
    for i, count in enumerate(counts):
        band = "1" if i == BINS else f"{i / BINS:.1f}–{(i + 1) / BINS:.1f}"
        bar_h = plot_h * count / peak
        x, y = left + i * slot + 1.5, top + plot_h - bar_h
        kind = "full" if i == BINS else ("zero" if i == 0 else "partial")
        parts.append(h("rect", h("title", f"reward {band}: {count} sample(s)"), cls=f"bar {kind}", x=_n(x),
                       y=_n(y), width=_n(slot - 3), height=_n(max(bar_h, 0.0))))
        if count:
            parts.append(h("text", str(count), cls="count", x=_n(x + (slot - 3) / 2), y=_n(y - 4)))
    base = top + plot_h
    parts.append(h("line", cls="axis", x1=left, y1=_n(base), x2=width - right, y2=_n(base)))
    for label, i in (("0", 0), ("0.5", BINS // 2), ("1", BINS)):
        x = left + i * slot + (slot / 2 if i == BINS else 0)
        parts.append(h("text", label, cls="tick", x=_n(x), y=_n(base + 15),
                       text_anchor="middle" if i else "start"))
    label = f"reward histogram of {len(rewards)} sample(s)"
    return h("svg", h("title", label), *parts, cls="chart", viewBox=f"0 0 {width} {height}", width=width,
             height=height, role="img", aria_label=label)


def tier_bars(means: Mapping[str, Sequence[float]], width: int = 270) -> Html:
    """One horizontal bar per tier: the mean of its cases' mean rewards, with the number of cases."""
    tiers = sorted(means, key=tier_key)
    row, left, right = 26, 60, 76
    height = max(len(tiers), 1) * row + 8
    plot_w = width - left - right
    parts = []
    for i, tier in enumerate(tiers):
        values = means[tier]
        mean = sum(values) / len(values) if values else 0.0
        y = 6 + i * row
        parts.append(h("text", tier, cls="tick", x=left - 8, y=_n(y + 14), text_anchor="end"))
        parts.append(h("rect", cls="track", x=left, y=y + 3, width=plot_w, height=14, rx=3))
        parts.append(h("rect", h("title", f"{tier}: mean reward {mean:.3f} over {len(values)} case(s)"),
                       cls=f"bar {reward_class(mean)}", x=left, y=y + 3, width=_n(plot_w * min(max(mean, 0), 1)),
                       height=14, rx=3))
        parts.append(h("text", f"{mean:.2f}  n={len(values)}", cls="value", x=left + plot_w + 8, y=_n(y + 14)))
    label = "mean reward per tier"
    return h("svg", h("title", label), *parts, cls="chart", viewBox=f"0 0 {width} {height}", width=width,
             height=height, role="img", aria_label=label)


def reward_bar(value: float | None, width: int = 56) -> Html:
    """A small bar of a reward in [0, 1]."""
    filled = width * min(max(value or 0.0, 0.0), 1.0)
    return h("svg", h("rect", cls="track", x=0, y=0, width=width, height=8, rx=4),
             h("rect", cls=f"bar {reward_class(value)}", x=0, y=0, width=_n(filled), height=8, rx=4),
             cls="mini", viewBox=f"0 0 {width} 8", width=width, height=8, aria_hidden="true")
