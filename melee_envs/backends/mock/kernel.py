"""The mock engine's Numba kernel: one call steps every game of a batch by one frame.

State lives in :class:`~melee_envs.state.PackedState` arrays plus two engine-private arrays
(``ei`` ints, ``ef`` floats, per player). Ids are the game's (libmelee ``Action`` values).
What is modelled and what is approximated is listed in ``docs/mock-engine.md``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from melee_envs.backends.mock.tables import CHAR_FIELDS
from melee_envs.data.actions import actions
from melee_envs.data.moves import ENGINE_MOVES, MOVE_FIELDS, MOVE_INDEX
from melee_envs.state import (
    MAX_PERCENT,
    PLAYER_BOOL_COLUMNS as PB,
    PLAYER_FLOAT_COLUMNS as PF,
    PLAYER_INT_COLUMNS as PI,
)

_A = actions()
DEAD_DOWN, DEAD_LEFT, DEAD_RIGHT, DEAD_UP = (_A[n] for n in ("DEAD_DOWN", "DEAD_LEFT", "DEAD_RIGHT", "DEAD_UP"))
ON_HALO_WAIT, STANDING, WALK_SLOW, WALK_MIDDLE, WALK_FAST = (
    _A[n] for n in ("ON_HALO_WAIT", "STANDING", "WALK_SLOW", "WALK_MIDDLE", "WALK_FAST")
)
TURNING, DASHING, RUNNING, KNEE_BEND = (_A[n] for n in ("TURNING", "DASHING", "RUNNING", "KNEE_BEND"))
JUMPING_FORWARD, JUMPING_BACKWARD, JUMPING_ARIAL_FORWARD, JUMPING_ARIAL_BACKWARD = (
    _A[n] for n in ("JUMPING_FORWARD", "JUMPING_BACKWARD", "JUMPING_ARIAL_FORWARD", "JUMPING_ARIAL_BACKWARD")
)
FALLING, TUMBLING, CROUCHING, LANDING = (_A[n] for n in ("FALLING", "TUMBLING", "CROUCHING", "LANDING"))
NAIR_LANDING, LANDING_SPECIAL, SPECIAL_FALL = _A["NAIR_LANDING"], _A["LANDING_SPECIAL"], _A["SPECIAL_FALL_FORWARD"]
DAMAGE_NEUTRAL_1, DAMAGE_AIR_1, DAMAGE_FLY_NEUTRAL = (
    _A[n] for n in ("DAMAGE_NEUTRAL_1", "DAMAGE_AIR_1", "DAMAGE_FLY_NEUTRAL")
)
LYING = _A["LYING_GROUND_UP"]
NEUTRAL_TECH, FORWARD_TECH, BACKWARD_TECH = _A["NEUTRAL_TECH"], _A["FORWARD_TECH"], _A["BACKWARD_TECH"]
EDGE_CATCHING, EDGE_HANGING, EDGE_GETUP_QUICK, EDGE_JUMP_1_QUICK = (
    _A[n] for n in ("EDGE_CATCHING", "EDGE_HANGING", "EDGE_GETUP_QUICK", "EDGE_JUMP_1_QUICK")
)
SHIELD_START, SHIELD, SHIELD_RELEASE, SHIELD_STUN = (
    _A[n] for n in ("SHIELD_START", "SHIELD", "SHIELD_RELEASE", "SHIELD_STUN")
)
SHIELD_BREAK_FLY, SHIELD_BREAK_TEETER = _A["SHIELD_BREAK_FLY"], _A["SHIELD_BREAK_TEETER"]
GRAB_WAIT, GRAB_BREAK, GRABBED, GRAB_ESCAPE = (_A[n] for n in ("GRAB_WAIT", "GRAB_BREAK", "GRABBED", "GRAB_ESCAPE"))
THROWN_FORWARD = _A["THROWN_FORWARD"]  # THROWN_BACK/UP/DOWN follow in the game's order

# Packed column indices.
P_CHAR, P_ACTION, P_STOCKS, P_JUMPS = (PI.index(n) for n in ("character", "action", "stocks", "jumps_left"))
P_X, P_Y, P_PCT, P_FACE, P_AFRAME, P_SHIELD, P_HITSTUN, P_HITLAG = (
    PF.index(n) for n in ("x", "y", "percent", "facing", "action_frame", "shield", "hitstun", "hitlag")
)
P_VAIR, P_VY, P_VGROUND, P_KBX, P_KBY, P_LEDGE = (
    PF.index(n)
    for n in ("speed_air_x", "speed_y", "speed_ground_x", "speed_attack_x", "speed_attack_y", "ledge_distance")
)
P_MAIN_X = PF.index("main_x")
P_EXISTS, P_GROUND, P_INVULN = (PB.index(n) for n in ("exists", "on_ground", "invulnerable"))
P_BUTTON0 = PB.index("button_A")

# Engine-private columns.
(
    EI_MOVE,
    EI_HIT,
    EI_TIMER,
    EI_DROP,
    EI_LEDGE_CD,
    EI_FASTFALL,
    EI_LCANCEL,
    EI_TUMBLE,
    EI_PREV_BUTTONS,
    EI_INVULN,
    EI_SHOULDER_AGO,
    EI_AIRDODGED,
) = range(12)
NUM_EI = 12
EF_PREV_SX, EF_PREV_SY, EF_PREV_CX, EF_PREV_CY, EF_PREV_SHOULDER = range(5)
NUM_EF = 5

# Character attribute and move columns.
C = {n: i for i, n in enumerate(CHAR_FIELDS)}
(
    C_WEIGHT,
    C_GRAV,
    C_TERM,
    C_FF,
    C_WALK,
    C_DASH,
    C_RUN,
    C_DASHF,
    C_SQUAT,
    C_FH,
    C_SH,
    C_DJ,
    C_DJX,
    C_AIRSPD,
    C_AIRMOB,
    C_AIRFRIC,
    C_FRIC,
    C_XJUMPS,
    C_SIZE,
) = (C[n] for n in CHAR_FIELDS)
M = {n: i for i, n in enumerate(MOVE_FIELDS)}
(
    M_ACTION,
    M_TOTAL,
    M_START,
    M_END,
    M_IASA,
    M_HBX,
    M_HBY,
    M_HBR,
    M_DMG,
    M_ANGLE,
    M_BKB,
    M_KBG,
    M_SKB,
    M_HITLAG,
    M_SSTUN,
    M_LAND,
    M_LCANCEL,
) = (M[n] for n in MOVE_FIELDS)
(
    JAB,
    FTILT,
    UTILT,
    DTILT,
    FSMASH,
    USMASH,
    DSMASH,
    DATTACK,
    NAIR,
    FAIR,
    BAIR,
    UAIR,
    DAIR,
    NEUTRALB,
    SIDEB,
    GRAB,
    FTHROW,
    BTHROW,
    UTHROW,
    DTHROW,
    SPOTDODGE,
    ROLL_F,
    ROLL_B,
    AIRDODGE,
) = (MOVE_INDEX[n] for n, _ in ENGINE_MOVES)

# Constants of the game (SSBWiki "Knockback", "Hitstun", "Landing lag", "Shield", "Air dodge",
# "Wavedash", "Tech" for Melee). Values marked "approx." are the engine's simplifications.
KB_DECAY = 0.051
KB_SPEED = 0.03
HITSTUN_PER_KB = 0.4
TUMBLE_KB = 80.0
NORMAL_LANDING_LAG = 4
LCANCEL_WINDOW = 7
TECH_WINDOW = 20
TECH_FRAMES = 26
TECH_INTANGIBLE = 20
TECH_ROLL_FRAMES = 40
MISSED_TECH_FRAMES = 26
DEAD_FRAMES = 60
HALO_MAX_FRAMES = 150
RESPAWN_INVULN = 120
LEDGE_INVULN = 30
LEDGE_COOLDOWN = 30
GETUP_FRAMES = 30
CATCH_FRAMES = 7
DI_MAX_DEG = 18.0
STICK_TAP = 0.8
STICK_DEAD = 0.3
SHIELD_MAX = 60.0
SHIELD_DECAY = 0.28  # per frame held
SHIELD_REGEN = 0.07  # per frame released
SHIELD_RELEASE_FRAMES = 15
SHIELD_THRESHOLD = 0.3  # analog press that raises the shield
SHIELD_BREAK_VY = 2.5  # approx.
SHIELD_AFTER_BREAK = 30.0
DIZZY_FRAMES = 300  # approx.
SHIELD_PUSH = 0.1  # approx.: pushback speed per point of damage
AIRDODGE_SPEED = 3.1
AIRDODGE_DECAY = 0.9
AIRDODGE_DRIFT_END = 30
LANDING_SPECIAL_FRAMES = 10
GRAB_HOLD_BASE = 90  # approx.: frames a grab holds, plus GRAB_HOLD_PER_PCT x percent
GRAB_HOLD_PER_PCT = 1.0
GRAB_BREAK_FRAMES = 30
GRAB_DISTANCE = 8.0
BUTTON_A, BUTTON_B, BUTTON_X, BUTTON_Y, BUTTON_Z, BUTTON_L, BUTTON_R = 0, 1, 2, 3, 4, 5, 6
SHOULDER_BITS = (1 << BUTTON_L) | (1 << BUTTON_R)


@numba.njit(cache=True, _nrt=False)
def _set_action(pi, pf, b, p, action):
    if pi[b, p, 0, P_ACTION] != action:
        pi[b, p, 0, P_ACTION] = action
        pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(cache=True, _nrt=False)
def _knockback(percent_after, damage, weight, bkb, kbg, skb):
    """Melee's knockback (SSBWiki "Knockback"): percent after the hit, the hit's damage, the
    defender's weight, base knockback, growth and set knockback (weight-independent when set)."""
    if skb > 0:
        percent_after = 10.0
        damage = skb
    return (
        (percent_after / 10.0 + percent_after * damage / 20.0) * 200.0 / (weight + 100.0) * 1.4 + 18.0
    ) * kbg / 100.0 + bkb


