"""What an actionable player does with its inputs: on the ground, in shield, in the air."""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.combat import _shield_break
from melee_envs.backends.mock.engine.rules import (
    AIRDODGE_DECAY,
    AIRDODGE_DRIFT_END,
    AIRDODGE_SPEED,
    DASH_ACCEL,
    FASTFALL_STICK,
    FASTFALL_WINDOW,
    JUMP_GROUND_CARRY,
    JUMP_STICK_X,
    SHIELD_DECAY,
    SHIELD_RELEASE_FRAMES,
    STICK_DEAD,
    STICK_TAP,
    SURFACE_TOLERANCE,
)
from melee_envs.backends.mock.engine.schema import (
    AIRDODGE,
    BAIR,
    C_DASH,
    C_DASHF,
    C_FH,
    C_FRIC,
    C_JUMP_H,
    C_RUN,
    C_SH,
    C_SQUAT,
    C_WALK,
    C_XJUMPS,
    CROUCHING,
    DAIR,
    DASHING,
    DATTACK,
    DSMASH,
    DTILT,
    EI_AIRDODGED,
    EI_DOWN_AGO,
    EI_DROP,
    EI_FASTFALL,
    EI_MOVE,
    EI_TIMER,
    FAIR,
    FALLING,
    FSMASH,
    FTILT,
    GRAB,
    JAB,
    JUMPING_BACKWARD,
    JUMPING_FORWARD,
    KNEE_BEND,
    NAIR,
    P_ACTION,
    P_AFRAME,
    P_FACE,
    P_GROUND,
    P_HITSTUN,
    P_JUMPS,
    P_SHIELD,
    P_VAIR,
    P_VGROUND,
    P_VY,
    P_Y,
    PLATFORM_DROP,
    ROLL_B,
    ROLL_F,
    RUNNING,
    SHIELD,
    SHIELD_RELEASE,
    SHIELD_START,
    SHIELD_STUN,
    SPOTDODGE,
    TURNING,
    UAIR,
    USMASH,
    UTILT,
    WALK_FAST,
    WALK_MIDDLE,
    WALK_SLOW,
)
from melee_envs.backends.mock.engine.specials import _start_special
from melee_envs.backends.mock.engine.states import (
    _air_drift,
    _double_jump,
    _friction,
    _idle,
    _keeps_air_action,
    _locomotes,
    _set_action,
    _start_move,
)


@numba.njit(_nrt=False, inline="always")
def _shield(G, b, p, c, moves, action, inp):
    """Holding a shield: it shrinks; jump, grab, roll or spot dodge out of it, or drop it."""
    pf, ei = G.pf, G.ei
    sx, sy, psx, psy = inp.sx, inp.sy, inp.psx, inp.psy
    tapped_jump, grab, shield_held = inp.tapped_jump, inp.grab, inp.shield_held
    f = pf[b, p, 0]
    f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
    f[P_SHIELD] -= SHIELD_DECAY
    if f[P_SHIELD] <= 0.0:
        _shield_break(G, b, p)
        return
    if action == SHIELD_STUN:
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] > 0:
            return
        _set_action(G, b, p, SHIELD)
    elif action == SHIELD_START and f[P_AFRAME] > 2:
        _set_action(G, b, p, SHIELD)
    if tapped_jump:
        _set_action(G, b, p, KNEE_BEND)
    elif grab:
        _start_move(G, moves, b, p, GRAB)
    elif sy < -STICK_TAP and psy > -STICK_DEAD:
        _start_move(G, moves, b, p, SPOTDODGE)
    elif abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD:
        _start_move(G, moves, b, p, ROLL_F if sx * f[P_FACE] > 0 else ROLL_B)
    elif not shield_held:
        _set_action(G, b, p, SHIELD_RELEASE)
        ei[b, p, EI_TIMER] = SHIELD_RELEASE_FRAMES


