"""Constant arrays the mock kernels read: character attributes, moves, stage geometry.

Built once per process from :mod:`melee_envs.data`; kernels index them by internal character id
and libmelee stage value.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cache

import numpy as np

from melee_envs.data.characters import NUM_CHARACTER_IDS, attribute_arrays, characters
from melee_envs.data.ledge import ledge_table
from melee_envs.data.moves import COUNTERS, move_of_action, move_table
from melee_envs.data.projectiles import projectile_table
from melee_envs.data.recoveries import recovery_table
from melee_envs.data.stages import geometry_arrays

#: Column order of :attr:`Tables.chars`.
CHAR_FIELDS = (
    "weight",
    "gravity",
    "terminal_velocity",
    "fast_fall_speed",
    "walk_speed",
    "initial_dash",
    "run_speed",
    "dash_frames",
    "jump_squat",
    "full_hop_velocity",
    "short_hop_velocity",
    "double_jump_velocity",
    "double_jump_x",
    "air_speed",
    "air_mobility",
    "air_friction",
    "friction",
    "extra_jumps",
    "size",
    "ledge_hang_y",
    "jump_h_max",
    "landing_depth",
)


#: What the compiled kernels read (Numba takes named tuples of arrays as one argument).
KernelTables = namedtuple(
    "KernelTables",
    (
        "chars", "moves", "loco", "ground_x", "ledge_x", "blast", "platforms", "num_platforms", "recovery", "travel",
        "ledge", "ledge_frames", "hit_geo", "hit_window", "hit_group", "hit_props", "hit_known",
        "proj", "proj_hit", "proj_of_move", "proj_of_type", "counter", "halo_y",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Tables:
    chars: np.ndarray  # [char_id, CHAR_FIELDS]
    moves: np.ndarray  # [char_id, move, MOVE_FIELDS]
    locomotion: np.ndarray  # [char_id, move, frame]
    ground_x: np.ndarray  # [stage]
    ledge_x: np.ndarray  # [stage]
    blast: np.ndarray  # [stage, (left, right, top, bottom)]
    platforms: np.ndarray  # [stage, k, (height, left, right)]
    num_platforms: np.ndarray  # [stage]
    halo_y: np.ndarray  # [stage]: the respawn halo's height
    move_of_action: np.ndarray  # [char_id, action] -> move index or -1
    recovery: np.ndarray  # [char_id, RECOVERY_FIELDS]
    travel: np.ndarray  # [char_id, frame, (forward, up)]: up-B travel per frame
    ledge: np.ndarray  # [char_id, option, frame, (toward the stage, up)]: ledge options' motion
    ledge_frames: np.ndarray  # [char_id, option]: their lengths
    hit_geo: np.ndarray  # [char_id, move, frame, slot, (x, y, radius)] (melee_envs.data.moves.HitboxTable)
    hit_window: np.ndarray  # [char_id, move, frame]: the hit (window) a frame belongs to, -1 none
    hit_group: np.ndarray  # [char_id, move, window]: the hit-once group of a window
    hit_props: np.ndarray  # [char_id, move, window, slot, MOVE_FIELDS]
    hit_known: np.ndarray  # [char_id, move]: 1 where the per-frame hitboxes exist
    proj: np.ndarray  # [kind, PROJECTILE_KIND_FIELDS] (melee_envs.data.projectiles)
    proj_hit: np.ndarray  # [kind, MOVE_FIELDS]: the row a projectile hits with
    proj_of_move: np.ndarray  # [char_id, move] -> projectile kind, -1 none
    proj_of_type: np.ndarray  # [projectile type] -> kind, -1 where not modelled
    counter: np.ndarray  # [char_id, (mode, value)]: melee_envs.data.moves.COUNTERS, mode 0 none

    @property
    def kernel_tuple(self) -> KernelTables:
        """The tables as the kernels take them (a named tuple: ``T.ground_x``)."""
        return KernelTables(
            self.chars,
            self.moves,
            self.locomotion,
            self.ground_x,
            self.ledge_x,
            self.blast,
            self.platforms,
            self.num_platforms,
            self.recovery,
            self.travel,
            self.ledge,
            self.ledge_frames,
            self.hit_geo,
            self.hit_window,
            self.hit_group,
            self.hit_props,
            self.hit_known,
            self.proj,
            self.proj_hit,
            self.proj_of_move,
            self.proj_of_type,
            self.counter,
            self.halo_y,
        )


@cache
def tables() -> Tables:
    attrs = attribute_arrays()
    chars = np.stack([attrs[f] for f in CHAR_FIELDS], axis=1).astype(np.float32)
    geo = geometry_arrays()
    moves = move_table()
    rec = recovery_table()
    ledge = ledge_table()
    proj = projectile_table()
    counter = np.zeros((NUM_CHARACTER_IDS, 2), np.float32)
    for name, (mode, value) in COUNTERS.items():
        counter[characters()[name].internal_id] = (mode, value)
    return Tables(
        chars=chars,
        moves=moves.values,
        locomotion=moves.locomotion,
        move_of_action=move_of_action(),
        recovery=rec.values,
        travel=rec.profile,
        ledge=ledge.motion,
        ledge_frames=ledge.frames,
        hit_geo=moves.hitboxes.geometry,
        hit_window=moves.hitboxes.window,
        hit_group=moves.hitboxes.group,
        hit_props=moves.hitboxes.props,
        hit_known=moves.hitboxes.known,
        proj=proj.kinds,
        proj_hit=proj.hit,
        proj_of_move=proj.of_move,
        proj_of_type=proj.of_type,
        counter=counter,
        **geo,
    )
