"""The observation encoder's compiled part: one game seen from one player, written into a row.

:class:`~melee_envs.obs.ObservationEncoder` decides the layout and hands this kernel an offset
array ``o`` (where each feature block starts, -1 where it is off; its entries named below); the
fused vector kernel (:mod:`melee_envs.backends.mock.batch`) calls :func:`encode_row` directly.
"""

from __future__ import annotations

import numba
import numpy as np

from melee_envs.controller import NUM_BUTTONS
from melee_envs.state import (
    PLAYER_BOOL_COLUMNS as PB,
    PLAYER_FLOAT_COLUMNS as PF,
    PLAYER_INT_COLUMNS as PI,
    PROJ_INT_COLUMNS as JI,
)

#: Entries of the offset array the encoder kernel takes (``o[O_STOCK]``): where each player
#: feature block starts inside a player block, where each other block starts in the row (-1:
#: feature off), and a few settings (Nana's mode, the stage encoding, counts).
(
    O_PLAYER_SIZE, O_ACTION, O_CHARACTER, O_SPEEDS, O_FRAME_INFO, O_STOCK, O_LEDGE, O_NANA, O_NANA_COMPACT, O_STAGE,
    O_STAGE_MODE, O_NAMES, O_NUM_NAMES, O_SPATIAL, O_PROJECTILES, O_PROJECTILE_SLOTS, O_CONTROLLER, O_ACTION_ID,
    O_NANA_ACTION_ID, O_CHARACTER_ID, O_STAGE_ID, O_INVULNERABLE,
) = range(22)  # fmt: skip
NUM_OFFSETS = 22


# Packed column indices, bound as compile-time constants in the kernel.
_C_CHAR, _C_ACTION, _C_STOCKS, _C_JUMPS = (PI.index(n) for n in ("character", "action", "stocks", "jumps_left"))
_C_X, _C_Y, _C_PCT, _C_FACE, _C_AFRAME, _C_SHIELD, _C_HITSTUN = (
    PF.index(n) for n in ("x", "y", "percent", "facing", "action_frame", "shield", "hitstun")
)
_C_SPEED0 = PF.index("speed_air_x")
_C_LEDGE = PF.index("ledge_distance")
_C_MAIN_X = PF.index("main_x")
_C_EXISTS, _C_GROUND, _C_INVULN = (PB.index(n) for n in ("exists", "on_ground", "invulnerable"))
_C_BUTTON0 = PB.index("button_A")
_J_TYPE, _J_OWNER = JI.index("type"), JI.index("owner")


@numba.njit(cache=True, nogil=True, _nrt=False)
def _encode(pi, pf, pb, stage, frame, ji, jf, jb, egos, styles, mirror, out, o, cats, ext_stage, compact_stage, clip,
            low, high):  # fmt: skip
    for b in range(out.shape[0]):
        encode_row(
            pi, pf, pb, stage, frame, ji, jf, jb, b, egos[b], styles[b], mirror, out[b], o, cats, ext_stage,
            compact_stage,
        )  # fmt: skip
    clip_rows(out, 0, out.shape[0], clip, low, high)


@numba.njit(cache=True, nogil=True, _nrt=False)
def _encode_games(
    pi, pf, pb, stage, frame, ji, jf, jb, games, egos, mirrors, out, o, cats, ext_stage, compact_stage, clip, low, high
):
    for k in range(out.shape[0]):
        encode_row(
            pi, pf, pb, stage, frame, ji, jf, jb, games[k], egos[k], 0, mirrors[k], out[k], o, cats, ext_stage,
            compact_stage,
        )  # fmt: skip
    clip_rows(out, 0, out.shape[0], clip, low, high)


@numba.njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def clip_rows(out, first, stop, clip, low, high):
    """Clip rows ``first`` to ``stop - 1`` of ``out`` to ``[low, high]`` over the column runs
    ``clip`` (rows of ``[start, stop)``; one-hot blocks are left out: they cannot leave [0, 1]).

    A pass of its own, over whole rows, with unsigned indices (no negative-index wraparound):
    the loop vectorises, six times faster than clipping each value as it is written."""
    for r in range(first, stop):
        row = out[r]
        for k in range(clip.shape[0]):
            for c in range(np.uint64(clip[k, 0]), np.uint64(clip[k, 1])):
                v, lo, hi = row[c], low[c], high[c]
                row[c] = lo if v < lo else (hi if v > hi else v)


