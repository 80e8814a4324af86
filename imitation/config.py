"""The settings of a behavioural-cloning run, in the one shape every caller uses.

:class:`BCConfig` has four sections, the same in Python, in ``exphil bc train`` flags
(``--data.window 8``), in YAML/JSON config files and in a checkpoint's ``meta.json``:

* :class:`DataConfig` (``data``): which replays, how the dataset is built, how examples are cut;
* :class:`ModelConfig` (``model``): the backbone and its size;
* :class:`OptimConfig` (``optim``): the optimiser, the loss and the precision;
* :class:`RuntimeConfig` (``runtime``): where checkpoints go, seed, evaluations, early stopping.

Every default is written once, here. :meth:`BCConfig.from_dict` applies a nested mapping (a
config file, a preset) with unknown keys and wrongly typed values named; :func:`read_config_file`
reads one.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import tyro

from imitation.cache import DEFAULT_CACHE

#: The backbones a BC run can train (see :mod:`exphil_agents.backbones`).
Backbone = Literal["mlp", "lstm", "gru", "mamba", "attention", "jamba"]


@dataclass(frozen=True)
class DataConfig:
    """Which replays, and how examples are cut from them."""

    replays: str = "replays"
    """Folder of .slp files (searched recursively)."""
    cache: str = DEFAULT_CACHE
    """Where built datasets are kept (keyed by settings and file content; reused)."""
    characters: tuple[str, ...] = ()
    """Keep only players of these characters (empty: all)."""
    stages: tuple[str, ...] = ()
    """Keep only games on these stages (empty: all)."""
    mirror: bool = False
    """Add a left-right mirrored copy of every game (x, facing and stick x flipped together)."""
    delay: int = 0
    """Target the input this many frames later (online play's input delay), fixed in the dataset."""
    delay_min: int = 0
    """Frame-delay augmentation: each training example's target is a further ``d`` frames later,
    ``d`` drawn per example from [DELAY_MIN, DELAY_MAX]."""
    delay_max: int = 0
    """Upper end of the frame-delay augmentation (0: none)."""
    noise: float = 0.0
    """Std of Gaussian noise on the continuous observation features while training (ids for
    embeddings are never perturbed)."""
    stick_centres: str | None = None
    """JSON file of stick bucket centres (from exphil bc kmeans); default: 17 uniform buckets."""
    window: int = 1
    """Frames per example: 1 = single-frame; more = temporal windows (loss on every frame)."""
    player_styles: int = 0
    """Style-conditioned imitation: give each player an id in an observation slot this wide (the
    seed used 112; 0 = off), so the network learns whose game it imitates (see docs/bc.md)."""
    player_registry: str | None = None
    """JSON registry of player ids (``{"size": N, "players": {name: id}}``; names not in it are
    hashed); every name a build sees is written back to it. Default: CHECKPOINTS/NAME/players.json."""
    obs: Literal["learned", "default", "seed_1204"] = "learned"
    """Observation layout: learned (compact, ids for embeddings; 121 values), default (the env's
    one-hot, 1035), seed_1204 (the original's 1204-wide layout)."""
    val_fraction: float = 0.1
    """Share of replay files held out for validation (split by file: no frame leaks)."""
    workers: int = 0
    """Processes that build the dataset (0: this process)."""


@dataclass(frozen=True)
class ModelConfig:
    """The network: a backbone (see exphil_agents.backbones) between the encoder and the heads."""

    backbone: Backbone = "mlp"
    hidden: int = 256
    """Width of the backbone (``hidden`` of MLP/LSTM/GRU, ``d_model`` of the others)."""
    layers: int = 2
    attention_every: int | None = None
    """Jamba only: layer ``i`` (1-based) is attention when ``i % N == 0`` (at most the layer count;
    default: 3, or the last layer when there are fewer)."""
    options: tyro.conf.Suppress[dict[str, Any]] = field(default_factory=dict)
    """Further backbone settings by name (e.g. ``{"num_heads": 8}``); from Python or a config
    file, not a flag."""

    @property
    def backbone_config(self) -> dict[str, Any]:
        """What :class:`~exphil_agents.network.PolicyNetwork` takes as ``backbone_config``."""
        from exphil_agents.backbones import width_field

        extra = {} if self.attention_every is None else {"attention_every": self.attention_every}
        return {width_field(self.backbone): self.hidden, "layers": self.layers, **extra, **self.options}


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation settings."""

    steps: int = 5000
    """Optimizer steps."""
    batch_size: int = 256
    """Examples per micro-batch (single frames or windows)."""
    lr: float = 1e-3
    """AdamW peak learning rate."""
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    """Linear warmup from 0 to ``lr``."""
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    """Decay after the warmup."""
    grad_clip: float = 1.0
    """Clip the gradient's global norm (0 = off)."""
    accumulate: int = 1
    """Micro-batches per optimizer step (gradient accumulation)."""
    ema: float = 0.0
    """Decay of an exponential moving average of the weights (0 = off); saved and evaluated."""
    label_smoothing: float = 0.0
    focal_gamma: float = 0.0
    """Focal-loss exponent (0 = plain cross-entropy)."""
    button_weight: float = 1.0
    """Weight of the button losses against the sticks and shoulder."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """cpu, cuda, or auto (cuda when available)."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Autocast precision: bf16 or fp16 (with gradient scaling) are meant for GPUs."""


@dataclass(frozen=True)
class RuntimeConfig:
    """Where the run lives and how often it is evaluated and saved."""

    checkpoints: str = "checkpoints"
    """Folder that holds one folder per run."""
    name: str = "bc"
    """Run name: checkpoints go to CHECKPOINTS/NAME; an existing run is resumed."""
    seed: int = 0
    eval_every: int = 250
    """Evaluate on the validation replays every this many steps (and at the end)."""
    eval_batches: int = 8
    """Validation batches per evaluation (the same batches every time)."""
    save_every: int = 0
    """Also keep a checkpoint every this many steps (0 = only last and best)."""
    patience: int = 0
    """Stop when validation loss has not improved for this many evaluations (0 = never)."""
    tensorboard: bool = True
    """Write TensorBoard scalars to CHECKPOINTS/NAME/tb."""
    overwrite: bool = False
    """Start afresh when a run of this name exists, moving it aside to NAME.replaced-TIME."""
    backup: bool = True
    """--runtime.no-backup: --runtime.overwrite deletes the existing run instead of moving it aside."""
    backup_count: int = 3
    """Runs moved aside by --runtime.overwrite kept per name (the oldest beyond it are deleted)."""
    resume: bool = True
    """Continue a run of this name that exists (printing every setting that differs from its
    start); --runtime.no-resume refuses instead (for scripts that must start fresh)."""


@dataclass(frozen=True)
class BCConfig:
    """Every setting of a BC run, in four sections (see the module docstring)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "BC settings") -> BCConfig:
        """The defaults with ``values`` (nested like the sections) applied; an unknown key or a
        value of the wrong kind is a ``ValueError`` naming it (and the closest valid key)."""
        return merge(cls(), values, where)

    def settings(self) -> dict[str, Any]:
        """Every setting by its dotted name (``"optim.lr"``), as flags and diffs name them."""
        return flat_settings(asdict(self))

    def validate(self) -> None:
        """Raise ``ValueError`` naming every setting out of its range."""
        d, o, r = self.data, self.optim, self.runtime
        checks = {
            "data.window": d.window >= 1,
            "data.val_fraction": 0.0 < d.val_fraction < 1.0,
            "data.noise": math.isfinite(d.noise) and d.noise >= 0.0,
            "data.delay": d.delay >= 0,
            "data.delay_max": 0 <= d.delay_min <= d.delay_max,
            "data.workers": d.workers >= 0,
            "model.hidden": self.model.hidden >= 1,
            "model.layers": self.model.layers >= 1,
            "model.attention_every": self.model.attention_every is None
            or (self.model.backbone == "jamba" and 1 <= self.model.attention_every <= self.model.layers),
            "data.obs": d.obs in ("learned", "default", "seed_1204"),
            "data.player_styles": d.player_styles == 0 or d.player_styles >= 2,
            "optim.steps": o.steps >= 1,
            "optim.batch_size": o.batch_size >= 1,
            "optim.lr": math.isfinite(o.lr) and o.lr > 0,
            "optim.weight_decay": math.isfinite(o.weight_decay) and o.weight_decay >= 0,
            "optim.warmup_steps": o.warmup_steps >= 0,
            "optim.schedule": o.schedule in ("cosine", "linear", "constant"),
            "optim.grad_clip": math.isfinite(o.grad_clip) and o.grad_clip >= 0,
            "optim.accumulate": o.accumulate >= 1,
            "optim.ema": 0.0 <= o.ema < 1.0,
            "optim.label_smoothing": 0.0 <= o.label_smoothing < 1.0,
            "optim.focal_gamma": math.isfinite(o.focal_gamma) and o.focal_gamma >= 0,
            "optim.button_weight": math.isfinite(o.button_weight) and o.button_weight >= 0,
            "optim.device": o.device in ("auto", "cpu", "cuda"),
            "optim.precision": o.precision in ("fp32", "bf16", "fp16"),
            "runtime.eval_every": r.eval_every >= 1,
            "runtime.eval_batches": r.eval_batches >= 1,
            "runtime.save_every": r.save_every >= 0,
            "runtime.backup_count": r.backup_count >= 0,
            "runtime.patience": r.patience >= 0,
        }
        values = self.settings()
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid BC settings: {', '.join(f'{k}={values[k]!r}' for k in bad)}")


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "runtime": RuntimeConfig}


def flat_settings(config: dict[str, Any]) -> dict[str, Any]:
    """A saved run's settings by dotted name: the sections of :class:`BCConfig`, or the single
    flat mapping that older checkpoints saved (each name placed in its section now)."""
    out: dict[str, Any] = {}
    if any(isinstance(config.get(name), dict) for name in _SECTIONS):
        for section, values in config.items():
            for key, value in values.items() if isinstance(values, dict) else ():
                out[f"{section}.{key}"] = value
        return out
    home = {f.name: section for section, cls in _SECTIONS.items() for f in fields(cls)}
    for key, value in config.items():
        if key in home:
            out[f"{home[key]}.{key}"] = value
    return out


def merge(base: Any, values: dict[str, Any], where: str) -> Any:
    """``base`` (a dataclass) with ``values`` applied, nested; unknown keys name the closest one."""
    names = {f.name: f for f in fields(base)}
    updates = {}
    for key, value in values.items():
        if key not in names:
            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(names)}"
            raise ValueError(f"{where}: unknown setting {key!r}{hint}")
        current = getattr(base, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{where}: {key!r} must be a mapping of settings")
            updates[key] = merge(current, value, f"{where}.{key}")
        else:
            updates[key] = _typed(current, value, f"{where}: {key}")
    return replace(base, **updates)


def _typed(current: Any, value: Any, where: str) -> Any:
    """``value`` as the type of the setting's default ``current`` (environment values arrive as
    text); a value of another kind is an error naming the setting, not a crash later."""
    want = type(current)
    try:
        if isinstance(current, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, bool):
                return value
        elif isinstance(current, int):
            if isinstance(value, str) or (isinstance(value, float) and value.is_integer()):
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif isinstance(current, float):
            if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                return float(value)
        elif isinstance(current, tuple):
            if isinstance(value, (list, tuple)):
                return tuple(value)
        elif isinstance(current, dict):
            if isinstance(value, dict):
                return dict(value)
        elif isinstance(current, (str, Path)) or current is None:
            if current is None or isinstance(value, (str, Path)):
                return want(value) if current is not None else value
        else:
            return value
    except ValueError:
        pass
    kinds = {bool: "true or false", int: "an integer", float: "a number", tuple: "a list", str: "text"}
    kinds[dict] = "a mapping"
    kind = kinds.get(want, want.__name__)
    raise ValueError(f"{where}: expected {kind}; got {value!r}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML (``.yaml``/``.yml``) or JSON file; errors name the file and the place."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {p} does not exist")
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"config file {p} is not a text file (YAML or JSON expected)") from None
    if p.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:  # pragma: no cover - depends on the environment
            raise RuntimeError(f"{p}: reading YAML needs PyYAML (pip install pyyaml), or use JSON") from None
        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ValueError(f"config file {p} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    else:
        try:
            values = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"config file {p} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{p}: expected a mapping of settings at the top level")
    return values


__all__ = [
    "BCConfig",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "RuntimeConfig",
    "flat_settings",
    "merge",
    "read_config_file",
]
