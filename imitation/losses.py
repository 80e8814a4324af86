"""BC losses: cross-entropy per controller component (label smoothing, focal weighting, button
weight), their total, and the learning-rate schedule."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from exphil_agents.network import PolicyNetwork
from melee_envs.controller import NUM_BUTTONS

if TYPE_CHECKING:
    from imitation.config import OptimConfig


def component_losses(network: PolicyNetwork, latent: torch.Tensor, actions: torch.Tensor, cfg: OptimConfig):
    """Mean cross-entropy per action component ``[ACTION_SIZE]`` (label smoothing, focal weighting)."""
    logits = network.head.logits(latent) if hasattr(network.head, "logits") else None
    if logits is None:
        raise ValueError("per-component BC losses need the independent head")
    out = []
    start = 0
    for k, n in enumerate(network.nvec):
        part = logits[..., start : start + n].reshape(-1, n)
        target = actions[..., k].reshape(-1)
        ce = F.cross_entropy(part, target, reduction="none", label_smoothing=cfg.label_smoothing)
        if cfg.focal_gamma > 0:
            p = torch.exp(-F.cross_entropy(part, target, reduction="none"))
            ce = ce * (1 - p) ** cfg.focal_gamma
        out.append(ce.mean())
        start += n
    return torch.stack(out)


def total_loss(per_component: torch.Tensor, cfg: OptimConfig) -> torch.Tensor:
    weights = torch.ones_like(per_component)
    weights[:NUM_BUTTONS] = cfg.button_weight
    return (per_component * weights).sum()


def _lr_lambda(cfg: OptimConfig):
    def factor(step: int) -> float:
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
        if cfg.schedule == "linear":
            return 1.0 - progress
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor
