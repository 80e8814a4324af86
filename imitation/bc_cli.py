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
import sys
import time
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tyro

from imitation.bc import OptimConfig
from melee_envs.controller import MAIN_X, uniform_centres

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
    cache: str = ".exphil-cache"
    """Where built datasets are kept (keyed by settings and file content; reused)."""
    characters: tuple[str, ...] = ()
    """Keep only players of these characters (empty: all)."""
    stages: tuple[str, ...] = ()
    """Keep only games on these stages (empty: all)."""
    mirror: bool = False
    """Add a left-right mirrored copy of every game (x, facing and stick x flipped together)."""
    delay: int = 0
    """Target the input this many frames later (online play's input delay), fixed in the dataset."""
    delay_max: int = 0
    """Frame-delay augmentation: targets a further 0..DELAY_MAX frames later, drawn per example."""
    noise: float = 0.0
    """Gaussian noise (std) on continuous observation features while training."""
    stick_centres: str | None = None
    """JSON file of stick bucket centres (from exphil bc kmeans); default: 17 uniform buckets."""
    window: int = 1
    """Frames per example: 1 = single-frame; more = temporal windows for sequence backbones."""
    val_fraction: float = 0.1
    """Share of replay files held out for validation (split by file: no frame leaks)."""
    workers: int = 0
    """Processes that build the dataset (0: this process)."""


@dataclass(frozen=True)
class ModelSection:
    backbone: Literal["mlp", "lstm", "gru", "mamba", "attention", "jamba"] = "mlp"
    hidden: int = 256
    """Width of the backbone (``hidden`` of MLP/LSTM/GRU, ``d_model`` of the others)."""
    layers: int = 2


@dataclass(frozen=True)
class RuntimeSection:
    checkpoints: str = "checkpoints"
    """Folder that holds one folder per run."""
    name: str = "bc"
    """Run name: checkpoints go to CHECKPOINTS/NAME; an existing run is resumed."""
    seed: int = 0
    eval_every: int = 250
    save_every: int = 0
    patience: int = 0
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
    from imitation.bc import BCConfig

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
    from imitation.bc import lock_run, resume_source

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


@dataclass(frozen=True)
class EvalCommand:
    """Evaluate a BC checkpoint on held-out replays and write a report."""

    checkpoint: tyro.conf.Positional[str]
    """A checkpoint folder (CHECKPOINTS/NAME/best) or its model.safetensors."""
    replays: str | None = None
    """Replays to evaluate on (default: the run's validation replays, from its meta.json)."""
    cache: str = ".exphil-cache"
    out: str | None = None
    """Report folder (default: CHECKPOINT/eval)."""
    max_delay: int = 6
    """Also score predictions against the input 1..MAX_DELAY frames later."""
    max_examples: int = 0
    """Evaluate at most this many examples (0: all)."""
    stick_centres: str | None = None
    """The k-means centres file a checkpoint saved before centres were kept in checkpoints was
    trained with (newer checkpoints carry their own)."""


