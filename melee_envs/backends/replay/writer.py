"""Write a ``GameState`` over time as a Slippi replay (``.slp``), the format Slippi's own tools,
peppi, slippi-js and Dolphin's replay playback read.

The file follows the public Slippi replay specification at version 3.18.0 (the newest the shared
replays use): the UBJSON wrapper (``raw`` event stream, then ``metadata``), the event-payloads
table, game start, then for every frame: frame start, a pre-frame and a post-frame event for every
character in the game (Ice Climbers' Nana as the follower), one item update per occupied
projectile slot, and the frame bookend; game end; and the metadata (start time, last frame,
players with their characters and names, ``playedOn``).

What the file holds is what :func:`~melee_envs.backends.replay.reader.read_replay` reads, so a
written state reads back equal (float32 values exactly; integer-valued counters as the reader
truncates them). The inverse conversions: sticks ``x`` in [0, 1] are written as the game's
``2x - 1``; ``action_frame`` (1-based) as the game's counter (minus 1 except for the actions
libmelee marks zero-indexed); ``hitstun`` as the misc action-state counter; ``on_ground`` as the
airborne flag; ``invulnerable`` as the hurtbox state. Values the mock engine does not model
(random seeds, last attack, combo counters, animation indices) are written as a neutral game
would hold them. Stage and character ids are converted to the game-start (external) numbering.
"""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from melee_envs.atomic import atomic_path
from melee_envs.backends.replay.reader import BUTTON_BITS, MAGIC
from melee_envs.data.actions import zero_indexed_table
from melee_envs.data.characters import internal_to_external
from melee_envs.data.stages import internal_to_external_table
from melee_envs.state import BUTTONS, GameState

VERSION = (3, 18, 0)
EVENT_PAYLOADS, GAME_START, PRE_FRAME, POST_FRAME, GAME_END = 0x35, 0x36, 0x37, 0x38, 0x39
FRAME_START, ITEM_UPDATE, FRAME_BOOKEND = 0x3A, 0x3B, 0x3C
#: Payload sizes at 3.18.0 (bytes after the command byte), as every 3.18 recording declares them.
SIZES = {
    GAME_START: 760,
    PRE_FRAME: 66,
    POST_FRAME: 84,
    GAME_END: 6,
    FRAME_START: 12,
    ITEM_UPDATE: 44,
    FRAME_BOOKEND: 8,
}
#: Game-end methods (the reader's ``END_METHODS`` inverted).
END_METHOD_IDS = {"unresolved": 0, "time": 1, "game": 2, "resolved": 3, "no_contest": 7}

# The game-info block's rules (offsets 0x5-0x64 of game start) as a Slippi 3.18 VS-mode recording
# holds them (peppi's test replay v3.18.slp): stock mode, timer counting down, items off; the
# stage (0x13) and timer (0x15) are written per game.
_RULES = bytes.fromhex(
    "3201864cc3000000000000ffff6e0002000001e0000000000000000000000000ffffffffffffffff000000003f8000003f80"
    "00003f80000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
)
# One 0x24-byte player slot of the game-info block (character, type, stocks, costume at 0-3; the
# player bitfield at 12; the CPU level at 15; offense, defense and model scale 1.0 at 24-35).
_SLOT = bytes.fromhex("1a03040000ff0000090078004000040100000000000000003f8000003f8000003f800000")
_PLAYER_TYPES = {"human": 0, "cpu": 1}


@dataclass(frozen=True)
class ReplayPlayer:
    """Who plays a port: ``name`` goes in the display-name field and the metadata (Shift-JIS, at
    most 30 bytes), ``kind`` is ``human`` or ``cpu`` (with ``cpu_level``); ``character`` is the
    one chosen on the character-select screen (internal id; default: the first frame's, which
    differs where Zelda started as Sheik)."""

    port: int
    name: str = ""
    kind: str = "human"
    cpu_level: int = 9
    costume: int = 0
    character: int | None = None


def _dtype(spec: str) -> np.dtype:
    """A packed big-endian record type from ``"name:format name:format ..."`` (Slippi's layout)."""
    fields = [item.split(":") for item in spec.split()]
    return np.dtype({"names": [n for n, _ in fields], "formats": [f for _, f in fields]})


