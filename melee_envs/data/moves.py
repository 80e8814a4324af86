"""Attack data for the mock engine: real action ids, timings, hitboxes and knockback values.

* Timing and hitboxes from libmelee's ``framedata.csv`` (per character, action and frame):
  total frames, first and last frame with an active hitbox, the largest hitbox on the first active
  frame (offset from the character, facing right, and radius), and the first IASA frame.
* Damage, angle, base / set knockback, knockback growth, hitlag, shieldstun and landing lag from
  ``moves.csv`` beside this module (FightCore frame data, from meleeframedata.com); for dodges
  (spot dodge, rolls, air dodge) their intangible frames and length.
* Per-frame displacement (rolls, dash attack, techs) from ``framedata.csv``'s ``locomotion_x``.

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
from melee_envs.data.recoveries import RECOVERIES

#: The moves the mock engine performs: (FightCore name, libmelee Action name). Aerials stay
#: contiguous (nair..dair) because their landing actions are contiguous in the game; every move
#: that can hit comes before ``grab`` and the throws and dodges after it (the engine tests ranges).
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
    ("neutralb", "NEUTRAL_B_ATTACKING"),
    ("sideb", "SWORD_DANCE_1"),
    ("upb", "UP_B_GROUND"),
    ("downb", "DOWN_B_GROUND_START"),
    ("edge", "EDGE_ATTACK_QUICK"),
    ("edgeslow", "EDGE_ATTACK_SLOW"),
    ("grab", "GRAB"),
    ("fthrow", "THROW_FORWARD"),
    ("bthrow", "THROW_BACK"),
    ("uthrow", "THROW_UP"),
    ("dthrow", "THROW_DOWN"),
    ("spotdodge", "SPOTDODGE"),
    ("rollforward", "ROLL_FORWARD"),
    ("rollbackwards", "ROLL_BACKWARD"),
    ("airdodge", "AIRDODGE"),
)
#: Moves without a hitbox (their active frames are the intangible frames).
DODGE_MOVES = frozenset({"spotdodge", "rollforward", "rollbackwards", "airdodge"})
#: Throws: no hitbox either; the opponent is released on the active-start frame.
THROW_MOVES = frozenset({"fthrow", "bthrow", "uthrow", "dthrow"})
#: Specials are character-specific action ids. These were measured from the public replays in
#: ``shared/replays`` (the action a character entered on the frame B was pressed, seen at least
#: three times); other characters report libmelee's generic slot for the move (the id
#: in ``ENGINE_MOVES``) and take their timing from FightCore rather than libmelee's frame data.
#: Fox's and Falco's Blaster in the air starts with the game's 344 (341-343 on the ground, 345-346
#: the air loop and end).
LASER_AIR_START = 344
SPECIAL_ACTIONS: dict[tuple[str, str], int] = {
    ("FOX", "neutralb"): 344,
    ("FALCO", "neutralb"): 344,
    ("FOX", "sideb"): 350,
    ("FALCO", "sideb"): 350,
    ("ZELDA", "neutralb"): 345,
    ("CPTFALCON", "sideb"): 349,
    ("BOWSER", "sideb"): 347,
    ("JIGGLYPUFF", "sideb"): 364,
    ("MARTH", "sideb"): 358,
    ("FOX", "downb"): 360,
    ("FALCO", "downb"): 360,
    ("MARTH", "downb"): 369,  # libmelee framedata: MARTH_COUNTER (59 frames, no hitbox)
    ("ROY", "downb"): 369,
}
#: Marth's and Roy's Counter (down-B) has no hitbox of its own: a hit (not a grab) landing on them
#: in the move's active frames (FightCore: Marth 5-29, Roy 8-20) is negated and answered by a
#: counterattack with the move's FightCore knockback, dealing a flat 7% (Marth) or 1.5x the
#: countered hit's damage (Roy) (SSBWiki "Counter", Melee): ``character -> (mode, value)``.
COUNTER_FIXED, COUNTER_SCALED = 1, 2
COUNTERS: dict[str, tuple[int, float]] = {"MARTH": (COUNTER_FIXED, 7.0), "ROY": (COUNTER_SCALED, 1.5)}
#: Specials whose moves the engine performs (up-B's ids, phases and travel: :mod:`.recoveries`).
SPECIAL_MOVES = ("neutralb", "sideb", "upb", "downb")
#: Air dodge intangibility (frames 4-29 for every character, SSBWiki "Air dodge") where
#: FightCore lists none.
AIRDODGE_INTANGIBLE = (4.0, 29.0)
#: Frames of per-frame locomotion kept per move (libmelee ``locomotion_x``).
LOCOMOTION_FRAMES = 64
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
    """(character, move) pairs without libmelee frame data (default hitbox or generic id used)."""
    locomotion: np.ndarray
    """``[character_id, move, frame]``: libmelee's per-frame displacement along the move's
    direction (frame 1 at index 1); all zero where the move does not move the character."""
    hitboxes: HitboxTable
    """Every hitbox of every frame, where libmelee has the move."""


#: Frames of per-frame hitboxes kept per move, and hits (windows of FightCore's) per move.
HIT_FRAMES = 80
HIT_WINDOWS = 26
HITBOX_SLOTS = 4


@dataclass(frozen=True)
class HitboxTable:
    """Each move's hitboxes frame by frame, where libmelee's frame data has the move.

    ``geometry[ch, move, frame, slot] = (x, y, radius)``: slot ``k`` is the game's hitbox id ``k``
    (libmelee's ``hitbox_{k+1}``), offset facing right, radius 0 where inactive. ``window[ch,
    move, frame]``: which of FightCore's hits the frame belongs to (-1: none). ``group[ch, move,
    window]``: hits separated by at least one frame without hitboxes are separate groups, each of
    which can hit once (Fox's drill hits eight times; a sweet spot's hit followed at once by a sour
    spot's, as in Fox's nair, hits once). ``props[ch, move, window, slot]``: a move row
    (:data:`MOVE_FIELDS`) with that hitbox's damage, angle, knockbacks, hitlag and shieldstun.
    ``known[ch, move]``: 1 where the geometry exists (elsewhere the move row's single hitbox is used).
    """

    geometry: np.ndarray
    window: np.ndarray
    group: np.ndarray
    props: np.ndarray
    known: np.ndarray


def _fightcore_hitboxes() -> dict[tuple[str, str], list[dict[str, str]]]:
    text = resources.files("melee_envs.data").joinpath("hitboxes.csv").read_text()
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        out.setdefault((r["character"], r["move"]), []).append(r)
    return out


#: The move-row fields each hitbox of ``hitboxes.csv`` sets (same column names there).
_HITBOX_FIELDS = ("damage", "angle", "base_knockback", "knockback_growth", "set_knockback", "hitlag", "shieldstun")


def _hitboxes_of(rows, boxes, move_row, cid, m, table) -> None:
    """Fill ``table`` (a :class:`HitboxTable`) for character ``cid``'s move ``m`` from its
    libmelee frame rows (in frame order) and FightCore hitboxes; ``move_row`` supplies the other
    fields."""
    active_frames = []
    for r in rows:
        k = int(r["frame"])
        if k >= HIT_FRAMES:
            continue
        for s in range(HITBOX_SLOTS):
            if r[f"hitbox_{s + 1}_status"] == "True":
                size = float(r[f"hitbox_{s + 1}_size"])
                table.geometry[cid, m, k, s] = (float(r[f"hitbox_{s + 1}_x"]), float(r[f"hitbox_{s + 1}_y"]), size)
        if table.geometry[cid, m, k, :, 2].max() > 0:
            active_frames.append(k)
    if not active_frames:
        return
    table.known[cid, m] = 1
    hits = sorted({int(b["hit"]) for b in boxes})
    timed = boxes and all(int(b["start"]) > 0 for b in boxes) and len(hits) <= HIT_WINDOWS
    windows = {int(b["hit"]): (int(b["start"]), int(b["end"])) for b in boxes} if timed else {}
    for k in active_frames:  # a frame outside FightCore's windows takes the nearest window before it
        inside = [h for h, (a, z) in windows.items() if a <= k <= z]
        before = [h for h, (a, _) in windows.items() if a <= k]
        table.window[cid, m, k] = inside[0] if inside else (max(before) if before else 0)
    group, previous = -1, -10
    for k in active_frames:
        if k > previous + 1:  # a frame without hitboxes in between: the move can hit again
            group += 1
        table.group[cid, m, table.window[cid, m, k]] = group
        previous = k
    for w in range(HIT_WINDOWS):
        for s in range(HITBOX_SLOTS):
            table.props[cid, m, w, s] = move_row
    for b in boxes if timed else [b for b in boxes if int(b["hit"]) == 0]:
        w, s = (int(b["hit"]) if timed else 0), int(b["slot"])
        if s < HITBOX_SLOTS:
            for field in _HITBOX_FIELDS:
                table.props[cid, m, w, s, MOVE_FIELDS.index(field)] = float(b[field] or 0.0)


def _fightcore_rows() -> dict[tuple[str, str], dict[str, str]]:
    text = resources.files("melee_envs.data").joinpath("moves.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {(r["character"], r["move"]): r for r in rows}


def _timing(rows: list[dict[str, str]]) -> tuple[float, ...] | None:
    """Timing and first hitbox from a move's frame rows (in frame order)."""
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
    wanted = {ids[a] for _, a in ENGINE_MOVES} | set(SPECIAL_ACTIONS.values())
    wanted |= {r.travel_action for r in RECOVERIES.values()} | {ids["EDGE_ATTACK_QUICK"]}
    frames = libmelee_source.frame_rows(wanted)
    values = np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), len(MOVE_FIELDS)), np.float32)
    locomotion = np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), LOCOMOTION_FRAMES), np.float32)
    approximate = set()
    boxes = _fightcore_hitboxes()
    hitboxes = HitboxTable(
        geometry=np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), HIT_FRAMES, HITBOX_SLOTS, 3), np.float32),
        window=np.full((NUM_CHARACTER_IDS, len(ENGINE_MOVES), HIT_FRAMES), -1, np.int8),
        group=np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), HIT_WINDOWS), np.int8),
        props=np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES), HIT_WINDOWS, HITBOX_SLOTS, len(MOVE_FIELDS)), np.float32),
        known=np.zeros((NUM_CHARACTER_IDS, len(ENGINE_MOVES)), np.int8),
    )
    for info in characters().values():
        fc_name = "POPO" if info.name == "NANA" else info.name
        for m, (move, action_name) in enumerate(ENGINE_MOVES):
            fc_move = "edge" if move == "edgeslow" else move  # FightCore has one ledge attack
            row = fc.get((fc_name, fc_move))
            action = ids[action_name]
            special = move in SPECIAL_MOVES
            known = (fc_name, move) in SPECIAL_ACTIONS
            if move == "upb" and RECOVERIES[fc_name].travel_action > 0:
                action, known = RECOVERIES[fc_name].travel_action, True
            elif special:
                action = SPECIAL_ACTIONS.get((fc_name, move), action)
            rows = frames.get((info.internal_id, action), [])
            if special and not known:
                rows = []  # a generic slot: its frame data belongs to some other move
            if move == "edgeslow" and not rows:  # Marth: no slow ledge attack rows; the quick one's
                rows = frames.get((info.internal_id, ids["EDGE_ATTACK_QUICK"]), [])
            for r in rows:
                k = int(r["frame"])
                if k < LOCOMOTION_FRAMES:
                    locomotion[info.internal_id, m, k] = abs(float(r["locomotion_x"] or 0.0))
            timing = _timing(rows)
            if move in DODGE_MOVES:
                start = float(row["start"]) if row else 0.0
                end = float(row["end"]) if row else 0.0
                if start <= 0 or end < start:
                    start, end = AIRDODGE_INTANGIBLE if move == "airdodge" else (2.0, 15.0)
                total = float(row["total_frames"]) if row and float(row["total_frames"]) > end else end + 10
                timing = (total, start, end, 0.0, 0.0, 0.0, 0.0)
            elif move in THROW_MOVES:
                total = float(row["total_frames"]) if row and float(row["total_frames"]) > 0 else 40.0
                start = float(row["start"]) if row and float(row["start"]) > 0 else float(total // 3)
                timing = (total, start, start, 0.0, 0.0, 0.0, 0.0)
            elif timing is None:
                approximate.add((info.name, move))
                start = float(row["start"]) if row and float(row["start"]) > 0 else 5.0
                end = float(row["end"]) if row and float(row["end"]) >= start else start + 3
                total = float(row["total_frames"]) if row and float(row["total_frames"]) > end else end + 15
                iasa = float(row["iasa"]) if row else 0.0
                timing = (total, start, end, iasa, *_DEFAULT_HITBOX)
            elif special and not known:
                approximate.add((info.name, move))
            num = _reader(row)
            values[info.internal_id, m] = (
                action,
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
            if move not in DODGE_MOVES and move not in THROW_MOVES:
                _hitboxes_of(
                    rows, boxes.get((fc_name, fc_move), []), values[info.internal_id, m], info.internal_id, m, hitboxes
                )
    return MoveTable(values, frozenset(approximate), locomotion, hitboxes)


@cache
def move_of_action() -> np.ndarray:
    """``[character_id, action] -> move index`` (-1 where the action is not an engine move)."""
    table = move_table().values
    out = np.full((NUM_CHARACTER_IDS, 512), -1, np.int32)
    for ch in range(NUM_CHARACTER_IDS):
        for m in range(len(ENGINE_MOVES)):
            a = int(table[ch, m, 0])
            if 0 <= a < 512 and out[ch, a] < 0:
                out[ch, a] = m
    for (name, move), action in SPECIAL_ACTIONS.items():  # the Blaster's six ids (start, loop, end)
        if move == "neutralb" and action == LASER_AIR_START:
            out[characters()[name].internal_id, action - 3 : action + 3] = MOVE_INDEX["neutralb"]
    upb = MOVE_INDEX["upb"]
    for info in characters().values():
        rec = RECOVERIES["POPO" if info.name == "NANA" else info.name]
        for a in (rec.ground_action, rec.air_action, rec.travel_action):
            if a > 0:
                out[info.internal_id, a] = upb  # the start and travel are both the up-B
    shine = SPECIAL_ACTIONS[("FOX", "downb")]
    for name in ("FOX", "FALCO"):  # the shine's ground and air start, loop and end
        for a in (shine, shine + 1, shine + 3, shine + 5, shine + 6, shine + 8):
            out[characters()[name].internal_id, a] = MOVE_INDEX["downb"]
    return out
