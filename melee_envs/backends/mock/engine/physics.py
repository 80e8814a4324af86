"""Moving a player through the stage: speeds, gravity, platforms, landing (and its lag), ledges."""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.rules import (
    AIRDODGE_DRIFT_END,
    DIZZY_FRAMES,
    KB_DECAY,
    LANDING_SPECIAL_FRAMES,
    LEDGE_GRAB_ABOVE,
    LEDGE_GRAB_BELOW,
    LEDGE_INVULN,
    MISSED_TECH_FRAMES,
    NORMAL_LANDING_LAG,
    SURFACE_TOLERANCE,
    TECH_FRAMES,
    TECH_INTANGIBLE,
    TECH_ROLL_FRAMES,
    TECH_WINDOW,
)
from melee_envs.backends.mock.engine.schema import (
    AIRDODGE,
    BACKWARD_TECH,
    C_FF,
    C_GRAV,
    C_HANG_Y,
    C_LAND_DEPTH,
    C_TERM,
    C_XJUMPS,
    DAIR,
    DOWNB,
    EDGE_CATCHING,
    EDGE_HANGING,
    EI_AIRDODGED,
    EI_DROP,
    EI_FASTFALL,
    EI_INVULN,
    EI_LCANCEL,
    EI_LEDGE_CD,
    EI_MOVE,
    EI_SHOULDER_AGO,
    EI_TIMER,
    EI_TUMBLE,
    EI_UPB,
    FALLING,
    FORWARD_TECH,
    JUMPING_ARIAL_BACKWARD,
    JUMPING_FORWARD,
    LANDING,
    LANDING_SPECIAL,
    LYING,
    M_LAND,
    M_LCANCEL,
    NAIR,
    NAIR_LANDING,
    NEUTRAL_TECH,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_GROUND,
    P_HITSTUN,
    P_JUMPS,
    P_KBX,
    P_KBY,
    P_MAIN_X,
    P_VAIR,
    P_VGROUND,
    P_VY,
    P_X,
    P_Y,
    ROLL_B,
    SHIELD_BREAK_FLY,
    SHIELD_BREAK_TEETER,
    SHINE_AIR,
    SPECIAL_FALL,
    TUMBLING,
    UPB,
)
from melee_envs.backends.mock.engine.specials import _in_up_b, _upb_travelling
from melee_envs.backends.mock.engine.states import _in_damage_animation, _is_held, _locomotes, _set_action, _track_ledge


@numba.njit(_nrt=False, inline="always")
def _surface_under(x, y_prev, y_new, st, ground_x, platforms, num_platforms, can_platform):
    """Height of the surface crossed moving from y_prev down to y_new at x, or NaN."""
    if abs(x) <= ground_x[st] and y_prev >= 0.0 and y_new <= 0.0:
        return 0.0
    if can_platform:
        for k in range(num_platforms[st]):
            h = platforms[st, k, 0]
            if platforms[st, k, 1] <= x <= platforms[st, k, 2] and y_prev >= h and y_new <= h:
                return h
    return math.nan


@numba.njit(_nrt=False, inline="always")
def _on_surface(x, y, st, ground_x, platforms, num_platforms):
    """Whether (x, y) stands on the stage or a platform."""
    if abs(y) < SURFACE_TOLERANCE and abs(x) <= ground_x[st]:
        return True
    for k in range(num_platforms[st]):
        if abs(y - platforms[st, k, 0]) < SURFACE_TOLERANCE and platforms[st, k, 1] <= x <= platforms[st, k, 2]:
            return True
    return False


