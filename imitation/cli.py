"""``exphil replays``: stats, validate, filter, dupes, quality, build, bench.

Each subcommand takes replay files and/or folders (searched recursively; default: the folder in
``$EXPHIL_REPLAYS_DIR``, else the current directory) and prints tables with rich. Commands that
judge files (validate, quality) exit with status 1 when some file fails, after listing them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from imitation.bench import BenchConfig
from imitation.build import FailFast
from imitation.cache import DEFAULT_CACHE
from imitation.dataset import DatasetConfig
from melee_envs.envvars import cache_dir, replays_dir
from melee_envs.messages import VERBOSE, console, error, progress_enabled

Paths = Annotated[tuple[Path, ...], tyro.conf.Positional]


def _default_paths() -> tuple[Path, ...]:
    return (Path(replays_dir(".")),)


def _default_cache() -> Path:
    return Path(cache_dir(DEFAULT_CACHE))


@dataclass(frozen=True)
class _Errors:
    fail_fast: bool = False
    """stop at the first file that cannot be read, naming it (exit status 1); by default every
    unreadable file is skipped and listed at the end."""
    error_log: Path | None = None
    """also write every file that could not be read and why to this file, one
    ``path<TAB>reason`` line each (written atomically; empty when every file read)."""


@dataclass(frozen=True)
class _Scan(_Errors):
    paths: Paths = field(default_factory=_default_paths)
    """replay files and folders, searched recursively (default: $EXPHIL_REPLAYS_DIR, else .)."""
    workers: int = 0
    """worker processes for reading (0: this process)."""


@dataclass(frozen=True)
class Stats(_Scan):
    """Tables of characters, stages, Slippi versions, durations and game ends."""


@dataclass(frozen=True)
class Validate(_Scan):
    """Check every file reads: magic bytes, size, finalised header, then a full parse."""

    quick: bool = False
    """header checks only (no parse)."""


@dataclass(frozen=True)
class Filter(_Scan):
    """Print the files whose games match (one path per line, for piping)."""

    character: tuple[str, ...] = ()
    """a player plays one of these (aliases: puff, ics, gnw, falcon, ...)."""
    opponent: tuple[str, ...] = ()
    """that player's opponent plays one of these."""
    stage: tuple[str, ...] = ()
    """the game is on one of these (aliases: bf, fd, ys, dl, fod, ps)."""
    player: tuple[str, ...] = ()
    """a tag, netplay name or connect code (any case)."""
    min_quality: float = 0.0
    """quality score (0-100, see `exphil replays quality`) at least this."""
    humans_only: bool = False
    """no CPU players."""
    singles_only: bool = False
    """1v1 games only."""


@dataclass(frozen=True)
class Dupes(_Scan):
    """Groups of identical files and of different recordings of the same game."""


@dataclass(frozen=True)
class Quality(_Scan):
    """Score every game 0-100 and say why; files under --min-score are listed as junk."""

    min_score: float = 50.0
    """games under this score are junk."""


@dataclass(frozen=True)
class Build(_Errors):
    """Encode replays into a cached, sharded dataset for behavioural cloning."""

    paths: Paths = field(default_factory=_default_paths)
    """replay files and folders, searched recursively (default: $EXPHIL_REPLAYS_DIR, else .)."""
    cache: Path = field(default_factory=_default_cache)
    """cache root (default: $EXPHIL_CACHE_DIR, else .exphil-cache); each dataset config gets its own
    sub-directory."""
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    workers: int | None = None
    """worker processes (default: CPU count; 0: this process)."""
    retry_failed: bool = False
    """read files again that an earlier build could not read."""


