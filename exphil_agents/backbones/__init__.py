"""Backbones by name: ``make_backbone("mamba", input_size, d_model=256)``.

| name | config | memory |
|---|---|---|
| ``mlp`` | :class:`MLPConfig` | none (per frame) |
| ``lstm`` / ``gru`` | :class:`LSTMConfig` / :class:`GRUConfig` | recurrent state |
| ``mamba`` | :class:`MambaConfig` | convolution buffer + SSM state |
| ``attention`` | :class:`AttentionConfig` | key/value window |
| ``jamba`` | :class:`JambaConfig` | both, per layer |
"""

from __future__ import annotations

from typing import Any

from exphil_agents.backbones.attention import AttentionBackbone, AttentionConfig
from exphil_agents.backbones.base import Backbone, State
from exphil_agents.backbones.jamba import JambaBackbone, JambaConfig
from exphil_agents.backbones.mamba import MambaBackbone, MambaConfig
from exphil_agents.backbones.mlp import MLPBackbone, MLPConfig
from exphil_agents.backbones.recurrent import GRUBackbone, GRUConfig, LSTMBackbone, LSTMConfig
from melee_envs.configs import check_fields

#: name -> (config class, backbone class)
BACKBONES: dict[str, tuple[type, type[Backbone]]] = {
    "mlp": (MLPConfig, MLPBackbone),
    "lstm": (LSTMConfig, LSTMBackbone),
    "gru": (GRUConfig, GRUBackbone),
    "mamba": (MambaConfig, MambaBackbone),
    "attention": (AttentionConfig, AttentionBackbone),
    "jamba": (JambaConfig, JambaBackbone),
}


def config_for(name: str, **overrides: Any) -> Any:
    """The config dataclass of backbone ``name`` with ``overrides`` applied.

    Raises:
        ValueError: an unknown backbone name or config field, naming the valid ones.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    cls = BACKBONES[name][0]
    check_fields(cls, overrides, f"{name} backbone option")
    return cls(**overrides)


def width_field(name: str) -> str:
    """The config field that sets backbone ``name``'s width: ``hidden`` for the MLP and the
    recurrent cells, ``d_model`` for the others."""
    return "hidden" if name in ("mlp", "lstm", "gru") else "d_model"


def make_backbone(name: str, input_size: int, config: Any = None, **overrides: Any) -> Backbone:
    """Build backbone ``name`` for ``input_size`` features (``config`` or keyword overrides)."""
    if config is None:
        config = config_for(name, **overrides)
    elif isinstance(config, dict):
        config = config_for(name, **config, **overrides)
    return BACKBONES[name][1](config, input_size)


def describe(module: Any) -> str:
    """One line per top-level part with its parameter count, and the total."""
    lines = []
    total = 0
    for child_name, child in module.named_children():
        n = sum(p.numel() for p in child.parameters())
        total += n
        lines.append(f"  {child_name:24s} {n:>12,}")
    own = sum(p.numel() for p in module.parameters(recurse=False))
    if own:
        lines.append(f"  {'(own parameters)':24s} {own:>12,}")
        total += own
    name = getattr(module, "name", type(module).__name__)
    return "\n".join([f"{name}: {total:,} parameters", *lines])


__all__ = [
    "BACKBONES",
    "AttentionConfig",
    "Backbone",
    "GRUConfig",
    "JambaConfig",
    "LSTMConfig",
    "MLPConfig",
    "MambaConfig",
    "State",
    "config_for",
    "describe",
    "make_backbone",
    "width_field",
]