@numba.njit(_nrt=False, inline="always")
def _move(G, b, p, c, T):  # noqa: PLR0912
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    moves, loco, ground_x, ledge_x, platforms, num_platforms = (
        T.moves,
        T.loco,
        T.ground_x,
        T.ledge_x,
        T.platforms,
        T.num_platforms,
    )
    st = G.stage[b]
    f = pf[b, p, 0]
    kb_x, kb_y = f[P_KBX], f[P_KBY]
    speed = math.sqrt(kb_x * kb_x + kb_y * kb_y)
    if speed > 0:  # the launch speed decays first, then moves the player (as replays show)
        scale = max(0.0, speed - KB_DECAY) / speed
        kb_x, kb_y = kb_x * scale, kb_y * scale
        f[P_KBX], f[P_KBY] = kb_x, kb_y
    if pb[b, p, 0, P_GROUND]:
        action = pi[b, p, 0, P_ACTION]
        move = ei[b, p, EI_MOVE]
        if _locomotes(G, b, p):
            k = int(f[P_AFRAME])
            step = loco[pi[b, p, 0, P_CHAR], move, k] if k < loco.shape[2] else 0.0
            f[P_VGROUND] = (-step if move == ROLL_B else step) * f[P_FACE]
        elif action == FORWARD_TECH or action == BACKWARD_TECH:
            away = -1.0 if action == BACKWARD_TECH else 1.0
            f[P_VGROUND] = away * f[P_FACE] * (1.5 if f[P_AFRAME] < TECH_ROLL_FRAMES - 10 else 0.0)
        f[P_X] += f[P_VGROUND] + kb_x
        if not _on_surface(f[P_X], f[P_Y], st, ground_x, platforms, num_platforms):
            pb[b, p, 0, P_GROUND] = False
            f[P_VAIR] = f[P_VGROUND]
            f[P_VGROUND] = 0.0
            f[P_VY] = 0.0
            if ei[b, p, EI_MOVE] < 0 and f[P_HITSTUN] <= 0 and not _is_held(action):
                _set_action(G, b, p, FALLING)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        _track_ledge(f, ground_x, st)
        return
    action = pi[b, p, 0, P_ACTION]
    takeoff = f[P_AFRAME] == 1.0 and JUMPING_FORWARD <= action <= JUMPING_ARIAL_BACKWARD
    airdodge_drift = ei[b, p, EI_MOVE] == AIRDODGE and f[P_AFRAME] <= AIRDODGE_DRIFT_END
    air_shine = ei[b, p, EI_MOVE] == DOWNB and SHINE_AIR <= action <= SHINE_AIR + 3
    own_motion = _in_up_b(G, b, p) or air_shine  # an up-B or a shine sets its own speeds
    if ei[b, p, EI_FASTFALL] and not own_motion:
        f[P_VY] = -c[C_FF]
    elif not takeoff and not airdodge_drift and not own_motion:  # no gravity on a jump's first frame, in an air dodge
        f[P_VY] = max(f[P_VY] - c[C_GRAV], -c[C_TERM])
    y_prev = f[P_Y]
    f[P_X] += f[P_VAIR] + kb_x
    f[P_Y] += f[P_VY] + kb_y
    total_vy = f[P_VY] + kb_y
    if total_vy <= 0:  # lands as its collision box's bottom, depth above it, reaches a surface
        depth = 0.0 if ei[b, p, EI_MOVE] == AIRDODGE else c[C_LAND_DEPTH]
        h = _surface_under(
            f[P_X], y_prev + depth, f[P_Y] + depth, st, ground_x, platforms, num_platforms, ei[b, p, EI_DROP] == 0
        )
        if not math.isnan(h):
            _land(G, b, p, c, moves, h)
    # Ledge grab: falling (or an up-B travelling), not in hitstun, near a free ledge from off stage.
    lx = ledge_x[st]
    travelling = _upb_travelling(G, b, p)
    if (
        not pb[b, p, 0, P_GROUND]
        and (total_vy < 0 or travelling)
        and f[P_HITSTUN] <= 0
        and ei[b, p, EI_LEDGE_CD] == 0
        and (ei[b, p, EI_MOVE] < 0 or ei[b, p, EI_MOVE] == AIRDODGE or travelling)
        and not _ledge_taken(G, b, 1 - p, f[P_X])
        and pi[b, p, 0, P_ACTION] != SHIELD_BREAK_FLY
        and c[C_HANG_Y] - LEDGE_GRAB_BELOW <= f[P_Y] <= min(0.0, c[C_HANG_Y] + LEDGE_GRAB_ABOVE)
        and lx - 4.0 <= abs(f[P_X]) <= lx + 10.0
    ):
        side = 1.0 if f[P_X] > 0 else -1.0
        f[P_X] = side * lx
        f[P_Y] = c[C_HANG_Y]  # each character's own hanging height (replays)
        f[P_FACE] = -side
        f[P_VAIR] = f[P_VY] = f[P_KBX] = f[P_KBY] = 0.0
        ei[b, p, EI_FASTFALL] = 0
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_UPB] = 0
        ei[b, p, EI_AIRDODGED] = 0
        ei[b, p, EI_INVULN] = max(ei[b, p, EI_INVULN], LEDGE_INVULN)
        pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        _set_action(G, b, p, EDGE_CATCHING)
    _track_ledge(f, ground_x, st)


