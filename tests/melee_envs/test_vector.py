"""The batched vector env: Gymnasium's vector contract, equality with single envs, SB3, options."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import melee_envs
from melee_envs.envs.vector import MeleeVectorEnv, sb3_vec_env
from melee_envs.obs import ObsConfig
from melee_envs.opponents import play_bots

SHORT = {"stocks": 1, "time_limit_minutes": 0.25}  # games end often: auto-reset is exercised


def test_make_vec_uses_the_native_vector_env():
    env = gym.make_vec("Melee-v0", num_envs=8)
    assert isinstance(env, MeleeVectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP == env.autoreset_mode  # Gymnasium's default
    obs, info = env.reset(seed=0)
    assert obs.shape == (8, env.single_observation_space.shape[0])
    assert env.observation_space.contains(obs)
    obs, rew, term, trunc, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    assert rew.dtype == np.float32 and rew.shape == (8,)
    assert term.dtype == np.bool_ and trunc.dtype == np.bool_
    discrete = gym.make_vec("MeleeDiscrete-v0", num_envs=4)
    assert discrete.single_action_space == gym.spaces.Discrete(28)
    discrete.reset(seed=0)
    discrete.step(discrete.action_space.sample())


def test_same_seed_same_trajectory_and_copy_semantics():
    runs = []
    for _ in range(2):
        env = MeleeVectorEnv(4, opponent="scripted", stage="random", **SHORT)
        env.action_space.seed(3)
        obs, _ = env.reset(seed=7)
        trace = [obs]
        for _ in range(50):
            trace.append(env.step(env.action_space.sample())[0])
        runs.append(np.stack(trace))
    np.testing.assert_array_equal(runs[0], runs[1])
    env = MeleeVectorEnv(2, copy=False)
    first, _ = env.reset(seed=0)
    second = env.step(np.tile(env.codec.noop(), (2, 1)))[0]
    assert first is second  # the buffer itself, overwritten in place


def _single_envs(n, **kwargs):
    envs = [gym.make("Melee-v0", opponent="idle", **kwargs).unwrapped for _ in range(n)]
    obs = [e.reset(seed=i)[0] for i, e in enumerate(envs)]
    return envs, np.stack(obs)


@pytest.mark.parametrize(
    ("frame_skip", "delay", "autoreset"), [(1, 0, "same_step"), (3, 0, "next_step"), (2, 2, "next_step")]
)
def test_step_for_step_equal_to_separate_single_envs(frame_skip, delay, autoreset):
    n = 6
    vec = MeleeVectorEnv(
        n, opponent="idle", stage="bf", frame_skip=frame_skip, delay=delay, autoreset_mode=autoreset, **SHORT
    )
    vobs, _ = vec.reset(seed=0)
    singles, sobs = _single_envs(n, stage="bf", frame_skip=frame_skip, delay=delay, **SHORT)
    np.testing.assert_array_equal(vobs, sobs)
    rng = np.random.default_rng(0)
    ended_seen = 0
    restart = np.zeros(n, bool)  # NEXT_STEP: the row restarts on this step
    for _ in range(1200):
        actions = rng.integers(0, vec.codec.nvec, size=(n, 13))
        vobs, vrew, vterm, vtrunc, info = vec.step(actions)
        for i, env in enumerate(singles):
            if restart[i]:  # the action is ignored; the row holds the new game's first observation
                obs, _ = env.reset(seed=1000 + i)
                assert vrew[i] == 0 and not vterm[i] and not vtrunc[i]
                np.testing.assert_array_equal(vobs[i], obs)
                restart[i] = False
                continue
            obs, rew, term, trunc, sinfo = env.step(actions[i])
            assert rew == pytest.approx(vrew[i], abs=1e-6)
            assert term == vterm[i]
            if term or trunc:
                ended_seen += 1
                stats = info["final_info"]["melee"] if autoreset == "same_step" else info["melee"]
                assert {k: v[i].item() for k, v in stats.items() if not k.startswith("_")} == pytest.approx(
                    sinfo["melee"]
                )
                if autoreset == "same_step":
                    np.testing.assert_array_equal(info["final_obs"][i], obs)
                    obs, _ = env.reset(seed=1000 + i)
                else:
                    restart[i] = True
            np.testing.assert_array_equal(vobs[i], obs)
    assert ended_seen >= n  # every game ended at least once (timer of 15 s)


def test_disabled_autoreset_waits_for_a_reset_mask():
    env = MeleeVectorEnv(3, opponent="idle", autoreset_mode=AutoresetMode.DISABLED, **SHORT)
    obs, _ = env.reset(seed=0)
    noop = np.tile(env.codec.noop(), (3, 1))
    for _ in range(2000):
        obs, rew, term, trunc, info = env.step(noop)
        if term.any():
            break
    assert term.all() and info["_melee"].all()  # three idle games: all end by the timer together
    last = obs.copy()
    obs, rew, term2, _, info = env.step(noop)  # finished games wait
    assert term2.all() and not info and (rew == 0).all()
    np.testing.assert_array_equal(obs, last)
    obs, _ = env.reset(options={"reset_mask": np.array([True, False, True])})
    obs, rew, term, _, _ = env.step(noop)
    assert term.tolist() == [False, True, False]
    assert env.backend.state.frame.tolist()[::2] == [1, 1]
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.ones(2, bool)})


def test_autoreset_modes_are_one_kernel_call_and_named():
    with pytest.raises(ValueError, match="autoreset_mode"):
        MeleeVectorEnv(2, autoreset_mode="sometimes")
    env = gym.make_vec("Melee-v0", num_envs=2, autoreset_mode="same_step")
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    with pytest.raises(ValueError, match="SAME_STEP"):
        sb3_vec_env(2, autoreset_mode="next_step")


def test_self_play_rows_match_the_parallel_env():
    games = 3
    vec = MeleeVectorEnv(2 * games, mode="self_play", stage="fd", **SHORT)
    vobs, _ = vec.reset(seed=0)
    pz = [melee_envs.parallel_env(stage="fd", **SHORT) for _ in range(games)]
    for g, env in enumerate(pz):
        obs, _ = env.reset(seed=g)
        np.testing.assert_array_equal(vobs[2 * g], obs["port_1"])
        np.testing.assert_array_equal(vobs[2 * g + 1], obs["port_2"])
    rng = np.random.default_rng(1)
    for _ in range(300):
        actions = rng.integers(0, vec.codec.nvec, size=(2 * games, 13))
        vobs, vrew, vterm, _, _ = vec.step(actions)
        for g, env in enumerate(pz):
            if not env.agents:  # next-step auto-reset: the vector env starts the game, ignoring the actions
                obs, _ = env.reset(seed=g)
                rew, term = {"port_1": 0.0}, {"port_1": False}
            else:
                obs, rew, term, _, _ = env.step({"port_1": actions[2 * g], "port_2": actions[2 * g + 1]})
            if not term["port_1"]:
                np.testing.assert_array_equal(vobs[2 * g], obs["port_1"])
                np.testing.assert_array_equal(vobs[2 * g + 1], obs["port_2"])
            assert vrew[2 * g] == pytest.approx(rew["port_1"], abs=1e-6)
            assert vrew[2 * g] == pytest.approx(-vrew[2 * g + 1], abs=1e-6)  # zero-sum


def test_frame_skip_and_delay():
    env = MeleeVectorEnv(2, opponent="idle", frame_skip=4)
    env.reset(seed=0)
    env.step(np.tile(env.codec.noop(), (2, 1)))
    assert (env.backend.state.frame == 4).all()
    env = MeleeVectorEnv(1, opponent="idle", delay=2)
    env.reset(seed=0)
    sent = []
    for k in range(6):
        a = env.codec.noop().copy()
        a[8] = 4 + k  # a different main-stick x each step
        sent.append(a)
        env.step(a[None])
        held = env.backend.state.players.controller.main_x[0, 0]
        expected = env.codec.stick_centres[sent[k - 2][8]] if k >= 2 else 0.5
        assert held == pytest.approx(expected)


def test_final_info_and_rewards_when_games_end():
    env = MeleeVectorEnv(4, opponent="scripted", characters=("fox", "fox"), seed=0, **SHORT)
    env.reset(seed=0)
    noop = np.tile(env.codec.noop(), (4, 1))
    finals = 0
    for _ in range(1000):
        _, rew, term, trunc, info = env.step(noop)
        if info:
            ended = info["_melee"]
            assert (ended == (term | trunc)).all()
            assert (info["melee"]["frames"][ended] > 0).all()
            assert "episode" not in info  # left to Gymnasium's RecordEpisodeStatistics
            finals += int(ended.sum())
    assert finals >= 4


def test_sb3_vec_env_trains_ppo():
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    env = VecMonitor(
        sb3_vec_env(8, opponent="idle", action_mode="discrete", obs=ObsConfig.learned(), time_limit_minutes=0.02)
    )
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=128, n_epochs=1, verbose=0, seed=0)
    model.learn(1024)
    obs = env.reset()
    obs, rewards, dones, infos = env.step(np.zeros(8, np.int64))
    assert obs.shape == (8, ObsConfig.learned() and env.observation_space.shape[0])
    assert len(infos) == 8
    ended = [i for i in model.ep_info_buffer]
    assert ended and set(ended[0]) >= {"r", "l", "t"}  # VecMonitor's episode records, no clash


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": 3, "mode": "self_play"}, "even"),
        ({"num_envs": 2, "mode": "league"}, "mode"),
        ({"num_envs": 2, "frame_skip": 0}, "frame_skip"),
        ({"num_envs": 2, "delay": -1}, "delay"),
        ({"num_envs": 2, "stage": "hyrule"}, "hyrule"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MeleeVectorEnv(**kwargs)


def test_bad_actions_name_the_problem():
    env = MeleeVectorEnv(2, opponent="idle")
    env.reset(seed=0)
    good = np.tile(env.codec.noop(), (2, 1))
    with pytest.raises(ValueError, match=r"shape \(2, 13\)"):
        env.step(good[0])
    with pytest.raises(ValueError, match="nan"):
        bad = good.astype(float)
        bad[1, 8] = np.nan
        env.step(bad)
    with pytest.raises(ValueError, match="integers"):
        env.step(good + 0.5)
    with pytest.raises(ValueError, match=r"row 1, component 8 \(main_x\) = 17"):
        bad = good.copy()
        bad[1, 8] = 17
        env.step(bad)
    with pytest.raises(ValueError, match="dtype"):
        env.step(good.astype(str))
    with pytest.raises(RuntimeError, match="reset"):
        MeleeVectorEnv(1).step(good[:1])


def test_scripted_bot_beats_the_jumper_over_100_seeded_games():
    result = play_bots("scripted", "jumper", 100, seed=0, stocks=2, time_limit_minutes=2, stage="bf")
    assert result["wins"][0] >= 80, result["wins"]
    swapped = play_bots("jumper", "scripted", 100, seed=1, stocks=2, time_limit_minutes=2, stage="fd")
    assert swapped["wins"][1] >= 80, swapped["wins"]


def test_rgb_array_rendering_and_record_video(tmp_path):
    env = gym.make("Melee-v0", render_mode="rgb_array", stage="bf")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (400, 640, 3)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 4  # stage, players, text drawn
    vec = MeleeVectorEnv(2, render_mode="rgb_array")
    vec.reset(seed=0)
    frames = vec.render()  # Gymnasium's vector convention: one frame per env
    assert len(frames) == 2 and all(f.shape == (400, 640, 3) for f in frames)
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    videos = tmp_path / "videos"
    wrapped = RecordVideo(gym.make("Melee-v0", render_mode="rgb_array"), str(videos), episode_trigger=lambda e: True)
    wrapped.reset(seed=0)
    for _ in range(30):
        wrapped.step(wrapped.action_space.sample())
    wrapped.close()
    assert list(videos.glob("*.mp4"))


def test_mirrored_self_play_gives_both_ports_the_same_view_of_a_symmetric_game():
    env = MeleeVectorEnv(2, mode="self_play", mirror=True, stage="fd", characters=("marth", "marth"))
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[0], obs[1])  # both start "on the left, facing right"
    plain = MeleeVectorEnv(2, mode="self_play", stage="fd", characters=("marth", "marth"))
    pobs, _ = plain.reset(seed=0)
    x = plain.layout["player0.x"]
    assert pobs[1, x] == -pobs[0, x] and obs[1, x] == obs[0, x]
    rng = np.random.default_rng(0)
    for _ in range(120):  # the same action on both rows keeps the game mirror-symmetric
        a = rng.integers(0, env.codec.nvec)
        a[:8] = 0  # sticks only: no attacks, so nothing breaks the symmetry by ordering
        obs, rew, *_ = env.step(np.stack([a, a]))
        np.testing.assert_allclose(obs[0], obs[1], atol=1e-5)
    xs = env.backend.state.players.x[0]
    assert xs[0] == pytest.approx(-xs[1], abs=1e-4)
    with pytest.raises(ValueError, match="self_play"):
        MeleeVectorEnv(2, mirror=True)
