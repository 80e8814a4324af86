"""The backbone protocol every network trunk follows, and the pieces the trunks share.

A backbone maps per-frame input features ``x`` to latent features, carrying a *state* between
calls: nothing for the MLP, ``(h, c)`` for an LSTM, a convolution buffer and SSM state for
Mamba, a key/value window for attention. States are tuples of tensors with the batch first and
start at zero, so resetting games (``episode_starts``) is a multiplication, whatever the backbone.

* ``initial_state(batch)`` -> the zero state;
* ``forward(x[B, T, F], state, episode_starts[B, T])`` -> ``(y[B, T, H], state)``: a whole
  sequence (training); ``episode_starts[b, t]`` resets row ``b``'s state before frame ``t``;
* ``step(x[B, F], state)`` -> ``(y[B, H], state)``: one frame at constant cost (live play).

``forward`` over T frames equals T calls of ``step`` (each backbone's tests check it).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

State = tuple[torch.Tensor, ...]


def keep_mask(starts: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``1 - starts`` shaped to broadcast over a batch-first state tensor ``like``."""
    return (1.0 - starts.to(like.dtype)).view((-1,) + (1,) * (like.dim() - 1))


def reset(state: State, starts: torch.Tensor | None) -> State:
    """Zero the state rows whose episode starts now."""
    if starts is None or not bool(starts.any()):
        return state
    return tuple(s * keep_mask(starts, s) for s in state)


class Block(nn.Module):
    """One stateful layer; backbones stack them and concatenate their states."""

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        return ()

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        y, state = self.forward(x[:, None], state, torch.zeros(x.shape[0], 1, device=x.device))
        return y[:, 0], state


class Backbone(nn.Module):
    """A stack of :class:`Block`\\ s behind the protocol above.

    Subclasses set ``self.blocks`` (``nn.ModuleList``), ``self.input_proj``, ``self.norm`` and
    ``output_size``. ``name`` and ``config`` identify the architecture in checkpoints.
    """

    name = "base"

    def __init__(self, config: Any, input_size: int) -> None:
        super().__init__()
        self.config = config
        self.input_size = input_size
        self.output_size = 0
        self.blocks = nn.ModuleList()
        self.input_proj: nn.Module = nn.Identity()
        self.norm: nn.Module = nn.Identity()

    @property
    def spec(self) -> dict[str, Any]:
        """What a checkpoint records to rebuild (and check) this architecture."""
        return {"backbone": self.name, "config": asdict(self.config), "input_size": self.input_size}

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> State:
        if device is None:
            device = next(self.parameters()).device
        return tuple(s for block in self.blocks for s in block.initial_state(batch, torch.device(device)))

    def _split(self, state: State) -> list[State]:
        counts = self.__dict__.get("_state_counts")
        if counts is None:
            counts = [len(block.initial_state(1, torch.device("meta"))) for block in self.blocks]
            self.__dict__["_state_counts"] = counts
        if len(state) != sum(counts):
            raise ValueError(f"{self.name} backbone expects a state of {sum(counts)} tensors; got {len(state)}")
        out, k = [], 0
        for n in counts:
            out.append(tuple(state[k : k + n]))
            k += n
        return out

    def forward(
        self, x: torch.Tensor, state: State | None = None, episode_starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        batch, steps = x.shape[:2]
        if state is None:
            state = self.initial_state(batch, x.device)
        if episode_starts is None:
            episode_starts = torch.zeros(batch, steps, device=x.device)
        episode_starts = episode_starts.to(x.dtype)
        h = self.input_proj(x)
        new_state: list[torch.Tensor] = []
        for block, block_state in zip(self.blocks, self._split(state), strict=True):
            h, s = block(h, block_state, episode_starts)
            new_state.extend(s)
        return self.norm(h), tuple(new_state)

    def step(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        return self.step_projected(self.input_proj(x), state)

    def step_projected(self, h: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """:meth:`step` on a frame whose input projection is already applied (live play folds
        the projection into the encoder: :class:`~exphil_agents.encoder.ProjectedEncoder`)."""
        if state is None:
            state = self.initial_state(h.shape[0], h.device)
        new_state: list[torch.Tensor] = []
        for block, block_state in zip(self.blocks, self._split(state), strict=True):
            h, s = block.step(h, block_state)
            new_state.extend(s)
        return self.norm(h), tuple(new_state)


class FeedForward(nn.Module):
    """Pre-norm residual MLP sub-layer."""

    def __init__(self, size: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(size), nn.Linear(size, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, size)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The Sequential's modules hold the weights (and name them in checkpoints); calling the
        # functions directly skips a module call per layer, which batch-1 live play feels.
        norm, up, _, drop, down = self.net
        h = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        h = F.gelu(F.linear(h, up.weight, up.bias))
        if drop.p and self.training:
            h = drop(h)
        return x + F.linear(h, down.weight, down.bias)
