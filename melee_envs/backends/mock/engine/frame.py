"""One frame of a game (both players, then hits, then blast zones and the winner) and of a batch."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _try_hit
from melee_envs.backends.mock.engine.lifecycle import _check_blast, _decide_winner
from melee_envs.backends.mock.engine.player import _step_player
from melee_envs.backends.mock.engine.schema import P_STOCKS


@numba.njit(nogil=True, _nrt=False, inline="always")
def step_game(G, b, act, stick_centres, shoulder_levels, T, time_limit):
    """Advance game ``b`` of ``G`` (:data:`.schema.Games`) by one frame with actions
    ``act[p, ACTION_SIZE]`` (no-op when it is done)."""
    if G.done[b]:
        return
    num_players = G.pi.shape[1]
    G.frame[b] += 1
    for p in range(num_players):
        _step_player(G, b, p, act[p], stick_centres, shoulder_levels, T)
    for p in range(num_players):
        for q in range(num_players):
            if p != q:
                _try_hit(G, b, p, q, T)
    alive = 0
    for p in range(num_players):
        _check_blast(G, b, p, T.blast)
        if G.pi[b, p, 0, P_STOCKS] > 0:
            alive += 1
    if alive <= 1 or G.frame[b] >= time_limit:
        G.done[b] = True
        _decide_winner(G, b)
