"""Games and stocks: starting positions, blast zones and respawns, the winner, and deriving the
engine's private counters from a loaded state."""

from __future__ import annotations

import numba
import numpy as np

from melee_envs.backends.mock.engine.rules import (
    DEAD_FRAMES,
    DIZZY_FRAMES,
    GRAB_BREAK_FRAMES,
    HALO_DESCENT_FRAMES,
    HALO_DESCENT_RISE,
    LANDING_SPECIAL_FRAMES,
    MISSED_TECH_FRAMES,
    NORMAL_LANDING_LAG,
    RESPAWN_INVULN,
    SHIELD_MAX,
    SHIELD_RELEASE_FRAMES,
    SHINE_END_FRAMES,
    TECH_FRAMES,
    TECH_ROLL_FRAMES,
)
from melee_envs.backends.mock.engine.schema import (
    AIRDODGE,
    BACKWARD_TECH,
    C_XJUMPS,
    DAMAGE_FLY_HIGH,
    DAMAGE_FLY_ROLL,
    DEAD_DOWN,
    DEAD_LEFT,
    DEAD_RIGHT,
    DEAD_UP,
    DOWNB,
    EF_DIR_X,
    EF_DIR_Y,
    EF_PREV_SHOULDER,
    EI_AIRDODGED,
    EI_DOWN_AGO,
    EI_HIT,
    EI_INVULN,
    EI_MOVE,
    EI_PREV_BUTTONS,
    EI_QUEUE,
    EI_SHOULDER_AGO,
    EI_STALE_ON,
    EI_TIMER,
    EI_TUMBLE,
    EI_UPB,
    FORWARD_TECH,
    GRAB_BREAK,
    GRAB_ESCAPE,
    LANDING,
    LANDING_SPECIAL,
    LASER_AIR,
    LASER_GROUND,
    LYING,
    M_ACTION,
    M_END,
    M_LAND,
    M_TOTAL,
    NAIR,
    NAIR_LANDING,
    NEUTRAL_TECH,
    NEUTRALB,
    NUM_EF,
    NUM_EI,
    NUM_XS,
    ON_HALO_DESCENT,
    ON_HALO_WAIT,
    P_ACTION,
    P_AFRAME,
    P_BUTTON0,
    P_CHAR,
    P_EXISTS,
    P_FACE,
    P_GROUND,
    P_INVULN,
    P_JUMPS,
    P_MAIN_X,
    P_PCT,
    P_SHIELD,
    P_STOCKS,
    P_VAIR,
    P_VY,
    P_X,
    P_Y,
    SHIELD_BREAK_TEETER,
    SHIELD_RELEASE,
    SHINE_AIR,
    SHINE_GROUND,
    SPECIAL_FALL,
    SPOTDODGE,
    STALE_QUEUE,
    STANDING,
    TUMBLING,
    UPB,
    UPB_START,
    UPB_TRAVEL,
)
from melee_envs.backends.mock.engine.specials import _laser_move_frame
from melee_envs.backends.mock.engine.states import _stop_motion, _track_ledge
from melee_envs.scoring import winner_of


@numba.njit(_nrt=False, inline="always")
def _respawn(G, b, p, T):
    """Back on the stage after a KO: descending onto the halo (``ON_HALO_DESCENT``)."""
    pi, pf, pb, ei = G.pi, G.pf, G.pb, G.ei
    st = G.stage[b]
    pi[b, p, 0, P_ACTION] = ON_HALO_DESCENT
    pf[b, p, 0, P_AFRAME] = 1.0
    pf[b, p, 0, P_X] = -20.0 if p == 0 else 20.0
    pf[b, p, 0, P_Y] = T.halo_y[st] + HALO_DESCENT_RISE * (1.0 - 1.0 / HALO_DESCENT_FRAMES)
    pf[b, p, 0, P_PCT] = 0.0
    pf[b, p, 0, P_FACE] = 1.0 if p == 0 else -1.0
    pf[b, p, 0, P_SHIELD] = SHIELD_MAX
    _stop_motion(pf, b, p)
    pb[b, p, 0, P_GROUND] = False
    ei[b, p, EI_INVULN] = RESPAWN_INVULN + HALO_DESCENT_FRAMES
    ei[b, p, EI_MOVE] = -1
    ei[b, p, EI_TUMBLE] = 0
    ei[b, p, EI_AIRDODGED] = 0


@numba.njit(_nrt=False, inline="always")
def mix64(seed, a, b):
    """SplitMix64 of ``(seed, a, b)``: a reproducible 64-bit draw that needs no RNG state, so a
    compiled loop can draw per game and per episode without a Python call."""
    x = np.uint64(seed) + np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(_nrt=False, inline="always")