def evaluate(cmd: EvalCommand) -> int:
    """``exphil bc eval``."""
    from rich.console import Console

    from exphil_agents.network import checkpoint_file, load_checkpoint
    from imitation.build import build_dataset
    from imitation.dataset import DatasetConfig, ReplayDataset
    from imitation.evaluate import EvalResult, latency, predict_dataset, report_for, write_outputs
    from melee_envs.obs import ObsConfig

    if cmd.max_delay < 0:
        raise ValueError(f"--max-delay must be >= 0; got {cmd.max_delay}")
    model_path = checkpoint_file(cmd.checkpoint)
    folder = model_path.parent
    network = load_checkpoint(model_path)
    if cmd.replays is not None:
        sources: list[Any] = [Path(cmd.replays)]
        if not sources[0].exists():
            raise FileNotFoundError(f"replay folder {cmd.replays} does not exist")
    else:
        meta = folder / "meta.json"
        if not meta.exists():
            raise ValueError(f"{folder}: no meta.json with validation replays; pass --replays")
        sources = [Path(p) for p in json.loads(meta.read_text()).get("val_files", [])]
        missing = [str(p) for p in sources if not p.exists()]
        if not sources or missing:
            raise FileNotFoundError(f"{folder}: validation replays not found ({', '.join(missing) or 'none listed'})")
    config = DatasetConfig(obs=ObsConfig.from_dict(network.spec["obs_config"]))
    config = replace(config, stick_centres=target_centres(model_path, network, cmd.stick_centres, config))
    report = build_dataset(sources, cmd.cache, config, workers=0, progress=False)
    if report.failed or report.skipped:  # say which replays the scores leave out, and why
        print(report.summary(), file=sys.stderr)
    if not report.built and not report.cached:
        raise ValueError(f"no usable replays to evaluate: {len(report.failed)} failed, {len(report.skipped)} skipped")
    dataset = ReplayDataset(report.directory)
    pred, target, losses, segments = predict_dataset(network, dataset, max_examples=cmd.max_examples)
    result_report = report_for(pred, target, losses, segments, cmd.max_delay)
    result_report["latency"] = latency(network, dataset.obs_size)
    result_report["checkpoint"] = str(model_path)
    result_report["replays"] = [str(s) for s in sources]
    out = Path(cmd.out) if cmd.out else folder / "eval"
    written = write_outputs(out, EvalResult(result_report, pred, target))
    console = Console()
    acc = result_report["accuracy"]
    console.print(
        f"{result_report['examples']:,} examples: buttons {acc['buttons']:.3f}, main stick {acc['main_stick']:.3f}, "
        f"c-stick {acc['c_stick']:.3f}, shoulder {acc['shoulder']:.3f}; loss {result_report['loss']['total']:.3f}; "
        f"latency p50 {result_report['latency']['p50_ms']:.2f} ms"
    )
    console.print("wrote " + ", ".join(str(p) for p in written), markup=False)
    return 0


def target_centres(model_path: Path, network: Any, centres_file: str | None, config: Any) -> tuple[float, ...]:
    """The stick centres to encode evaluation targets with: the checkpoint's own (``()`` for the
    default uniform buckets), or ``centres_file``'s for an older checkpoint that did not keep them.

    Raises:
        ValueError: the checkpoint's stick buckets are not the default, it does not say which
            centres they were, and no ``--stick-centres`` file was given (or it disagrees).
    """
    from exphil_agents.network import read_spec
    from imitation.kmeans import read_centres

    saved = read_spec(model_path).get("stick_centres")
    buckets = network.nvec[MAIN_X]
    if centres_file is not None:
        given = read_centres(centres_file)
        if len(given) != buckets or (saved is not None and not np.allclose(given, saved, atol=1e-5)):
            raise ValueError(
                f"--stick-centres {centres_file}: {len(given)} centres, but {model_path} was trained with "
                f"{buckets} stick buckets{' at ' + str(saved) if saved is not None else ''}"
            )
        return tuple(given)
    if saved is None and buckets != config.stick_buckets:
        raise ValueError(
            f"{model_path}: {buckets} stick buckets (k-means centres) but the checkpoint predates saved centres; "
            "pass the centres file it was trained with: --stick-centres FILE"
        )
    centres = tuple(network.stick_centres)
    default = tuple(round(float(c), 6) for c in uniform_centres(config.stick_buckets))
    return () if centres == default else centres


@dataclass(frozen=True)
class KmeansCommand:
    """Fit stick bucket centres to the stick positions in replays (1-D k-means over all axes)."""

    replays: tyro.conf.Positional[str]
    k: int = 21
    """Number of centres."""
    out: str = "stick_centres.json"
    max_files: int = 0
    """Read at most this many replays (0: all)."""


def kmeans(cmd: KmeansCommand) -> int:
    """``exphil bc kmeans``."""
    from imitation.kmeans import fit_centres, stick_values, write_centres

    if not 2 <= cmd.k <= 127:
        raise ValueError(f"--k must be 2..127; got {cmd.k}")
    values, used, failed = stick_values([Path(cmd.replays)], cmd.max_files)
    centres = fit_centres(values, cmd.k)
    write_centres(Path(cmd.out), centres, {"k": cmd.k, "samples": int(values.size), "replays": len(used)})
    print(f"{cmd.k} centres from {values.size:,} stick values in {len(used)} replays -> {cmd.out}")
    print("centres: " + " ".join(f"{c:.3f}" for c in centres))
    for line in failed:
        print(f"skipped {line}")
    return 0