#: Pre-frame (0x37), post-frame (0x38) and item-update (0x3B) events at 3.18.0, field by field.
PRE_DTYPE = _dtype(
    "cmd:u1 frame:>i4 index:u1 follower:u1 seed:>u4 action:>u2 x:>f4 y:>f4 facing:>f4 jx:>f4 jy:>f4 cx:>f4 cy:>f4 "
    "trigger:>f4 processed:>u4 physical:>u2 phys_l:>f4 phys_r:>f4 ucf_x:i1 percent:>f4 raw_y:i1 raw_cx:i1 raw_cy:i1"
)
POST_DTYPE = _dtype(
    "cmd:u1 frame:>i4 index:u1 follower:u1 character:u1 action:>u2 x:>f4 y:>f4 facing:>f4 percent:>f4 shield:>f4 "
    "last_attack:u1 combo:u1 last_hit_by:u1 stocks:u1 age:>f4 flags:V5 misc:>f4 airborne:u1 ground:>u2 jumps:u1 "
    "l_cancel:u1 hurtbox:u1 self_x_air:>f4 self_y:>f4 knockback_x:>f4 knockback_y:>f4 self_x_ground:>f4 hitlag:>f4 "
    "animation:>u4 hit_by_instance:>u2 instance:>u2"
)
ITEM_DTYPE = _dtype(
    "cmd:u1 frame:>i4 type:>u2 state:u1 facing:>f4 vx:>f4 vy:>f4 x:>f4 y:>f4 damage:>u2 expiration:>f4 spawn:>u4 "
    "misc:V4 owner:i1 instance:>u2"
)


def encode_replay(
    state: GameState,
    players: Sequence[ReplayPlayer] | None = None,
    *,
    end_method: str = "game",
    winner: int | None = None,
    start_time: _dt.datetime | None = None,
    timer_seconds: int = 480,
    played_on: str = "exphil mock engine",
    lras_port: int | None = None,
    first_frame: int | None = None,
) -> bytes:
    """The bytes of a ``.slp`` file holding ``state`` (batch shape ``(frames,)``, one player per
    entry of ``players`` in port order; default ports 1, 2, ...).

    Args:
        end_method: ``game`` (stocks ran out), ``time``, ``no_contest``, ``resolved`` or
            ``unresolved`` (the game-end event's method).
        winner: index into ``players`` of the winner (placement 0; the others 1), or None.
        start_time: the metadata's ``startAt`` (default: now, UTC).
        lras_port: the port that quit with L+R+A+Start (no contest), if any.
        first_frame: renumber the frames from this one (Slippi's games start at -123, which
            slippi-js's statistics count from; the mock engine's at 0); None keeps
            ``state.frame``.

    Raises:
        ValueError: naming what is wrong (shape, ports, frame numbering, an unknown stage or
            character).
    """
    frames = np.asarray(state.frame).astype(np.int64)
    if frames.ndim != 1 or len(frames) == 0:
        raise ValueError(f"a replay is one game over time: state.frame must have shape (frames,); got {frames.shape}")
    if np.any(np.diff(frames) <= 0):
        raise ValueError("state.frame must increase from frame to frame (one row per frame, in order)")
    if first_frame is not None:
        frames = frames - frames[0] + int(first_frame)
        state = state._replace(frame=frames)
    num = state.num_players
    players = list(players) if players is not None else [ReplayPlayer(port=i + 1) for i in range(num)]
    if len(players) != num:
        raise ValueError(f"{len(players)} players given for a state of {num}")
    ports = [p.port for p in players]
    if len(set(ports)) != num or not all(1 <= p <= 4 for p in ports) or ports != sorted(ports):
        raise ValueError(f"ports must be distinct, in 1..4 and in order; got {ports}")
    if end_method not in END_METHOD_IDS:
        raise ValueError(f"end_method {end_method!r}: choose one of {sorted(END_METHOD_IDS)}")
    if winner is not None and not 0 <= winner < num:
        raise ValueError(f"winner {winner} is not a player index (0..{num - 1})")
    stage = int(np.asarray(state.stage).reshape(-1)[0])
    stage_ext = int(internal_to_external_table()[stage]) if 0 <= stage < 256 else 0
    if stage_ext == 0:
        raise ValueError(f"stage {stage}: no Slippi (external) stage id for it")

    pl = state.players
    first_exists = pl.exists.argmax(axis=0)
    chosen = [p.character for p in players]
    characters = [int(pl.character[first_exists[i], i]) if c is None else int(c) for i, c in enumerate(chosen)]
    try:
        externals = [internal_to_external(c) for c in characters]
    except ValueError as exc:
        raise ValueError(f"characters {characters}: {exc}") from None

    chunks: list[bytes] = [_payloads(), _game_start(players, externals, pl, first_exists, stage_ext, timer_seconds)]
    pre, post, has_nana = _character_events(state, players)
    items = _items(state, ports)
    frame_start = np.zeros(len(frames), np.dtype([("cmd", "u1"), ("frame", ">i4"), ("seed", ">u4"), ("scene", ">u4")]))
    frame_start["cmd"], frame_start["frame"] = FRAME_START, frames
    frame_start["scene"] = np.maximum(frames + 123, 0)
    bookend = np.zeros(len(frames), np.dtype([("cmd", "u1"), ("frame", ">i4"), ("final", ">i4")]))
    bookend["cmd"], bookend["frame"], bookend["final"] = FRAME_BOOKEND, frames, frames
    exists = _entity_exists(state, has_nana)
    chunks.extend(_frames_bytes(frame_start, pre, items, post, bookend, exists))
    placements = [-1, -1, -1, -1]
    if winner is not None:
        for i, port in enumerate(ports):
            placements[port - 1] = 0 if i == winner else 1
    lras = -1 if lras_port is None else lras_port - 1
    chunks.append(struct.pack(">BBb4b", GAME_END, END_METHOD_IDS[end_method], lras, *placements))
    raw = b"".join(chunks)
    meta = _metadata(players, int(frames[-1]), pl, start_time, played_on)
    return MAGIC + struct.pack(">I", len(raw)) + raw + b"U\x08metadata" + meta + b"}"