def _uniform(key, k):
    """The ``k``-th uniform number in [0, 1) of a game's reset ``key``."""
    return float(mix64(key, k, 1) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(_nrt=False)
def reset_game(G, b, chars, stocks, T, start, key):
    """Put game ``b`` at its starting position (characters ``chars[p]``).

    ``start = (spread, max_percent, stale)``: each spawn x moves by up to ``spread`` x the stage's
    half-width either way and each player starts with a percent drawn from [0, max_percent],
    from the 64-bit ``key``; ``(0, 0, .)`` is Melee's fixed start (then ``key`` is unused).
    ``stale > 0`` turns stale-move negation on.
    """
    pi, pf, pb, ei, ef = G.pi, G.pf, G.pb, G.ei, G.ef
    char_table, ground_x = T.chars, T.ground_x
    G.frame[b] = 0
    G.done[b] = False
    G.winner[b] = -1
    for k in range(G.jb.shape[1]):
        G.jb[b, k] = False
    st = G.stage[b]
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
        _track_ledge(pf[b, p, 0], ground_x, st)
        for c in range(P_MAIN_X, P_MAIN_X + 4):
            pf[b, p, 0, c] = 0.5
        pb[b, p, 0, P_EXISTS] = True
        pb[b, p, 0, P_GROUND] = True
        ei[b, p, EI_MOVE] = -1
        ei[b, p, EI_SHOULDER_AGO] = ei[b, p, EI_DOWN_AGO] = 255
        ei[b, p, EI_STALE_ON] = 1 if start[2] > 0.0 else 0
    if start[0] > 0.0 and pi.shape[1] == 2:  # spawns may have crossed: face each other
        left = 0 if pf[b, 0, 0, P_X] <= pf[b, 1, 0, P_X] else 1
        pf[b, left, 0, P_FACE] = 1.0
        pf[b, 1 - left, 0, P_FACE] = -1.0


@numba.njit(_nrt=False, inline="always")
def _decide_winner(G, b):
    G.winner[b] = winner_of(G.pi, G.pf, b)


@numba.njit(_nrt=False, inline="always")
def _check_blast(G, b, p, blast):
    pi, pf, ei = G.pi, G.pf, G.ei
    st = G.stage[b]
    a = pi[b, p, 0, P_ACTION]
    if a <= DEAD_UP or a == ON_HALO_DESCENT or a == ON_HALO_WAIT or pi[b, p, 0, P_STOCKS] <= 0:
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
        for k in range(STALE_QUEUE):  # a KO freshens every move
            ei[b, p, EI_QUEUE + k] = 0
        _stop_motion(pf, b, p)


def empty_engine_arrays(batch: int, num_players: int, num_slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine-private arrays ``ei``, ``ef`` (per player) and ``xs`` (per projectile slot)."""
    return (
        np.zeros((batch, num_players, NUM_EI), np.int32),
        np.zeros((batch, num_players, NUM_EF), np.float32),
        np.zeros((batch, num_slots, NUM_XS), np.float32),
    )


@numba.njit(_nrt=False)
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


@numba.njit(_nrt=False, inline="always")
def derive_engine_state(G, move_of_action, moves):
    """Fill the engine-private arrays from a loaded state (see ``MockBackend.load_state``)."""
    pi, pf, pb, ei, ef = G.pi, G.pf, G.pb, G.ei, G.ef
    for b in range(pi.shape[0]):
        for p in range(pi.shape[1]):
            ei[b, p, :] = 0
            ch = pi[b, p, 0, P_CHAR]
            action = pi[b, p, 0, P_ACTION]
            af = pf[b, p, 0, P_AFRAME]
            move = move_of_action[ch, action] if 0 <= action < move_of_action.shape[1] else -1
            ei[b, p, EI_MOVE] = move
            if move == NEUTRALB and LASER_GROUND <= action <= LASER_AIR + 2:  # a phase of the Blaster
                af = _laser_move_frame(action, af, moves[ch, NEUTRALB, M_TOTAL])
                pf[b, p, 0, P_AFRAME] = af
            if move >= 0 and af > moves[ch, move, M_END]:
                ei[b, p, EI_HIT] = 1
            duration = _full_duration(action, ch, moves)
            if duration > 0:
                ei[b, p, EI_TIMER] = max(1, duration - int(af) + 1)
            if move == DOWNB and (action == SHINE_GROUND + 3 or action == SHINE_AIR + 3):
                ei[b, p, EI_TIMER] = max(1, SHINE_END_FRAMES - int(af) + 1)
            buttons = 0
            for k in range(8):
                if pb[b, p, 0, P_BUTTON0 + k]:
                    buttons |= 1 << k
            ei[b, p, EI_PREV_BUTTONS] = buttons
            ei[b, p, EI_INVULN] = 1 if pb[b, p, 0, P_INVULN] and move < SPOTDODGE else 0
            ei[b, p, EI_SHOULDER_AGO] = ei[b, p, EI_DOWN_AGO] = 255
            ei[b, p, EI_TUMBLE] = 1 if (action == TUMBLING or DAMAGE_FLY_HIGH <= action <= DAMAGE_FLY_ROLL) else 0
            ei[b, p, EI_AIRDODGED] = 1 if (action == SPECIAL_FALL or move == AIRDODGE) else 0
            if move == UPB:  # travelling when in the travel action (the move row's), else starting
                ei[b, p, EI_UPB] = UPB_TRAVEL if action == int(moves[ch, UPB, M_ACTION]) else UPB_START
                vx, vy = pf[b, p, 0, P_VAIR], pf[b, p, 0, P_VY]
                speed = (vx * vx + vy * vy) ** 0.5
                ef[b, p, EF_DIR_X], ef[b, p, EF_DIR_Y] = (vx / speed, vy / speed) if speed > 0 else (0.0, 1.0)
            for k in range(4):
                ef[b, p, k] = (pf[b, p, 0, P_MAIN_X + k] - 0.5) * 2.0
            ef[b, p, EF_PREV_SHOULDER] = pf[b, p, 0, P_MAIN_X + 4]
