"""A hit player's freeze: smash DI while frozen, knockback DI and automatic SDI as it ends
(constants and their measurement in :mod:`.rules`). Automatic SDI down from just above the ground
lands the player at once unless the launch carries it back above the ground on the same frame, as
in the shared replays (stick held down on a weak launch from the ground: ``LANDING`` on its first
frame; on a strong upward one: airborne)."""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.physics import _land
from melee_envs.backends.mock.engine.rules import ASDI_DISTANCE, DI_MAX_DEG, SDI_AXIS, SDI_DISTANCE, SDI_STICK
from melee_envs.backends.mock.engine.schema import (
    DAMAGE_FIRST,
    DAMAGE_LAST,
    EI_HIT,
    EI_MOVE,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_GROUND,
    P_KBX,
    P_KBY,
    P_X,
    P_Y,
)


@numba.njit(_nrt=False, inline="always")
def _damaged(G, b, p):
    """Whether player ``p`` is in a damage action: hit, not the one who hit (while frozen: frozen
    by a hit it took)."""
    return DAMAGE_FIRST <= G.pi[b, p, 0, P_ACTION] <= DAMAGE_LAST


@numba.njit(_nrt=False, inline="always")
def _newly_pushed(now, before):
    return abs(now) >= SDI_AXIS and (abs(before) < SDI_AXIS or (now > 0) != (before > 0))


@numba.njit(_nrt=False, inline="always")
def _into_ground(f, ground_x, dx, dy):
    """Whether moving a player from the air by (dx, dy) takes it down through the stage's ground."""
    return dy < 0.0 and f[P_Y] >= 0.0 > f[P_Y] + dy and abs(f[P_X] + dx) <= ground_x


@numba.njit(_nrt=False)
def _smash_di(G, b, p, sx, sy, psx, psy, ground_x):
    """Smash DI on a frozen frame after the first: a new strong stick input shifts the player."""
    if not _damaged(G, b, p) or math.hypot(sx, sy) < SDI_STICK:
        return
    if math.hypot(psx, psy) >= SDI_STICK and not (_newly_pushed(sx, psx) or _newly_pushed(sy, psy)):
        return
    f = G.pf[b, p, 0]
    dx, dy = SDI_DISTANCE * sx, 0.0 if G.pb[b, p, 0, P_GROUND] else SDI_DISTANCE * sy  # along the ground
    if _into_ground(f, ground_x, dx, dy):
        dy = 0.0  # no smash DI down into the ground from the air
    f[P_X] += dx
    f[P_Y] += dy


@numba.njit(_nrt=False)
def _freeze_ends(G, b, p, sx, sy, cx, cy, T):
    """As a hit's freeze ends, the stick held on its last frozen frame (``sx``, ``sy``; the
    C-stick ``cx``, ``cy``) turns an airborne launch (DI) and shifts the player (ASDI)."""
    if not _damaged(G, b, p):
        return
    f = G.pf[b, p, 0]
    speed = math.hypot(f[P_KBX], f[P_KBY])
    if speed > 0.0 and not G.pb[b, p, 0, P_GROUND]:
        ux, uy = f[P_KBX] / speed, f[P_KBY] / speed
        perp = max(-1.0, min(1.0, ux * sy - uy * sx))
        angle = math.atan2(uy, ux) + math.radians(DI_MAX_DEG) * perp * abs(perp)
        f[P_KBX], f[P_KBY] = speed * math.cos(angle), speed * math.sin(angle)
    if math.hypot(cx, cy) >= SDI_STICK:
        sx, sy = cx, cy
    if math.hypot(sx, sy) < SDI_STICK:
        return
    dx, dy = ASDI_DISTANCE * sx, 0.0 if G.pb[b, p, 0, P_GROUND] else ASDI_DISTANCE * sy  # along the ground
    into_ground = _into_ground(f, T.ground_x[G.stage[b]], dx, dy)
    f[P_X] += dx
    f[P_Y] += dy
    # Down into the ground: the launch may carry the player back out this frame; if not, it lands.
    if into_ground and f[P_Y] + f[P_KBY] <= 0.0:
        _land(G, b, p, T.chars[G.pi[b, p, 0, P_CHAR]], T.moves, 0.0)


@numba.njit(_nrt=False)
def _derive_hits(G, T):
    """For a loaded state: whether each player's move in progress has already hit. It has when
    the opponent was hit (is in a damage action) after the move began: the opponent's action
    frame counts the frames since that hit and the move's the frames since it began (neither
    counts frozen frames). The hit's window is then spent, so the move hits again only in a
    later window of a multi-hit move, as if the engine had dealt that hit itself."""
    pi, pf, ei = G.pi, G.pf, G.ei
    for b in range(pi.shape[0]):
        for p in range(2):
            move = ei[b, p, EI_MOVE]
            if move < 0 or ei[b, p, EI_HIT] != 0 or not _damaged(G, b, 1 - p):
                continue
            began = int(pf[b, p, 0, P_AFRAME] - pf[b, 1 - p, 0, P_AFRAME]) + 1  # the move's frame of the hit
            if began < 1:
                continue  # hit before this move began
            ch = pi[b, p, 0, P_CHAR]
            if not T.hit_known[ch, move]:
                ei[b, p, EI_HIT] = 1
            elif began < T.hit_window.shape[2] and T.hit_window[ch, move, began] >= 0:
                ei[b, p, EI_HIT] = T.hit_group[ch, move, T.hit_window[ch, move, began]] + 1
