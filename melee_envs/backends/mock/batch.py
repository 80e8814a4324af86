"""The vector env's fused kernel: step, reward, auto-reset and observation for every game at once.

One call of :func:`step_serial` advances every game ``frame_skip`` frames with the actions given,
adds up each player's reward, restarts games as the auto-reset mode says (``NEXT_STEP``: on the
call after they end; ``SAME_STEP``: at once, keeping their last observation in ``final_obs``;
``DISABLED``: when ``reset`` asks), writes every row's observation in place and copies every frame
the recorded games play onto a :data:`Tape`. ``reset`` is the
same call in its ``RESTART`` phase, so the vector env compiles this one kernel and nothing else.
Games are independent, so the loop over games runs in parallel (``numba.prange``) on
``numba.get_num_threads()`` threads (see :mod:`melee_envs.threads` for how many).

Rows: ``rows_per_game`` is 1 (the learner plays port 1 of game ``b`` as row ``b``) or 2 (self-play:
row ``2b + p`` is player ``p`` of game ``b``, each seen from its own side).
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from melee_envs import obs_kernel as _obs_kernel
from melee_envs.backends.mock import engine
from melee_envs.backends.mock.engine.schema import P_STOCKS
from melee_envs.compiled import readable_cache
from melee_envs.controller import mirror_stick_x
from melee_envs.obs_kernel import clip_rows, encode_row
from melee_envs.scoring import NUM_STATS, plus_win, score_frame, start_scoring

#: The salt of the drivers below: the engine's files and dependencies (the codec and the
#: scoring among them) plus the encoder's kernel and this file (see :mod:`melee_envs.compiled`).
SALT = engine.source_salt(_obs_kernel.__file__, __file__)


#: Auto-reset modes as the kernel takes them (``gymnasium.vector.AutoresetMode`` by value).
NEXT_STEP, SAME_STEP, DISABLED = 0, 1, 2
#: What a call does: step every game, or only restart the games flagged ``pending``.
STEP, RESTART = 0, 1
#: Bits of ``events[b]``: game ``b`` restarted in this call / ended in this call.
RESTARTED, ENDED = 1, 2
#: Games per block: the drivers step a block, then clip its rows while they are still in cache.
BLOCK_GAMES = 32

# The kernel's arguments besides the per-call ones (phase, auto-reset mode, the learner's and the
# opponent's actions, the stage seed, frame skip, step limit), in named groups that the vector env
# gathers once: Numba takes named tuples of arrays as single arguments.
#: The games' state is the engine's :data:`~melee_envs.backends.mock.engine.Games` (``G``).
#: How a step is played: the joint actions buffer, the codec's values, the rules. (The engine's
#: tables, ``T``, travel on their own: Numba's parallel lowering cannot pass nested named tuples.)
Rules = namedtuple("Rules", "act stick_centres shoulder_levels time_limit stocks rows_per_game mirror")
#: How games restart: ``pending`` (restart at the next call), steps so far, characters, start
#: spread, stage pool, episodes per game.
Starts = namedtuple("Starts", "pending steps chars start stage_pool episodes")
#: Scoring (:mod:`melee_envs.scoring`): previous stocks and percent, the statistics, the weights.
Scores = namedtuple("Scores", "prev_stocks prev_pct ep_stats weights")
#: What a call writes: what happened to each game (``events``: bits RESTARTED, ENDED), rewards,
#: flags, ended games' statistics, observations.
Outputs = namedtuple(
    "Outputs",
    "events rewards terminated truncated ended_winner ended_frames ended_stocks ended_stats obs final_obs",
)
#: The encoder's inputs (:mod:`melee_envs.obs_kernel`): projectiles, offsets, tables, bounds.
Encoding = namedtuple("Encoding", "ji jf jb enc_offsets cats ext_stage compact_stage clip low high")
#: Recorded frames (:class:`~melee_envs.backends.replay.writer.VectorRecorder`): each game ``b``
#: below ``len(pos)`` writes every frame it plays, then the first frame of a game it restarts, at
#: ``[b, pos[b]]`` of the :class:`~melee_envs.state.PackedState` arrays ``stage frame pi pf pb ji
#: jf jb`` (shape ``(games, capacity, ...)``), advancing ``pos[b]``. The caller leaves room for
#: ``frame_skip + 1`` frames per game and call. ``pos`` empty: nothing is recorded.
Tape = namedtuple("Tape", "pos stage frame pi pf pb ji jf jb")


def make_tape(packed, games: int, capacity: int) -> Tape:
    """A zeroed :data:`Tape` for the first ``games`` games of ``packed``, ``capacity`` frames each."""
    arrays = {
        name: np.zeros((games, capacity, *getattr(packed, name).shape[1:]), getattr(packed, name).dtype)
        for name in Tape._fields[1:]
    }
    return Tape(np.zeros(games, np.int64), **arrays)


@numba.njit(cache=True, _nrt=False)
def _tape_frame(G, b, tape):
    """Game ``b``'s current frame onto its row of ``tape`` (element loops: slice copies would need
    Numba's runtime). A call, not inlined: the step loop that calls it for recorded games only
    stays as small as it was without it."""
    k = tape.pos[b]
    tape.stage[b, k] = G.stage[b]
    tape.frame[b, k] = G.frame[b]
    for p in range(G.pi.shape[1]):
        for e in range(G.pi.shape[2]):
            for c in range(G.pi.shape[3]):
                tape.pi[b, k, p, e, c] = G.pi[b, p, e, c]
            for c in range(G.pf.shape[3]):
                tape.pf[b, k, p, e, c] = G.pf[b, p, e, c]
            for c in range(G.pb.shape[3]):
                tape.pb[b, k, p, e, c] = G.pb[b, p, e, c]
    for j in range(G.ji.shape[1]):
        for c in range(G.ji.shape[2]):
            tape.ji[b, k, j, c] = G.ji[b, j, c]
        for c in range(G.jf.shape[2]):
            tape.jf[b, k, j, c] = G.jf[b, j, c]
        tape.jb[b, k, j] = G.jb[b, j]
    tape.pos[b] = k + 1


@numba.njit(cache=True, _nrt=False, inline="always")
def _restart(G, b, T, S, C, stocks, seed):
    """Start game ``b``'s next game, its stage and start drawn from ``(seed, b, episode)``."""
    episodes = S.episodes
    episodes[b] += 1
    G.stage[b] = S.stage_pool[engine.mix64(seed, b, 2 * episodes[b]) % np.uint64(S.stage_pool.shape[0])]
    key = engine.mix64(seed, b, 2 * episodes[b] + 1)
    engine.reset_game(G, b, S.chars[b], stocks, T, S.start, key)
    start_scoring(G.pi, G.pf, b, C.prev_stocks, C.prev_pct, C.ep_stats)
    S.steps[b] = 0


