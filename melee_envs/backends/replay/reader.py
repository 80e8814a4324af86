"""Read a Slippi replay (``.slp``) into a ``GameState`` over its time axis, with peppi-py.

The whole file is parsed by peppi-py into Arrow arrays and every field is converted column by
column (no per-frame Python). Conventions match libmelee's replay reader, so a replay and a live
Dolphin game give the same values:

* positions, percent, stocks, action ids, facing, shield, jumps, hitlag, speeds: the post-frame
  block as recorded; fields a Slippi version does not record are 0 (see ``ReplayMeta.has_*``);
* ``action_frame``: 1-based like libmelee's (the game's counter truncated, plus 1 for the actions
  libmelee's ``actiondata.csv`` marks zero-indexed); ``hitlag`` truncated to whole frames;
* ``hitstun``: the game's "misc action-state" counter (whole frames) while the player is in a
  damage action, else 0; ``ledge_distance`` from libmelee's stage edges (negative off stage);
* controller: physical buttons, processed sticks mapped to libmelee's [0, 1] (``x / 2 + 0.5``)
  and the processed analog shoulder;
* rollback netplay rows: the last version of each frame index is kept, one row per frame;
* Ice Climbers: the follower block fills ``players.nana``; items fill the 15 projectile slots.

Items come from peppi-py's raw Arrow frame data (``peppi_py._peppi``), because its public
``Frame`` type leaves them out; the layout is pinned by the ``peppi-py`` version range in
``pyproject.toml``, and a layout change is reported as a clear error, not misread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from melee_envs.backends.replay import estimates
from melee_envs.backends.replay.meta import (
    ReplayError,
    ReplayMeta,
    end_method,
    player_info,
    stage_name,
    winner_port,
)
from melee_envs.data.actions import DAMAGE_ACTIONS, zero_indexed_table
from melee_envs.data.stages import external_to_internal, geometry_arrays
from melee_envs.state import (
    BUTTONS,
    NUM_PROJECTILE_SLOTS,
    PLAYER_BOOL_COLUMNS as PB,
    PLAYER_FLOAT_COLUMNS as PF,
    PLAYER_INT_COLUMNS as PI,
    PROJ_FLOAT_COLUMNS as JF,
    PROJ_INT_COLUMNS as JI,
    GameState,
    PackedState,
    tree_map,
)

#: Every Slippi file starts with the UBJSON opening of its "raw" element.
MAGIC = b"{U\x03raw[$U#l"
#: Physical-button bits of the pre-frame block, in ``BUTTONS`` order (A B X Y Z L R D-up).
BUTTON_BITS = {
    "A": 0x0100,
    "B": 0x0200,
    "X": 0x0400,
    "Y": 0x0800,
    "Z": 0x0010,
    "L": 0x0040,
    "R": 0x0020,
    "D_UP": 0x0008,
}
_PORTS = ("P1", "P2", "P3", "P4")
_ZERO_INDEXED = zero_indexed_table()


@dataclass(frozen=True)
class Replay:
    """A replay read into memory.

    Attributes:
        state: ``GameState`` with batch shape ``(num_frames,)`` and one player per port in the
            game, in port order (``meta.ports``).
        meta: what the file says about the game.
    """

    state: GameState
    meta: ReplayMeta
    packed: PackedState | None = field(default=None, repr=False, compare=False)
    """The storage behind ``state`` (kernels and the dataset builder read it directly)."""

    def __len__(self) -> int:
        return self.meta.num_frames

    def two_players(self, ports: tuple[int, int] | None = None) -> GameState:
        """The state restricted to two ports (default: the two of a 1v1), as the encoder needs.

        Projectile owners are renumbered to the new player axis (-1 for items of other ports).

        Raises:
            ValueError: naming the file, when the game does not have exactly two players and no
                ports are given, or a port is not in the game.
        """
        if ports is None:
            if len(self.meta.players) != 2:
                raise ValueError(
                    f"{self.meta.path}: {len(self.meta.players)} players (ports {list(self.meta.ports)}); "
                    "pass ports=(a, b) to pick two"
                )
            ports = (self.meta.ports[0], self.meta.ports[1])
        for port in ports:
            self.meta.player(port)  # raises naming the file and the ports in the game
        index = [self.meta.ports.index(port) for port in ports]
        players = tree_map(lambda a: a[:, index], self.state.players)
        remap = np.full(5, -1, np.int32)
        remap[index] = np.arange(len(index), dtype=np.int32)
        owner = self.state.projectiles.owner
        owner = np.where(owner >= 0, remap[np.clip(owner, 0, 4)], -1).astype(np.int32)
        projectiles = self.state.projectiles._replace(owner=owner)
        return GameState(self.state.stage, self.state.frame, players, projectiles)


def check_header(path: str | Path) -> int:
    """Cheap checks before parsing: the file exists, is not empty, starts like a Slippi replay
    and was finalised. Returns its size in bytes.

    Raises:
        ReplayError: with a one-line reason.
    """
    p = Path(path)
    try:
        if not p.exists():
            raise ReplayError(p, "no such file")
        if p.is_dir():
            raise ReplayError(p, "is a directory, not a replay file")
        size = p.stat().st_size
        if size == 0:
            raise ReplayError(p, "empty file")
        with open(p, "rb") as fh:
            head = fh.read(len(MAGIC) + 4)
    except OSError as exc:  # permissions, a vanished file, an I/O error
        raise ReplayError(p, f"cannot read it: {exc.strerror or exc}") from None
    if not head.startswith(MAGIC):
        kind = "a PNG image" if head.startswith(b"\x89PNG") else "text" if head[:8].isascii() else "binary data"
        raise ReplayError(p, f"not a Slippi replay (starts with {kind}: {head[:8]!r})")
    if len(head) < len(MAGIC) + 4:
        raise ReplayError(p, f"truncated: {size} bytes, shorter than a Slippi header")
    raw_length = int.from_bytes(head[len(MAGIC) :], "big")
    if raw_length == 0:
        raise ReplayError(p, "unfinished recording: the replay was never finalised (raw length 0)")
    if raw_length + len(MAGIC) + 4 > size:
        raise ReplayError(p, f"truncated: header promises {raw_length} bytes of frames, file has {size} in all")
    return size


def parse(path: str | Path) -> Any:
    """peppi-py's raw parse of ``path`` (start/end/metadata dicts and Arrow frames).

    Every failure, including Rust panics that pyo3 raises as a ``BaseException``, becomes a
    ``ReplayError`` with one line of reason.
    """
    check_header(path)
    try:
        from peppi_py import _peppi
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading replays needs peppi-py: pip install 'exphil[replays]'") from exc
    try:
        game = _peppi.read_slippi(os.fspath(path), False)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReplayError(path, f"peppi-py cannot parse it: {message}") from None
    if game.frames is None or len(game.frames) == 0:
        raise ReplayError(path, "no frames recorded")
    return game


def read_replay(path: str | Path, *, items: bool = True) -> Replay:
    """Read a ``.slp`` file into a :class:`Replay` (``.state`` over time, ``.meta``).

    Args:
        path: the replay file.
        items: read items/projectiles into the state's slots (skip for a little speed).

    Raises:
        ReplayError: the file is missing, not a replay, truncated, unfinished, or peppi-py
            rejects it; the message names the file and says why in one line.
    """
    game = parse(path)
    try:
        return _convert(path, game, items)
    except ReplayError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ReplayError(path, f"unexpected frame layout ({type(exc).__name__}: {exc}); is peppi-py 0.8?") from None


def _np(arr: Any) -> np.ndarray:
    if arr.null_count:
        arr = arr.fill_null(0)
    return arr.to_numpy(zero_copy_only=False)


def _valid(*structs: Any) -> np.ndarray:
    out = np.ones(len(structs[0]), bool)
    for struct in structs:
        if struct.null_count:
            out &= _np(struct.is_valid()).astype(bool)
    return out


def _field(struct: Any, *names: str) -> Any:
    """Nested struct child, or None where this Slippi version does not record it."""
    for name in names:
        if struct is None or struct.type.get_field_index(name) < 0:
            return None
        struct = struct.field(name)
    return struct


def _convert(path: str | Path, game: Any, items: bool) -> Replay:  # noqa: PLR0915
    frames = game.frames
    ids = _np(frames.field("id")).astype(np.int64)
    # Rollback: keep the last row of every frame index, in frame order.
    order = np.unique(ids[::-1], return_index=True)[1]
    rows = len(ids) - 1 - order
    frame_ids = ids[rows]
    t = len(rows)
    # Without rollbacks every row is kept: a slice lets each column convert without a copy.
    keep: np.ndarray | slice = slice(None) if t == len(ids) else rows

    start = game.start
    end = game.end
    stage_ext = int(start["stage"])
    stage = external_to_internal(stage_ext)
    ports_struct = frames.field("ports")
    present = [p for p in _PORTS if ports_struct.type.get_field_index(p) >= 0]
    starts = {str(pl["port"]): pl for pl in start["players"]}
    present = [p for p in present if p in starts] or present
    num_players = len(present)
    if num_players == 0:
        raise ReplayError(path, "no players in the frame data")

    packed = PackedState((t,), num_players)
    packed.stage[:] = stage
    packed.frame[:] = frame_ids
    ground_x = float(geometry_arrays()["ground_x"][stage])
    unrecorded: set[str] = set()
    for p, port in enumerate(present):
        port_data = ports_struct.field(port)
        leader = port_data.field("leader")
        # A player out of the game (doubles) has null rows; their children hold no real values.
        valid = _valid(port_data, leader, leader.field("post"))[keep]
        unrecorded |= _fill_body(packed, p, 0, leader.field("post"), keep, valid, ground_x)
        _fill_controller(packed, p, leader.field("pre"), keep, valid)
        follower = _field(port_data, "follower")
        if follower is not None:
            valid = _valid(port_data, follower, follower.field("post"))[keep]
            _fill_body(packed, p, 1, follower.field("post"), keep, valid, ground_x)
    if unrecorded:
        _estimate(packed, unrecorded)

    has_owner = False
    if items:
        has_owner = _fill_items(packed, frames, rows, [int(p[1]) - 1 for p in present])

    last = packed.view()
    stocks = last.players.stocks[-1]
    percent = last.players.percent[-1]
    ports = tuple(int(p[1]) for p in present)
    version = tuple(int(v) for v in start["slippi"]["version"])
    metadata = game.metadata or {}
    meta = ReplayMeta(
        path=str(path),
        slippi_version=(version + (0, 0, 0))[:3],  # type: ignore[arg-type]
        stage=stage,
        stage_external=stage_ext,
        stage_name=stage_name(stage_ext),
        players=tuple(player_info(starts[p]) for p in present if p in starts),
        num_frames=t,
        first_frame=int(frame_ids[0]),
        last_frame=int(frame_ids[-1]),
        rollback_rows=len(ids) - t,
        missing_frames=int(frame_ids[-1] - frame_ids[0] + 1 - t),
        end_method=end_method(end),
        winner_port=winner_port(end, ports, stocks, percent),
        start_time=str(metadata.get("startAt", "")),
        played_on=str(metadata.get("playedOn", "")),
        is_teams=bool(start.get("is_teams")),
        is_pal=bool(start.get("is_pal")),
        has_velocities="velocities" not in unrecorded,
        estimated=tuple(sorted(unrecorded)),
        has_item_owner=has_owner,
        game_seed=int(start.get("random_seed") or 0),
        extra={"metadata": metadata, "end": end},
    )
    return Replay(packed.view(), meta, packed)


def _fill_body(
    packed: PackedState, p: int, entity: int, post: Any, keep: np.ndarray | slice, valid: np.ndarray, ground_x: float
) -> bool:
    """Copy one post-frame block into entity ``entity`` of player ``p``; returns the names of the
    fields this file's version does not record and :func:`_estimate` fills (``"airborne"``,
    ``"velocities"``)."""
    ints, floats, bools = packed.pi[:, p, entity], packed.pf[:, p, entity], packed.pb[:, p, entity]

    def col(*names: str) -> np.ndarray | None:
        arr = _field(post, *names)
        return None if arr is None else _np(arr)[keep]

    action = col("state")
    ints[:, PI.index("character")] = col("character")
    ints[:, PI.index("action")] = action
    ints[:, PI.index("stocks")] = col("stocks")
    jumps = col("jumps")
    # Files before Slippi 2.0 do not record jumps; 1 is what libmelee reports for them live.
    ints[:, PI.index("jumps_left")] = 1 if jumps is None else jumps
    x = col("position", "x")
    floats[:, PF.index("x")] = x
    floats[:, PF.index("y")] = col("position", "y")
    floats[:, PF.index("percent")] = col("percent")
    floats[:, PF.index("facing")] = np.sign(col("direction"))
    floats[:, PF.index("shield")] = col("shield")
    floats[:, PF.index("ledge_distance")] = ground_x - np.abs(x)
    age = col("state_age")
    if age is not None:
        character = ints[:, PI.index("character")].clip(0, 32)
        floats[:, PF.index("action_frame")] = np.trunc(age) + _ZERO_INDEXED[character, action.clip(0, 511)]
    hitlag = col("hitlag")
    if hitlag is not None:
        floats[:, PF.index("hitlag")] = np.trunc(hitlag)
    misc = col("misc_as")
    if misc is not None:
        in_damage = (action >= DAMAGE_ACTIONS[0]) & (action <= DAMAGE_ACTIONS[1])
        floats[:, PF.index("hitstun")] = np.where(in_damage, np.trunc(misc), 0.0)
    velocities = (
        ("speed_air_x", "self_x_air"),
        ("speed_y", "self_y"),
        ("speed_ground_x", "self_x_ground"),
        ("speed_attack_x", "knockback_x"),
        ("speed_attack_y", "knockback_y"),
    )
    unrecorded = set() if _field(post, "velocities") is not None else {"velocities"}
    for name, source in velocities:
        values = col("velocities", source)
        if values is not None:
            floats[:, PF.index(name)] = values
    airborne = col("airborne")
    if airborne is None:
        unrecorded.add("airborne")
    else:
        bools[:, PB.index("on_ground")] = airborne == 0
    hurtbox = col("hurtbox_state")
    if hurtbox is not None:
        bools[:, PB.index("invulnerable")] = hurtbox != 0
    bools[:, PB.index("exists")] = valid
    if not valid.all():
        # Rows where the character is absent hold zeros (neutral sticks), not stale values.
        absent = ~valid
        ints[absent, : len(PI)] = 0
        floats[absent, : PF.index("main_x")] = 0.0
        bools[absent, : PB.index("button_A")] = False
    return unrecorded


def _estimate(packed: PackedState, unrecorded: set[str]) -> None:
    """Fill the fields older Slippi versions do not record from the positions
    (:mod:`melee_envs.backends.replay.estimates`)."""
    frame = packed.frame.astype(np.int64)
    consecutive = np.concatenate([[False], np.diff(frame) == 1])
    stage = int(packed.stage[0])
    for p in range(packed.pi.shape[1]):
        for entity in range(packed.pi.shape[2]):
            ints, floats, bools = packed.pi[:, p, entity], packed.pf[:, p, entity], packed.pb[:, p, entity]
            x, y = floats[:, PF.index("x")], floats[:, PF.index("y")]
            exists = bools[:, PB.index("exists")]
            if not exists.any():
                continue
            if "airborne" in unrecorded:
                bools[:, PB.index("on_ground")] = estimates.on_ground(x, y, stage) & exists
            if "velocities" in unrecorded:
                stocks = ints[:, PI.index("stocks")]
                moved = consecutive & exists & np.concatenate([[False], exists[:-1] & (np.diff(stocks) == 0)])
                found = estimates.speeds(
                    x,
                    y,
                    bools[:, PB.index("on_ground")],
                    ints[:, PI.index("action")],
                    ints[:, PI.index("character")],
                    moved,
                )
                for name, value in found.items():
                    floats[:, PF.index(name)] = value


def _fill_controller(packed: PackedState, p: int, pre: Any, keep: np.ndarray | slice, valid: np.ndarray) -> None:
    floats, bools = packed.pf[:, p, 0], packed.pb[:, p, 0]
    bits = _np(pre.field("buttons_physical")).astype(np.int64)[keep]
    b0 = PB.index("button_A")
    for k, name in enumerate(BUTTONS):
        bools[:, b0 + k] = (bits & BUTTON_BITS[name]) != 0
    for column, names in (
        ("main_x", ("joystick", "x")),
        ("main_y", ("joystick", "y")),
        ("c_x", ("cstick", "x")),
        ("c_y", ("cstick", "y")),
    ):
        values = np.nan_to_num(_np(_field(pre, *names))[keep], nan=0.0)
        floats[:, PF.index(column)] = values / 2.0 + 0.5
    floats[:, PF.index("shoulder")] = np.nan_to_num(_np(pre.field("triggers"))[keep], nan=0.0)
    if not valid.all():
        bools[~valid, b0 : b0 + len(BUTTONS)] = False
        floats[~valid, PF.index("main_x") : PF.index("shoulder")] = 0.5
        floats[~valid, PF.index("shoulder")] = 0.0


def _fill_items(packed: PackedState, frames: Any, keep: np.ndarray, port_index: list[int]) -> bool:
    """Fill the projectile slots (the first 15 items of each kept frame); returns has-owner."""
    item_list = _field(frames, "item")
    if item_list is None:
        return False
    offsets = _np(item_list.offsets).astype(np.int64)
    counts = np.diff(offsets)[keep]
    if counts.sum() == 0:
        return _field(item_list.values, "owner") is not None
    rows = np.repeat(np.arange(len(keep)), counts)
    slot = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    source = np.repeat(offsets[keep], counts) + slot
    fits = slot < NUM_PROJECTILE_SLOTS
    rows, source, slot = rows[fits], source[fits], slot[fits]
    values = item_list.values

    def col(*names: str) -> np.ndarray:
        return _np(_field(values, *names))[source]

    packed.jb[rows, slot] = True
    packed.ji[rows, slot, JI.index("type")] = col("type")
    owner_arr = _field(values, "owner")
    if owner_arr is not None:
        owner = _np(owner_arr)[source].astype(np.int64)
        lookup = np.full(5, -1, np.int32)
        lookup[port_index] = np.arange(len(port_index), dtype=np.int32)
        packed.ji[rows, slot, JI.index("owner")] = np.where(owner >= 0, lookup[np.clip(owner, 0, 4)], -1)
    else:
        packed.ji[rows, slot, JI.index("owner")] = -1
    packed.jf[rows, slot, JF.index("x")] = col("position", "x")
    packed.jf[rows, slot, JF.index("y")] = col("position", "y")
    packed.jf[rows, slot, JF.index("speed_x")] = col("velocity", "x")
    packed.jf[rows, slot, JF.index("speed_y")] = col("velocity", "y")
    return owner_arr is not None
