"""Thread-policy benchmark (``exphil bench-threads``): the vector env's speed when it is not alone.

For each batch size, the env's agent-steps/s (time inside ``env.step`` only) under the default
thread policy (:mod:`melee_envs.threads`) in three settings, next to the best single-thread figure
measured alone in the same run:

* **alone**: nothing else runs;
* **torch**: torch works between env steps in the same process, with its own thread pool, as in
  an on-policy training loop: a policy forward pass on the step's observations after every step
  and a training step (forward, backward, Adam) every ``train_every`` steps;
* **busy**: a CPU-bound process runs beside this one for the whole measurement.

Each figure is the median of ``repeats`` timings (range shown), with the load average beside it.
The policy passes when every figure is at least 70% of the single-thread one. The ``torch``
setting is also measured with torch on one thread: where both give the same figure, what the env
loses beside torch is not two thread pools fighting but the cost of interleaving two workloads on
one core (each evicts the other's data from the caches).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from melee_envs.obs import ObsConfig


@dataclass(frozen=True)
class ThreadBenchConfig:
    """Benchmark settings."""

    sizes: tuple[int, ...] = (1, 64, 1024, 4096)
    """Numbers of games."""
    seconds: float = 0.5
    """Time inside env.step per timing."""
    repeats: int = 5
    """Timings per figure (median and range reported)."""
    torch_batch: int = 512
    """Rows of the torch training step (an MLP of two hidden layers of 256)."""
    train_every: int = 32
    """Env steps per torch training step in the ``torch`` setting."""
    seed: int = 0


def _env(n: int, threads: int | None):
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(n, opponent="idle", copy=False, stage="random", threads=threads, obs=ObsConfig.learned())
    env.reset(seed=0)
    return env


def _rates(env, seconds: float, repeats: int, between=None) -> list[float]:
    """Agent-steps/s over time spent in ``env.step`` alone, ``repeats`` times."""
    pool = np.random.default_rng(0).integers(0, env.codec.nvec, size=(8, env.num_envs, 13))
    for i in range(3):
        env.step(pool[i])
    out = []
    for _ in range(repeats):
        inside, steps = 0.0, 0
        while inside < seconds:
            start = time.perf_counter()
            env.step(pool[steps & 7])
            inside += time.perf_counter() - start
            steps += 1
            if between is not None:
                between()
        out.append(env.num_envs * steps / inside)
    return out


def _torch_work(env, batch: int, train_every: int):
    """The ``torch`` setting's work between env steps (see the module docstring)."""
    import torch

    net = torch.nn.Sequential(
        torch.nn.Linear(env.encoder.size, 256), torch.nn.Tanh(), torch.nn.Linear(256, 256), torch.nn.Tanh(),
        torch.nn.Linear(256, 13),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.randn(batch, env.encoder.size)
    count = [0]

    def work() -> None:
        with torch.no_grad():
            net(torch.from_numpy(env._obs))
        count[0] += 1
        if count[0] % train_every == 0:
            loss = net(x).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    return work


def run(config: ThreadBenchConfig) -> list[dict]:
    from melee_envs.threads import describe, pick_threads

    rows: list[dict] = []
    for n in config.sizes:
        alone_1 = _rates(_env(n, 1), config.seconds, config.repeats)
        reference = max(alone_1)
        env = _env(n, None)
        figures = {
            "alone, 1 thread": alone_1,
            "alone": _rates(env, config.seconds, config.repeats),
            "torch": _rates(
                env, config.seconds, config.repeats, _torch_work(env, config.torch_batch, config.train_every)
            ),
        }
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the same work without a second pool: what is left is not contention
        try:
            work = _torch_work(env, config.torch_batch, config.train_every)
            figures["torch, 1 torch thread"] = _rates(env, config.seconds, config.repeats, work)
        finally:
            torch.set_num_threads(torch_threads)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.2)
            figures["busy"] = _rates(env, config.seconds, config.repeats)
        finally:
            hog.kill()
            hog.wait()
        for setting, values in figures.items():
            rows.append(
                {
                    "N": n,
                    "threads": 1 if setting.endswith("1 thread") else pick_threads(n),
                    "setting": setting,
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                    "vs best 1-thread": statistics.median(values) / reference,
                    "load": os.getloadavg()[0],
                }
            )
    rows.append({"policy": describe()})
    return rows


def main(config: ThreadBenchConfig) -> list[dict]:
    from rich.console import Console
    from rich.table import Table

    rows = run(config)
    console = Console(width=150)
    table = Table(title="MeleeVectorEnv agent-steps/s by thread policy (learned obs, idle opponent)")
    columns = ["N", "threads", "setting", "median", "min", "max", "vs best 1-thread", "load"]
    for c in columns:
        table.add_column(c, justify="left" if c == "setting" else "right")
    for row in rows[:-1]:
        table.add_row(
            *(f"{row[c]:,.0f}" if isinstance(row[c], float) and row[c] > 100 else f"{row[c]:.2f}"
              if isinstance(row[c], float) else str(row[c]) for c in columns)
        )  # fmt: skip
    console.print(table)
    console.print(f"policy: {rows[-1]['policy']}")
    worst = min(r["vs best 1-thread"] for r in rows[:-1])
    console.print(f"worst figure: {worst:.2f} of the best single-thread one (target >= 0.70)")
    return rows
