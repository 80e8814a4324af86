"""``exphil bc``: behavioural cloning from the command line.

``exphil bc train`` takes nested settings (``--data.*``, ``--model.*``, ``--optim.*``,
``--runtime.*``). Where a value comes from, strongest first: the command line, the environment
(``EXPHIL_REPLAYS_DIR``, ``EXPHIL_CHECKPOINTS_DIR``, ``EXPHIL_CACHE_DIR``), ``--config FILE``
(YAML or JSON, the same nesting), ``--preset quick|standard|full``, the defaults. Unknown keys in
a file and mistyped flags are errors that name the closest valid one.
"""

from __future__ import annotations

import difflib
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import tyro

from imitation.bc import BCConfig, OptimConfig
from imitation.cache import DEFAULT_CACHE

ENV_DEFAULTS = {
    ("data", "replays"): "EXPHIL_REPLAYS_DIR",
    ("data", "cache"): "EXPHIL_CACHE_DIR",
    ("runtime", "checkpoints"): "EXPHIL_CHECKPOINTS_DIR",
}


@dataclass(frozen=True)
class DataSection:
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
    delay_max: int = BCConfig.delay_max
    """Frame-delay augmentation: targets a further 0..DELAY_MAX frames later, drawn per example."""
    noise: float = BCConfig.noise
    """Gaussian noise (std) on continuous observation features while training."""
    stick_centres: str | None = None
    """JSON file of stick bucket centres (from exphil bc kmeans); default: 17 uniform buckets."""
    window: int = BCConfig.window
    """Frames per example: 1 = single-frame; more = temporal windows for sequence backbones."""
    val_fraction: float = BCConfig.val_fraction
    """Share of replay files held out for validation (split by file: no frame leaks)."""
    workers: int = 0
    """Processes that build the dataset (0: this process)."""


@dataclass(frozen=True)
class ModelSection:
    backbone: Literal["mlp", "lstm", "gru", "mamba", "attention", "jamba"] = BCConfig.backbone
    hidden: int = 256
    """Width of the backbone (``hidden`` of MLP/LSTM/GRU, ``d_model`` of the others)."""
    layers: int = 2


@dataclass(frozen=True)
class RuntimeSection:
    checkpoints: str = "checkpoints"
    """Folder that holds one folder per run."""
    name: str = "bc"
    """Run name: checkpoints go to CHECKPOINTS/NAME; an existing run is resumed."""
    seed: int = BCConfig.seed
    eval_every: int = BCConfig.eval_every
    save_every: int = BCConfig.save_every
    patience: int = BCConfig.patience
    tensorboard: bool = True
    """Write TensorBoard scalars to CHECKPOINTS/NAME/tb."""
    overwrite: bool = False
    """Start afresh when a run of this name exists, moving it aside to NAME.replaced-TIME."""
    resume: bool = True
    """Continue a run of this name that exists (printing every setting that differs from its
    start); --runtime.no-resume refuses instead (for scripts that must start fresh)."""


@dataclass(frozen=True)
class TrainCommand:
    """Train a BC policy on replays (builds or reuses the dataset, then trains or resumes)."""

    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimConfig = field(default_factory=OptimConfig)
    runtime: RuntimeSection = field(default_factory=RuntimeSection)
    config: str | None = None
    """YAML or JSON file with any of these settings, nested the same way."""
    preset: Literal["quick", "standard", "full"] | None = None
    """quick: 300 steps of a 64-wide MLP; standard: the defaults; full: 50k steps, 512 wide."""
    dry_run: bool = False
    """Check the settings and the data, print the plan, train nothing."""


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {"model": {"hidden": 64}, "optim": {"steps": 300, "warmup_steps": 20, "batch_size": 128}},
    "standard": {},
    "full": {"model": {"hidden": 512, "layers": 3}, "optim": {"steps": 50_000, "warmup_steps": 1000}},
}


def _merge(base: Any, values: dict[str, Any], where: str) -> Any:
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
            updates[key] = _merge(current, value, f"{where}.{key}")
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
        elif isinstance(current, (str, Path)) or current is None:
            if current is None or isinstance(value, (str, Path)):
                return want(value) if current is not None else value
        else:
            return value
    except ValueError:
        pass
    kinds = {bool: "true or false", int: "an integer", float: "a number", tuple: "a list", str: "text"}
    kind = kinds.get(want, want.__name__)
    raise ValueError(f"{where}: expected {kind}; got {value!r}")


def read_config_file(path: str) -> dict[str, Any]:
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


def _prescan(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def resolve(args: list[str], prog: str = "exphil bc train") -> TrainCommand:
    """The settings for ``args``: defaults < preset < file < environment < command line."""
    base = TrainCommand()
    preset = _prescan(args, "--preset")
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"--preset {preset!r}; choose one of {list(PRESETS)}")
        base = _merge(base, PRESETS[preset], "preset")
    config = _prescan(args, "--config")
    if config is not None:
        base = _merge(base, read_config_file(config), config)
    for (section, key), var in ENV_DEFAULTS.items():
        if os.environ.get(var):
            base = _merge(base, {section: {key: os.environ[var]}}, var)
    return tyro.cli(TrainCommand, args=args, default=base, prog=prog)


