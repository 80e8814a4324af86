"""Vector-env benchmark (``exphil bench vector``): agent-steps/s of :class:`MeleeVectorEnv` for
several batch sizes, thread counts and observation presets, measured in one run next to

* the *memory ceiling*: a Numba kernel on the same threads that only writes the same observation
  bytes (no game, no rewards);
* ``CartPole-v1`` stepped in a Python loop (``gym.make``, one env), the usual reference.

Actions are drawn before timing (16 batches, cycled) so sampling is not timed. Every figure,
CartPole's included, is the best of ``repeats`` timings (this machine's speed varies by up to
30% between runs). The vector env is
driven through its public ``step`` with ``copy=False`` (``copy=True`` adds one copy of the
observation batch per step; measured separately at the largest N). Numba's compile time is
reported on its own: the first process compiles and caches, later ones load the cache. With
``--record-games K`` every row is timed again recording its first K games as Slippi replays.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import gymnasium as gym
import numba
import numpy as np
from gymnasium.vector import AutoresetMode

from melee_envs.controller import ACTION_SIZE
from melee_envs.obs import OBS_PRESETS, ObsConfig

PRESETS = {name: (lambda name=name: ObsConfig.preset(name)) for name in OBS_PRESETS}


@dataclass(frozen=True)
class VectorBenchConfig:
    """Benchmark settings."""

    sizes: tuple[int, ...] = (1, 64, 1024, 4096)
    """Numbers of games (agent rows in opponent mode)."""
    threads: tuple[int, ...] = (1, 2)
    """Thread counts (each at most the machine's cores; passed as the env's ``threads=``)."""
    autoreset_modes: tuple[str, ...] = ("next_step", "same_step", "disabled")
    """Auto-reset modes, each measured with the compact (first) preset at every size and thread
    count; the other presets are measured in the default mode (next_step)."""
    presets: tuple[str, ...] = ("learned", "default", "seed_1204")
    """Observation presets: learned (compact ids), default (1035 one-hot), seed_1204."""
    seconds: float = 1.0
    """Target time per timing (steps scale with N); each figure is the best of ``repeats``."""
    repeats: int = 3
    opponent: str = "idle"
    """Port 2: idle (the engine's cost alone), scripted, jumper, random."""
    mode: str = "opponent"
    """opponent or self_play (two agent rows per game)."""
    cartpole_steps: int = 50_000
    record_games: int = 0
    """Also time every row recording its first ``record_games`` games as replays
    (``record_replays`` into a temporary folder, files written included; 0: not timed). Each
    recorded game holds about 600 bytes per frame until it ends."""
    frame_skip: int = 1
    """Frames per step (agent-steps/s counts steps, not frames)."""
    seed: int = 0


def _cartpole(steps: int, seed: int, repeats: int = 3) -> float:
    """CartPole-v1 steps/s in a Python loop, best of ``repeats`` (same rule as the vector env)."""
    env = gym.make("CartPole-v1")
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(1024)]
    env.reset(seed=seed)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            _, _, term, trunc, _ = env.step(actions[i & 1023])
            if term or trunc:
                env.reset()
        best = max(best, steps / (time.perf_counter() - start))
    env.close()
    return best


def _timed(fn, rows: int, seconds: float, repeats: int = 3) -> float:
    """Agent-steps/s of ``fn`` (one batched step of ``rows`` rows): the best of ``repeats``
    timings of about ``seconds`` each, after a short warm-up (best-of, as ``timeit`` advises:
    slower repeats measure other load on the machine, not the code)."""
    for _ in range(3):
        fn()
    reps = 8
    while True:  # calibrate the number of calls per timing
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds * 0.5 or reps >= 1 << 20:
            break
        reps = max(reps * 2, int(reps * seconds / max(elapsed, 1e-6)))
    best = rows * reps / elapsed
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = max(best, rows * reps / (time.perf_counter() - start))
    return best


def compile_seconds() -> dict[str, float]:
    """Time to build a small vector env and take its first step (compiles or loads the cache)."""
    from melee_envs.envs.vector import MeleeVectorEnv

    start = time.perf_counter()
    env = MeleeVectorEnv(2, opponent="idle")
    env.reset(seed=0)
    env.step(np.zeros((2, ACTION_SIZE), np.int64) + env._noop)
    return {"first env + step (s)": time.perf_counter() - start}


