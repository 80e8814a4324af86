"""One frame of a game (both players, then hits, then blast zones and the winner) and of a batch."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _hit_lands, _land_hit
from melee_envs.backends.mock.engine.lifecycle import _check_blast, _decide_winner
from melee_envs.backends.mock.engine.player import _step_player
from melee_envs.backends.mock.engine.schema import EI_MOVE, GRAB, P_STOCKS


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
    # Every hit is judged on the same state, then applied: hits on the same frame trade (no port
    # wins them), a hit beats a grab, and a grab against a grab goes to the lower port.
    lands = 0  # bit p * num_players + q: p's move reaches q
    struck = 0  # bit q: a hit (not a grab) reaches q
    moves = 0  # byte p: p's move, kept before a landed hit clears it
    for p in range(num_players):
        move = G.ei[b, p, EI_MOVE]
        moves |= (move & 0xFF) << (8 * p)
        for q in range(num_players):
            if p != q and _hit_lands(G, b, p, q, T):
                lands |= 1 << (p * num_players + q)
                if move != GRAB:
                    struck |= 1 << q
    for p in range(num_players):
        move = (moves >> (8 * p)) & 0xFF
        for q in range(num_players):
            if lands >> (p * num_players + q) & 1 and not (move == GRAB and struck >> p & 1):
                _land_hit(G, b, p, q, move, T)
    alive = 0
    for p in range(num_players):
        _check_blast(G, b, p, T.blast)
        if G.pi[b, p, 0, P_STOCKS] > 0:
            alive += 1
    if alive <= 1 or G.frame[b] >= time_limit:
        G.done[b] = True
        _decide_winner(G, b)