def _describe(model_path: Path) -> dict[str, Any]:
    from exphil_agents.network import read_spec

    spec = read_spec(model_path)
    meta_path = model_path.parent / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    from safetensors import safe_open

    with safe_open(str(model_path), framework="pt") as fh:
        params = sum(int(np.prod(fh.get_slice(k).get_shape())) for k in fh.keys())
    last = (meta.get("history") or [{}])[-1]
    return {
        "path": str(model_path.parent),
        "backbone": spec["backbone"],
        "backbone_config": spec["backbone_config"],
        "head": spec["head"],
        "obs_size": spec["obs_size"],
        "parameters": params,
        "step": meta.get("step"),
        "best_val_loss": meta.get("best_val_loss"),
        "last_metrics": {k: v for k, v in last.items() if k != "step"},
        "config": meta.get("config", {}),
        "modified": time.strftime("%Y-%m-%d %H:%M", time.localtime(model_path.stat().st_mtime)),
    }


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _checkpoints_dir() -> str:
    return os.environ.get("EXPHIL_CHECKPOINTS_DIR", "checkpoints")


@dataclass(frozen=True)
class ListCommand:
    """List the checkpoints under a folder."""

    root: tyro.conf.Positional[str] = field(default_factory=_checkpoints_dir)
    """the folder (default: $EXPHIL_CHECKPOINTS_DIR, else checkpoints)."""


@dataclass(frozen=True)
class InfoCommand:
    """Show one checkpoint's settings and metrics."""

    checkpoint: tyro.conf.Positional[str]


@dataclass(frozen=True)
class CompareCommand:
    """Show two checkpoints' settings side by side (differences in yellow)."""

    first: tyro.conf.Positional[str]
    second: tyro.conf.Positional[str]


def list_checkpoints(cmd: ListCommand) -> int:
    """``exphil bc list``."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    root = Path(cmd.root)
    if not root.is_dir():
        raise FileNotFoundError(f"checkpoint folder {root} does not exist")
    table = Table(title=f"checkpoints under {root}")
    for col in ("checkpoint", "backbone", "parameters", "step", "best val loss", "modified"):
        table.add_column(col)
    found = sorted(p for p in root.rglob("model.safetensors") if not p.parent.name.startswith("."))
    for model in found:
        try:
            d = _describe(model)
        except ValueError as exc:
            table.add_row(str(model.parent.relative_to(root)), f"unreadable: {exc}", "", "", "", "")
            continue
        loss = d["best_val_loss"]
        table.add_row(
            str(model.parent.relative_to(root)), d["backbone"], f"{d['parameters']:,}", str(d["step"]),
            f"{loss:.4f}" if isinstance(loss, float) else "", d["modified"],
        )  # fmt: skip
    console.print(table)
    return 0


def info(cmd: InfoCommand) -> int:
    """``exphil bc info``."""
    from rich.console import Console

    from exphil_agents.network import checkpoint_file

    Console().print_json(json.dumps(_describe(checkpoint_file(cmd.checkpoint))))
    return 0


def compare(cmd: CompareCommand) -> int:
    """``exphil bc compare``."""
    from rich.console import Console
    from rich.table import Table

    from exphil_agents.network import checkpoint_file

    console = Console()
    args = (cmd.first, cmd.second)
    a, b = (_describe(checkpoint_file(x)) for x in args)
    table = Table(title="compare")
    for col in ("setting", args[0], args[1]):
        table.add_column(col)
    fa, fb = _flatten(a), _flatten(b)
    for key in sorted(set(fa) | set(fb)):
        if key in ("path", "modified"):
            continue
        va, vb = fa.get(key), fb.get(key)
        mark = "" if va == vb else "[bold yellow]"
        table.add_row(f"{mark}{key}", str(va), str(vb))
    console.print(table)
    return 0


__all__ = [
    "CompareCommand", "EvalCommand", "InfoCommand", "KmeansCommand", "ListCommand", "TrainCommand",
    "compare", "evaluate", "info", "kmeans", "list_checkpoints", "resolve", "train",
]  # fmt: skip
