"""Loss curves from a trainer's log history: training loss and validation loss against the optimizer step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["loss_series", "plot_loss_curve"]


def loss_series(log_history: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``{"train": [(step, loss)...], "validation": [(step, eval_loss)...]}`` from ``trainer.state.log_history``."""
    out: dict[str, list[tuple[int, float]]] = {"train": [], "validation": []}
    for entry in log_history:
        step = int(entry.get("step", 0))
        if "loss" in entry and isinstance(entry["loss"], (int, float)):
            out["train"].append((step, float(entry["loss"])))
        if "eval_loss" in entry and isinstance(entry["eval_loss"], (int, float)):
            out["validation"].append((step, float(entry["eval_loss"])))
    return out


def plot_loss_curve(log_history: Sequence[dict[str, Any]], path: Path, *, title: str = "SFT loss") -> Path:
    """Write a PNG of training vs validation loss; a single point is drawn as a marker so it stays visible."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    series = loss_series(log_history)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    try:
        for name, style in (("train", "-o"), ("validation", "-s")):
            points = [(s, v) for s, v in series[name] if math.isfinite(v)]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, style, markersize=3, label=f"{name} ({ys[-1]:.3f} at step {xs[-1]})")
        if not any(series.values()):
            ax.text(0.5, 0.5, "no loss was logged", ha="center", va="center", transform=ax.transAxes)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss (assistant tokens)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if any(series.values()):
            ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
