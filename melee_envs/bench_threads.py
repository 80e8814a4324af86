"""Thread-policy benchmark (``exphil bench-threads``): the vector env's speed when it is not alone.

For each batch size, the env's agent-steps/s (time inside ``env.step`` only) under the default
thread policy (:mod:`melee_envs.threads`) in each setting:

* **alone**: nothing else runs;
* **torch**: torch works between env steps in the same process, with its own thread pool, as in
  an on-policy training loop: a policy forward pass on the step's observations after every step
  and a training step (forward, backward, Adam) every ``train_every`` steps;
* **torch, 1 torch thread**: the same work with torch on one thread (no second pool at all);
* **memory pass** and **python pass**, the controls for the two above: a single-threaded numpy
  pass over as many bytes as the forward pass touches, and plain Python work (JSON round trips),
  with no torch in either;
* **busy**: a CPU-bound process runs beside this one for the whole measurement.

Each figure is the median of ``repeats`` timings (range shown), with the load average beside it,
and two ratios: to the same setting on one thread (what the policy's thread choice costs or gains
there: the policy passes when every one is at least 0.70), and to the best single-thread timing
alone (what the setting itself costs). Where the ``torch`` figures match with torch on one thread
and match the controls, what the env loses beside torch is not two thread pools fighting but
the cost of interleaving two workloads on one core: the other work evicts the env's arrays and
code from the caches, and the env reads them back from memory.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from melee_envs.controller import ACTION_SIZE
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
    pool = np.random.default_rng(0).integers(0, env.codec.nvec, size=(8, env.num_envs, ACTION_SIZE))
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
        torch.nn.Linear(256, ACTION_SIZE),
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


def _memory_work(env):
    """The ``memory pass`` control: one single-threaded numpy pass, between env steps, over as many
    bytes as the ``torch`` setting's forward pass touches (its weights and activations), and
    nothing else: no torch, no second thread."""
    rows = env.num_envs
    floats = (
        rows * (env.encoder.size + 256 + 256 + ACTION_SIZE) + env.encoder.size * 256 + 256 * 256 + 256 * ACTION_SIZE
    )
    scratch = np.zeros(floats, np.float32)

    def work() -> None:
        scratch.__iadd__(1.0)

    return work


def _python_work():
    """The ``python pass`` control: plain interpreter work between env steps (JSON round trips of
    a small document), about as long as the forward pass on a small batch; no torch, no numpy."""
    import json

    document = {"frames": list(range(150)), "players": [{"tag": "P" * 50, "stocks": 4}] * 2}

    def work() -> None:
        for _ in range(20):
            json.loads(json.dumps(document))

    return work


def _torch_threads(n: int):
    import torch

    class Scope:
        def __enter__(self) -> None:
            self.before = torch.get_num_threads()
            torch.set_num_threads(n)

        def __exit__(self, *exc) -> None:
            torch.set_num_threads(self.before)

    return Scope()


class _Busy:
    """A CPU-bound process beside this one while inside the block."""

    def __enter__(self) -> None:
        self.hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.hog.kill()
        self.hog.wait()


def _settings(env, config: ThreadBenchConfig):
    """``(name, context, work between steps)`` of every setting, for ``env``."""
    from contextlib import nullcontext

    return [
        ("alone", nullcontext(), None),
        ("torch", nullcontext(), _torch_work(env, config.torch_batch, config.train_every)),
        ("torch, 1 torch thread", _torch_threads(1), _torch_work(env, config.torch_batch, config.train_every)),
        ("memory pass", nullcontext(), _memory_work(env)),
        ("python pass", nullcontext(), _python_work()),
        ("busy", _Busy(), None),
    ]


def run(config: ThreadBenchConfig) -> list[dict]:
    from melee_envs.threads import describe, pick_threads

    rows: list[dict] = []
    for n in config.sizes:
        single = _env(n, 1)
        alone_1 = _rates(single, config.seconds, config.repeats)
        reference = max(alone_1)
        threads = pick_threads(n)
        env = _env(n, None) if threads != 1 else single
        for setting, context, work in _settings(env, config):
            with context:
                if setting == "alone" and env is single:
                    values = alone_1
                else:
                    values = _rates(env, config.seconds, config.repeats, work)
                # the same setting on one thread: what the policy's choice costs or gains there
                same = values if env is single else _rates(single, config.seconds, config.repeats, work)
            rows.append(
                {
                    "N": n,
                    "threads": threads,
                    "setting": setting,
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                    "vs best 1-thread": statistics.median(values) / reference,
                    "vs 1 thread here": statistics.median(values) / statistics.median(same),
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
    columns = ["N", "threads", "setting", "median", "min", "max", "vs best 1-thread", "vs 1 thread here", "load"]
    for c in columns:
        table.add_column(c, justify="left" if c == "setting" else "right")
    for row in rows[:-1]:
        table.add_row(
            *(f"{row[c]:,.0f}" if isinstance(row[c], float) and row[c] > 100 else f"{row[c]:.2f}"
              if isinstance(row[c], float) else str(row[c]) for c in columns)
        )  # fmt: skip
    console.print(table)
    console.print(f"policy: {rows[-1]['policy']}")
    worst = min(r["vs 1 thread here"] for r in rows[:-1])
    console.print(f"policy: worst figure {worst:.2f} of one thread in the same setting (target >= 0.70)")
    for setting in ("alone", "busy", "torch", "torch, 1 torch thread", "memory pass", "python pass"):
        low = min(r["vs best 1-thread"] for r in rows[:-1] if r["setting"] == setting)
        console.print(f"{setting}: worst {low:.2f} of the best single-thread figure alone")
    return rows
