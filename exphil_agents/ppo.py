"""A lean PPO loop for the batched env, on a stable-baselines3 ``PPO`` model's own policy.

SB3's ``PPO.learn`` is general: it converts every step to and from numpy, builds one torch
``Categorical`` per controller part to sample and again to score each minibatch, and keeps its
buffer in numpy. On the batched Melee env (hundreds of games per call, ~100 k agent-steps/s on
one core) that loop is the bottleneck. :class:`BatchedPPO` runs the same algorithm (clipped
surrogate, GAE, value loss, entropy bonus, gradient clipping, advantage normalisation; SB3's
hyperparameters taken from the model) with:

* the rollout in preallocated torch tensors, one forward pass per step for every game;
* sampling straight from the logits (:class:`~exphil_agents.actors.LogitSampler`'s Gumbel-max),
  log-probabilities and entropies from one padded ``log_softmax`` (no distribution objects);
* truncated games bootstrapped from their last observation, as SB3 does;
* a policy over a frame window (observation space ``(window, F)``, as
  :func:`~exphil_agents.policies.vec_frame_window` gives it) fed from a window kept here,
  zero before each game's first frame.

It trains ``model.policy`` in place and advances ``model.num_timesteps``, so ``model.save`` writes
the usual SB3 archive (loadable by ``PPO.load``, :func:`~exphil_agents.actors.load_actor`,
``exphil tournament``), and ``model.learn`` can carry on with SB3's own loop.

Where the time goes is measured on every update (:attr:`BatchedPPO.timings`: env, inference,
learning) and printed by ``exphil bench train``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from exphil_agents.actors import LogitSampler


@dataclass
class Timings:
    """Seconds spent in each phase, summed over updates."""

    env: float = 0.0
    inference: float = 0.0
    learning: float = 0.0
    steps: int = 0
    updates: int = 0

    @property
    def total(self) -> float:
        return self.env + self.inference + self.learning

    def split(self) -> dict[str, float]:
        """Each phase's share of the time, and the agent-steps per second overall."""
        total = self.total or float("nan")
        return {
            "env": self.env / total,
            "inference": self.inference / total,
            "learning": self.learning / total,
            "steps_per_s": self.steps / total,
        }


@dataclass
class Progress:
    """What :meth:`BatchedPPO.learn` reports to its callback after every update."""

    steps: int
    update: int
    games: int
    """Games finished so far."""
    win_rate: float
    """Share of the games finished in this update that the learner won (nan: none finished)."""
    mean_return: float
    loss: float
    timings: Timings = field(repr=False)


