"""Scaling benchmark (``exphil bench scale``): what more processes buy and what Ray costs, measured
on this machine in one run, each figure beside the load average.

* BC training samples/s with 1 and ``nproc`` processes (``exphil bc train --nproc``, DDP over
  gloo), the same global batch and steps, alternating, median and range of ``repeats``;
* Ray's cost per step: the round trip of an actor call carrying one step's observations of a
  batched env (``games`` x the observation) and returning its actions, next to one step of that
  batched env itself (``MeleeVectorEnv``, ``games`` games, in this process);
* Ray's cost per weight broadcast: ``ray.put`` of a policy's weights and loading them into every
  worker actor, next to serialising the same weights in this process (``torch.save`` to memory);
* league training steps/s (``exphil league train``: PPO rollouts and updates, the default MLP) in
  this process and with 1 and ``workers`` remote rollout workers (``--ray``), the same games,
  after one warm-up rollout each (worker start and compilation excluded), alternating; with the
  share of the remote runs' time spent waiting for the workers.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imitation.bench_backbones import _load
from imitation.cache import DEFAULT_CACHE
from melee_envs.envvars import cache_dir, replays_dir


@dataclass(frozen=True)
class ScaleBenchConfig:
    """BC samples/s with 1 and N processes; Ray's cost per step and per weight broadcast."""

    replays: str = field(default_factory=lambda: replays_dir("../shared/replays"))
    """replay folder for the BC runs (default: $EXPHIL_REPLAYS_DIR, else ../shared/replays)."""
    cache: str = field(default_factory=lambda: cache_dir(DEFAULT_CACHE))
    nproc: int = 2
    """processes of the multi-process BC runs."""
    bc_steps: int = 300
    batch_size: int = 256
    """the global batch (each of N processes trains on batch_size / N)."""
    hidden: int = 256
    repeats: int = 3
    ray: bool = True
    """also measure Ray (needs the scale extra; skipped with a note without it)."""
    workers: int = 2
    """Ray worker actors for the broadcast."""
    games: int = 256
    """games per step of the batched env whose observations a step call carries."""
    calls: int = 200
    """timed calls per Ray measurement."""
    league_games: int = 128
    """games of the league measurement (split over its workers)."""
    league_rollouts: int = 3
    """timed PPO rollouts (of 128 steps of every game) per league measurement."""


def _bc_rate(config: ScaleBenchConfig, nproc: int, out: Path, name: str) -> float:
    args = [
        sys.executable, "-m", "exphil", "-q", "bc", "train", "--data.replays", config.replays, "--data.cache",
        config.cache, "--runtime.checkpoints", str(out), "--runtime.name", name, "--optim.steps", str(config.bc_steps),
        "--optim.batch-size", str(config.batch_size), "--model.hidden", str(config.hidden), "--runtime.eval-every",
        str(config.bc_steps), "--runtime.no-tensorboard", "--optim.warmup-steps", "10", "--nproc", str(nproc),
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"exphil bc train --nproc {nproc} failed: {proc.stderr[-1500:]}")
    history = json.loads((out / name / "last" / "meta.json").read_text())["history"]
    return float(history[-1]["samples_per_s"])


def bc_scaling(config: ScaleBenchConfig) -> dict[str, Any]:
    """Samples/s of BC with 1 and ``nproc`` processes, alternating; median and range of each."""
    from imitation.build import build_dataset

    build_dataset(Path(config.replays), config.cache, workers=0, progress=False)  # outside the timing
    rates: dict[int, list[float]] = {1: [], config.nproc: []}
    loads = []
    with tempfile.TemporaryDirectory(prefix="exphil-bench-scale-") as tmp:
        for k in range(config.repeats):
            for n, measured in rates.items():
                loads.append(_load())
                measured.append(_bc_rate(config, n, Path(tmp), f"run{k}-{n}"))
    out = {str(n): {"median": statistics.median(r), "min": min(r), "max": max(r)} for n, r in rates.items()}
    out["speedup"] = out[str(config.nproc)]["median"] / out["1"]["median"]
    out["load"] = [min(loads), max(loads)]
    return out


