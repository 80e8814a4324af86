"""``exphil bc eval | kmeans | list | info | compare``: evaluating, fitting stick centres for, and
inspecting BC checkpoints (``exphil bc train`` is :mod:`imitation.bc_cli`)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import tyro

from imitation.cache import DEFAULT_CACHE
from melee_envs.controller import MAIN_X, uniform_centres
from melee_envs.envvars import cache_dir, checkpoints_dir, replays_dir


@dataclass(frozen=True)
class EvalCommand:
    """Evaluate a BC checkpoint on held-out replays and write a report."""

    checkpoint: tyro.conf.Positional[str]
    """A checkpoint folder (CHECKPOINTS/NAME/best) or its model.safetensors."""
    replays: str | None = None
    """Replays to evaluate on (default: the run's validation replays, from its meta.json)."""
    cache: str = field(default_factory=lambda: cache_dir(DEFAULT_CACHE))
    """dataset cache (default: $EXPHIL_CACHE_DIR, else .exphil-cache)."""
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
    from imitation.evaluate import (
        EvalResult,
        confidence_report,
        latency,
        predict_dataset,
        report_for,
        write_outputs,
    )
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
    pred, target, losses, segments, confidence = predict_dataset(network, dataset, max_examples=cmd.max_examples)
    result_report = report_for(pred, target, losses, segments, cmd.max_delay)
    result_report["confidence"] = confidence_report(pred, target, confidence)
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
    if result_report["confidence"]:
        parts = []
        for name, c in result_report["confidence"].items():
            sure = c["bands"]["0.9-1.0"]["accuracy"]
            parts.append(f"{name} {c['mean']:.2f}" + (f" ({sure:.0%})" if sure is not None else ""))
        console.print("confidence (mean; right when above 0.9): " + ", ".join(parts), markup=False)
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

    replays: tyro.conf.Positional[str] = field(default_factory=lambda: replays_dir("."))
    """replay folder (default: $EXPHIL_REPLAYS_DIR, else .)."""
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
    return checkpoints_dir("checkpoints")


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
    "CompareCommand", "EvalCommand", "InfoCommand", "KmeansCommand", "ListCommand", "compare", "evaluate", "info",
    "kmeans", "list_checkpoints",
]  # fmt: skip
