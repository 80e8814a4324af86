"""``exphil bc``: behavioural cloning from the command line.

``exphil bc train`` takes nested settings (``--data.*``, ``--model.*``, ``--optim.*``,
``--runtime.*``). Where a value comes from, strongest first: the command line, the environment
(``EXPHIL_REPLAYS_DIR``, ``EXPHIL_CHECKPOINTS_DIR``, ``EXPHIL_CACHE_DIR``), ``--config FILE``
(YAML or JSON, the same nesting), ``--preset quick|standard|full`` (else
``EXPHIL_DEFAULT_PRESET``), the defaults. Unknown keys in
a file and mistyped flags are errors that name the closest valid one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import tyro

from imitation.config import BCConfig, RuntimeConfig, flat_settings, merge, read_config_file
from melee_envs import envvars
from melee_envs.obs import ObsConfig

ENV_DEFAULTS = {
    ("data", "replays"): envvars.REPLAYS_DIR,
    ("data", "cache"): envvars.CACHE_DIR,
    ("runtime", "checkpoints"): envvars.CHECKPOINTS_DIR,
}


@dataclass(frozen=True)
class TrainCommand(BCConfig):
    """Train a BC policy on replays (builds or reuses the dataset, then trains or resumes)."""

    config: str | None = None
    """YAML or JSON file with any of these settings, nested the same way."""
    preset: Literal["quick", "standard", "full"] | None = None
    """quick: 300 steps of a 64-wide MLP; standard: the defaults; full: 50k steps, 512 wide."""
    dry_run: bool = False
    """Check the settings and the data, print the plan, train nothing."""
    argv: tyro.conf.Suppress[tuple[str, ...]] = ()
    """The arguments the command was given (--nproc runs them again under torchrun)."""
    nproc: int = 1
    """Train on this many processes (DistributedDataParallel: gloo on CPU, NCCL on GPUs, one GPU
    each); starts them through torchrun. optim.batch_size is the global batch."""

    @property
    def bc(self) -> BCConfig:
        """The run's settings without the command's own options."""
        return BCConfig(self.data, self.model, self.optim, self.runtime)


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {"model": {"hidden": 64}, "optim": {"steps": 300, "warmup_steps": 20, "batch_size": 128}},
    "standard": {},
    "full": {"model": {"hidden": 512, "layers": 3}, "optim": {"steps": 50_000, "warmup_steps": 1000}},
}

#: Settings that say where or how a run is kept, not what it learns: a resume does not report them.
NOT_REPORTED = {
    "runtime.checkpoints", "runtime.name", "runtime.overwrite", "runtime.resume", "runtime.backup",
    "runtime.backup_count", "data.workers",
}  # fmt: skip


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
    source = "--preset"
    if preset is None and envvars.value(envvars.DEFAULT_PRESET):
        preset, source = envvars.value(envvars.DEFAULT_PRESET), f"${envvars.DEFAULT_PRESET}"
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"{source} {preset!r}; choose one of {list(PRESETS)}")
        base = merge(base, PRESETS[preset], "preset")
    config = _prescan(args, "--config")
    if config is not None:
        base = merge(base, read_config_file(config), config)
    for (section, key), var in ENV_DEFAULTS.items():
        if envvars.value(var):
            base = merge(base, {section: {key: envvars.value(var)}}, var)
    from dataclasses import replace

    return replace(tyro.cli(TrainCommand, args=args, default=base, prog=prog), argv=tuple(args))


def dataset_config(cmd: TrainCommand):
    from imitation.dataset import DatasetConfig
    from imitation.kmeans import read_centres

    centres = read_centres(cmd.data.stick_centres) if cmd.data.stick_centres else ()
    obs = ObsConfig.preset(cmd.data.obs)
    styles: tuple[tuple[str, int], ...] = ()
    if cmd.data.player_styles:
        from dataclasses import replace

        from imitation.players import PlayerRegistry

        obs = replace(obs, player_names=cmd.data.player_styles)
        registry = PlayerRegistry.load(registry_path(cmd), cmd.data.player_styles)
        styles = tuple(sorted(registry.fixed.items()))
    return DatasetConfig(
        obs=obs,
        characters=cmd.data.characters,
        stages=cmd.data.stages,
        mirror=cmd.data.mirror,
        delay=cmd.data.delay,
        stick_centres=centres,
        player_styles=cmd.data.player_styles,
        style_ids=styles,
    )


def registry_path(cmd: TrainCommand) -> Path:
    """Where the run's player registry is (``--data.player-registry``, else in the run folder)."""
    if cmd.data.player_registry:
        return Path(cmd.data.player_registry)
    return Path(cmd.runtime.checkpoints) / cmd.runtime.name / "players.json"


