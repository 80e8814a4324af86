"""Stable-Baselines3 and sb3-contrib on the registered ids, as their docs use them."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv, VecNormalize

import melee_envs  # noqa: F401  (registers the ids)

SHORT = {"stocks": 1, "time_limit_minutes": 0.02, "opponent": "random", "frame_skip": 2}


def _episodes(model) -> list[dict]:
    return list(model.ep_info_buffer)


def test_make_vec_env_subproc_and_vecnormalize():
    # "module:id": the worker processes (forkserver) import melee_envs, which registers the ids
    env = make_vec_env("melee_envs:Melee-v0", n_envs=2, vec_env_cls=SubprocVecEnv, env_kwargs=SHORT, seed=0)
    env = VecNormalize(env)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(512)
    episodes = _episodes(model)
    assert episodes and set(episodes[0]) >= {"r", "l", "t"}  # make_vec_env's Monitor, no clash
    env.close()
    print(f"make_vec_env(SubprocVecEnv) + VecNormalize + PPO: {len(episodes)} episodes")


@pytest.mark.parametrize("algo", ["RecurrentPPO", "QRDQN", "MaskablePPO"])
def test_sb3_contrib_on_melee_discrete(algo):
    import sb3_contrib

    env = make_vec_env("MeleeDiscrete-v0", n_envs=2, env_kwargs=SHORT, seed=0)
    kwargs = {
        "RecurrentPPO": {"policy": "MlpLstmPolicy", "n_steps": 64, "batch_size": 64, "n_epochs": 1},
        "QRDQN": {"policy": "MlpPolicy", "learning_starts": 64, "buffer_size": 2000, "train_freq": 4},
        "MaskablePPO": {"policy": "MlpPolicy", "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    }[algo]
    model = getattr(sb3_contrib, algo)(env=env, seed=0, **kwargs)
    model.learn(512)
    obs = env.reset()
    action = model.predict(obs)[0] if algo != "MaskablePPO" else model.predict(obs, action_masks=np.ones((2, 28)))[0]
    assert action.shape == (2,)
    assert _episodes(model)
    print(f"{algo} on MeleeDiscrete-v0: 512 steps, {len(_episodes(model))} episodes")


def test_maskable_ppo_reads_the_envs_action_masks():
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks

    single = gym.make("Melee-v0", **SHORT)
    assert single.unwrapped.action_masks().shape == (int(np.sum(single.action_space.nvec)),)
    from melee_envs.envs.vector import sb3_vec_env

    vec = sb3_vec_env(4, action_mode="discrete", **SHORT)
    masks = get_action_masks(vec)
    assert masks.shape == (4, 28) and masks.all()
    MaskablePPO("MlpPolicy", vec, n_steps=32, batch_size=64, n_epochs=1, seed=0).learn(256)


def test_ppo_on_the_batched_sb3_view_records_its_games(tmp_path):
    """SB3's batched view restarts games in the same step and skips frames: every game PPO
    finishes on it is written with all its frames."""
    from stable_baselines3.common.vec_env import VecMonitor

    from melee_envs.backends.replay import read_replay
    from melee_envs.envs.vector import sb3_vec_env

    vec = VecMonitor(sb3_vec_env(4, action_mode="discrete", record_replays=tmp_path, **SHORT))
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(512)
    episodes = _episodes(model)
    files = sorted(tmp_path.glob("*.slp"))
    assert episodes and len(files) == len(episodes)  # every finished game (none is truncated here)
    for path in files:
        replay = read_replay(path)
        np.testing.assert_array_equal(replay.state.frame, np.arange(-123, replay.meta.num_frames - 123))
    print(f"PPO on sb3_vec_env(record_replays=...): {len(episodes)} episodes, {len(files)} replays")
