"""``exphil ladder``: one agent against every built-in bot, with 95% intervals.

The bot ladder is every scripted level (9 = the full bot, down to 1) and the simple bots (idle,
jumper, random). All games are played at once in one batched mock engine (the tournament's
:func:`~exphil_agents.league.matches.play_round`), half with the agent on port 2, seeded, so the
same command gives the same table. This is the measurement of docs/baselines.md and of the
champion's card.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import tyro

from melee_envs.settings import GameSettings

#: The bots an agent is measured against, strongest first.
LADDER = tuple(f"scripted:{level}" for level in range(9, 0, -1)) + ("idle", "jumper", "random")


@dataclass(frozen=True)
class LadderConfig:
    """An agent (anything ``load_actor`` reads) against every built-in bot."""

    agent: Annotated[str, tyro.conf.Positional]
    """a checkpoint (SB3 .zip, BC folder, league snapshot), champion, or a bot name."""
    games: int = 200
    """games against each bot (half on each port)."""
    seed: int = 20_000
    game: GameSettings = field(default_factory=GameSettings)
    deterministic: bool = False
    """always the most likely action (default: sample, as in training)."""
    out: Path | None = None
    """write the results as JSON here."""


def evaluate_ladder(
    actor: Any, games: int, seed: int, game: GameSettings, bots: tuple[str, ...] = LADDER
) -> dict[str, dict[str, Any]]:
    """``games`` games against every bot of ``bots`` (half with the actor on port 2), all in one
    batch; wins, draws, win rate and its Wilson interval per bot."""
    from exphil_agents.actors import BotActor
    from exphil_agents.league.matches import MatchSetup, play_round
    from exphil_agents.league.ratings import win_interval

    if games < 1:
        raise ValueError(f"games must be >= 1; got {games}")
    players = [actor, *(BotActor(b) for b in bots)]
    names = ["agent", *bots]
    rounds = play_round(players, names, [(0, k + 1) for k in range(len(bots))], games, seed, MatchSetup(game))
    out = {}
    for bot, records in zip(bots, rounds, strict=True):
        wins = sum(r["score"] == 1.0 for r in records)
        draws = sum(r["score"] == 0.5 for r in records)
        low, high = win_interval(wins, len(records))
        out[bot] = {"games": len(records), "wins": wins, "draws": draws, "win": wins / len(records),
                    "interval": [round(low, 3), round(high, 3)]}  # fmt: skip
    return out


def ladder_table(name: str, results: dict[str, dict[str, Any]]) -> Any:
    """A rich table of :func:`evaluate_ladder`'s results."""
    from rich.table import Table

    games = next(iter(results.values()))["games"] if results else 0
    table = Table(title=f"{name}: {games} games against each bot (half on each port)")
    for col in ("bot", "win", "95% interval", "W-D-L"):
        table.add_column(col, justify="right")
    for bot, r in results.items():
        losses = r["games"] - r["wins"] - r["draws"]
        table.add_row(bot, f"{r['win']:.3f}", f"{r['interval'][0]:.3f} .. {r['interval'][1]:.3f}",
                      f"{r['wins']}-{r['draws']}-{losses}")  # fmt: skip
    return table


def main(cfg: LadderConfig) -> dict[str, dict[str, Any]]:
    from rich.console import Console

    from exphil_agents.actors import load_actor
    from melee_envs.atomic import write_text_atomic
    from melee_envs.threads import training_threads

    print(training_threads("rl"))  # as in tournaments: torch's default threads beside a busy process are 60x slower
    actor = load_actor(cfg.agent, deterministic=cfg.deterministic, seed=cfg.seed)
    start = time.perf_counter()
    results = evaluate_ladder(actor, cfg.games, cfg.seed, cfg.game)
    console = Console(width=120)
    console.print(ladder_table(cfg.agent, results))
    console.print(f"{cfg.games * len(LADDER):,} games in {time.perf_counter() - start:.1f}s, seeds from {cfg.seed}")
    if cfg.out is not None:
        write_text_atomic(cfg.out, json.dumps({"agent": cfg.agent, "seed": cfg.seed, "results": results}, indent=2))
    return results
