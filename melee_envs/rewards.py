"""Rewards: pure functions of (previous, next) state, per player.

The default is the common Melee RL shaping: zero-sum stocks plus 0.01 x damage, i.e. for player
``p`` against opponent ``q``::

    r_p = stock_weight * (stocks_lost_q - stocks_lost_p) + damage_weight * (damage_q - damage_p)
          + win_weight * (+1 if p won, -1 if p lost, at the game's end)

``damage`` counts only increases of percent (a lost stock resets percent to 0, which is not
healing). With ``stock_weight=0, damage_weight=0, win_weight=1`` the reward is sparse win/loss.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

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

    @classmethod
    def sparse(cls) -> RewardConfig:
        """+1 for a win, -1 for a loss, nothing else."""
        return cls(stock_weight=0.0, damage_weight=0.0, win_weight=1.0)


def stocks_lost(prev_stocks: np.ndarray, next_stocks: np.ndarray) -> np.ndarray:
    return np.maximum(prev_stocks - next_stocks, 0).astype(np.float32)


def damage_taken(prev_percent: np.ndarray, next_percent: np.ndarray) -> np.ndarray:
    return np.maximum(next_percent - prev_percent, 0.0).astype(np.float32)


def win_loss(done: np.ndarray, winner: np.ndarray, num_players: int = 2) -> np.ndarray:
    """``(..., P)``: +1 for the winner and -1 for the others of games that just ended, else 0."""
    players = np.arange(num_players)
    won = (winner[..., None] == players) & done[..., None]
    lost = (winner[..., None] != players) & (winner[..., None] >= 0) & done[..., None]
    return won.astype(np.float32) - lost.astype(np.float32)


def shaped(
    prev_stocks: np.ndarray,
    prev_percent: np.ndarray,
    next_stocks: np.ndarray,
    next_percent: np.ndarray,
    config: RewardConfig,
    done: np.ndarray | None = None,
    winner: np.ndarray | None = None,
) -> np.ndarray:
    """Per-player rewards ``(..., 2)`` from stocks and percent arrays of shape ``(..., 2)``."""
    return from_changes(
        stocks_lost(prev_stocks, next_stocks), damage_taken(prev_percent, next_percent), config, done, winner
    )


def from_changes(
    lost: np.ndarray,
    damage: np.ndarray,
    config: RewardConfig,
    done: np.ndarray | None = None,
    winner: np.ndarray | None = None,
) -> np.ndarray:
    """Per-player rewards ``(..., 2)`` from each player's stocks lost and damage taken."""
    out = config.stock_weight * (lost[..., ::-1] - lost) + config.damage_weight * (damage[..., ::-1] - damage)
    if config.win_weight and done is not None and winner is not None:
        out = out + config.win_weight * win_loss(done, winner, lost.shape[-1])
    return out.astype(np.float32)


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
