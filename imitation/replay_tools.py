"""Folder-level replay tools: scan, stats tables, filters, validation, duplicates, quality.

Everything starts from :func:`scan`, which reads each ``.slp`` once (in worker processes for big
folders) and keeps its metadata, quality score and content hash, or the one-line reason it could
not be read. The ``exphil replays`` commands print what these functions return.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imitation.build import FailFast, find_replays
from imitation.cache import file_hash
from imitation.quality import Quality, score
from melee_envs.backends.replay import ReplayError, ReplayMeta, check_header, read_replay
from melee_envs.data import characters, stages


@dataclass(frozen=True)
class Entry:
    """One scanned file: ``meta`` and ``quality`` when it reads, else ``error`` (one line)."""

    path: str
    size: int
    digest: str
    meta: ReplayMeta | None = None
    quality: Quality | None = None
    error: str | None = None


def _scan_one(path: str, deep: bool = True) -> Entry:
    try:
        size = os.path.getsize(path)
        digest = file_hash(path)
    except OSError as exc:
        return Entry(path, 0, "", error=f"cannot read: {exc.strerror or exc}")
    try:
        if not deep:
            check_header(path)
            return Entry(path, size, digest)
        replay = read_replay(path, items=False)
        meta = replay.meta
        meta.extra.clear()  # keep entries small when they come back from a worker
        return Entry(path, size, digest, meta, score(replay))
    except ReplayError as exc:
        return Entry(path, size, digest, error=exc.reason)


def scan(
    sources: str | Path | Iterable[str | Path], *, deep: bool = True, workers: int = 0, fail_fast: bool = False
) -> list[Entry]:
    """Read every ``.slp`` under ``sources``. ``deep=False`` checks headers only (magic bytes,
    size, finalised length) without parsing frames; ``workers`` > 0 reads in that many processes.

    Raises:
        FileNotFoundError: a source does not exist.
        FailFast: ``fail_fast`` and a file cannot be read (files are read in path order).
    """
    paths = [str(p) for p in find_replays(sources)]
    entries: list[Entry] = []
    if workers > 0 and len(paths) > 8:
        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            for entry in pool.map(_scan_one, paths, [deep] * len(paths), chunksize=4):
                entries.append(entry)
                if fail_fast and entry.error:
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        for path in paths:
            entries.append(_scan_one(path, deep))
            if fail_fast and entries[-1].error:
                break
    if fail_fast and entries and entries[-1].error:
        raise FailFast(entries[-1].path, entries[-1].error)
    return entries


def good(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.meta is not None]


@dataclass(frozen=True)
class Filter:
    """Which games to keep; names accept aliases (``puff``, ``ics``, ``gnw``, ``bf``, ``fd``).

    Args:
        characters: a player of the game plays one of these.
        opponents: that player's opponent plays one of these (1v1 games).
        stages: the game is on one of these stages.
        players: a player's tag, netplay name or connect code is one of these (any case).
        min_quality: quality score at least this.
        humans_only: no CPU players.
        singles_only: exactly two players, not a team game.
    """

    characters: tuple[str, ...] = ()
    opponents: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    players: tuple[str, ...] = ()
    min_quality: float = 0.0
    humans_only: bool = False
    singles_only: bool = False

    def __post_init__(self) -> None:
        for name in self.characters + self.opponents:
            characters.get(name)  # raises naming the unknown character and the valid ones
        for name in self.stages:
            stages.get(name)

    def matches(self, entry: Entry) -> bool:
        meta = entry.meta
        if meta is None:
            return False
        if self.stages and meta.stage not in {stages.get(s).internal_id for s in self.stages}:
            return False
        if self.singles_only and not meta.is_singles:
            return False
        if self.humans_only and any(p.kind != "human" for p in meta.players):
            return False
        if entry.quality is not None and entry.quality.score < self.min_quality:
            return False
        want = {characters.get(c).internal_id for c in self.characters}
        against = {characters.get(c).internal_id for c in self.opponents}
        names = {n.lower() for n in self.players}
        for p, info in enumerate(meta.players):
            others = [o for k, o in enumerate(meta.players) if k != p]
            if want and info.character not in want:
                continue
            if against and not any(o.character in against for o in others):
                continue
            if names and not {n.lower() for n in info.names} & names:
                continue
            return True
        return False


def stats(entries: list[Entry]) -> dict[str, list[tuple[str, ...]]]:
    """Tables (title -> rows of strings) of characters, stages, versions, durations, game ends."""
    games = good(entries)
    chars: Counter[str] = Counter()
    for e in games:
        for p in e.meta.players:  # type: ignore[union-attr]
            name = "POPO (Ice Climbers)" if p.character_name == "POPO" else p.character_name
            chars[name + (" (CPU)" if p.kind == "cpu" else "")] += 1
    stage_count = Counter(e.meta.stage_name for e in games)  # type: ignore[union-attr]
    versions = Counter(e.meta.version for e in games)  # type: ignore[union-attr]
    ends = Counter(e.meta.end_method for e in games)  # type: ignore[union-attr]
    durations = np.array([e.meta.duration_seconds for e in games], np.float64)  # type: ignore[union-attr]
    buckets = [(0, 20), (20, 60), (60, 180), (180, 300), (300, 480), (480, 1e9)]
    n = max(len(games), 1)

    def table(counter: Counter[str]) -> list[tuple[str, ...]]:
        return [(k, str(v), f"{100 * v / max(sum(counter.values()), 1):.0f}%") for k, v in counter.most_common()]

    duration_rows = [
        (f"{lo:.0f}-{hi:.0f} s" if hi < 1e9 else f">{lo:.0f} s", str(c), f"{100 * c / n:.0f}%")
        for lo, hi in buckets
        if (c := int(((durations >= lo) & (durations < hi)).sum()))
    ]
    summary = [
        ("files", str(len(entries))),
        ("readable games", str(len(games))),
        ("unreadable", str(len(entries) - len(games))),
        ("total play time", f"{durations.sum() / 3600:.2f} h"),
        ("median game", f"{np.median(durations) if len(durations) else 0:.0f} s"),
        ("singles (1v1)", str(sum(e.meta.is_singles for e in games))),  # type: ignore[union-attr]
    ]
    return {
        "Summary": summary,
        "Characters (players)": table(chars),
        "Stages": table(stage_count),
        "Slippi versions": table(versions),
        "Durations": duration_rows,
        "Game ends": table(ends),
    }


def duplicates(entries: list[Entry]) -> list[tuple[str, list[str]]]:
    """Groups of files that hold the same game: ``("identical", paths)`` for byte-identical
    files, ``("same game", paths)`` for different recordings of one game (same game seed,
    stage, characters and length, as both players' netplay recordings are)."""
    by_digest: dict[str, list[str]] = defaultdict(list)
    by_game: dict[tuple, list[str]] = defaultdict(list)
    for e in entries:
        if e.digest:
            by_digest[e.digest].append(e.path)
    for e in good(entries):
        if by_digest[e.digest][0] != e.path:
            continue  # one representative per identical group
        m = e.meta
        key = (m.game_seed, m.stage, tuple(p.character for p in m.players), m.last_frame)  # type: ignore[union-attr]
        if m.game_seed:  # type: ignore[union-attr]
            by_game[key].append(e.path)
    groups = [("identical", paths) for paths in by_digest.values() if len(paths) > 1]
    groups += [("same game", paths) for paths in by_game.values() if len(paths) > 1]
    return groups
