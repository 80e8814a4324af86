"""Architecture benchmark on replays (``exphil bench backbones``).

Every backbone is trained by behavioural cloning on one dataset built from ``--replays``, with
the same validation replays (the split is by file and seeded), the same optimizer steps, batch,
window, width, learning-rate schedule and seed, so each sees the same training examples. Per
backbone it reports:

* validation loss (best and final) and per-component accuracy on the held-out replays, with the
  loss at every evaluation (the learning curve);
* training speed in frames per second (examples x window), and as a multiple of the MLP's;
* live-play latency: one frame at batch 1 through :class:`~exphil_agents.agent.Agent`, median
  and 99th percentile, next to a plain torch MLP of the same size measured in the same run;
* the parameter count and the backbone's cost in the window length L.

Results go to ``OUT/backbones.json`` (with the machine and the load average before and after each
backbone) after every backbone, atomically, so an interrupted run keeps what it finished. A second
run in the same folder with the same settings reuses what the first finished (``--fresh``
retrains) and keeps the backbones it does not name, so rows can be added one run at a time; an
earlier run with other settings is renamed ``backbones-DATE.json`` (and ``.html``), never lost.
``OUT/backbones.html`` is a self-contained page with the tables and charts
(:mod:`imitation.report`). A backbone that fails is reported with its error at the end (exit
status 1) and the others still run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from imitation.cache import DEFAULT_CACHE
from imitation.config import Backbone
from melee_envs.envvars import cache_dir, replays_dir

#: The backbones in the order the report lists them.
BACKBONE_NAMES: tuple[Backbone, ...] = get_args(Backbone)

#: Each backbone's cost in the window length L: training over a window, and one frame in play.
COMPLEXITY = {
    "mlp": ("O(L), frames independent", "O(1)"),
    "lstm": ("O(L), sequential", "O(1), carried state"),
    "gru": ("O(L), sequential", "O(1), carried state"),
    "mamba": ("O(L), parallel scan", "O(1), carried state"),
    "attention": ("O(L^2)", "O(L), over the window"),
    "jamba": ("O(L) + O(L^2) in its attention layers", "O(L) in its attention layers"),
}

#: Settings that must match for a saved result to be reused (everything that changes a number).
SETTINGS = (
    "replays", "steps", "window", "batch_size", "hidden", "layers", "lr", "eval_every", "eval_batches",
    "val_fraction", "max_files", "seed", "act_frames", "device",
)  # fmt: skip


@dataclass(frozen=True)
class BackboneBenchConfig:
    """Train every backbone by BC for the same steps on the same replays and validation split;
    write loss, accuracy, training speed, act latency and size to JSON and an HTML report."""

    replays: str = field(default_factory=lambda: replays_dir("../shared/replays"))
    """replay folder (default: $EXPHIL_REPLAYS_DIR, else ../shared/replays)."""
    out: Path = Path("bench-backbones")
    """folder for backbones.json and backbones.html."""
    backbones: tuple[Backbone, ...] = BACKBONE_NAMES
    steps: int = 2000
    """optimizer steps per backbone (the same budget for each)."""
    window: int = 8
    """frames per example, for every backbone (the MLP reads each frame alone)."""
    batch_size: int = 64
    hidden: int = 64
    """width of every backbone (hidden size, or d_model)."""
    layers: int = 2
    lr: float = 1e-3
    eval_every: int = 200
    """steps between validation evaluations (the learning curve's points)."""
    eval_batches: int = 8
    val_fraction: float = 0.1
    """share of replay files held out for validation (the same files for every backbone)."""
    max_files: int = 0
    """use only the first N replay files, sorted by path (0: all)."""
    seed: int = 0
    act_frames: int = 500
    """timed one-frame ``act`` calls per backbone (after a warm-up)."""
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    """where the networks train (auto: cuda when torch sees a GPU); act latency is always timed on
    the CPU at batch 1, as live play runs it."""
    cache: str = field(default_factory=lambda: cache_dir(DEFAULT_CACHE))
    """dataset cache (default: $EXPHIL_CACHE_DIR, else .exphil-cache)."""
    html: bool = True
    """also write backbones.html (needs matplotlib); --no-html writes the JSON only."""
    fresh: bool = False
    """retrain every backbone even where OUT/backbones.json holds it with these settings."""

    def validate(self) -> None:
        """Raise ``ValueError`` naming every setting out of range."""
        unknown = [b for b in self.backbones if b not in BACKBONE_NAMES]
        if unknown:
            raise ValueError(f"--backbones: unknown {', '.join(unknown)} (known: {', '.join(BACKBONE_NAMES)})")
        if not self.backbones:
            raise ValueError("--backbones: name at least one backbone")
        checks = {
            "steps": self.steps >= 1, "window": self.window >= 1, "batch-size": self.batch_size >= 1,
            "hidden": self.hidden >= 1, "layers": self.layers >= 1, "lr": math.isfinite(self.lr) and self.lr > 0,
            "eval-every": self.eval_every >= 1, "eval-batches": self.eval_batches >= 1,
            "val-fraction": 0 < self.val_fraction < 1, "max-files": self.max_files >= 0,
            "act-frames": self.act_frames >= 10,
        }  # fmt: skip
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"--{name} {getattr(self, name.replace('-', '_'))!r}" for name in bad)
            raise ValueError(f"out of range: {values}")

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTINGS}


