"""Tournament plots (matplotlib, drawn off-screen): the win-rate heatmap and ratings over
training steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "tournament plots need matplotlib: pip install 'exphil[league]' (or pass --no-plots)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def winrate_heatmap(names: list[str], matrix: list[list[float | None]], path: Path) -> None:
    """Row agent's score against column agent (wins + half draws), 0 to 1."""
    import numpy as np

    plt = _pyplot()
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], float)
    size = max(4.0, 0.6 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(data, cmap="RdBu", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    if len(names) <= 16:
        for i in range(len(names)):
            for j in range(len(names)):
                if not np.isnan(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("score of row vs column")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rating_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """League snapshots' ratings against their training step (one line per learner, 95% bars);
    other agents as horizontal reference lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    learners: dict[str, list[dict[str, Any]]] = {}
    others = []
    for row in rows:
        if row.get("step") is not None:
            learners.setdefault(row.get("learner") or "snapshots", []).append(row)
        else:
            others.append(row)
    for learner, points in learners.items():
        points.sort(key=lambda r: r["step"])
        steps = [r["step"] for r in points]
        ratings = [r["rating"] for r in points]
        errs = [1.96 * r["stderr"] for r in points]
        ax.errorbar(steps, ratings, yerr=errs, marker="o", capsize=3, label=learner)
    for k, row in enumerate(others):
        ax.axhline(row["rating"], linestyle="--", linewidth=1, color=f"C{(k + len(learners)) % 10}", label=row["agent"])
    ax.set_xlabel("training step" if learners else "")
    ax.set_ylabel("rating (Elo scale)")
    ax.set_title("ratings" + (" over training" if learners else ""))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