def train(cmd: TrainCommand) -> int:
    """``exphil bc train``."""
    from imitation import distributed
    from melee_envs.messages import console as at_level, progress_enabled

    bc = cmd.bc
    bc.validate()
    if cmd.nproc < 1:
        raise ValueError(f"--nproc must be at least 1; got {cmd.nproc}")
    if cmd.nproc > 1 and not distributed.world().distributed and not cmd.dry_run:
        return _launch(cmd.nproc, list(cmd.argv))
    here = distributed.world()
    # The summary prints at every verbosity; progress not under --quiet; details with --verbose.
    # Only the main process prints (the others train the same run in step with it).
    console, progress, detail = (at_level(level if here.main else 99) for level in (0, 1, 2))
    replays = Path(cmd.data.replays)
    if not replays.is_dir():
        raise FileNotFoundError(f"replay folder {replays} does not exist (set --data.replays or EXPHIL_REPLAYS_DIR)")
    files = sorted(replays.rglob("*.slp"))
    if not files:
        raise FileNotFoundError(f"no .slp files under {replays}")
    run_dir = Path(cmd.runtime.checkpoints) / cmd.runtime.name
    if cmd.dry_run:
        from exphil_agents.network import PolicyNetwork

        dataset = dataset_config(cmd)
        dataset.validate()  # character and stage names, stick buckets: named here, not mid-build
        net = PolicyNetwork(bc.model.backbone, bc.model.backbone_config, dataset.obs)
        params = sum(p.numel() for p in net.parameters())
        console.print(f"[bold]plan[/bold] (dry run: nothing trained)\n{json.dumps(_shown(cmd), indent=1)}")
        console.print(
            f"replays: {len(files)} .slp files under {replays}; model: {bc.model.backbone}, {params:,} parameters; "
            f"{bc.optim.steps:,} steps x {bc.optim.batch_size} x {bc.optim.accumulate} examples; "
            f"checkpoints: {run_dir}",
            highlight=False,
        )
        console.print(f"run: {run_plan(run_dir, cmd.runtime)}", highlight=False)
        return 0
    from imitation.bc import Trainer
    from imitation.build import build_dataset
    from melee_envs.threads import training_threads

    here = distributed.start(distributed.device_kind(bc.optim.device))
    if here.main:
        existing_run(run_dir, bc, cmd.runtime, console)
    progress.print(training_threads("bc"), markup=False)
    detail.print_json(data=_shown(cmd), default=str)

    dataset = dataset_config(cmd)  # after existing_run: an overwritten run's registry went aside with it
    if not here.main:
        distributed.barrier()  # the main process builds (or checks) the cache first; then it is all cached
    report = build_dataset(
        replays, cmd.data.cache, dataset, workers=cmd.data.workers, progress=progress_enabled() and here.main
    )
    if here.main:
        distributed.barrier()
    console.print(report.summary(), markup=False)  # with every file that failed, at any verbosity
    if cmd.data.player_styles and here.main:
        path = registry_path(cmd)
        path.parent.mkdir(parents=True, exist_ok=True)
        dataset.registry().save(path, report.styles)
        progress.print(f"player styles: {len(report.styles)} players in {path}", markup=False)
    if not report.built and not report.cached:
        raise ValueError(
            f"no usable replays under {replays}: {len(report.failed)} failed, {len(report.skipped)} skipped"
        )
    trainer = Trainer(report.directory, run_dir, bc)
    progress.print(
        f"seed {bc.runtime.seed}; {len(trainer.train_data.segments)} training / "
        f"{len(trainer.val_data.segments)} validation segments ({len(trainer.val_files)} validation replays); "
        f"device {trainer.device}, {bc.optim.precision}"
    )
    if trainer.step:
        progress.print(f"resuming {run_dir} at step {trainer.step}")
    result = trainer.train(progress=progress_enabled())
    distributed.stop()
    console.print(
        f"done: {result['step']} steps ({result['epochs']:.2f} epochs) in {result['seconds']:.1f} s; "
        f"best validation loss {result['best_val_loss']:.4f}; checkpoints in {run_dir} (best/, last/)"
    )
    return 0


