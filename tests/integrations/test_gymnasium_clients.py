"""Gymnasium's own wrappers and vector wrappers on ``gym.make`` / ``gym.make_vec`` (native, sync, async)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import (
    FlattenObservation,
    FrameStackObservation,
    NormalizeObservation,
    NormalizeReward,
    RecordEpisodeStatistics,
    RescaleObservation,
    vector as vw,
)

import melee_envs  # noqa: F401  (registers the ids)

SHORT = {"stocks": 1, "time_limit_minutes": 0.02, "opponent": "random"}  # 72 frames: episodes end quickly


def _play(env, steps: int) -> list[dict]:
    env.reset(seed=0)
    env.action_space.seed(0)
    ends = []
    for _ in range(steps):
        obs, _, term, trunc, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        if term or trunc:
            ends.append(info)
            env.reset()
    return ends


def test_record_episode_statistics_and_observation_wrappers_on_gym_make():
    env = gym.make("Melee-v0", **SHORT)
    env = RescaleObservation(env, -1.0, 1.0)  # needs finite bounds
    env = NormalizeObservation(FlattenObservation(env))
    env = NormalizeReward(RecordEpisodeStatistics(env))
    ends = _play(env, 300)
    assert len(ends) >= 3
    for info in ends:  # Gymnasium's record and the game's statistics side by side
        assert set(info["episode"]) == {"r", "l", "t"} and info["episode"]["l"] == 72
        assert info["melee"]["frames"] == 72
    stacked = FrameStackObservation(gym.make("MeleeDiscrete-v0", **SHORT), 4)
    assert stacked.observation_space.shape == (4, 1035)
    _play(stacked, 100)
    print(
        "gym.make + RescaleObservation/Flatten/NormalizeObservation/NormalizeReward/RecordEpisodeStatistics: "
        f"{len(ends)} episodes"
    )


@pytest.mark.parametrize("mode", ["native", "sync", "async"])
def test_record_episode_statistics_on_make_vec(mode):
    if mode == "native":
        envs = vw.RecordEpisodeStatistics(gym.make_vec("Melee-v0", num_envs=4, **SHORT))
    else:
        envs = gym.make_vec(
            "Melee-v0", num_envs=2, vectorization_mode=mode, wrappers=[RecordEpisodeStatistics], **SHORT
        )
    envs.reset(seed=0)
    envs.action_space.seed(0)
    episodes = 0
    for _ in range(200):
        _, _, term, trunc, info = envs.step(envs.action_space.sample())
        if "episode" in info:
            done = info["_episode"]
            assert (done == (term | trunc)).all()
            assert (info["episode"]["l"][done] == 72).all()
            assert (info["melee"]["frames"][done] == 72).all() and (info["_melee"] == done).all()
            episodes += int(done.sum())
    envs.close()
    assert episodes >= 4
    print(f"make_vec({mode}) + RecordEpisodeStatistics: {episodes} episodes recorded")


def test_vector_wrappers_accept_the_native_vector_env(tmp_path):
    envs = gym.make_vec("Melee-v0", num_envs=3, render_mode="rgb_array", **SHORT)
    envs = vw.DtypeObservation(envs, np.float64)
    envs = vw.RescaleObservation(envs, 0.0, 1.0)
    envs = vw.NormalizeObservation(vw.FlattenObservation(envs))
    envs = vw.NormalizeReward(vw.RecordEpisodeStatistics(envs))
    envs = vw.RecordVideo(envs, str(tmp_path), episode_trigger=lambda e: e == 0, video_length=30)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 1035) and np.isfinite(obs).all()
    for _ in range(40):
        envs.step(envs.action_space.sample())
    envs.close()
    assert list(tmp_path.glob("*.mp4")), "RecordVideo wrote no video"
    print("native vector env through DtypeObservation/RescaleObservation/Flatten/Normalize*/RecordVideo")


def test_gymnasium_spellings_and_errors():
    env = gym.make("Melee-v0", frameskip=4)  # the ALE / Gymnasium spelling
    assert env.unwrapped.frame_skip == 4 and env.metadata["render_fps"] == 15
    vec = gym.make_vec("Melee-v0", num_envs=2, frameskip=2)
    assert vec.frame_skip == 2 and vec.metadata["render_fps"] == 30
    with pytest.raises(TypeError, match="disagree"):
        gym.make("Melee-v0", frameskip=4, frame_skip=2)
