"""Action-state ids: libmelee's ``Action`` enum, read from its ``enums.py``.

The ids are the game's own (``Action.STANDING == 0x0E``); the observation one-hot covers 0..398
as the seed does (399 ids; larger character-specific ids fold into the last slot).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from melee_envs.data import libmelee_source

NUM_ACTIONS = 399


@cache
def actions() -> dict[str, int]:
    """``NAME -> id`` for every action libmelee names (first name wins for shared ids)."""
    return {k: int(v) for k, v in libmelee_source.enum_members("Action").items()}


class _ActionIds:
    """Attribute access to action ids: ``A.STANDING`` -> 14. Unknown names raise AttributeError."""

    def __getattr__(self, name: str) -> int:
        try:
            return actions()[name]
        except KeyError:
            raise AttributeError(f"libmelee has no action named {name}") from None


A = _ActionIds()


def name_of(action_id: int) -> str:
    for k, v in actions().items():
        if v == int(action_id):
            return k
    return f"ACTION_{int(action_id):#x}"


# Coarse categories for the compact Nana encoding (25 wide): ranges of the game's action ids.
CATEGORIES = (
    ("dead", 0x00, 0x0B),
    ("entry", 0x0C, 0x0D),
    ("idle", 0x0E, 0x0E),
    ("walk", 0x0F, 0x11),
    ("turn", 0x12, 0x13),
    ("dash_run", 0x14, 0x17),
    ("jump_squat", 0x18, 0x18),
    ("jump", 0x19, 0x1C),
    ("fall", 0x1D, 0x25),
    ("tumble", 0x26, 0x26),
    ("crouch", 0x27, 0x29),
    ("land", 0x2A, 0x2B),
    ("ground_attack", 0x2C, 0x39),
    ("smash_attack", 0x3A, 0x40),
    ("aerial", 0x41, 0x4A),
    ("damage", 0x4B, 0x5B),
    ("item", 0x5C, 0xB1),
    ("shield", 0xB2, 0xB6),
    ("tech_down", 0xB7, 0xCC),
    ("shield_break", 0xCD, 0xD3),
    ("grab_throw", 0xD4, 0xE8),
    ("dodge", 0xE9, 0xEC),
    ("ledge", 0xF5, 0x107),
    ("thrown", 0xEF, 0xF4),
    ("special", 0x108, NUM_ACTIONS - 1),
)
NUM_CATEGORIES = len(CATEGORIES)
_RANGES = {name: (lo, hi) for name, lo, hi in CATEGORIES}
#: First and last id of the damage (hitstun) actions, DAMAGE_HI_1 .. DAMAGE_FLY_ROLL: while in
#: one, the game's "misc action-state" counter is the hitstun left.
DAMAGE_ACTIONS: tuple[int, int] = _RANGES["damage"]
#: Tumble (DAMAGE_FALL), the helpless fall after a strong hit.
TUMBLE_ACTION: int = _RANGES["tumble"][0]


@cache
def category_table() -> np.ndarray:
    """Lookup array: action id (0..398) -> category index (0..24)."""
    table = np.full(NUM_ACTIONS, NUM_CATEGORIES - 1, np.int32)
    for index, (_, lo, hi) in enumerate(CATEGORIES):
        table[lo : hi + 1] = index
    return table


@cache
def zero_indexed_table() -> np.ndarray:
    """``(33, 512)`` bool: actions whose in-game frame counter starts at 0 for that character.

    From libmelee's ``actiondata.csv``. Every backend reports ``action_frame`` 1-based (the first
    frame of an action is 1), as libmelee does: the game's counter, truncated, plus 1 where this
    table is True.
    """
    table = np.zeros((33, 512), np.bool_)
    for row in libmelee_source.read_csv("actiondata.csv"):
        char, action = int(row["character"]), int(row["action"])
        if row["zeroindex"] == "True" and char < 33 and action < 512:
            table[char, action] = True
    return table