def write_replay(
    path: str | Path, state: GameState, players: Sequence[ReplayPlayer] | None = None, **kwargs: Any
) -> Path:
    """Write :func:`encode_replay`'s bytes to ``path`` atomically (a reader never sees half a
    file); returns the path."""
    data = encode_replay(state, players, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path


# -- events ---------------------------------------------------------------------------------------


def _frames_bytes(
    starts: np.ndarray, pre: np.ndarray, items: tuple[np.ndarray, bytes], post: np.ndarray, ends: np.ndarray,
    exists: np.ndarray,
) -> list[bytes]:  # fmt: skip
    """Every frame's events in order (frame start, pre-frames, items, post-frames, bookend).
    Runs of frames with every character present and no item are laid out in one array
    operation; the others one by one."""
    t_all, entities = pre.shape
    u8 = [a.view(np.uint8).reshape(t_all, -1) for a in (starts, pre, post, ends)]
    item_rows, item_bytes = items
    item_n = SIZES[ITEM_UPDATE] + 1
    pre_n, post_n = SIZES[PRE_FRAME] + 1, SIZES[POST_FRAME] + 1
    simple = exists.all(axis=1) & (np.diff(item_rows) == 0)
    out: list[bytes] = []
    t = 0
    while t < t_all:
        if simple[t]:
            stop = t + int(np.argmin(simple[t:])) if not simple[t:].all() else t_all
            out.append(np.concatenate([a[t:stop] for a in u8], axis=1).tobytes())
            t = stop
            continue
        here = np.flatnonzero(exists[t])
        out.append(u8[0][t].tobytes())
        out.extend(u8[1][t, e * pre_n : (e + 1) * pre_n].tobytes() for e in here)
        out.append(item_bytes[item_rows[t] * item_n : item_rows[t + 1] * item_n])
        out.extend(u8[2][t, e * post_n : (e + 1) * post_n].tobytes() for e in here)
        out.append(u8[3][t].tobytes())
        t += 1
    return out


def _payloads() -> bytes:
    body = b"".join(struct.pack(">BH", cmd, size) for cmd, size in SIZES.items())
    return struct.pack(">BB", EVENT_PAYLOADS, len(body) + 1) + body


def _text(value: str, size: int) -> bytes:
    data = value.encode("shift_jis", errors="replace")[: size - 1]
    return data + b"\0" * (size - len(data))


def _game_start(
    players: Sequence[ReplayPlayer], externals: list[int], pl: Any, first: np.ndarray, stage_ext: int, timer: int
) -> bytes:
    out = bytearray(SIZES[GAME_START] + 1)
    out[0] = GAME_START
    out[1:5] = bytes((*VERSION, 0))
    out[0x5 : 0x5 + len(_RULES)] = _RULES
    struct.pack_into(">H", out, 0x13, stage_ext)
    struct.pack_into(">I", out, 0x15, int(timer))
    for slot in range(6):
        out[0x65 + 0x24 * slot : 0x65 + 0x24 * (slot + 1)] = _SLOT
    for i, player in enumerate(players):
        o = 0x65 + 0x24 * (player.port - 1)
        kind = _PLAYER_TYPES.get(player.kind)
        if kind is None:
            raise ValueError(f"port {player.port}: kind {player.kind!r} must be 'human' or 'cpu'")
        out[o] = externals[i]
        out[o + 1] = kind
        out[o + 2] = max(0, min(int(pl.stocks[first[i], i]), 255))
        out[o + 3] = int(player.costume)
        out[o + 12] = 0xC0 if kind == 0 else 0x40
        out[o + 15] = int(player.cpu_level) if kind == 1 else 1
    for port in range(4):  # dashback and shield-drop fixes on (UCF), as netplay builds record them
        struct.pack_into(">II", out, 0x141 + 8 * port, 1, 1)
    out[0x1A3], out[0x1A4] = 2, 2  # minor and major scene: VS mode
    for player in players:
        p = player.port - 1
        out[0x1A5 + 0x1F * p : 0x1A5 + 0x1F * (p + 1)] = _text(player.name, 0x1F)
    out[0x2BD] = 1  # language: English
    return bytes(out)


def _entity_exists(state: GameState, has_nana: bool) -> np.ndarray:
    """``(frames, entities)``: whether each leader (and follower) has events on that frame."""
    leader = np.asarray(state.players.exists, bool)
    if not has_nana:
        return leader
    follower = leader & np.asarray(state.players.nana.exists, bool)
    out = np.empty((leader.shape[0], 2 * leader.shape[1]), bool)
    out[:, 0::2], out[:, 1::2] = leader, follower
    return out


def _character_events(state: GameState, players: Sequence[ReplayPlayer]) -> tuple[np.ndarray, np.ndarray, bool]:
    """Pre- and post-frame records ``(frames, entities)``; entities are the players' leaders, or
    leader and follower in turn when any Nana is in the game."""
    pl = state.players
    t, num = pl.x.shape
    has_nana = bool(np.asarray(pl.nana.exists).any())
    bodies = [(pl, 0)] + ([(pl.nana, 1)] if has_nana else [])
    pre = np.zeros((t, num * len(bodies)), PRE_DTYPE)
    post = np.zeros((t, num * len(bodies)), POST_DTYPE)
    zero_indexed = zero_indexed_table()
    frames = np.asarray(state.frame).astype(np.int64)
    controller = pl.controller
    bits = np.zeros((t, num), np.int64)
    for k, name in enumerate(BUTTONS):
        bits |= np.where(np.asarray(controller.buttons)[..., k], BUTTON_BITS[name], 0)
    for slot, (body, follower) in enumerate(bodies):
        for i, player in enumerate(players):
            a, b = pre[:, i * len(bodies) + slot], post[:, i * len(bodies) + slot]
            for rec, cmd in ((a, PRE_FRAME), (b, POST_FRAME)):
                rec["cmd"], rec["frame"], rec["index"], rec["follower"] = cmd, frames, player.port - 1, follower
            action = np.asarray(body.action[:, i]).astype(np.int64)
            x, y = body.x[:, i], body.y[:, i]
            facing = np.where(np.asarray(body.facing[:, i]) < 0, -1.0, 1.0)
            percent = body.percent[:, i]
            a["action"], a["x"], a["y"], a["facing"], a["percent"] = action, x, y, facing, percent
            jx, jy = 2.0 * (controller.main_x[:, i] - 0.5), 2.0 * (controller.main_y[:, i] - 0.5)
            a["jx"], a["jy"] = jx, jy
            a["cx"], a["cy"] = 2.0 * (controller.c_x[:, i] - 0.5), 2.0 * (controller.c_y[:, i] - 0.5)
            a["trigger"], a["phys_l"] = controller.shoulder[:, i], controller.shoulder[:, i]
            a["processed"], a["physical"] = bits[:, i], bits[:, i]
            a["ucf_x"] = np.clip(np.round(np.asarray(jx) * 80), -128, 127)
            a["raw_y"] = np.clip(np.round(np.asarray(jy) * 80), -128, 127)
            character = np.asarray(body.character[:, i]).astype(np.int64)
            b["character"], b["action"], b["x"], b["y"], b["facing"] = character, action, x, y, facing
            b["percent"], b["shield"], b["stocks"] = percent, body.shield[:, i], np.clip(body.stocks[:, i], 0, 255)
            b["last_hit_by"], b["ground"], b["animation"] = 6, 0xFFFF, 0xFFFFFFFF
            ages = zero_indexed[character.clip(0, 32), action.clip(0, 511)]
            b["age"] = np.asarray(body.action_frame[:, i], np.float64) - np.where(ages, 1.0, 0.0)
            b["misc"], b["airborne"] = body.hitstun[:, i], ~np.asarray(body.on_ground[:, i], bool)
            b["jumps"] = np.clip(body.jumps_left[:, i], 0, 255)
            b["hurtbox"] = np.where(np.asarray(body.invulnerable[:, i], bool), 1, 0)
            b["self_x_air"], b["self_y"] = body.speed_air_x[:, i], body.speed_y[:, i]
            b["knockback_x"], b["knockback_y"] = body.speed_attack_x[:, i], body.speed_attack_y[:, i]
            b["self_x_ground"], b["hitlag"] = body.speed_ground_x[:, i], body.hitlag[:, i]
            b["instance"] = 1 + i * len(bodies) + slot
    return pre, post, has_nana


def _items(state: GameState, ports: list[int]) -> tuple[np.ndarray, bytes]:
    """Item-update records of every occupied projectile slot, frame by frame: ``(offsets, bytes)``
    with the records of frame ``t`` at ``offsets[t]:offsets[t + 1]``."""
    proj = state.projectiles
    exists = np.asarray(proj.exists, bool)
    rows, slots = np.nonzero(exists)
    rec = np.zeros(len(rows), ITEM_DTYPE)
    rec["cmd"], rec["frame"] = ITEM_UPDATE, np.asarray(state.frame).astype(np.int64)[rows]
    rec["type"] = np.asarray(proj.type)[rows, slots]
    rec["facing"] = 1.0
    rec["vx"], rec["vy"] = proj.speed_x[rows, slots], proj.speed_y[rows, slots]
    rec["x"], rec["y"] = proj.x[rows, slots], proj.y[rows, slots]
    owner = np.asarray(proj.owner)[rows, slots].astype(np.int64)
    port_of = np.asarray(ports, np.int64) - 1
    rec["owner"] = np.where((owner >= 0) & (owner < len(ports)), port_of[owner.clip(0, len(ports) - 1)], -1)
    rec["spawn"] = slots  # one id per slot: the state does not follow items across slots
    rec["instance"] = slots
    offsets = np.searchsorted(rows, np.arange(exists.shape[0] + 1))
    return offsets, rec.tobytes()


# -- metadata (UBJSON) ----------------------------------------------------------------------------


def _ubjson(value: Any) -> bytes:
    """UBJSON of dicts, strings and integers, as Slippi writes its metadata."""
    if isinstance(value, dict):
        body = b"".join(_key(str(k)) + _ubjson(v) for k, v in value.items())
        return b"{" + body + b"}"
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"S" + _length(len(data)) + data
    if isinstance(value, (int, np.integer)):
        return b"l" + struct.pack(">i", int(value))
    raise TypeError(f"metadata value {value!r}: only dicts, strings and integers")


def _length(n: int) -> bytes:
    return b"U" + bytes([n]) if n < 256 else b"l" + struct.pack(">i", n)


def _key(key: str) -> bytes:
    data = key.encode("utf-8")
    return _length(len(data)) + data


def _metadata(players: Sequence[ReplayPlayer], last_frame: int, pl: Any, start: Any, played_on: str) -> bytes:
    start = start or _dt.datetime.now(_dt.UTC)
    if start.tzinfo is not None:
        start = start.astimezone(_dt.UTC)
    entries = {}
    for i, player in enumerate(players):
        counts: dict[str, int] = {}
        frames_in = np.asarray(pl.character[:, i])[np.asarray(pl.exists[:, i], bool)]
        values, numbers = np.unique(frames_in, return_counts=True)
        for value, number in zip(values, numbers, strict=True):
            counts[str(int(value))] = int(number)
        entries[str(player.port - 1)] = {"names": {"netplay": player.name, "code": ""}, "characters": counts}
    meta = {
        "startAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastFrame": last_frame,
        "players": entries,
        "playedOn": played_on,
    }
    return _ubjson(meta)


class FrameBuffer:
    """Frames of some games of a :class:`~melee_envs.state.PackedState` (games on its leading
    axis), appended one frame at a time into arrays that grow by doubling: a few microseconds per
    frame, about 600 bytes per game and frame."""

    ARRAYS = ("stage", "frame", "pi", "pf", "pb", "ji", "jf", "jb")

    def __init__(self, rows: Sequence[int]) -> None:
        self.rows = np.asarray(rows, np.int64)
        self.count = 0
        self._buffers: dict[str, np.ndarray] = {}
        # Consecutive rows are read as a slice: a view, where an index array would copy first.
        consecutive = len(self.rows) > 0 and bool(np.all(np.diff(self.rows) == 1))
        self._index: Any = slice(int(self.rows[0]), int(self.rows[-1]) + 1) if consecutive else self.rows

    def clear(self) -> None:
        self.count = 0

    @property
    def full(self) -> bool:
        return bool(self._buffers) and self.count == len(self._buffers["frame"])

    def add(self, packed: Any) -> None:
        if not self._buffers or self.full:
            size = max(256, 2 * self.count)
            grown = {}
            for name in self.ARRAYS:
                current = getattr(packed, name)[self._index]
                grown[name] = np.empty((size, *current.shape), current.dtype)
                if self._buffers:
                    grown[name][: self.count] = self._buffers[name][: self.count]
            self._buffers = grown
        for name in self.ARRAYS:
            self._buffers[name][self.count] = getattr(packed, name)[self._index]
        self.count += 1

    def state(self, k: int, frames: int | None = None) -> GameState:
        """Game ``k`` (of ``rows``) over its first ``frames`` frames (default: all)."""
        stop = self.count if frames is None else frames
        return _game_state({name: [self._buffers[name][:stop, k]] for name in self.ARRAYS})


def _game_state(parts: dict[str, list[np.ndarray]]) -> GameState:
    """One game's frames as a ``GameState``, from the parts of each
    :class:`~melee_envs.state.PackedState` array (frames on their leading axis), joined in order."""
    from melee_envs.state import PackedState

    frames = sum(len(part) for part in parts["frame"])
    packed = PackedState((frames,), parts["pi"][0].shape[1], parts["jb"][0].shape[1])
    for name, arrays in parts.items():
        np.concatenate(arrays, out=getattr(packed, name))
    return packed.view()


def write_game(
    path: str | Path, state: GameState, names: Sequence[str], winner: int | None, start_time: Any = None
) -> Path:
    """Write a recorded game (the engine's frames, renumbered from -123 as Slippi numbers a
    game's): ``names`` by port, ``winner`` its player index or None; ended by stocks, else time."""
    players = [ReplayPlayer(port=i + 1, name=names[i] if i < len(names) else "") for i in range(state.num_players)]
    method = "game" if (state.players.stocks[-1] <= 0).any() else "time"
    return write_replay(path, state, players, end_method=method, winner=winner, start_time=start_time, first_frame=-123)


def replay_name(names: Sequence[str], seed: Any, when: _dt.datetime, suffix: str = "") -> str:
    """A recorded game's file name: ``DATE_NAME1-vs-NAME2_seedSEED{suffix}.slp`` (UTC)."""
    return f"{when:%Y%m%dT%H%M%SZ}_{safe_name(names[0])}-vs-{safe_name(names[1])}_seed{seed}{suffix}.slp"


def _recording_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"record_replays={str(folder)!r} is a file, not a folder")
    return folder