def _stepper(config: VectorBenchConfig, num_envs: int, obs_cfg, threads: int, mode: str, folder=None, games=None):
    """A reset env of the benchmark's kind and its step function (pre-drawn actions, cycled;
    under ``disabled`` the finished games are reset by mask)."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(
        num_envs, mode=config.mode, opponent=config.opponent if config.mode == "opponent" else "idle", obs=obs_cfg,
        copy=False, stage="random", seed=config.seed, threads=threads, autoreset_mode=mode,
        frame_skip=config.frame_skip, record_replays=folder, record_games=games,
    )  # fmt: skip
    env.reset(seed=config.seed)
    pool = np.random.default_rng(config.seed).integers(0, env.codec.nvec, size=(16, num_envs, ACTION_SIZE))
    k = [0]

    def step() -> None:
        _, _, term, trunc, _ = env.step(pool[k[0] & 15])
        k[0] += 1
        if env.autoreset_mode == AutoresetMode.DISABLED and (term | trunc).any():
            env.reset(options={"reset_mask": term | trunc})

    return env, step


def run(config: VectorBenchConfig) -> list[dict]:
    from melee_envs.backends.mock.batch import write_only

    unknown = [p for p in config.presets if p not in PRESETS]
    if unknown or not config.presets:
        raise ValueError(f"--presets: unknown {unknown or 'empty list'}; choose from {', '.join(PRESETS)}")
    cores = numba.config.NUMBA_NUM_THREADS
    rows_out: list[dict] = []
    cart = _cartpole(config.cartpole_steps, config.seed, config.repeats)
    rows_out.append({"what": "CartPole-v1 Python loop", "steps/s": cart})
    runs = [(config.presets[0], mode) for mode in config.autoreset_modes]
    runs += [(preset, config.autoreset_modes[0]) for preset in config.presets[1:]]
    for preset, mode in runs:
        obs_cfg = PRESETS[preset]()
        for threads in config.threads:
            if threads > cores:
                continue
            for n in config.sizes:
                num_envs = n * (2 if config.mode == "self_play" else 1)
                env, step = _stepper(config, num_envs, obs_cfg, threads, mode)
                rate = _timed(step, num_envs, config.seconds, config.repeats)
                recording = {}
                if config.record_games:
                    with tempfile.TemporaryDirectory(prefix="exphil-bench-record-") as folder:
                        rec_env, rec_step = _stepper(
                            config, num_envs, obs_cfg, threads, mode, folder, min(n, config.record_games)
                        )
                        rec_rate = _timed(rec_step, num_envs, config.seconds, config.repeats)
                        recording = {"recording": rec_rate, "rec / not": rec_rate / rate,
                                     "files": len(rec_env._recorder.written)}  # fmt: skip
                        rec_env.close()
                buf = np.zeros((num_envs, env.encoder.size), np.float32)
                numba.set_num_threads(threads)
                ceiling = _timed(lambda buf=buf: write_only(buf, 1.0), num_envs, config.seconds, config.repeats)
                numba.set_num_threads(cores)
                rows_out.append(
                    {
                        "what": f"vector env {config.mode}, {mode}",
                        "preset": preset,
                        "obs size": env.encoder.size,
                        "threads": threads,
                        "N": n,
                        "agent-steps/s": rate,
                        "no-op ceiling": ceiling,
                        "vs ceiling": rate / ceiling,
                        "vs CartPole": rate / cart,
                        **recording,
                        "load": os.getloadavg()[0],
                    }
                )
                env.close()
    return rows_out


def main(config: VectorBenchConfig) -> list[dict]:
    """Print compile time and the table."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    for key, value in compile_seconds().items():
        console.print(f"Numba: {key}: {value:.2f}")
    rows = run(config)
    table = Table(title=f"MeleeVectorEnv agent-steps/s (opponent={config.opponent}, mode={config.mode})")
    columns = [
        "what",
        "preset",
        "obs size",
        "threads",
        "N",
        "agent-steps/s",
        "no-op ceiling",
        "vs ceiling",
        "vs CartPole",
        *(["recording", "rec / not", "files"] if config.record_games else []),
        "load",
    ]
    for c in columns:
        table.add_column(c, justify="left" if c in ("what", "preset") else "right")
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, row.get("steps/s") if c == "agent-steps/s" else None)
            if v is None:
                cells.append("")
            elif isinstance(v, float):
                cells.append(f"{v:,.2f}" if v < 100 else f"{v:,.0f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console.print(table)
    return rows
