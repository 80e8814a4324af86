"""Replay pipeline benchmark: frames per second of each stage, next to raw peppi-py parsing.

Measured in one run on the same files, best of ``repeats`` (the files sit in the page cache
after the first pass, so every stage is timed on warm I/O):

* raw: ``peppi_py.read_slippi`` (peppi-py's own parse into its Python objects), the reference;
* read: ``read_replay`` (parse + conversion to ``GameState``);
* cold build: read, encode both players, write shards (one process, empty cache);
* cached rebuild: the same build again (every shard found by content hash);
* parallel cold build: the cold build with one worker process per core.

Frames are game frames (one per frame index) of the replays that read.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import tyro

from melee_envs.envvars import replays_dir
from melee_envs.obs import ObsConfig


def _default_paths() -> tuple[Path, ...]:
    return (Path(replays_dir(".")),)


@dataclass(frozen=True)
class BenchConfig:
    """Time the replay pipeline against raw peppi-py parsing on the same files."""

    paths: Annotated[tuple[Path, ...], tyro.conf.Positional] = field(default_factory=_default_paths)
    repeats: int = 3
    """timed passes per stage; the best is reported."""
    obs: Literal["learned", "one_hot"] = "learned"
    """dataset observation layout: the BC default (learned ids, 121) or the env's one-hot (1035)."""
    scratch: Path | None = None
    """where the timed builds write (default: the system temp directory); pass a RAM disk such as
    /dev/shm to time the pipeline without the disk."""


def _best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(config: BenchConfig) -> dict[str, float]:
    """Run the benchmark, print a table, and return the figures."""
    import peppi_py

    from imitation.build import build_dataset, find_replays
    from imitation.dataset import DatasetConfig
    from melee_envs.backends.replay import ReplayError, read_replay

    if config.repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {config.repeats}")
    files, frames = [], 0
    for path in find_replays(config.paths):
        try:
            frames += len(read_replay(path, items=False))
            files.append(path)
        except ReplayError:
            continue
    if not files:
        raise ValueError(f"no readable .slp files under {', '.join(map(str, config.paths))}")
    dataset = DatasetConfig(obs=ObsConfig.learned() if config.obs == "learned" else ObsConfig())
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="exphil-bench-", dir=config.scratch) as tmp:
        root = Path(tmp)
        counter = iter(range(10_000))

        def cold(workers: int) -> Callable[[], object]:
            return lambda: build_dataset(files, root / f"cold{next(counter)}", dataset, workers=workers, progress=False)

        times = {
            "raw peppi_py.read_slippi": _best(lambda: [peppi_py.read_slippi(str(f)) for f in files], config.repeats),
            "read_replay -> GameState": _best(lambda: [read_replay(f) for f in files], config.repeats),
            "cold build (1 process)": _best(cold(0), config.repeats),
        }
        warm_root = root / "warm"
        build_dataset(files, warm_root, dataset, workers=0, progress=False)
        times["cached rebuild"] = _best(
            lambda: build_dataset(files, warm_root, dataset, workers=0, progress=False), config.repeats
        )
        times[f"cold build ({cores} workers)"] = _best(cold(cores), config.repeats)
    raw = times["raw peppi_py.read_slippi"]
    rates = {name: frames / t for name, t in times.items()}
    print(
        f"{len(files)} replays, {frames:,} frames, obs layout {config.obs}, best of {config.repeats}, "
        f"builds written under {config.scratch or tempfile.gettempdir()}"
    )
    print(f"{'stage':32s} {'seconds':>9s} {'frames/s':>12s} {'vs raw':>7s}")
    for name, t in times.items():
        print(f"{name:32s} {t:9.3f} {rates[name]:12,.0f} {raw / t:7.2f}")
    ratio = raw / times["cold build (1 process)"]
    speedup = times["cold build (1 process)"] / times["cached rebuild"]
    print(f"full pipeline per core vs raw parse: {ratio:.2f} (target >= 0.40)")
    print(f"cached rebuild speed-up over cold:   {speedup:.1f}x (target >= 20x)")
    return {**rates, "pipeline_vs_raw": ratio, "cached_speedup": speedup}


def main(config: BenchConfig) -> None:
    run(config)
