"""How a game is scored: the winner, each frame's rewards, and the game's statistics.

One compiled implementation, used by the mock engine (the winner), the fused vector kernel
(rewards and statistics inside its loop), the single and parallel envs on any backend (through
:func:`score_step`) and the Dolphin backend (the winner). The reward formula is documented in
:mod:`melee_envs.rewards`; ``weights`` is ``RewardConfig.weights`` (stock, damage, win).

Statistics per game and player, ``stats[b, p, :]``: damage taken and stocks lost so far.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from melee_envs.compiled import PACKAGE_DIR, source_salt
from melee_envs.state import PLAYER_FLOAT_COLUMNS, PLAYER_INT_COLUMNS

P_STOCKS = PLAYER_INT_COLUMNS.index("stocks")
P_PCT = PLAYER_FLOAT_COLUMNS.index("percent")
#: Columns of ``stats[b, p, :]``.
DAMAGE_TAKEN, STOCKS_LOST = 0, 1
NUM_STATS = 2
#: The files the compiled code here depends on (see :mod:`melee_envs.compiled`).
SOURCES = (PACKAGE_DIR / "scoring.py", PACKAGE_DIR / "state.py")


@numba.njit(_nrt=False, inline="always")
def winner_of(pi, pf, b):
    """The player of game ``b`` with most stocks, then least percent; -1 for a tie."""
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
    return -1 if tie else best


@numba.njit(nogil=True, _nrt=False, inline="always")
def lost_and_damage(prev_stocks, stocks, prev_pct, pct):
    """One player's stocks lost and damage taken between two frames (a lost stock resets percent
    to 0, which is not healing)."""
    return max(prev_stocks - stocks, 0), max(pct - prev_pct, 0.0)


@numba.njit(nogil=True, _nrt=False, inline="always")
def change_reward(lost0, lost1, dmg0, dmg1, weights):
    """The stock and damage terms ``(r0, r1)`` from each player's stocks lost and damage taken."""
    r0 = weights[0] * (lost1 - lost0) + weights[1] * (dmg1 - dmg0)
    r1 = weights[0] * (lost0 - lost1) + weights[1] * (dmg0 - dmg1)
    return r0, r1


@numba.njit(nogil=True, _nrt=False, inline="always")
def score_frame(pi, pf, b, prev_stocks, prev_pct, stats, weights):
    """Game ``b``'s stock and damage rewards ``(r0, r1)`` for the frame just stepped; updates
    the previous stocks and percent and the game's statistics."""
    s0, s1 = pi[b, 0, 0, P_STOCKS], pi[b, 1, 0, P_STOCKS]
    c0, c1 = pf[b, 0, 0, P_PCT], pf[b, 1, 0, P_PCT]
    lost0, dmg0 = lost_and_damage(prev_stocks[b, 0], s0, prev_pct[b, 0], c0)
    lost1, dmg1 = lost_and_damage(prev_stocks[b, 1], s1, prev_pct[b, 1], c1)
    prev_stocks[b, 0], prev_stocks[b, 1] = s0, s1
    prev_pct[b, 0], prev_pct[b, 1] = c0, c1
    stats[b, 0, DAMAGE_TAKEN] += dmg0
    stats[b, 1, DAMAGE_TAKEN] += dmg1
    stats[b, 0, STOCKS_LOST] += lost0
    stats[b, 1, STOCKS_LOST] += lost1
    return change_reward(lost0, lost1, dmg0, dmg1, weights)


@numba.njit(nogil=True, _nrt=False, inline="always")
def plus_win(r0, r1, winner, weights):
    """``(r0, r1)`` with the win term of a game that ended with ``winner`` (-1: a draw, none)."""
    if winner < 0:
        return r0, r1
    sign = 1.0 if winner == 0 else -1.0
    return r0 + weights[2] * sign, r1 - weights[2] * sign


@numba.njit(nogil=True, _nrt=False, inline="always")
def start_scoring(pi, pf, b, prev_stocks, prev_pct, stats):
    """Start game ``b``'s scoring from its current state (after a reset)."""
    for p in range(2):
        prev_stocks[b, p] = pi[b, p, 0, P_STOCKS]
        prev_pct[b, p] = pf[b, p, 0, P_PCT]
        for k in range(NUM_STATS):
            stats[b, p, k] = 0.0


def _entries(salt: int):  # noqa: ANN202
    @numba.njit(cache=True, nogil=True, _nrt=False)
    def score_step(pi, pf, done, winner, prev_stocks, prev_pct, stats, weights, reward):
        """Game 0's rewards for the frame just stepped into ``reward`` (the envs' Python path)."""
        if salt == -1:  # never true: ties this compiled code to the sources
            return
        r0, r1 = score_frame(pi, pf, 0, prev_stocks, prev_pct, stats, weights)
        if done[0]:
            r0, r1 = plus_win(r0, r1, winner[0], weights)
        reward[0] = r0
        reward[1] = r1

    @numba.njit(cache=True, _nrt=False)
    def decide_winner(pi, pf, b):
        """:func:`winner_of` for Python callers (the Dolphin backend)."""
        if salt == -1:
            return -1
        return winner_of(pi, pf, b)

    @numba.njit(cache=True, _nrt=False)
    def score_changes(prev_stocks, prev_pct, stocks, pct, done, winner, weights, out):
        """Rewards ``out[k, :]`` for transitions ``k`` given as flat ``(K, 2)`` arrays (the
        pure functions of :mod:`melee_envs.rewards`)."""
        if salt == -1:
            return
        for k in range(out.shape[0]):
            lost0, dmg0 = lost_and_damage(prev_stocks[k, 0], stocks[k, 0], prev_pct[k, 0], pct[k, 0])
            lost1, dmg1 = lost_and_damage(prev_stocks[k, 1], stocks[k, 1], prev_pct[k, 1], pct[k, 1])
            r0, r1 = change_reward(lost0, lost1, dmg0, dmg1, weights)
            if done[k]:
                r0, r1 = plus_win(r0, r1, winner[k], weights)
            out[k, 0] = r0
            out[k, 1] = r1

    return score_step, decide_winner, score_changes


score_step, decide_winner, score_changes = _entries(source_salt(SOURCES))


def episode_info(
    winner: np.ndarray, frames: np.ndarray, stocks: np.ndarray, stats: np.ndarray, ego: np.ndarray
) -> dict[str, Any]:
    """The ``info["melee"]`` statistics of ended games, one row per player seen from its side.

    Args:
        winner: ``(R,)`` each row's game's winner (-1: draw).
        frames: ``(R,)`` frames each game lasted.
        stocks: ``(R, 2)`` each game's final stocks by player.
        stats: ``(R, 2, NUM_STATS)`` each game's statistics by player.
        ego: ``(R,)`` the player each row is (0 or 1).
    """
    rows = np.arange(len(ego))
    other = 1 - ego
    return {
        "won": winner == ego,
        "draw": winner < 0,
        "frames": frames.astype(np.int64),
        "stocks": stocks[rows, ego].astype(np.int64),
        "opponent_stocks": stocks[rows, other].astype(np.int64),
        "stocks_lost": stats[rows, ego, STOCKS_LOST].astype(np.int64),
        "stocks_taken": stats[rows, other, STOCKS_LOST].astype(np.int64),
        "damage_dealt": stats[rows, other, DAMAGE_TAKEN].astype(np.float64),
        "damage_taken": stats[rows, ego, DAMAGE_TAKEN].astype(np.float64),
    }
