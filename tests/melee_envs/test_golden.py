"""Golden trajectories: 10,000 seeded frames per legal stage must replay bit for bit.

The engine is refactored often; this pins what it does. Every game presses the Discrete action
set's inputs (dashes, jumps, attacks, specials, shields, grabs, rolls), each held a hashed number
of frames, so movement, combat, shields, grabs, the ledge, deaths and restarts are all crossed.
A digest of the whole engine state (public and private arrays) is stored every 250 frames; on a
mismatch the test names the stage and the first frame that differs. A second part pins the
vector env's fused kernel (observations, rewards, flags) over 2,000 steps.

A deliberate change of game behaviour rewrites the file:
``python tests/melee_envs/test_golden.py --write`` (say why in the commit).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.controller import ControllerCodec, discrete_table
from melee_envs.data import stages
from melee_envs.state import PLAYER_FLOAT_COLUMNS, PLAYER_INT_COLUMNS

GOLDEN = Path(__file__).parent / "data" / "golden_trajectories.npz"
FRAMES = 10_000
EVERY = 250
PAIRS = (("FOX", "FALCO"), ("MARTH", "SHEIK"), ("JIGGLYPUFF", "PEACH"), ("CPTFALCON", "POPO"))
VECTOR_STEPS = 2_000
PCT, STOCKS = PLAYER_FLOAT_COLUMNS.index("percent"), PLAYER_INT_COLUMNS.index("stocks")


def _hash(seed: int, *keys: int) -> int:
    """A splitmix64-style hash: the inputs do not depend on any library's random streams."""
    x = seed & 0xFFFFFFFFFFFFFFFF
    for k in keys:
        x = (x ^ (k + 0x9E3779B97F4A7C15 + (x << 6) + (x >> 2))) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


class _Inputs:
    """Per game and port: a Discrete-set input, held 1-24 frames, both chosen by hash."""

    def __init__(self, games: int, seed: int) -> None:
        self.table = discrete_table(ControllerCodec())
        self.seed = seed
        self.choice = np.zeros((games, 2), np.int64)
        self.left = np.zeros((games, 2), np.int64)
        self.segment = 0

    def next(self) -> np.ndarray:
        for g, p in zip(*np.nonzero(self.left == 0), strict=True):
            self.segment += 1
            h = _hash(self.seed, int(g), int(p), self.segment)
            self.choice[g, p] = h % len(self.table)
            self.left[g, p] = 1 + (h >> 20) % 24
        self.left -= 1
        return self.table[self.choice]


def _digest(*arrays: np.ndarray) -> np.uint64:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return np.frombuffer(h.digest()[:8], np.uint64)[0]


def engine_run(stage: str) -> dict[str, np.ndarray]:
    """Digests every ``EVERY`` frames of four games on ``stage``, plus totals showing what happened."""
    sid = stages.get(stage).internal_id
    backends = [
        MockBackend(1, MockConfig(characters=pair, stage=stage, stocks=4, start_spread=0.3, start_percent=60))
        for pair in PAIRS
    ]
    inputs = _Inputs(len(PAIRS), seed=sid)
    for k, backend in enumerate(backends):
        backend.reset(seed=1000 * sid + k)
    digests, games_ended, damage, stocks_lost = [], 0, 0.0, 0
    for frame in range(1, FRAMES + 1):
        actions = inputs.next()
        for k, backend in enumerate(backends):
            before_pct = backend.packed.pf[..., 0, PCT].copy()
            before_stocks = backend.packed.pi[..., 0, STOCKS].copy()
            backend.step(actions[k : k + 1])
            after_pct = backend.packed.pf[..., 0, PCT]
            damage += float(np.clip(after_pct - before_pct, 0, None).sum())
            stocks_lost += int(np.clip(before_stocks - backend.packed.pi[..., 0, STOCKS], 0, None).sum())
            if backend.done.any():
                games_ended += 1
                backend.reset_done()
        if frame % EVERY == 0:
            arrays = [(b.packed.pi, b.packed.pf, b.packed.pb, b.ei, b.ef, b.packed.frame) for b in backends]
            digests.append(_digest(*(a for group in arrays for a in group)))
    return {
        "digests": np.array(digests, np.uint64),
        "totals": np.array([games_ended, stocks_lost, round(damage, 3)], np.float64),
    }


def vector_run(threads: int = 1) -> dict[str, np.ndarray]:
    """Digests of the vector env's outputs (self-play, random stage, randomised starts)."""
    import gymnasium as gym

    env = gym.make_vec(
        "Melee-v0", num_envs=8, mode="self_play", stage="random", stocks=2, start_spread=0.3, start_percent=60,
        threads=threads, frame_skip=2,
    )  # fmt: skip
    inputs = _Inputs(8, seed=7)
    obs, _ = env.reset(seed=3)
    digests, rewards = [], 0.0
    h = hashlib.sha256(obs.tobytes())
    for step in range(1, VECTOR_STEPS + 1):
        obs, reward, term, trunc, _ = env.step(inputs.next()[:, 0])
        rewards += float(np.abs(reward).sum())
        for a in (obs, reward, term, trunc):
            h.update(np.ascontiguousarray(a).tobytes())
        if step % EVERY == 0:
            digests.append(np.frombuffer(h.digest()[:8], np.uint64)[0])
    env.close()
    return {"digests": np.array(digests, np.uint64), "totals": np.array([rewards], np.float64)}


def all_runs() -> dict[str, np.ndarray]:
    out = {}
    for stage in stages.stages():
        for key, value in engine_run(stage).items():
            out[f"{stage}/{key}"] = value
    for key, value in vector_run().items():
        out[f"vector/{key}"] = value
    return out


def _compare(name: str, got: dict[str, np.ndarray], golden: np.lib.npyio.NpzFile) -> None:
    want = golden[f"{name}/digests"]
    differs = np.nonzero(got["digests"] != want)[0]
    first = (differs[0] + 1) * EVERY if differs.size else None
    assert differs.size == 0, f"{name}: state differs from the golden run first at frame/step {first}"
    np.testing.assert_array_equal(got["totals"], golden[f"{name}/totals"], err_msg=name)


def test_engine_matches_the_golden_trajectories():
    golden = np.load(GOLDEN)
    for stage in stages.stages():
        got = engine_run(stage)
        # Not vacuous: every stage's run has hits, deaths and finished games.
        games_ended, stocks_lost, damage = got["totals"]
        assert games_ended >= 1 and stocks_lost >= 4 and damage > 100, (stage, got["totals"])
        _compare(stage, got, golden)


@pytest.mark.parametrize("threads", [1, 2], ids=["serial", "parallel"])
def test_vector_kernel_matches_the_golden_run(threads):
    """Both drivers (the parallel one runs where there are 4+ cores or 2,048+ rows) play the
    same games."""
    golden = np.load(GOLDEN)
    got = vector_run(threads)
    assert got["totals"][0] > 0
    _compare("vector", got, golden)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/melee_envs/test_golden.py --write")
    GOLDEN.parent.mkdir(exist_ok=True)
    runs = all_runs()
    np.savez_compressed(GOLDEN, **runs)
    for key, value in runs.items():
        if key.endswith("totals"):
            print(key, value)
