"""``exphil league status`` (``exphil league train`` is :mod:`exphil_agents.league.train`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatusConfig:
    """Show a league's ratings and population."""

    dir: Path = Path("runs/league")
    top: int = 30
    """Rows of the ratings table."""


def status(cfg: StatusConfig) -> dict:
    from rich.console import Console
    from rich.table import Table

    from exphil_agents.league.state import LeagueState

    if not (cfg.dir / "events.jsonl").is_file():
        raise FileNotFoundError(f"{cfg.dir}: no league here (no events.jsonl); start one with exphil league train")
    import json

    rating = "elo"
    if (cfg.dir / "league.json").is_file():
        try:
            rating = json.loads((cfg.dir / "league.json").read_text()).get("rating", "elo")
        except (ValueError, UnicodeDecodeError, AttributeError):
            pass  # LeagueState below names the damage
    state = LeagueState(cfg.dir, rating, read_only=True)
    rows = state.table.table()
    table = Table(title=f"{cfg.dir}: {state.num_matches:,} games, {len(state.snapshots)} snapshots ({rating})")
    for col in ("player", "rating", "+-", "games"):
        table.add_column(col, justify="left" if col == "player" else "right")
    for row in rows[: cfg.top]:
        table.add_row(row["player"], f"{row['rating']:.0f}", f"{row['uncertainty']:.0f}", str(row["games"]))
    console = Console(width=120)
    console.print(table)
    for learner, info in state.learners.items():
        console.print(f"{learner} ({info.get('role')}): step {info.get('step', 0):,}, restarts {info.get('resets', 0)}")
    state.close()
    return {"ratings": rows}