def _shown(cmd: TrainCommand) -> dict[str, Any]:
    """The command's settings as printed (not the raw arguments it keeps for --nproc)."""
    return {k: v for k, v in asdict(cmd).items() if k != "argv"}


def _launch(nproc: int, argv: list[str]) -> int:
    """``--nproc N``: this same command again, under torchrun with N processes on this machine."""
    import subprocess
    import sys

    from melee_envs.messages import console as at_level, verbosity

    flag = {0: ["--quiet"], 2: ["--verbose"]}.get(verbosity(), [])
    args = [*flag, "bc", "train", *_without_nproc(argv)]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "exphil", *args]  # fmt: skip
    at_level(1).print(f"starting {nproc} processes: torchrun --standalone --nproc_per_node={nproc} -m exphil "
                      + " ".join(args), markup=False, highlight=False)  # fmt: skip
    return subprocess.run(command, check=False).returncode


def _without_nproc(args: list[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def run_plan(run_dir: Path, runtime: RuntimeConfig) -> str:
    """What training would do with ``run_dir`` (for ``--dry-run``): start it, resume it, replace
    it or refuse."""
    from imitation.runs import resume_source

    if not run_dir.is_dir() or not any((run_dir / n).exists() for n in ("last", "last.bak", "best")):
        return f"a new run in {run_dir}"
    if runtime.overwrite:
        keep = runtime.backup_count if runtime.backup else 0
        return f"replace the run in {run_dir} (" + (
            f"moved aside, keeping {keep} such)" if keep else "deleted: --runtime.no-backup)"
        )
    source = resume_source(run_dir)
    if not runtime.resume:
        return f"refuse: {run_dir} holds a run (--runtime.no-resume)"
    if source is None:
        return f"start afresh in {run_dir}: no intact checkpoint to resume"
    step = json.loads((source / "meta.json").read_text())["step"]
    return f"resume {run_dir} from {source.name} at step {step:,}"


def replace_run(run_dir: Path, runtime: RuntimeConfig, console: Any) -> None:
    """``--runtime.overwrite``: move the run aside to ``NAME.replaced-TIME`` and keep the newest
    ``backup_count`` of those (``--runtime.no-backup`` or a count of 0: delete it instead).

    Raises:
        RuntimeError: another process is writing the run.
    """
    from imitation.runs import lock_run

    lock = lock_run(run_dir)  # not while another process is writing it
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}")
    for k in range(1, 1000):  # a second replacement within the same second
        if not aside.exists():
            break
        aside = run_dir.with_name(f"{run_dir.name}.replaced-{stamp}-{k}")
    os.replace(run_dir, aside)  # one rename: the run is whole under one name or the other
    lock.close()
    keep = runtime.backup_count if runtime.backup else 0
    olds = sorted(run_dir.parent.glob(f"{run_dir.name}.replaced-*"))  # oldest first (time in the name)
    gone = olds[: max(len(olds) - keep, 0)]
    for old in gone:
        shutil.rmtree(old)
    if keep:
        note = f"moved the existing run to {aside}" + (f"; deleted {len(gone)} older" if gone else "")
    else:
        note = "deleted the existing run (--runtime.no-backup)"
    console.print(f"[yellow]--runtime.overwrite: {note}; starting afresh[/yellow]")


def existing_run(run_dir: Path, bc: BCConfig, runtime: RuntimeConfig, console: Any) -> None:
    """What to do when ``run_dir`` already holds a run: resume it (saying which settings differ from
    its last checkpoint), move it aside (``--runtime.overwrite``) or refuse (``--runtime.no-resume``).

    Raises:
        FileExistsError: the run exists and ``--runtime.no-resume`` was given.
        RuntimeError: another process is writing the run.
    """
    from imitation.runs import resume_source

    if not run_dir.is_dir() or not any((run_dir / n).exists() for n in ("last", "last.bak", "best")):
        return
    if runtime.overwrite:
        replace_run(run_dir, runtime, console)
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
    saved = flat_settings(json.loads((source / "meta.json").read_text()).get("config", {}))
    for key, now in bc.settings().items():
        if key in NOT_REPORTED or key not in saved:
            continue
        if saved[key] != now and not (isinstance(now, tuple) and list(now) == saved[key]):
            change = f"{key}: {saved[key]!r} -> {now!r}"
            console.print(f"[yellow]resuming {source}; setting changed since it was saved: {change}[/yellow]")


__all__ = ["TrainCommand", "resolve", "train"]