@numba.njit(cache=True, _nrt=False, inline="always")
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


@numba.njit(cache=True, _nrt=False, inline="always")
def _on_surface(x, y, st, ground_x, platforms, num_platforms):
    """Whether (x, y) stands on the stage or a platform."""
    if abs(y) < 1e-3 and abs(x) <= ground_x[st]:
        return True
    for k in range(num_platforms[st]):
        if abs(y - platforms[st, k, 0]) < 1e-3 and platforms[st, k, 1] <= x <= platforms[st, k, 2]:
            return True
    return False


@numba.njit(cache=True, _nrt=False, inline="always")
def _start_move(pi, pf, ei, moves, b, p, move):
    ch = pi[b, p, 0, P_CHAR]
    ei[b, p, EI_MOVE] = move
    ei[b, p, EI_HIT] = 0
    pi[b, p, 0, P_ACTION] = int(moves[ch, move, M_ACTION])
    pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(cache=True, _nrt=False, inline="always")
def _start_special(pi, pf, ei, moves, b, p, sx, sy):
    """B: side-B toward a sideways stick (turning to face it), neutral-B otherwise."""
    if abs(sx) > 0.5 and abs(sx) >= abs(sy):
        pf[b, p, 0, P_FACE] = 1.0 if sx > 0 else -1.0
        _start_move(pi, pf, ei, moves, b, p, SIDEB)
    else:
        _start_move(pi, pf, ei, moves, b, p, NEUTRALB)


@numba.njit(cache=True, _nrt=False)
def _stop_motion(pf, b, p):
    """Zero every speed and the hitstun/hitlag counters (death, respawn)."""
    for c in (P_VAIR, P_VY, P_VGROUND, P_KBX, P_KBY, P_HITSTUN, P_HITLAG):
        pf[b, p, 0, c] = 0.0


@numba.njit(cache=True, _nrt=False)
def _is_shielding(action):
    return action == SHIELD_START or action == SHIELD or action == SHIELD_STUN


@numba.njit(cache=True, _nrt=False)
def _is_held(action):
    """Grabbed or being thrown: the grabber's logic moves this player."""
    return action == GRABBED or THROWN_FORWARD <= action <= THROWN_FORWARD + 3


@numba.njit(cache=True, _nrt=False)
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


@numba.njit(cache=True, _nrt=False, inline="always")
def _intangible(pi, pf, ei, moves, b, p):
    if ei[b, p, EI_INVULN] > 0:
        return True
    move = ei[b, p, EI_MOVE]
    if move >= SPOTDODGE:
        mv = moves[pi[b, p, 0, P_CHAR], move]
        af = pf[b, p, 0, P_AFRAME]
        return mv[M_START] <= af <= mv[M_END]
    return False


@numba.njit(cache=True, _nrt=False, inline="always")
def _respawn(pi, pf, pb, ei, ef, b, p, st, blast):
    pi[b, p, 0, P_ACTION] = ON_HALO_WAIT
    pf[b, p, 0, P_AFRAME] = 1.0
    pf[b, p, 0, P_X] = -20.0 if p == 0 else 20.0
    pf[b, p, 0, P_Y] = blast[st, 2] * 0.3
    pf[b, p, 0, P_PCT] = 0.0
    pf[b, p, 0, P_FACE] = 1.0 if p == 0 else -1.0
    pf[b, p, 0, P_SHIELD] = SHIELD_MAX
    _stop_motion(pf, b, p)
    pb[b, p, 0, P_GROUND] = False
    ei[b, p, EI_INVULN] = RESPAWN_INVULN
    ei[b, p, EI_MOVE] = -1
    ei[b, p, EI_TUMBLE] = 0
    ei[b, p, EI_AIRDODGED] = 0


