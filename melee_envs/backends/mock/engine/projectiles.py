"""Projectiles in the game's projectile slots: fired by projectile moves, flying, hitting, reflected.

A slot in use (``jb``) holds a libmelee projectile ``type``, its ``owner`` (player index) and
position and speed, as a ``GameState`` shows them; ``xs`` keeps the frames it has left and its
damage multiplier. Kinds (:mod:`melee_envs.data.projectiles`) give the flight. A projectile hits
the first opponent its hitbox touches with its move's row (stale like any move), pushes a shield
like any hit and does not freeze its owner (the game gives hitlag to the target only); a
flinchless one (no knockback at all: Fox's laser) only deals damage. A shine reflects it: it turns
round, changes owner and deals ``REFLECT_DAMAGE`` times its damage; a counter deflects it
(:mod:`.counters`). Slots of types the engine does
not model (stage items) are emptied when a state is loaded.
"""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _intangible, _launch, _shield_hit, _touches
from melee_envs.backends.mock.engine.counters import _countering, _deflect
from melee_envs.backends.mock.engine.schema import (
    EI_MOVE,
    GROUND_BOUNCE,
    GROUND_VANISH,
    J_OWNER,
    J_TYPE,
    J_VX,
    J_VY,
    J_X,
    J_Y,
    K_ACCEL_X,
    K_GRAVITY,
    K_GROUND,
    K_LIFETIME,
    K_MOVE,
    K_RADIUS,
    K_SPAWN_AIR,
    K_SPAWN_FRAME,
    K_SPAWN_X,
    K_SPAWN_Y,
    K_SPEED_X,
    K_SPEED_Y,
    K_TYPE,
    M_BKB,
    M_DMG,
    M_KBG,
    M_SKB,
    ON_HALO_WAIT,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_GROUND,
    P_HITLAG,
    P_PCT,
    P_X,
    P_Y,
    SHINE_AIR,
    SHINE_GROUND,
    XS_LIFE,
    XS_SCALE,
)
from melee_envs.backends.mock.engine.specials import _is_shine
from melee_envs.backends.mock.engine.states import _is_held, _is_shielding, _stale_factor, _stale_push
from melee_envs.data.projectiles import REFLECT_DAMAGE
from melee_envs.state import MAX_PERCENT


@numba.njit(_nrt=False, inline="always")
def _fire(G, b, p, T):
    """Put ``p``'s projectile in a free slot on its move's spawn frame; returns whether it did
    (no slot free: none)."""
    move = G.ei[b, p, EI_MOVE]
    if move < 0 or G.pf[b, p, 0, P_HITLAG] > 0:
        return False
    kind = T.proj_of_move[G.pi[b, p, 0, P_CHAR], move]
    if kind < 0:
        return False
    k_row = T.proj[kind]
    air = k_row[K_SPAWN_AIR] > 0 and not G.pb[b, p, 0, P_GROUND]
    if int(G.pf[b, p, 0, P_AFRAME]) != int(k_row[K_SPAWN_AIR] if air else k_row[K_SPAWN_FRAME]):
        return False
    for k in range(G.jb.shape[1]):
        if not G.jb[b, k]:
            face = G.pf[b, p, 0, P_FACE]
            G.jb[b, k] = True
            G.ji[b, k, J_TYPE] = int(k_row[K_TYPE])
            G.ji[b, k, J_OWNER] = p
            G.jf[b, k, J_X] = G.pf[b, p, 0, P_X] + face * k_row[K_SPAWN_X]
            G.jf[b, k, J_Y] = G.pf[b, p, 0, P_Y] + k_row[K_SPAWN_Y]
            G.jf[b, k, J_VX] = face * k_row[K_SPEED_X]
            G.jf[b, k, J_VY] = k_row[K_SPEED_Y]
            G.xs[b, k, XS_LIFE] = k_row[K_LIFETIME]
            G.xs[b, k, XS_SCALE] = 1.0
            return True
    return False