@numba.njit(cache=True, nogil=True, _nrt=False, inline="always")
def encode_row(pi, pf, pb, stage, frame, ji, jf, jb, b, ego, style, mirror, row, o, cats, ext_stage, compact_stage):  # noqa: PLR0912, PLR0915
    """Write game ``b`` seen from player ``ego`` into ``row`` (offsets ``o`` from the encoder);
    :func:`clip_rows` then keeps it inside the bounds.

    ``mirror``: flip the x axis (positions, facing, horizontal speeds, stick and c-stick x), so the
    ego sees the game as if it stood on the other side (the self-play env's port 2 option).
    """
    sx = -1.0 if mirror else 1.0
    psize = o[O_PLAYER_SIZE]
    row[:] = 0.0
    for slot in range(2):
        p = ego if slot == 0 else 1 - ego
        base = slot * psize
        f = pf[b, p, 0]
        i = pi[b, p, 0]
        bl = pb[b, p, 0]
        row[base + 0] = f[_C_PCT] / 100.0
        row[base + 1] = sx * f[_C_FACE]
        row[base + 2] = sx * f[_C_X] / 100.0
        row[base + 3] = f[_C_Y] / 100.0
        act = min(max(i[_C_ACTION], 0), 398)
        if o[O_ACTION] >= 0:
            row[base + o[O_ACTION] + act] = 1.0
        if o[O_CHARACTER] >= 0 and 0 <= i[_C_CHAR] < 33:
            row[base + o[O_CHARACTER] + i[_C_CHAR]] = 1.0
        k = base + o[O_INVULNERABLE]
        row[k] = 1.0 if bl[_C_INVULN] else 0.0
        row[k + 1] = i[_C_JUMPS] / 6.0
        row[k + 2] = f[_C_SHIELD] / 60.0
        row[k + 3] = 1.0 if bl[_C_GROUND] else 0.0
        if o[O_SPEEDS] >= 0:
            for s in range(5):
                row[base + o[O_SPEEDS] + s] = (sx if s != 1 and s != 4 else 1.0) * f[_C_SPEED0 + s] / 5.0
        if o[O_FRAME_INFO] >= 0:
            row[base + o[O_FRAME_INFO]] = f[_C_HITSTUN] / 60.0
            row[base + o[O_FRAME_INFO] + 1] = f[_C_AFRAME] / 60.0
        if o[O_STOCK] >= 0:
            row[base + o[O_STOCK]] = i[_C_STOCKS] / 4.0
        if o[O_LEDGE] >= 0:
            row[base + o[O_LEDGE]] = f[_C_LEDGE] / 100.0
        if o[O_NANA] >= 0 and pb[b, p, 1, _C_EXISTS]:
            nf = pf[b, p, 1]
            ni = pi[b, p, 1]
            nb = pb[b, p, 1]
            k = base + o[O_NANA]
            row[k] = 1.0
            row[k + 1] = sx * nf[_C_X] / 100.0
            row[k + 2] = nf[_C_Y] / 100.0
            row[k + 3] = sx * (nf[_C_X] - f[_C_X]) / 100.0
            row[k + 4] = (nf[_C_Y] - f[_C_Y]) / 100.0
            row[k + 5] = sx * nf[_C_FACE]
            row[k + 6] = 1.0 if nb[_C_GROUND] else 0.0
            row[k + 7] = nf[_C_PCT] / 100.0
            row[k + 8] = ni[_C_STOCKS] / 4.0
            row[k + 9] = ni[_C_JUMPS] / 6.0
            row[k + 10] = nf[_C_SHIELD] / 60.0
            row[k + 11] = 1.0 if nb[_C_INVULN] else 0.0
            row[k + 12] = nf[_C_HITSTUN] / 60.0
            row[k + 13] = nf[_C_AFRAME] / 60.0
            if o[O_NANA_COMPACT] == 1:
                row[k + 14 + cats[min(max(ni[_C_ACTION], 0), 398)]] = 1.0
        if o[O_ACTION_ID] >= 0:
            row[o[O_ACTION_ID] + slot] = act
            if o[O_NANA_ACTION_ID] >= 0:
                row[o[O_NANA_ACTION_ID] + slot] = pi[b, p, 1, _C_ACTION] if pb[b, p, 1, _C_EXISTS] else 0
        if o[O_CHARACTER_ID] >= 0:
            row[o[O_CHARACTER_ID] + slot] = i[_C_CHAR]
    st = stage[b]
    if o[O_STAGE] >= 0:
        if o[O_STAGE_MODE] == 0:
            ext = ext_stage[st] if 0 <= st < 256 else 0
            if 0 <= ext < 64:
                row[o[O_STAGE] + ext] = 1.0
        else:
            row[o[O_STAGE] + (compact_stage[st] if 0 <= st < 256 else 6)] = 1.0
    if o[O_STAGE_ID] >= 0:
        row[o[O_STAGE_ID]] = st
    if o[O_NAMES] >= 0 and 0 < style < o[O_NUM_NAMES]:
        row[o[O_NAMES] + style] = 1.0
    e = ego
    q = 1 - ego
    dx = pf[b, q, 0, _C_X] - pf[b, e, 0, _C_X]
    dy = pf[b, q, 0, _C_Y] - pf[b, e, 0, _C_Y]
    if o[O_SPATIAL] >= 0:
        row[o[O_SPATIAL]] = np.sqrt(dx * dx + dy * dy) / 100.0
        row[o[O_SPATIAL] + 1] = sx * dx / 100.0
        row[o[O_SPATIAL] + 2] = dy / 100.0
        row[o[O_SPATIAL] + 3] = frame[b] / 28800.0
    if o[O_PROJECTILES] >= 0:
        slot = 0
        for s in range(jb.shape[1]):
            if slot >= o[O_PROJECTILE_SLOTS]:
                break
            if jb[b, s]:
                k = o[O_PROJECTILES] + slot * 7
                row[k] = 1.0
                row[k + 1] = 1.0 if ji[b, s, _J_OWNER] == e else (-1.0 if ji[b, s, _J_OWNER] >= 0 else 0.0)
                row[k + 2] = ji[b, s, _J_TYPE] / 256.0
                row[k + 3] = sx * jf[b, s, 0] / 100.0
                row[k + 4] = jf[b, s, 1] / 100.0
                row[k + 5] = sx * jf[b, s, 2] / 5.0
                row[k + 6] = jf[b, s, 3] / 5.0
                slot += 1
    if o[O_CONTROLLER] >= 0:
        for s in range(8):
            row[o[O_CONTROLLER] + s] = 1.0 if pb[b, e, 0, _C_BUTTON0 + s] else 0.0
        for s in range(5):
            v = pf[b, e, 0, _C_MAIN_X + s]
            row[o[O_CONTROLLER] + NUM_BUTTONS + s] = 1.0 - v if mirror and (s == 0 or s == 2) else v