@numba.njit(cache=True, _nrt=False, inline="always")
def mix64(seed, a, b):
    """SplitMix64 of ``(seed, a, b)``: a reproducible 64-bit draw that needs no RNG state, so a
    compiled loop can draw per game and per episode without a Python call."""
    x = np.uint64(seed) + np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, _nrt=False, inline="always")
def _uniform(key, k):
    """The ``k``-th uniform number in [0, 1) of a game's reset ``key``."""
    return float(mix64(key, k, 1) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, _nrt=False)
def reset_game(pi, pf, pb, ei, ef, stage, frame, done, winner, b, chars, stocks, T, start, key):
    """Put game ``b`` at its starting position (characters ``chars[p]``).

    ``start = (spread, max_percent)``: each spawn x moves by up to ``spread`` x the stage's
    half-width either way and each player starts with a percent drawn from [0, max_percent],
    from the 64-bit ``key``; ``(0, 0)`` is Melee's fixed start (then ``key`` is unused).
    """
    char_table, ground_x = T[0], T[3]
    frame[b] = 0
    done[b] = False
    winner[b] = -1
    st = stage[b]
    for p in range(pi.shape[1]):
        pi[b, p, :, :] = 0
        pf[b, p, :, :] = 0.0
        pb[b, p, :, :] = False
        ei[b, p, :] = 0
        ef[b, p, :] = 0.0
        pi[b, p, 0, P_CHAR] = chars[p]
        pi[b, p, 0, P_STOCKS] = stocks
        pi[b, p, 0, P_ACTION] = STANDING
        pi[b, p, 0, P_JUMPS] = int(char_table[chars[p], C_XJUMPS]) + 1  # grounded: ground jump too
        x = -0.45 if p == 0 else 0.45
        if start[0] > 0.0:
            x = min(max(x + start[0] * (2.0 * _uniform(key, 2 * p) - 1.0), -0.9), 0.9)
        pf[b, p, 0, P_X] = x * ground_x[st]
        pf[b, p, 0, P_FACE] = 1.0 if p == 0 else -1.0
        if start[1] > 0.0:
            pf[b, p, 0, P_PCT] = np.floor(start[1] * _uniform(key, 2 * p + 1))
        pf[b, p, 0, P_SHIELD] = SHIELD_MAX
        pf[b, p, 0, P_LEDGE] = ground_x[st] - abs(pf[b, p, 0, P_X])
        for c in range(P_MAIN_X, P_MAIN_X + 4):
            pf[b, p, 0, c] = 0.5
        pb[b, p, 0, P_EXISTS] = True
        pb[b, p, 0, P_GROUND] = True
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_SHOULDER_AGO] = 255
    if start[0] > 0.0 and pi.shape[1] == 2:  # spawns may have crossed: face each other
        left = 0 if pf[b, 0, 0, P_X] <= pf[b, 1, 0, P_X] else 1
        pf[b, left, 0, P_FACE] = 1.0
        pf[b, 1 - left, 0, P_FACE] = -1.0


@numba.njit(cache=True, _nrt=False)
def reset_games(pi, pf, pb, ei, ef, stage, frame, done, winner, mask, chars, stocks, T, start, keys):
    """Reset the games where ``mask`` is set (game ``b`` draws its start from ``keys[b]``)."""
    for b in range(stage.shape[0]):
        if mask[b]:
            reset_game(pi, pf, pb, ei, ef, stage, frame, done, winner, b, chars[b], stocks, T, start, keys[b])


@numba.njit(cache=True, nogil=True, _nrt=False, inline="always")
def step_game(pi, pf, pb, ei, ef, stage, frame, done, winner, b, act, stick_centres, shoulder_levels, T, time_limit):
    """Advance game ``b`` by one frame with actions ``act[p, ACTION_SIZE]`` (no-op when it is done)."""
    if done[b]:
        return
    num_players = pi.shape[1]
    frame[b] += 1
    st = stage[b]
    for p in range(num_players):
        _step_player(pi, pf, pb, ei, ef, b, p, st, act[p], stick_centres, shoulder_levels, T)
    for p in range(num_players):
        for q in range(num_players):
            if p != q:
                _try_hit(pi, pf, pb, ei, ef, b, p, q, T)
    alive = 0
    for p in range(num_players):
        _check_blast(pi, pf, pb, ei, b, p, st, T[5])
        if pi[b, p, 0, P_STOCKS] > 0:
            alive += 1
    if alive <= 1 or frame[b] >= time_limit:
        done[b] = True
        _decide_winner(pi, pf, b, winner)


@numba.njit(cache=True, nogil=True, _nrt=False)
def step_games(pi, pf, pb, ei, ef, stage, frame, done, winner, act, stick_centres, shoulder_levels, T, time_limit):
    """Advance every game that is not done by one frame, with actions ``act[b, p, ACTION_SIZE]``."""
    for b in range(stage.shape[0]):
        step_game(
            pi, pf, pb, ei, ef, stage, frame, done, winner, b, act[b], stick_centres, shoulder_levels, T, time_limit
        )


@numba.njit(cache=True, _nrt=False, inline="always")
def _decide_winner(pi, pf, b, winner):
    best = -1
    tie = False
    for p in range(pi.shape[1]):
        if best < 0:
            best = p
            continue
        sp, sb = pi[b, p, 0, P_STOCKS], pi[b, best, 0, P_STOCKS]
        if sp > sb or (sp == sb and pf[b, p, 0, P_PCT] < pf[b, best, 0, P_PCT]):
            best = p
            tie = False
        elif sp == sb and pf[b, p, 0, P_PCT] == pf[b, best, 0, P_PCT]:
            tie = True
    winner[b] = -1 if tie else best


@numba.njit(cache=True, _nrt=False, inline="always")
def _check_blast(pi, pf, pb, ei, b, p, st, blast):
    a = pi[b, p, 0, P_ACTION]
    if a <= DEAD_UP or a == ON_HALO_WAIT or pi[b, p, 0, P_STOCKS] <= 0:
        return
    x, y = pf[b, p, 0, P_X], pf[b, p, 0, P_Y]
    dead = -1
    if x < blast[st, 0]:
        dead = DEAD_LEFT
    elif x > blast[st, 1]:
        dead = DEAD_RIGHT
    elif y > blast[st, 2]:
        dead = DEAD_UP
    elif y < blast[st, 3]:
        dead = DEAD_DOWN
    if dead >= 0:
        pi[b, p, 0, P_ACTION] = dead
        pf[b, p, 0, P_AFRAME] = 1.0
        pi[b, p, 0, P_STOCKS] -= 1
        ei[b, p, EI_TIMER] = DEAD_FRAMES
        ei[b, p, EI_MOVE] = -1
        _stop_motion(pf, b, p)