class ReplayRecorder:
    """Records one game frame by frame and writes it as a ``.slp`` file when it ends (the envs'
    ``record_replays=DIR``).

    Files are named ``DATE_NAME1-vs-NAME2_seedSEED.slp`` (UTC time of the game's start; a
    ``_2``, ``_3``, ... suffix where that name is taken) and written atomically. A game that does
    not end (an env reset or closed mid-game, a truncation) is not written. Frames are numbered
    as Slippi numbers a game's, from -123 (the engine's frame 0).
    """

    def __init__(self, folder: str | Path, names: Sequence[str]) -> None:
        self.folder = _recording_folder(folder)
        self.names = tuple(names)
        self.written: list[Path] = []
        self._frames = FrameBuffer([0])
        self._seed: int | None = None
        self._start = _dt.datetime.now(_dt.UTC)

    def start(self, packed: Any, seed: int | None) -> None:
        """A new game: ``packed`` (a one-game :class:`~melee_envs.state.PackedState`) holds its
        first frame."""
        self._frames.clear()
        self._frames.add(packed)
        self._seed = seed
        self._start = _dt.datetime.now(_dt.UTC)

    def add(self, packed: Any) -> None:
        if self._frames.count:
            self._frames.add(packed)

    def finish(self, winner: int | None) -> Path | None:
        """The game ended (``winner``: player index, None for a draw): write it; returns the path."""
        if not self._frames.count:
            return None
        state = self._frames.state(0)
        self._frames.clear()
        path, n = self.folder / replay_name(self.names, self._seed, self._start), 1
        while path.exists() or path in self.written:
            n += 1
            path = self.folder / replay_name(self.names, self._seed, self._start, f"_{n}")
        self.written.append(write_game(path, state, self.names, winner, self._start))
        return path


