"""``exphil bench-league``: the self-play env's steps/s as the population grows, and tournament
games/s batched by round against the same pairings played one at a time (the reference)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class LeagueBenchConfig:
    """Self-play env and tournament speed (networks with random weights; no training)."""

    games: int = 32
    """Games in the self-play env."""
    populations: tuple[int, ...] = (0, 4, 8)
    """Network snapshots in the population (besides 4 bots and the live learner)."""
    steps: int = 300
    """Env steps timed per population size."""
    tournament_networks: int = 4
    tournament_games: int = 10
    game: GameSettings = field(default_factory=lambda: GameSettings(time_limit_minutes=0.25))
    """the games played (short, so that many end within a timed run)."""
    seed: int = 0


def _snapshots(folder: Path, count: int) -> list[str]:
    import torch

    from exphil_agents.league.population import save_snapshot
    from exphil_agents.policies import BackbonePolicy
    from melee_envs.controller import ControllerCodec
    from melee_envs.obs import ObsConfig, ObservationEncoder

    obs_space = ObservationEncoder(ObsConfig()).observation_space()
    ids = []
    for k in range(count):
        torch.manual_seed(k)
        policy = BackbonePolicy(obs_space, ControllerCodec().action_space(), lambda _: 0.0, backbone="mlp")
        ids.append(str(save_snapshot(folder, f"net-{k}", policy, ObsConfig(), {"learner": "net", "step": k})))
    return ids


def _env_rate(cfg: LeagueBenchConfig, snapshots: list[str]) -> float:
    import numpy as np

    from exphil_agents.actors import load_actor
    from exphil_agents.league.selfplay import LeagueVecEnv

    pool = ["idle", "scripted:1", "scripted:5", "scripted", *snapshots]
    rng = np.random.default_rng(cfg.seed)
    env = LeagueVecEnv(
        cfg.games,
        sample_opponent=lambda _b: pool[int(rng.integers(len(pool)))],
        resolve=load_actor,
        seed=cfg.seed,
        **cfg.game.env_kwargs(),
        frame_skip=4,
    )
    env.reset()
    actions = np.stack([env.action_space.sample() for _ in range(cfg.games)])
    for _ in range(20):
        env.step(actions)
    start = time.perf_counter()
    for _ in range(cfg.steps):
        env.step(actions)
    return cfg.games * cfg.steps / (time.perf_counter() - start)


def main(cfg: LeagueBenchConfig) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    from exphil_agents.actors import load_actor
    from exphil_agents.league.matches import MatchSetup, play_round
    from exphil_agents.league.tournament import round_robin

    console = Console(width=120)
    results: dict[str, Any] = {"env": {}}
    with tempfile.TemporaryDirectory() as tmp:
        snapshots = _snapshots(Path(tmp), max(*cfg.populations, cfg.tournament_networks))
        table = Table(title=f"self-play env, {cfg.games} games, frame skip 4 (learner's forward pass not included)")
        table.add_column("network snapshots", justify="right")
        table.add_column("steps/s", justify="right")
        table.add_column("vs no snapshots", justify="right")
        for n in cfg.populations:
            results["env"][n] = _env_rate(cfg, snapshots[:n])
            base = results["env"][cfg.populations[0]]
            table.add_row(str(n), f"{results['env'][n]:,.0f}", f"{results['env'][n] / base:.2f}x")
        console.print(table)

        specs = ["idle", "scripted:1", "scripted", *snapshots[: cfg.tournament_networks]]
        players = [load_actor(s) for s in specs]
        pairs = round_robin(len(specs))
        settings = MatchSetup(cfg.game)
        timings = {}
        for name, groups in (("one pairing at a time", [[p] for p in pairs]), ("whole round at once", [pairs])):
            start = time.perf_counter()
            for group in groups:
                play_round(players, specs, group, cfg.tournament_games, cfg.seed, settings)
            timings[name] = time.perf_counter() - start
        games = len(pairs) * cfg.tournament_games
        table = Table(title=f"tournament: {len(specs)} agents ({cfg.tournament_networks} networks), {games} games")
        for col in ("schedule", "seconds", "games/s", "speed-up"):
            table.add_column(col, justify="left" if col == "schedule" else "right")
        reference = timings["one pairing at a time"]
        for name, seconds in timings.items():
            table.add_row(name, f"{seconds:.1f}", f"{games / seconds:,.1f}", f"{reference / seconds:.2f}x")
        console.print(table)
        results["tournament"] = timings
    return results
