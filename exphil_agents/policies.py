"""stable-baselines3 policies for every backbone.

* :class:`BackbonePolicy` (``PPO``): a feed-forward ``ActorCriticPolicy`` whose features
  extractor runs :class:`~exphil_agents.encoder.InputEncoder` and any backbone over the frames of
  an observation. Temporal backbones see a window of recent frames that :func:`frame_window`
  stacks (``Box(window, F)``); with plain observations they see one frame.
* :class:`RecurrentBackbonePolicy` (``sb3_contrib.RecurrentPPO``): the input encoder then an LSTM
  or a GRU carried across steps. RecurrentPPO stores ``(h, c)`` per layer; a GRU's state is
  stored as ``(h, zeros)``.

Both take their architecture as plain ``policy_kwargs`` (names and dicts), so ``model.save`` /
``PPO.load`` rebuild them.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
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
        problems = []
        if network.head_kind != "independent":
            problems.append(f"head: network has {network.head_kind!r}, PPO needs 'independent'")
        if network.backbone.name != self.backbone_name:
            problems.append(f"backbone: network has {network.backbone.name!r}, policy has {self.backbone_name!r}")
        extractor = self.features_extractor
        if not self.share_features_extractor:
            problems.append("the policy must share its features extractor (share_features_extractor=True)")
        elif network.spec["backbone_config"] != extractor.backbone.config.__dict__:
            problems.append(
                f"backbone_config: network has {network.spec['backbone_config']}, "
                f"policy has {extractor.backbone.config.__dict__}"
            )
        if network.encoder.obs_size != extractor.encoder.obs_size or network.spec["obs_config"] != (
            extractor.encoder.obs_config.__dict__
        ):
            problems.append("observation layout differs (pass the BC dataset's ObsConfig as obs_config)")
        if list(network.nvec) != list(self.action_space.nvec):
            problems.append(f"action space: network {list(network.nvec)}, policy {self.action_space.nvec.tolist()}")
        if self.net_arch and (self.net_arch.get("pi") if isinstance(self.net_arch, dict) else self.net_arch):
            problems.append("net_arch must be empty (the backbone's output feeds the action head directly)")
        if problems:
            raise ValueError("cannot load the network into this policy: " + "; ".join(problems))
        extractor.encoder.load_state_dict(network.encoder.state_dict())
        extractor.backbone.load_state_dict(network.backbone.state_dict())
        self.action_net.load_state_dict(network.head.linear.state_dict())

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

    Args:
        cell: ``"lstm"`` or ``"gru"``.
        obs_config, embed: as for :class:`BackbonePolicy`.
        lstm_hidden_size, n_lstm_layers, ...: RecurrentPPO's own options (used for either cell).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Any,
        cell: str = "gru",
        obs_config: dict[str, Any] | None = None,
        embed: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru'; got {cell!r}")
        self.cell = cell
        self.obs_config = dict(obs_config or {})
        self.embed = dict(embed or {})
        kwargs["features_extractor_class"] = EncoderExtractor
        kwargs["features_extractor_kwargs"] = {"obs_config": self.obs_config, "embed": self.embed}
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        if cell == "gru":
            self.lstm_actor = self._gru_like(self.lstm_actor)
            if self.lstm_critic is not None:
                self.lstm_critic = self._gru_like(self.lstm_critic)
            self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    @staticmethod
    def _gru_like(lstm: nn.LSTM) -> nn.GRU:
        return nn.GRU(lstm.input_size, lstm.hidden_size, num_layers=lstm.num_layers)

    @staticmethod
    def _process_sequence(
        features: torch.Tensor,
        lstm_states: tuple[torch.Tensor, torch.Tensor],
        episode_starts: torch.Tensor,
        lstm: nn.Module,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if isinstance(lstm, nn.LSTM):
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        # GRU: the state travels as (h, zeros) in RecurrentPPO's (h, c) slots.
        n_seq = lstm_states[0].shape[1]
        seq = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
        starts = episode_starts.reshape((n_seq, -1)).swapaxes(0, 1)
        h = lstm_states[0]
        if torch.all(starts == 0.0):
            out, h = lstm(seq, h)
        else:
            outs = []
            for x, start in zip(seq, starts, strict=True):
                y, h = lstm(x.unsqueeze(0), (1.0 - start).view(1, n_seq, 1) * h)
                outs.append(y)
            out = torch.cat(outs)
        return torch.flatten(out.transpose(0, 1), start_dim=0, end_dim=1), (h, torch.zeros_like(h))

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(cell=self.cell, obs_config=self.obs_config, embed=self.embed)
        return data
