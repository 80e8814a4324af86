"""Jamba-style hybrid: Mamba blocks with a sliding-window attention block every N layers."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from exphil_agents.backbones.attention import AttentionBlock
from exphil_agents.backbones.base import Backbone
from exphil_agents.backbones.mamba import MambaBlock, MambaConfig


@dataclass(frozen=True)
class JambaConfig:
    """Args:
    d_model: width of the residual stream (and output).
    layers: blocks in all.
    attention_every: layer ``i`` (1-based) is attention when ``i % attention_every == 0``;
        default 3, or the last layer when there are fewer than 3 (a Jamba always has an
        attention layer: one without would be a Mamba, so a larger value is refused).
    heads, window: the attention blocks' heads and window (frames).
    d_state, d_conv, expand: the Mamba blocks' settings.
    """

    d_model: int = 128
    layers: int = 3
    attention_every: int | None = None
    heads: int = 4
    window: int = 60
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2


class JambaBackbone(Backbone):
    name = "jamba"

    def __init__(self, config: JambaConfig, input_size: int) -> None:
        super().__init__(config, input_size)
        every = min(3, config.layers) if config.attention_every is None else config.attention_every
        if every < 1:
            raise ValueError(f"attention_every must be >= 1; got {every}")
        if every > config.layers:
            raise ValueError(
                f"jamba: attention_every {every} with {config.layers} layers makes no layer attention (that is "
                f"the mamba backbone); use attention_every <= {config.layers} or more layers"
            )
        mamba = MambaConfig(config.d_model, 1, config.d_state, config.d_conv, config.expand)
        self.input_proj = nn.Linear(input_size, config.d_model)
        self.blocks = nn.ModuleList(
            AttentionBlock(config.d_model, config.heads, config.window) if (i + 1) % every == 0 else MambaBlock(mamba)
            for i in range(config.layers)
        )
        self.norm = nn.RMSNorm(config.d_model)
        self.output_size = config.d_model
