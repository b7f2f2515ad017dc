"""A PNG of reward per check group over training steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_rewards(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for key in sorted({k for h in history for k in h if k.startswith("rewards/") and k.endswith("/mean")} |
                      {k for h in history for k in h if k in ("reward", "loss")}):
        points = [(h["step"], h[key]) for h in history if key in h and "step" in h]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
