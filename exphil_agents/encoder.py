"""Input encoder: observation vectors (any ``ObsConfig``) -> network input features.

It reads the encoder's layout: every value before the ``ids`` block passes through as is; each
id in the ``ids`` block (action states, Nana's action, characters, stage) is looked up in an
``nn.Embedding`` (the two players and Nana share one action table). With a one-hot config there
are no ids and the encoder is the identity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from melee_envs.data.actions import NUM_ACTIONS
from melee_envs.data.characters import NUM_CHARACTER_IDS
from melee_envs.obs import ObsConfig, ObservationEncoder

#: Rows of the stage table (libmelee stage values are below 64).
NUM_STAGE_IDS = 64


@dataclass(frozen=True)
class EmbedConfig:
    """Embedding widths for learned ids (the seed uses 64 for actions)."""

    action: int = 32
    character: int = 8
    stage: int = 4


class InputEncoder(nn.Module):
    """``obs[..., F]`` (floats, ids stored as floats) -> ``features[..., output_size]``."""

    def __init__(self, obs_config: ObsConfig | dict[str, Any] | None = None, embed: EmbedConfig | dict | None = None):
        super().__init__()
        if isinstance(obs_config, dict):
            obs_config = ObsConfig.from_dict(obs_config)
        self.obs_config = obs_config or ObsConfig()
        self.embed_config = EmbedConfig(**embed) if isinstance(embed, dict) else (embed or EmbedConfig())
        enc = ObservationEncoder(self.obs_config)
        self.obs_size = enc.size
        layout = enc.layout
        self.n_continuous = layout["ids"].start if "ids" in layout else enc.size
        self.id_names = list(enc.id_names)
        e = self.embed_config
        tables = {
            "action": (NUM_ACTIONS, e.action),
            "character": (NUM_CHARACTER_IDS, e.character),
            "stage": (NUM_STAGE_IDS, e.stage),
        }
        self.kinds = [_kind(n) for n in self.id_names]
        self.tables = nn.ModuleDict({k: nn.Embedding(*tables[k]) for k in dict.fromkeys(self.kinds)})
        self.sizes = [tables[k][0] for k in self.kinds]
        self.output_size = self.n_continuous + sum(tables[k][1] for k in self.kinds)

    @property
    def spec(self) -> dict[str, Any]:
        return {"obs": asdict(self.obs_config), "embed": asdict(self.embed_config), "obs_size": self.obs_size}

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_size:
            raise ValueError(f"observation has {obs.shape[-1]} values; this encoder's ObsConfig makes {self.obs_size}")
        parts = [obs[..., : self.n_continuous]]
        for k, (kind, size) in enumerate(zip(self.kinds, self.sizes, strict=True)):
            ids = obs[..., self.n_continuous + k].round().long().clamp(0, size - 1)
            parts.append(self.tables[kind](ids))
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]


def _kind(id_name: str) -> str:
    return "action" if "action" in id_name else "character" if id_name.startswith("character") else "stage"
