"""MLP backbone: an input projection and residual, layer-normed feed-forward blocks, per frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from exphil_agents.backbones.base import Backbone, Block, FeedForward, State


@dataclass(frozen=True)
class MLPConfig:
    """Args:
    hidden: width of every layer.
    layers: residual blocks.
    expansion: inner width of a block, as a multiple of ``hidden``.
    dropout: dropout inside blocks.
    """

    hidden: int = 256
    layers: int = 2
    expansion: int = 2
    dropout: float = 0.0


class _MLPBlock(Block):
    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.ff = FeedForward(cfg.hidden, cfg.hidden * cfg.expansion, cfg.dropout)

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        return self.ff(x), state

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        return self.ff(x), state


class MLPBackbone(Backbone):
    """No memory: each frame on its own (a frame window is the policy's business)."""

    name = "mlp"

    def __init__(self, config: MLPConfig, input_size: int) -> None:
        super().__init__(config, input_size)
        self.input_proj = nn.Linear(input_size, config.hidden)
        self.blocks = nn.ModuleList(_MLPBlock(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.hidden)
        self.output_size = config.hidden
