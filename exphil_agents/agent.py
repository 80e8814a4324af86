"""Live play: ``Agent.act(observation) -> action``, one frame at a time, state kept inside.

An agent wraps a trained network (a :class:`~exphil_agents.network.PolicyNetwork` from BC, or
a PPO / RecurrentPPO model with this package's policies) and steps its backbone one frame per
call (constant cost: no window is re-run). ``delay`` models online play: the action decided now
is returned ``delay`` calls later (neutral controller until then). Call :meth:`warmup` once
before timing-sensitive play (first calls allocate) and :meth:`reset` at every new game.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from exphil_agents.heads import pick, split_logits
from melee_envs.controller import ControllerCodec
from melee_envs.state import ControllerState


class Agent:
    """Acts for one port. Build with :meth:`from_network` or :meth:`from_sb3`."""

    def __init__(
        self,
        step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]],
        initial_state: Callable[[], Any],
        choose: Callable[[torch.Tensor, bool], torch.Tensor],
        obs_size: int,
        delay: int = 0,
        deterministic: bool = False,
        codec: ControllerCodec | None = None,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 frames; got {delay}")
        self._step, self._initial_state, self._choose = step, initial_state, choose
        self.obs_size, self.delay, self.deterministic = obs_size, delay, deterministic
        self.codec = codec or ControllerCodec()
        self.reset()

    @classmethod
    def from_network(cls, network: Any, **kwargs: Any) -> Agent:
        network.eval()
        kwargs.setdefault("codec", getattr(network, "codec", None))  # decode with its own stick buckets
        return cls(
            step=network.step,
            initial_state=lambda: network.backbone.initial_state(1, "cpu"),
            choose=network.head.sample,
            obs_size=network.encoder.obs_size,
            **kwargs,
        )

    @classmethod
    def from_sb3(cls, model: Any, **kwargs: Any) -> Agent:
        """From a PPO model with :class:`~exphil_agents.policies.BackbonePolicy` or a RecurrentPPO
        model with :class:`~exphil_agents.policies.RecurrentBackbonePolicy`."""
        from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy

        policy = model.policy if hasattr(model, "policy") else model
        policy.set_training_mode(False)
        nvec = [int(n) for n in policy.action_space.nvec]

        def choose(latent: torch.Tensor, det: bool) -> torch.Tensor:
            logits = policy.action_net(policy.mlp_extractor.forward_actor(latent))
            return torch.stack(pick(split_logits(logits, nvec), det), dim=-1)

        if isinstance(policy, BackbonePolicy):
            extractor = policy.pi_features_extractor
            encoder, backbone = extractor.encoder, extractor.backbone
            return cls(
                step=lambda obs, state: backbone.step(encoder(obs), state),
                initial_state=lambda: backbone.initial_state(1, "cpu"),
                choose=choose,
                obs_size=encoder.obs_size,
                **kwargs,
            )
        if isinstance(policy, RecurrentBackbonePolicy):
            encoder, rnn = policy.pi_features_extractor.encoder, policy.lstm_actor

            def step(obs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
                out, state = rnn(encoder(obs)[None], state)
                return out[0], state

            def initial_state() -> Any:
                h = torch.zeros(rnn.num_layers, 1, rnn.hidden_size)
                return (h, h.clone()) if isinstance(rnn, torch.nn.LSTM) else h

            return cls(step=step, initial_state=initial_state, choose=choose, obs_size=encoder.obs_size, **kwargs)
        raise TypeError(
            f"Agent.from_sb3 takes BackbonePolicy or RecurrentBackbonePolicy models; got {type(policy).__name__}"
        )

    def reset(self) -> None:
        """Start a new game: fresh backbone state, delay buffer filled with neutral inputs."""
        self._state = self._initial_state()
        self._queue: deque[np.ndarray] = deque(self.codec.noop() for _ in range(self.delay))

    def warmup(self, frames: int = 5) -> None:
        """Run a few frames on zeros (first calls allocate), then :meth:`reset`."""
        zeros = np.zeros(self.obs_size, np.float32)
        for _ in range(frames):
            self.act(zeros)
        self.reset()

    @torch.inference_mode()
    def act(self, observation: np.ndarray) -> np.ndarray:
        """One frame: the observation (one frame, ``(F,)``) in, a ``(ACTION_SIZE,)`` action out."""
        obs = torch.as_tensor(np.asarray(observation, np.float32)).reshape(1, -1)
        if obs.shape[1] != self.obs_size:
            raise ValueError(f"observation has {obs.shape[1]} values; the agent's network takes {self.obs_size}")
        latent, self._state = self._step(obs, self._state)
        action = self._choose(latent, self.deterministic)[0].numpy().astype(np.int64)
        if not self.delay:
            return action
        self._queue.append(action)
        return self._queue.popleft()

    #: An agent is also a policy callable, ``agent(observation) -> action``.
    __call__ = act

    def controller(self, observation: np.ndarray) -> ControllerState:
        """:meth:`act`, decoded to stick and button values."""
        return self.codec.decode(self.act(observation))
