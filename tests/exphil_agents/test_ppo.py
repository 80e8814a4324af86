"""The lean batched PPO loop (exphil_agents.ppo): same maths as SB3, SB3's checkpoints."""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from exphil_agents.ppo import BatchedPPO, PaddedLogits
from melee_envs.controller import DISCRETE_ACTION_NAMES
from melee_envs.envs.vector import sb3_vec_env

GAME = {"stocks": 1, "time_limit_minutes": 0.05, "frame_skip": 4}


def _model(games=8, action_mode="discrete", **env):
    venv = VecMonitor(sb3_vec_env(games, seed=0, action_mode=action_mode, **{**GAME, **env}))
    return PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=2, seed=0, device="cpu")


def test_padded_logits_match_torch_categoricals():
    nvec = [2, 2, 17, 5]
    logits = torch.randn(64, sum(nvec))
    actions = torch.stack([torch.randint(n, (64,)) for n in nvec], -1)
    logp, entropy = PaddedLogits(nvec).log_prob_entropy(logits, actions)
    dists = [torch.distributions.Categorical(logits=lg) for lg in logits.split(nvec, -1)]
    want_logp = sum(d.log_prob(actions[:, k]) for k, d in enumerate(dists))
    want_entropy = sum(d.entropy() for d in dists)
    assert torch.allclose(logp, want_logp, atol=1e-5) and torch.allclose(entropy, want_entropy, atol=1e-5)


def test_sampling_follows_the_softmax():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(20_000, 1)
    draws = PaddedLogits([3]).sampler(logits)[:, 0]
    assert np.allclose(np.bincount(draws, minlength=3) / len(draws), [0.7, 0.2, 0.1], atol=0.015)


def test_learns_saves_and_hands_over_to_sb3(tmp_path):
    model = _model()
    before = [p.detach().clone() for p in model.policy.parameters()]
    seen = []
    BatchedPPO(model).learn(300, seen.append)
    assert model.num_timesteps == 384 and [p.steps for p in seen] == [128, 256, 384]  # whole updates
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    assert seen[-1].games > 0 and 0.0 <= seen[-1].win_rate <= 1.0 and np.isfinite(seen[-1].loss)
    split = seen[-1].timings.split()
    assert abs(split["env"] + split["inference"] + split["learning"] - 1.0) < 1e-9 and split["steps_per_s"] > 0
    model.save(tmp_path / "m.zip")
    loaded = PPO.load(tmp_path / "m.zip", device="cpu")
    obs = np.zeros((3, model.observation_space.shape[0]), np.float32)
    for a, b in zip(model.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert loaded.predict(obs)[0].shape == (3,)
    model.learn(128, reset_num_timesteps=False)  # SB3's own loop carries on from the same model
    assert model.num_timesteps >= 512


def test_callback_stops_and_a_second_learn_continues():
    model = _model(games=4)
    trainer = BatchedPPO(model)
    trainer.learn(10_000, lambda p: False)
    assert model.num_timesteps == 64
    trainer.learn(64)
    assert model.num_timesteps == 128 and trainer.timings.updates == 2


def test_truncated_games_bootstrap_and_multi_discrete_and_self_play():
    for kwargs in ({"max_episode_steps": 5, "action_mode": "multi_discrete"}, {"mode": "self_play"}):
        model = _model(games=4, **kwargs)
        seen = []
        BatchedPPO(model).learn(128, seen.append)
        assert seen[-1].games >= (4 if "max_episode_steps" in kwargs else 0) and np.isfinite(seen[-1].loss)


def test_refuses_what_it_cannot_train():
    from sb3_contrib import RecurrentPPO

    from exphil_agents.policies import RecurrentBackbonePolicy

    venv = sb3_vec_env(2, **GAME)
    with pytest.raises(TypeError, match="feed-forward"):
        BatchedPPO(RecurrentPPO(RecurrentBackbonePolicy, venv, n_steps=16, batch_size=16, device="cpu"))
    import gymnasium as gym

    import melee_envs  # noqa: F401

    other = PPO("MlpPolicy", gym.make("Melee-v0", **GAME), n_steps=16, device="cpu")
    with pytest.raises(TypeError, match="sb3_vec_env"):
        BatchedPPO(other)


def test_a_discrete_policy_plays_as_an_actor(tmp_path):
    from exphil_agents.actors import BotActor, load_actor
    from exphil_agents.league.matches import MatchSetup, play_round
    from melee_envs.settings import GameSettings

    model = _model(games=2)
    assert model.action_space.n == len(DISCRETE_ACTION_NAMES)
    model.frame_skip = 4  # as exphil train records it in the archive
    model.save(tmp_path / "d.zip")
    actor = load_actor(tmp_path / "d.zip")
    assert actor.repeat == 4  # it holds each decision for the frames it was trained to
    setup = MatchSetup(GameSettings(time_limit_minutes=0.05))
    (records,) = play_round([actor, BotActor("idle")], ["d", "idle"], [(0, 1)], 4, 0, setup)
    assert len(records) == 4 and all(r["score"] in (0.0, 0.5, 1.0) for r in records)


def test_frame_windows_in_the_wrapper_and_in_the_loop_agree():
    from exphil_agents.policies import BackbonePolicy, vec_frame_window

    venv = vec_frame_window(sb3_vec_env(2, seed=0, action_mode="discrete", **GAME), 3)
    assert venv.observation_space.shape[0] == 3
    first = venv.reset()
    assert not first[:, :2].any() and first[:, 2].any()  # zeros before the game's first frame
    seen = [first]
    for _ in range(60):
        venv.step_async(np.zeros(2, np.int64))
        obs, _, dones, infos = venv.step_wait()
        if dones.any():
            i = int(np.flatnonzero(dones)[0])
            assert infos[i]["terminal_observation"].shape == obs.shape[1:]
            assert np.array_equal(infos[i]["terminal_observation"][:2], seen[-1][i, 1:])  # the window moved on
            assert not obs[i, :2].any()  # a new game starts a fresh window
            break
        assert np.array_equal(obs[:, :2], seen[-1][:, 1:])
        seen.append(obs)
    else:
        pytest.fail("no game ended")
    model = PPO(BackbonePolicy, venv, policy_kwargs={"backbone": "attention"}, n_steps=16, batch_size=32,
                n_epochs=1, device="cpu")  # fmt: skip
    trainer = BatchedPPO(model)
    assert trainer.window == 3
    window = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    frames = torch.tensor([[100.0, 101.0], [200.0, 201.0]])
    moved = trainer._next(window, frames, np.array([False, True]))
    assert torch.equal(moved[0], torch.cat([window[0, 1:], frames[:1]]))
    assert torch.equal(moved[1], torch.tensor([[0.0, 0.0], [0.0, 0.0], [200.0, 201.0]]))
    seen_progress = []
    trainer.learn(64, seen_progress.append)
    assert model.num_timesteps == 64 and np.isfinite(seen_progress[-1].loss)
