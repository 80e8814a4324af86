"""The league's persistent state: learners, snapshots, ratings and the match history.

Everything lives in one folder::

    league.json          learners (role, step, resets), the opponent sampler's RNG state; atomic
    events.jsonl         append-only: one line per match result and per snapshot taken
    events.rejected.jsonl lines set aside from the history (see below), each with its line number
    league.lock          held by the one process writing the league
    snapshots/<id>/      frozen policies (see :mod:`exphil_agents.league.population`)
    learners/<id>.zip    each learner's latest SB3 checkpoint (atomic)

Ratings and win rates are a pure function of ``events.jsonl`` (replayed in order on load), so a
run killed at any moment and restarted keeps every match result and snapshot recorded before the
kill, and rebuilds exactly the same ratings. Learners resume from their last checkpoint (taken with
every snapshot).

A line that is not a valid event (one cut short by a kill, or damaged anywhere in the file) is
never silently lost and never takes the lines after it along: the writer moves it to
``events.rejected.jsonl`` (with its line number and why), rewrites ``events.jsonl`` without it
(atomically) and says so on stderr; every valid line before and after it is kept. A reader
(``read_only``) skips such lines and warns.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from exphil_agents.league.population import list_snapshots, weights, win_rate_prior
from exphil_agents.league.ratings import make_table
from melee_envs.atomic import write_text_atomic

BOT_PREFIX = "bot:"
SELF_PREFIX = "self:"
ROLES = ("main", "main_exploiter", "league_exploiter")


#: Keys every event of a type must carry.
EVENT_KEYS = {
    "match": ("learner", "opponent", "score", "step"),
    "snapshot": ("id", "learner", "step"),
    "retired": ("id", "reason"),  # a snapshot that could not be loaded, out of the population for good
}


def _check_event(event: Any) -> str | None:
    """Why ``event`` is not a valid history event, or None."""
    if not isinstance(event, dict):
        return "not a JSON object"
    kind = event.get("type")
    if kind not in EVENT_KEYS:
        return f"unknown event type {kind!r}"
    missing = [k for k in EVENT_KEYS[kind] if k not in event]
    if missing:
        return f"{kind} event without {', '.join(missing)}"
    if kind == "match" and not (isinstance(event["score"], (int, float)) and 0.0 <= event["score"] <= 1.0):
        return f"match score {event['score']!r} is not a number in [0, 1]"
    return None


def read_events(raw: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The valid events of an ``events.jsonl`` file's bytes, in order, and the rejected lines
    (``{"line": number from 1, "reason": ..., "text": the line as written}``)."""
    events: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    lines = raw.splitlines(keepends=True)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            reason = _check_event(event)
        except ValueError as err:
            cut = number == len(lines) and not line.endswith(b"\n")
            reason = "cut off (a run killed while writing it)" if cut else f"not JSON ({err})"
        if reason is None:
            events.append(event)
        else:
            rejected.append({"line": number, "reason": reason, "text": line.decode("utf-8", "replace")})
    return events, rejected


def _describe(rejected: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"line {r['line']}: {r['reason']}" for r in rejected[:5])
    more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
    return f"{len(rejected)} invalid line{'s' if len(rejected) > 1 else ''} ({shown}{more})"