def run(args: object) -> int:  # noqa: PLR0911
    """Run one ``exphil replays`` command (any of the dataclasses above); returns the exit status."""
    from rich.console import Console

    from imitation import replay_tools as tools

    out = Console()
    err = Console(stderr=True)
    if isinstance(args, Build):
        from imitation.build import build_dataset, find_replays

        if not find_replays(args.paths):
            err.print(f"no .slp files under {', '.join(map(str, args.paths))}", highlight=False)
            return 1
        try:
            report = build_dataset(
                args.paths, args.cache, args.dataset, workers=args.workers, retry_failed=args.retry_failed,
                fail_fast=args.fail_fast, progress=progress_enabled(),
            )  # fmt: skip
        except FailFast as stop:
            _error_log(args.error_log, [(stop.path, stop.reason)])
            error(str(stop))
            return 1
        _error_log(args.error_log, report.failed)
        files = console(VERBOSE)  # --verbose: every file and what the build did with it
        for kind in ("built", "cached", "duplicates"):
            for path in getattr(report, kind):
                files.print(f"  {kind:10s} {path}", markup=False, highlight=False)
        print(report.summary())
        return 0 if report.rows else 1
    if isinstance(args, BenchConfig):
        from imitation.bench import run as bench

        bench(args)
        return 0
    keep = None
    if isinstance(args, Filter):  # bad names fail before any file is read
        keep = tools.Filter(
            characters=args.character,
            opponents=args.opponent,
            stages=args.stage,
            players=args.player,
            min_quality=args.min_quality,
            humans_only=args.humans_only,
            singles_only=args.singles_only,
        )
    try:
        entries = tools.scan(
            args.paths,  # type: ignore[attr-defined]
            deep=not getattr(args, "quick", False),
            workers=args.workers,  # type: ignore[attr-defined]
            fail_fast=args.fail_fast,  # type: ignore[attr-defined]
        )
    except FailFast as stop:
        _error_log(args.error_log, [(stop.path, stop.reason)])  # type: ignore[attr-defined]
        error(str(stop))
        return 1
    if not entries:
        err.print(f"no .slp files under {', '.join(map(str, args.paths))}", highlight=False)  # type: ignore[attr-defined]
        return 1
    bad = [e for e in entries if e.error]
    _error_log(args.error_log, [(e.path, e.error or "") for e in bad])  # type: ignore[attr-defined]
    if isinstance(args, Stats):
        for title, rows in tools.stats(entries).items():
            _table(out, title, rows)
    elif isinstance(args, Validate):
        out.print(f"{len(entries) - len(bad)} of {len(entries)} files OK", highlight=False)
        _table(out, "Unreadable files", [(e.path, e.error or "") for e in bad], ("file", "reason"))
        return 1 if bad else 0
    elif keep is not None:
        matched = [e.path for e in entries if keep.matches(e)]
        for path in matched:
            print(path)
        err.print(f"{len(matched)} of {len(entries)} files match ({len(bad)} unreadable)", highlight=False)
        return 0
    elif isinstance(args, Dupes):
        groups = tools.duplicates(entries)
        _table(out, "Duplicates", [(kind, "\n".join(paths)) for kind, paths in groups], ("kind", "files"))
        out.print(f"{len(groups)} duplicate groups in {len(entries)} files", highlight=False)
    elif isinstance(args, Quality):
        rows = sorted(
            ((f"{e.quality.score:.0f}", e.path, "; ".join(e.quality.issues) or "-") for e in entries if e.quality),
            key=lambda r: float(r[0]),
        )
        _table(out, "Quality (low first)", rows, ("score", "file", "issues"))
        junk = [r for r in rows if float(r[0]) < args.min_score]
        out.print(
            f"{len(junk)} of {len(rows)} games score under {args.min_score:g}; {len(bad)} unreadable", highlight=False
        )
        return 1 if junk or bad else 0
    if bad:
        err.print(f"{len(bad)} unreadable files (see `exphil replays validate`)", highlight=False)
    return 0


def _error_log(path: Path | None, failed: list[tuple[str, str]]) -> None:
    """``--error-log``: every file that could not be read, ``path<TAB>reason`` per line."""
    if path is None:
        return
    from melee_envs.atomic import write_text_atomic

    write_text_atomic(path, "".join(f"{file}\t{' '.join(reason.split())}\n" for file, reason in failed))


def _table(console: object, title: str, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> None:
    from rich.table import Table

    if not rows:
        return
    width = len(rows[0])
    table = Table(title=title, title_justify="left")
    for k, name in enumerate(header or (("name", "count", "share") if width == 3 else ("item", "value"))[:width]):
        justify = "right" if k and name in ("count", "share", "value", "score") else "left"
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)  # type: ignore[attr-defined]
