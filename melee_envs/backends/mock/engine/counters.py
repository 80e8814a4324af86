"""Marth's and Roy's Counter: a hit landing in its window is negated and answered.

The down-B of a character with a ``T.counter`` mode has no hitbox of its own. While its action
frame is inside the move's active window, a hit (not a grab) that lands on the character does
nothing to it; instead the character swings (the game's counterattack ids, intangible for
``COUNTER_SWING_FRAMES``) and the attacker is launched with the down-B's FightCore knockback,
taking a flat damage (Marth) or a multiple of the countered hit's (Roy)
(:data:`melee_envs.data.moves.COUNTERS`). A projectile reaching a counter is deflected: it flies
off behind and upward and the character swings.
"""

from __future__ import annotations

import math

import numba

from melee_envs.backends.mock.engine.combat import HIT_ROW, _launch
from melee_envs.backends.mock.engine.rules import (
    COUNTER_DEFLECT_DEG,
    COUNTER_HIT_AIR,
    COUNTER_HIT_GROUND,
    COUNTER_SWING_FRAMES,
)
from melee_envs.backends.mock.engine.schema import (
    DOWNB,
    EI_HIT,
    EI_INVULN,
    EI_MOVE,
    J_VX,
    J_VY,
    M_DMG,
    M_END,
    M_START,
    M_TOTAL,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_GROUND,
    P_X,
)
from melee_envs.backends.mock.engine.states import _stale_factor, _stale_push
from melee_envs.data.moves import COUNTER_FIXED


@numba.njit(_nrt=False, inline="always")
def _countering(G, T, b, q):
    """Whether ``q`` is in the window of a counter."""
    ch = G.pi[b, q, 0, P_CHAR]
    if G.ei[b, q, EI_MOVE] != DOWNB or T.counter[ch, 0] == 0 or G.ei[b, q, EI_HIT] != 0:
        return False
    af = G.pf[b, q, 0, P_AFRAME]
    return T.moves[ch, DOWNB, M_START] <= af <= T.moves[ch, DOWNB, M_END]


@numba.njit(_nrt=False)
def _swing(G, T, b, q, toward):
    """``q`` plays its counterattack (facing ``toward``), intangible, the move's last frames."""
    ch = G.pi[b, q, 0, P_CHAR]
    G.ei[b, q, EI_HIT] = 1
    G.ei[b, q, EI_INVULN] = max(G.ei[b, q, EI_INVULN], COUNTER_SWING_FRAMES)
    G.pi[b, q, 0, P_ACTION] = COUNTER_HIT_GROUND if G.pb[b, q, 0, P_GROUND] else COUNTER_HIT_AIR
    G.pf[b, q, 0, P_AFRAME] = max(1.0, T.moves[ch, DOWNB, M_TOTAL] - COUNTER_SWING_FRAMES + 1.0)
    G.pf[b, q, 0, P_FACE] = toward


@numba.njit(_nrt=False)
def _counter(G, b, q, att, move, hit, T):
    """``att``'s ``move`` (hitbox ``hit``, as :func:`.combat._hit_lands` codes it) lands on ``q``'s
    counter: ``att``'s hit is spent, ``q`` swings and launches ``att``."""
    ch, ca = G.pi[b, q, 0, P_CHAR], G.pi[b, att, 0, P_CHAR]
    slot, window = (hit - 1) % 8, (hit - 1) // 8
    if slot == HIT_ROW:
        countered = T.moves[ca, move, M_DMG]
        G.ei[b, att, EI_HIT] = 1
    else:
        countered = T.hit_props[ca, move, window, slot, M_DMG]
        G.ei[b, att, EI_HIT] = T.hit_group[ca, move, window] + 1
    row = T.moves[ch, DOWNB]
    damage = T.counter[ch, 1] if T.counter[ch, 0] == COUNTER_FIXED else T.counter[ch, 1] * countered
    side = 1.0 if G.pf[b, att, 0, P_X] >= G.pf[b, q, 0, P_X] else -1.0
    _swing(G, T, b, q, side)
    scale = damage / row[M_DMG] if row[M_DMG] > 0 else 0.0
    _launch(G, b, q, att, row, T.chars, side, scale * _stale_factor(G.ei, b, q, DOWNB))
    _stale_push(G.ei, b, q, DOWNB)


@numba.njit(_nrt=False)
def _deflect(G, T, b, q, j):
    """A projectile (its ``jf`` row ``j``, changed in place) reaches ``q``'s counter."""
    vx, vy = j[J_VX], j[J_VY]
    speed = math.sqrt(vx * vx + vy * vy)
    back = 1.0 if vx > 0 else -1.0  # it carries on past, behind the character
    rad = math.radians(COUNTER_DEFLECT_DEG)
    j[J_VX], j[J_VY] = back * speed * math.cos(rad), speed * math.sin(rad)
    _swing(G, T, b, q, -back)