@numba.njit(cache=True, _nrt=False, inline="always")
def _launch(pi, pf, pb, ei, b, att, dfn, mv, chars, side):
    """Apply hit ``mv`` (a move row) to ``dfn``: damage, knockback, DI, hitstun, hitlag."""
    cd = pi[b, dfn, 0, P_CHAR]
    damage = mv[M_DMG]
    pf[b, dfn, 0, P_PCT] = min(pf[b, dfn, 0, P_PCT] + damage, MAX_PERCENT)  # Melee caps at 999%
    grounded = pb[b, dfn, 0, P_GROUND]
    kb = _knockback(pf[b, dfn, 0, P_PCT], damage, chars[cd, C_WEIGHT], mv[M_BKB], mv[M_KBG], mv[M_SKB])
    angle = mv[M_ANGLE]
    if angle == 361.0:  # Sakurai angle
        angle = 0.0 if (grounded and kb < 32.0) else 44.0
    rad = math.radians(angle)
    ux, uy = math.cos(rad) * side, math.sin(rad)
    # DI: the defender's held stick rotates the launch by up to 18 degrees.
    sx = (pf[b, dfn, 0, P_MAIN_X] - 0.5) * 2.0
    sy = (pf[b, dfn, 0, P_MAIN_X + 1] - 0.5) * 2.0
    perp = ux * sy - uy * sx
    rad2 = math.atan2(uy, ux) + math.radians(DI_MAX_DEG) * max(-1.0, min(1.0, perp))
    speed = kb * KB_SPEED
    vx, vy = speed * math.cos(rad2), speed * math.sin(rad2)
    if grounded and vy < 0.0:
        vy = -vy * 0.8  # ground spikes bounce
    hitlag = mv[M_HITLAG]
    pf[b, dfn, 0, P_KBX] = vx
    pf[b, dfn, 0, P_KBY] = vy
    pf[b, dfn, 0, P_HITSTUN] = math.floor(kb * HITSTUN_PER_KB)
    pf[b, dfn, 0, P_HITLAG] = hitlag
    pf[b, att, 0, P_HITLAG] = hitlag
    pf[b, dfn, 0, P_VAIR] = 0.0
    pf[b, dfn, 0, P_VY] = 0.0
    pf[b, dfn, 0, P_VGROUND] = 0.0
    ei[b, dfn, EI_MOVE] = -1
    ei[b, dfn, EI_FASTFALL] = 0
    tumble = kb >= TUMBLE_KB
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


@numba.njit(cache=True, _nrt=False, inline="always")
def _try_hit(pi, pf, pb, ei, ef, b, att, dfn, T):
    chars, moves = T[0], T[1]
    move = ei[b, att, EI_MOVE]
    if move < 0 or move >= FTHROW or ei[b, att, EI_HIT] != 0:
        return
    if pf[b, att, 0, P_HITLAG] > 0 or pi[b, dfn, 0, P_ACTION] <= ON_HALO_WAIT:
        return
    if _intangible(pi, pf, ei, moves, b, dfn) or _is_held(pi[b, dfn, 0, P_ACTION]):
        return
    if pi[b, dfn, 0, P_ACTION] == GRAB_WAIT:
        return
    ca = pi[b, att, 0, P_CHAR]
    mv = moves[ca, move]
    af = pf[b, att, 0, P_AFRAME]
    if af < mv[M_START] or af > mv[M_END] or mv[M_HBR] <= 0:
        return
    face = pf[b, att, 0, P_FACE]
    hx = pf[b, att, 0, P_X] + face * mv[M_HBX]
    hy = pf[b, att, 0, P_Y] + mv[M_HBY]
    cd = pi[b, dfn, 0, P_CHAR]
    size = chars[cd, C_SIZE]
    dx_ = pf[b, dfn, 0, P_X]
    y0 = pf[b, dfn, 0, P_Y] + 0.2 * size
    y1 = pf[b, dfn, 0, P_Y] + 1.2 * size
    cy = min(max(hy, y0), y1)
    dist = math.sqrt((hx - dx_) ** 2 + (hy - cy) ** 2)
    if dist > mv[M_HBR] + 0.35 * size:
        return
    ei[b, att, EI_HIT] = 1
    side = 1.0 if dx_ > pf[b, att, 0, P_X] else (-1.0 if dx_ < pf[b, att, 0, P_X] else face)
    if move == GRAB:
        _grab(pi, pf, pb, ei, b, att, dfn)
        return
    if _is_shielding(pi[b, dfn, 0, P_ACTION]) and pb[b, dfn, 0, P_GROUND]:
        _shield_hit(pi, pf, pb, ei, b, att, dfn, mv, side)
        return
    _launch(pi, pf, pb, ei, b, att, dfn, mv, chars, side)


@numba.njit(cache=True, _nrt=False, inline="always")
def _shield_hit(pi, pf, pb, ei, b, att, dfn, mv, side):
    """A hit on a shield: no damage; the shield loses the hit's damage, shieldstun and hitlag,
    pushback; the shield breaks at zero."""
    pf[b, dfn, 0, P_SHIELD] -= mv[M_DMG]
    pf[b, att, 0, P_HITLAG] = mv[M_HITLAG]
    pf[b, dfn, 0, P_HITLAG] = mv[M_HITLAG]
    if pf[b, dfn, 0, P_SHIELD] <= 0.0:
        _shield_break(pi, pf, pb, ei, b, dfn)
        return
    pi[b, dfn, 0, P_ACTION] = SHIELD_STUN
    pf[b, dfn, 0, P_AFRAME] = 1.0
    ei[b, dfn, EI_TIMER] = max(1, int(mv[M_SSTUN]))
    pf[b, dfn, 0, P_VGROUND] = side * SHIELD_PUSH * mv[M_DMG]


@numba.njit(cache=True, _nrt=False, inline="always")
def _shield_break(pi, pf, pb, ei, b, p):
    pf[b, p, 0, P_SHIELD] = SHIELD_AFTER_BREAK
    pb[b, p, 0, P_GROUND] = False
    pf[b, p, 0, P_Y] += 0.01
    pf[b, p, 0, P_VY] = SHIELD_BREAK_VY
    pf[b, p, 0, P_VAIR] = 0.0
    pf[b, p, 0, P_VGROUND] = 0.0
    ei[b, p, EI_MOVE] = -1
    pi[b, p, 0, P_ACTION] = SHIELD_BREAK_FLY
    pf[b, p, 0, P_AFRAME] = 1.0


@numba.njit(cache=True, _nrt=False, inline="always")
def _grab(pi, pf, pb, ei, b, att, dfn):
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


@numba.njit(cache=True, _nrt=False)
def _hold(pf, b, att, dfn):
    face = pf[b, att, 0, P_FACE]
    pf[b, dfn, 0, P_X] = pf[b, att, 0, P_X] + face * GRAB_DISTANCE
    pf[b, dfn, 0, P_Y] = pf[b, att, 0, P_Y]
    pf[b, dfn, 0, P_FACE] = -face


