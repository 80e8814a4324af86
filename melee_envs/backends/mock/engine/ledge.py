"""Options from the ledge: getting up, rolling and attacking, quick or slow, moved by the game's
own per-frame motion (:mod:`melee_envs.data.ledge`)."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.rules import LEDGE_OPTION_INTANGIBLE, LEDGE_SLOW_PERCENT
from melee_envs.backends.mock.engine.schema import (
    BUTTON_Z,
    C_XJUMPS,
    EDGE_ATTACK,
    EDGE_OPTIONS,
    EI_INVULN,
    EI_MOVE,
    LEDGE_ACTIONS,
    LEDGE_ATTACK,
    LEDGE_GETUP,
    LEDGE_ROLL,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_GROUND,
    P_JUMPS,
    P_PCT,
    P_X,
    P_Y,
    STANDING,
)
from melee_envs.backends.mock.engine.states import _set_action, _start_move


@numba.njit(_nrt=False)
def _ledge_option(G, b, p, T, inp):
    """A hanging player's attack (A, B or the c-stick), roll (L, R or Z) or getup (the stick toward
    the stage or up); slow at 100% or more. Returns whether one started."""
    pf, ei = G.pf, G.ei
    toward = -1.0 if pf[b, p, 0, P_X] > 0 else 1.0
    if inp.attack or inp.special or inp.c_push:
        kind = LEDGE_ATTACK
    elif inp.shoulder_press or inp.pressed & (1 << BUTTON_Z):
        kind = LEDGE_ROLL
    elif inp.sx * toward > 0.5 or inp.sy > 0.5:
        kind = LEDGE_GETUP
    else:
        return False
    slow = pf[b, p, 0, P_PCT] >= LEDGE_SLOW_PERCENT
    if kind == LEDGE_ATTACK:  # a move, so its hitbox hits
        _start_move(G, T.moves, b, p, EDGE_ATTACK + (1 if slow else 0))
    else:
        _set_action(G, b, p, EDGE_OPTIONS + kind + (0 if slow else 1))
        ei[b, p, EI_MOVE] = -1
    ei[b, p, EI_INVULN] = max(ei[b, p, EI_INVULN], LEDGE_OPTION_INTANGIBLE[1 if slow else 0])
    _ledge_motion(G, b, p, T)
    return True


@numba.njit(_nrt=False, inline="always")
def _in_ledge_option(G, b, p):
    a = G.pi[b, p, 0, P_ACTION]
    return EDGE_OPTIONS <= a < EDGE_OPTIONS + len(LEDGE_ACTIONS)


@numba.njit(_nrt=False)
def _ledge_motion(G, b, p, T):
    """One frame of a ledge option: its recorded motion toward the stage; on its last frame the
    player stands on the stage."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    f = pf[b, p, 0]
    ch = pi[b, p, 0, P_CHAR]
    option = pi[b, p, 0, P_ACTION] - EDGE_OPTIONS
    k = int(f[P_AFRAME])
    toward = -1.0 if f[P_X] > 0 else 1.0
    if k < T.ledge.shape[2]:
        f[P_X] += toward * T.ledge[ch, option, k, 0]
        f[P_Y] = min(0.0, f[P_Y] + T.ledge[ch, option, k, 1])
    if k > T.ledge_frames[ch, option]:
        edge = T.ground_x[G.stage[b]]
        f[P_X] = min(max(f[P_X], -edge + 1.0), edge - 1.0)
        f[P_Y] = 0.0
        pb[b, p, 0, P_GROUND] = True
        ei[b, p, EI_MOVE] = -1
        _set_action(G, b, p, STANDING)
        pi[b, p, 0, P_JUMPS] = int(T.chars[ch, C_XJUMPS]) + 1