def safe_name(name: str) -> str:
    """A player name as a file-name part: letters, digits, '.', '_' and '-' (others become '-')."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name) or "player"


class BatchRecorder:
    """Records chosen games of a batched mock engine (its :class:`~melee_envs.state.PackedState`,
    games on the leading axis) frame by frame, and writes each as a ``.slp`` file once all have
    ended (``exphil tournament --record-replays``).

    Memory: about 600 bytes per recorded game and frame (a 4-stock game of 8 minutes, 17 MB).
    """

    def __init__(self, rows: Sequence[int]) -> None:
        self._frames = FrameBuffer(rows)
        self._ended: np.ndarray = np.full(len(self._frames.rows), -1, np.int64)

    def capture(self, packed: Any, done: np.ndarray) -> None:
        """The current frame of the recorded games (call after reset and after every step, with
        the engine's ``done``): a game's last frame is the one on which it ended."""
        self._frames.add(packed)
        newly = (self._ended < 0) & np.asarray(done)[self._frames.rows]
        self._ended[newly] = self._frames.count - 1

    def state(self, k: int) -> GameState:
        """Recorded game ``k`` (of the rows) as a ``GameState`` over its frames."""
        end = self._ended[k] if self._ended[k] >= 0 else self._frames.count - 1
        return self._frames.state(k, end + 1)

    def write(
        self, k: int, folder: str | Path, names: Sequence[str], seed: Any, winner: int | None, suffix: str
    ) -> Path:
        """Write recorded game ``k`` into ``folder`` (``names`` by port, ``winner`` its index or
        None), named by :func:`replay_name`."""
        now = _dt.datetime.now(_dt.UTC)
        return write_game(Path(folder) / replay_name(names, seed, now, suffix), self.state(k), names, winner, now)


class VectorRecorder:
    """Records the games of the batched vector env (``MeleeVectorEnv(record_replays=DIR)``) and
    writes each finished one as a ``.slp`` file (a truncated game is not written).

    The env's kernel copies every frame a recorded game plays onto that game's row of
    :attr:`tape` (a :data:`~melee_envs.backends.mock.batch.Tape` of :attr:`TAPE_FRAMES` frames a
    game), the frames inside a ``frame_skip`` and an ended game's last frame before a
    ``same_step`` restart included. Call :meth:`make_room` before every engine call and
    :meth:`capture` after each one that reported an event. Every ``TAPE_FRAMES`` frames or so the
    rows are moved into each live game's own list of arrays, so a game holds only its own frames
    (about 600 bytes each) until it ends, however long the others last.

    Files are named ``DATE_NAME1-vs-NAME2_seedSEED_gGAME-EPISODE.slp`` (``SEED``: the env's last
    reset seed; ``GAME``: the game's index in the batch; ``EPISODE``: that game slot's count of
    games ended so far, truncated ones included).
    """

    #: Frames a tape row holds: the rows are emptied about this often (8 copies per game each time).
    TAPE_FRAMES = 256

    def __init__(self, folder: str | Path, games: int, names: Sequence[str], packed: Any, frame_skip: int = 1) -> None:
        from melee_envs.backends.mock.batch import make_tape

        self.folder = _recording_folder(folder)
        self.names = tuple(names)
        self.written: list[Path] = []
        self._per_call = int(frame_skip) + 1  # most frames a game adds in one call (a restart's first)
        self.tape = make_tape(packed, games, max(self.TAPE_FRAMES, 4 * self._per_call))
        self._fields = self.tape._fields[1:]
        self._calls_left = 0  # engine calls that surely fit on the tape before it must be emptied
        self._parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(games)]  # each live game's frames
        self._live = np.zeros(games, np.bool_)
        self._episodes = np.zeros(games, np.int64)
        self.seed: int | None = None

    def make_room(self) -> Any:
        """Call before every engine call: returns the tape to hand it, with room for that call."""
        if self._calls_left > 0:
            self._calls_left -= 1
            return self.tape
        pos = self.tape.pos
        for b in np.flatnonzero(self._live & (pos > 0)):
            self._parts[b].append(self._row(b, 0, pos[b]))
        pos[:] = 0  # a game not being recorded keeps nothing
        self._calls_left = self.tape.frame.shape[1] // self._per_call - 1
        return self.tape

    def capture(self, started: np.ndarray, finished: np.ndarray, ended: np.ndarray, winner: Any) -> None:
        """One engine call's events: ``started`` games began a new game in it (the last frame on
        their row is its first), ``finished`` games ended it by the rules, ``ended`` ones ended by
        the rules or by truncation (per game of the batch); ``winner[b]`` the winner's index (-1:
        draw)."""
        n = len(self._live)
        started, finished, ended = (np.asarray(m, bool)[:n] for m in (started, finished, ended))
        pos = self.tape.pos
        for b in np.flatnonzero(started | ended):
            stop = pos[b] - 1 if started[b] else pos[b]  # a restart's first frame is not the ended game's
            if finished[b] and self._live[b]:
                parts = [*self._parts[b], self._row(b, 0, stop)]
                state = _game_state({name: [part[k] for part in parts] for k, name in enumerate(self._fields)})
                now = _dt.datetime.now(_dt.UTC)
                name = replay_name(self.names, self.seed, now, f"_g{b}-{self._episodes[b] + 1}")
                won = int(winner[b])
                self.written.append(write_game(self.folder / name, state, self.names, won if won >= 0 else None, now))
            self._parts[b] = [self._row(b, stop, pos[b])] if started[b] else []
            self._live[b] = started[b]
            pos[b] = 0
        self._episodes[ended] += 1

    def _row(self, b: int, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Copies of game ``b``'s frames ``start`` to ``stop - 1`` on the tape, one per field."""
        return tuple(getattr(self.tape, name)[b, start:stop].copy() for name in self._fields)
