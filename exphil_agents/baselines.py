"""``exphil baselines FOLDER``: the baselines table of a folder of runs.

``examples/baselines.sh`` trains each row for a wall-clock budget and measures it with ``exphil
ladder --out NAME.ladder.json``; ``exphil train --curve NAME.json`` left its learning curve
beside it. This command reads them back and prints the markdown table of docs/baselines.md (win
rate against every bot, with the agent-steps and minutes of training where a curve holds them)
and draws every curve on one figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import tyro

from exphil_agents.ladder import LADDER


@dataclass(frozen=True)
class BaselinesConfig:
    """The table and learning curves of a folder of ``exphil ladder --out`` results."""

    folder: Annotated[Path, tyro.conf.Positional]
    """where NAME.ladder.json (and NAME.json learning curves) are."""
    out: Path | None = None
    """also write the markdown table here."""
    png: Path | None = None
    """the learning curves figure (default: FOLDER/curves.png; needs matplotlib)."""


def collect(folder: Path) -> list[dict[str, Any]]:
    """One row per ``NAME.ladder.json``, in name order: ``{"name", "results", "steps",
    "minutes", "curve"}`` (steps and minutes None without a learning curve).

    Raises:
        ValueError: the folder holds no ladder results, or a file is not one (naming it).
    """
    from exphil_agents.curves import LearningCurve

    rows = []
    for path in sorted(Path(folder).glob("*.ladder.json")):
        try:
            results = json.loads(path.read_text())["results"]
            missing = [bot for bot in LADDER if bot not in results]
            if missing:
                raise KeyError(f"no results for {', '.join(missing)}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not an exphil ladder --out file ({exc})") from exc
        name = path.name.removesuffix(".ladder.json")
        curve_path = path.with_name(f"{name}.json")
        curve = LearningCurve.load(curve_path) if curve_path.is_file() else None
        last = curve.points[-1] if curve and curve.points else None
        rows.append({
            "name": name,
            "results": results,
            "steps": last["steps"] if last else None,
            "minutes": last["seconds"] / 60 if last else None,
            "curve": curve,
        })  # fmt: skip
    if not rows:
        raise ValueError(f"{folder}: no *.ladder.json files (exphil ladder MODEL --out NAME.ladder.json)")
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table: one row per run, win rate against every bot of the ladder."""
    bots = [b.replace("scripted:", ":") if b != "scripted:9" else "scripted:9" for b in LADDER]
    lines = ["| run | agent-steps | minutes | " + " | ".join(bots) + " |", "|---" * (3 + len(bots)) + "|"]
    for row in rows:
        steps = f"{row['steps'] / 1e6:.1f} M" if row["steps"] is not None else "-"
        minutes = f"{row['minutes']:.1f}" if row["minutes"] is not None else "-"
        wins = " | ".join(f"{row['results'][b]['win']:.2f}" for b in LADDER)
        lines.append(f"| {row['name']} | {steps} | {minutes} | {wins} |")
    return "\n".join(lines) + "\n"


def main(cfg: BaselinesConfig) -> list[dict[str, Any]]:
    from exphil_agents.curves import plot_curves
    from melee_envs.atomic import write_text_atomic

    rows = collect(cfg.folder)
    table = markdown(rows)
    print(table, end="")
    if cfg.out is not None:
        write_text_atomic(cfg.out, table)
    curves = [replace(row["curve"], label=row["name"]) for row in rows if row["curve"] is not None]
    if curves:
        try:
            png = plot_curves(curves, cfg.png or Path(cfg.folder) / "curves.png")
            print(f"learning curves: {png}")
        except ImportError:
            print("learning curves not drawn: matplotlib is not installed (pip install 'exphil[league]')")
    return rows