def machine_info() -> dict[str, Any]:
    """What the figures were measured on: processor, cores, memory, torch, GPU, load."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    gpu = None
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = f"{props.name}, {props.total_memory / 2**30:.0f} GiB"
    from importlib.metadata import PackageNotFoundError, version

    try:
        exphil = version("exphil")
    except PackageNotFoundError:
        exphil = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(memory, 1) if memory else None,
        "gpu": gpu,
        "cuda": bool(gpu),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "exphil": exphil,
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _dataset(config: BackboneBenchConfig) -> tuple[Any, list[str]]:
    from imitation.build import build_dataset, find_replays

    root = Path(config.replays)
    if not root.is_dir():
        raise FileNotFoundError(f"--replays {root}: no such folder (set --replays or EXPHIL_REPLAYS_DIR)")
    files = sorted(find_replays([root]))
    if config.max_files:
        files = files[: config.max_files]
    if not files:
        raise FileNotFoundError(f"--replays {root}: no .slp files")
    report = build_dataset(files, config.cache, workers=0, progress=False)
    if not report.built and not report.cached:
        raise ValueError(f"--replays {root}: none of the {len(files)} files is usable:\n{report.summary()}")
    return report, [str(f) for f in files]


def _train_one(config: BackboneBenchConfig, backbone: str, dataset_dir: Path, reference: dict) -> dict[str, Any]:
    from exphil_agents.bench import _act_latency
    from imitation.bc import Trainer
    from imitation.config import BCConfig

    bc = BCConfig.from_dict(
        {
            "data": {"window": config.window, "val_fraction": config.val_fraction},
            "model": {"backbone": backbone, "hidden": config.hidden, "layers": config.layers},
            "optim": {
                "steps": config.steps, "batch_size": config.batch_size, "lr": config.lr,
                "warmup_steps": min(200, config.steps // 10), "device": config.device,
            },
            "runtime": {
                "seed": config.seed, "eval_every": config.eval_every, "eval_batches": config.eval_batches,
                "tensorboard": False,
            },
        }
    )  # fmt: skip
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix=f"exphil-bench-{backbone}-") as tmp:
        trainer = Trainer(dataset_dir, tmp, bc)
        val_files = sorted(trainer.val_files)
        start = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - start
        network = trainer.network.cpu().eval()
        history = trainer.history
    last = history[-1]
    rates = [h["samples_per_s"] for h in history if "samples_per_s" in h]
    frames_per_s = sorted(rates)[len(rates) // 2] * config.window if rates else math.nan
    latency = _act_latency(network, config.act_frames, long_game=0)
    params = sum(p.numel() for p in network.parameters())
    accuracy = {key.split("/", 1)[1]: value for key, value in last.items() if key.startswith("val_acc/")}
    return {
        "params": params,
        "best_val_loss": result["best_val_loss"],
        "final_val_loss": last["val/loss"],
        "val_accuracy": accuracy,
        "mean_accuracy": sum(accuracy.values()) / max(len(accuracy), 1),
        "curve": [{"step": h["step"], "val_loss": h["val/loss"], "train_loss": h.get("train/loss")} for h in history],
        "train_frames_per_s": frames_per_s,
        "train_seconds": seconds,
        "epochs": result["epochs"],
        "act_ms": latency["median"],
        "act_p99_ms": latency["p99"],
        "act_vs_reference": latency["median"] / reference["median"],
        "complexity_train": COMPLEXITY[backbone][0],
        "complexity_play": COMPLEXITY[backbone][1],
        "val_files": val_files,
        "load_before": load_before,
        "load_after": _load(),
    }


def _reference(config: BackboneBenchConfig, dataset_dir: Path) -> dict[str, float]:
    """A plain torch MLP's one-frame latency, with as many parameters as this run's MLP network."""
    from exphil_agents.bench import _reference_latency
    from exphil_agents.network import PolicyNetwork
    from imitation.dataset import ReplayDataset

    dataset = ReplayDataset(dataset_dir)
    codec = dataset.config.codec()
    mlp = PolicyNetwork(
        "mlp", {"hidden": config.hidden, "layers": config.layers}, dataset.config.obs, nvec=codec.nvec.tolist()
    )
    params = sum(p.numel() for p in mlp.parameters())
    return _reference_latency(mlp.encoder.obs_size, codec.nvec.tolist(), params, config.act_frames)


def _val_files(dataset_dir: Path, config: BackboneBenchConfig) -> list[str]:
    """The validation replays every backbone gets (as :class:`~imitation.bc.Trainer` splits)."""
    from imitation.dataset import ReplayDataset
    from imitation.runs import split_by_file

    dataset = ReplayDataset(dataset_dir)
    _, val = split_by_file(dataset, config.val_fraction, config.seed)
    return sorted(str(Path(dataset.shards[s].info["source"]).resolve()) for s in val)


def _earlier(out: Path, config: BackboneBenchConfig, val_files: list[str], say: Any) -> dict[str, dict[str, Any]]:
    """The finished backbones of an earlier run in ``out`` with the same settings and validation
    replays, to reuse.

    An earlier run with other settings or validation replays (or any, with ``--fresh``) is not overwritten: its JSON
    and HTML are renamed ``backbones-DATE.*`` first and their new names printed.
    """
    path = out / "backbones.json"
    if not path.exists():
        return {}
    try:
        earlier = json.loads(path.read_text())
        same = not config.fresh and earlier.get("settings") == json.loads(json.dumps(config.settings()))
    except (OSError, ValueError):
        earlier, same = {}, False
    rows = earlier.get("results", {}).items() if same else ()
    if same and all(row.get("val_files") == val_files for _, row in rows if "error" not in row):
        return {name: row for name, row in rows if "error" not in row}
    stamp = str(earlier.get("date") or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat())
    stamp = stamp[:19].replace(":", "-")
    for suffix in (".json", ".html"):
        old = path.with_suffix(suffix)
        if old.exists():
            kept = out / f"backbones-{stamp}{suffix}"
            old.replace(kept)
            say(f"kept the earlier run's {old.name} as {kept}", markup=False)
    return {}


def run(config: BackboneBenchConfig) -> dict[str, Any]:
    """Train and measure every backbone; returns what ``backbones.json`` holds."""
    from imitation.report import check_report_deps, write_report
    from melee_envs.atomic import write_text_atomic
    from melee_envs.messages import console as at_level
    from melee_envs.threads import training_threads

    config.validate()
    if config.html:
        check_report_deps()  # before any training, not after it
    summary, progress, detail = at_level(0), at_level(1), at_level(2)
    progress.print(training_threads("bc"), markup=False)
    detail.print_json(data={"settings": config.settings(), "machine": machine_info()}, default=str)
    report, files = _dataset(config)
    summary.print(report.summary(), markup=False)  # with every file left out, at any verbosity
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "backbones.json"
    val_files = _val_files(report.directory, config)
    reused = _earlier(out, config, val_files, progress.print)
    reference = _reference(config, report.directory)
    progress.print(
        f"reference: a plain torch MLP of the same size, {reference['median']:.3f} ms per frame (median)",
        markup=False,
    )
    doc: dict[str, Any] = {
        "benchmark": "exphil bench backbones",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": json.loads(json.dumps(config.settings())),
        "dataset": {
            "directory": str(report.directory),
            "files": len(files),
            "examples": report.rows,
            "failed": [{"file": f, "reason": r} for f, r in report.failed],
            "skipped": [{"file": f, "reason": r} for f, r in report.skipped],
        },  # fmt: skip
        "val_files": val_files,
        "reference": {"what": "plain torch MLP, same parameter count as the MLP network", **reference},
        "load_start": _load(),
        "results": {},
    }
    for backbone, row in reused.items():  # measured earlier with these settings and not named now: kept
        if backbone not in config.backbones:
            doc["results"][backbone] = {**row, "reused": True}
    for backbone in config.backbones:
        if backbone in reused:
            doc["results"][backbone] = {**reused[backbone], "reused": True}
            progress.print(f"{backbone}: reused from {json_path} (same settings; --fresh retrains)", markup=False)
            continue
        progress.print(f"{backbone}: training {config.steps} steps (load {_load():.2f})", markup=False)
        try:
            row = _train_one(config, backbone, report.directory, reference)
        except Exception as exc:  # one backbone's failure is reported; the others still run
            doc["results"][backbone] = {"error": f"{type(exc).__name__}: {exc}"}
            progress.print(f"{backbone}: failed: {type(exc).__name__}: {exc}", markup=False, style="red")
        else:
            doc["results"][backbone] = row
            progress.print(
                f"{backbone}: best val loss {row['best_val_loss']:.4f}, accuracy {row['mean_accuracy']:.3f}, "
                f"{row['train_frames_per_s']:,.0f} frames/s, act {row['act_ms']:.3f} ms "
                f"({row['act_vs_reference']:.2f}x ref), {row['params']:,} params",
                markup=False,
            )
        write_text_atomic(json_path, json.dumps(doc, indent=1) + "\n")  # kept after every backbone
    if any(r["val_files"] != val_files for r in doc["results"].values() if "val_files" in r):
        raise RuntimeError("the backbones were validated on different replays; the comparison is void")
    doc["load_end"] = _load()
    write_text_atomic(json_path, json.dumps(doc, indent=1) + "\n")
    written = [json_path]
    if config.html:
        written.append(write_report(doc, out / "backbones.html"))
    summary.print(results_table(doc))
    summary.print("wrote " + ", ".join(map(str, written)), markup=False)
    return doc


def ranked(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The finished backbones, best validation loss first."""
    done = [(name, row) for name, row in doc["results"].items() if "error" not in row]
    return sorted(done, key=lambda item: item[1]["best_val_loss"])


