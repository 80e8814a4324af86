"""Mamba backbone: selective state-space blocks (Gu & Dao, 2023) in plain PyTorch.

Each block: RMS norm, input projection to ``x`` and gate ``z``, a causal depthwise convolution
over the last ``d_conv`` frames, the selective scan ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t``,
``y_t = C_t h_t + D x_t``, gated by ``silu(z)``, projected back and added to the input. The scan
runs frame by frame (a CPU-friendly loop over elementwise ops); ``step`` keeps the convolution
buffer and the SSM state, so one frame costs the same however long the game has run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from exphil_agents.backbones.base import Backbone, Block, State


@dataclass(frozen=True)
class MambaConfig:
    """Args:
    d_model: width of the residual stream (and output).
    layers: Mamba blocks.
    d_state: SSM state size per channel.
    d_conv: causal convolution width (frames).
    expand: inner width as a multiple of ``d_model``.
    """

    d_model: int = 128
    layers: int = 2
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2


class MambaBlock(Block):
    def __init__(self, cfg: MambaConfig) -> None:
        super().__init__()
        d_inner = cfg.expand * cfg.d_model
        self.d_inner, self.d_state, self.d_conv = d_inner, cfg.d_state, cfg.d_conv
        self.dt_rank = math.ceil(cfg.d_model / 16)
        self.norm = nn.RMSNorm(cfg.d_model)
        self.in_proj = nn.Linear(cfg.d_model, 2 * d_inner, bias=False)
        self.conv_weight = nn.Parameter(torch.randn(d_inner, cfg.d_conv) / math.sqrt(cfg.d_conv))
        self.conv_bias = nn.Parameter(torch.zeros(d_inner))
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * cfg.d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        # dt starts log-uniform in [1e-3, 1e-1], as in the paper's initialisation.
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, cfg.d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, cfg.d_model, bias=False)

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        return (
            torch.zeros(batch, self.d_inner, self.d_conv - 1, device=device),
            torch.zeros(batch, self.d_inner, self.d_state, device=device),
        )

    def _ssm_inputs(self, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dt_r, b, c = self.x_proj(xs).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.softplus(self.dt_proj(dt_r)), b, c

    def forward(self, x: torch.Tensor, state: State, starts: torch.Tensor) -> tuple[torch.Tensor, State]:
        conv_state, ssm = state
        batch, steps = x.shape[:2]
        xs, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        k = self.d_conv
        # Causal depthwise conv over [previous k-1 inputs, this sequence]; an input only reaches
        # outputs of its own game (episode index from the cumulative starts).
        seq = torch.cat([conv_state.transpose(1, 2), xs], dim=1)
        episode = torch.cumsum(starts, dim=1)
        episode_full = torch.cat([torch.zeros(batch, k - 1, device=x.device, dtype=episode.dtype), episode], dim=1)
        conv = self.conv_bias.expand(batch, steps, -1)
        for j in range(k):
            same = (episode_full[:, j : j + steps] == episode).to(xs.dtype)[..., None]
            conv = conv + seq[:, j : j + steps] * self.conv_weight[:, j] * same
        xs = F.silu(conv)
        keep_tail = (episode_full[:, -(k - 1) :] == episode[:, -1:]).to(xs.dtype)[..., None]
        new_conv = (seq[:, -(k - 1) :] * keep_tail).transpose(1, 2)
        dt, b, c = self._ssm_inputs(xs)
        a = -torch.exp(self.A_log)
        ys = []
        for t in range(steps):
            ssm = ssm * (1.0 - starts[:, t]).view(batch, 1, 1)
            ssm = torch.exp(dt[:, t, :, None] * a) * ssm + (dt[:, t] * xs[:, t])[..., None] * b[:, t, None, :]
            ys.append((ssm * c[:, t, None, :]).sum(-1))
        y = (torch.stack(ys, dim=1) + self.D * xs) * F.silu(z)
        return x + self.out_proj(y), (new_conv, ssm)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame: the same result as :meth:`forward` on one step, in fewer calls (torch's
        functions instead of module calls, fused multiply-adds), as live play runs it per frame."""
        conv_state, ssm = state
        norm = self.norm
        h = F.rms_norm(x, norm.normalized_shape, norm.weight, norm.eps)
        xs, z = F.linear(h, self.in_proj.weight).chunk(2, dim=-1)
        seq = torch.cat([conv_state, xs[:, :, None]], dim=2)
        xs = F.silu((seq * self.conv_weight).sum(-1) + self.conv_bias)
        dt_r, b, c = F.linear(xs, self.x_proj.weight).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(F.linear(dt_r, self.dt_proj.weight, self.dt_proj.bias))
        decay = torch.exp(dt[..., None] * -torch.exp(self.A_log))
        ssm = torch.addcmul(decay * ssm, (dt * xs)[..., None], b[:, None, :])
        y = torch.addcmul(torch.bmm(ssm, c[..., None])[..., 0], self.D, xs) * F.silu(z)
        return x + F.linear(y, self.out_proj.weight), (seq[:, :, 1:], ssm)


class MambaBackbone(Backbone):
    name = "mamba"

    def __init__(self, config: MambaConfig, input_size: int) -> None:
        super().__init__(config, input_size)
        self.input_proj = nn.Linear(input_size, config.d_model)
        self.blocks = nn.ModuleList(MambaBlock(config) for _ in range(config.layers))
        self.norm = nn.RMSNorm(config.d_model)
        self.output_size = config.d_model
