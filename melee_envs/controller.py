"""Controller codec: GameCube controller <-> ``MultiDiscrete`` actions, and a small ``Discrete`` set.

This module owns the action layout; every other module takes it from here (:data:`ACTION_SIZE`,
the component slices, :data:`STICK_X_COLUMNS`, :func:`mirror_stick_x`, :meth:`ControllerCodec.check`).
An action is :data:`ACTION_SIZE` (13) integers: 8 buttons (0/1, in :data:`~melee_envs.state.BUTTONS` order), main stick
x and y, c-stick x and y (bucket indices, 17 per axis by default) and the shoulder (5 levels).
Stick buckets are uniform over [0, 1] unless other centres are given (e.g. k-means centres fitted
on replays); decoding returns the bucket's centre, encoding picks the nearest centre. Values follow
libmelee's conventions: sticks in [0, 1] with 0.5 neutral, shoulder in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numba
import numpy as np
from gymnasium import spaces

from melee_envs.state import BUTTONS, ControllerState

NUM_BUTTONS = len(BUTTONS)
STICK_AXES = ("main_x", "main_y", "c_x", "c_y")
#: Components of one action: the buttons, the four stick axes, the shoulder.
ACTION_SIZE = NUM_BUTTONS + len(STICK_AXES) + 1
#: Columns of the stick axes and the shoulder.
MAIN_X, MAIN_Y, C_X, C_Y = range(NUM_BUTTONS, NUM_BUTTONS + 4)
SHOULDER_COLUMN = ACTION_SIZE - 1
#: The horizontal stick axes: what a left-right mirror flips.
STICK_X_COLUMNS = (MAIN_X, C_X)
#: The parts of an action as slices of it.
BUTTON_PART = slice(0, NUM_BUTTONS)
MAIN_STICK = slice(MAIN_X, MAIN_Y + 1)
C_STICK = slice(C_X, C_Y + 1)
SHOULDER_PART = slice(SHOULDER_COLUMN, ACTION_SIZE)
#: Named parts, in the order networks emit them (autoregressive heads, BC metrics).
ACTION_PARTS: tuple[tuple[str, slice], ...] = (
    ("buttons", BUTTON_PART),
    ("main_stick", MAIN_STICK),
    ("c_stick", C_STICK),
    ("shoulder", SHOULDER_PART),
)
#: One name per component, for error messages and per-component metrics.
COMPONENT_NAMES = (*BUTTONS, *STICK_AXES, "shoulder")


def uniform_centres(n: int = 17) -> np.ndarray:
    """``n`` evenly spaced stick values from 0 to 1 (17 -> steps of 1/16, 0.5 included)."""
    return np.linspace(0.0, 1.0, n, dtype=np.float32)


@dataclass(frozen=True)
class ControllerCodec:
    """Maps controller states to ``MultiDiscrete`` actions and back.

    Args:
        stick_centres: values of the stick buckets in [0, 1], ascending, shared by all four axes.
        shoulder_levels: values of the shoulder levels in [0, 1], ascending.
    """

    stick_centres: np.ndarray = field(default_factory=uniform_centres)
    shoulder_levels: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.25, 0.5, 0.75, 1.0], np.float32))

    def __post_init__(self) -> None:
        for name in ("stick_centres", "shoulder_levels"):
            values = np.asarray(getattr(self, name), np.float32)
            if values.ndim != 1 or len(values) < 2 or np.any(np.diff(values) <= 0):
                raise ValueError(f"{name} must be a 1-D ascending array of at least 2 values")
            if values.min() < 0 or values.max() > 1:
                raise ValueError(f"{name} must lie in [0, 1]")
            object.__setattr__(self, name, values)
        object.__setattr__(self, "_nvec", self.nvec)

    @property
    def nvec(self) -> np.ndarray:
        n = len(self.stick_centres)
        return np.array([2] * NUM_BUTTONS + [n] * 4 + [len(self.shoulder_levels)], np.int64)

    @property
    def neutral_stick(self) -> int:
        """Bucket index nearest 0.5."""
        return int(np.argmin(np.abs(self.stick_centres - 0.5)))

    def action_space(self) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(self.nvec)

    def noop(self) -> np.ndarray:
        """The action for an untouched controller."""
        a = np.zeros(ACTION_SIZE, np.int64)
        a[NUM_BUTTONS : NUM_BUTTONS + 4] = self.neutral_stick
        return a

    def check(self, action: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Validate actions: integer-valued, last axis :data:`ACTION_SIZE`, inside the space.

        Args:
            action: one action or any batch of them.
            shape: the batch shape required (``()`` for exactly one action); None accepts any.

        Raises:
            ValueError: naming the offending component and its allowed range, or the shape.
        """
        arr = np.asarray(action)
        if arr.shape[-1:] != (ACTION_SIZE,):
            raise ValueError(
                f"action must have {ACTION_SIZE} components (8 buttons, 4 stick axes, shoulder); got shape {arr.shape}"
            )
        if shape is not None and arr.shape != (*shape, ACTION_SIZE):
            raise ValueError(f"actions must have shape {(*shape, ACTION_SIZE)}; got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.mod(arr, 1) == 0):
                raise ValueError(f"action components must be integers; got {arr}")
            arr = arr.astype(np.int64)
        bad = (arr < 0) | (arr >= self._nvec)
        if bad.any():
            first = tuple(np.argwhere(bad)[0])
            i, value = int(first[-1]), arr[first]
            raise ValueError(
                f"action component {i} ({COMPONENT_NAMES[i]}) = {value} is outside [0, {self.nvec[i] - 1}]"
            )
        return arr

    def check_one(self, action: Any) -> np.ndarray:
        """:meth:`check` for exactly one action of shape ``(ACTION_SIZE,)`` (what an env's ``step`` takes)."""
        arr = np.asarray(action)
        if arr.shape != (ACTION_SIZE,):
            raise ValueError(f"expected one action of shape ({ACTION_SIZE},); got shape {arr.shape}")
        return self.check(arr)

    def check_rows(self, actions: Any, rows: int) -> np.ndarray:
        """Validate ``(rows, ACTION_SIZE)`` actions in one compiled pass (the vector envs' hot path).

        Returns a writable, C-contiguous int64 array (the compiled kernels' one signature).

        Raises:
            ValueError: for another shape, non-integer or non-finite values, or a component out of
                range, naming its row and component.
        """
        arr = np.asarray(actions)
        if arr.shape != (rows, ACTION_SIZE):
            raise ValueError(f"actions must have shape ({rows}, {ACTION_SIZE}) (one row per agent); got {arr.shape}")
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
        if not arr.flags.writeable:
            arr = arr.copy()
        i = _first_invalid(arr, self._nvec)
        if i >= 0:
            r, k = divmod(int(i), ACTION_SIZE)
            raise ValueError(
                f"action row {r}, component {k} ({COMPONENT_NAMES[k]}) = {arr[r, k]} is outside [0, {self.nvec[k] - 1}]"
            )
        return arr

    def mirror(self, actions: np.ndarray) -> np.ndarray:
        """Left-right mirrored actions (stick x buckets flipped about 0.5), in place; any batch shape.

        Bucket ``i`` becomes the bucket nearest ``1 - centre[i]``: ``n - 1 - i`` for uniform
        centres, and the right bucket for any other (k-means) centres too.
        """
        for col in STICK_X_COLUMNS:
            actions[..., col] = self.mirror_table[actions[..., col]]
        return actions

    @cached_property
    def mirror_table(self) -> np.ndarray:
        """``mirror_table[i]``: the stick bucket that mirrors bucket ``i``."""
        return _nearest(self.stick_centres, 1.0 - self.stick_centres)

    def decode(self, action: Any) -> ControllerState:
        """Actions ``S + (ACTION_SIZE,)`` -> ``ControllerState`` with batch shape ``S``."""
        a = self.check(action)
        sticks = self.stick_centres[a[..., NUM_BUTTONS : NUM_BUTTONS + 4]]
        return ControllerState(
            buttons=a[..., :NUM_BUTTONS].astype(bool),
            main_x=sticks[..., 0],
            main_y=sticks[..., 1],
            c_x=sticks[..., 2],
            c_y=sticks[..., 3],
            shoulder=self.shoulder_levels[a[..., -1]],
        )

    def encode(self, controller: ControllerState) -> np.ndarray:
        """``ControllerState`` -> nearest actions ``S + (ACTION_SIZE,)``."""
        buttons = np.asarray(controller.buttons, bool)
        out = np.empty(buttons.shape[:-1] + (ACTION_SIZE,), np.int64)
        out[..., :NUM_BUTTONS] = buttons
        for k, axis in enumerate(STICK_AXES):
            out[..., NUM_BUTTONS + k] = _nearest(self.stick_centres, getattr(controller, axis))
        out[..., -1] = _nearest(self.shoulder_levels, controller.shoulder)
        return out

    def encode_into(self, controller: ControllerState, out: np.ndarray) -> np.ndarray:
        """:meth:`encode` for a run of frames (batch shape ``(T,)``), written into ``out``
        (``(T, ACTION_SIZE)``, any integer dtype) in one compiled loop, without temporaries."""
        c = controller
        _encode_into(
            c.buttons, c.main_x, c.main_y, c.c_x, c.c_y, c.shoulder, self.stick_centres, self.shoulder_levels, out
        )
        return out

    def to_libmelee(self, action: Any) -> dict[str, Any]:
        """One action as the values libmelee's ``Controller`` takes.

        Returns ``{"buttons": {"A": bool, ...}, "main": (x, y), "c": (x, y), "shoulder": float}``;
        the Dolphin backend feeds them to ``press_button``/``release_button``, ``tilt_analog``
        and ``press_shoulder``.
        """
        c = self.decode(np.asarray(action).reshape(ACTION_SIZE))
        return {
            "buttons": {b: bool(c.buttons[i]) for i, b in enumerate(BUTTONS)},
            "main": (float(c.main_x), float(c.main_y)),
            "c": (float(c.c_x), float(c.c_y)),
            "shoulder": float(c.shoulder),
        }


def _nearest(centres: np.ndarray, values: Any) -> np.ndarray:
    values = np.ascontiguousarray(values, np.float32)
    out = np.empty(values.shape, np.int64)
    _nearest_all(centres, values.reshape(-1), out.reshape(-1))
    return out


@numba.njit(cache=True, nogil=True)
def _nearest_one(centres: np.ndarray, v: float) -> int:
    """Index of the centre nearest ``v``; on a tie, the lower one."""
    lo, hi = 0, len(centres)
    while lo < hi:  # searchsorted, side="left"
        mid = (lo + hi) // 2
        if centres[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    k = min(max(lo, 1), len(centres) - 1)
    return k - 1 if abs(v - centres[k - 1]) <= abs(centres[k] - v) else k


@numba.njit(cache=True, nogil=True, inline="always")
def mirror_stick_x(action: np.ndarray, centres: np.ndarray) -> None:
    """Mirror one action's stick x buckets in place (compiled code's :meth:`ControllerCodec.mirror`)."""
    for col in STICK_X_COLUMNS:
        action[col] = _nearest_one(centres, 1.0 - centres[action[col]])


@numba.njit(cache=True, _nrt=False)
def _first_invalid(actions, nvec):  # noqa: ANN001
    """``row * ACTION_SIZE + component`` of the first component outside its range, or -1."""
    for r in range(actions.shape[0]):
        for k in range(actions.shape[1]):
            a = actions[r, k]
            if a < 0 or a >= nvec[k]:
                return r * actions.shape[1] + k
    return -1


@numba.njit(cache=True, nogil=True)
def _nearest_all(centres: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    for i in range(values.shape[0]):
        out[i] = _nearest_one(centres, values[i])


@numba.njit(cache=True, nogil=True)
def _encode_into(buttons, main_x, main_y, c_x, c_y, shoulder, centres, levels, out):  # noqa: ANN001
    for t in range(out.shape[0]):
        for k in range(NUM_BUTTONS):
            out[t, k] = 1 if buttons[t, k] else 0
        out[t, NUM_BUTTONS] = _nearest_one(centres, main_x[t])
        out[t, NUM_BUTTONS + 1] = _nearest_one(centres, main_y[t])
        out[t, NUM_BUTTONS + 2] = _nearest_one(centres, c_x[t])
        out[t, NUM_BUTTONS + 3] = _nearest_one(centres, c_y[t])
        out[t, NUM_BUTTONS + 4] = _nearest_one(levels, shoulder[t])


# ---------------------------------------------------------------------------------------------
# A small Discrete action set: common Melee inputs as (name, buttons, main stick, c-stick, shoulder).
# Sticks are (x, y) in [0, 1]; "tilt" uses a partial press (0.5 +/- 0.3) so walks and tilt
# attacks come out instead of dashes and smashes.
_L, _R, _U, _D, _N, _TL, _TR, _TU, _TD = 0.0, 1.0, 1.0, 0.0, 0.5, 0.2, 0.8, 0.8, 0.2

DISCRETE_ACTIONS: tuple[tuple[str, tuple[str, ...], tuple[float, float], tuple[float, float], float], ...] = (
    ("noop", (), (_N, _N), (_N, _N), 0.0),
    ("walk_left", (), (_TL, _N), (_N, _N), 0.0),
    ("walk_right", (), (_TR, _N), (_N, _N), 0.0),
    ("dash_left", (), (_L, _N), (_N, _N), 0.0),  # full drift in the air
    ("dash_right", (), (_R, _N), (_N, _N), 0.0),
    ("down", (), (_N, _D), (_N, _N), 0.0),  # crouch on the ground, fast fall in the air
    ("jump", ("X",), (_N, _N), (_N, _N), 0.0),
    ("jump_left", ("X",), (_L, _N), (_N, _N), 0.0),
    ("jump_right", ("X",), (_R, _N), (_N, _N), 0.0),
    ("jab", ("A",), (_N, _N), (_N, _N), 0.0),
    ("ftilt_left", ("A",), (_TL, _N), (_N, _N), 0.0),
    ("ftilt_right", ("A",), (_TR, _N), (_N, _N), 0.0),
    ("utilt", ("A",), (_N, _TU), (_N, _N), 0.0),
    ("dtilt", ("A",), (_N, _TD), (_N, _N), 0.0),
    ("fsmash_left", (), (_N, _N), (_L, _N), 0.0),
    ("fsmash_right", (), (_N, _N), (_R, _N), 0.0),
    ("usmash", (), (_N, _N), (_N, _U), 0.0),
    ("dsmash", (), (_N, _N), (_N, _D), 0.0),
    ("neutral_b", ("B",), (_N, _N), (_N, _N), 0.0),
    ("side_b_left", ("B",), (_L, _N), (_N, _N), 0.0),
    ("side_b_right", ("B",), (_R, _N), (_N, _N), 0.0),
    ("up_b", ("B",), (_N, _U), (_N, _N), 0.0),
    ("down_b", ("B",), (_N, _D), (_N, _N), 0.0),
    ("shield", ("R",), (_N, _N), (_N, _N), 1.0),
    ("grab", ("Z",), (_N, _N), (_N, _N), 0.0),
    ("roll_left", ("R",), (_L, _N), (_N, _N), 1.0),
    ("roll_right", ("R",), (_R, _N), (_N, _N), 1.0),
    ("spot_dodge", ("R",), (_N, _D), (_N, _N), 1.0),
)
DISCRETE_ACTION_NAMES = tuple(a[0] for a in DISCRETE_ACTIONS)


def discrete_table(codec: ControllerCodec) -> np.ndarray:
    """``(len(DISCRETE_ACTIONS), ACTION_SIZE)`` MultiDiscrete actions, one row per discrete action."""
    rows = []
    for _, buttons, main, c, shoulder in DISCRETE_ACTIONS:
        state = ControllerState(
            buttons=np.array([b in buttons for b in BUTTONS]),
            main_x=np.float32(main[0]),
            main_y=np.float32(main[1]),
            c_x=np.float32(c[0]),
            c_y=np.float32(c[1]),
            shoulder=np.float32(shoulder),
        )
        rows.append(codec.encode(state))
    return np.stack(rows)
