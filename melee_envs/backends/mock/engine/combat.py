"""Hits, knockback, hitstun, stale moves, shields and catching a grab."""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.rules import (
    GRAB_DISTANCE,
    GRAB_HOLD_BASE,
    GRAB_HOLD_PER_PCT,
    HITSTUN_PER_KB,
    KB_SPEED,
    SHIELD_AFTER_BREAK,
    SHIELD_BREAK_VY,
    SHIELD_DAMAGE_RATIO,
    SHIELD_PUSH,
    TUMBLE_KB,
    knockback,
)
from melee_envs.backends.mock.engine.schema import (
    C_SIZE,
    C_WEIGHT,
    DAMAGE_AIR_1,
    DAMAGE_FLY_NEUTRAL,
    DAMAGE_NEUTRAL_1,
    DOWNB,
    EI_FASTFALL,
    EI_HIT,
    EI_INVULN,
    EI_MOVE,
    EI_TIMER,
    EI_TUMBLE,
    EI_UPB,
    FTHROW,
    GRAB,
    GRAB_WAIT,
    GRABBED,
    M_ANGLE,
    M_BKB,
    M_DMG,
    M_END,
    M_HBR,
    M_HBX,
    M_HBY,
    M_HITLAG,
    M_KBG,
    M_SKB,
    M_SSTUN,
    M_START,
    ON_HALO_WAIT,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_GROUND,
    P_HITLAG,
    P_HITSTUN,
    P_KBX,
    P_KBY,
    P_PCT,
    P_SHIELD,
    P_VAIR,
    P_VGROUND,
    P_VY,
    P_X,
    P_Y,
    SHIELD_BREAK_FLY,
    SHIELD_STUN,
    SPOTDODGE,
    UPB,
    UPB_START,
)
from melee_envs.backends.mock.engine.states import (
    _is_held,
    _is_shielding,
    _stale_factor,
    _stale_push,
)
from melee_envs.state import MAX_PERCENT

#: :func:`_hit_lands`' slot for a move played with its move row's single hitbox.
HIT_ROW = 4


@numba.njit(_nrt=False, inline="always")
def _intangible(G, moves, b, p):
    pi, pf, ei = G.pi, G.pf, G.ei
    if ei[b, p, EI_INVULN] > 0:
        return True
    move = ei[b, p, EI_MOVE]
    if move >= SPOTDODGE:
        mv = moves[pi[b, p, 0, P_CHAR], move]
        af = pf[b, p, 0, P_AFRAME]
        return mv[M_START] <= af <= mv[M_END]
    return False


@numba.njit(_nrt=False)
def _launch(G, b, att, dfn, mv, chars, side, stale):
    """Apply hit ``mv`` (a move row) to ``dfn``, its damage scaled by ``stale``: damage,
    knockback, DI, hitstun, hitlag."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    cd = pi[b, dfn, 0, P_CHAR]
    damage = mv[M_DMG] * stale
    pf[b, dfn, 0, P_PCT] = min(pf[b, dfn, 0, P_PCT] + damage, MAX_PERCENT)  # Melee caps at 999%
    grounded = pb[b, dfn, 0, P_GROUND]
    kb = knockback(pf[b, dfn, 0, P_PCT], damage, chars[cd, C_WEIGHT], mv[M_BKB], mv[M_KBG], mv[M_SKB])
    angle = mv[M_ANGLE]
    if angle == 361.0:  # Sakurai angle
        angle = 0.0 if (grounded and kb < 32.0) else 44.0
    rad = math.radians(angle)  # worked out as if launched rightwards, then mirrored
    speed = kb * KB_SPEED  # DI turns it as the freeze ends (hitlag._freeze_ends)
    vx, vy = speed * math.cos(rad) * side, speed * math.sin(rad)
    tumble = kb >= TUMBLE_KB
    if grounded and vy < 0.0:
        # A grounded spike bounces when it tumbles; weaker ones keep the player on the ground
        # (the shared replays: every grounded spike under knockback 24 did).
        vy = -vy * 0.8 if tumble else 0.0
    hitlag = mv[M_HITLAG]
    pf[b, dfn, 0, P_KBX] = vx
    pf[b, dfn, 0, P_KBY] = vy
    pf[b, dfn, 0, P_HITSTUN] = math.floor(kb * HITSTUN_PER_KB)
    pf[b, dfn, 0, P_HITLAG] = max(hitlag, pf[b, dfn, 0, P_HITLAG])  # a trade: both freeze the longer
    pf[b, att, 0, P_HITLAG] = max(hitlag, pf[b, att, 0, P_HITLAG])
    pf[b, dfn, 0, P_VAIR] = 0.0
    pf[b, dfn, 0, P_VY] = 0.0
    pf[b, dfn, 0, P_VGROUND] = 0.0
    ei[b, dfn, EI_MOVE] = -1
    ei[b, dfn, EI_UPB] = 0
    ei[b, dfn, EI_FASTFALL] = 0
    ei[b, dfn, EI_TUMBLE] = 1 if tumble else 0
    if vy > 0.0 or not grounded or tumble:
        pb[b, dfn, 0, P_GROUND] = False
        if vy > 0.0:
            pf[b, dfn, 0, P_Y] += 0.01
        pi[b, dfn, 0, P_ACTION] = DAMAGE_FLY_NEUTRAL if tumble else DAMAGE_AIR_1
    else:
        pi[b, dfn, 0, P_ACTION] = DAMAGE_NEUTRAL_1
    pf[b, dfn, 0, P_AFRAME] = 1.0
    return kb


@numba.njit(_nrt=False)
def _reaches(G, b, att, dfn, T, x, y, r):
    """Whether a hitbox at offset (x, y) (facing right) of radius ``r`` touches ``dfn``'s body."""
    pf = G.pf
    return _touches(G, b, dfn, T, pf[b, att, 0, P_X] + pf[b, att, 0, P_FACE] * x, pf[b, att, 0, P_Y] + y, r)


