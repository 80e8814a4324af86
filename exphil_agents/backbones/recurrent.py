"""LSTM and GRU backbones (PyTorch's fused cells), with per-row state resets."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from exphil_agents.backbones.base import Backbone, Block, State, keep_mask


@dataclass(frozen=True)
class RecurrentConfig:
    """Args:
    hidden: hidden (and output) size.
    layers: stacked recurrent layers.
    """

    hidden: int = 256
    layers: int = 1


@dataclass(frozen=True)
class LSTMConfig(RecurrentConfig):
    pass


@dataclass(frozen=True)
class GRUConfig(RecurrentConfig):
    pass


class _RecurrentBlock(Block):
    def __init__(self, cell: str, input_size: int, cfg: RecurrentConfig) -> None:
        super().__init__()
        self.cell = cell
        self.layers, self.hidden = cfg.layers, cfg.hidden
        kind = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = kind(input_size, cfg.hidden, num_layers=cfg.layers, batch_first=True)

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        n = 2 if self.cell == "lstm" else 1
        return tuple(torch.zeros(batch, self.layers, self.hidden, device=device) for _ in range(n))

    def _run(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        torch_state = tuple(s.transpose(0, 1).contiguous() for s in state)
        y, out = self.rnn(x, torch_state if self.cell == "lstm" else torch_state[0])
        out = out if isinstance(out, tuple) else (out,)
        return y, tuple(s.transpose(0, 1) for s in out)

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        state = tuple(s * keep_mask(starts[:, 0], s) for s in state)
        if not bool(starts[:, 1:].any()):
            return self._run(x, state)  # one fused call when no game restarts mid-sequence
        outputs = []
        for t in range(x.shape[1]):
            if t:
                state = tuple(s * keep_mask(starts[:, t], s) for s in state)
            y, state = self._run(x[:, t : t + 1], state)
            outputs.append(y)
        return torch.cat(outputs, dim=1), state

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame through torch's single-step cells with the module's own weights: at batch 1
        ``nn.LSTM`` takes ~440 us a call on 2 cores and ``torch.lstm_cell`` ~76 (``nn.GRU`` 72,
        ``torch.gru_cell`` 50); the same results as :meth:`forward` to float precision."""
        rnn, lstm = self.rnn, self.cell == "lstm"
        hs, cs = [], []
        for layer, weights in enumerate(rnn.all_weights):  # [w_ih, w_hh, b_ih, b_hh] per layer
            if lstm:
                x, c = torch.lstm_cell(x, (state[0][:, layer], state[1][:, layer]), *weights)
                cs.append(c)
            else:
                x = torch.gru_cell(x, state[0][:, layer], *weights)
            hs.append(x)
        new = (torch.stack(hs, dim=1), torch.stack(cs, dim=1)) if lstm else (torch.stack(hs, dim=1),)
        return x, new


class LSTMBackbone(Backbone):
    name = "lstm"
    cell = "lstm"

    def __init__(self, config: RecurrentConfig, input_size: int) -> None:
        super().__init__(config, input_size)
        self.blocks = nn.ModuleList([_RecurrentBlock(self.cell, input_size, config)])
        self.output_size = config.hidden

    @property
    def rnn(self) -> nn.Module:
        """The ``nn.LSTM`` / ``nn.GRU`` inside."""
        return self.blocks[0].rnn

    @property
    def num_layers(self) -> int:
        """As ``nn.LSTM`` names it (RecurrentPPO sizes its state buffers from these two)."""
        return self.config.layers

    @property
    def hidden_size(self) -> int:
        return self.config.hidden


class GRUBackbone(LSTMBackbone):
    name = "gru"
    cell = "gru"