@numba.njit(cache=True, _nrt=False, inline="always")
def _grabbing(pi, pf, pb, ei, b, p, sx, sy, psx, psy, T):
    """The grabber's frame: hold, throw by stick direction, release the opponent on the throw's
    release frame with the throw's knockback, or let go when the hold runs out."""
    chars, moves = T[0], T[1]
    f = pf[b, p, 0]
    q = 1 - p
    action = pi[b, p, 0, P_ACTION]
    move = ei[b, p, EI_MOVE]
    if action == GRAB_WAIT:
        if not _is_held(pi[b, q, 0, P_ACTION]):
            _set_action(pi, pf, b, p, STANDING)
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
            _start_move(pi, pf, ei, moves, b, p, throw)
            pi[b, q, 0, P_ACTION] = THROWN_FORWARD + (throw - FTHROW)
            pf[b, q, 0, P_AFRAME] = 1.0
        elif ei[b, p, EI_TIMER] <= 0:
            _set_action(pi, pf, b, p, GRAB_BREAK)
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
            _launch(pi, pf, pb, ei, b, p, q, mv, chars, side)
    if f[P_AFRAME] > mv[M_TOTAL]:
        ei[b, p, EI_MOVE] = -1
        _set_action(pi, pf, b, p, STANDING)


@numba.njit(cache=True, _nrt=False, inline="always")
def _step_player(pi, pf, pb, ei, ef, b, p, st, act, stick_centres, shoulder_levels, T):  # noqa: PLR0912, PLR0915
    chars, moves, loco, ground_x, ledge_x, blast, platforms, num_platforms = T
    f = pf[b, p, 0]
    # Record the controller held this frame.
    buttons = 0
    for k in range(8):
        down = act[k] != 0
        pb[b, p, 0, P_BUTTON0 + k] = down
        if down:
            buttons |= 1 << k
    for k in range(4):
        f[P_MAIN_X + k] = stick_centres[act[8 + k]]
    shoulder = shoulder_levels[act[12]]
    f[P_MAIN_X + 4] = shoulder
    prev_buttons = ei[b, p, EI_PREV_BUTTONS]
    ei[b, p, EI_PREV_BUTTONS] = buttons
    pressed = buttons & ~prev_buttons
    sx, sy = (f[P_MAIN_X] - 0.5) * 2.0, (f[P_MAIN_X + 1] - 0.5) * 2.0
    cx, cy = (f[P_MAIN_X + 2] - 0.5) * 2.0, (f[P_MAIN_X + 3] - 0.5) * 2.0
    psx, psy = ef[b, p, EF_PREV_SX], ef[b, p, EF_PREV_SY]
    pcx, pcy = ef[b, p, EF_PREV_CX], ef[b, p, EF_PREV_CY]
    pshoulder = ef[b, p, EF_PREV_SHOULDER]
    ef[b, p, EF_PREV_SX], ef[b, p, EF_PREV_SY], ef[b, p, EF_PREV_CX], ef[b, p, EF_PREV_CY] = sx, sy, cx, cy
    ef[b, p, EF_PREV_SHOULDER] = shoulder
    if pi[b, p, 0, P_STOCKS] <= 0:
        pb[b, p, 0, P_EXISTS] = True
        return
    if ei[b, p, EI_INVULN] > 0:
        ei[b, p, EI_INVULN] -= 1
    shoulder_press = (pressed & SHOULDER_BITS) != 0 or (shoulder >= SHIELD_THRESHOLD > pshoulder)
    shield_held = (buttons & SHOULDER_BITS) != 0 or shoulder >= SHIELD_THRESHOLD
    if ei[b, p, EI_LCANCEL] > 0:
        ei[b, p, EI_LCANCEL] -= 1
    if ei[b, p, EI_SHOULDER_AGO] < 255:
        ei[b, p, EI_SHOULDER_AGO] += 1
    if shoulder_press or pressed & (1 << BUTTON_Z):
        ei[b, p, EI_LCANCEL] = LCANCEL_WINDOW
    if shoulder_press:
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
    pb[b, p, 0, P_INVULN] = _intangible(pi, pf, ei, moves, b, p)
    # Dead: wait, then respawn on the halo.
    if action <= DEAD_UP:
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] <= 0:
            _respawn(pi, pf, pb, ei, ef, b, p, st, blast)
        return
    if f[P_HITLAG] > 0:
        f[P_HITLAG] -= 1.0
        f[P_AFRAME] -= 1.0
        return
    if _is_held(action):
        f[P_LEDGE] = ground_x[st] - abs(f[P_X])
        return
    move = ei[b, p, EI_MOVE]
    if action == GRAB_WAIT or FTHROW <= move <= DTHROW:
        _grabbing(pi, pf, pb, ei, b, p, sx, sy, psx, psy, T)
        f[P_LEDGE] = ground_x[st] - abs(f[P_X])
        return
    tapped_jump = (pressed & ((1 << BUTTON_X) | (1 << BUTTON_Y))) != 0 or (sy > STICK_TAP and psy < STICK_DEAD)
    jump_held = (buttons & ((1 << BUTTON_X) | (1 << BUTTON_Y))) != 0 or sy > STICK_DEAD
    attack = (pressed & (1 << BUTTON_A)) != 0
    special = (pressed & (1 << BUTTON_B)) != 0
    grab = (pressed & (1 << BUTTON_Z)) != 0 or (attack and shield_held)
    c_push = (abs(cx) > STICK_TAP and abs(pcx) < STICK_DEAD) or (abs(cy) > STICK_TAP and abs(pcy) < STICK_DEAD)
    if action == ON_HALO_WAIT:
        if f[P_AFRAME] >= HALO_MAX_FRAMES or abs(sx) > STICK_DEAD or sy < -STICK_DEAD or pressed != 0:
            _set_action(pi, pf, b, p, FALLING)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        else:
            f[P_LEDGE] = ground_x[st] - abs(f[P_X])
            return
    actionable = True
    if f[P_HITSTUN] > 0:
        f[P_HITSTUN] -= 1.0
        actionable = False
        if f[P_HITSTUN] <= 0 and not pb[b, p, 0, P_GROUND]:
            _set_action(pi, pf, b, p, TUMBLING if ei[b, p, EI_TUMBLE] else FALLING)
        elif f[P_HITSTUN] <= 0:
            _set_action(pi, pf, b, p, STANDING)
    if move >= 0:
        mv = moves[ch, move]
        if f[P_AFRAME] > mv[M_TOTAL]:
            ei[b, p, EI_MOVE] = -1
            if move == ROLL_F:
                f[P_FACE] = -f[P_FACE]  # a forward roll ends facing back
            if move == AIRDODGE:
                _set_action(pi, pf, b, p, SPECIAL_FALL)
            else:
                _set_action(pi, pf, b, p, STANDING if pb[b, p, 0, P_GROUND] else FALLING)
            move = -1
        elif mv[M_IASA] <= 0 or f[P_AFRAME] < mv[M_IASA]:
            actionable = False
    action = pi[b, p, 0, P_ACTION]
    if _timed(action):
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] <= 0:
            _set_action(pi, pf, b, p, STANDING)
        else:
            actionable = False
    elif action == SHIELD_BREAK_FLY or action == SPECIAL_FALL:
        actionable = False
    # Ledge hanging and its options.
    if action == EDGE_CATCHING or action == EDGE_HANGING:
        toward = -1.0 if f[P_X] > 0 else 1.0
        if action == EDGE_CATCHING and f[P_AFRAME] >= CATCH_FRAMES:
            _set_action(pi, pf, b, p, EDGE_HANGING)
        elif action == EDGE_HANGING:
            if tapped_jump:
                _set_action(pi, pf, b, p, JUMPING_FORWARD)
                f[P_VY] = c[C_FH]
                f[P_VAIR] = toward * 1.0
                ei[b, p, EI_LEDGE_CD] = LEDGE_COOLDOWN
            elif sx * toward > 0.5 or sy > 0.5:
                _set_action(pi, pf, b, p, EDGE_GETUP_QUICK)
                ei[b, p, EI_INVULN] = GETUP_FRAMES
            elif sy < -0.5 or sx * toward < -0.5 or f[P_AFRAME] > 300:
                _set_action(pi, pf, b, p, FALLING)
                ei[b, p, EI_LEDGE_CD] = LEDGE_COOLDOWN
        f[P_LEDGE] = ground_x[st] - abs(f[P_X])
        return
    if action == EDGE_GETUP_QUICK:
        if f[P_AFRAME] >= GETUP_FRAMES:
            side = 1.0 if f[P_X] > 0 else -1.0
            f[P_X] = side * (ground_x[st] - 8.0)
            f[P_Y] = 0.0
            pb[b, p, 0, P_GROUND] = True
            _set_action(pi, pf, b, p, STANDING)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS]) + 1
        return
    grounded = pb[b, p, 0, P_GROUND]
    if grounded:
        if _is_shielding(action):
            _shield(pi, pf, pb, ei, b, p, c, moves, action, sx, sy, psx, psy, tapped_jump, grab, shield_held)
        else:
            _ground(
                pi, pf, pb, ei, b, p, c, moves, action, actionable, sx, sy, cx, cy, psx, psy, tapped_jump,
                jump_held, attack, special, grab, shield_held, c_push,
            )  # fmt: skip
    else:
        _air(
            pi,
            pf,
            ei,
            b,
            p,
            c,
            moves,
            actionable,
            sx,
            sy,
            cx,
            cy,
            psy,
            tapped_jump,
            attack,
            special,
            c_push,
            shoulder_press,
        )
    _move(pi, pf, pb, ei, b, p, c, moves, loco, st, ground_x, ledge_x, platforms, num_platforms)