class PaddedLogits:
    """Concatenated ``MultiDiscrete`` logits laid out by the sampler's padding
    (:meth:`LogitSampler.pad`): log-probabilities of chosen actions and entropies for every part
    from one ``log_softmax``."""

    def __init__(self, nvec: Any) -> None:
        self.sampler = LogitSampler(nvec)

    def log_softmax(self, logits: torch.Tensor) -> torch.Tensor:
        return self.sampler.pad(logits).log_softmax(-1)

    @staticmethod
    def _chosen(logp: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)

    def log_prob(self, logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Log-probability of each row's actions (all parts)."""
        return self._chosen(self.log_softmax(logits), actions)

    def log_prob_entropy(self, logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logp = self.log_softmax(logits)
        finite = logp.masked_fill(self.sampler.padding, 0.0)  # padded choices: probability 0, no entropy
        return self._chosen(logp, actions), -(finite.exp() * finite).sum((-1, -2))


def action_widths(space: Any) -> list[int]:
    """Choices per action component: ``[n]`` for ``Discrete(n)``, ``nvec`` for ``MultiDiscrete``."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return [int(space.n)]
    if isinstance(space, spaces.MultiDiscrete):
        return [int(n) for n in space.nvec]
    raise TypeError(f"BatchedPPO needs a Discrete or MultiDiscrete action space; got {space}")


def vector_env_of(model: Any) -> Any:
    """The :class:`~melee_envs.envs.vector.MeleeVectorEnv` under a model's SB3 ``VecEnv``."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = model.get_env()
    while env is not None and not isinstance(env, MeleeVectorEnv):
        env = getattr(env, "venv", None) or getattr(env, "env", None)
    if env is None:
        raise TypeError("BatchedPPO trains on melee_envs.sb3_vec_env(...) (optionally under VecMonitor)")
    return env


class BatchedPPO:
    """Train an SB3 ``PPO`` model on its batched Melee env with a lean loop (module docstring).

    ``model`` must be a ``PPO`` whose env is :func:`melee_envs.envs.vector.sb3_vec_env` (plain
    or under ``VecMonitor`` / :func:`~exphil_agents.policies.vec_frame_window`) and whose policy
    is an ``ActorCriticPolicy`` (the stock ``MlpPolicy``, or
    :class:`~exphil_agents.policies.BackbonePolicy` over one frame or a frame window). Its
    ``n_steps``, ``batch_size``, ``n_epochs``, ``gamma``, ``gae_lambda``, ``clip_range``,
    ``ent_coef``, ``vf_coef``, ``max_grad_norm``, ``normalize_advantage`` and learning-rate
    schedule are used as SB3 uses them.
    """

    def __init__(self, model: Any) -> None:
        from stable_baselines3.common.policies import ActorCriticPolicy

        policy = model.policy
        if not isinstance(policy, ActorCriticPolicy) or getattr(policy, "lstm_actor", None) is not None:
            raise TypeError(f"BatchedPPO trains feed-forward ActorCriticPolicy models; got {type(policy).__name__}")
        self.model = model
        self.env = vector_env_of(model)
        self.policy = policy
        self.logits = PaddedLogits(action_widths(self.env.single_action_space))
        shape = policy.observation_space.shape
        self.window = shape[0] if len(shape) == 2 else 0
        """Frames per observation (0: single frames)."""
        self.timings = Timings()
        self._obs: torch.Tensor | None = None
        self._returns = np.zeros(self.env.num_envs)
        self.games = 0

    # -- network -------------------------------------------------------------------------------

    def _heads(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Action logits and state values for a batch of observations."""
        policy = self.policy
        features = policy.extract_features(obs)
        if policy.share_features_extractor:
            latent_pi, latent_vf = policy.mlp_extractor(features)
        else:
            latent_pi = policy.mlp_extractor.forward_actor(features[0])
            latent_vf = policy.mlp_extractor.forward_critic(features[1])
        return policy.action_net(latent_pi), policy.value_net(latent_vf).squeeze(-1)

    # -- training ------------------------------------------------------------------------------

    def learn(self, total_steps: int, callback: Callable[[Progress], Any] | None = None) -> Any:
        """Train for at least ``total_steps`` agent-steps (whole updates of ``num_envs x n_steps``);
        ``callback(progress)`` after every update (return ``False`` to stop). Returns the model."""
        model, env = self.model, self.env
        n, horizon = env.num_envs, model.n_steps
        size = self.policy.observation_space.shape
        parts = len(self.logits.sampler.nvec)
        buf_obs = torch.zeros(horizon, n, *size)
        buf_act = torch.zeros(horizon, n, parts, dtype=torch.long)
        buf_logp = torch.zeros(horizon, n)
        buf_val = torch.zeros(horizon + 1, n)
        buf_rew = torch.zeros(horizon, n)
        buf_done = torch.zeros(horizon, n)
        if self._obs is None:
            obs, _ = env.reset(seed=model.seed)
            self._obs = self._first_frames(torch.zeros(n, *size), torch.as_tensor(obs), slice(None))
        start_steps = model.num_timesteps
        target = start_steps + total_steps
        model._total_timesteps = target
        while model.num_timesteps < target:
            model._current_progress_remaining = 1.0 - (model.num_timesteps - start_steps) / total_steps
            wins, finished, returns = self._rollout(buf_obs, buf_act, buf_logp, buf_val, buf_rew, buf_done)
            loss = self._update(buf_obs, buf_act, buf_logp, buf_val, buf_rew, buf_done)
            model.num_timesteps += n * horizon
            self.timings.steps += n * horizon
            self.timings.updates += 1
            if callback is not None:
                progress = Progress(
                    steps=model.num_timesteps,
                    update=self.timings.updates,
                    games=self.games,
                    win_rate=wins / finished if finished else float("nan"),
                    mean_return=float(np.mean(returns)) if returns else float("nan"),
                    loss=loss,
                    timings=self.timings,
                )
                if callback(progress) is False:
                    break
        return model

    @torch.no_grad()
    def _rollout(self, buf_obs, buf_act, buf_logp, buf_val, buf_rew, buf_done) -> tuple[int, int, list[float]]:
        env, gamma = self.env, self.model.gamma
        single = len(self.logits.sampler.nvec) == 1
        wins = finished = 0
        returns: list[float] = []
        self.policy.set_training_mode(False)
        for t in range(buf_obs.shape[0]):
            tick = time.perf_counter()
            obs = self._obs
            logits, values = self._heads(obs)
            actions = torch.from_numpy(self.logits.sampler(logits))
            logp = self.logits.log_prob(logits, actions)
            buf_obs[t], buf_act[t], buf_logp[t], buf_val[t] = obs, actions, logp, values
            step_actions = actions[:, 0].numpy() if single else actions.numpy()
            tock = time.perf_counter()
            self.timings.inference += tock - tick
            next_obs, reward, terminated, truncated, info = env.step(step_actions)
            tick = time.perf_counter()
            self.timings.env += tick - tock
            done = terminated | truncated
            self._returns += reward
            if done.any():
                ended = np.flatnonzero(done)
                won = info["final_info"]["melee"]["won"][ended]
                wins += int(won.sum())
                finished += len(ended)
                returns += self._returns[ended].tolist()
                self._returns[ended] = 0.0
                cut = np.flatnonzero(truncated & ~terminated)
                if len(cut):  # a game cut by the step limit: bootstrap from its last observation
                    final = torch.as_tensor(info["final_obs"][cut])
                    if self.window:
                        final = torch.cat([obs[torch.as_tensor(cut), 1:], final[:, None]], 1)
                    _, last = self._heads(final)
                    reward = reward.astype(np.float32, copy=True)
                    reward[cut] += gamma * last.numpy()
            buf_rew[t] = torch.as_tensor(reward, dtype=torch.float32)
            buf_done[t] = torch.as_tensor(done, dtype=torch.float32)
            self._obs = self._next(obs, torch.as_tensor(next_obs), done)
            self.timings.inference += time.perf_counter() - tick
        tick = time.perf_counter()
        _, buf_val[-1] = self._heads(self._obs)
        self.timings.inference += time.perf_counter() - tick
        self.games += finished
        return wins, finished, returns

    def _first_frames(self, window: torch.Tensor, frames: torch.Tensor, rows: Any) -> torch.Tensor:
        """``window`` with ``rows`` starting a game on ``frames`` (zeros before it)."""
        if not self.window:
            return frames
        window[rows] = 0.0
        window[rows, -1] = frames[rows]
        return window

    def _next(self, obs: torch.Tensor, frames: torch.Tensor, done: np.ndarray) -> torch.Tensor:
        """The next observation: the new frames, or the window moved on by one frame."""
        if not self.window:
            return frames
        window = torch.cat([obs[:, 1:], frames[:, None]], 1)
        if done.any():
            window = self._first_frames(window, frames, torch.as_tensor(done))
        return window

    def _advantages(self, buf_val, buf_rew, buf_done) -> tuple[torch.Tensor, torch.Tensor]:
        gamma, lam = self.model.gamma, self.model.gae_lambda
        horizon = buf_rew.shape[0]
        adv = torch.zeros_like(buf_rew)
        last = torch.zeros_like(buf_rew[0])
        for t in reversed(range(horizon)):
            keep = 1.0 - buf_done[t]
            delta = buf_rew[t] + gamma * buf_val[t + 1] * keep - buf_val[t]
            last = delta + gamma * lam * keep * last
            adv[t] = last
        return adv, adv + buf_val[:-1]

    def _update(self, buf_obs, buf_act, buf_logp, buf_val, buf_rew, buf_done) -> float:
        tick = time.perf_counter()
        model, policy = self.model, self.policy
        adv, ret = self._advantages(buf_val, buf_rew, buf_done)
        obs = buf_obs.reshape(-1, *buf_obs.shape[2:])
        act = buf_act.reshape(-1, buf_act.shape[-1])
        old_logp, adv, ret = buf_logp.reshape(-1), adv.reshape(-1), ret.reshape(-1)
        for group in policy.optimizer.param_groups:
            group["lr"] = model.lr_schedule(model._current_progress_remaining)
        clip = model.clip_range(model._current_progress_remaining)
        policy.set_training_mode(True)
        total, batch = len(obs), model.batch_size
        losses = []
        for _ in range(model.n_epochs):
            order = torch.randperm(total)
            for begin in range(0, total, batch):
                idx = order[begin : begin + batch]
                logits, values = self._heads(obs[idx])
                logp, entropy = self.logits.log_prob_entropy(logits, act[idx])
                a = adv[idx]
                if model.normalize_advantage and len(idx) > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                ratio = torch.exp(logp - old_logp[idx])
                policy_loss = -torch.min(a * ratio, a * ratio.clamp(1 - clip, 1 + clip)).mean()
                value_loss = nn.functional.mse_loss(ret[idx], values)
                loss = policy_loss + model.vf_coef * value_loss - model.ent_coef * entropy.mean()
                policy.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(policy.parameters(), model.max_grad_norm)
                policy.optimizer.step()
                losses.append(loss.item())
        model._n_updates += model.n_epochs
        self.timings.learning += time.perf_counter() - tick
        return float(np.mean(losses))
