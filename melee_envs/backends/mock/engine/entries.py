"""The engine's functions that Python calls: each compiled once and cached under the source salt."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.frame import step_game
from melee_envs.backends.mock.engine.hitlag import _derive_hits
from melee_envs.backends.mock.engine.lifecycle import derive_engine_state as _derive, reset_game
from melee_envs.backends.mock.engine.sources import SALT
from melee_envs.compiled import readable_cache


def _entries(salt: int):  # noqa: ANN202
    @numba.njit(cache=True, nogil=True, _nrt=False)
    def step_games(G, act, stick_centres, shoulder_levels, T, time_limit):
        """Advance every game of ``G`` that is not done by one frame, with actions ``act[b, p, :]``."""
        if salt == -1:  # never true: ties this compiled code to the sources
            return
        for b in range(G.stage.shape[0]):
            step_game(G, b, act[b], stick_centres, shoulder_levels, T, time_limit)

    @numba.njit(cache=True, _nrt=False)
    def reset_games(G, mask, chars, stocks, T, start, keys):
        """Reset the games where ``mask`` is set (game ``b`` draws its start from ``keys[b]``)."""
        if salt == -1:
            return
        for b in range(G.stage.shape[0]):
            if mask[b]:
                reset_game(G, b, chars[b], stocks, T, start, keys[b])

    @numba.njit(cache=True, _nrt=False)
    def derive_engine_state(G, move_of_action, T):
        """Fill the engine-private arrays from a loaded state (see ``MockBackend.load_state``)."""
        if salt == -1:
            return
        _derive(G, move_of_action, T.moves)
        _derive_hits(G, T)

    return step_games, reset_games, derive_engine_state


step_games, reset_games, derive_engine_state = readable_cache(*_entries(SALT))
