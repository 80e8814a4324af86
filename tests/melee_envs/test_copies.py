"""Pickled, deep-copied and cloudpickled envs are real copies: they play exactly as the original.

Subprocess vector envs, Ray, multiprocessing and SuperSuit's ``concat_vec_envs_v1`` all copy envs
this way; a copy whose cached views still pointed at the original's arrays would read stale
state (rewards, dones, statistics, the scripted bot's inputs) without any error.
"""

import copy
import functools
import pickle

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest

import melee_envs
from melee_envs.envs.vector import MeleeVectorEnv, sb3_vec_env

SHORT = {"stocks": 1, "time_limit_minutes": 0.1}  # games end every 360 frames: resets are copied too
STEPS = 2000

COPIES = {
    "pickle": lambda env: pickle.loads(pickle.dumps(env)),
    "deepcopy": copy.deepcopy,
    "cloudpickle": lambda env: cloudpickle.loads(cloudpickle.dumps(env)),
}


def assert_same(a, b, where="") -> None:
    """Equal structure and values (arrays exactly, including dtype)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
        assert np.asarray(a).dtype == np.asarray(b).dtype, where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


class Single:
    def make(self):
        return gym.make("Melee-v0", opponent="scripted", stage="random", **SHORT)

    def reset(self, env, seed):
        return env.reset(seed=seed)

    def actions(self, env, rng):
        return rng.integers(0, env.action_space.nvec)

    def step(self, env, action):
        out = env.step(action)
        if out[2] or out[3]:
            return out, env.reset()
        return out, None


class Parallel(Single):
    def make(self):
        return melee_envs.parallel_env(stage="random", frame_skip=2, **SHORT)

    def actions(self, env, rng):
        return {a: rng.integers(0, env.action_space(a).nvec) for a in env.possible_agents}

    def step(self, env, action):
        out = env.step(action)
        return out, (env.reset() if not env.agents else None)


class Vector(Single):
    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def make(self):
        return MeleeVectorEnv(4, stage="random", seed=1, **self.kwargs, **SHORT)

    def actions(self, env, rng):
        space = getattr(env, "single_action_space", env.action_space)  # SB3 VecEnvs: per-env space
        return rng.integers(0, space.nvec, size=(env.num_envs, 13))

    def step(self, env, action):
        return env.step(action), None


class SB3(Vector):
    def make(self):
        return sb3_vec_env(4, opponent="scripted", stage="random", seed=1, **SHORT)

    def reset(self, env, seed):
        env.seed(seed)
        return env.reset()

    def step(self, env, action):
        env.step_async(action)
        return env.step_wait(), None


def league_opponent(game: int) -> str:
    return ("scripted", "random", "jumper")[game % 3]


class League(SB3):
    def make(self):
        from exphil_agents.actors import BotActor
        from exphil_agents.league.selfplay import LeagueVecEnv

        resolve = functools.partial(BotActor, seed=3)  # seeded bots: the original is reproducible too
        return LeagueVecEnv(3, sample_opponent=league_opponent, resolve=resolve, seed=1, **SHORT)


KINDS = {
    "single": Single(),
    "parallel": Parallel(),
    "vector": Vector(opponent="scripted"),
    "vector-same-step": Vector(opponent="random", autoreset_mode="same_step"),
    "vector-self-play": Vector(mode="self_play", mirror=True, delay=2),
    "sb3": SB3(),
    "league": League(),
}


@pytest.mark.parametrize("when", ["before reset", "after reset"])
@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_copy_plays_exactly_as_the_original(kind, how, when):
    spec = KINDS[kind]
    original = spec.make()
    if when == "after reset":
        first = spec.reset(original, 5)
        twin = COPIES[how](original)
    else:
        twin = COPIES[how](original)
        first = spec.reset(original, 5)
        assert_same(spec.reset(twin, 5), first, "reset")
    rng = np.random.default_rng(0)
    ended = 0
    for t in range(STEPS):
        action = spec.actions(original, rng)
        out, after = spec.step(original, action)
        twin_out, twin_after = spec.step(twin, action)
        assert_same(out, twin_out, f"step {t}")
        assert_same(after, twin_after, f"reset after step {t}")
        ended += int(np.sum(out[2]) if not isinstance(out[2], dict) else all(out[2].values()))
    assert ended > 0, "no game ended: the copies' resets were not compared"
    if first is not None:
        assert not np.array_equal(np.asarray(first[0] if isinstance(first, tuple) else first), 0)
    print(f"{kind}: {how} {when}: {STEPS} steps identical, {ended} game ends")
