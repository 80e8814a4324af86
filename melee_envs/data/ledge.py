"""Ledge options as the mock engine plays them: getting up, rolling and attacking from the ledge,
each quick (below 100%) or slow (at 100% or more).

Each option is the game's own action (libmelee ``Action``), and its motion is that action's
per-frame displacement in libmelee's ``framedata.csv`` (``locomotion_x`` along the facing, toward the stage,
``locomotion_y`` up) from the hanging point: the summed rise brings each character from its hanging
height to the stage (Fox 14.4 units, Ganondorf 28.4) and a roll carries it 36-56 units in. The
option lasts as many frames as the action has rows. libmelee has no rows for Marth's slow ledge
attack; he uses his quick one's motion and length there (the action id stays the slow one's).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from melee_envs.data import libmelee_source
from melee_envs.data.actions import actions
from melee_envs.data.characters import NUM_CHARACTER_IDS, characters

#: The options in the game's id order (254-259), so an option's index is its action id minus
#: the first's: slow and quick getup, attack and roll.
LEDGE_ACTIONS = (
    "EDGE_GETUP_SLOW",
    "EDGE_GETUP_QUICK",
    "EDGE_ATTACK_SLOW",
    "EDGE_ATTACK_QUICK",
    "EDGE_ROLL_SLOW",
    "EDGE_ROLL_QUICK",
)
#: Each option's slow variant; the quick one is the next.
GETUP, ATTACK, ROLL = 0, 2, 4
#: At this percent or more the slow variant plays (SSBWiki "Ledge").
SLOW_PERCENT = 100.0
#: Frames of motion kept per option (the longest, a slow roll, has 79).
LEDGE_FRAMES = 96


@dataclass(frozen=True)
class LedgeTable:
    motion: np.ndarray
    """``[character_id, option, frame, (toward the stage, up)]``; frame 1 at index 1."""
    frames: np.ndarray
    """``[character_id, option]``: the option's length in frames."""
    borrowed: frozenset[tuple[str, str]]
    """(character, action) pairs that use their quick variant's motion (no libmelee rows)."""


@cache
def ledge_table() -> LedgeTable:
    """Every character's ledge options as the engine's kernels read them (built once per process)."""
    ids = actions()
    first = ids[LEDGE_ACTIONS[0]]
    if [ids[n] - first for n in LEDGE_ACTIONS] != list(range(len(LEDGE_ACTIONS))):
        raise ValueError("libmelee's ledge option ids are no longer contiguous in LEDGE_ACTIONS order")
    rows = libmelee_source.frame_rows(first + k for k in range(len(LEDGE_ACTIONS)))
    motion = np.zeros((NUM_CHARACTER_IDS, len(LEDGE_ACTIONS), LEDGE_FRAMES, 2), np.float32)
    frames = np.zeros((NUM_CHARACTER_IDS, len(LEDGE_ACTIONS)), np.int32)
    borrowed = set()
    for info in characters().values():
        cid = characters()["POPO" if info.name == "NANA" else info.name].internal_id
        for option, name in enumerate(LEDGE_ACTIONS):
            steps = rows.get((cid, first + option))
            if not steps and option % 2 == 0:
                steps = rows.get((cid, first + option + 1))
                borrowed.add((info.name, name))
            if not steps:
                raise ValueError(f"libmelee's framedata.csv has no rows for {info.name}'s {name}")
            steps = libmelee_source.locomotion(steps[: LEDGE_FRAMES - 1])
            frames[info.internal_id, option] = len(steps)
            motion[info.internal_id, option, 1 : len(steps) + 1] = steps
    return LedgeTable(motion, frames, frozenset(borrowed))
