"""Build a replay dataset: many ``.slp`` files -> cached, sharded, memory-mappable examples.

``build_dataset`` finds the replays, looks each one's shard up by content hash under the config's
key, and builds the missing ones in worker processes (a progress bar shows it). A file that
cannot be read is reported with its one-line reason and skipped; so is a readable one the config
leaves out (doubles, filtered characters); every other file still lands in the dataset. The
manifest is written last, atomically, so a dataset directory is always either the previous
complete build or the new one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imitation.cache import (
    HashIndex,
    clean_partial,
    config_key,
    read_json,
    read_shard_info,
    shard_complete,
    shard_problem,
    write_json_atomic,
    write_shard_atomic,
)
from imitation.dataset import DatasetConfig, Extractor, Skip
from melee_envs.backends.replay import ReplayError, read_replay
from melee_envs.backends.replay.files import find_replays


class FailFast(ValueError):
    """A build or scan told to stop at the first file it cannot read (``--fail-fast``)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason} (stopped at the first unreadable file: --fail-fast)")
        self.path, self.reason = path, reason


@dataclass
class BuildReport:
    """What a build did, file by file.

    Attributes:
        directory: the dataset directory (``<cache>/<key>``), loadable with ``ReplayDataset``.
        built: files encoded in this run.
        cached: files whose shard already existed.
        duplicates: files with the same content as an earlier file (one shard serves both).
        skipped: ``(file, reason)`` for readable files the config leaves out.
        failed: ``(file, reason)`` for files that could not be read, or (``reason`` ending in
            :data:`NOT_RECORDED`) whose shard could not be written this time (a full disk, a
            concurrent build): those are not remembered as failed and are tried again next build.
        repaired: ``(file, reason)`` for cached shards found damaged and built again.
        rows: examples in the dataset.
        styles: with ``player_styles``, every player name in the dataset and its style id.
    """

    directory: Path
    built: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0
    styles: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"dataset {self.directory}: {self.rows:,} examples from {len(self.built) + len(self.cached)} replays "
            f"({len(self.built)} built, {len(self.cached)} cached, {len(self.duplicates)} duplicates, "
            f"{len(self.skipped)} skipped, {len(self.failed)} failed)"
        ]
        lines += [f"  rebuilt {path}: its cached shard was damaged ({reason})" for path, reason in self.repaired]
        lines += [f"  skipped {path}: {reason}" for path, reason in self.skipped]
        lines += [f"  FAILED  {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)


#: The end of a failure reason that is about this build, not the file (not remembered).
NOT_RECORDED = "(not recorded: tried again on the next build)"


def _build_one(path: str, shard_dir: str, config: dict[str, Any]) -> tuple[str, str, int]:
    """Worker: read, extract, write one shard. Returns (status, reason, rows); never raises.
    Status ``"error"``: the file was fine but its shard could not be written (disk full, a
    folder removed under it): a failure of this build, not of the file."""
    try:
        replay = read_replay(path)
        arrays, info = Extractor(DatasetConfig.from_dict(config)).extract(replay)
        obs = arrays.pop("obs")
        try:
            write_shard_atomic(Path(shard_dir), obs, arrays, info)
        except OSError as exc:
            return "error", f"could not write its shard: {exc.strerror or exc} {NOT_RECORDED}", 0
        return "built", "", int(info["rows"])
    except Skip as exc:
        return "skipped", str(exc), 0
    except ReplayError as exc:
        return "failed", exc.reason, 0
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 0


def build_dataset(
    sources: str | Path | Sequence[str | Path],
    cache: str | Path,
    config: DatasetConfig | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    fail_fast: bool = False,
) -> BuildReport:
    """Encode every replay under ``sources`` into ``<cache>/<config key>`` and return the report.

    Args:
        sources: replay files and/or directories (searched recursively for ``.slp``).
        cache: cache root; several configs share it, each under its own key.
        config: what to extract (default :class:`DatasetConfig`).
        workers: worker processes; 0 builds in this process; default: the CPU count.
        progress: show a progress bar.
        retry_failed: read again files an earlier build could not read (by default their
            recorded reason is reported without reading them again).
        fail_fast: stop at the first file that cannot be read (or was recorded as such) and
            raise :class:`FailFast` naming it; shards finished before it are kept.

    Raises:
        FileNotFoundError: a source does not exist.
        FailFast: ``fail_fast`` and a file cannot be read.
    """
    config = config or DatasetConfig()
    config_dict = config.to_dict()
    cache = Path(cache)
    directory = cache / config_key(config_dict)
    shards_root = directory / "shards"
    clean_partial(shards_root)
    if not (directory / "config.json").exists():
        write_json_atomic(directory / "config.json", config_dict)
    report = BuildReport(directory)
    hashes = HashIndex(cache / "hashes.json")
    # What earlier builds learned about each content hash under this config.
    known: dict[str, list] = read_json(directory / "index.json")
    order: list[str] = []  # shard hashes in file order
    seen: set[str] = set()
    todo: list[tuple[Path, str]] = []
    unreadable: list[tuple[str, str]] = []
    for path in find_replays(sources, unreadable):
        try:
            digest = hashes.get(path)
        except OSError as exc:
            report.failed.append((str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        if digest in seen:
            report.duplicates.append(str(path))
            continue
        seen.add(digest)
        status, reason, rows = known.get(digest, (None, "", 0))
        complete = shard_complete(shards_root / digest)
        problem = shard_problem(shards_root / digest) if complete else None
        if problem is not None:
            report.repaired.append((str(path), problem))
            todo.append((path, digest))
        elif complete:
            # Finished shards count even when the build that wrote them was interrupted.
            report.cached.append(str(path))
            order.append(digest)
            report.rows += rows if status == "built" else int(read_shard_info(shards_root / digest)["rows"])
        elif status == "skipped":
            report.skipped.append((str(path), reason))
        elif status == "failed" and not retry_failed:
            report.failed.append((str(path), reason))
        else:
            todo.append((path, digest))
    hashes.save()
    report.failed += unreadable
    if fail_fast and report.failed:
        raise FailFast(*report.failed[0])

    results = _run(todo, shards_root, config_dict, workers, progress, fail_fast)
    for (path, digest), (status, reason, rows) in zip(todo, results, strict=True):
        if status != "error":  # a write that failed this time says nothing about the file
            known[digest] = [status, reason, rows]
        if status == "built":
            report.built.append(str(path))
            order.append(digest)
            report.rows += rows
        elif status == "skipped":
            report.skipped.append((str(path), reason))
        else:
            report.failed.append((str(path), reason))
    if todo:
        write_json_atomic(directory / "index.json", known)
    write_json_atomic(directory / "manifest.json", {"config": config_dict, "shards": order})
    if config.player_styles:
        for digest in order:
            report.styles.update(read_shard_info(shards_root / digest).get("styles", {}))
    return report


def _run(
    todo: list[tuple[Path, str]],
    shards_root: Path,
    config: dict[str, Any],
    workers: int | None,
    progress: bool,
    fail_fast: bool = False,
) -> list[tuple[str, str, int]]:
    if not todo:
        return []
    workers = (os.cpu_count() or 1) if workers is None else workers
    bar = _progress(progress, len(todo))
    results: list[tuple[str, str, int] | None] = [None] * len(todo)
    with bar:
        task = bar.add_task("encoding replays", total=len(todo))
        if workers == 0:
            for k, (path, digest) in enumerate(todo):
                results[k] = _build_one(str(path), str(shards_root / digest), config)
                bar.advance(task)
                if fail_fast and results[k][0] == "failed":
                    raise FailFast(str(path), results[k][1])
        else:
            advance = lambda: bar.advance(task)  # noqa: E731
            _pool_pass(todo, list(range(len(todo))), results, shards_root, config, workers, advance, fail_fast)
    return [r for r in results if r is not None]


def die_with_parent(parent: int) -> None:
    """Ask the kernel to end this process when ``parent`` dies, however it dies (SIGKILL
    included): a build's pool workers and BC's torchrun processes never outlive their launcher
    (Linux; elsewhere the pool's own shutdown is all there is)."""
    import ctypes
    import signal

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _pool_pass(todo, pending, results, shards_root, config, workers, advance, fail_fast=False) -> list[int]:  # noqa: ANN001
    """Run ``pending`` in a pool of ``workers``. If a worker dies (a crash inside the parser), the
    files left unfinished are returned, to be retried one per single-worker pool so the file
    that crashes is named exactly."""
    size = max(1, min(workers, len(pending)))
    with ProcessPoolExecutor(max_workers=size, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        futures: dict[Future, int] = {
            pool.submit(_build_one, str(todo[k][0]), str(shards_root / todo[k][1]), config): k for k in pending
        }
        broken: list[int] = []
        for future, k in futures.items():
            try:
                results[k] = future.result()
                advance()
            except BrokenProcessPool:
                broken.append(k)
                continue
            if fail_fast and results[k][0] == "failed":
                pool.shutdown(wait=True, cancel_futures=True)  # files being built finish; no new ones start
                raise FailFast(str(todo[k][0]), results[k][1])
    if broken and workers == 1 and len(pending) == 1:
        results[broken[0]] = ("failed", "the worker process crashed while reading this file", 0)
        advance()
        if fail_fast:
            raise FailFast(str(todo[broken[0]][0]), results[broken[0]][1])
        return []
    for k in broken:
        _pool_pass(todo, [k], results, shards_root, config, 1, advance, fail_fast)
    return []


def _progress(enabled: bool, total: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled or total < 2,
        transient=True,
    )
