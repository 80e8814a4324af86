import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import melee_envs
from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.data import actions
from melee_envs.opponents import make_opponent


@pytest.mark.parametrize("env_id", ["Melee-v0", "MeleeDiscrete-v0"])
def test_gymnasium_and_sb3_checkers(env_id):
    check_env(gym.make(env_id).unwrapped)
    sb3_check_env(gym.make(env_id))


def test_pettingzoo_checkers():
    parallel_api_test(melee_envs.parallel_env(), num_cycles=300)
    parallel_seed_test(melee_envs.parallel_env)


def _rollout(seed: int, steps: int = 600) -> list:
    env = gym.make("Melee-v0", opponent="random", stage="random")
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, r, term, trunc, _ = env.step(env.action_space.sample())
        out.append(np.append(obs, r))
        if term or trunc:
            obs, _ = env.reset()
    return out


def test_same_seed_same_trajectory():
    a, b, c = _rollout(3), _rollout(3), _rollout(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize(
    "chars,stage,min_stocks_taken,min_hits", [(("fox", "fox"), "fd", 4, 8), (("fox", "marth"), "bf", 1, 3)]
)
def test_scripted_bot_beats_idle_through_knockback(chars, stage, min_stocks_taken, min_hits):
    be = MockBackend(1, MockConfig(characters=chars, stage=stage))
    state = be.reset(0)
    bot, idle = make_opponent("scripted", be.codec), make_opponent("idle", be.codec)
    acts = np.zeros((1, 2, 13), np.int64)
    deaths, hits = [], 0
    prev = state.copy()
    for _ in range(8 * 60 * 60):
        acts[:, 0], acts[:, 1] = bot(state, 0), idle(state, 1)
        state = be.step(acts)
        if state.players.percent[0, 1] > prev.players.percent[0, 1]:
            hits += 1
            assert state.players.hitstun[0, 1] > 0
        if state.players.stocks[0, 1] < prev.players.stocks[0, 1]:
            # A stock is lost only by crossing a blast zone after being launched.
            assert state.players.action[0, 1] in (
                actions.A.DEAD_LEFT,
                actions.A.DEAD_RIGHT,
                actions.A.DEAD_UP,
                actions.A.DEAD_DOWN,
            )
            assert prev.players.percent[0, 1] > 30
            deaths.append(float(prev.players.percent[0, 1]))
        prev = state.copy()
        if be.done[0]:
            break
    assert be.done[0] and be.winner[0] == 0
    assert state.players.stocks[0, 0] == 4
    assert len(deaths) == 4 - state.players.stocks[0, 1] >= min_stocks_taken and hits >= min_hits


@pytest.mark.parametrize("stage", ["fd", "bf"])
def test_mirror_matches_give_no_port_an_advantage(stage):
    """The same deterministic bot on both ports of a symmetric stage, as the same character, plays a
    mirror image to the end: a draw. Any port bias (hit order, rounding in a mirrored launch) breaks
    the mirror and hands one port the game."""
    from melee_envs.data.characters import playable
    from melee_envs.opponents import play_bots

    lopsided = {}
    for name in playable():
        if name not in ("POPO", "NANA"):  # Ice Climbers warn that Nana is not simulated
            result = play_bots("scripted", "scripted", 1, characters=(name, name), stage=stage, time_limit_minutes=2)
            if result["draws"] != 1:
                lopsided[name] = result["wins"]
    assert not lopsided


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown character 'waluigi'"):
        gym.make("Melee-v0", characters=("waluigi", "fox"))
    with pytest.raises(ValueError, match="unknown stage 'hyrule'"):
        gym.make("Melee-v0", stage="hyrule")
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['stokcs'\]") as err:
        gym.make("Melee-v0", stokcs=3)
    for valid in ("opponent", "frame_skip", "render_mode", "delay", "stocks", "start_spread"):
        assert repr(valid) in str(err.value)  # the message names every valid argument
    with pytest.raises(ValueError, match="unknown opponent"):
        gym.make("Melee-v0", opponent="cpu9")
    with pytest.raises(ValueError, match="frame_skip must be an integer >= 1; got 0"):
        gym.make("Melee-v0", frame_skip=0)
    env = gym.make("Melee-v0")
    env.reset(seed=0)
    bad = env.action_space.sample()
    bad[12] = 9
    with pytest.raises(ValueError, match=r"component 12 \(shoulder\) = 9"):
        env.step(bad)
    denv = gym.make("MeleeDiscrete-v0")
    denv.reset(seed=0)
    with pytest.raises(ValueError, match="outside Discrete"):
        denv.step(99)


def test_user_opponent_callable_and_render():
    codec = melee_envs.ControllerCodec()
    env = gym.make(
        "Melee-v0",
        opponent=lambda state, player: codec.noop(),
        render_mode="ansi",
        characters=("puff", "ics"),
        stage="ys",
    )
    env.reset(seed=1)
    env.step(env.action_space.sample())
    text = env.render()
    assert "Jigglypuff" in text and "Popo" in text and "frame 1" in text


def test_episode_stats_at_end():
    env = gym.make("Melee-v0", opponent="idle", stocks=1, time_limit_minutes=0.05)
    env.reset(seed=0)
    info, done = {}, False
    while not done:
        _, _, term, trunc, info = env.step(env.unwrapped.game.codec.noop())
        done = term or trunc
    assert info["melee"]["frames"] == 180 and info["melee"]["draw"] and "episode" not in info


def test_randomised_starts_follow_the_seed():
    def start(seed, stage="random", **kwargs):
        env = gym.make("Melee-v0", opponent="idle", stage=stage, **kwargs).unwrapped
        env.reset(seed=seed)
        p = env.game.state.players
        return float(p.x[0, 0]), float(p.x[0, 1]), float(p.percent[0, 0]), int(env.game.state.stage[0])

    assert len({start(s, stage="fd") for s in range(20)}) == 1  # Melee's fixed start: seeds change nothing here
    spread = [start(s, start_spread=0.4, start_percent=80) for s in range(20)]
    assert len(set(spread)) == 20 and spread == [start(s, start_spread=0.4, start_percent=80) for s in range(20)]
    assert all(0 <= pct <= 80 for _, _, pct, _ in spread) and len({st for *_, st in spread}) > 2
    env = gym.make("Melee-v0", opponent="idle", start_spread=0.45).unwrapped
    for seed in range(30):  # players face each other whatever side they spawned on
        env.reset(seed=seed)
        p = env.game.state.players
        left = int(np.argmin(p.x[0]))
        assert p.facing[0, left] == 1 and p.facing[0, 1 - left] == -1
    with pytest.raises(ValueError, match="start_spread"):
        gym.make("Melee-v0", start_spread=0.9)


def test_vector_env_errors_name_every_argument():
    from melee_envs.envs.vector import MeleeVectorEnv

    with pytest.raises(TypeError, match="unknown argument") as err:
        MeleeVectorEnv(2, autorest_mode="same_step")
    for valid in ("autoreset_mode", "threads", "frame_skip", "delay", "opponent", "stage", "start_percent"):
        assert repr(valid) in str(err.value)
    with pytest.raises(ValueError, match="threads must be an integer"):
        MeleeVectorEnv(2, threads=0)
