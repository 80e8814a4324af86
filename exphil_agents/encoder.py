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
        # One lookup per table (not per id): each kind's id columns, and the order that puts the
        # looked-up features back in id order.
        self._groups = [(kind, [k for k, x in enumerate(self.kinds) if x == kind]) for kind in self.tables]
        width = {k: tables[k][1] for k in self.tables}
        starts, at = {}, 0
        for kind, cols in self._groups:
            for i, c in enumerate(cols):
                starts[c] = at + i * width[kind]
            at += len(cols) * width[kind]
        order = [starts[c] + j for c, kind in enumerate(self.kinds) for j in range(width[kind])]
        self.register_buffer("_order", torch.tensor(order, dtype=torch.long), persistent=False)
        self.register_buffer("_id_max", torch.tensor([n - 1 for n in self.sizes], dtype=torch.long), persistent=False)
        for kind, cols in self._groups:
            self.register_buffer(f"_cols_{kind}", torch.tensor(cols, dtype=torch.long), persistent=False)

    @property
    def spec(self) -> dict[str, Any]:
        return {"obs": asdict(self.obs_config), "embed": asdict(self.embed_config), "obs_size": self.obs_size}

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_size:
            raise ValueError(f"observation has {obs.shape[-1]} values; this encoder's ObsConfig makes {self.obs_size}")
        if not self.kinds:
            return obs
        ids = torch.minimum(obs[..., self.n_continuous :].round().long().clamp_(min=0), self._id_max)
        looked = [
            self.tables[kind](ids.index_select(-1, getattr(self, f"_cols_{kind}"))).flatten(-2)
            for kind, _ in self._groups
        ]
        features = torch.cat(looked, dim=-1) if len(looked) > 1 else looked[0]
        return torch.cat([obs[..., : self.n_continuous], features.index_select(-1, self._order)], dim=-1)


def _kind(id_name: str) -> str:
    return "action" if "action" in id_name else "character" if id_name.startswith("character") else "stage"
