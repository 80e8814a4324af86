"""The grabber's side of a grab: holding, throwing by the stick, letting go."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _hold, _launch
from melee_envs.backends.mock.engine.rules import GRAB_BREAK_FRAMES, STICK_TAP
from melee_envs.backends.mock.engine.schema import (
    BTHROW,
    DTHROW,
    EI_MOVE,
    EI_TIMER,
    FTHROW,
    GRAB_BREAK,
    GRAB_ESCAPE,
    GRAB_WAIT,
    M_START,
    M_TOTAL,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_VGROUND,
    STANDING,
    THROWN_FORWARD,
    UTHROW,
)
from melee_envs.backends.mock.engine.states import _is_held, _set_action, _stale_factor, _stale_push, _start_move


@numba.njit(_nrt=False, inline="always")
def _grabbing(G, b, p, inp, T):
    """The grabber's frame: hold, throw by stick direction, release the opponent on the throw's
    release frame with the throw's knockback, or let go when the hold runs out."""
    pi, pf, ei = G.pi, G.pf, G.ei
    sx, sy = inp.sx, inp.sy
    chars, moves = T.chars, T.moves
    f = pf[b, p, 0]
    q = 1 - p
    action = pi[b, p, 0, P_ACTION]
    move = ei[b, p, EI_MOVE]
    if action == GRAB_WAIT:
        if not _is_held(pi[b, q, 0, P_ACTION]):
            _set_action(G, b, p, STANDING)
            return
        _hold(pf, b, p, q)
        ei[b, p, EI_TIMER] -= 1
        throw = -1
        fwd = sx * f[P_FACE]
        if fwd > STICK_TAP:
            throw = FTHROW
        elif fwd < -STICK_TAP:
            throw = BTHROW
        elif sy > STICK_TAP:
            throw = UTHROW
        elif sy < -STICK_TAP:
            throw = DTHROW
        if throw >= 0:
            _start_move(G, moves, b, p, throw)
            pi[b, q, 0, P_ACTION] = THROWN_FORWARD + (throw - FTHROW)
            pf[b, q, 0, P_AFRAME] = 1.0
        elif ei[b, p, EI_TIMER] <= 0:
            _set_action(G, b, p, GRAB_BREAK)
            ei[b, p, EI_TIMER] = GRAB_BREAK_FRAMES
            pi[b, q, 0, P_ACTION] = GRAB_ESCAPE
            pf[b, q, 0, P_AFRAME] = 1.0
            ei[b, q, EI_TIMER] = GRAB_BREAK_FRAMES
            pf[b, q, 0, P_VGROUND] = f[P_FACE] * 1.5
        return
    # Throwing.
    mv = moves[pi[b, p, 0, P_CHAR], move]
    if _is_held(pi[b, q, 0, P_ACTION]):
        _hold(pf, b, p, q)
        if f[P_AFRAME] >= mv[M_START]:
            side = -f[P_FACE] if move == BTHROW else f[P_FACE]
            _launch(G, b, p, q, mv, chars, side, _stale_factor(ei, b, p, move))
            _stale_push(ei, b, p, move)
    if f[P_AFRAME] > mv[M_TOTAL]:
        ei[b, p, EI_MOVE] = -1
        _set_action(G, b, p, STANDING)