@numba.njit(cache=True, _nrt=False, inline="always")
def _shield(pi, pf, pb, ei, b, p, c, moves, action, sx, sy, psx, psy, tapped_jump, grab, shield_held):
    """Holding a shield: it shrinks; jump, grab, roll or spot dodge out of it, or drop it."""
    f = pf[b, p, 0]
    f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
    f[P_SHIELD] -= SHIELD_DECAY
    if f[P_SHIELD] <= 0.0:
        _shield_break(pi, pf, pb, ei, b, p)
        return
    if action == SHIELD_STUN:
        ei[b, p, EI_TIMER] -= 1
        if ei[b, p, EI_TIMER] > 0:
            return
        _set_action(pi, pf, b, p, SHIELD)
    elif action == SHIELD_START and f[P_AFRAME] > 2:
        _set_action(pi, pf, b, p, SHIELD)
    if tapped_jump:
        _set_action(pi, pf, b, p, KNEE_BEND)
    elif grab:
        _start_move(pi, pf, ei, moves, b, p, GRAB)
    elif sy < -STICK_TAP and psy > -STICK_DEAD:
        _start_move(pi, pf, ei, moves, b, p, SPOTDODGE)
    elif abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD:
        _start_move(pi, pf, ei, moves, b, p, ROLL_F if sx * f[P_FACE] > 0 else ROLL_B)
    elif not shield_held:
        _set_action(pi, pf, b, p, SHIELD_RELEASE)
        ei[b, p, EI_TIMER] = SHIELD_RELEASE_FRAMES


@numba.njit(cache=True, _nrt=False, inline="always")
def _ground(
    pi, pf, pb, ei, b, p, c, moves, action, actionable, sx, sy, cx, cy, psx, psy, tapped_jump, jump_held, attack,
    special, grab, shield_held, c_push,
):  # noqa: PLR0912  # fmt: skip
    f = pf[b, p, 0]
    if action == KNEE_BEND:
        if f[P_AFRAME] > c[C_SQUAT]:
            pb[b, p, 0, P_GROUND] = False
            f[P_VY] = c[C_FH] if jump_held else c[C_SH]
            f[P_VAIR] = max(-c[C_AIRSPD], min(c[C_AIRSPD], f[P_VGROUND] + sx * c[C_AIRMOB] * 4.0))
            f[P_VGROUND] = 0.0
            _set_action(pi, pf, b, p, JUMPING_FORWARD if sx * f[P_FACE] >= 0 else JUMPING_BACKWARD)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
            ei[b, p, EI_AIRDODGED] = 0
        return
    if not actionable:
        if ei[b, p, EI_MOVE] < 0 or not _locomotes(moves, ei, pi, b, p):
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    if tapped_jump:
        _set_action(pi, pf, b, p, KNEE_BEND)
        return
    if grab:
        _start_move(pi, pf, ei, moves, b, p, GRAB)
        if action != DASHING and action != RUNNING:
            f[P_VGROUND] = 0.0
        return
    if shield_held:
        _set_action(pi, pf, b, p, SHIELD_START)
        f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    smash_x = abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD
    smash_y = abs(sy) > STICK_TAP and abs(psy) < STICK_DEAD
    if special:
        _start_special(pi, pf, ei, moves, b, p, sx, sy)
        f[P_VGROUND] = 0.0
        return
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
        _start_move(pi, pf, ei, moves, b, p, move)
        if not _locomotes(moves, ei, pi, b, p) and move != DATTACK:
            f[P_VGROUND] = 0.0
        return
    on_platform = f[P_Y] > 1e-3
    if on_platform and sy < -STICK_TAP and psy > -STICK_DEAD:
        pb[b, p, 0, P_GROUND] = False
        ei[b, p, EI_DROP] = 8
        f[P_VAIR] = f[P_VGROUND]
        f[P_VGROUND] = 0.0
        f[P_VY] = 0.0
        _set_action(pi, pf, b, p, FALLING)
        return
    if sy < -0.6:
        _set_action(pi, pf, b, p, CROUCHING)
        f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
        return
    if action == DASHING:
        if sx * f[P_FACE] > STICK_DEAD:
            if f[P_AFRAME] >= c[C_DASHF]:
                _set_action(pi, pf, b, p, RUNNING)
            f[P_VGROUND] = f[P_FACE] * (c[C_DASH] if f[P_AFRAME] <= 1 else max(c[C_DASH], c[C_RUN] * 0.9))
            return
    if action == RUNNING and sx * f[P_FACE] > STICK_DEAD:
        f[P_VGROUND] = f[P_FACE] * c[C_RUN]
        return
    if abs(sx) > STICK_TAP and abs(psx) < STICK_DEAD or (action == DASHING and sx * f[P_FACE] < -STICK_TAP):
        f[P_FACE] = 1.0 if sx > 0 else -1.0
        _set_action(pi, pf, b, p, DASHING)
        f[P_VGROUND] = f[P_FACE] * c[C_DASH]
        return
    if abs(sx) > 0.25:
        if sx * f[P_FACE] < 0:
            f[P_FACE] = -f[P_FACE]
            _set_action(pi, pf, b, p, TURNING)
            f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])
            return
        mag = abs(sx)
        _set_action(pi, pf, b, p, WALK_SLOW if mag < 0.5 else (WALK_MIDDLE if mag < 0.8 else WALK_FAST))
        f[P_VGROUND] = sx * c[C_WALK]
        return
    _set_action(pi, pf, b, p, STANDING)
    f[P_VGROUND] = _friction(f[P_VGROUND], c[C_FRIC])