@numba.njit(_nrt=False, inline="always")
def _fly(G, b, T):
    """One frame of every projectile: age, fall, turn back (returning ones), move, meet the
    ground, leave at a blast zone."""
    st = G.stage[b]
    for k in range(G.jb.shape[1]):
        if not G.jb[b, k]:
            continue
        kind = T.proj_of_type[G.ji[b, k, J_TYPE]]
        G.xs[b, k, XS_LIFE] -= 1.0
        if kind < 0 or G.xs[b, k, XS_LIFE] <= 0.0:
            G.jb[b, k] = False
            continue
        row = T.proj[kind]
        j = G.jf[b, k]
        j[J_VY] -= row[K_GRAVITY]
        if row[K_ACCEL_X] > 0.0:  # a boomerang turns back toward its owner
            owner = G.ji[b, k, J_OWNER]
            toward = 1.0 if G.pf[b, owner, 0, P_X] > j[J_X] else -1.0
            j[J_VX] = max(-row[K_SPEED_X], min(row[K_SPEED_X], j[J_VX] + toward * row[K_ACCEL_X]))
        was_above = j[J_Y] >= 0.0
        j[J_X] += j[J_VX]
        j[J_Y] += j[J_VY]
        if was_above and j[J_Y] < 0.0 and abs(j[J_X]) <= T.ground_x[st]:
            if row[K_GROUND] == GROUND_VANISH:
                G.jb[b, k] = False
                continue
            if row[K_GROUND] == GROUND_BOUNCE:
                j[J_Y] = -j[J_Y]
                j[J_VY] = -j[J_VY]
        if j[J_X] < T.blast[st, 0] or j[J_X] > T.blast[st, 1] or j[J_Y] > T.blast[st, 2] or j[J_Y] < T.blast[st, 3]:
            G.jb[b, k] = False


@numba.njit(_nrt=False, inline="always")
def _reflecting(G, T, b, q):
    """Whether ``q``'s shine is up (any part but its end)."""
    a = G.pi[b, q, 0, P_ACTION]
    return _is_shine(G, T, b, q) and a != SHINE_GROUND + 3 and a != SHINE_AIR + 3


@numba.njit(_nrt=False, inline="always")
def _projectile_hits(G, b, T):
    """Each projectile hits (or is reflected by) the first opponent it touches."""
    num_players = G.pi.shape[1]
    for k in range(G.jb.shape[1]):
        if not G.jb[b, k]:
            continue
        kind = T.proj_of_type[G.ji[b, k, J_TYPE]]
        owner = G.ji[b, k, J_OWNER]
        if kind < 0 or owner < 0:
            continue
        x, y, r = G.jf[b, k, J_X], G.jf[b, k, J_Y], T.proj[kind, K_RADIUS]
        for q in range(num_players):
            if q == owner or G.pi[b, q, 0, P_ACTION] <= ON_HALO_WAIT or not _touches(G, b, q, T, x, y, r):
                continue
            if _reflecting(G, T, b, q):
                G.ji[b, k, J_OWNER] = q
                G.jf[b, k, J_VX] = -G.jf[b, k, J_VX]
                G.xs[b, k, XS_SCALE] *= REFLECT_DAMAGE
                G.xs[b, k, XS_LIFE] = T.proj[kind, K_LIFETIME]
                break
            if _intangible(G, T.moves, b, q) or _is_held(G.pi[b, q, 0, P_ACTION]):
                continue
            if _countering(G, T, b, q):
                _deflect(G, T, b, q, G.jf[b, k])
                break
            _projectile_lands(G, b, k, kind, owner, q, T)
            G.jb[b, k] = False
            break


@numba.njit(_nrt=False)
def _projectile_lands(G, b, k, kind, owner, q, T):
    mv = T.proj_hit[kind]
    vx = G.jf[b, k, J_VX]
    side = 1.0 if vx > 0.0 else (-1.0 if vx < 0.0 else (1.0 if G.pf[b, q, 0, P_X] > G.jf[b, k, J_X] else -1.0))
    scale = G.xs[b, k, XS_SCALE]
    move = int(T.proj[kind, K_MOVE])  # for the stale queue, while the owner is the one who fired it
    if T.proj_of_move[G.pi[b, owner, 0, P_CHAR], move] != kind:
        move = -1
    stale = _stale_factor(G.ei, b, owner, move) if move >= 0 and scale == 1.0 else 1.0
    if _is_shielding(G.pi[b, q, 0, P_ACTION]) and G.pb[b, q, 0, P_GROUND]:
        _shield_hit(G, b, q, q, mv, side)  # the target takes the hitlag; the owner does not freeze
        return
    if mv[M_BKB] == 0.0 and mv[M_KBG] == 0.0 and mv[M_SKB] == 0.0:  # flinchless: damage only
        G.pf[b, q, 0, P_PCT] = min(G.pf[b, q, 0, P_PCT] + mv[M_DMG] * stale * scale, MAX_PERCENT)
    else:
        _launch(G, b, q, q, mv, T.chars, side, stale * scale)
    if move >= 0 and scale == 1.0:
        _stale_push(G.ei, b, owner, move)
