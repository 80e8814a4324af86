"""stable-baselines3 policies for every backbone.

* :class:`BackbonePolicy` (``PPO``): a feed-forward ``ActorCriticPolicy`` whose features
  extractor runs :class:`~exphil_agents.encoder.InputEncoder` and any backbone over the frames of
  an observation. Temporal backbones see a window of recent frames that :func:`frame_window`
  stacks (``Box(window, F)``); with plain observations they see one frame.
* :class:`RecurrentBackbonePolicy` (``sb3_contrib.RecurrentPPO``): the input encoder then this
  package's LSTM or GRU backbone carried across steps. RecurrentPPO stores ``(h, c)`` per layer;
  a GRU's state is stored as ``(h, zeros)``. Both policies take BC weights (``load_network``).

Both take their architecture as plain ``policy_kwargs`` (names and dicts), so ``model.save`` /
``PPO.load`` rebuild them.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from exphil_agents.backbones import make_backbone
from exphil_agents.encoder import InputEncoder


def frame_window(env: gym.Env, window: int) -> gym.Env:
    """Observations become the last ``window`` frames, ``Box(window, F)``, oldest first; before
    the episode's first frame the window is zero-padded (Gymnasium's ``FrameStackObservation``)."""
    from gymnasium.wrappers import FrameStackObservation

    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    return FrameStackObservation(env, stack_size=window, padding_type="zero")


def vec_frame_window(venv: Any, window: int) -> Any:
    """:func:`frame_window` for an SB3 ``VecEnv`` (e.g. :func:`melee_envs.envs.vector.sb3_vec_env`):
    observations ``(n, window, F)``, oldest first, zero before each game's first frame; a
    finished game's ``terminal_observation`` is its last window."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")

    class FrameWindowVecEnv(VecEnvWrapper):
        def __init__(self) -> None:
            inner = venv.observation_space
            low = np.broadcast_to(inner.low, (window, *inner.shape))
            high = np.broadcast_to(inner.high, (window, *inner.shape))
            super().__init__(venv, observation_space=spaces.Box(low, high, dtype=inner.dtype))
            self.frames = np.zeros((venv.num_envs, window, *inner.shape), inner.dtype)

        def reset(self) -> np.ndarray:
            self.frames[:] = 0
            self.frames[:, -1] = self.venv.reset()
            return self.frames.copy()

        def step_wait(self) -> Any:
            obs, rewards, dones, infos = self.venv.step_wait()
            last = self.frames.copy()
            self.frames[:, :-1] = self.frames[:, 1:]
            self.frames[:, -1] = obs
            for i in np.flatnonzero(dones):
                if "terminal_observation" in infos[i]:
                    final = infos[i]["terminal_observation"][None]
                    infos[i]["terminal_observation"] = np.concatenate([last[i, 1:], final])
                self.frames[i] = 0
                self.frames[i, -1] = obs[i]
            return self.frames.copy(), rewards, dones, infos

    return FrameWindowVecEnv()


def _encoder_for(observation_space: spaces.Box, obs_config: dict | None, embed: dict | None) -> InputEncoder:
    encoder = InputEncoder(obs_config, embed)
    if observation_space.shape[-1] != encoder.obs_size:
        raise ValueError(
            f"the env's observations have {observation_space.shape[-1]} values per frame but "
            f"obs_config {obs_config or 'default'} makes {encoder.obs_size}; pass the env's ObsConfig"
        )
    return encoder


class BackboneExtractor(BaseFeaturesExtractor):
    """Input encoder + backbone over the observation's frames; features = the last frame's output."""

    def __init__(
        self,
        observation_space: spaces.Box,
        backbone: str = "mlp",
        backbone_config: dict[str, Any] | None = None,
        obs_config: dict[str, Any] | None = None,
        embed: dict[str, Any] | None = None,
    ) -> None:
        encoder = _encoder_for(observation_space, obs_config, embed)
        net = make_backbone(backbone, encoder.output_size, backbone_config or {})
        super().__init__(observation_space, features_dim=net.output_size)
        self.encoder, self.backbone = encoder, net
        self.window = observation_space.shape[0] if len(observation_space.shape) == 2 else 1

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        frames = observations if observations.dim() == 3 else observations[:, None]
        latent, _ = self.backbone(self.encoder(frames))
        return latent[:, -1]


