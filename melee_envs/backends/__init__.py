"""Backends produce ``GameState`` batches behind one protocol: ``reset``, ``step``, ``close``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from melee_envs.state import GameState


@runtime_checkable
class Backend(Protocol):
    """A batch of games stepped together.

    ``step`` takes controller actions ``(num_games, num_players, ACTION_SIZE)`` (the ``MultiDiscrete``
    encoding of :class:`~melee_envs.controller.ControllerCodec`) and returns the new state.
    ``done`` flags games that ended on this step (stocks or timer) and ``winner`` names the
    winning player index, -1 for a draw.
    """

    num_games: int
    num_players: int

    def reset(self, seed: int | None = None) -> GameState: ...

    def step(self, actions: np.ndarray) -> GameState: ...

    def close(self) -> None: ...
