"""Sliding-window attention backbone: causal self-attention over the last ``window`` frames.

Positions enter as ALiBi distance penalties (a per-head slope times how many frames back a key
is), which depend only on distance, so a streaming key/value window needs no absolute frame
index. ``step`` keeps the last ``window - 1`` keys and values per layer: one frame costs
``O(window)`` however long the game has run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from exphil_agents.backbones.base import Backbone, Block, FeedForward, State


@dataclass(frozen=True)
class AttentionConfig:
    """Args:
    d_model: width of the residual stream (and output).
    layers: attention blocks.
    heads: attention heads (``d_model`` must divide by it).
    window: frames each frame can see, itself included.
    dropout: attention-output and feed-forward dropout.
    """

    d_model: int = 128
    layers: int = 2
    heads: int = 4
    window: int = 60
    dropout: float = 0.0


def alibi_slopes(heads: int) -> torch.Tensor:
    return torch.tensor([2.0 ** (-8.0 * (i + 1) / heads) for i in range(heads)])


class AttentionBlock(Block):
    def __init__(self, d_model: int, heads: int, window: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"attention d_model={d_model} must be divisible by heads={heads}")
        if window < 2:
            raise ValueError(f"attention window must be >= 2 frames; got {window}")
        self.d_model, self.heads, self.window = d_model, heads, window
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)
        self.ff = FeedForward(d_model, 4 * d_model, dropout)
        self.register_buffer("slopes", alibi_slopes(heads), persistent=False)
        # One new frame against the cache: its distances to the window's keys never change.
        distance = torch.arange(window - 1, -1, -1, dtype=torch.float32)
        self.register_buffer("step_bias", -(self.slopes[:, None] * distance[None, :]), persistent=False)

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        w = self.window - 1
        return (
            torch.zeros(batch, w, self.d_model, device=device),
            torch.zeros(batch, w, self.d_model, device=device),
            torch.zeros(batch, w, device=device),
        )

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        k_cache, v_cache, valid = state
        batch, steps = x.shape[:2]
        w = self.window - 1
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        keys, values = torch.cat([k_cache, k], dim=1), torch.cat([v_cache, v], dim=1)
        valid_full = torch.cat([valid, torch.ones(batch, steps, device=x.device, dtype=valid.dtype)], dim=1)
        episode = torch.cumsum(starts, dim=1)
        episode_full = torch.cat([torch.zeros(batch, w, device=x.device, dtype=episode.dtype), episode], dim=1)
        query_pos = torch.arange(steps, device=x.device) + w
        dist = (query_pos[:, None] - torch.arange(w + steps, device=x.device)[None, :]).to(x.dtype)
        allowed = (dist >= 0) & (dist < self.window)
        allowed = allowed[None] & (valid_full[:, None, :] > 0) & (episode_full[:, None, :] == episode[:, :, None])
        dh = self.d_model // self.heads
        qh = q.view(batch, steps, self.heads, dh).transpose(1, 2)
        kh = keys.view(batch, -1, self.heads, dh).transpose(1, 2)
        vh = values.view(batch, -1, self.heads, dh).transpose(1, 2)
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(dh) - self.slopes.view(1, -1, 1, 1) * dist
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        out = (torch.softmax(scores, dim=-1) @ vh).transpose(1, 2).reshape(batch, steps, self.d_model)
        x = self.ff(x + self.drop(self.proj(out)))
        tail_valid = valid_full[:, -w:] * (episode_full[:, -w:] == episode[:, -1:]).to(valid.dtype)
        # Keys of an earlier game are zeroed as well as masked, so the state equals the one that
        # per-frame ``step`` calls with resets produce.
        tail = tail_valid[..., None]
        return x, (keys[:, -w:] * tail, values[:, -w:] * tail, tail_valid)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame (``x``: ``(batch, d_model)``) against the cached window: the same result as
        :meth:`forward` on one step, without building its masks (live play runs this per frame):
        the distance bias is fixed, a cached key that is not valid is masked by ``-inf``, and one
        fused ``scaled_dot_product_attention`` call does the rest. Cached keys of no game are
        zero already (initial state, :func:`~exphil_agents.backbones.base.reset`), so the state
        needs no masking."""
        k_cache, v_cache, valid = state
        batch, dh = x.shape[0], self.d_model // self.heads
        norm = self.norm
        h = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        q, k, v = F.linear(h, self.qkv.weight, self.qkv.bias).chunk(3, dim=-1)
        keys, values = torch.cat([k_cache, k[:, None]], dim=1), torch.cat([v_cache, v[:, None]], dim=1)
        valid_full = torch.cat([valid, valid.new_ones(batch, 1)], dim=1)
        bias = self.step_bias.expand(batch, -1, -1)[:, :, None]  # (batch, heads, 1, window)
        bias = bias.masked_fill(valid_full[:, None, None, :] <= 0, float("-inf"))
        out = F.scaled_dot_product_attention(
            q.view(batch, self.heads, 1, dh),
            keys.view(batch, -1, self.heads, dh).transpose(1, 2),
            values.view(batch, -1, self.heads, dh).transpose(1, 2),
            attn_mask=bias,
        ).reshape(batch, self.d_model)
        out = F.linear(out, self.proj.weight, self.proj.bias)
        x = self.ff(x + (self.drop(out) if self.training else out))
        return x, (keys[:, 1:], values[:, 1:], valid_full[:, 1:])


class AttentionBackbone(Backbone):
    name = "attention"

    def __init__(self, config: AttentionConfig, input_size: int) -> None:
        super().__init__(config, input_size)
        self.input_proj = nn.Linear(input_size, config.d_model)
        self.blocks = nn.ModuleList(
            AttentionBlock(config.d_model, config.heads, config.window, config.dropout) for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
        self.output_size = config.d_model