class BackbonePolicy(ActorCriticPolicy):
    """``PPO(BackbonePolicy, env, policy_kwargs={"backbone": "mamba", "backbone_config": {...}})``.

    Args:
        backbone: a name from :data:`exphil_agents.backbones.BACKBONES`.
        backbone_config: overrides of that backbone's config fields.
        obs_config: the env's ``ObsConfig`` as a dict (default: ``ObsConfig()``).
        embed: :class:`~exphil_agents.encoder.EmbedConfig` fields.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        backbone: str = "mlp",
        backbone_config: dict[str, Any] | None = None,
        obs_config: dict[str, Any] | None = None,
        embed: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.backbone_name = backbone
        self.backbone_config = dict(backbone_config or {})
        self.obs_config = dict(obs_config or {})
        self.embed = dict(embed or {})
        kwargs.setdefault("net_arch", [])
        kwargs["features_extractor_class"] = BackboneExtractor
        kwargs["features_extractor_kwargs"] = {
            "backbone": backbone,
            "backbone_config": self.backbone_config,
            "obs_config": self.obs_config,
            "embed": self.embed,
        }
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def load_network(self, network: Any) -> None:
        """Copy a :class:`~exphil_agents.network.PolicyNetwork`'s weights (e.g. from BC) into this
        policy: input encoder and backbone into the shared features extractor, the independent
        head into ``action_net``. The value head is left as it is. Afterwards the policy's action
        distribution equals the network's on the same observations.

        Raises:
            ValueError: naming what differs (backbone, its config, observation layout, head).
        """
        extractor = self.features_extractor
        _load_network(self, network, extractor.encoder, extractor.backbone, self.backbone_name)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            backbone=self.backbone_name,
            backbone_config=self.backbone_config,
            obs_config=self.obs_config,
            embed=self.embed,
        )
        return data


class EncoderExtractor(BaseFeaturesExtractor):
    """The input encoder alone (per frame), for the recurrent policy."""

    def __init__(
        self, observation_space: spaces.Box, obs_config: dict[str, Any] | None = None, embed: dict | None = None
    ) -> None:
        encoder = _encoder_for(observation_space, obs_config, embed)
        super().__init__(observation_space, features_dim=encoder.output_size)
        self.encoder = encoder

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.encoder(observations)


class RecurrentBackbonePolicy(RecurrentActorCriticPolicy):
    """``RecurrentPPO(RecurrentBackbonePolicy, env, policy_kwargs={"cell": "gru"})``.

    The actor's (and the critic's) recurrent layer is this package's LSTM / GRU backbone, the
    same module behavioural cloning trains, so a BC network warm-starts it (:meth:`load_network`).

    Args:
        cell: ``"lstm"`` or ``"gru"`` (the backbone's name).
        backbone_config: ``{"hidden": ..., "layers": ...}``; by default RecurrentPPO's own
            ``lstm_hidden_size`` / ``n_lstm_layers`` (256, 1).
        obs_config, embed: as for :class:`BackbonePolicy`.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        cell: str = "gru",
        backbone_config: dict[str, Any] | None = None,
        obs_config: dict[str, Any] | None = None,
        embed: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru'; got {cell!r}")
        self.cell = cell
        config = dict(backbone_config or {})
        config.setdefault("hidden", kwargs.get("lstm_hidden_size", 256))
        config.setdefault("layers", kwargs.get("n_lstm_layers", 1))
        kwargs["lstm_hidden_size"], kwargs["n_lstm_layers"] = config["hidden"], config["layers"]
        self.backbone_config = config
        self.obs_config = dict(obs_config or {})
        self.embed = dict(embed or {})
        kwargs.setdefault("net_arch", [])
        kwargs["features_extractor_class"] = EncoderExtractor
        kwargs["features_extractor_kwargs"] = {"obs_config": self.obs_config, "embed": self.embed}
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        self.lstm_actor = make_backbone(cell, self.features_dim, config)
        if self.lstm_critic is not None:
            self.lstm_critic = make_backbone(cell, self.features_dim, config)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    @staticmethod
    def _process_sequence(
        features: torch.Tensor,
        lstm_states: tuple[torch.Tensor, torch.Tensor],
        episode_starts: torch.Tensor,
        lstm: nn.Module,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """RecurrentPPO's sequences through the backbone. RecurrentPPO keeps ``(h, c)`` as
        ``(layers, sequences, hidden)``; the backbone's state is batch-first, and a GRU's state
        travels as ``(h, zeros)``."""
        n_seq = lstm_states[0].shape[1]
        x = features.reshape(n_seq, -1, lstm.input_size)
        starts = episode_starts.reshape(n_seq, -1)
        state = tuple(s.transpose(0, 1) for s in lstm_states[: 2 if lstm.cell == "lstm" else 1])
        out, state = lstm(x, state, starts)
        h = state[0].transpose(0, 1).contiguous()
        c = state[1].transpose(0, 1).contiguous() if lstm.cell == "lstm" else torch.zeros_like(h)
        return torch.flatten(out, start_dim=0, end_dim=1), (h, c)

    def load_network(self, network: Any) -> None:
        """Copy a recurrent :class:`~exphil_agents.network.PolicyNetwork` (BC with backbone
        ``lstm`` / ``gru``) into this policy: input encoder, recurrent backbone (the actor's),
        independent head. The critic is left as it is.

        Raises:
            ValueError: naming what differs.
        """
        extractor = self.pi_features_extractor
        _load_network(self, network, extractor.encoder, self.lstm_actor, self.cell)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Also reads archives saved when the recurrent layer was a bare ``nn.LSTM`` / ``nn.GRU``
        (``lstm_actor.weight_ih_l0``, now ``lstm_actor.blocks.0.rnn.weight_ih_l0``)."""
        renamed = {}
        for key, value in state_dict.items():
            head, _, rest = key.partition(".")
            old = head in ("lstm_actor", "lstm_critic") and rest.startswith(("weight_", "bias_"))
            renamed[f"{head}.blocks.0.rnn.{rest}" if old else key] = value
        return super().load_state_dict(renamed, strict=strict, assign=assign)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(cell=self.cell, backbone_config=self.backbone_config, obs_config=self.obs_config, embed=self.embed)
        return data


def _load_network(policy: Any, network: Any, encoder: nn.Module, backbone: nn.Module, backbone_name: str) -> None:
    """Check that ``network`` fits ``policy`` and copy its encoder, backbone and head in."""
    problems = []
    if network.head_kind != "independent":
        problems.append(f"head: network has {network.head_kind!r}, PPO needs 'independent'")
    if network.backbone.name != backbone_name:
        problems.append(f"backbone: network has {network.backbone.name!r}, policy has {backbone_name!r}")
    if not policy.share_features_extractor:
        problems.append("the policy must share its features extractor (share_features_extractor=True)")
    elif network.spec["backbone_config"] != backbone.config.__dict__:
        problems.append(
            f"backbone_config: network has {network.spec['backbone_config']}, policy has {backbone.config.__dict__}"
        )
    if network.encoder.obs_size != encoder.obs_size or network.spec["obs_config"] != encoder.obs_config.__dict__:
        problems.append("observation layout differs (pass the BC dataset's ObsConfig as obs_config)")
    if list(network.nvec) != list(policy.action_space.nvec):
        problems.append(f"action space: network {list(network.nvec)}, policy {policy.action_space.nvec.tolist()}")
    arch = policy.net_arch
    if arch and (arch.get("pi") if isinstance(arch, dict) else arch):
        problems.append("net_arch must be empty (the backbone's output feeds the action head directly)")
    if problems:
        raise ValueError("cannot load the network into this policy: " + "; ".join(problems))
    encoder.load_state_dict(network.encoder.state_dict())
    backbone.load_state_dict(network.backbone.state_dict())
    policy.action_net.load_state_dict(network.head.linear.state_dict())
