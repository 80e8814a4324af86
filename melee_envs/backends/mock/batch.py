"""The vector env's fused kernel: step, reward, auto-reset and observation for every game at once.

One call of :func:`step_batch` advances every game ``frame_skip`` frames with the actions given,
adds up each player's reward, resets games that ended (keeping their last observation in
``final_obs``) and writes every row's observation in place. Games are independent, so the loop
over games runs in parallel (``numba.prange``) on ``numba.get_num_threads()`` threads.

Rows: ``rows_per_game`` is 1 (the learner plays port 1 of game ``b`` as row ``b``) or 2 (self-play:
row ``2b + p`` is player ``p`` of game ``b``, each seen from its own side).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np

from melee_envs import obs as _obs
from melee_envs.backends.mock import kernel
from melee_envs.obs import encode_row

P_STOCKS = kernel.P_STOCKS
P_PCT = kernel.P_PCT


def _sources_salt() -> int:
    """A number that changes whenever the engine's or the encoder's source changes.

    The kernels below inline code from ``kernel.py`` and ``obs.py``; Numba's on-disk cache only
    checks the file a function is defined in, so the salt (a closure variable, part of Numba's
    cache key) makes an edited engine recompile instead of loading stale machine code.
    """
    digest = hashlib.sha256()
    for path in (kernel.__file__, _obs.__file__, __file__):
        digest.update(Path(path).read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")


@numba.njit(cache=True, _nrt=False, inline="always")
def _stage_draw(pool, seed, game, episode):
    """A stage from ``pool`` for a game's ``episode``-th reset: SplitMix64 of (seed, game,
    episode), so draws are reproducible and need no Python call per step."""
    x = np.uint64(seed) + np.uint64(game) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(episode)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return pool[x % np.uint64(pool.shape[0])]


def _make_kernels(salt: int):
    @numba.njit(cache=True, parallel=True, nogil=True, _nrt=False, error_model="numpy")
    def step_batch(  # noqa: PLR0913
        pi,
        pf,
        pb,
        ei,
        ef,
        stage,
        frame,
        done,
        winner,
        learner,
        opponent,
        act,
        stick_centres,
        shoulder_levels,
        T,
        time_limit,
        frame_skip,
        max_steps,
        steps,
        chars,
        stocks,
        stage_pool,
        stage_seed,
        episodes,
        prev_stocks,
        prev_pct,
        ep_damage,
        weights,
        rows_per_game,
        mirror,
        rewards,
        terminated,
        truncated,
        ended_winner,
        ended_frames,
        ended_stocks,
        ended_damage,
        obs,
        final_obs,
        ji,
        jf,
        jb,
        enc_offsets,
        cats,
        ext_stage,
        compact_stage,
    ):
        """Advance all games with the learner's rows (and port 2's ``opponent`` actions in opponent
        mode, copied into ``act``); fill rewards, terminated/truncated, ended_* stats and
        observations."""
        if salt == -1:  # never true: ties this compiled code to the sources (see _sources_salt)
            return
        n = stage.shape[0]
        for b in numba.prange(n):
            if rows_per_game == 2:
                act[b, 0, :] = learner[2 * b]
                act[b, 1, :] = learner[2 * b + 1]
                if mirror:  # port 2 acts in its mirrored view: flip stick and c-stick x back
                    act[b, 1, 8] = 16 - act[b, 1, 8]
                    act[b, 1, 10] = 16 - act[b, 1, 10]
            else:
                act[b, 0, :] = learner[b]
                act[b, 1, :] = opponent[b]
            r0 = 0.0
            r1 = 0.0
            for _ in range(frame_skip):
                kernel.step_game(
                    pi, pf, pb, ei, ef, stage, frame, done, winner, b, act[b], stick_centres, shoulder_levels, T,
                    time_limit,
                )  # fmt: skip
                s0, s1 = pi[b, 0, 0, P_STOCKS], pi[b, 1, 0, P_STOCKS]
                c0, c1 = pf[b, 0, 0, P_PCT], pf[b, 1, 0, P_PCT]
                lost0 = max(prev_stocks[b, 0] - s0, 0)
                lost1 = max(prev_stocks[b, 1] - s1, 0)
                dmg0 = max(c0 - prev_pct[b, 0], 0.0)
                dmg1 = max(c1 - prev_pct[b, 1], 0.0)
                r0 += weights[0] * (lost1 - lost0) + weights[1] * (dmg1 - dmg0)
                r1 += weights[0] * (lost0 - lost1) + weights[1] * (dmg0 - dmg1)
                prev_stocks[b, 0], prev_stocks[b, 1] = s0, s1
                prev_pct[b, 0], prev_pct[b, 1] = c0, c1
                ep_damage[b, 0] += dmg0
                ep_damage[b, 1] += dmg1
                if done[b]:
                    break
            steps[b] += 1
            term = done[b]
            trunc = (not term) and max_steps > 0 and steps[b] >= max_steps
            if term and winner[b] >= 0:
                sign = 1.0 if winner[b] == 0 else -1.0
                r0 += weights[2] * sign
                r1 -= weights[2] * sign
            ended = term or trunc
            for j in range(rows_per_game):
                r = b * rows_per_game + j
                rewards[r] = r0 if j == 0 else r1
                terminated[r] = term
                truncated[r] = trunc
            if ended:
                ended_winner[b] = winner[b] if term else -1
                ended_frames[b] = frame[b]
                ended_stocks[b, 0] = pi[b, 0, 0, P_STOCKS]
                ended_stocks[b, 1] = pi[b, 1, 0, P_STOCKS]
                ended_damage[b, 0] = ep_damage[b, 0]
                ended_damage[b, 1] = ep_damage[b, 1]
                ep_damage[b, 0] = 0.0
                ep_damage[b, 1] = 0.0
                for j in range(rows_per_game):
                    r = b * rows_per_game + j
                    encode_row(
                        pi, pf, pb, stage, frame, ji, jf, jb, b, j, 0, mirror and j == 1, final_obs[r], enc_offsets,
                        cats, ext_stage, compact_stage,
                    )  # fmt: skip
                episodes[b] += 1
                stage[b] = _stage_draw(stage_pool, stage_seed, b, episodes[b])
                kernel.reset_game(pi, pf, pb, ei, ef, stage, frame, done, winner, b, chars[b], stocks, T)
                prev_stocks[b, 0] = stocks
                prev_stocks[b, 1] = stocks
                prev_pct[b, 0] = 0.0
                prev_pct[b, 1] = 0.0
                steps[b] = 0
            for j in range(rows_per_game):
                r = b * rows_per_game + j
                encode_row(
                    pi, pf, pb, stage, frame, ji, jf, jb, b, j, 0, mirror and j == 1, obs[r], enc_offsets, cats,
                    ext_stage, compact_stage,
                )  # fmt: skip

    @numba.njit(cache=True, parallel=True, nogil=True, _nrt=False)
    def encode_all(
        pi, pf, pb, stage, frame, ji, jf, jb, rows_per_game, mirror, obs, enc_offsets, cats, ext_stage, compact_stage
    ):
        """Observations of every row (after a reset)."""
        if salt == -1:
            return
        for b in numba.prange(stage.shape[0]):
            for j in range(rows_per_game):
                encode_row(
                    pi, pf, pb, stage, frame, ji, jf, jb, b, j, 0, mirror and j == 1, obs[b * rows_per_game + j],
                    enc_offsets, cats, ext_stage, compact_stage,
                )  # fmt: skip

    return step_batch, encode_all


step_batch, encode_all = _make_kernels(_sources_salt())


@numba.njit(cache=True, parallel=True, nogil=True, _nrt=False)
def write_only(obs, value):
    """The memory ceiling: write every observation byte once, nothing else (benchmark reference)."""
    for r in numba.prange(obs.shape[0]):
        row = obs[r]
        for k in range(row.shape[0]):
            row[k] = value


@numba.njit(cache=True, _nrt=False)
def first_invalid(actions, nvec):
    """Index (row * 13 + component) of the first action component outside its range, or -1."""
    for r in range(actions.shape[0]):
        for k in range(actions.shape[1]):
            a = actions[r, k]
            if a < 0 or a >= nvec[k]:
                return r * actions.shape[1] + k
    return -1


def check_batch(actions: np.ndarray, nvec: np.ndarray, rows: int) -> np.ndarray:
    """Validate a batch of MultiDiscrete actions ``(rows, 13)``; returns an int64 array."""
    arr = np.asarray(actions)
    if arr.shape != (rows, len(nvec)):
        raise ValueError(f"actions must have shape ({rows}, {len(nvec)}) (one row per agent); got {arr.shape}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            r, k = np.argwhere(bad)[0]
            raise ValueError(f"actions contain {arr[r, k]} at row {r}, component {k}; actions must be integers")
        if not np.all(np.mod(arr, 1) == 0):
            r, k = np.argwhere(np.mod(arr, 1) != 0)[0]
            raise ValueError(f"actions must be integers; got {arr[r, k]} at row {r}, component {k}")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"actions must be an integer array; got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if not arr.flags.writeable:  # one compiled signature: the kernels take writable arrays
        arr = arr.copy()
    i = first_invalid(arr, nvec)
    if i >= 0:
        r, k = divmod(int(i), len(nvec))
        raise ValueError(f"action row {r}, component {k} = {arr[r, k]} is outside [0, {nvec[k] - 1}]")
    return arr
