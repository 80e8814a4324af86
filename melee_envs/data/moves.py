"""Attack data for the mock engine: real action ids, timings, hitboxes and knockback values.

* Timing and hitboxes from libmelee's ``framedata.csv`` (per character, action and frame):
  total frames, first and last frame with an active hitbox, the largest hitbox on the first active
  frame (offset from the character, facing right, and radius), and the first IASA frame.
* Damage, angle, base / set knockback, knockback growth, hitlag, shieldstun and landing lag from
  ``moves.csv`` beside this module (FightCore frame data, from meleeframedata.com).

Where libmelee has no frame data for a character's move, FightCore's start/end/total frames are
used with a default hitbox (8 units forward, 8 up, radius 5) and :attr:`MoveTable.approximate`
records it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from melee_envs.data import libmelee_source
from melee_envs.data.actions import actions
from melee_envs.data.characters import NUM_CHARACTER_IDS, characters

#: The attacks the mock engine performs: (FightCore name, libmelee Action name).
ENGINE_MOVES: tuple[tuple[str, str], ...] = (
    ("jab1", "NEUTRAL_ATTACK_1"),
    ("ftilt", "FTILT_MID"),
    ("utilt", "UPTILT"),
    ("dtilt", "DOWNTILT"),
    ("fsmash", "FSMASH_MID"),
    ("usmash", "UPSMASH"),
    ("dsmash", "DOWNSMASH"),
    ("dattack", "DASH_ATTACK"),
    ("nair", "NAIR"),
    ("fair", "FAIR"),
    ("bair", "BAIR"),
    ("uair", "UAIR"),
    ("dair", "DAIR"),
)
MOVE_INDEX = {name: i for i, (name, _) in enumerate(ENGINE_MOVES)}

#: Columns of :attr:`MoveTable.values`.
MOVE_FIELDS = (
    "action",
    "total",
    "active_start",
    "active_end",
    "iasa",
    "hitbox_x",
    "hitbox_y",
    "hitbox_radius",
    "damage",
    "angle",
    "base_knockback",
    "knockback_growth",
    "set_knockback",
    "hitlag",
    "shieldstun",
    "landing_lag",
    "lcancel_lag",
)
_DEFAULT_HITBOX = (8.0, 8.0, 5.0)


@dataclass(frozen=True)
class MoveTable:
    """``values[character_id, move, field]`` (float32), fields in :data:`MOVE_FIELDS` order."""

    values: np.ndarray
    approximate: frozenset[tuple[str, str]]
    """(character, move) pairs without libmelee frame data (default hitbox used)."""


def _fightcore_rows() -> dict[tuple[str, str], dict[str, str]]:
    text = resources.files("melee_envs.data").joinpath("moves.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {(r["character"], r["move"]): r for r in rows}


def _frame_data(wanted_actions: set[int]) -> dict[tuple[int, int], list[dict[str, str]]]:
    frames: dict[tuple[int, int], list[dict[str, str]]] = {}
    path = libmelee_source.data_file("framedata.csv")
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            action = int(row["action"])
            if action in wanted_actions:
                frames.setdefault((int(row["character"]), action), []).append(row)
    return frames


def _timing(rows: list[dict[str, str]]) -> tuple[float, ...] | None:
    rows = sorted(rows, key=lambda r: int(r["frame"]))
    active = [r for r in rows if any(r[f"hitbox_{k}_status"] == "True" for k in range(1, 5))]
    if not active:
        return None
    first = active[0]
    best = max(
        (k for k in range(1, 5) if first[f"hitbox_{k}_status"] == "True"),
        key=lambda k: float(first[f"hitbox_{k}_size"]),
    )
    iasa = next((int(r["frame"]) for r in rows if r["iasa"] == "True"), 0)
    return (
        float(len(rows)),
        float(first["frame"]),
        float(active[-1]["frame"]),
        float(iasa),
        float(first[f"hitbox_{best}_x"]),
        float(first[f"hitbox_{best}_y"]),
        float(first[f"hitbox_{best}_size"]),
    )


def _reader(row: dict[str, str] | None):
    def num(key: str, default: float = 0.0) -> float:
        return float(row[key]) if row and row[key] not in ("", None) else default

    return num


@cache
def move_table() -> MoveTable:
    """The engine's move table for every character (built once per process)."""
    ids = actions()
    fc = _fightcore_rows()
    frames = _frame_data({ids[a] for _, a in ENGINE_MOVES})
    values = np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), len(MOVE_FIELDS)), np.float32)
    approximate = set()
    for info in characters().values():
        fc_name = "POPO" if info.name == "NANA" else info.name
        for m, (move, action_name) in enumerate(ENGINE_MOVES):
            row = fc.get((fc_name, move))
            timing = _timing(frames.get((info.internal_id, ids[action_name]), []))
            if timing is None:
                approximate.add((info.name, move))
                start = float(row["start"]) if row and float(row["start"]) > 0 else 5.0
                end = float(row["end"]) if row and float(row["end"]) >= start else start + 3
                total = float(row["total_frames"]) if row and float(row["total_frames"]) > end else end + 15
                iasa = float(row["iasa"]) if row else 0.0
                timing = (total, start, end, iasa, *_DEFAULT_HITBOX)
            num = _reader(row)
            values[info.internal_id, m] = (
                ids[action_name],
                *timing,
                num("damage", 5.0),
                num("angle", 45.0),
                num("base_knockback", 20.0),
                num("knockback_growth", 100.0),
                num("set_knockback"),
                num("hitlag", 4.0),
                num("shieldstun", 3.0),
                num("landing_lag", 4.0),
                num("lcancel_lag", 2.0),
            )
    return MoveTable(values, frozenset(approximate))
