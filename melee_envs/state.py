"""``GameState``: one struct-of-arrays type for a frame, a batch of games or a replay's time axis.

Every field is a numpy array whose leading axes are the *batch shape* ``S`` (``()`` for one
frame, ``(num_games,)`` for a batch, ``(num_frames,)`` for a replay, or any combination), then:

* game fields (``stage``, ``frame``): shape ``S``;
* player fields: shape ``S + (P,)`` with ``P`` players by port order;
* controller buttons: ``S + (P, 8)``; projectiles: ``S + (K,)`` with ``K`` fixed slots.

Units and ids are the game's: positions in game units (y up), speeds in units per frame, percent
as shown on screen, action and character ids as libmelee's enums, ``stage`` as libmelee's
``Stage`` value. The mock engine, the replay reader and the Dolphin backend all produce this type.

The fields come from one table per kind (:data:`BODY_FIELDS`, :data:`CONTROLLER_FIELDS`,
:data:`PROJECTILE_FIELDS`); :class:`PackedState` stores a whole state in a few contiguous arrays
(one per dtype) that the Numba kernels index directly, and hands out ``GameState`` views of them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

#: Physical state of one character, a player or Ice Climbers' Nana: (name, dtype, meaning).
BODY_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("character", np.int32, "internal character id (libmelee Character)"),
    ("action", np.int32, "action-state id (libmelee Action)"),
    ("stocks", np.int32, "stocks left"),
    ("jumps_left", np.int32, "jumps left (ground jump included while grounded)"),
    ("x", np.float32, "position x, game units"),
    ("y", np.float32, "position y, game units (up is positive)"),
    ("percent", np.float32, "damage percent"),
    ("facing", np.float32, "+1 facing right, -1 facing left"),
    ("action_frame", np.float32, "frames spent in the current action (1 on its first frame)"),
    ("shield", np.float32, "shield strength, 60 when full"),
    ("hitstun", np.float32, "hitstun frames left"),
    ("hitlag", np.float32, "hitlag frames left"),
    ("speed_air_x", np.float32, "self-induced horizontal air speed"),
    ("speed_y", np.float32, "self-induced vertical speed"),
    ("speed_ground_x", np.float32, "self-induced ground speed"),
    ("speed_attack_x", np.float32, "knockback speed x"),
    ("speed_attack_y", np.float32, "knockback speed y"),
    ("ledge_distance", np.float32, "horizontal distance to the nearer ledge (negative: off stage)"),
    ("exists", np.bool_, "the character is in the game (Nana: present and alive)"),
    ("on_ground", np.bool_, "standing on ground or a platform"),
    ("invulnerable", np.bool_, "cannot be hit (respawn, dodges, ledge)"),
)

#: Controller inputs of one port, libmelee's conventions: sticks and shoulder in [0, 1],
#: 0.5 is a neutral stick.
CONTROLLER_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("main_x", np.float32, "main stick x in [0, 1]"),
    ("main_y", np.float32, "main stick y in [0, 1]"),
    ("c_x", np.float32, "c-stick x in [0, 1]"),
    ("c_y", np.float32, "c-stick y in [0, 1]"),
    ("shoulder", np.float32, "analog shoulder press in [0, 1]"),
)
#: Digital buttons, in the order of the ``buttons`` axis and the action space.
BUTTONS = ("A", "B", "X", "Y", "Z", "L", "R", "D_UP")

PROJECTILE_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("type", np.int32, "item/projectile type (libmelee ProjectileType)"),
    ("owner", np.int32, "player index that owns it, -1 if none"),
    ("x", np.float32, "position x"),
    ("y", np.float32, "position y"),
    ("speed_x", np.float32, "speed x"),
    ("speed_y", np.float32, "speed y"),
    ("exists", np.bool_, "slot in use"),
)

#: The game's own limits: the damage meter stops at 999%, the rules menu allows up to 99 stocks.
MAX_PERCENT = 999.0
MAX_STOCKS = 99

#: Projectile slots every GameState carries (Slippi records up to 15 items per frame).
NUM_PROJECTILE_SLOTS = 15

Body = NamedTuple("Body", [(n, np.ndarray) for n, _, _ in BODY_FIELDS])  # type: ignore[misc]
Body.__doc__ = "Physical state of one character; each field has shape ``S + (P,)``."


class ControllerState(NamedTuple):
    """Controller inputs; ``buttons`` has shape ``S + (8,)`` in :data:`BUTTONS` order."""

    buttons: np.ndarray
    main_x: np.ndarray
    main_y: np.ndarray
    c_x: np.ndarray
    c_y: np.ndarray
    shoulder: np.ndarray


PlayerState = NamedTuple(  # type: ignore[misc]
    "PlayerState",
    [(n, np.ndarray) for n, _, _ in BODY_FIELDS] + [("controller", ControllerState), ("nana", Body)],
)
PlayerState.__doc__ = (
    "Per-player state: the :data:`BODY_FIELDS`, the ``controller`` held this frame and ``nana``, "
    "Ice Climbers' partner (``nana.exists`` is False for every other character)."
)

Projectiles = NamedTuple("Projectiles", [(n, np.ndarray) for n, _, _ in PROJECTILE_FIELDS])  # type: ignore[misc]
Projectiles.__doc__ = "Fixed projectile/item slots; each field has shape ``S + (K,)``."


class GameState(NamedTuple):
    """The state of one or many games; see the module docstring for shapes and units."""

    stage: np.ndarray
    frame: np.ndarray
    players: PlayerState
    projectiles: Projectiles

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.stage.shape)

    @property
    def num_players(self) -> int:
        return int(self.players.x.shape[-1])

    def map(self, fn: Any) -> GameState:
        """Apply ``fn`` to every array (e.g. ``lambda a: a[10:20]``), keeping the structure."""
        return tree_map(fn, self)

    def __getitem__(self, index: Any) -> Any:  # type: ignore[override]
        """Index the batch axes: ``state[3]`` is game 3, ``state[100:200]`` a slice of frames."""
        return tree_map(lambda a: a[index], self)

    def copy(self) -> GameState:
        return tree_map(np.copy, self)


def tree_map(fn: Any, tree: Any) -> Any:
    """Apply ``fn`` to every array leaf of nested NamedTuples."""
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(tree_map(fn, t) for t in tree))
    return fn(tree)


def stack(states: list[GameState], axis: int = 0) -> GameState:
    """Stack states along a new leading batch axis."""
    return tree_map_many(lambda *xs: np.stack(xs, axis=axis), states)


def tree_map_many(fn: Any, trees: list[Any]) -> Any:
    first = trees[0]
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(tree_map_many(fn, list(ts)) for ts in zip(*trees, strict=True)))
    return fn(*trees)


def _kinds(fields: tuple[tuple[str, type, str], ...]) -> dict[type, tuple[str, ...]]:
    return {kind: tuple(n for n, k, _ in fields if k is kind) for kind in (np.int32, np.float32, np.bool_)}


_BODY_KINDS = _kinds(BODY_FIELDS)
_PROJ_KINDS = _kinds(PROJECTILE_FIELDS)
#: Column order of the packed player arrays: body fields, then controller columns.
PLAYER_INT_COLUMNS = _BODY_KINDS[np.int32]
PLAYER_FLOAT_COLUMNS = _BODY_KINDS[np.float32] + tuple(n for n, _, _ in CONTROLLER_FIELDS)
PLAYER_BOOL_COLUMNS = _BODY_KINDS[np.bool_] + tuple(f"button_{b}" for b in BUTTONS)
PROJ_INT_COLUMNS = _PROJ_KINDS[np.int32]
PROJ_FLOAT_COLUMNS = _PROJ_KINDS[np.float32]


def column(columns: tuple[str, ...], name: str) -> int:
    """Index of a packed column; kernels bind these as module constants."""
    return columns.index(name)


class PackedState:
    """A GameState stored in one contiguous array per dtype, for kernels.

    Player arrays have shape ``S + (P, 2, C)``: entity 0 is the player, entity 1 Nana; ``C``
    columns in ``PLAYER_*_COLUMNS`` order. :meth:`view` returns a ``GameState`` whose fields are
    views into these arrays, so kernel writes show through without copying.
    """

    def __init__(
        self, batch_shape: tuple[int, ...], num_players: int = 2, num_projectiles: int = NUM_PROJECTILE_SLOTS
    ) -> None:
        s = tuple(batch_shape)
        p = num_players
        self.stage = np.zeros(s, np.int32)
        self.frame = np.zeros(s, np.int32)
        self.pi = np.zeros(s + (p, 2, len(PLAYER_INT_COLUMNS)), np.int32)
        self.pf = np.zeros(s + (p, 2, len(PLAYER_FLOAT_COLUMNS)), np.float32)
        self.pb = np.zeros(s + (p, 2, len(PLAYER_BOOL_COLUMNS)), np.bool_)
        self.ji = np.zeros(s + (num_projectiles, len(PROJ_INT_COLUMNS)), np.int32)
        self.jf = np.zeros(s + (num_projectiles, len(PROJ_FLOAT_COLUMNS)), np.float32)
        self.jb = np.zeros(s + (num_projectiles,), np.bool_)
        self.pf[..., PLAYER_FLOAT_COLUMNS.index("main_x") :] = 0.5
        self.pf[..., PLAYER_FLOAT_COLUMNS.index("shoulder")] = 0.0
        self._view = self._make_view()

    def _body(self, entity: int) -> Body:
        values = {}
        for name, kind, _ in BODY_FIELDS:
            arr, cols = {
                np.int32: (self.pi, PLAYER_INT_COLUMNS),
                np.float32: (self.pf, PLAYER_FLOAT_COLUMNS),
                np.bool_: (self.pb, PLAYER_BOOL_COLUMNS),
            }[kind]
            values[name] = arr[..., entity, cols.index(name)]
        return Body(**values)

    def _make_view(self) -> GameState:
        body = self._body(0)
        b0 = PLAYER_BOOL_COLUMNS.index("button_A")
        controller = ControllerState(
            buttons=self.pb[..., 0, b0 : b0 + len(BUTTONS)],
            **{n: self.pf[..., 0, PLAYER_FLOAT_COLUMNS.index(n)] for n, _, _ in CONTROLLER_FIELDS},
        )
        players = PlayerState(*body, controller=controller, nana=self._body(1))
        proj = {}
        for name, kind, _ in PROJECTILE_FIELDS:
            if kind is np.bool_:
                proj[name] = self.jb
            elif kind is np.int32:
                proj[name] = self.ji[..., PROJ_INT_COLUMNS.index(name)]
            else:
                proj[name] = self.jf[..., PROJ_FLOAT_COLUMNS.index(name)]
        return GameState(self.stage, self.frame, players, Projectiles(**proj))

    def view(self) -> GameState:
        """The state as a ``GameState`` of views (valid as long as this object lives)."""
        return self._view

    # Pickle and deepcopy copy each array on its own, so a copied ``_view`` would hold views of
    # the *original's* buffers' copies, detached from the copy's live arrays: rebuild it instead.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_view"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._view = self._make_view()

    @classmethod
    def wrap(
        cls,
        stage: np.ndarray,
        frame: np.ndarray,
        pi: np.ndarray,
        pf: np.ndarray,
        pb: np.ndarray,
        ji: np.ndarray,
        jf: np.ndarray,
        jb: np.ndarray,
    ) -> PackedState:
        """A PackedState over existing arrays (no copy); shapes as the constructor makes them."""
        packed = cls.__new__(cls)
        packed.stage, packed.frame, packed.pi, packed.pf, packed.pb = stage, frame, pi, pf, pb
        packed.ji, packed.jf, packed.jb = ji, jf, jb
        packed._view = packed._make_view()
        return packed

    def select(self, rows: Any) -> PackedState:
        """Rows of the leading batch axis (views when ``rows`` is a slice, else copies)."""
        return PackedState.wrap(
            self.stage[rows], self.frame[rows], self.pi[rows], self.pf[rows], self.pb[rows],
            self.ji[rows], self.jf[rows], self.jb[rows],
        )  # fmt: skip

    @classmethod
    def from_state(cls, state: GameState) -> PackedState:
        """Pack any GameState (a copy)."""
        packed = cls(state.batch_shape, state.num_players, state.projectiles.x.shape[-1])
        packed.assign(state)
        return packed

    def assign(self, state: GameState) -> None:
        """Copy ``state`` (same shapes) into this storage."""
        tree_map_many(lambda dst, src: np.copyto(dst, src, casting="unsafe"), [self._view, state])


def zeros(
    batch_shape: tuple[int, ...] = (), num_players: int = 2, num_projectiles: int = NUM_PROJECTILE_SLOTS
) -> GameState:
    """An empty state (neutral sticks, nothing existing) with the given shapes."""
    return PackedState(batch_shape, num_players, num_projectiles).view().copy()


def mirror_x(state: GameState) -> GameState:
    """The same state reflected left-right about the stage centre (a copy).

    Positions, facing, horizontal speeds and horizontal stick axes flip; everything else is
    kept. The legal stages are symmetric, so a mirrored frame is a plausible frame: replay
    datasets use it to double their data.
    """

    def body(b: Any) -> Any:
        return b._replace(
            x=-b.x,
            facing=-b.facing,
            speed_air_x=-b.speed_air_x,
            speed_ground_x=-b.speed_ground_x,
            speed_attack_x=-b.speed_attack_x,
        )

    players = body(state.players)
    controller = players.controller._replace(main_x=1.0 - players.controller.main_x, c_x=1.0 - players.controller.c_x)
    players = players._replace(controller=controller, nana=body(state.players.nana))
    proj = state.projectiles._replace(x=-state.projectiles.x, speed_x=-state.projectiles.speed_x)
    return GameState(state.stage, state.frame, players, proj).copy()