@numba.njit(_nrt=False, inline="always")
def _ground(G, b, p, c, T, action, actionable, inp):  # noqa: PLR0912
    """A grounded player's frame (not in shield): jump squat, dashes and runs, crouch, attacks."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    sx, sy, cx, cy, psx, psy = inp.sx, inp.sy, inp.cx, inp.cy, inp.psx, inp.psy
    tapped_jump, jump_held, attack, special, grab = inp.tapped_jump, inp.jump_held, inp.attack, inp.special, inp.grab
    shield_held, c_push = inp.shield_held, inp.c_push
    moves = T.moves
    f = pf[b, p, 0]
    if action == KNEE_BEND:
        if f[P_AFRAME] > c[C_SQUAT]:
            pb[b, p, 0, P_GROUND] = False
            f[P_VY] = c[C_FH] if jump_held else c[C_SH]
            carry = JUMP_GROUND_CARRY * f[P_VGROUND] + JUMP_STICK_X * sx
            f[P_VAIR] = max(-c[C_JUMP_H], min(c[C_JUMP_H], carry))
            f[P_VGROUND] = 0.0
            _set_action(G, b, p, JUMPING_FORWARD if sx * f[P_FACE] >= 0 else JUMPING_BACKWARD)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
            ei[b, p, EI_AIRDODGED] = 0
        return
    if not actionable:
        if ei[b, p, EI_MOVE] < 0 or not _locomotes(G, b, p):
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    if special:  # B wins over a tap-jump on the same frame (up-B with the stick just pushed up)
        _start_special(G, T, b, p, sx, sy)
        f[P_VGROUND] = 0.0
        return
    if tapped_jump:
        _set_action(G, b, p, KNEE_BEND)
        return
    if grab:
        _start_move(G, moves, b, p, GRAB)
        if action != DASHING and action != RUNNING:
            f[P_VGROUND] = 0.0
        return
    if shield_held:
        _set_action(G, b, p, SHIELD_START)
        f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    smash_x = abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD
    smash_y = abs(sy) > STICK_TAP and abs(psy) < STICK_DEAD
    if attack or c_push:
        move = JAB
        if action == DASHING or action == RUNNING:
            move = DATTACK
        elif c_push:
            if abs(cx) >= abs(cy):
                f[P_FACE] = 1.0 if cx > 0 else -1.0
                move = FSMASH
            else:
                move = USMASH if cy > 0 else DSMASH
        elif abs(sx) >= abs(sy) and abs(sx) > 0.25:
            f[P_FACE] = 1.0 if sx > 0 else -1.0
            move = FSMASH if smash_x else FTILT
        elif sy > 0.25:
            move = USMASH if smash_y else UTILT
        elif sy < -0.25:
            move = DSMASH if smash_y else DTILT
        _start_move(G, moves, b, p, move)
        if not _locomotes(G, b, p) and move != DATTACK:
            f[P_VGROUND] = 0.0
        return
    on_platform = f[P_Y] > SURFACE_TOLERANCE  # not the main stage, whose height varies a little
    if on_platform and sy < -STICK_TAP and psy > -STICK_DEAD:
        pb[b, p, 0, P_GROUND] = False
        ei[b, p, EI_DROP] = 8
        f[P_VAIR] = f[P_VGROUND]
        f[P_VGROUND] = 0.0
        f[P_VY] = 0.0
        _set_action(G, b, p, PLATFORM_DROP)
        return
    if sy < -0.6:
        _set_action(G, b, p, CROUCHING)
        f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    if action == DASHING:
        if sx * f[P_FACE] > STICK_DEAD:
            if f[P_AFRAME] >= c[C_DASHF]:
                _set_action(G, b, p, RUNNING)
            # Initial dash speed, then toward run speed: down by friction (Falco 1.9 .. 1.5), up by DASH_ACCEL
            k = max(0.0, f[P_AFRAME] - 1.0)
            slow = c[C_DASH] > c[C_RUN]
            speed = max(c[C_RUN], c[C_DASH] - c[C_FRIC] * k) if slow else min(c[C_RUN], c[C_DASH] + DASH_ACCEL * k)
            f[P_VGROUND] = f[P_FACE] * speed
            return
        if abs(sx) <= STICK_DEAD and f[P_AFRAME] < c[C_DASHF]:  # let go: the dash plays out, slowing
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
            return
    if action == RUNNING and sx * f[P_FACE] > STICK_DEAD:
        f[P_VGROUND] = f[P_FACE] * c[C_RUN]
        return
    if abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD or (action == DASHING and sx * f[P_FACE] < -STICK_TAP):
        f[P_FACE] = 1.0 if sx > 0 else -1.0
        _set_action(G, b, p, DASHING)
        f[P_VGROUND] = f[P_FACE] * c[C_DASH]
        return
    if abs(sx) > 0.25:
        if sx * f[P_FACE] < 0:
            f[P_FACE] = -f[P_FACE]
            _set_action(G, b, p, TURNING)
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
            return
        mag = abs(sx)
        _set_action(G, b, p, WALK_SLOW if mag < 0.5 else (WALK_MIDDLE if mag < 0.8 else WALK_FAST))
        f[P_VGROUND] = sx * c[C_WALK]
        return
    _idle(G, b, p, action)
    f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])


@numba.njit(_nrt=False, inline="always")
def _air(G, b, p, c, T, actionable, inp):
    """An airborne player's frame: drift, fast fall, jumps, aerials, specials, air dodge."""
    pi, pf, ei = G.pi, G.pf, G.ei
    sx, sy, cx, cy = inp.sx, inp.sy, inp.cx, inp.cy
    tapped_jump, attack, special, c_push, shoulder_press = (
        inp.tapped_jump,
        inp.attack,
        inp.special,
        inp.c_push,
        inp.shoulder_press,
    )
    moves = T.moves
    f = pf[b, p, 0]
    move = ei[b, p, EI_MOVE]
    if move == AIRDODGE:
        af = f[P_AFRAME]
        if af <= AIRDODGE_DRIFT_END:
            f[P_VAIR] *= AIRDODGE_DECAY
            f[P_VY] *= AIRDODGE_DECAY
        return
    if actionable:
        if special:  # before the jump, as on the ground
            _start_special(G, T, b, p, sx, sy)
            return
        if tapped_jump and pi[b, p, 0, P_JUMPS] > 0:
            _double_jump(G, b, p, c, sx)
        elif shoulder_press and ei[b, p, EI_AIRDODGED] == 0:
            _start_move(G, moves, b, p, AIRDODGE)
            ei[b, p, EI_AIRDODGED] = 1
            ei[b, p, EI_FASTFALL] = 0
            mag = math.sqrt(sx * sx + sy * sy)
            if mag > STICK_DEAD:
                f[P_VAIR] = AIRDODGE_SPEED * sx / mag
                f[P_VY] = AIRDODGE_SPEED * sy / mag
            else:
                f[P_VAIR] = 0.0
                f[P_VY] = 0.0
            return
        elif attack or c_push:
            dx, dy = (cx, cy) if c_push else (sx, sy)
            move = NAIR
            if abs(dx) > 0.3 or abs(dy) > 0.3:
                if abs(dy) > abs(dx):
                    move = UAIR if dy > 0 else DAIR
                else:
                    move = FAIR if dx * f[P_FACE] > 0 else BAIR
            _start_move(G, moves, b, p, move)
        elif ei[b, p, EI_MOVE] < 0 and f[P_VY] < 0 and not _keeps_air_action(pi[b, p, 0, P_ACTION], f[P_AFRAME]):
            _set_action(G, b, p, FALLING)
    if f[P_HITSTUN] <= 0 and f[P_VY] <= 0 and sy < -FASTFALL_STICK and ei[b, p, EI_DOWN_AGO] < FASTFALL_WINDOW:
        ei[b, p, EI_FASTFALL] = 1
    if f[P_HITSTUN] <= 0:
        f[P_VAIR] = _air_drift(f[P_VAIR], sx, c)