def _make_advance(salt: int):
    @numba.njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
    def advance(
        lo, hi, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps, T, G, R, S, C, O, E, tape
    ):
        """Games ``lo`` to ``hi - 1`` of :func:`step_serial`; returns how many had an event. One
        compiled function serves the serial and the parallel driver: the engine is inlined here
        once, and Numba's parallel passes see only a small loop over chunks, which keeps the first
        run's compile short."""
        if salt == -1:  # never true: ties this compiled code to the sources (see SALT)
            return 0
        pi, pf, pb, stage, frame, done, winner = G.pi, G.pf, G.pb, G.stage, G.frame, G.done, G.winner
        act, stick_centres, shoulder_levels, time_limit, stocks, rows_per_game, mirror = R
        pending, steps = S.pending, S.steps
        prev_stocks, prev_pct, ep_stats, weights = C
        events, rewards, terminated, truncated = O.events, O.rewards, O.terminated, O.truncated
        ended_winner, ended_frames = O.ended_winner, O.ended_frames
        ended_stocks, ended_stats = O.ended_stocks, O.ended_stats
        obs, final_obs = O.obs, O.final_obs
        ji, jf, jb, enc_offsets, cats, ext_stage, compact_stage, clip, low, high = E
        count = 0
        recorded = tape.pos.shape[0]  # games below this are recorded
        for b in range(lo, hi):
            events[b] = 0
            restart = False  # start this game's next game in this call
            keep_last = False  # SAME_STEP: encode the ended game's last observation into final_obs first
            if pending[b]:
                if phase != RESTART and autoreset == DISABLED:  # waits for reset(options={"reset_mask": ...})
                    for j in range(rows_per_game):
                        rewards[b * rows_per_game + j] = 0.0
                    continue
                restart = True
                pending[b] = False
                for j in range(rows_per_game):
                    r = b * rows_per_game + j
                    rewards[r] = 0.0
                    terminated[r] = False
                    truncated[r] = False
            elif phase == RESTART:
                continue
            else:
                for k in range(act.shape[2]):  # element loops: slice copies would need Numba's runtime
                    if rows_per_game == 2:
                        act[b, 0, k] = learner[2 * b, k]
                        act[b, 1, k] = learner[2 * b + 1, k]
                    else:
                        act[b, 0, k] = learner[b, k]
                        act[b, 1, k] = opponent[b, k]
                if rows_per_game == 2 and mirror:  # port 2 acts in its mirrored view: flip stick x back
                    mirror_stick_x(act[b, 1], stick_centres)
                r0 = 0.0
                r1 = 0.0
                for _ in range(frame_skip):
                    engine.step_game(G, b, act[b], stick_centres, shoulder_levels, T, time_limit)
                    f0, f1 = score_frame(pi, pf, b, prev_stocks, prev_pct, ep_stats, weights)
                    r0 += f0
                    r1 += f1
                    if b < recorded:
                        _tape_frame(G, b, tape)
                    if done[b]:
                        break
                steps[b] += 1
                term = done[b]
                trunc = (not term) and max_steps > 0 and steps[b] >= max_steps
                if term:
                    r0, r1 = plus_win(r0, r1, winner[b], weights)
                for j in range(rows_per_game):
                    r = b * rows_per_game + j
                    rewards[r] = r0 if j == 0 else r1
                    terminated[r] = term
                    truncated[r] = trunc
                if term or trunc:
                    ended_winner[b] = winner[b] if term else -1
                    ended_frames[b] = frame[b]
                    ended_stocks[b, 0] = pi[b, 0, 0, P_STOCKS]
                    ended_stocks[b, 1] = pi[b, 1, 0, P_STOCKS]
                    for p in range(2):
                        for k in range(NUM_STATS):
                            ended_stats[b, p, k] = ep_stats[b, p, k]
                    events[b] = ENDED
                    if autoreset == SAME_STEP:
                        restart = keep_last = True
                    else:
                        pending[b] = True
            if keep_last:
                for j in range(rows_per_game):
                    r = b * rows_per_game + j
                    encode_row(
                        pi, pf, pb, stage, frame, ji, jf, jb, b, j, 0, mirror and j == 1, final_obs[r], enc_offsets,
                        cats, ext_stage, compact_stage,
                    )  # fmt: skip
                clip_rows(final_obs, b * rows_per_game, (b + 1) * rows_per_game, clip, low, high)
            if restart:
                _restart(G, b, T, S, C, stocks, stage_seed)
                if b < recorded:
                    _tape_frame(G, b, tape)
                events[b] |= RESTARTED
            if events[b]:
                count += 1
            for j in range(rows_per_game):
                r = b * rows_per_game + j
                encode_row(
                    pi, pf, pb, stage, frame, ji, jf, jb, b, j, 0, mirror and j == 1, obs[r], enc_offsets, cats,
                    ext_stage, compact_stage,
                )  # fmt: skip
        return count

    return advance


