"""What older Slippi files do not record, estimated from what they do.

Slippi records whether a player is airborne from version 2.0.0 and the five speeds from 3.5.0.
Without them a loaded frame would stand a falling player on thin air and freeze a launched one,
and a policy trained on such files would see speeds of 0 where the game has motion. The reader
fills both from the positions, and ``ReplayMeta.estimated`` names what it filled:

* **on the ground**: standing on the stage's ground or one of its platforms (within
  :data:`SURFACE_TOLERANCE` of the surface's height, between its ends);
* **speeds**: the game moves a player by its speeds each frame, so the step from ``t - 1`` to
  ``t`` is the sum of the speeds recorded at ``t`` (files with speeds agree to 1e-6 on 90% of
  airborne frames). What belongs to knockback is modelled as the game does: a damage action's
  first moving frame is the launch (the player's own vertical speed starts at minus one frame of
  gravity and falls by gravity down to terminal speed, the rest is knockback); the knockback's
  length then falls by ``KB_DECAY`` a frame, through the damage action and after it, and the
  rest of each step is the player's own speed (on the ground: ground speed; in the air: air
  speed and vertical speed; on the ground the game records the air speed equal to the ground
  speed). The frozen hitlag frames before a launch carry the launch's
  knockback, one decay step longer.

``tests/melee_envs/test_replay_estimates.py`` checks both estimates against the files that
record the real values.
"""

from __future__ import annotations

import numpy as np

from melee_envs.backends.mock.engine.rules import KB_DECAY, SURFACE_TOLERANCE
from melee_envs.data.actions import DAMAGE_ACTIONS
from melee_envs.data.characters import attribute_arrays
from melee_envs.data.stages import geometry_arrays


def on_ground(x: np.ndarray, y: np.ndarray, stage: int) -> np.ndarray:
    """Whether each position stands on stage ``stage``'s ground or one of its platforms."""
    geo = geometry_arrays()
    ground = (np.abs(y) < SURFACE_TOLERANCE) & (np.abs(x) <= geo["ground_x"][stage])
    for height, left, right in geo["platforms"][stage, : geo["num_platforms"][stage]]:
        ground |= (np.abs(y - height) < SURFACE_TOLERANCE) & (x >= left) & (x <= right)
    return ground


def speeds(
    x: np.ndarray, y: np.ndarray, grounded: np.ndarray, action: np.ndarray, character: np.ndarray, moved: np.ndarray
) -> dict[str, np.ndarray]:
    """The five speeds of one body over time, from its positions.

    Args:
        x, y, grounded, action, character: the body's columns, shape ``(T,)``.
        moved: whether the step from ``t - 1`` to ``t`` is a real frame of motion (the body
            exists on both frames, loses no stock, and the frames are consecutive).

    Returns:
        ``speed_air_x``, ``speed_y``, ``speed_ground_x``, ``speed_attack_x``, ``speed_attack_y``,
        each float32 of shape ``(T,)``.
    """
    n = len(x)
    dx, dy = np.zeros(n), np.zeros(n)
    dx[1:] = np.diff(x.astype(np.float64))
    dy[1:] = np.diff(y.astype(np.float64))
    dx[~moved], dy[~moved] = 0.0, 0.0
    attrs = attribute_arrays()
    gravity = attrs["gravity"][np.clip(character, 0, len(attrs["gravity"]) - 1)]
    terminal = attrs["terminal_velocity"][np.clip(character, 0, len(attrs["gravity"]) - 1)]
    kb_x, kb_y = np.zeros(n), np.zeros(n)
    own_y = np.zeros(n)  # the player's own vertical speed inside a damage action
    in_damage = (action >= DAMAGE_ACTIONS[0]) & (action <= DAMAGE_ACTIONS[1])
    starts = np.flatnonzero(in_damage & ~np.concatenate([[False], in_damage[:-1]]))
    ends = np.flatnonzero(in_damage & ~np.concatenate([in_damage[1:], [False]]))
    stops = np.append(starts[1:], n)[: len(starts)]  # a run's knockback decays until the next run starts
    for start, end, stop in zip(starts, ends, stops, strict=True):
        moving = np.flatnonzero((dx[start : end + 1] != 0) | (dy[start : end + 1] != 0))
        if len(moving) == 0:
            continue
        launch = start + moving[0]
        run = np.arange(launch, end + 1)
        fall = np.minimum(gravity[run] * (run - launch + 1), terminal[run])
        own_y[run] = np.where(grounded[run], 0.0, -fall)
        kb_x[run], kb_y[run] = dx[run], dy[run] - own_y[run]
        # Hitlag before the launch: frozen, holding the launch's knockback before its first decay.
        length = np.hypot(kb_x[launch], kb_y[launch])
        if length > 0 and launch > start:
            grow = (length + KB_DECAY) / length
            kb_x[start:launch], kb_y[start:launch] = kb_x[launch] * grow, kb_y[launch] * grow
        # After the damage action: the knockback decays on by itself.
        length = np.hypot(kb_x[end], kb_y[end])
        after = np.arange(end + 1, stop)
        if length > 0 and len(after):
            scale = np.maximum(0.0, length - KB_DECAY * (after - end)) / length
            kb_x[after], kb_y[after] = kb_x[end] * scale, kb_y[end] * scale
    kb_y[grounded] = 0.0
    own_x = dx - kb_x
    own_y = np.where(in_damage, own_y, dy - kb_y)
    own_y[grounded] = 0.0
    zero = np.zeros(n)
    out = {
        "speed_air_x": own_x,  # the game keeps it equal to the ground speed on the ground
        "speed_y": own_y,
        "speed_ground_x": np.where(grounded, own_x, zero),
        "speed_attack_x": kb_x,
        "speed_attack_y": kb_y,
    }
    return {name: value.astype(np.float32) for name, value in out.items()}
