"""Observation encoder: ``ObsConfig`` -> flat float32 features with a named ``layout``.

The observation is seen from one player (the *ego*): its block comes first, then the opponent's.
Blocks, in order: ``player0`` and ``player1`` (ego, opponent), ``stage``, ``names``, ``spatial``,
``projectiles``, ``controller``, then ``ids`` (integer ids stored as floats, for learned
embeddings). :meth:`ObservationEncoder.layout` maps every block and every player sub-field
(``player0.action``, ``player1.nana``, ...) to its slice.

Encoding runs in one Numba kernel over the whole batch and writes into a preallocated array; the
mock env hands the kernel its packed buffers directly, other callers pass any ``GameState``.

Scales (so features are O(1)): positions, ledge distance and distance / 100; percent / 100;
shield / 60; speeds / 5; hitstun and action frame / 60; stocks / 4; jumps / 6; frame / 28800
(an 8-minute game).

Bounds: every column has a finite range (:meth:`ObservationEncoder.bounds`), derived from the
game's own limits: one-hots and flags in [0, 1]; positions within the legal stages' blast zones
plus a margin; percent up to 999; stocks up to 99; the timer up to 99 minutes; speeds, hitstun
and action frames up to caps no real game reaches. The kernel clips each non-one-hot value to its
range, so an observation is always inside ``observation_space``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from melee_envs.configs import check_fields
from melee_envs.controller import ACTION_SIZE
from melee_envs.data.actions import NUM_ACTIONS, NUM_CATEGORIES, category_table
from melee_envs.data.characters import NUM_CHARACTER_IDS
from melee_envs.data.stages import internal_to_compact_table, internal_to_external_table, stages as legal_stages
from melee_envs.obs_kernel import (
    NUM_OFFSETS,
    O_ACTION,
    O_ACTION_ID,
    O_CHARACTER,
    O_CHARACTER_ID,
    O_CONTROLLER,
    O_FRAME_INFO,
    O_INVULNERABLE,
    O_LEDGE,
    O_NAMES,
    O_NANA,
    O_NANA_ACTION_ID,
    O_NANA_COMPACT,
    O_NUM_NAMES,
    O_PLAYER_SIZE,
    O_PROJECTILE_SLOTS,
    O_PROJECTILES,
    O_SPATIAL,
    O_SPEEDS,
    O_STAGE,
    O_STAGE_ID,
    O_STAGE_MODE,
    O_STOCK,
    _encode,
    _encode_games,
)  # fmt: skip
from melee_envs.state import (
    MAX_PERCENT,
    MAX_STOCKS,
    PROJ_FLOAT_COLUMNS as JF,
    PROJ_INT_COLUMNS as JI,
    GameState,
    PackedState,
)

NUM_STAGES_FULL = 64
NUM_STAGES_COMPACT = 7
NANA_CONTINUOUS = 14
NUM_PROJECTILE_FEATURES = 7
CONTROLLER_FEATURES = ACTION_SIZE  # one feature per action component

#: Ranges of the encoded (scaled) features; see the module docstring.
POSITION_MARGIN = 30.0  # game units past the blast zones (a body crosses them for a frame)
MAX_SPEED = 50.0  # units per frame; knockback at 999% stays under it
MAX_HITSTUN = 300.0  # frames
MAX_ACTION_FRAME = 3600.0  # frames (an action held for a minute; replays count idle loops up)
MAX_GAME_FRAME = 99 * 60 * 60  # the longest timer, 99 minutes
FIRST_GAME_FRAME = -123  # replays start 123 frames before "GO"
MAX_ID = {"action": 398, "character": 32, "stage": 255}


@dataclass(frozen=True)
class ObsConfig:
    """What the observation contains. Defaults work with a stock SB3 ``"MlpPolicy"``.

    Args:
        action_mode: ``one_hot`` (399 per player) or ``learned`` (id appended to ``ids``).
        character_mode: ``one_hot`` (33 per player) or ``learned`` (id appended to ``ids``).
        stage_mode: ``one_hot_full`` (64, by external stage id), ``one_hot_compact`` (7: the six
            legal stages + other) or ``learned`` (id appended to ``ids``).
        nana_mode: ``compact`` (39: 14 values + 25 action categories), ``enhanced`` (14 values,
            Nana's action id appended to ``ids``) or ``off``.
        projectiles: include ``projectile_slots`` slots of 7 features.
        projectile_slots: number of projectile slots encoded (the first ones in use).
        speeds: the five speeds per player.
        frame_info: hitstun and action frame per player.
        stock: stocks per player.
        ledge_distance: distance to the nearer ledge per player.
        spatial: distance, relative x/y and game frame.
        controller: the ego's controller held this frame (ACTION_SIZE: 8 buttons, 4 axes, shoulder).
        player_names: width of the player-style one-hot (the seed uses 112; 0 = off).
    """

    action_mode: Literal["one_hot", "learned"] = "one_hot"
    character_mode: Literal["one_hot", "learned"] = "one_hot"
    stage_mode: Literal["one_hot_full", "one_hot_compact", "learned"] = "one_hot_compact"
    nana_mode: Literal["compact", "enhanced", "off"] = "compact"
    projectiles: bool = True
    projectile_slots: int = 5
    speeds: bool = True
    frame_info: bool = True
    stock: bool = True
    ledge_distance: bool = True
    spatial: bool = True
    controller: bool = True
    player_names: int = 0

    def __post_init__(self) -> None:
        choices = {
            "action_mode": ("one_hot", "learned"),
            "character_mode": ("one_hot", "learned"),
            "stage_mode": ("one_hot_full", "one_hot_compact", "learned"),
            "nana_mode": ("compact", "enhanced", "off"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"ObsConfig.{name}={getattr(self, name)!r}; choose one of {allowed}")
        if not 0 <= self.projectile_slots <= 15:
            raise ValueError(f"ObsConfig.projectile_slots={self.projectile_slots}; must be 0..15")
        if self.player_names < 0:
            raise ValueError("ObsConfig.player_names must be >= 0")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ObsConfig:
        """Build from a dict, rejecting unknown keys by name."""
        check_fields(cls, values, "ObsConfig field")
        return cls(**values)

    @classmethod
    def seed_1204(cls) -> ObsConfig:
        """The seed's documented 1204-wide layout (players 488 each, stage 64, names 112,
        spatial 4, projectiles 35, controller ACTION_SIZE)."""
        return cls(stage_mode="one_hot_full", player_names=112)

    @classmethod
    def learned(cls) -> ObsConfig:
        """Compact layout for networks with learned embeddings (ids in ``ids``)."""
        return cls(action_mode="learned", character_mode="learned", stage_mode="learned", nana_mode="enhanced")

    @classmethod
    def preset(cls, name: str) -> ObsConfig:
        """A named layout: ``learned`` (compact ids), ``default`` (the env's one-hot), ``seed_1204``."""
        makers = {"learned": cls.learned, "default": cls, "seed_1204": cls.seed_1204}
        if name not in makers:
            raise ValueError(f"unknown observation preset {name!r}; choose one of {', '.join(OBS_PRESETS)}")
        return makers[name]()


#: The named observation layouts (:meth:`ObsConfig.preset`).
OBS_PRESETS = ("learned", "default", "seed_1204")


def _player_fields(cfg: ObsConfig) -> list[tuple[str, int]]:
    out = [("percent", 1), ("facing", 1), ("x", 1), ("y", 1)]
    if cfg.action_mode == "one_hot":
        out.append(("action", NUM_ACTIONS))
    if cfg.character_mode == "one_hot":
        out.append(("character", NUM_CHARACTER_IDS))
    out += [("invulnerable", 1), ("jumps", 1), ("shield", 1), ("on_ground", 1)]
    if cfg.speeds:
        out.append(("speeds", 5))
    if cfg.frame_info:
        out.append(("frame_info", 2))
    if cfg.stock:
        out.append(("stock", 1))
    if cfg.ledge_distance:
        out.append(("ledge_distance", 1))
    nana = {"compact": NANA_CONTINUOUS + NUM_CATEGORIES, "enhanced": NANA_CONTINUOUS, "off": 0}
    if nana[cfg.nana_mode]:
        out.append(("nana", nana[cfg.nana_mode]))
    return out


class ObservationEncoder:
    """Encodes ``GameState`` batches for one :class:`ObsConfig`."""

    def __init__(self, config: ObsConfig | None = None) -> None:
        self.config = config = config or ObsConfig()
        self._layout: dict[str, slice] = {}
        pos = 0
        player = _player_fields(config)
        self.player_size = sum(n for _, n in player)
        for p in (0, 1):
            start = pos
            for name, n in player:
                self._layout[f"player{p}.{name}"] = slice(pos, pos + n)
                pos += n
            self._layout[f"player{p}"] = slice(start, pos)
        blocks = [
            (
                "stage",
                {"one_hot_full": NUM_STAGES_FULL, "one_hot_compact": NUM_STAGES_COMPACT, "learned": 0}[
                    config.stage_mode
                ],
            ),
            ("names", config.player_names),
            ("spatial", 4 if config.spatial else 0),
            ("projectiles", NUM_PROJECTILE_FEATURES * config.projectile_slots if config.projectiles else 0),
            ("controller", CONTROLLER_FEATURES if config.controller else 0),
        ]
        self.id_names: list[str] = []
        if config.action_mode == "learned":
            self.id_names += ["action0", "action1"]
            if config.nana_mode == "enhanced":
                self.id_names += ["nana_action0", "nana_action1"]
        if config.character_mode == "learned":
            self.id_names += ["character0", "character1"]
        if config.stage_mode == "learned":
            self.id_names.append("stage")
        blocks.append(("ids", len(self.id_names)))
        for name, n in blocks:
            if n:
                self._layout[name] = slice(pos, pos + n)
                pos += n
        self.size = pos
        self._offsets = self._kernel_offsets(player)
        self._cats = category_table()
        self._ext = internal_to_external_table()
        self._compact = internal_to_compact_table()
        self._low, self._high, clip = self._column_bounds(player)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], clip, [False]]).astype(np.int8)))
        self._clip = edges.reshape(-1, 2).astype(np.int64)  # runs of clipped columns, [start, stop)
        self._bound: tuple | None = None  # reshaped views of the last packed state seen

    def __getstate__(self) -> dict[str, Any]:
        # the bound views belong to the original's buffers; a copy binds its own on first use
        return {**self.__dict__, "_bound": None}

    @property
    def layout(self) -> dict[str, slice]:
        """Name -> slice of the flat observation (blocks and ``playerN.field`` sub-fields)."""
        return dict(self._layout)

    def observation_space(self) -> spaces.Box:
        """A finite ``Box`` (see :meth:`bounds`); the encoder keeps every value inside it."""
        return spaces.Box(self._low.copy(), self._high.copy(), dtype=np.float32)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of every column (copies)."""
        return self._low.copy(), self._high.copy()

    def _column_bounds(self, player: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Low and high of each column, and the columns the kernel clips (all but one-hots)."""
        low = np.zeros(self.size, np.float32)
        high = np.ones(self.size, np.float32)
        clip = np.zeros(self.size, np.bool_)
        legal = legal_stages().values()
        x = (max(max(-s.blast_left, s.blast_right) for s in legal) + POSITION_MARGIN) / 100.0
        y_lo = (min(s.blast_bottom for s in legal) - POSITION_MARGIN) / 100.0
        y_hi = (max(s.blast_top for s in legal) + POSITION_MARGIN) / 100.0
        pct, stock, speed = MAX_PERCENT / 100.0, MAX_STOCKS / 4.0, MAX_SPEED / 5.0
        hitstun, aframe = MAX_HITSTUN / 60.0, MAX_ACTION_FRAME / 60.0
        height = y_hi - y_lo

        def put(start: int, ranges: list[tuple[float, float]]) -> None:
            for k, (lo, hi) in enumerate(ranges):
                low[start + k], high[start + k], clip[start + k] = lo, hi, True

        flag = (0.0, 1.0)
        per_field = {
            "percent": [(0.0, pct)],
            "facing": [(-1.0, 1.0)],
            "x": [(-x, x)],
            "y": [(y_lo, y_hi)],
            "invulnerable": [flag],
            "jumps": [flag],
            "shield": [flag],
            "on_ground": [flag],
            "speeds": [(-speed, speed)] * 5,
            "frame_info": [(0.0, hitstun), (0.0, aframe)],
            "stock": [(0.0, stock)],
            "ledge_distance": [(-x, x)],
            "nana": [flag, (-x, x), (y_lo, y_hi), (-2 * x, 2 * x), (-height, height), (-1.0, 1.0), flag,
                     (0.0, pct), (0.0, stock), flag, flag, flag, (0.0, hitstun), (0.0, aframe)],
        }  # fmt: skip
        for p in (0, 1):
            for name, _ in player:
                if name in per_field:  # the rest are one-hots: [0, 1] by construction
                    put(self._layout[f"player{p}.{name}"].start, per_field[name])
        frames = (FIRST_GAME_FRAME / 28800.0, MAX_GAME_FRAME / 28800.0)
        blocks = {
            "spatial": [(0.0, float(np.hypot(2 * x, height))), (-2 * x, 2 * x), (-height, height), frames],
            "projectiles": [flag, (-1.0, 1.0), flag, (-x, x), (y_lo, y_hi), (-speed, speed), (-speed, speed)]
            * self.config.projectile_slots,
            "controller": [flag] * CONTROLLER_FEATURES,
            "ids": [(0.0, float(MAX_ID[n.rstrip("01").removeprefix("nana_")])) for n in self.id_names],
        }
        for name, ranges in blocks.items():
            if name in self._layout:
                put(self._layout[name].start, ranges)
        return low, high, clip

    def _kernel_offsets(self, player: list[tuple[str, int]]) -> np.ndarray:
        """Offsets the kernel needs, -1 where a feature is off."""
        names = [n for n, _ in player]
        rel = {n: self._layout[f"player0.{n}"].start for n in names}
        get = lambda key: self._layout[key].start if key in self._layout else -1  # noqa: E731
        ids = {n: self._layout["ids"].start + i for i, n in enumerate(self.id_names)}
        o = np.full(NUM_OFFSETS, -1, np.int64)
        o[O_PLAYER_SIZE] = self.player_size
        for key, name in ((O_ACTION, "action"), (O_CHARACTER, "character"), (O_SPEEDS, "speeds"),
                          (O_FRAME_INFO, "frame_info"), (O_STOCK, "stock"), (O_LEDGE, "ledge_distance"),
                          (O_NANA, "nana"), (O_INVULNERABLE, "invulnerable")):  # fmt: skip
            o[key] = rel.get(name, -1)
        o[O_NANA_COMPACT] = 1 if self.config.nana_mode == "compact" else 0
        o[O_STAGE] = get("stage")
        o[O_STAGE_MODE] = {"one_hot_full": 0, "one_hot_compact": 1, "learned": 2}[self.config.stage_mode]
        o[O_NAMES], o[O_NUM_NAMES] = get("names"), self.config.player_names
        o[O_SPATIAL], o[O_PROJECTILES], o[O_CONTROLLER] = get("spatial"), get("projectiles"), get("controller")
        o[O_PROJECTILE_SLOTS] = self.config.projectile_slots if self.config.projectiles else 0
        o[O_ACTION_ID], o[O_NANA_ACTION_ID] = ids.get("action0", -1), ids.get("nana_action0", -1)
        o[O_CHARACTER_ID], o[O_STAGE_ID] = ids.get("character0", -1), ids.get("stage", -1)
        return o

    def kernel_tables(self) -> tuple[np.ndarray, ...]:
        """The constant arrays :func:`encode_row` takes after ``row`` (offsets, id tables, the
        clipped columns and the bounds)."""
        return self._offsets, self._cats, self._ext, self._compact, self._clip, self._low, self._high

    def allocate(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.size), np.float32)

    def encode(
        self,
        state: GameState,
        ego: int | np.ndarray = 0,
        out: np.ndarray | None = None,
        style_ids: np.ndarray | None = None,
        mirror: bool = False,
    ) -> np.ndarray:
        """Encode any ``GameState`` (batch shape ``S``) from player ``ego``'s view.

        ``mirror``: x-mirrored (positions, facing, horizontal speeds, stick x), the view the
        self-play env gives port 2. Returns an array of shape ``S + (size,)`` (``out`` if given,
        flattened batch).
        """
        if state.num_players != 2:
            raise ValueError(
                f"the encoder sees two players; this state has {state.num_players} (select two ports first)"
            )
        packed = PackedState.from_state(state)
        return self.encode_packed(packed, ego, out, style_ids, mirror).reshape(state.batch_shape + (self.size,))

    def encode_packed(
        self,
        packed: PackedState,
        ego: int | np.ndarray = 0,
        out: np.ndarray | None = None,
        style_ids: np.ndarray | None = None,
        mirror: bool = False,
    ) -> np.ndarray:
        """Encode packed buffers (the mock env's fast path); returns ``(N, size)``."""
        _, n, arrays, egos, styles = self._bind(packed)
        if out is None:
            out = self.allocate(n)
        egos[:] = ego
        styles[:] = 0 if style_ids is None else style_ids
        _encode(*arrays, egos, styles, bool(mirror), out, *self.kernel_tables())
        return out

    def encode_games(
        self,
        packed: PackedState,
        games: np.ndarray,
        egos: np.ndarray,
        mirrors: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Row ``k`` = game ``games[k]`` of a packed batch seen from player ``egos[k]``, x-mirrored
        where ``mirrors[k]``; returns ``(len(games), size)`` (tournaments: each player's own games)."""
        if out is None:
            out = self.allocate(len(games))
        _encode_games(
            *self._bind(packed)[2], np.ascontiguousarray(games, np.int64), np.ascontiguousarray(egos, np.int64),
            np.ascontiguousarray(mirrors, np.bool_), out, *self.kernel_tables(),
        )  # fmt: skip
        return out

    def _bind(self, packed: PackedState) -> tuple:
        """``(packed, n, flat views of its arrays, ego buffer, style buffer)``, kept for the last
        packed state seen (an env encodes the same buffers every step)."""
        if self._bound is None or self._bound[0] is not packed:
            n = int(np.prod(packed.stage.shape))
            arrays = (
                packed.pi.reshape(n, 2, 2, -1),
                packed.pf.reshape(n, 2, 2, -1),
                packed.pb.reshape(n, 2, 2, -1),
                packed.stage.reshape(n),
                packed.frame.reshape(n),
                packed.ji.reshape(n, -1, len(JI)),
                packed.jf.reshape(n, -1, len(JF)),
                packed.jb.reshape(n, -1),
            )
            self._bound = (packed, n, arrays, np.zeros(n, np.int64), np.zeros(n, np.int64))
        return self._bound
