"""``exphil compile``: compile every engine kernel once and cache it (for images, CI and clusters).

Numba compiles a kernel the first time a process needs it and caches the machine code beside the
sources (or in ``NUMBA_CACHE_DIR``); later processes load it in about a second. Each env compiles
only what it uses: the single and parallel envs the one-game engine, the vector env its serial
kernel below :data:`~melee_envs.threads.PARALLEL_MIN_ROWS` rows and its parallel kernel from
there. This command runs each of them once and prints how long each took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CompileConfig:
    """What to compile."""

    parallel: bool = True
    """Also the vector env's parallel kernel (for batches of 2,048 rows and more)."""


def _time(what: str, fn) -> tuple[str, float]:
    start = time.perf_counter()
    fn()
    return what, time.perf_counter() - start


def _single() -> None:
    import gymnasium as gym

    import melee_envs  # noqa: F401  (registers the ids)

    env = gym.make("Melee-v0", opponent="scripted")
    env.reset(seed=0)
    env.step(env.action_space.sample())


def _vector(threads: int) -> None:
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(2, opponent="random", threads=threads)
    env.reset(seed=0)
    env.step(env.action_space.sample())


def _encoder() -> None:
    from melee_envs.backends.mock import MockBackend
    from melee_envs.obs import ObservationEncoder

    backend = MockBackend(2)
    backend.reset(0)
    ObservationEncoder().encode_games(backend.packed, np.array([0, 1]), np.array([0, 1]), np.array([False, True]))


def run(config: CompileConfig) -> list[tuple[str, float]]:
    from melee_envs.threads import available_cores

    steps = [
        ("one-game engine and encoder (Melee-v0, parallel_env)", _single),
        ("vector env, serial kernel", lambda: _vector(1)),
        ("per-game encoder (tournaments)", _encoder),
    ]
    if config.parallel and available_cores() > 1:
        steps.append(("vector env, parallel kernel", lambda: _vector(2)))
    return [_time(what, fn) for what, fn in steps]


def main(config: CompileConfig) -> list[tuple[str, float]]:
    import numba

    results = []
    for what, seconds in run(config):
        print(f"{what}: {seconds:.1f} s ({'compiled' if seconds > 3 else 'loaded from the cache'})", flush=True)
        results.append((what, seconds))
    print(f"cache: {numba.config.CACHE_DIR or 'beside the sources (__pycache__)'}")
    return results