def results_table(doc: dict[str, Any]) -> Any:
    """The console table of a run (the HTML report has the same columns)."""
    from rich.table import Table

    settings = doc["settings"]
    table = Table(
        title=(
            f"BC on {doc['dataset']['files']} replay files: {settings['steps']} steps x {settings['batch_size']} x "
            f"window {settings['window']}, width {settings['hidden']}, {settings['layers']} layers; "
            f"reference act {doc['reference']['median']:.3f} ms"
        )
    )
    columns = ("#", "backbone", "params", "val loss", "accuracy", "frames/s", "act ms", "x ref")
    for col in columns:
        table.add_column(col, justify="left" if col == "backbone" else "right", no_wrap=True)
    for rank, (name, row) in enumerate(ranked(doc), 1):
        table.add_row(
            str(rank), name, f"{row['params']:,}", f"{row['best_val_loss']:.4f}", f"{row['mean_accuracy']:.3f}",
            f"{row['train_frames_per_s']:,.0f}", f"{row['act_ms']:.3f}", f"{row['act_vs_reference']:.2f}",
        )  # fmt: skip
    for name, row in doc["results"].items():
        if "error" in row:
            table.add_row("-", name, "[red]failed[/red] (see the notes)", *[""] * (len(columns) - 3))
    return table


def main(config: BackboneBenchConfig) -> int:
    doc = run(config)
    failed = {name: row["error"] for name, row in doc["results"].items() if "error" in row}
    if failed:
        from melee_envs.messages import error

        error(f"{len(failed)} backbone(s) failed: " + "; ".join(f"{n}: {e}" for n, e in failed.items()))
        return 1
    return 0
