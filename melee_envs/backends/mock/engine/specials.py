"""The B button: which special a stick direction picks, and the up-B recoveries' phases.

An up-B (``EI_MOVE == UPB``, phase in ``EI_UPB``) starts (``UPB_START``: a charge or wind-up in
place, for the characters whose table row has start frames), travels (``UPB_TRAVEL``: the
per-frame displacement of :mod:`melee_envs.data.recoveries`, along the stick's direction for
angled ones) and ends in a helpless fall, which lands with ``LANDING_SPECIAL`` or catches a ledge
(:mod:`.physics`). Characters whose up-B gives no travel play it as an ordinary move.
"""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.rules import (
    LASER_END_FRAMES,
    LASER_START_FRAMES,
    SHINE_AIR_FALL,
    SHINE_END_FRAMES,
    SHINE_START_FRAMES,
    STICK_DEAD,
    UPB_HOVER_DECAY,
    UPB_HOVER_FALL,
)
from melee_envs.backends.mock.engine.schema import (
    BUTTON_B,
    C_AIRSPD,
    C_FRIC,
    C_TERM,
    DOWNB,
    EF_DIR_X,
    EF_DIR_Y,
    EI_FASTFALL,
    EI_HIT,
    EI_MOVE,
    EI_TIMER,
    EI_UPB,
    FALLING,
    KNEE_BEND,
    LASER_AIR,
    LASER_GROUND,
    M_ACTION,
    NEUTRALB,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_GROUND,
    P_JUMPS,
    P_VAIR,
    P_VGROUND,
    P_VY,
    P_X,
    P_Y,
    R_AIR,
    R_FRAMES,
    R_GROUND,
    R_HELPLESS,
    R_START,
    R_STEER,
    R_TRAVEL,
    SHINE_AIR,
    SHINE_GROUND,
    SIDEB,
    SPECIAL_FALL,
    STANDING,
    STEER_ANGLE,
    STEER_NONE,
    UPB,
    UPB_START,
    UPB_TRAVEL,
)
from melee_envs.backends.mock.engine.states import _air_drift, _double_jump, _friction, _set_action, _start_move


@numba.njit(_nrt=False)
def _start_special(G, T, b, p, sx, sy):
    """B: up-B or down-B with the stick out of the dead zone and more up (down) than sideways
    (replays: (0.69, 0.71) gives DK's up-B, (-0.54, 0.51) Samus's neutral-B), side-B toward a
    sideways stick (turning to face it), neutral-B otherwise."""
    pf = G.pf
    if sy > STICK_DEAD and sy >= abs(sx):
        _start_up_b(G, T, b, p)
    elif sy < -STICK_DEAD and -sy >= abs(sx):
        _start_move(G, T.moves, b, p, DOWNB)
        if _is_shine(G, T, b, p) and not G.pb[b, p, 0, P_GROUND]:
            G.pi[b, p, 0, P_ACTION] = SHINE_AIR
            G.pf[b, p, 0, P_VY] = 0.0
            G.ei[b, p, EI_FASTFALL] = 0
    elif abs(sx) > 0.5:
        pf[b, p, 0, P_FACE] = 1.0 if sx > 0 else -1.0
        _start_move(G, T.moves, b, p, SIDEB)
    else:
        _start_move(G, T.moves, b, p, NEUTRALB)


@numba.njit(_nrt=False)
def _start_up_b(G, T, b, p):
    pi, pb, ei = G.pi, G.pb, G.ei
    r = T.recovery[pi[b, p, 0, P_CHAR]]
    _start_move(G, T.moves, b, p, UPB)
    ei[b, p, EI_UPB] = 0
    if r[R_STEER] == STEER_NONE:
        return  # an ordinary move (its table row's timing)
    grounded = pb[b, p, 0, P_GROUND]
    pi[b, p, 0, P_ACTION] = int(r[R_GROUND] if grounded else r[R_AIR])
    ei[b, p, EI_FASTFALL] = 0
    ei[b, p, EI_UPB] = UPB_START
    if r[R_START] <= 0:
        _travel(G, b, p, r, 0.0, 1.0)
        _travel_step(G, b, p, T.chars[pi[b, p, 0, P_CHAR]], T, 0.0, 1)