@numba.njit(cache=True, _nrt=False)
def _locomotes(moves, ei, pi, b, p):
    """Whether the current move moves the character by libmelee's per-frame locomotion."""
    move = ei[b, p, EI_MOVE]
    return move == DATTACK or move == ROLL_F or move == ROLL_B


@numba.njit(cache=True, _nrt=False)
def _friction(v, fric):
    if v > 0:
        return max(0.0, v - fric)
    return min(0.0, v + fric)


@numba.njit(cache=True, _nrt=False, inline="always")
def _air(
    pi, pf, ei, b, p, c, moves, actionable, sx, sy, cx, cy, psy, tapped_jump, attack, special, c_push, shoulder_press
):
    f = pf[b, p, 0]
    move = ei[b, p, EI_MOVE]
    if move == AIRDODGE:
        af = f[P_AFRAME]
        if af <= AIRDODGE_DRIFT_END:
            f[P_VAIR] *= AIRDODGE_DECAY
            f[P_VY] *= AIRDODGE_DECAY
        return
    if actionable:
        if tapped_jump and pi[b, p, 0, P_JUMPS] > 0:
            pi[b, p, 0, P_JUMPS] -= 1
            f[P_VY] = c[C_DJ]
            f[P_VAIR] = sx * c[C_DJX]
            ei[b, p, EI_FASTFALL] = 0
            ei[b, p, EI_MOVE] = -1
            _set_action(pi, pf, b, p, JUMPING_ARIAL_FORWARD if sx * f[P_FACE] >= 0 else JUMPING_ARIAL_BACKWARD)
        elif shoulder_press and ei[b, p, EI_AIRDODGED] == 0:
            _start_move(pi, pf, ei, moves, b, p, AIRDODGE)
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
        elif special:
            _start_special(pi, pf, ei, moves, b, p, sx, sy)
        elif attack or c_push:
            dx, dy = (cx, cy) if c_push else (sx, sy)
            move = NAIR
            if abs(dx) > 0.3 or abs(dy) > 0.3:
                if abs(dy) > abs(dx):
                    move = UAIR if dy > 0 else DAIR
                else:
                    move = FAIR if dx * f[P_FACE] > 0 else BAIR
            _start_move(pi, pf, ei, moves, b, p, move)
        elif (
            ei[b, p, EI_MOVE] < 0
            and pi[b, p, 0, P_ACTION] != FALLING
            and f[P_VY] < 0
            and pi[b, p, 0, P_ACTION] != TUMBLING
        ):
            _set_action(pi, pf, b, p, FALLING)
    if f[P_HITSTUN] <= 0 and f[P_VY] <= 0 and sy < -STICK_TAP and psy > -STICK_DEAD:
        ei[b, p, EI_FASTFALL] = 1
    if f[P_HITSTUN] <= 0:
        if abs(sx) > 0.25:
            f[P_VAIR] = max(-c[C_AIRSPD], min(c[C_AIRSPD], f[P_VAIR] + sx * c[C_AIRMOB]))
        else:
            f[P_VAIR] = _friction(f[P_VAIR], c[C_AIRFRIC])


@numba.njit(cache=True, _nrt=False, inline="always")
def _move(pi, pf, pb, ei, b, p, c, moves, loco, st, ground_x, ledge_x, platforms, num_platforms):  # noqa: PLR0912
    f = pf[b, p, 0]
    kb_x, kb_y = f[P_KBX], f[P_KBY]
    speed = math.sqrt(kb_x * kb_x + kb_y * kb_y)
    if speed > 0:
        scale = max(0.0, speed - KB_DECAY) / speed
        f[P_KBX], f[P_KBY] = kb_x * scale, kb_y * scale
    if pb[b, p, 0, P_GROUND]:
        action = pi[b, p, 0, P_ACTION]
        move = ei[b, p, EI_MOVE]
        if _locomotes(moves, ei, pi, b, p):
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
                _set_action(pi, pf, b, p, FALLING)
            pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        f[P_LEDGE] = ground_x[st] - abs(f[P_X])
        return
    action = pi[b, p, 0, P_ACTION]
    takeoff = f[P_AFRAME] == 1.0 and JUMPING_FORWARD <= action <= JUMPING_ARIAL_BACKWARD
    airdodge_drift = ei[b, p, EI_MOVE] == AIRDODGE and f[P_AFRAME] <= AIRDODGE_DRIFT_END
    if ei[b, p, EI_FASTFALL]:
        f[P_VY] = -c[C_FF]
    elif not takeoff and not airdodge_drift:  # no gravity on a jump's first frame or in an air dodge
        f[P_VY] = max(f[P_VY] - c[C_GRAV], -c[C_TERM])
    y_prev = f[P_Y]
    f[P_X] += f[P_VAIR] + kb_x
    f[P_Y] += f[P_VY] + kb_y
    total_vy = f[P_VY] + kb_y
    if total_vy <= 0:
        h = _surface_under(f[P_X], y_prev, f[P_Y], st, ground_x, platforms, num_platforms, ei[b, p, EI_DROP] == 0)
        if not math.isnan(h):
            _land(pi, pf, pb, ei, b, p, c, moves, h)
    # Ledge grab: falling, not in hitstun, near the ledge from off stage.
    lx = ledge_x[st]
    if (
        not pb[b, p, 0, P_GROUND]
        and total_vy < 0
        and f[P_HITSTUN] <= 0
        and ei[b, p, EI_LEDGE_CD] == 0
        and (ei[b, p, EI_MOVE] < 0 or ei[b, p, EI_MOVE] == AIRDODGE)
        and pi[b, p, 0, P_ACTION] != SHIELD_BREAK_FLY
        and -25.0 <= f[P_Y] <= 0.0
        and lx - 4.0 <= abs(f[P_X]) <= lx + 10.0
    ):
        side = 1.0 if f[P_X] > 0 else -1.0
        f[P_X] = side * lx
        f[P_Y] = -5.0
        f[P_FACE] = -side
        f[P_VAIR] = f[P_VY] = f[P_KBX] = f[P_KBY] = 0.0
        ei[b, p, EI_FASTFALL] = 0
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_AIRDODGED] = 0
        ei[b, p, EI_INVULN] = max(ei[b, p, EI_INVULN], LEDGE_INVULN)
        pi[b, p, 0, P_JUMPS] = int(c[C_XJUMPS])
        _set_action(pi, pf, b, p, EDGE_CATCHING)
    f[P_LEDGE] = ground_x[st] - abs(f[P_X])


