import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import melee_envs  # noqa: F401
from exphil_agents.agent import Agent
from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, frame_window
from exphil_agents.tasks import CueRecall
from melee_envs.obs import ObsConfig

ENV = {"opponent": "idle", "render_mode": None, "stocks": 1, "time_limit_minutes": 0.1}
SMALL = {
    "mlp": {"hidden": 32},
    "lstm": {"hidden": 32},
    "gru": {"hidden": 32},
    "mamba": {"d_model": 32, "layers": 1, "d_state": 8},
    "attention": {"d_model": 32, "layers": 1, "window": 4},
    "jamba": {"d_model": 32, "layers": 2, "attention_every": 2, "window": 4, "d_state": 8},
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_backbone_trains_with_ppo_and_saves(name, tmp_path):
    venv = make_vec_env(
        "Melee-v0", n_envs=2, seed=0, env_kwargs=ENV, wrapper_class=frame_window, wrapper_kwargs={"window": 4}
    )
    kwargs = {"backbone": name, "backbone_config": SMALL[name]}
    model = PPO(BackbonePolicy, venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu", policy_kwargs=kwargs)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(64)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True))
    model.save(tmp_path / "model.zip")
    loaded = PPO.load(tmp_path / "model.zip", device="cpu")
    assert loaded.policy.backbone_name == name
    obs = venv.reset()
    for a, b in zip(model.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        t = torch.as_tensor(obs)
        assert torch.equal(
            model.policy.get_distribution(t).distribution[0].logits,
            loaded.policy.get_distribution(t).distribution[0].logits,
        )
    # The live-play agent steps the same network one frame at a time.
    agent = Agent.from_sb3(loaded, deterministic=True)
    agent.warmup()
    assert agent.act(obs[0, -1]).shape == (13,)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_ppo_with_gru_and_lstm(cell, tmp_path):
    venv = make_vec_env("Melee-v0", n_envs=2, seed=0, env_kwargs=ENV)
    kwargs = {"cell": cell, "lstm_hidden_size": 16}
    model = RecurrentPPO(
        RecurrentBackbonePolicy, venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu", policy_kwargs=kwargs
    )
    model.learn(64)
    # The recurrent layer is the package's backbone of that cell (what BC trains).
    assert model.policy.lstm_actor.name == cell and type(model.policy.lstm_actor.rnn).__name__ == cell.upper()
    # RecurrentPPO's buffer holds (h, c) per layer; a GRU travels as (h, zeros).
    assert model._last_lstm_states.pi[0].shape == (1, 2, 16)
    if cell == "gru":
        assert torch.count_nonzero(model._last_lstm_states.pi[1]) == 0
    model.save(tmp_path / "r.zip")
    loaded = RecurrentPPO.load(tmp_path / "r.zip", device="cpu")
    obs = venv.reset()
    a1, s1 = model.predict(obs, deterministic=True)
    a2, s2 = loaded.predict(obs, deterministic=True)
    assert np.array_equal(a1, a2) and np.allclose(s1[0], s2[0])
    agent = Agent.from_sb3(loaded, deterministic=True)
    assert np.array_equal(agent.act(obs[0]), a1[0])  # same first decision as the model, one frame in


def test_wrong_observation_layout_is_named():
    env = frame_window(gym.make("Melee-v0", **ENV), 2)
    kwargs = {"backbone": "mlp", "obs_config": dataclasses.asdict(ObsConfig.learned())}
    with pytest.raises(ValueError, match="observations have 1035 values per frame but obs_config .* makes 121"):
        PPO(BackbonePolicy, env, device="cpu", policy_kwargs=kwargs)
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'gru'"):
        RecurrentPPO(RecurrentBackbonePolicy, gym.make("Melee-v0", **ENV), device="cpu", policy_kwargs={"cell": "rnn"})


@pytest.mark.slow
def test_memory_task_needs_memory():
    cfg = ObsConfig.learned()
    obs_kw = dataclasses.asdict(cfg)

    def make():
        return CueRecall(delay=2, obs_config=cfg)

    common = {"n_steps": 64, "batch_size": 128, "learning_rate": 1e-3, "seed": 0, "device": "cpu"}
    frame = make_vec_env(make, n_envs=8, seed=0, wrapper_class=frame_window, wrapper_kwargs={"window": 1})
    mlp = PPO(
        BackbonePolicy,
        frame,
        policy_kwargs={"backbone": "mlp", "backbone_config": {"hidden": 32}, "obs_config": obs_kw},
        **common,
    )
    mlp.learn(16_000)
    windowed = make_vec_env(make, n_envs=8, seed=0, wrapper_class=frame_window, wrapper_kwargs={"window": 4})
    attention = PPO(
        BackbonePolicy,
        windowed,
        policy_kwargs={
            "backbone": "attention",
            "backbone_config": {"d_model": 32, "layers": 1, "window": 4},
            "obs_config": obs_kw,
        },
        **common,
    )
    attention.learn(16_000)
    plain = make_vec_env(make, n_envs=8, seed=0)
    gru = RecurrentPPO(
        RecurrentBackbonePolicy,
        plain,
        policy_kwargs={"cell": "gru", "lstm_hidden_size": 32, "obs_config": obs_kw, "net_arch": []},
        **common,
    )
    gru.learn(16_000)
    scores = {
        name: evaluate_policy(model, env, n_eval_episodes=50, deterministic=True)[0]
        for name, model, env in (("mlp", mlp, frame), ("attention", attention, windowed), ("gru", gru, plain))
    }
    assert scores["gru"] > 0.9 and scores["attention"] > 0.9, scores
    assert abs(scores["mlp"]) < 0.5, scores  # one frame at a time: a coin toss
