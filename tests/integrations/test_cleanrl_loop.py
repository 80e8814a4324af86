"""A CleanRL-style single-file PPO loop over ``gym.make_vec("MeleeDiscrete-v0")``, written as
CleanRL writes it (vector env + RecordEpisodeStatistics, episode returns read from ``info``)."""

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import melee_envs  # noqa: F401  (registers the ids)


def test_cleanrl_style_ppo_loop():
    torch.manual_seed(0)
    num_envs, num_steps, iterations = 8, 32, 6
    envs = gym.make_vec("MeleeDiscrete-v0", num_envs=num_envs, stocks=1, time_limit_minutes=0.05, frame_skip=2)
    envs = gym.wrappers.vector.RecordEpisodeStatistics(envs)
    obs_dim, n_actions = envs.single_observation_space.shape[0], envs.single_action_space.n
    agent = nn.ModuleDict(
        {
            "actor": nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, n_actions)),
            "critic": nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 1)),
        }
    )
    optimizer = torch.optim.Adam(agent.parameters(), lr=2.5e-4)
    obs_buf = torch.zeros((num_steps, num_envs, obs_dim))
    act_buf, logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((num_steps, num_envs)) for _ in range(5))
    next_obs, _ = envs.reset(seed=0)
    next_obs, next_done = torch.tensor(next_obs), torch.zeros(num_envs)
    returns_seen = []
    for _ in range(iterations):
        for step in range(num_steps):
            obs_buf[step], done_buf[step] = next_obs, next_done
            with torch.no_grad():
                dist = Categorical(logits=agent["actor"](next_obs))
                action = dist.sample()
                logp_buf[step], val_buf[step] = dist.log_prob(action), agent["critic"](next_obs).flatten()
            act_buf[step] = action
            next_obs, reward, term, trunc, infos = envs.step(action.numpy())
            rew_buf[step] = torch.tensor(reward)
            next_obs, next_done = torch.tensor(next_obs), torch.tensor(np.logical_or(term, trunc), dtype=torch.float32)
            if "episode" in infos:
                returns_seen += infos["episode"]["r"][infos["_episode"]].tolist()
        with torch.no_grad():  # GAE
            advantages, last = torch.zeros_like(rew_buf), 0.0
            next_value = agent["critic"](next_obs).flatten()
            for t in reversed(range(num_steps)):
                nonterminal = 1.0 - (next_done if t == num_steps - 1 else done_buf[t + 1])
                nxt = next_value if t == num_steps - 1 else val_buf[t + 1]
                delta = rew_buf[t] + 0.99 * nxt * nonterminal - val_buf[t]
                advantages[t] = last = delta + 0.99 * 0.95 * nonterminal * last
            targets = advantages + val_buf
        dist = Categorical(logits=agent["actor"](obs_buf.reshape(-1, obs_dim)))
        ratio = (dist.log_prob(act_buf.reshape(-1)) - logp_buf.reshape(-1)).exp()
        adv = advantages.reshape(-1)
        pg = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv).mean()
        v = (agent["critic"](obs_buf.reshape(-1, obs_dim)).flatten() - targets.reshape(-1)).square().mean()
        optimizer.zero_grad()
        (pg + 0.5 * v - 0.01 * dist.entropy().mean()).backward()
        optimizer.step()
    envs.close()
    assert len(returns_seen) >= num_envs and all(np.isfinite(returns_seen))
    print(f"CleanRL-style PPO: {iterations * num_steps * num_envs} steps, {len(returns_seen)} episode returns")
