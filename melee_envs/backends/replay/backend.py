"""``ReplayBackend``: real games played back through the backend protocol.

A replay cannot be steered, so ``step`` ignores what the controllers ask and moves every game to
its next recorded frame; :attr:`ReplayBackend.recorded_actions` gives the inputs the players
really made (in the codec's action encoding), which is what a test or a behavioural-cloning
evaluation compares an agent's choices with. Each game is one replay (two ports of it); a game is
``done`` on its last frame and ``winner`` then says who the replay says won (player index, -1 for
none). The state is the same ``GameState`` type and units the mock engine produces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from melee_envs.backends.replay.reader import Replay, read_replay
from melee_envs.controller import ControllerCodec
from melee_envs.state import GameState, PackedState


class ReplayBackend:
    """Plays ``replays`` (paths or :class:`Replay` objects), one game each, frame by frame.

    Args:
        replays: one or more replays; 1v1 games, or any game with ``ports`` given.
        ports: the two ports to expose as players 0 and 1 (default: the two of a 1v1).
        codec: how :attr:`recorded_actions` encodes the recorded inputs.

    Raises:
        ReplayError: a path that is not a readable replay.
        ValueError: a game that does not have the two players asked for.
    """

    num_players = 2

    def __init__(
        self,
        replays: str | Path | Replay | Sequence[str | Path | Replay],
        ports: tuple[int, int] | None = None,
        codec: ControllerCodec | None = None,
    ) -> None:
        items = [replays] if isinstance(replays, (str, Path, Replay)) else list(replays)
        if not items:
            raise ValueError("ReplayBackend needs at least one replay")
        self.replays = [r if isinstance(r, Replay) else read_replay(r) for r in items]
        self._frames = [r.two_players(ports) for r in self.replays]
        self.codec = codec or ControllerCodec()
        self.num_games = len(self.replays)
        self.lengths = np.array([len(r) for r in self.replays], np.int64)
        self.packed = PackedState((self.num_games,), self.num_players)
        self.cursor = np.zeros(self.num_games, np.int64)
        self.done = np.zeros(self.num_games, np.bool_)
        self.winner = np.full(self.num_games, -1, np.int32)
        self._winners = np.array([self._winner_index(r, ports) for r in self.replays], np.int32)

    @staticmethod
    def _winner_index(replay: Replay, ports: tuple[int, int] | None) -> int:
        chosen = ports or replay.meta.ports[:2]
        return chosen.index(replay.meta.winner_port) if replay.meta.winner_port in chosen else -1

    @property
    def state(self) -> GameState:
        return self.packed.view()

    @property
    def recorded_actions(self) -> np.ndarray:
        """The inputs held on the current frame, ``(num_games, 2, ACTION_SIZE)`` codec actions."""
        return self.codec.encode(self.state.players.controller)

    def _load(self, games: np.ndarray) -> None:
        view = self.packed.view()
        for g in np.flatnonzero(games):
            frame = self._frames[g][int(self.cursor[g])]
            for dst, src in zip(_leaves(view), _leaves(frame), strict=True):
                dst[g] = src
        last = self.cursor >= self.lengths - 1
        newly = games & last
        self.done |= newly
        self.winner[newly] = self._winners[newly]

    def reset(self, seed: int | None = None) -> GameState:
        """Every game back to its first frame (``seed`` is accepted and unused: replays are fixed)."""
        self.cursor[:] = 0
        self.done[:] = False
        self.winner[:] = -1
        self._load(np.ones(self.num_games, np.bool_))
        return self.state

    def reset_done(self) -> np.ndarray:
        """Restart the games that reached their last frame; returns the mask restarted."""
        mask = self.done.copy()
        self.cursor[mask] = 0
        self.done[mask] = False
        self.winner[mask] = -1
        self._load(mask)
        return mask

    def step(self, actions: np.ndarray | None = None) -> GameState:
        """Advance every unfinished game one recorded frame. ``actions`` are checked, not used."""
        if actions is not None:
            actions = self.codec.check(actions, (self.num_games, self.num_players))
        moving = ~self.done
        self.cursor[moving] += 1
        self._load(moving)
        return self.state

    def close(self) -> None:
        pass


def _leaves(tree: object) -> list[np.ndarray]:
    if isinstance(tree, tuple):
        return [leaf for t in tree for leaf in _leaves(t)]
    return [tree]  # type: ignore[list-item]
