"""Up-B recoveries: each character's action ids, phases and travel, as the mock engine plays them.

An up-B has up to three parts: a *start* (Fox and Falco charge in place, Pikachu and Pichu wind
up), a *travel* and, for most characters, a helpless fall (``SPECIAL_FALL``) until landing or a
ledge catch. How the travel moves:

* ``rise``: the travel action's own per-frame displacement from libmelee's ``framedata.csv``
  (``locomotion_x`` forward, ``locomotion_y`` up), with the stick drifting it sideways;
* ``angle``: the same per-frame distance (or a measured one) along the direction the stick holds
  when the travel starts (Fox and Falco's Fire Fox / Fire Bird, Quick Attack, teleports);
* ``none``: the move gives no travel and no helpless fall (Yoshi's Egg Throw, Jigglypuff's Sing:
  those characters recover with their jumps).

Sources, per row (``source`` column): the action ids are libmelee's ``framedata.csv`` rows for
the character (the special action with that rise), checked against the action a player entered
on pressing up-B in the shared Slippi replays where one did (Fox, Falco, Captain Falcon,
Ganondorf, Marth, Bowser, DK, Peach, Pichu, Ice Climbers, Sheik); frame counts and rises are the
framedata rows' lengths and summed locomotion. Where a row gives ``travel_frames``/``distance``,
those were measured on the replays (Pichu) or are estimates, said so in its source. The table is
the engine's own; nothing here is copied from another project.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from melee_envs.data import libmelee_source
from melee_envs.data.characters import NUM_CHARACTER_IDS, characters

STEER_RISE, STEER_ANGLE, STEER_NONE = 0, 1, 2
STEERS = {"rise": STEER_RISE, "angle": STEER_ANGLE, "none": STEER_NONE}
#: Frames of travel profile kept per character (the longest travel, Link's spin, is 79).
PROFILE_FRAMES = 96

_FD = "libmelee framedata"
_SEEN = "seen on up-B in the shared replays"


@dataclass(frozen=True)
class Recovery:
    ground_action: int
    air_action: int
    """The action entered in the air: the start when ``start_frames`` > 0, else the travel."""
    start_frames: int
    travel_action: int
    steer: str
    helpless: bool = True
    travel_frames: int = 0
    """0: the framedata row count of ``travel_action``."""
    distance: float = 0.0
    """0: the framedata's summed locomotion of ``travel_action`` (per frame as recorded)."""
    source: str = ""


