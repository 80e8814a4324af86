"""Projectiles: what each projectile special fires, how it flies and how long it lives.

A projectile move (Fox's and Falco's Blaster, Samus's Charge Shot, Sheik's Needle Storm,
Mario's Fireball, Dr. Mario's Megavitamin, Link's and Young Link's bows and boomerangs) has no
hitbox on the character's body: on its first active frame (FightCore's ``active_start``) it puts
one projectile in a free slot of the game's projectile slots, ``spawn_x`` ahead of the character
and ``spawn_y`` above, moving at (``speed_x`` forward, ``speed_y`` up). Each frame the
projectile falls by ``gravity``, a returning one (the boomerangs) turns back toward its owner by
``accel_x``, and it leaves after ``lifetime`` frames, at a blast zone, on the ground (``ground``:
fly over it, bounce, or vanish) or when it hits. It hits with its move's FightCore row (damage,
angle, knockback) and ``radius``; a shine reflects it (:mod:`melee_envs.backends.mock.engine.projectiles`).

Sources, per row (``source``): the flight of Fox's and Falco's lasers and Samus's shot is measured
on the shared Slippi replays (their item records: speed, the timer at spawn, the offset from the
owner), and a test re-measures it; no shared replay holds a needle, fireball, megavitamin, arrow
or boomerang, so those rows are estimates of the shape the game's manual and SSBWiki describe
("bouncing balls of fire", arrows that drop, a boomerang that returns), marked ``estimate``.
Types are libmelee's ``ProjectileType`` values, the ids Slippi records.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from melee_envs.data.characters import NUM_CHARACTER_IDS, characters
from melee_envs.data.moves import MOVE_FIELDS, MOVE_INDEX, move_table

#: What a projectile does where it meets the main ground.
GROUND_PASS, GROUND_BOUNCE, GROUND_VANISH = 0, 1, 2

#: Columns of :attr:`ProjectileTable.kinds`.
PROJECTILE_KIND_FIELDS = (
    "type",
    "spawn_frame",
    "spawn_x",
    "spawn_y",
    "speed_x",
    "speed_y",
    "gravity",
    "accel_x",
    "lifetime",
    "radius",
    "ground",
    "spawn_frame_air",
    "move",
)

#: Reflected projectiles deal 1.5x their damage (SSBWiki, "Reflector (Fox)": Melee's reflector
#: "multiplies a projectile's damage and knockback by 1.5").
REFLECT_DAMAGE = 1.5

_REPLAYS = "measured on the shared replays"
_ESTIMATE = "estimate (no such projectile in the shared replays)"
_DIGNITAS = "team-dignitas.net, 'Projectiles - Low Tier Edition', 2018"


@dataclass(frozen=True)
class Projectile:
    character: str
    move: str
    type: int
    speed_x: float
    speed_y: float
    lifetime: int
    """Frames it exists, the one it appears on included (Slippi's item timer counts them down to 1)."""
    spawn_x: float
    spawn_y: float
    radius: float
    gravity: float = 0.0
    accel_x: float = 0.0
    ground: int = GROUND_VANISH
    spawn_frame_air: int = 0
    """Move frame the projectile appears on when fired in the air (0: FightCore's first active frame)."""
    damage: float = 0.0
    """0: the move row's (FightCore) damage; set where that row is not the projectile's usual hit."""
    source: str = ""


PROJECTILES: tuple[Projectile, ...] = (
    Projectile(
        "FOX", "neutralb", 54, 7.0, 0.0, 34, 16.4, 9.4, 2.5, spawn_frame_air=9,
        source=f"{_REPLAYS}: 56 FOX_LASER items, speed 7.0, seen 34 frames (timer 34 to 1), median offset; "
        "in the air on frame 9 (the 5th of the loop after the 4-frame start)",
    ),
    Projectile(
        "FALCO", "neutralb", 55, 5.0, 0.0, 99, 14.6, 12.8, 2.5, spawn_frame_air=12,
        source=f"{_REPLAYS}: 97 FALCO_LASER items, speed 5.0, seen 99 frames (timer 99 to 1), median offset; "
        "in the air on frame 12 (the 8th of the loop after the 4-frame start)",
    ),
    Projectile(
        "SAMUS", "neutralb", 94, 1.5, 0.0, 69, 12.0, 8.3, 3.0,
        source=f"{_REPLAYS}: SAMUS_CHARGE_BEAM fired at 1.5 (least charge seen), timer 69, 8.3 up; x offset estimated",
    ),
    Projectile("SHEIK", "neutralb", 79, 4.5, 0.0, 40, 10.0, 10.0, 2.0, source=_ESTIMATE),
    Projectile(
        "MARIO", "neutralb", 48, 1.6, -0.3, 70, 8.0, 8.0, 2.5, gravity=0.1, ground=GROUND_BOUNCE, source=_ESTIMATE
    ),
    Projectile(
        "DOC", "neutralb", 49, 1.5, -0.3, 70, 8.0, 8.0, 2.5, gravity=0.1, ground=GROUND_BOUNCE, source=_ESTIMATE
    ),
    Projectile("LINK", "neutralb", 76, 2.8, 0.0, 35, 10.0, 8.0, 2.0, gravity=0.035, source=_ESTIMATE),
    Projectile(
        "YLINK", "neutralb", 77, 2.8, 0.0, 35, 10.0, 7.0, 2.0, gravity=0.035, damage=8.0,
        source=f"{_ESTIMATE}; damage 8% uncharged ({_DIGNITAS})",
    ),
    Projectile(
        "LINK", "sideb", 60, 3.0, 0.0, 100, 10.0, 8.0, 3.0, accel_x=0.06, ground=GROUND_PASS, source=_ESTIMATE
    ),
    Projectile(
        "YLINK", "sideb", 61, 3.0, 0.0, 100, 10.0, 7.0, 3.0, accel_x=0.06, ground=GROUND_PASS, damage=7.0,
        source=f"{_ESTIMATE}; damage 7% at range ({_DIGNITAS})",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ProjectileTable:
    kinds: np.ndarray  # [kind, PROJECTILE_KIND_FIELDS]
    hit: np.ndarray  # [kind, MOVE_FIELDS]: the move row a projectile hits with (radius its own)
    of_move: np.ndarray  # [character_id, move] -> kind, -1 where the move fires nothing
    of_type: np.ndarray  # [projectile type (0..255)] -> kind, -1 where the engine does not model it


@cache
def projectile_table() -> ProjectileTable:
    """The engine's projectile table (built once per process)."""
    moves = move_table().values
    kinds = np.zeros((len(PROJECTILES), len(PROJECTILE_KIND_FIELDS)), np.float32)
    hit = np.zeros((len(PROJECTILES), len(MOVE_FIELDS)), np.float32)
    of_move = np.full((NUM_CHARACTER_IDS, len(MOVE_INDEX)), -1, np.int32)
    of_type = np.full(256, -1, np.int32)
    by_name = characters()
    for k, pr in enumerate(PROJECTILES):
        ch = by_name[pr.character].internal_id
        move = MOVE_INDEX[pr.move]
        row = moves[ch, move]
        values = {
            "type": pr.type,
            "spawn_frame": max(1.0, float(row[MOVE_FIELDS.index("active_start")])),
            "spawn_x": pr.spawn_x,
            "spawn_y": pr.spawn_y,
            "speed_x": pr.speed_x,
            "speed_y": pr.speed_y,
            "gravity": pr.gravity,
            "accel_x": pr.accel_x,
            "lifetime": pr.lifetime,
            "radius": pr.radius,
            "ground": pr.ground,
            "spawn_frame_air": pr.spawn_frame_air,
            "move": move,
        }
        kinds[k] = [values[f] for f in PROJECTILE_KIND_FIELDS]
        hit[k] = row
        hit[k, MOVE_FIELDS.index("hitbox_radius")] = pr.radius
        if pr.damage > 0:
            hit[k, MOVE_FIELDS.index("damage")] = pr.damage
        of_move[ch, move] = k
        of_type[pr.type] = k
    return ProjectileTable(kinds, hit, of_move, of_type)
