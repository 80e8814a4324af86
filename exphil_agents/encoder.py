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
import torch.nn.functional as F
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

    def check_size(self, obs: torch.Tensor) -> None:
        """Raise ValueError when ``obs`` is not this encoder's observation width."""
        if obs.shape[-1] != self.obs_size:
            raise ValueError(f"observation has {obs.shape[-1]} values; this encoder's ObsConfig makes {self.obs_size}")

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        self.check_size(obs)
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


class ProjectedEncoder:
    """``linear(encoder(obs))`` in two lookups, for per-frame inference.

    A linear layer over the encoder's features is a linear map of the continuous values plus,
    for every id column, the row of that id in the column's *projected table* (the embedding
    table times the layer's weights for the column's features). The projected tables are
    stacked once, so one frame costs a matrix-vector product over the continuous values and one
    ``embedding_bag`` sum, in place of an embedding per table, two concatenations and the full
    linear layer. Same values as the unfolded path to float rounding.

    The tables are rebuilt whenever the embedding or the layer's weights change in place (an
    optimizer step, ``load_state_dict``): the call compares their version counters. Call it
    without gradients (it is an inference path).
    """

    def __init__(self, encoder: InputEncoder, linear: nn.Linear) -> None:
        if not encoder.kinds:
            raise ValueError("ProjectedEncoder needs an encoder with learned ids (a one-hot ObsConfig has none)")
        if linear.in_features != encoder.output_size:
            raise ValueError(
                f"the linear layer takes {linear.in_features} features; the encoder makes {encoder.output_size}"
            )
        self.encoder, self.linear = encoder, linear
        self._params = [linear.weight, *(t.weight for t in encoder.tables.values())]
        if linear.bias is not None:
            self._params.append(linear.bias)
        self._versions: tuple[int, ...] | None = None
        n = encoder.n_continuous
        # Where each id column's features sit in the encoder's output, and its table.
        self._columns: list[tuple[str, int, int]] = []
        at = n
        for kind in encoder.kinds:
            width = encoder.tables[kind].embedding_dim
            self._columns.append((kind, at, width))
            at += width
        self._offsets = torch.tensor([0, *encoder.sizes[:-1]]).cumsum(0)
        self._id_max = encoder._id_max

    def _build(self) -> None:
        enc, w = self.encoder, self.linear.weight.detach()
        self._w_continuous = w[:, : enc.n_continuous].T.contiguous()
        tables = [enc.tables[kind].weight.detach() @ w[:, at : at + width].T for kind, at, width in self._columns]
        if self.linear.bias is not None:  # every frame looks up one row of the first column's table
            tables[0] = tables[0] + self.linear.bias.detach()
        self._tables = torch.cat(tables)

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        enc = self.encoder
        enc.check_size(obs)
        versions = tuple(p._version for p in self._params)
        if versions != self._versions:
            self._build()
            self._versions = versions
        lead, n = obs.shape[:-1], enc.n_continuous
        obs = obs.reshape(-1, obs.shape[-1])
        ids = torch.minimum(obs[:, n:].round().long().clamp_(min=0), self._id_max).add_(self._offsets)
        out = torch.addmm(F.embedding_bag(ids, self._tables, mode="sum"), obs[:, :n], self._w_continuous)
        return out.reshape(*lead, -1)
