"""``PolicyNetwork`` (input encoder + backbone + controller head) and its checkpoints.

A checkpoint is one ``.safetensors`` file: the weights, and in its metadata the JSON *spec* that
rebuilds the network (backbone name and config, observation config, embedding widths, head).
Loading compares that spec with what the caller asks for and names both sides of any mismatch;
nothing is unpickled. The metadata also holds a SHA-256 of the weights (names, dtypes, shapes and
bytes): a file damaged after it was written is refused with an error naming it, never loaded
silently (files written before the checksum existed load without the check). The spec carries the
controller codec's stick centres (k-means or uniform buckets), so whoever loads the network decodes
its stick outputs with the buckets it was trained on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from exphil_agents.backbones import Backbone, config_for, make_backbone
from exphil_agents.encoder import EmbedConfig, InputEncoder
from exphil_agents.heads import AutoregressiveHead, IndependentHead
from melee_envs.atomic import atomic_path
from melee_envs.controller import ControllerCodec, uniform_centres
from melee_envs.obs import ObsConfig

FORMAT = "exphil-policy-1"
#: The first stick component of the action (main stick x); all four stick axes share its buckets.
STICK_COMPONENT = 8


class PolicyNetwork(nn.Module):
    """Observation frames -> controller distribution, for any backbone.

    Args:
        backbone: backbone name; ``backbone_config`` its config overrides (dict or dataclass).
        obs_config: the observations' ``ObsConfig``; ``embed`` the id embedding widths.
        head: ``"independent"`` (SB3-compatible) or ``"autoregressive"``.
        nvec: action components (default: the controller codec's ACTION_SIZE).
        stick_centres: the stick buckets' values in [0, 1] (k-means centres); default uniform
            buckets of the stick components' width in ``nvec``.
    """

    def __init__(
        self,
        backbone: str = "mlp",
        backbone_config: Any = None,
        obs_config: ObsConfig | dict | None = None,
        embed: EmbedConfig | dict | None = None,
        head: str = "independent",
        nvec: list[int] | None = None,
        stick_centres: list[float] | None = None,
    ) -> None:
        super().__init__()
        if head not in ("independent", "autoregressive"):
            raise ValueError(f"head must be 'independent' or 'autoregressive'; got {head!r}")
        self.encoder = InputEncoder(obs_config, embed)
        self.backbone: Backbone = make_backbone(backbone, self.encoder.output_size, backbone_config)
        self.nvec = list(nvec or ControllerCodec().nvec.tolist())
        centres = stick_centres if stick_centres is not None else uniform_centres(self.nvec[STICK_COMPONENT])
        self.stick_centres = [round(float(c), 6) for c in centres]
        if len(self.stick_centres) != self.nvec[STICK_COMPONENT]:
            buckets = self.nvec[STICK_COMPONENT]
            raise ValueError(f"{len(self.stick_centres)} stick centres for {buckets} stick buckets (nvec {self.nvec})")
        head_cls = IndependentHead if head == "independent" else AutoregressiveHead
        self.head = head_cls(self.backbone.output_size, self.nvec)
        self.head_kind = head

    @property
    def spec(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "backbone": self.backbone.name,
            "backbone_config": asdict(self.backbone.config),
            "obs_config": asdict(self.encoder.obs_config),
            "obs_size": self.encoder.obs_size,
            "embed": asdict(self.encoder.embed_config),
            "head": self.head_kind,
            "nvec": self.nvec,
            "stick_centres": self.stick_centres,
        }

    @property
    def codec(self) -> ControllerCodec:
        """The controller codec of the network's outputs (its stick buckets)."""
        return ControllerCodec(stick_centres=np.asarray(self.stick_centres, np.float32))

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> PolicyNetwork:
        return cls(
            spec["backbone"], spec["backbone_config"], spec["obs_config"], spec["embed"], spec["head"], spec["nvec"],
            spec.get("stick_centres"),  # older checkpoints: uniform buckets
        )  # fmt: skip

    def forward(
        self, obs: torch.Tensor, state: tuple | None = None, episode_starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, tuple]:
        """``obs[B, T, F]`` -> latent ``[B, T, H]`` and the new state."""
        return self.backbone(self.encoder(obs), state, episode_starts)

    def step(self, obs: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        """``obs[B, F]`` -> latent ``[B, H]``, one frame at constant cost."""
        return self.backbone.step(self.encoder(obs), state)


def save_checkpoint(
    network: PolicyNetwork,
    path: str | Path,
    extra: dict[str, Any] | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write weights + spec to ``path`` (a ``.safetensors`` file) atomically.

    Args:
        tensors: the weights to write (a snapshot taken earlier, as a background writer does);
            default: the network's own, now.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if tensors is None:
        tensors = weights_snapshot(network)
    metadata = {"spec": json.dumps(network.spec), "extra": json.dumps(extra or {}), "sha256": weights_digest(tensors)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def weights_snapshot(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the network's weights on the CPU (later training steps do not change it)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in network.state_dict().items()}


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def load_weights(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a safetensors checkpoint, checked against the SHA-256 in its metadata.

    Raises:
        ValueError: the file is not readable as safetensors, or its weights do not match the
            checksum written with them (the file was damaged after it was saved).
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as fh:
            expected = (fh.metadata() or {}).get("sha256")
        tensors = load_file(str(path), device=device)
    except Exception as exc:  # safetensors raises its own error types for bad headers and data
        raise ValueError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    if expected is not None and weights_digest(tensors) != expected:
        raise ValueError(
            f"{path}: the weights do not match the checksum saved with them (the file was damaged after it "
            "was written); use a backup (e.g. the checkpoint's .bak folder) or retrain"
        )
    return tensors


def checkpoint_file(path: str | Path) -> Path:
    """The weights file of a checkpoint given as its folder (``.../best``) or the file itself."""
    p = Path(path)
    model = p / "model.safetensors" if p.is_dir() else p
    if not model.is_file():
        raise FileNotFoundError(f"{path}: no model.safetensors (pass a checkpoint folder or the file)")
    return model


def read_spec(path: str | Path) -> dict[str, Any]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise ValueError(f"{path}: not a safetensors checkpoint ({exc})") from None
    if "spec" not in metadata:
        raise ValueError(f"{path}: a safetensors file without an exphil spec (not saved by save_checkpoint)")
    spec = json.loads(metadata["spec"])
    if spec.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {spec.get('format')!r}; this version reads {FORMAT!r}")
    return spec


def load_checkpoint(
    path: str | Path,
    backbone: str | None = None,
    backbone_config: dict[str, Any] | None = None,
    obs_config: ObsConfig | dict | None = None,
) -> PolicyNetwork:
    """Rebuild the network saved at ``path``; any of ``backbone``, ``backbone_config`` (fields to
    check) and ``obs_config`` the caller expects are compared with the checkpoint first.

    Raises:
        ValueError: naming the checkpoint's value and the expected one for each mismatch.
    """
    spec = read_spec(path)
    problems = []
    if backbone is not None and backbone != spec["backbone"]:
        problems.append(f"backbone: checkpoint has {spec['backbone']!r}, expected {backbone!r}")
    if backbone_config:
        expected = asdict(config_for(backbone or spec["backbone"], **backbone_config))
        for key, value in backbone_config.items():
            if spec["backbone_config"].get(key) != expected[key]:
                problems.append(f"{key}: checkpoint has {spec['backbone_config'].get(key)!r}, expected {value!r}")
    if obs_config is not None:
        want = asdict(obs_config) if isinstance(obs_config, ObsConfig) else asdict(ObsConfig.from_dict(obs_config))
        diff = {k: (spec["obs_config"].get(k), v) for k, v in want.items() if spec["obs_config"].get(k) != v}
        if diff:
            sides = ", ".join(f"{k}: checkpoint {a!r} vs expected {b!r}" for k, (a, b) in diff.items())
            problems.append(f"observation layout differs ({sides})")
    if problems:
        raise ValueError(f"{path}: checkpoint does not match: " + "; ".join(problems))
    network = PolicyNetwork.from_spec(spec)
    state = load_weights(path)
    missing, unexpected = network.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the spec (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return network


def warm_start_kwargs(path: str | Path) -> dict[str, Any]:
    """The :class:`~exphil_agents.policies.BackbonePolicy` keyword arguments that fit the BC
    checkpoint at ``path`` (folder or file): its backbone and config, observation layout and
    embeddings, ``net_arch=[]``. A policy built with them takes :func:`warm_start`."""
    spec = read_spec(checkpoint_file(path))
    return {
        "backbone": spec["backbone"],
        "backbone_config": spec["backbone_config"],
        "obs_config": spec["obs_config"],
        "embed": spec["embed"],
        "net_arch": [],
    }


def warm_start(model: Any, path: str | Path) -> PolicyNetwork:
    """Load the BC checkpoint at ``path`` (folder or file) into an SB3 model built with
    :class:`~exphil_agents.policies.BackbonePolicy` and :func:`warm_start_kwargs` (PPO), or with
    :class:`~exphil_agents.policies.RecurrentBackbonePolicy` for an LSTM / GRU network
    (RecurrentPPO; ``cell`` = the backbone's name); returns the loaded network. Mismatches raise
    a ``ValueError`` naming both sides."""
    path = checkpoint_file(path)
    network = load_checkpoint(path)
    policy = getattr(model, "policy", model)
    if not hasattr(policy, "load_network"):
        raise ValueError(
            f"{type(policy).__name__} cannot take a BC checkpoint; use BackbonePolicy or RecurrentBackbonePolicy"
        )
    try:
        policy.load_network(network)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return network