#: Every character's up-B (Nana shares Popo's; Popo's is the solo Belay, Nana not being simulated).
RECOVERIES: dict[str, Recovery] = {
    "FOX": Recovery(353, 354, 42, 356, "angle", source=f"{_FD} 354 (charge 42 f), 356 (29 f, 77.7 units); {_SEEN}"),
    "FALCO": Recovery(353, 354, 42, 356, "angle", source=f"{_FD} 354 (charge 42 f), 356 (22 f, 60.1); {_SEEN}"),
    "MARTH": Recovery(367, 368, 0, 368, "rise", source=f"{_FD} 368 (39 f, 50.6 up); {_SEEN}"),
    "ROY": Recovery(367, 368, 0, 368, "rise", source=f"{_FD} 368 (48 f, 48.9 up)"),
    "CPTFALCON": Recovery(353, 354, 0, 354, "rise", source=f"{_FD} 354 (64 f, 37.6 up); {_SEEN}"),
    "GANONDORF": Recovery(353, 354, 0, 354, "rise", source=f"{_FD} 354 (64 f, 41.9 up); {_SEEN}"),
    "MARIO": Recovery(347, 348, 0, 348, "rise", source=f"{_FD} 348 (37 f, 38.4 up)"),
    "DOC": Recovery(347, 348, 0, 348, "rise", source=f"{_FD} 348 (37 f, 38.4 up)"),
    "LUIGI": Recovery(355, 356, 0, 356, "rise", source=f"{_FD} 356 (39 f, 43.6 up)"),
    "SAMUS": Recovery(353, 354, 0, 354, "rise", source=f"{_FD} 354 (47 f, 46.1 up)"),
    "LINK": Recovery(357, 357, 0, 357, "rise", source=f"{_FD} 357 (79 f, 46.9 up)"),
    "YLINK": Recovery(357, 357, 0, 357, "rise", source=f"{_FD} 357 (79 f, 47.4 up)"),
    "BOWSER": Recovery(360, 360, 0, 360, "rise", source=f"{_FD} 360 (49 f, 30.8 up); {_SEEN}"),
    "DK": Recovery(382, 382, 0, 382, "rise", source=f"{_FD} 382 (81 f, 25.2 up); {_SEEN}"),
    "GAMEANDWATCH": Recovery(373, 374, 0, 374, "rise", source=f"{_FD} 374 (39 f, 75.6 up)"),
    "PEACH": Recovery(361, 363, 0, 363, "rise", source=f"{_FD} 363 (40 f, 35.0 up); {_SEEN}"),
    "NESS": Recovery(
        365,
        365,
        0,
        365,
        "rise",
        source=f"{_FD} 365 (69 f, 72.1 up): PK Thunder 2 as if the bolt were aimed straight up",
    ),
    "KIRBY": Recovery(390, 390, 0, 390, "rise", source=f"{_FD} 390 (33 f, 42.8 up); id estimated (no replay)"),
    "SHEIK": Recovery(358, 358, 0, 358, "rise", source=f"{_FD} 358 (35 f, 30.5 up); {_SEEN}; the teleport omitted"),
    "POPO": Recovery(352, 352, 0, 352, "rise", source=f"{_FD} 352 (16 f, 11.2 up): Belay without Nana; {_SEEN}"),
    "PICHU": Recovery(
        356,
        356,
        13,
        357,
        "angle",
        travel_frames=8,
        distance=33.0,
        source=f"{_FD} 356 (wind-up 13 f); one zip measured in the shared replays (33 units in 8 f)",
    ),
    "PIKACHU": Recovery(
        353,
        356,
        13,
        357,
        "angle",
        travel_frames=8,
        distance=33.0,
        source=f"{_FD} 356 (wind-up 13 f); the zip estimated from Pichu's",
    ),
    "MEWTWO": Recovery(
        356,
        356,
        7,
        357,
        "angle",
        travel_frames=8,
        distance=50.0,
        source=f"{_FD} 356 (start 7 f); the teleport's distance estimated",
    ),
    "ZELDA": Recovery(352, 352, 33, 353, "angle", source=f"{_FD} 352 (start 33 f), 353 (20 f, 84.0); ids estimated"),
    "YOSHI": Recovery(
        0, 0, 0, 0, "none", helpless=False, source="Egg Throw gives no travel (Yoshi recovers with its double jump)"
    ),
    "JIGGLYPUFF": Recovery(0, 0, 0, 0, "none", helpless=False, source="Sing gives no travel (Jigglypuff has 5 jumps)"),
}

#: Columns of :attr:`RecoveryTable.values`.
RECOVERY_FIELDS = (
    "ground_action", "air_action", "start_frames", "travel_action", "travel_frames", "steer", "helpless",
)  # fmt: skip


@dataclass(frozen=True)
class RecoveryTable:
    values: np.ndarray
    """``[character_id, RECOVERY_FIELDS]`` (float32)."""
    profile: np.ndarray
    """``[character_id, frame, (forward, up)]``: displacement on travel frame ``k`` (1-based)."""


@cache
def recovery_table() -> RecoveryTable:
    """Every character's up-B as the engine's kernels read it (built once per process)."""
    values = np.zeros((NUM_CHARACTER_IDS, len(RECOVERY_FIELDS)), np.float32)
    profile = np.zeros((NUM_CHARACTER_IDS, PROFILE_FRAMES, 2), np.float32)
    frames_of = libmelee_source.frame_rows({r.travel_action for r in RECOVERIES.values()})
    for info in characters().values():
        rec = RECOVERIES["POPO" if info.name == "NANA" else info.name]
        frames = rec.travel_frames
        if rec.steer != "none":
            steps = libmelee_source.locomotion(frames_of.get((info.internal_id, rec.travel_action), []))
            if rec.distance > 0:
                steps = [(0.0, rec.distance / frames)] * frames
            frames = frames or len(steps)
            if not steps:
                raise ValueError(
                    f"libmelee's framedata.csv has no rows for {info.name}'s up-B action {rec.travel_action}"
                )
            for k, (x, y) in enumerate(steps[: PROFILE_FRAMES - 1]):
                profile[info.internal_id, k + 1] = (abs(x), y)
        values[info.internal_id] = (
            rec.ground_action, rec.air_action, rec.start_frames, rec.travel_action, min(frames, PROFILE_FRAMES - 1),
            STEERS[rec.steer], 1.0 if rec.helpless else 0.0,
        )  # fmt: skip
    return RecoveryTable(values, profile)