@numba.njit(cache=True, _nrt=False, inline="always")
def _land(pi, pf, pb, ei, b, p, c, moves, h):  # noqa: PLR0912
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
    if f[P_HITSTUN] > 0 or action == TUMBLING:
        tumble = ei[b, p, EI_TUMBLE] != 0
        f[P_HITSTUN] = 0.0
        ei[b, p, EI_TUMBLE] = 0
        ei[b, p, EI_MOVE] = -1
        if tumble and ei[b, p, EI_SHOULDER_AGO] < TECH_WINDOW:
            sx = (f[P_MAIN_X] - 0.5) * 2.0
            if abs(sx) > 0.5:
                f[P_FACE] = 1.0 if sx > 0 else -1.0
                _set_action(pi, pf, b, p, FORWARD_TECH)
                ei[b, p, EI_TIMER] = TECH_ROLL_FRAMES
            else:
                _set_action(pi, pf, b, p, NEUTRAL_TECH)
                ei[b, p, EI_TIMER] = TECH_FRAMES
            ei[b, p, EI_INVULN] = max(ei[b, p, EI_INVULN], TECH_INTANGIBLE)
            f[P_VGROUND] = 0.0
        elif tumble:
            _set_action(pi, pf, b, p, LYING)
            ei[b, p, EI_TIMER] = MISSED_TECH_FRAMES
        else:
            _set_action(pi, pf, b, p, LANDING)
            ei[b, p, EI_TIMER] = NORMAL_LANDING_LAG
    elif action == SHIELD_BREAK_FLY:
        _set_action(pi, pf, b, p, SHIELD_BREAK_TEETER)
        ei[b, p, EI_TIMER] = DIZZY_FRAMES
        f[P_VGROUND] = 0.0
    elif move == AIRDODGE or action == SPECIAL_FALL:
        # Wavedash: the air dodge's horizontal speed carries into the landing slide.
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_TIMER] = LANDING_SPECIAL_FRAMES
        _set_action(pi, pf, b, p, LANDING_SPECIAL)
    elif NAIR <= move <= DAIR:
        mv = moves[ch, move]
        lag = mv[M_LCANCEL] if ei[b, p, EI_LCANCEL] > 0 else mv[M_LAND]
        ei[b, p, EI_TIMER] = max(1, int(lag))
        ei[b, p, EI_MOVE] = -1
        _set_action(pi, pf, b, p, NAIR_LANDING + (move - NAIR))
    else:
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_TIMER] = NORMAL_LANDING_LAG
        _set_action(pi, pf, b, p, LANDING)


def empty_engine_arrays(batch: int, num_players: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((batch, num_players, NUM_EI), np.int32), np.zeros((batch, num_players, NUM_EF), np.float32)


@numba.njit(cache=True, _nrt=False)
def _full_duration(action, ch, moves):
    """Length of a timed action (landing lag and the like) as the engine plays it."""
    if action == LANDING:
        return NORMAL_LANDING_LAG
    if NAIR_LANDING <= action <= NAIR_LANDING + 4:
        return int(moves[ch, NAIR + action - NAIR_LANDING, M_LAND])
    if action == LANDING_SPECIAL:
        return LANDING_SPECIAL_FRAMES
    if action == LYING:
        return MISSED_TECH_FRAMES
    if action == NEUTRAL_TECH:
        return TECH_FRAMES
    if action == FORWARD_TECH or action == BACKWARD_TECH:
        return TECH_ROLL_FRAMES
    if action == SHIELD_RELEASE:
        return SHIELD_RELEASE_FRAMES
    if action == GRAB_BREAK or action == GRAB_ESCAPE:
        return GRAB_BREAK_FRAMES
    if action == SHIELD_BREAK_TEETER:
        return DIZZY_FRAMES
    if action <= DEAD_UP:
        return DEAD_FRAMES
    return 0


@numba.njit(cache=True, _nrt=False)
def derive_engine_state(pi, pf, pb, ei, ef, move_of_action, moves):
    """Fill the engine-private arrays from a loaded state (see ``MockBackend.load_state``)."""
    for b in range(pi.shape[0]):
        for p in range(pi.shape[1]):
            ei[b, p, :] = 0
            ch = pi[b, p, 0, P_CHAR]
            action = pi[b, p, 0, P_ACTION]
            af = pf[b, p, 0, P_AFRAME]
            move = move_of_action[ch, action] if 0 <= action < move_of_action.shape[1] else -1
            ei[b, p, EI_MOVE] = move
            if move >= 0 and af > moves[ch, move, M_END]:
                ei[b, p, EI_HIT] = 1
            duration = _full_duration(action, ch, moves)
            if duration > 0:
                ei[b, p, EI_TIMER] = max(1, duration - int(af) + 1)
            buttons = 0
            for k in range(8):
                if pb[b, p, 0, P_BUTTON0 + k]:
                    buttons |= 1 << k
            ei[b, p, EI_PREV_BUTTONS] = buttons
            ei[b, p, EI_INVULN] = 1 if pb[b, p, 0, P_INVULN] and move < SPOTDODGE else 0
            ei[b, p, EI_SHOULDER_AGO] = 255
            ei[b, p, EI_TUMBLE] = 1 if (action == TUMBLING or action == DAMAGE_FLY_NEUTRAL) else 0
            ei[b, p, EI_AIRDODGED] = 1 if (action == SPECIAL_FALL or move == AIRDODGE) else 0
            for k in range(4):
                ef[b, p, k] = (pf[b, p, 0, P_MAIN_X + k] - 0.5) * 2.0
            ef[b, p, EF_PREV_SHOULDER] = pf[b, p, 0, P_MAIN_X + 4]