class LeagueState:
    """Open (or create) a league folder and replay its history.

    Args:
        root: the league folder.
        rating: ``"elo"`` or ``"openskill"``.
        seed: the opponent sampler's seed (a resumed league restores its saved RNG state).
        read_only: only read (``league status`` beside a running league): no lock, no repairs.

    Raises:
        RuntimeError: another process has the league open for writing.
    """

    def __init__(self, root: str | Path, rating: str = "elo", seed: int = 0, read_only: bool = False) -> None:
        self.root = Path(root)
        self.snapshot_dir = self.root / "snapshots"
        self.learner_dir = self.root / "learners"
        self.rating_kind = rating
        self.table = make_table(rating)
        self.wins: dict[tuple[str, str], float] = defaultdict(float)
        self.played: dict[tuple[str, str], int] = defaultdict(int)
        self.num_matches = 0
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.retired: dict[str, str] = {}  # snapshot id -> why it left the population
        self.learners: dict[str, dict[str, Any]] = {}
        self.rng = np.random.default_rng(seed)
        self.read_only = read_only
        self._events: Any = None
        self._lock: Any = None
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root}: a file, not a league folder")
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.root / "league.lock", "a")  # noqa: SIM115 - held while the league is open
            try:  # one writer at a time; the lock goes with the process, so a kill leaves none
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise RuntimeError(f"{self.root}: the league is open in another process (one run per league)") from None
        meta = self.root / "league.json"
        if meta.is_file():
            try:
                saved = json.loads(meta.read_text())
                if not isinstance(saved, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as exc:
                if self._lock is not None:
                    self._lock.close()
                raise ValueError(
                    f"{meta} is damaged ({exc}); the match history (events.jsonl) and snapshots are intact: "
                    "restore league.json from a backup, or move it aside to resume with fresh learner records"
                ) from None
            self.learners = saved.get("learners", {})
            if saved.get("rng"):
                self.rng.bit_generator.state = saved["rng"]
        self._replay()

    # -- history ---------------------------------------------------------------------------------

    def _replay(self) -> None:
        path = self.root / "events.jsonl"
        raw = path.read_bytes() if path.is_file() else b""
        events, rejected = read_events(raw)
        for event in events:
            self._apply(event)
        if self.read_only:
            last = raw.count(b"\n") + 1
            damaged = [r for r in rejected if r["line"] != last]  # the last one may be being written now
            if damaged:
                print(f"league: {path}: skipping {_describe(damaged)}", file=sys.stderr)
            return
        if rejected or (raw and not raw.endswith(b"\n")):  # a valid last line needs its newline too
            aside = self.root / "events.rejected.jsonl"
            with open(aside, "a") as fh:  # kept first, so a kill during the repair loses nothing
                fh.writelines(json.dumps(r) + "\n" for r in rejected)
                fh.flush()
                os.fsync(fh.fileno())
            write_text_atomic(path, "".join(json.dumps(e) + "\n" for e in events))
            if rejected:
                print(
                    f"league: {path}: set aside {_describe(rejected)} in {aside.name}; kept the other "
                    f"{len(events)} events",
                    file=sys.stderr,
                )
        self._events = open(path, "a")  # noqa: SIM115 - held open for appends
        for info in list_snapshots(self.snapshot_dir):  # renamed into place just before a kill
            if info["id"] not in self.snapshots and info["id"] not in self.retired:
                self._append({"type": "snapshot", "id": info["id"], "learner": info["learner"], "step": info["step"]})
        self.flush()

    def _apply(self, event: dict[str, Any]) -> None:
        if event["type"] == "match":
            self.num_matches += 1
            a, b, score = event["learner"], event["opponent"], float(event["score"])
            self.wins[a, b] += score
            self.played[a, b] += 1
            if b != a:
                self.table.record(a, b, score)
        elif event["type"] == "snapshot":
            self.table.add(event["id"], self.table.rating(event["learner"]))
            info = self.snapshot_dir / event["id"]
            self.snapshots[event["id"]] = {**event, "path": str(info)}
            self.retired.pop(event["id"], None)  # taken again after an earlier one of that id was retired
        elif event["type"] == "retired":
            self.snapshots.pop(event["id"], None)
            self.retired[event["id"]] = event["reason"]

    def _append(self, event: dict[str, Any]) -> None:
        if self.read_only:
            raise RuntimeError(f"{self.root}: opened read-only")
        self._apply(event)
        self._events.write(json.dumps(event) + "\n")

    def record_match(self, learner: str, opponent: str, score: float, step: int, **extra: Any) -> None:
        """One finished game, ``score`` from the learner's side (1 win, 0.5 draw, 0 loss)."""
        self._append({"type": "match", "learner": learner, "opponent": opponent, "score": score, "step": step, **extra})

    def record_snapshot(self, snapshot_id: str, learner: str, step: int) -> None:
        self._append({"type": "snapshot", "id": snapshot_id, "learner": learner, "step": step})
        self.flush()

    def retire_snapshot(self, snapshot_id: str, reason: str) -> None:
        """Take a snapshot out of the population for good (it is never drawn again)."""
        self._append({"type": "retired", "id": snapshot_id, "reason": reason})
        self.flush(sync=True)

    def flush(self, sync: bool = False) -> None:
        if self._events is None:
            return
        self._events.flush()
        if sync:
            os.fsync(self._events.fileno())

    def save(self) -> None:
        """Write ``league.json`` (learners, sampler RNG) atomically, after syncing the history."""
        self.flush(sync=True)
        state = {
            "learners": self.learners,
            "rng": self.rng.bit_generator.state,
            "rating": self.rating_kind,
            "ratings": {p: round(r, 3) for p, r in self.table.ratings.items()},
        }
        write_text_atomic(self.root / "league.json", json.dumps(state, indent=1, default=int))

    def close(self) -> None:
        self.flush(sync=True)
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- queries ---------------------------------------------------------------------------------

    def win_rate(self, learner: str, opponent: str) -> float:
        return win_rate_prior(self.wins[learner, opponent], self.played[learner, opponent])

    def matches(self) -> list[dict[str, Any]]:
        """Every recorded game, read back from the history on disk (the league keeps only its
        ratings and counts in memory)."""
        self.flush()
        path = self.root / "events.jsonl"
        if not path.is_file():
            return []
        events, _ = read_events(path.read_bytes())
        return [e for e in events if e["type"] == "match"]

    def snapshot_ids(self, learner_role: str | None = None) -> list[str]:
        """Snapshot ids oldest first, optionally only those of learners with this role."""
        ids = sorted(self.snapshots, key=lambda s: (self.snapshots[s]["step"], s))
        if learner_role is None:
            return ids
        return [s for s in ids if self.learners.get(self.snapshots[s]["learner"], {}).get("role") == learner_role]

    def weights(
        self,
        learner: str,
        candidates: list[str],
        scheme: str,
        weighting: str = "hard",
        recent_decay: float = 0.8,
    ) -> np.ndarray:
        """The chance of drawing each of ``candidates`` (oldest first) by ``scheme``, from the
        learner's win rates against them."""
        rates = np.array([self.win_rate(learner, c) for c in candidates]) if scheme == "pfsp" else None
        return weights(scheme, len(candidates), rates, recent_decay, weighting)
