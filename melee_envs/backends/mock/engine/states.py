"""Action-state helpers every other part uses: entering an action or move, which actions are
shielding, held or timed, and ground friction."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.rules import (
    AIR_MOBILITY_B,
    LANDING_FRAMES,
    PLATFORM_DROP_FRAMES,
    STALE_FIRST,
    STALE_STEP,
)
from melee_envs.backends.mock.engine.schema import (
    BACKWARD_TECH,
    C_AIRFRIC,
    C_AIRMOB,
    C_AIRSPD,
    C_DJ,
    C_DJX,
    DAMAGE_AIR_FIRST,
    DAMAGE_ANIMATION_FRAMES,
    DATTACK,
    EI_FASTFALL,
    EI_HIT,
    EI_MOVE,
    EI_QUEUE,
    EI_STALE_ON,
    EI_TUMBLE,
    FALLING,
    GRAB_BREAK,
    GRAB_ESCAPE,
    GRABBED,
    JUMPING_ARIAL_BACKWARD,
    JUMPING_ARIAL_FORWARD,
    LANDING,
    LANDING_SPECIAL,
    LYING,
    M_ACTION,
    NAIR_LANDING,
    NEUTRAL_TECH,
    P_ACTION,
    P_AFRAME,
    P_CHAR,
    P_FACE,
    P_HITLAG,
    P_HITSTUN,
    P_JUMPS,
    P_KBX,
    P_KBY,
    P_LEDGE,
    P_VAIR,
    P_VGROUND,
    P_VY,
    P_X,
    PLATFORM_DROP,
    ROLL_B,
    ROLL_F,
    SHIELD,
    SHIELD_BREAK_TEETER,
    SHIELD_RELEASE,
    SHIELD_START,
    SHIELD_STUN,
    STALE_QUEUE,
    STANDING,
    THROWN_FORWARD,
    TUMBLING,
)


@numba.njit(_nrt=False)
def _set_action(G, b, p, action):
    pi, pf = G.pi, G.pf
    if pi[b, p, 0, P_ACTION] != action:
        pi[b, p, 0, P_ACTION] = action
        pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(_nrt=False, inline="always")
def _in_damage_animation(action):
    """Whether ``action`` is one of the air damage animations (``DAMAGE_AIR_1`` .. ``DAMAGE_FLY_ROLL``)."""
    return DAMAGE_AIR_FIRST <= action < DAMAGE_AIR_FIRST + len(DAMAGE_ANIMATION_FRAMES)


@numba.njit(_nrt=False, inline="always")
def _keeps_air_action(action, af):
    """Whether an actionable airborne player falling without a move stays in ``action`` rather
    than turning to ``FALLING``: a fall or tumble already, a damage animation (until
    :func:`_end_damage_animation` ends it), or a platform drop's animation (29 frames, replays)."""
    if action == FALLING or action == TUMBLING or _in_damage_animation(action):
        return True
    return action == PLATFORM_DROP and af < PLATFORM_DROP_FRAMES


@numba.njit(_nrt=False, inline="always")
def _end_damage_animation(G, b, p):
    """Airborne with hitstun over: the damage animation plays out (the player may act), then
    ``TUMBLING`` after a tumble-strength hit, else ``FALLING``."""
    action = G.pi[b, p, 0, P_ACTION]
    if _in_damage_animation(action) and G.pf[b, p, 0, P_AFRAME] < DAMAGE_ANIMATION_FRAMES[action - DAMAGE_AIR_FIRST]:
        return
    _set_action(G, b, p, TUMBLING if G.ei[b, p, EI_TUMBLE] else FALLING)


@numba.njit(_nrt=False, inline="always")
def _start_move(G, moves, b, p, move):
    pi, pf, ei = G.pi, G.pf, G.ei
    ch = pi[b, p, 0, P_CHAR]
    ei[b, p, EI_MOVE] = move
    ei[b, p, EI_HIT] = 0
    pi[b, p, 0, P_ACTION] = int(moves[ch, move, M_ACTION])
    pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(_nrt=False, inline="always")