@numba.njit(_nrt=False)
def _travel(G, b, p, r, sx, sy):
    """Start the travel: leave the ground, pick the direction (angled up-Bs: the stick's, straight
    up inside the dead zone)."""
    pf, pb, ei, ef = G.pf, G.pb, G.ei, G.ef
    f = pf[b, p, 0]
    ei[b, p, EI_UPB] = UPB_TRAVEL
    ei[b, p, EI_HIT] = 0
    if r[R_START] > 0:
        _set_action(G, b, p, int(r[R_TRAVEL]))
    if pb[b, p, 0, P_GROUND]:
        pb[b, p, 0, P_GROUND] = False
        f[P_Y] += 0.01
        f[P_VAIR] = f[P_VGROUND]
        f[P_VGROUND] = 0.0
    dx, dy = 0.0, 1.0
    mag = math.sqrt(sx * sx + sy * sy)
    if r[R_STEER] == STEER_ANGLE and mag > STICK_DEAD:
        dx, dy = sx / mag, sy / mag
        if abs(dx) > 0.1:
            f[P_FACE] = 1.0 if dx > 0 else -1.0
    ef[b, p, EF_DIR_X], ef[b, p, EF_DIR_Y] = dx, dy


@numba.njit(_nrt=False)
def _up_b(G, b, p, c, T, sx, sy):
    """One frame of an up-B in progress: hover while it starts, then travel, then fall helpless."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    f = pf[b, p, 0]
    ch = pi[b, p, 0, P_CHAR]
    r = T.recovery[ch]
    if ei[b, p, EI_UPB] == UPB_START:
        if pb[b, p, 0, P_GROUND]:
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        else:  # the charge: the speed dies away, a slow sink
            f[P_VAIR] *= UPB_HOVER_DECAY
            f[P_VY] = f[P_VY] * UPB_HOVER_DECAY - UPB_HOVER_FALL
        if f[P_AFRAME] > r[R_START]:
            _travel(G, b, p, r, sx, sy)
        else:
            return
    _travel_step(G, b, p, c, T, sx, int(f[P_AFRAME]))


@numba.njit(_nrt=False)
def _travel_step(G, b, p, c, T, sx, k):
    """Travel frame ``k`` (1-based) of an up-B: its speeds, or the helpless fall after the last."""
    pi, pf, ei, ef = G.pi, G.pf, G.ei, G.ef
    f = pf[b, p, 0]
    ch = pi[b, p, 0, P_CHAR]
    r = T.recovery[ch]
    if k > r[R_FRAMES]:
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_UPB] = 0
        f[P_VAIR] = max(-c[C_AIRSPD], min(c[C_AIRSPD], f[P_VAIR]))
        f[P_VY] = min(f[P_VY], 0.0)
        _set_action(G, b, p, SPECIAL_FALL if r[R_HELPLESS] > 0 else FALLING)
        return
    forward, up = T.travel[ch, k, 0], T.travel[ch, k, 1]
    if r[R_STEER] == STEER_ANGLE:
        step = math.sqrt(forward * forward + up * up)
        f[P_VAIR] = ef[b, p, EF_DIR_X] * step
        f[P_VY] = ef[b, p, EF_DIR_Y] * step
    else:
        f[P_VAIR] = _air_drift(f[P_VAIR], sx, c)
        f[P_X] += forward * f[P_FACE]
        f[P_VY] = up


@numba.njit(_nrt=False, inline="always")
def _in_up_b(G, b, p):
    """Whether an up-B is starting or travelling (its own motion, no gravity)."""
    return G.ei[b, p, EI_MOVE] == UPB and G.ei[b, p, EI_UPB] > 0


@numba.njit(_nrt=False, inline="always")
def _upb_travelling(G, b, p):
    return G.ei[b, p, EI_MOVE] == UPB and G.ei[b, p, EI_UPB] == UPB_TRAVEL


@numba.njit(_nrt=False, inline="always")
def _is_laser(G, T, b, p):
    """Whether ``p`` is in Fox's or Falco's Blaster (a neutral-B whose start is the game's 344)."""
    return G.ei[b, p, EI_MOVE] == NEUTRALB and T.moves[G.pi[b, p, 0, P_CHAR], NEUTRALB, M_ACTION] == LASER_AIR


@numba.njit(_nrt=False, inline="always")
def _laser_phase(grounded, af, total):
    """The Blaster's action id offset (0 start, 1 loop, 2 end) at move frame ``af``."""
    k = 0 if grounded else 1
    return 0 if af <= LASER_START_FRAMES[k] else (2 if af > total - LASER_END_FRAMES[k] else 1)


@numba.njit(_nrt=False, inline="always")
def _laser_move_frame(action, af, total):
    """The move frame of a loaded Blaster action at its own action frame ``af``."""
    air = 1 if action >= LASER_AIR else 0
    phase = action - (LASER_AIR if air else LASER_GROUND)
    if phase == 0:
        return af
    return af + (LASER_START_FRAMES[air] if phase == 1 else total - LASER_END_FRAMES[air])


@numba.njit(_nrt=False, inline="always")
def _is_shine(G, T, b, p):
    """Whether ``p`` is in Fox's or Falco's shine (a down-B whose start is the game's 360)."""
    ch = G.pi[b, p, 0, P_CHAR]
    return G.ei[b, p, EI_MOVE] == DOWNB and T.moves[ch, DOWNB, M_ACTION] == SHINE_GROUND


@numba.njit(_nrt=False)
def _shine(G, b, p, c, inp):
    """One frame of a shine: the start (its hit is the move's first frame; in the air it stops
    the fall), then a jump cancels it (a jump squat, or the double jump in the air), held B loops
    it, and letting go of B plays its end."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    f = pf[b, p, 0]
    grounded = pb[b, p, 0, P_GROUND]
    base = SHINE_GROUND if grounded else SHINE_AIR
    if grounded:
        f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
    action = pi[b, p, 0, P_ACTION]
    if (action == SHINE_GROUND or action == SHINE_AIR) and f[P_AFRAME] <= SHINE_START_FRAMES:
        pi[b, p, 0, P_ACTION] = base
        if not grounded:
            f[P_VY] = 0.0
            f[P_VAIR] *= UPB_HOVER_DECAY
            ei[b, p, EI_FASTFALL] = 0
        return
    if not grounded:
        f[P_VY] = max(f[P_VY] - SHINE_AIR_FALL, -c[C_TERM])
    ending = action == SHINE_GROUND + 3 or action == SHINE_AIR + 3
    if inp.tapped_jump and grounded:
        ei[b, p, EI_MOVE] = -1
        _set_action(G, b, p, KNEE_BEND)
    elif inp.tapped_jump and pi[b, p, 0, P_JUMPS] > 0:
        _double_jump(G, b, p, c, inp.sx)
    elif action == SHINE_GROUND or action == SHINE_AIR or (not ending and inp.buttons & (1 << BUTTON_B)):
        pi[b, p, 0, P_ACTION] = base + 1  # the loop, held by B (at least one frame)
    elif not ending:
        pi[b, p, 0, P_ACTION] = base + 3
        ei[b, p, EI_TIMER] = SHINE_END_FRAMES
    else:
        pi[b, p, 0, P_ACTION] = base + 3
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] <= 0:
            ei[b, p, EI_MOVE] = -1
            _set_action(G, b, p, STANDING if grounded else FALLING)