#: Every game's step; salted (see :data:`SALT`). The drivers below reach it as a module
#: global: a closure cell holding a dispatcher would change their cache key in every process.
(advance,) = readable_cache(_make_advance(SALT))


@numba.njit(nogil=True, _nrt=False, error_model="numpy")
def _blocks(lo, end, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps, T, G, R, S, C, O, E, tape):
    """Games ``lo`` to ``end - 1`` in blocks small enough that their rows stay in cache, each
    block's rows clipped as a pass of its own, outside the big loop body, where it vectorises.
    Called, not inlined: inside the parallel driver's ``prange`` an inlined copy would be
    rewritten by Numba's parfor passes into array code that needs its runtime."""
    rows = O.obs.shape[0] // G.stage.shape[0]
    count = 0
    for first in range(lo, end, BLOCK_GAMES):
        stop = min(end, first + BLOCK_GAMES)
        count += advance(
            first, stop, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps,
            T, G, R, S, C, O, E, tape,
        )  # fmt: skip
        clip_rows(O.obs, first * rows, stop * rows, E.clip, E.low, E.high)
    return count


def _make_drivers(salt: int):
    @numba.njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
    def step_serial(phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps, T, G, R, S, C, O, E, tape):
        """One call per ``step`` (``phase=STEP``) or ``reset`` (``phase=RESTART``) of the vector env.

        STEP: a game flagged ``pending`` (it ended on the previous step) restarts instead of
        stepping under ``NEXT_STEP`` (reward 0, its new first observation) and stays as it ended
        under ``DISABLED`` (reward 0, same flags and observation); every other game advances
        ``frame_skip`` frames with the learner's rows (and port 2's ``opponent`` actions in
        opponent mode, copied into ``act``), sums rewards and, when it ends, records the ended_*
        stats, then restarts at once under ``SAME_STEP`` (its last observation in ``final_obs``)
        or is flagged ``pending``. RESTART: only the ``pending`` games restart.
        ``events[b]`` says what happened to game ``b`` in this call (bits ``RESTARTED``, ``ENDED``);
        returns the number of games with any event, so the caller looks at ``events`` only when
        something happened. Recorded games append their frames to ``tape`` (see :data:`Tape`)."""
        if salt == -1:  # never true: ties this compiled code to the sources (see SALT)
            return 0
        n = G.stage.shape[0]
        return _blocks(
            0, n, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps, T, G, R, S, C, O, E, tape
        )

    # Numba's runtime on here alone: its parfor lowering passes the named tuples to the threads
    # through it (the per-game code it calls still runs without it).
    @numba.njit(cache=True, parallel=True, nogil=True, error_model="numpy")
    def step_parallel(
        chunk, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps, T, G, R, S, C, O, E, tape
    ):
        """:func:`step_serial` on Numba's threads, ``chunk`` games at a time."""
        if salt == -1:
            return 0
        n = G.stage.shape[0]
        count = 0
        for c in numba.prange((n + chunk - 1) // chunk):
            lo, end = c * chunk, min(n, (c + 1) * chunk)
            count += _blocks(
                lo, end, phase, autoreset, learner, opponent, stage_seed, frame_skip, max_steps,
                T, G, R, S, C, O, E, tape,
            )  # fmt: skip
        return count

    return step_serial, step_parallel


step_serial, step_parallel = readable_cache(*_make_drivers(SALT))


def compiled_entry(dispatcher, args: tuple):
    """The machine code ``dispatcher`` compiled for exactly the types of ``args``, to call without
    Numba's per-call type dispatch (a few microseconds for the drivers' arguments: a third of a
    small batch's step). Only for callers whose argument types never change (the vector env's own
    arrays and normalised int64 actions); arrays of another item size are still refused. The
    dispatcher itself where no such entry exists."""
    try:
        return dispatcher.overloads[tuple(dispatcher.typeof_pyval(a) for a in args)].entry_point
    except (AttributeError, KeyError):
        return dispatcher


@numba.njit(cache=True, parallel=True, nogil=True, _nrt=False)
def write_only(obs, value):
    """The memory ceiling: write every observation byte once, nothing else (benchmark reference)."""
    for r in numba.prange(obs.shape[0]):
        row = obs[r]
        for k in range(row.shape[0]):
            row[k] = value