def _double_jump(G, b, p, c, sx):
    """Spend an air jump: its speed up, ``sx`` times its sideways speed, forward or back by the stick."""
    pi, pf, ei = G.pi, G.pf, G.ei
    f = pf[b, p, 0]
    pi[b, p, 0, P_JUMPS] -= 1
    f[P_VY] = c[C_DJ]
    f[P_VAIR] = sx * c[C_DJX]
    ei[b, p, EI_FASTFALL] = 0
    ei[b, p, EI_MOVE] = -1
    _set_action(G, b, p, JUMPING_ARIAL_FORWARD if sx * f[P_FACE] >= 0 else JUMPING_ARIAL_BACKWARD)


@numba.njit(_nrt=False, inline="always")
def _stale_factor(ei, b, p, move):
    """What ``p``'s ``move`` deals now, as a share of its fresh damage (1 with staling off)."""
    factor = 1.0
    if ei[b, p, EI_STALE_ON]:
        for k in range(STALE_QUEUE):
            if ei[b, p, EI_QUEUE + k] == move + 1:
                factor -= STALE_FIRST - STALE_STEP * k
    return factor


@numba.njit(_nrt=False, inline="always")
def _stale_push(ei, b, p, move):
    """``p``'s ``move`` connected: it becomes the newest entry of the queue."""
    for k in range(STALE_QUEUE - 1, 0, -1):
        ei[b, p, EI_QUEUE + k] = ei[b, p, EI_QUEUE + k - 1]
    ei[b, p, EI_QUEUE] = move + 1


@numba.njit(_nrt=False)
def _stop_motion(pf, b, p):
    """Zero every speed and the hitstun/hitlag counters (death, respawn)."""
    for c in (P_VAIR, P_VY, P_VGROUND, P_KBX, P_KBY, P_HITSTUN, P_HITLAG):
        pf[b, p, 0, c] = 0.0


@numba.njit(_nrt=False)
def _is_shielding(action):
    return action == SHIELD_START or action == SHIELD or action == SHIELD_STUN


@numba.njit(_nrt=False)
def _is_held(action):
    """Grabbed or being thrown: the grabber's logic moves this player."""
    return action == GRABBED or THROWN_FORWARD <= action <= THROWN_FORWARD + 3


@numba.njit(_nrt=False)
def _timed(action):
    """Actions that last ``EI_TIMER`` frames and then return to standing."""
    return (
        action == LANDING
        or action == LYING
        or NAIR_LANDING <= action <= NAIR_LANDING + 4
        or action == LANDING_SPECIAL
        or NEUTRAL_TECH <= action <= BACKWARD_TECH
        or action == SHIELD_RELEASE
        or action == GRAB_BREAK
        or action == GRAB_ESCAPE
        or action == SHIELD_BREAK_TEETER
    )


@numba.njit(_nrt=False, inline="always")
def _idle(G, b, p, action):
    """An actionable grounded player without input stands, but an idle normal landing plays out."""
    if action != LANDING or G.pf[b, p, 0, P_AFRAME] > LANDING_FRAMES:
        _set_action(G, b, p, STANDING)


@numba.njit(_nrt=False)
def _locomotes(G, b, p):
    """Whether the current move moves the character by libmelee's per-frame locomotion."""
    ei = G.ei
    move = ei[b, p, EI_MOVE]
    return move == DATTACK or move == ROLL_F or move == ROLL_B


@numba.njit(_nrt=False)
def _friction(v, fric):
    if v > 0:
        return max(0.0, v - fric)
    return min(0.0, v + fric)


@numba.njit(_nrt=False, inline="always")
def _air_drift(v, sx, c):
    """One frame of horizontal air speed ``v`` under stick ``sx`` for character row ``c``: toward
    ``sx x air_speed`` by the stick's acceleration, never past it; above it (a running jump's
    carry) the speed falls by air friction, as replays show; inside the dead zone, friction alone."""
    if abs(sx) <= 0.25:
        return _friction(v, c[C_AIRFRIC])
    target = sx * c[C_AIRSPD]
    accel = sx * (c[C_AIRMOB] - AIR_MOBILITY_B) + (AIR_MOBILITY_B if sx > 0 else -AIR_MOBILITY_B)
    if sx > 0:
        return min(v + accel, target) if v < target else max(target, v - c[C_AIRFRIC])
    return max(v + accel, target) if v > target else min(target, v + c[C_AIRFRIC])


@numba.njit(_nrt=False, inline="always")
def _track_ledge(f, ground_x, st):
    """Record in the player's row ``f`` how far inside the stage's edge it is (negative: past it)."""
    f[P_LEDGE] = ground_x[st] - abs(f[P_X])