@numba.njit(_nrt=False, inline="always")
def _touches(G, b, dfn, T, hx, hy, r):
    """Whether a hitbox at (hx, hy) of radius ``r`` touches ``dfn``'s body (a capsule from 0.2 to
    1.2 body sizes up, 0.35 sizes wide)."""
    pf = G.pf
    size = T.chars[G.pi[b, dfn, 0, P_CHAR], C_SIZE]
    cy = min(max(hy, pf[b, dfn, 0, P_Y] + 0.2 * size), pf[b, dfn, 0, P_Y] + 1.2 * size)
    return math.sqrt((hx - pf[b, dfn, 0, P_X]) ** 2 + (hy - cy) ** 2) <= r + 0.35 * size


@numba.njit(_nrt=False)
def _hit_lands(G, b, att, dfn, T):
    """Which of ``att``'s hitboxes reaches ``dfn`` this frame, as ``1 + slot + 8 x window`` (slot
    ``HIT_ROW`` for a move without per-frame hitboxes; the lowest slot wins, as the game's hitbox
    ids do), or 0. It reads the state only, so both players' hits are judged on the same frame."""
    pi, pf, ei = G.pi, G.pf, G.ei
    move = ei[b, att, EI_MOVE]
    if move < 0 or move >= FTHROW:
        return 0
    if move == UPB and ei[b, att, EI_UPB] == UPB_START:
        return 0  # an up-B hits while it travels (its hitbox frames count from the travel)
    if pf[b, att, 0, P_HITLAG] > 0 or pi[b, dfn, 0, P_ACTION] <= ON_HALO_WAIT:
        return 0
    if _intangible(G, T.moves, b, dfn) or _is_held(pi[b, dfn, 0, P_ACTION]) or pi[b, dfn, 0, P_ACTION] == GRAB_WAIT:
        return 0
    ch = pi[b, att, 0, P_CHAR]
    af = pf[b, att, 0, P_AFRAME]
    if T.proj_of_move[ch, move] >= 0 or (move == DOWNB and T.counter[ch, 0] != 0):
        return 0  # a projectile move hits with its projectile (.projectiles); a counter has no hitbox
    if T.hit_known[ch, move]:
        k = int(af)
        window = T.hit_window[ch, move, k] if k < T.hit_window.shape[2] else -1
        if window < 0 or ei[b, att, EI_HIT] == T.hit_group[ch, move, window] + 1:
            return 0
        for slot in range(T.hit_geo.shape[3]):
            g = T.hit_geo[ch, move, k, slot]
            if g[2] > 0 and _reaches(G, b, att, dfn, T, g[0], g[1], g[2]):
                return 1 + slot + 8 * window
        return 0
    mv = T.moves[ch, move]
    if ei[b, att, EI_HIT] != 0 or af < mv[M_START] or af > mv[M_END] or mv[M_HBR] <= 0:
        return 0
    return 1 + HIT_ROW if _reaches(G, b, att, dfn, T, mv[M_HBX], mv[M_HBY], mv[M_HBR]) else 0