@numba.njit(_nrt=False, inline="always")
def _ledge_taken(G, b, q, x):
    """Whether player ``q`` holds the ledge on ``x``'s side (one occupant per ledge: ledge-hogging)."""
    a = G.pi[b, q, 0, P_ACTION]
    if a != EDGE_CATCHING and a != EDGE_HANGING:
        return False
    return (G.pf[b, q, 0, P_X] > 0) == (x > 0)


@numba.njit(_nrt=False, inline="always")
def _land(G, b, p, c, moves, h):  # noqa: PLR0912
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    f = pf[b, p, 0]
    ch = pi[b, p, 0, P_CHAR]
    f[P_Y] = h
    pb[b, p, 0, P_GROUND] = True
    f[P_VGROUND] = f[P_VAIR] + f[P_KBX]
    f[P_VAIR] = f[P_VY] = f[P_KBY] = f[P_KBX] = 0.0
    ei[b, p, EI_FASTFALL] = 0
    ei[b, p, EI_AIRDODGED] = 0
    pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS]) + 1
    move = ei[b, p, EI_MOVE]
    action = pi[b, p, 0, P_ACTION]
    if f[P_HITSTUN] > 0 or action == TUMBLING or _in_damage_animation(action):
        tumble = ei[b, p, EI_TUMBLE] != 0
        f[P_HITSTUN] = 0.0
        ei[b, p, EI_TUMBLE] = 0
        ei[b, p, EI_MOVE] = -1
        if tumble and ei[b, p, EI_SHOULDER_AGO] < TECH_WINDOW:
            sx = (f[P_MAIN_X] - 0.5) * 2.0
            if abs(sx) > 0.5:
                f[P_FACE] = 1.0 if sx > 0 else -1.0
                _set_action(G, b, p, FORWARD_TECH)
                ei[b, p, EI_TIMER] = TECH_ROLL_FRAMES
            else:
                _set_action(G, b, p, NEUTRAL_TECH)
                ei[b, p, EI_TIMER] = TECH_FRAMES
            ei[b, p, EI_INVULN] = max(ei[b, p, EI_INVULN], TECH_INTANGIBLE)
            f[P_VGROUND] = 0.0
        elif tumble:
            _set_action(G, b, p, LYING)
            ei[b, p, EI_TIMER] = MISSED_TECH_FRAMES
        else:
            _set_action(G, b, p, LANDING)
            ei[b, p, EI_TIMER] = NORMAL_LANDING_LAG
    elif action == SHIELD_BREAK_FLY:
        _set_action(G, b, p, SHIELD_BREAK_TEETER)
        ei[b, p, EI_TIMER] = DIZZY_FRAMES
        f[P_VGROUND] = 0.0
    elif move == AIRDODGE or action == SPECIAL_FALL or (move == UPB and ei[b, p, EI_UPB] > 0):
        # Wavedash: the air dodge's horizontal speed carries into the landing slide.
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_UPB] = 0
        ei[b, p, EI_TIMER] = LANDING_SPECIAL_FRAMES
        _set_action(G, b, p, LANDING_SPECIAL)
    elif NAIR <= move <= DAIR:
        mv = moves[ch, move]
        lag = mv[M_LCANCEL] if ei[b, p, EI_LCANCEL] > 0 else mv[M_LAND]
        ei[b, p, EI_TIMER] = max(1, int(lag))
        ei[b, p, EI_MOVE] = -1
        _set_action(G, b, p, NAIR_LANDING + (move - NAIR))
    else:
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_TIMER] = NORMAL_LANDING_LAG
        _set_action(G, b, p, LANDING)
