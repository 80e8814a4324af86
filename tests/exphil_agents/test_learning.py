"""Our policies learn in the mock env: a measurable reward increase against an idle opponent.

Untrained policies walk and jump off the stage (reward about -0.3 per 10-second, one-stock
game); a few tens of thousands of steps teach them to stay on and hit (reward near 0 or above).
"""

import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

import melee_envs  # noqa: F401
from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy

ENV = {"opponent": "idle", "render_mode": None, "stocks": 1, "time_limit_minutes": 1 / 6, "stage": "fd"}
COMMON = {"n_steps": 128, "batch_size": 256, "learning_rate": 1e-3, "n_epochs": 4, "seed": 0, "device": "cpu"}


def improvement(model, venv, steps):
    torch.set_num_threads(1)
    before, _ = evaluate_policy(model, venv, n_eval_episodes=48, deterministic=False)
    model.learn(steps)
    after, _ = evaluate_policy(model, venv, n_eval_episodes=48, deterministic=False)
    return before, after


def test_ppo_with_the_mlp_policy_learns():
    venv = make_vec_env("MeleeDiscrete-v0", n_envs=8, seed=0, env_kwargs=ENV)
    policy = {"backbone": "mlp", "backbone_config": {"hidden": 64}}
    before, after = improvement(PPO(BackbonePolicy, venv, policy_kwargs=policy, **COMMON), venv, 50_000)
    assert after - before > 0.2, (before, after)


def test_recurrent_ppo_with_the_gru_policy_learns():
    venv = make_vec_env("MeleeDiscrete-v0", n_envs=8, seed=0, env_kwargs=ENV)
    policy = {"cell": "gru", "lstm_hidden_size": 64}
    before, after = improvement(
        RecurrentPPO(RecurrentBackbonePolicy, venv, policy_kwargs=policy, **COMMON), venv, 50_000
    )
    assert after - before > 0.2, (before, after)
