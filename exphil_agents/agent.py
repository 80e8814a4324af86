"""Live play: ``Agent.act(observation) -> action``, one frame at a time, state kept inside.

An agent is a one-row view of a :class:`~exphil_agents.actors.NetActor` (the one place where
recurrent state, frame windows, held decisions, input delay and sampling are handled). It wraps
a trained network (a :class:`~exphil_agents.network.PolicyNetwork` from BC, or a PPO /
RecurrentPPO model with this package's policies) and steps its backbone one frame per call
(constant cost: no window is re-run). ``delay`` models online play: the action decided now is
returned ``delay`` calls later (neutral controller until then). Call :meth:`warmup` once before
timing-sensitive play (first calls allocate) and :meth:`reset` at every new game.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exphil_agents.actors import NetActor, network_actor, recurrent_actor, stepped_actor
from melee_envs.controller import ControllerCodec
from melee_envs.obs import ObsConfig
from melee_envs.state import ControllerState


class Agent:
    """Acts for one port. Build with :meth:`from_network`, :meth:`from_sb3` or from an actor."""

    def __init__(self, actor: NetActor, deterministic: bool = False) -> None:
        self.actor = actor
        self.deterministic = deterministic
        self.reset()

    @property
    def codec(self) -> ControllerCodec:
        return self.actor.codec

    @property
    def delay(self) -> int:
        return self.actor.delay

    @property
    def obs_size(self) -> int:
        return self.actor.encoder.size

    @property
    def obs_config(self) -> ObsConfig:
        return self.actor.obs_config

    @classmethod
    def from_network(cls, network: Any, delay: int = 0, deterministic: bool = False) -> Agent:
        """From a :class:`~exphil_agents.network.PolicyNetwork`; decodes with its own stick buckets."""
        return cls(network_actor("network", network, deterministic, delay, env_controller=False), deterministic)

    @classmethod
    def from_sb3(cls, model: Any, delay: int = 0, deterministic: bool = False) -> Agent:
        """From a PPO model with :class:`~exphil_agents.policies.BackbonePolicy` or a RecurrentPPO
        model with :class:`~exphil_agents.policies.RecurrentBackbonePolicy`."""
        from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy

        policy = model.policy if hasattr(model, "policy") else model
        obs_config = ObsConfig.from_dict(policy.obs_config) if getattr(policy, "obs_config", None) else ObsConfig()
        if isinstance(policy, RecurrentBackbonePolicy):
            return cls(recurrent_actor("sb3", policy, obs_config, deterministic, delay), deterministic)
        if not isinstance(policy, BackbonePolicy):
            raise TypeError(
                f"Agent.from_sb3 takes BackbonePolicy or RecurrentBackbonePolicy models; got {type(policy).__name__}"
            )
        extractor = policy.pi_features_extractor
        actor = stepped_actor("sb3", policy, obs_config, extractor.encoder, extractor.backbone, deterministic, delay)
        return cls(actor, deterministic)

    def reset(self) -> None:
        """Start a new game: fresh backbone state, delay buffer filled with neutral inputs."""
        self.actor.reset(1)

    def compile(self) -> str | None:
        """Compile the network's per-frame call with ``torch.compile`` (about half the time per
        frame at batch 1; a few seconds to compile, needs a C++ compiler). Returns None when
        compiled, else why not, and the agent stays eager. For playing, not for a network that
        is still training: see :meth:`~exphil_agents.actors.SteppingPolicy.compile`."""
        return self.actor.compile()

    def warmup(self, frames: int = 5) -> None:
        """Run a few frames on zeros (first calls allocate), then :meth:`reset`."""
        zeros = np.zeros(self.obs_size, np.float32)
        for _ in range(frames):
            self.act(zeros)
        self.reset()

    def act(self, observation: np.ndarray) -> np.ndarray:
        """One frame: the observation (one frame, ``(F,)``) in, a ``(ACTION_SIZE,)`` action out."""
        obs = np.asarray(observation, np.float32).reshape(1, -1)
        if obs.shape[1] != self.obs_size:
            raise ValueError(f"observation has {obs.shape[1]} values; the agent's network takes {self.obs_size}")
        return self.actor.act_obs(obs)[0]

    #: An agent is also a policy callable, ``agent(observation) -> action``.
    __call__ = act

    def controller(self, observation: np.ndarray) -> ControllerState:
        """:meth:`act`, decoded to stick and button values."""
        return self.codec.decode(self.act(observation))