def _env_step_ms(config: ScaleBenchConfig) -> float:
    """One step of a ``games``-game batched env with the learned observations, in ms (median)."""
    from melee_envs.envs.vector import MeleeVectorEnv
    from melee_envs.obs import ObsConfig

    env = MeleeVectorEnv(config.games, obs=ObsConfig.learned())
    env.reset(seed=0)
    acts = [env.action_space.sample() for _ in range(8)]
    times = []
    for k in range(config.calls):
        start = time.perf_counter()
        env.step(acts[k % 8])
        times.append(time.perf_counter() - start)
    env.close()
    return statistics.median(times) * 1e3


def ray_costs(config: ScaleBenchConfig) -> dict[str, Any]:
    """Ray's round trip per step and per weight broadcast, each next to its in-process reference."""
    import numpy as np
    import ray
    import torch

    from exphil_agents.network import PolicyNetwork, weights_snapshot
    from melee_envs.obs import ObsConfig

    network = PolicyNetwork("mlp", {"hidden": config.hidden}, ObsConfig.learned())
    weights = weights_snapshot(network)
    size = sum(t.numel() * t.element_size() for t in weights.values())
    obs = np.random.default_rng(0).random((config.games, network.encoder.obs_size), dtype=np.float32)
    actions = np.zeros((config.games, len(network.nvec)), np.int64)

    @ray.remote(num_cpus=0)
    class Worker:
        def __init__(self) -> None:
            self.net = PolicyNetwork("mlp", {"hidden": config.hidden}, ObsConfig.learned())

        def step(self, batch: np.ndarray) -> np.ndarray:
            return actions

        def load(self, state: dict) -> int:
            self.net.load_state_dict(state)
            return 1

    def timed(fn, calls: int) -> float:
        fn()  # warm
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls * 1e3

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        workers = [Worker.remote() for _ in range(config.workers)]
        ray.get([w.step.remote(obs) for w in workers])
        load_before = _load()
        step_ms = timed(lambda: ray.get(workers[0].step.remote(obs)), config.calls)
        env_ms = _env_step_ms(config)

        def broadcast() -> None:
            ref = ray.put(weights)
            ray.get([w.load.remote(ref) for w in workers])

        broadcast_ms = timed(broadcast, max(config.calls // 10, 5))

        def serialise() -> None:
            torch.save(weights, io.BytesIO())

        serialise_ms = timed(serialise, max(config.calls // 10, 5))
        load_after = _load()
    finally:
        ray.shutdown()
    return {
        "step_ms": step_ms, "env_step_ms": env_ms, "payload_bytes": obs.nbytes + actions.nbytes,
        "broadcast_ms": broadcast_ms, "serialise_ms": serialise_ms, "weights_bytes": size,
        "workers": config.workers, "load": [load_before, load_after],
    }  # fmt: skip


def _league_rate(config: ScaleBenchConfig, folder: Path, workers: int | None) -> tuple[float, float]:
    """League training steps/s over ``league_rollouts`` rollouts after a warm-up one, in this
    process (``workers`` None) or on that many remote workers; and the share of the time spent
    waiting for the workers (0 here)."""
    from exphil_agents.league.callback import LeagueCallback
    from exphil_agents.league.remote import RemoteRollouts, driver_env
    from exphil_agents.league.train import League, LeagueConfig

    n_steps = 128
    cfg = LeagueConfig(
        dir=folder, games=config.league_games, n_steps=n_steps, batch_size=1024, tensorboard=False,
        ray=None if workers is None else "auto", workers=workers or 1,
    )  # fmt: skip
    league = League(cfg)
    remote = None if workers is None else RemoteRollouts(league, workers)
    model = league.load_or_create("main-0", env=None if remote is None else driver_env(cfg, league.obs_config))
    per_rollout = n_steps * cfg.games

    def learn(steps: int) -> None:
        callback = LeagueCallback(league, "main-0")
        if remote is None:
            model.learn(steps, callback=callback, reset_num_timesteps=False)
        else:
            remote.learn(model, "main-0", steps, callback)

    try:
        if remote is not None:
            remote.start(model)
        learn(per_rollout)  # warm-up: workers started, kernels loaded
        if remote is not None:
            remote.seconds = dict.fromkeys(remote.seconds, 0.0)
        start = time.perf_counter()
        learn(per_rollout * config.league_rollouts)
        elapsed = time.perf_counter() - start
    finally:
        if remote is not None:
            remote.close()
        league.state.close()
    waiting = 0.0 if remote is None else remote.seconds["collect"] / elapsed
    return per_rollout * config.league_rollouts / elapsed, waiting


def league_scaling(config: ScaleBenchConfig) -> dict[str, Any]:
    """League steps/s here and with 1 and ``workers`` remote workers, alternating; median and
    range of ``repeats``."""
    import ray

    from melee_envs.threads import training_threads

    training_threads("rl")  # as exphil league train runs (its workers do the same)
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    modes: dict[str, int | None] = {"local": None, "1 worker": 1, f"{config.workers} workers": config.workers}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    waits: dict[str, list[float]] = {m: [] for m in modes}
    loads = []
    try:
        with tempfile.TemporaryDirectory(prefix="exphil-bench-league-") as tmp:
            for k in range(config.repeats):
                for mode, workers in modes.items():
                    loads.append(_load())
                    rate, wait = _league_rate(config, Path(tmp) / f"{k}-{mode.replace(' ', '')}", workers)
                    rates[mode].append(rate)
                    waits[mode].append(wait)
    finally:
        ray.shutdown()
    out: dict[str, Any] = {
        m: {"median": statistics.median(r), "min": min(r), "max": max(r), "waiting": statistics.median(waits[m])}
        for m, r in rates.items()
    }
    for mode in modes:
        out[mode]["vs_local"] = out[mode]["median"] / out["local"]["median"]
    out["load"] = [min(loads), max(loads)]
    return out


def main(config: ScaleBenchConfig) -> dict[str, Any]:
    if config.nproc < 2:
        raise ValueError(f"--nproc {config.nproc}: compare 1 process with at least 2")
    if config.batch_size % config.nproc:
        raise ValueError(f"--batch-size {config.batch_size} does not split over --nproc {config.nproc}")
    print(f"cores {os.cpu_count()}, load {_load():.2f}")
    bc = bc_scaling(config)
    one, many = bc["1"], bc[str(config.nproc)]
    print(
        f"BC samples/s, global batch {config.batch_size}, {config.bc_steps} steps, median (range) of {config.repeats}, "
        f"load {bc['load'][0]:.2f}-{bc['load'][1]:.2f}:\n"
        f"  1 process     {one['median']:10,.0f} ({one['min']:,.0f}-{one['max']:,.0f})\n"
        f"  {config.nproc} processes   {many['median']:10,.0f} ({many['min']:,.0f}-{many['max']:,.0f})  "
        f"{bc['speedup']:.2f}x"
    )
    result: dict[str, Any] = {"bc": bc}
    if config.ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("Ray: skipped (pip install -e '.[scale]')")
            return result
        costs = ray_costs(config)
        result["ray"] = costs
        print(
            f"Ray, {config.workers} worker actors, load {costs['load'][0]:.2f}-{costs['load'][1]:.2f}:\n"
            f"  step call ({config.games} games, {costs['payload_bytes'] / 1e3:,.0f} kB)  {costs['step_ms']:.3f} ms "
            f"(one step of the {config.games}-game env here {costs['env_step_ms']:.3f} ms)\n"
            f"  weight broadcast ({costs['weights_bytes'] / 1e6:.2f} MB to {config.workers})  "
            f"{costs['broadcast_ms']:.2f} ms (torch.save of the same weights here {costs['serialise_ms']:.2f} ms)"
        )
        league = league_scaling(config)
        result["league"] = league
        lines = [
            f"League training steps/s ({config.league_games} games, the default MLP), median (range) of "
            f"{config.repeats}, load {league['load'][0]:.2f}-{league['load'][1]:.2f}:"
        ]
        for mode, row in league.items():
            if mode == "load":
                continue
            waiting = f", {row['waiting']:.0%} of it waiting for the workers" if mode != "local" else ""
            lines.append(
                f"  {mode:<12}{row['median']:10,.0f} ({row['min']:,.0f}-{row['max']:,.0f})  "
                f"{row['vs_local']:.2f}x local{waiting}"
            )
        print("\n".join(lines))
    return result