def to_bc_config(cmd: TrainCommand):
    width = "hidden" if cmd.model.backbone in ("mlp", "lstm", "gru") else "d_model"
    return BCConfig(
        backbone=cmd.model.backbone,
        backbone_config={width: cmd.model.hidden, "layers": cmd.model.layers},
        window=cmd.data.window,
        val_fraction=cmd.data.val_fraction,
        noise=cmd.data.noise,
        delay_max=cmd.data.delay_max,
        eval_every=cmd.runtime.eval_every,
        save_every=cmd.runtime.save_every,
        patience=cmd.runtime.patience,
        seed=cmd.runtime.seed,
        **asdict(cmd.optim),
    )


def dataset_config(cmd: TrainCommand):
    from imitation.dataset import DatasetConfig
    from imitation.kmeans import read_centres

    centres = read_centres(cmd.data.stick_centres) if cmd.data.stick_centres else ()
    return DatasetConfig(
        characters=cmd.data.characters,
        stages=cmd.data.stages,
        mirror=cmd.data.mirror,
        delay=cmd.data.delay,
        stick_centres=centres,
    )


def train(cmd: TrainCommand) -> int:
    """``exphil bc train``."""
    from rich.console import Console

    console = Console()
    bc = to_bc_config(cmd)
    bc.validate()
    replays = Path(cmd.data.replays)
    if not replays.is_dir():
        raise FileNotFoundError(f"replay folder {replays} does not exist (set --data.replays or EXPHIL_REPLAYS_DIR)")
    files = sorted(replays.rglob("*.slp"))
    if not files:
        raise FileNotFoundError(f"no .slp files under {replays}")
    run_dir = Path(cmd.runtime.checkpoints) / cmd.runtime.name
    if cmd.dry_run:
        from exphil_agents.network import PolicyNetwork

        net = PolicyNetwork(bc.backbone, bc.backbone_config, dataset_config(cmd).obs)
        params = sum(p.numel() for p in net.parameters())
        console.print(f"[bold]plan[/bold] (dry run: nothing trained)\n{json.dumps(asdict(cmd), indent=1)}")
        console.print(
            f"replays: {len(files)} .slp files under {replays}; model: {bc.backbone}, {params:,} parameters; "
            f"{bc.steps:,} steps x {bc.batch_size} x {bc.accumulate} examples; checkpoints: {run_dir}"
        )
        return 0
    from imitation.bc import Trainer
    from imitation.build import build_dataset

    existing_run(run_dir, bc, cmd.runtime, console)

    report = build_dataset(replays, cmd.data.cache, dataset_config(cmd), workers=cmd.data.workers, progress=True)
    console.print(report.summary(), markup=False)
    if not report.built and not report.cached:
        raise ValueError(
            f"no usable replays under {replays}: {len(report.failed)} failed, {len(report.skipped)} skipped"
        )
    trainer = Trainer(report.directory, run_dir, bc, tensorboard=cmd.runtime.tensorboard)
    console.print(
        f"seed {bc.seed}; {len(trainer.train_data.segments)} training / {len(trainer.val_data.segments)} validation "
        f"segments ({len(trainer.val_files)} validation replays); device {trainer.device}, {bc.precision}"
    )
    if trainer.step:
        console.print(f"resuming {run_dir} at step {trainer.step}")
    result = trainer.train(progress=True)
    console.print(
        f"done: {result['step']} steps ({result['epochs']:.2f} epochs) in {result['seconds']:.1f} s; "
        f"best validation loss {result['best_val_loss']:.4f}; checkpoints in {run_dir} (best/, last/)"
    )
    return 0


def existing_run(run_dir: Path, bc: Any, runtime: RuntimeSection, console: Any) -> None:
    """What to do when ``run_dir`` already holds a run: resume it (saying which settings differ from
    its last checkpoint), move it aside (``--runtime.overwrite``) or refuse (``--runtime.no-resume``).

    Raises:
        FileExistsError: the run exists and ``--runtime.no-resume`` was given.
        RuntimeError: another process is writing the run.
    """
    from imitation.runs import lock_run, resume_source

    if not run_dir.is_dir() or not any((run_dir / n).exists() for n in ("last", "last.bak", "best")):
        return
    if runtime.overwrite:
        lock = lock_run(run_dir)  # not while another process is writing it
        aside = run_dir.with_name(f"{run_dir.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(run_dir, aside)
        lock.close()
        console.print(f"[yellow]--runtime.overwrite: moved the existing run to {aside}; starting afresh[/yellow]")
        return
    source = resume_source(run_dir)
    if not runtime.resume:
        raise FileExistsError(
            f"{run_dir}: a run of this name exists"
            + (f" ({source.name}, step {json.loads((source / 'meta.json').read_text())['step']})" if source else "")
            + "; --runtime.overwrite replaces it, or choose another --runtime.name"
        )
    if source is None:
        return
    saved = json.loads((source / "meta.json").read_text()).get("config", {})
    for key, now in asdict(bc).items():
        if key in saved and saved[key] != now and not (isinstance(now, tuple) and list(now) == saved[key]):
            change = f"{key}: {saved[key]!r} -> {now!r}"
            console.print(f"[yellow]resuming {source}; setting changed since it was saved: {change}[/yellow]")


__all__ = ["TrainCommand", "resolve", "train"]
