"""Steps-per-second benchmark: ``Melee-v0`` next to ``CartPole-v1``, measured in the same run.

Both envs are made with ``gym.make`` (same wrappers) and stepped with pre-drawn random actions so
that action sampling is not timed; episodes are reset when they end. Also times ``Melee-v0``
recording every game as a Slippi replay (``record_replays``, into a temporary folder, files
written included) and the raw mock backend on a batch of games (frames per second over all games).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from melee_envs.controller import ACTION_SIZE


@dataclass(frozen=True)
class BenchConfig:
    """Benchmark settings."""

    steps: int = 50_000
    """Steps timed per env (after a warm-up of 1000)."""
    opponent: str = "scripted"
    """Melee-v0 opponent: idle, random or scripted."""
    batch_games: int = 1024
    """Games in the raw backend measurement (0 to skip)."""
    batch_steps: int = 200
    """Frames stepped in the raw backend measurement."""
    record: bool = True
    """Also time Melee-v0 recording every game as a replay (record_replays)."""
    seed: int = 0


def time_env(env_id: str, steps: int, seed: int, **kwargs: Any) -> float:
    """Steps per second of one ``gym.make`` env with pre-drawn random actions."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(min(steps, 4096))]
    env.reset(seed=seed)
    for i in range(1000):
        _, _, term, trunc, _ = env.step(actions[i % len(actions)])
        if term or trunc:
            env.reset()
    start = time.perf_counter()
    for i in range(steps):
        _, _, term, trunc, _ = env.step(actions[i % len(actions)])
        if term or trunc:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def time_backend(num_games: int, steps: int, seed: int) -> float:
    """Frames per second (summed over games) of the raw mock backend with random inputs."""
    from melee_envs.backends.mock import MockBackend

    backend = MockBackend(num_games)
    backend.reset(seed)
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, backend.codec.nvec, size=(16, num_games, 2, ACTION_SIZE))
    backend.step(actions[0])
    start = time.perf_counter()
    for i in range(steps):
        backend.step(actions[i % 16], checked=True)
        backend.reset_done()
    return num_games * steps / (time.perf_counter() - start)


def run(config: BenchConfig) -> dict[str, float]:
    import melee_envs  # noqa: F401  (registers Melee-v0)

    results = {
        "CartPole-v1 steps/s": time_env("CartPole-v1", config.steps, config.seed),
        "Melee-v0 steps/s": time_env("Melee-v0", config.steps, config.seed, opponent=config.opponent),
    }
    results["Melee-v0 / CartPole-v1"] = results["Melee-v0 steps/s"] / results["CartPole-v1 steps/s"]
    if config.record:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="exphil-bench-record-") as folder:  # 1-stock games: many files
            settings = {"opponent": config.opponent, "stocks": 1, "time_limit_minutes": 1}
            plain = time_env("Melee-v0", config.steps, config.seed, **settings)
            recording = time_env("Melee-v0", config.steps, config.seed, record_replays=folder, **settings)
            games = len(list(Path(folder).glob("*.slp")))
        results["Melee-v0 1-stock games steps/s"] = plain
        results[f"  recording them ({games} .slp files) steps/s"] = recording
        results["  recording / not"] = recording / plain
    if config.batch_games:
        results[f"mock backend frames/s ({config.batch_games} games, 1 thread)"] = time_backend(
            config.batch_games, config.batch_steps, config.seed
        )
    return results


def main(config: BenchConfig) -> dict[str, float]:
    """Run the benchmark and print a table."""
    import os

    from rich.console import Console
    from rich.table import Table

    before = os.getloadavg()[0]
    results = run(config)
    load = f"load {before:.2f} before, {os.getloadavg()[0]:.2f} after"
    table = Table(title=f"Melee-v0 speed (single env, gym.make wrappers included; {load})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
    Console().print(table)
    return results
