"""Rewards: pure functions of (previous, next) state, per player.

The default is the common Melee RL shaping: zero-sum stocks plus 0.01 x damage, i.e. for player
``p`` against opponent ``q``::

    r_p = stock_weight * (stocks_lost_q - stocks_lost_p) + damage_weight * (damage_q - damage_p)
          + win_weight * (+1 if p won, -1 if p lost, at the game's end)

``damage`` counts only increases of percent (a lost stock resets percent to 0, which is not
healing). With ``stock_weight=0, damage_weight=0, win_weight=1`` the reward is sparse win/loss.

The formula is written once, compiled, in :mod:`melee_envs.scoring`; the envs, the fused vector
kernel and the functions here all call it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from melee_envs.scoring import score_changes
from melee_envs.state import GameState


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the reward terms (see the module docstring)."""

    stock_weight: float = 1.0
    damage_weight: float = 0.01
    win_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("stock_weight", "damage_weight", "win_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"RewardConfig.{name} must be a finite number; got {value!r}")

    @property
    def weights(self) -> np.ndarray:
        """``(stock, damage, win)`` as the compiled scoring takes them (:mod:`melee_envs.scoring`)."""
        return np.array([self.stock_weight, self.damage_weight, self.win_weight], np.float32)

    @classmethod
    def sparse(cls) -> RewardConfig:
        """+1 for a win, -1 for a loss, nothing else."""
        return cls(stock_weight=0.0, damage_weight=0.0, win_weight=1.0)


def shaped(
    prev_stocks: np.ndarray,
    prev_percent: np.ndarray,
    next_stocks: np.ndarray,
    next_percent: np.ndarray,
    config: RewardConfig,
    done: np.ndarray | None = None,
    winner: np.ndarray | None = None,
) -> np.ndarray:
    """Per-player rewards ``(..., 2)`` from stocks and percent arrays of shape ``(..., 2)``.

    The same compiled code as the envs' (:mod:`melee_envs.scoring`); the win term is added
    where ``done`` (with ``winner`` the winning player, -1 for a draw).
    """
    arrays = np.broadcast_arrays(
        np.asarray(prev_stocks, np.int64), np.asarray(prev_percent, np.float64),
        np.asarray(next_stocks, np.int64), np.asarray(next_percent, np.float64),
    )  # fmt: skip
    shape = arrays[0].shape
    if shape[-1:] != (2,):
        raise ValueError(f"stocks and percent must have a last axis of 2 players; got shape {shape}")
    flat = [np.ascontiguousarray(a.reshape(-1, 2)) for a in arrays]
    batch = shape[:-1]
    ended = np.zeros(batch, bool) if done is None or winner is None else np.broadcast_to(done, batch)
    who = np.full(batch, -1, np.int64) if winner is None else np.broadcast_to(winner, batch)
    out = np.empty((flat[0].shape[0], 2), np.float64)
    score_changes(
        *flat, np.ascontiguousarray(ended, bool).reshape(-1), np.ascontiguousarray(who, np.int64).reshape(-1),
        config.weights.astype(np.float64), out,
    )  # fmt: skip
    return out.reshape(shape).astype(np.float32)


def win_loss(done: np.ndarray, winner: np.ndarray, num_players: int = 2) -> np.ndarray:
    """``(..., 2)``: +1 for the winner and -1 for the loser of games that just ended, else 0."""
    if num_players != 2:
        raise ValueError(f"rewards are defined for 1v1 games; got num_players={num_players}")
    batch = np.broadcast(np.asarray(done), np.asarray(winner)).shape
    zeros = np.zeros(batch + (2,))
    return shaped(zeros, zeros, zeros, zeros, RewardConfig.sparse(), done, winner)


def reward(
    prev: GameState,
    next_: GameState,
    config: RewardConfig = RewardConfig(),
    done: np.ndarray | None = None,
    winner: np.ndarray | None = None,
) -> np.ndarray:
    """Per-player rewards ``S + (2,)`` for the transition ``prev -> next_``."""
    return shaped(
        prev.players.stocks, prev.players.percent, next_.players.stocks, next_.players.percent, config, done, winner
    )
