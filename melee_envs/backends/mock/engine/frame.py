"""One frame of a game (both players, then hits, then blast zones and the winner) and of a batch."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _try_hit
from melee_envs.backends.mock.engine.lifecycle import _check_blast, _decide_winner
from melee_envs.backends.mock.engine.player import _step_player
from melee_envs.backends.mock.engine.schema import P_STOCKS


@numba.njit(nogil=True, _nrt=False, inline="always")
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
        _check_blast(pi, pf, pb, ei, b, p, st, T.blast)
        if pi[b, p, 0, P_STOCKS] > 0:
            alive += 1
    if alive <= 1 or frame[b] >= time_limit:
        done[b] = True
        _decide_winner(pi, pf, b, winner)