@numba.njit(_nrt=False)
def _land_hit(G, b, att, dfn, move, hit, T):
    """Apply ``att``'s ``move`` whose hitbox ``hit`` (:func:`_hit_lands`) landed: a grab, a shield
    hit or a launch with that hitbox's damage and knockback."""
    pi, pf, pb = G.pi, G.pf, G.pb
    ch = pi[b, att, 0, P_CHAR]
    slot, window = (hit - 1) % 8, (hit - 1) // 8
    first = G.ei[b, att, EI_HIT] == 0
    if slot == HIT_ROW:
        mv = T.moves[ch, move]
        G.ei[b, att, EI_HIT] = 1
    else:
        mv = T.hit_props[ch, move, window, slot]
        G.ei[b, att, EI_HIT] = T.hit_group[ch, move, window] + 1
    dx_, ax = pf[b, dfn, 0, P_X], pf[b, att, 0, P_X]
    side = 1.0 if dx_ > ax else (-1.0 if dx_ < ax else pf[b, att, 0, P_FACE])
    if move == GRAB:
        if not _is_held(pi[b, att, 0, P_ACTION]):  # grab against grab: the lower port has it
            _grab(G, b, att, dfn)
    elif _is_shielding(pi[b, dfn, 0, P_ACTION]) and pb[b, dfn, 0, P_GROUND]:
        _shield_hit(G, b, att, dfn, mv, side)
    else:
        _launch(G, b, att, dfn, mv, T.chars, side, _stale_factor(G.ei, b, att, move))
        if first:  # a multi-hit move enters the queue once: its later hits are one level staler
            _stale_push(G.ei, b, att, move)


@numba.njit(_nrt=False)
def _shield_hit(G, b, att, dfn, mv, side):
    """A hit on a shield: no damage; the shield loses ``SHIELD_DAMAGE_RATIO`` of the hit's damage,
    shieldstun and hitlag, pushback; the shield breaks at zero."""
    pi, pf, ei = G.pi, G.pf, G.ei
    pf[b, dfn, 0, P_SHIELD] -= SHIELD_DAMAGE_RATIO * mv[M_DMG]
    pf[b, att, 0, P_HITLAG] = mv[M_HITLAG]
    pf[b, dfn, 0, P_HITLAG] = mv[M_HITLAG]
    if pf[b, dfn, 0, P_SHIELD] <= 0.0:
        _shield_break(G, b, dfn)
        return
    pi[b, dfn, 0, P_ACTION] = SHIELD_STUN
    pf[b, dfn, 0, P_AFRAME] = 1.0
    ei[b, dfn, EI_TIMER] = max(1, int(mv[M_SSTUN]))
    pf[b, dfn, 0, P_VGROUND] = side * SHIELD_PUSH * mv[M_DMG]


@numba.njit(_nrt=False, inline="always")
def _shield_break(G, b, p):
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    pf[b, p, 0, P_SHIELD] = SHIELD_AFTER_BREAK
    pb[b, p, 0, P_GROUND] = False
    pf[b, p, 0, P_Y] += 0.01
    pf[b, p, 0, P_VY] = SHIELD_BREAK_VY
    pf[b, p, 0, P_VAIR] = 0.0
    pf[b, p, 0, P_VGROUND] = 0.0
    ei[b, p, EI_MOVE] = -1
    pi[b, p, 0, P_ACTION] = SHIELD_BREAK_FLY
    pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(_nrt=False)
def _grab(G, b, att, dfn):
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    ei[b, att, EI_MOVE] = -1
    pi[b, att, 0, P_ACTION] = GRAB_WAIT
    pf[b, att, 0, P_AFRAME] = 1.0
    pf[b, att, 0, P_VGROUND] = 0.0
    ei[b, att, EI_TIMER] = GRAB_HOLD_BASE + int(GRAB_HOLD_PER_PCT * pf[b, dfn, 0, P_PCT])
    ei[b, dfn, EI_MOVE] = -1
    pi[b, dfn, 0, P_ACTION] = GRABBED
    pf[b, dfn, 0, P_AFRAME] = 1.0
    pf[b, dfn, 0, P_HITSTUN] = 0.0
    for c in (P_VAIR, P_VY, P_VGROUND, P_KBX, P_KBY):
        pf[b, dfn, 0, c] = 0.0
    pb[b, dfn, 0, P_GROUND] = pb[b, att, 0, P_GROUND]
    _hold(pf, b, att, dfn)


@numba.njit(_nrt=False)
def _hold(pf, b, att, dfn):
    face = pf[b, att, 0, P_FACE]
    pf[b, dfn, 0, P_X] = pf[b, att, 0, P_X] + face * GRAB_DISTANCE
    pf[b, dfn, 0, P_Y] = pf[b, att, 0, P_Y]
    pf[b, dfn, 0, P_FACE] = -face
