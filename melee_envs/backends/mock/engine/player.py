"""One player's frame: read the controller, count down timers, then hand over to ledge,
grab, ground, shield or air logic and move."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _intangible
from melee_envs.backends.mock.engine.controls import read_controller
from melee_envs.backends.mock.engine.grabs import _grabbing
from melee_envs.backends.mock.engine.hitlag import _freeze_ends, _smash_di
from melee_envs.backends.mock.engine.ledge import _in_ledge_option, _ledge_motion, _ledge_option
from melee_envs.backends.mock.engine.lifecycle import _respawn
from melee_envs.backends.mock.engine.movement import _air, _ground, _shield
from melee_envs.backends.mock.engine.physics import _move
from melee_envs.backends.mock.engine.rules import (
    CATCH_FRAMES,
    HALO_DESCENT_FRAMES,
    HALO_DESCENT_RISE,
    HALO_MAX_FRAMES,
    LCANCEL_WINDOW,
    LEDGE_COOLDOWN,
    SHIELD_MAX,
    SHIELD_REGEN,
    STICK_DEAD,
)
from melee_envs.backends.mock.engine.schema import (
    AIRDODGE,
    BUTTON_Z,
    C_FH,
    C_XJUMPS,
    DEAD_UP,
    DTHROW,
    EDGE_CATCHING,
    EDGE_HANGING,
    EI_DROP,
    EI_INVULN,
    EI_LCANCEL,
    EI_LEDGE_CD,
    EI_MOVE,
    EI_SHOULDER_AGO,
    EI_TIMER,
    FALLING,
    FTHROW,
    GRAB_WAIT,
    JUMPING_FORWARD,
    LANDING,
    LASER_AIR,
    LASER_GROUND,
    M_IASA,
    M_TOTAL,
    NEUTRALB,
    ON_HALO_DESCENT,
    ON_HALO_WAIT,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_EXISTS,
    P_FACE,
    P_GROUND,
    P_HITLAG,
    P_HITSTUN,
    P_INVULN,
    P_JUMPS,
    P_SHIELD,
    P_STOCKS,
    P_VAIR,
    P_VY,
    P_X,
    P_Y,
    ROLL_F,
    SHIELD_BREAK_FLY,
    SPECIAL_FALL,
    STANDING,
)
from melee_envs.backends.mock.engine.specials import _in_up_b, _is_laser, _is_shine, _laser_phase, _shine, _up_b
from melee_envs.backends.mock.engine.states import (
    _end_damage_animation,
    _in_damage_animation,
    _is_held,
    _is_shielding,
    _set_action,
    _timed,
    _track_ledge,
)


@numba.njit(_nrt=False, inline="always")
def _step_player(G, b, p, act, stick_centres, shoulder_levels, T):  # noqa: PLR0912, PLR0915
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    chars, moves, ground_x = T.chars, T.moves, T.ground_x
    st = G.stage[b]
    f = pf[b, p, 0]
    inp = read_controller(G, b, p, act, stick_centres, shoulder_levels)
    sx, sy, pressed = inp.sx, inp.sy, inp.pressed
    if pi[b, p, 0, P_STOCKS] <= 0:
        pb[b, p, 0, P_EXISTS] = True
        return
    if ei[b, p, EI_INVULN] > 0:
        ei[b, p, EI_INVULN] -= 1
    if ei[b, p, EI_LCANCEL] > 0:
        ei[b, p, EI_LCANCEL] -= 1
    if ei[b, p, EI_SHOULDER_AGO] < 255:
        ei[b, p, EI_SHOULDER_AGO] += 1
    if inp.shoulder_press or pressed & (1 << BUTTON_Z):
        ei[b, p, EI_LCANCEL] = LCANCEL_WINDOW
    if inp.shoulder_press:
        ei[b, p, EI_SHOULDER_AGO] = 0
    if ei[b, p, EI_DROP] > 0:
        ei[b, p, EI_DROP] -= 1
    if ei[b, p, EI_LEDGE_CD] > 0:
        ei[b, p, EI_LEDGE_CD] -= 1
    action = pi[b, p, 0, P_ACTION]
    f[P_AFRAME] += 1.0
    ch = pi[b, p, 0, P_CHAR]
    c = chars[ch]
    if not _is_shielding(action):
        f[P_SHIELD] = min(SHIELD_MAX, f[P_SHIELD] + SHIELD_REGEN)
    pb[b, p, 0, P_INVULN] = _intangible(G, moves, b, p)
    # Dead: wait, then respawn on the halo.
    if action <= DEAD_UP:
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] <= 0:
            _respawn(G, b, p, T)
        return
    if f[P_HITLAG] > 0:
        f[P_HITLAG] -= 1.0
        if f[P_HITLAG] > 0:  # frozen (the replays move on the frame hitlag reaches 0)
            _smash_di(G, b, p, sx, sy, inp.psx, inp.psy, ground_x[st])
            f[P_AFRAME] -= 1.0
            return
        _freeze_ends(G, b, p, inp.psx, inp.psy, inp.pcx, inp.pcy, T)
    if _is_held(action):
        _track_ledge(f, ground_x, st)
        return
    move = ei[b, p, EI_MOVE]
    if action == GRAB_WAIT or FTHROW <= move <= DTHROW:
        _grabbing(G, b, p, inp, T)
        _track_ledge(f, ground_x, st)
        return
    if action == ON_HALO_DESCENT:  # onto the halo at a steady speed, then wait on it
        if f[P_AFRAME] > HALO_DESCENT_FRAMES:
            _set_action(G, b, p, ON_HALO_WAIT)
        else:
            f[P_Y] -= HALO_DESCENT_RISE / HALO_DESCENT_FRAMES
        _track_ledge(f, ground_x, st)
        return
    if action == ON_HALO_WAIT:
        if f[P_AFRAME] >= HALO_MAX_FRAMES or abs(sx) > STICK_DEAD or sy < -STICK_DEAD or pressed != 0:
            _set_action(G, b, p, FALLING)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        else:
            _track_ledge(f, ground_x, st)
            return
    actionable = True
    if f[P_HITSTUN] > 0:
        f[P_HITSTUN] -= 1.0
        actionable = False
        if f[P_HITSTUN] <= 0 and not pb[b, p, 0, P_GROUND]:
            _end_damage_animation(G, b, p)
        elif f[P_HITSTUN] <= 0:
            _set_action(G, b, p, STANDING)
    elif _in_damage_animation(action) and not pb[b, p, 0, P_GROUND]:
        _end_damage_animation(G, b, p)
    if _in_ledge_option(G, b, p):
        _ledge_motion(G, b, p, T)
        _track_ledge(f, ground_x, st)
        return
    up_b = _in_up_b(G, b, p)
    shine = _is_shine(G, T, b, p)
    if move >= 0 and not up_b and not shine:
        mv = moves[ch, move]
        if f[P_AFRAME] > mv[M_TOTAL]:
            ei[b, p, EI_MOVE] = -1
            if move == ROLL_F:
                f[P_FACE] = -f[P_FACE]  # a forward roll ends facing back
            if move == AIRDODGE:
                _set_action(G, b, p, SPECIAL_FALL)
            else:
                _set_action(G, b, p, STANDING if pb[b, p, 0, P_GROUND] else FALLING)
            move = -1
        elif mv[M_IASA] <= 0 or f[P_AFRAME] < mv[M_IASA]:
            actionable = False
        if move == NEUTRALB and _is_laser(G, T, b, p):  # the Blaster's id follows its phase
            base = LASER_GROUND if pb[b, p, 0, P_GROUND] else LASER_AIR
            pi[b, p, 0, P_ACTION] = base + _laser_phase(pb[b, p, 0, P_GROUND], f[P_AFRAME], mv[M_TOTAL])
    action = pi[b, p, 0, P_ACTION]
    if _timed(action):
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] <= 0 and action != LANDING:  # an idle landing plays out (states._idle)
            _set_action(G, b, p, STANDING)
        elif ei[b, p, EI_TIMER] > 0:
            actionable = False
    elif action == SHIELD_BREAK_FLY or action == SPECIAL_FALL:
        actionable = False
    # Ledge hanging and its options.
    if action == EDGE_CATCHING or action == EDGE_HANGING:
        toward = -1.0 if f[P_X] > 0 else 1.0
        if action == EDGE_CATCHING and f[P_AFRAME] >= CATCH_FRAMES:
            _set_action(G, b, p, EDGE_HANGING)
        elif action == EDGE_HANGING:
            if inp.tapped_jump:
                _set_action(G, b, p, JUMPING_FORWARD)
                f[P_VY] = c[C_FH]
                f[P_VAIR] = toward * 1.0
                ei[b, p, EI_LEDGE_CD] = LEDGE_COOLDOWN
            elif _ledge_option(G, b, p, T, inp):
                return
            elif sy < -0.5 or sx * toward < -0.5 or f[P_AFRAME] > 300:
                _set_action(G, b, p, FALLING)
                ei[b, p, EI_LEDGE_CD] = LEDGE_COOLDOWN
        _track_ledge(f, ground_x, st)
        return
    if up_b and f[P_HITSTUN] <= 0:
        _up_b(G, b, p, c, T, sx, sy)
    elif shine and f[P_HITSTUN] <= 0:
        _shine(G, b, p, c, inp)
    elif pb[b, p, 0, P_GROUND]:
        if _is_shielding(action):
            _shield(G, b, p, c, moves, action, inp)
        else:
            _ground(G, b, p, c, T, action, actionable, inp)
    else:
        _air(G, b, p, c, T, actionable, inp)
    _move(G, b, p, c, T)
