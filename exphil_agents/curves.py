"""Learning curves: what a training run's games scored, against agent-steps and wall time.

:class:`LearningCurve` collects one point per report (agent-steps, seconds, games finished so
far, the win rate and mean return of the games finished since the last point) and saves JSON
(atomically) and, where matplotlib is installed, a PNG. :func:`plot_curves` draws several saved
curves on one figure, as docs/baselines.md shows them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from melee_envs.atomic import write_text_atomic


@dataclass
class LearningCurve:
    """Points of one run; ``label`` names it in plots."""

    label: str
    points: list[dict[str, float]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, steps: int, seconds: float, games: int, win_rate: float, mean_return: float) -> None:
        """Add a point; nan win rate / return (no game finished) are stored as null."""

        def finite(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        self.points.append(
            {
                "steps": int(steps),
                "seconds": round(float(seconds), 3),
                "games": int(games),
                "win_rate": finite(win_rate),
                "mean_return": finite(mean_return),
            }
        )

    def save(self, path: str | Path) -> list[Path]:
        """Write ``path`` (JSON) and, with matplotlib, the same name with ``.png``; returns what
        was written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(asdict(self), indent=1) + "\n")
        written = [path]
        try:
            written.append(plot_curves([self], path.with_suffix(".png")))
        except ImportError:
            pass
        return written

    @classmethod
    def load(cls, path: str | Path) -> LearningCurve:
        """Read a saved curve.

        Raises:
            ValueError: the file is not a saved learning curve (naming it).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            return cls(label=str(data["label"]), points=list(data["points"]), meta=dict(data.get("meta", {})))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a learning curve saved by exphil train --curve ({exc})") from exc


def smooth(values: list[float | None], width: int) -> list[float]:
    """Running mean over the last ``width`` defined values (None skipped; nan until the first)."""
    out, window = [], []
    for v in values:
        if v is not None:
            window = (window + [v])[-width:]
        out.append(sum(window) / len(window) if window else math.nan)
    return out


def plot_curves(curves: list[LearningCurve], out: str | Path, width: int = 5) -> Path:
    """Win rate of the training games against minutes and agent-steps, one line per curve
    (running mean over ``width`` points); written atomically as PNG.

    Raises:
        ImportError: matplotlib is not installed (the 'league' extra has it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from melee_envs.atomic import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(11, 4 + 0.3 * math.ceil(len(curves) / 3)), sharey=True)
    for curve in curves:
        wins = smooth([p["win_rate"] for p in curve.points], width)
        axes[0].plot([p["seconds"] / 60 for p in curve.points], wins, label=curve.label)
        axes[1].plot([p["steps"] / 1e6 for p in curve.points], wins, label=curve.label)
    axes[0].set_xlabel("training time (minutes, 2 cores)")
    axes[1].set_xlabel("agent-steps (millions)")
    axes[0].set_ylabel("win rate of the training games")
    for ax in axes:
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    rows = math.ceil(len(curves) / 3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=min(len(curves), 3), fontsize=8)
    fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return out
