"""One frame of a game (both players, projectiles fired and flying, then hits, then blast zones
and the winner)."""

from __future__ import annotations

import numba

from melee_envs.backends.mock.engine.combat import _hit_lands, _land_hit
from melee_envs.backends.mock.engine.counters import _counter, _countering
from melee_envs.backends.mock.engine.lifecycle import _check_blast, _decide_winner
from melee_envs.backends.mock.engine.player import _step_player
from melee_envs.backends.mock.engine.projectiles import _fire, _fly, _projectile_hits
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
    # Projectiles: flown and judged only while one is live or has just been fired.
    live = False
    for k in range(G.jb.shape[1]):
        if G.jb[b, k]:
            live = True
            break
    if live:
        _fly(G, b, T)
    for p in range(num_players):
        live |= _fire(G, b, p, T)
    # Every hit is judged on the same state, then applied: hits on the same frame trade (no port
    # wins them), a hit beats a grab, and a grab against a grab goes to the lower port.
    # Each attacker hits one opponent a frame (the engine plays 1v1): its target, hitbox and move
    # are kept in 16 bits each before any hit is applied (a landed hit clears the defender's move).
    hits = 0
    struck = 0  # bit q: a hit (not a grab) reaches q
    for p in range(num_players):
        move = G.ei[b, p, EI_MOVE]
        for q in range(num_players):
            hit = _hit_lands(G, b, p, q, T) if p != q else 0
            if hit:
                hits |= (hit | (q << 9) | ((move & 0x3F) << 11)) << (16 * p)
                if move != GRAB:
                    struck |= 1 << q
                break
    for p in range(num_players):
        code = (hits >> (16 * p)) & 0xFFFF
        hit, q, move = code & 0x1FF, (code >> 9) & 0x3, (code >> 11) & 0x3F
        if hit and not (move == GRAB and struck >> p & 1):
            if move != GRAB and _countering(G, T, b, q):
                _counter(G, b, q, p, move, hit, T)
            else:
                _land_hit(G, b, p, q, move, hit, T)
    if live:
        _projectile_hits(G, b, T)
    alive = 0
    for p in range(num_players):
        _check_blast(G, b, p, T.blast)
        if G.pi[b, p, 0, P_STOCKS] > 0:
            alive += 1
    if alive <= 1 or G.frame[b] >= time_limit:
        G.done[b] = True
        _decide_winner(G, b)
