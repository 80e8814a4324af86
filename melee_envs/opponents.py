"""Built-in opponents: idle, random, and a scripted bot, batched over games.

An opponent maps ``(state, player_index)`` to actions ``(num_games, ACTION_SIZE)``. Any callable with that
signature works (e.g. a trained policy wrapped by the caller); :func:`make_opponent` builds the
built-in ones by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from melee_envs.controller import ACTION_SIZE, DISCRETE_ACTION_NAMES, ControllerCodec, discrete_table
from melee_envs.data.recoveries import recovery_table
from melee_envs.data.stages import geometry_arrays
from melee_envs.state import BUTTONS, ControllerState, GameState

Opponent = Callable[[GameState, int], np.ndarray]
OPPONENTS = ("idle", "random", "scripted", "jumper")

_D = {name: i for i, name in enumerate(DISCRETE_ACTION_NAMES)}


class IdleOpponent:
    """Never touches the controller."""

    def __init__(self, codec: ControllerCodec) -> None:
        self._noop = codec.noop()
        self._out = np.zeros((0, ACTION_SIZE), np.int64)

    def __call__(self, state: GameState, player: int) -> np.ndarray:
        shape = state.stage.shape + (ACTION_SIZE,)
        if self._out.shape != shape:
            self._out = np.ascontiguousarray(np.broadcast_to(self._noop, shape), dtype=np.int64)
        return self._out


class RandomOpponent:
    """Uniformly random discrete actions, each held for ``hold`` frames."""

    def __init__(self, codec: ControllerCodec, seed: int | None = None, hold: int = 6) -> None:
        self._table = discrete_table(codec)
        self._rng = np.random.default_rng(seed)
        self._hold = hold
        self._current: np.ndarray | None = None
        self._t = 0

    def seed(self, seed: int | None) -> None:
        self._rng = np.random.default_rng(seed)
        self._current, self._t = None, 0

    def __call__(self, state: GameState, player: int) -> np.ndarray:
        n = state.stage.shape
        if self._current is None or self._current.shape[:-1] != n or self._t % self._hold == 0:
            self._current = self._table[self._rng.integers(len(self._table), size=n)]
        self._t += 1
        return self._current


def _aim_rows(codec: ControllerCodec) -> np.ndarray:
    """The scripted bot's own rows after the discrete table: the main stick held at each of
    :data:`_AIMS` angles, without and then with B (an angled up-B and its aim while it charges)."""
    rows = []
    for b in (False, True):
        for k in range(_AIMS):
            rad = 2.0 * np.pi * k / _AIMS
            state = ControllerState(
                buttons=np.array([b and name == "B" for name in BUTTONS]),
                main_x=np.float32(0.5 + 0.5 * np.cos(rad)),
                main_y=np.float32(0.5 + 0.5 * np.sin(rad)),
                c_x=np.float32(0.5),
                c_y=np.float32(0.5),
                shoulder=np.float32(0.0),
            )
            rows.append(codec.encode(state))
    return np.stack(rows)


class ScriptedOpponent:
    """A simple rule-based bot: walks in, attacks in range, recovers to the stage, edge-guards.

    It plays through the same controller as any agent (no engine shortcuts): dash toward the
    opponent, jab/tilt/smash by distance and height, aerials when airborne; off stage, a double
    jump toward the stage, then its character's up-B (aimed at the ledge where the move can be
    aimed, :mod:`melee_envs.data.recoveries`) and a drift home; with the opponent off stage, it
    waits at the edge and hits down at it as it comes back.

    ``level`` (1-9, name ``"scripted:L"``) weakens it the way slow reactions do: each frame, with
    probability ``(9 - level) / 10``, it lets go of the controller instead. Level 9 (``"scripted"``)
    never does. Lower levels lose to higher ones (a ladder of known strength for ratings).
    """

    def __init__(self, codec: ControllerCodec, level: int = 9, seed: int | None = None) -> None:
        if not 1 <= level <= 9:
            raise ValueError(f"scripted bot level must be 1-9; got {level}")
        self._table = np.concatenate([discrete_table(codec), _aim_rows(codec)])
        self._t = np.zeros(1, np.int64)
        rec = recovery_table().values
        self._recovery = np.ascontiguousarray(rec[:, [1, 3, 5]]).astype(np.int64)  # air, travel, steer
        self._ledge = geometry_arrays()["ledge_x"].astype(np.float64)
        self.level = level
        self._lapse = (9 - level) / 10.0
        self._rng = np.random.default_rng(seed)

    def seed(self, seed: int | None) -> None:
        self._t[:] = 0
        self._rng = np.random.default_rng(seed)

    def __call__(self, state: GameState, player: int) -> np.ndarray:
        p = state.players
        choice = _scripted(
            np.atleast_2d(p.x),
            np.atleast_2d(p.y),
            np.atleast_2d(p.facing),
            np.atleast_2d(p.on_ground),
            np.atleast_2d(p.jumps_left),
            np.atleast_2d(p.ledge_distance),
            np.atleast_2d(p.hitstun),
            np.atleast_2d(p.action),
            np.atleast_2d(p.character),
            np.atleast_1d(state.stage),
            self._recovery,
            self._ledge,
            player,
            self._t,
        )
        if self._lapse:
            choice[self._rng.random(choice.shape) < self._lapse] = _D_NOOP
        return self._table[choice].reshape(state.stage.shape + (ACTION_SIZE,))


_EDGE_HANGING = 0xFD
_SPECIAL_FALL = 0x23
_FALLING, _FALLING_LAST, _TUMBLING = 0x1D, 0x22, 0x26
_AIMS = 24
_STEER_ANGLE, _STEER_NONE = 1, 2


@numba.njit(cache=True)
def _aim(n_rows, x, y, tx, ty, with_b):
    """The aim row (``with_b``: the row with B held) whose angle is nearest the direction from (x, y)
    to (tx, ty)."""
    angle = np.arctan2(ty - y, tx - x)
    k = int(np.round(angle / (2.0 * np.pi) * _AIMS)) % _AIMS
    return n_rows + k + (_AIMS if with_b else 0)


@numba.njit(cache=True)
def _recover(b, me, x, y, jumps, action, ch, stage, recovery, ledge_x, tick):
    """Off stage: double jump when low, then up-B (aimed at the ledge where the move aims), drifting home."""
    home_right = x[b, me] < 0
    drift = _D_DASH_RIGHT if home_right else _D_DASH_LEFT
    air_action, travel_action, steer = recovery[ch, 0], recovery[ch, 1], recovery[ch, 2]
    a = action[b, me]
    edge_x = -ledge_x[stage] if home_right else ledge_x[stage]
    target_y = -5.0
    if steer == _STEER_ANGLE and a == air_action and a != travel_action:
        return _aim(_N_DISCRETE, x[b, me], y[b, me], edge_x, target_y, False)  # hold the aim while it charges
    if a == _SPECIAL_FALL or a == air_action or a == travel_action:
        return drift
    falling = _FALLING <= a <= _FALLING_LAST or a == _TUMBLING  # not while a jump still rises
    far = abs(x[b, me]) - ledge_x[stage] > 25.0
    if jumps[b, me] > 0 and (y[b, me] < -10.0 or (falling and far and y[b, me] < 10.0)):
        return (_D_JUMP_RIGHT if home_right else _D_JUMP_LEFT) if tick % 8 == 0 or falling else drift
    if steer != _STEER_NONE and jumps[b, me] == 0 and y[b, me] < -15.0 and falling:
        return _D_UP_B  # stick up + B; an angled one is aimed while it charges
    return drift


@numba.njit(cache=True)
def _scripted(x, y, facing, on_ground, jumps, ledge, hitstun, action, character, stage, recovery, ledge_x, me, t):  # noqa: PLR0912
    n = x.shape[0]
    out = np.zeros(n, np.int64)
    t[0] += 1
    tick = t[0]
    for b in range(n):
        op = 1 - me
        dx = x[b, op] - x[b, me]
        dy = y[b, op] - y[b, me]
        toward_right = dx > 0
        choice = _D_NOOP
        if action[b, me] == _EDGE_HANGING:
            choice = _D_JUMP if tick % 20 == 0 else _D_NOOP
        elif ledge[b, me] < 0 or (not on_ground[b, me] and y[b, me] < -5.0):
            if hitstun[b, me] <= 0:
                choice = _recover(b, me, x, y, jumps, action, character[b, me], stage[b], recovery, ledge_x, tick)
        elif hitstun[b, me] > 0:
            choice = _D_NOOP
        elif (x[b, me] > 0) == toward_right and ledge[b, me] < 15.0 and (ledge[b, op] < 0 or not on_ground[b, me]):
            # Edge-guard: never chase past the edge; wait there and hit down at an opponent coming back.
            if ledge[b, op] < 0 and abs(dx) < 25.0 and -30.0 < dy < 5.0 and on_ground[b, me]:
                choice = _D_DSMASH if tick % 3 == 0 else _D_NOOP
            elif ledge[b, me] < 6.0:
                choice = _D_WALK_LEFT if x[b, me] > 0 else _D_WALK_RIGHT
            else:
                choice = _D_NOOP
        elif not on_ground[b, me]:
            if abs(dx) < 18.0 and abs(dy) < 18.0 and tick % 4 == 0:
                if dy > 8.0:
                    choice = _D_UTILT  # A + up in the air: up aerial
                elif (dx > 0) == (facing[b, me] > 0):
                    choice = _D_FTILT_RIGHT if toward_right else _D_FTILT_LEFT
                else:
                    choice = _D_JAB
            else:
                choice = _D_DASH_RIGHT if toward_right else _D_DASH_LEFT
        elif abs(dx) < 14.0 and abs(dy) < 10.0:
            phase = (tick // 30) % 3
            if tick % 3 != 0:
                choice = _D_NOOP  # release buttons so the next press is a new press
            elif phase == 0:
                choice = _D_FSMASH_RIGHT if toward_right else _D_FSMASH_LEFT
            elif phase == 1:
                choice = _D_FTILT_RIGHT if toward_right else _D_FTILT_LEFT
            else:
                choice = _D_JAB
        elif abs(dx) < 20.0 and dy > 10.0 and tick % 3 == 0:
            choice = _D_USMASH
        elif dy > 25.0 and abs(dx) < 30.0 and tick % 10 == 0:
            choice = _D_JUMP
        elif tick % 2 == 0:
            choice = _D_DASH_RIGHT if toward_right else _D_DASH_LEFT
        else:
            choice = _D_WALK_RIGHT if toward_right else _D_WALK_LEFT
        out[b] = choice
    return out


_D_NOOP = _D["noop"]
_D_JUMP, _D_JUMP_LEFT, _D_JUMP_RIGHT = _D["jump"], _D["jump_left"], _D["jump_right"]
_D_DASH_LEFT, _D_DASH_RIGHT = _D["dash_left"], _D["dash_right"]
_D_WALK_LEFT, _D_WALK_RIGHT = _D["walk_left"], _D["walk_right"]
_D_JAB, _D_UTILT = _D["jab"], _D["utilt"]
_D_FTILT_LEFT, _D_FTILT_RIGHT = _D["ftilt_left"], _D["ftilt_right"]
_D_FSMASH_LEFT, _D_FSMASH_RIGHT = _D["fsmash_left"], _D["fsmash_right"]
_D_USMASH, _D_DSMASH, _D_UP_B = _D["usmash"], _D["dsmash"], _D["up_b"]
_N_DISCRETE = len(DISCRETE_ACTION_NAMES)


class JumperOpponent:
    """A weak bot: stays near the stage centre and jumps, never attacks or shields."""

    def __init__(self, codec: ControllerCodec) -> None:
        self._table = discrete_table(codec)
        self._t = 0

    def seed(self, seed: int | None) -> None:
        self._t = 0

    def __call__(self, state: GameState, player: int) -> np.ndarray:
        self._t += 1
        x = np.atleast_1d(state.players.x[..., player])
        choice = np.full(x.shape, _D_NOOP, np.int64)
        choice[x < -20.0] = _D_WALK_RIGHT
        choice[x > 20.0] = _D_WALK_LEFT
        if self._t % 30 < 2:
            choice[:] = np.where(x < 0, _D_JUMP_RIGHT, _D_JUMP_LEFT) if self._t % 60 < 2 else _D_JUMP
        return self._table[choice].reshape(state.stage.shape + (ACTION_SIZE,))


def play_bots(first: Any, second: Any, num_games: int, seed: int = 0, **game: Any) -> dict[str, Any]:
    """Play ``num_games`` mock games between two batched opponents (names or callables), all at
    once; returns wins per side, draws and the winner of every game (0, 1 or -1 for a draw).

    ``game``: :class:`~melee_envs.backends.mock.MockConfig` fields (characters, stage, stocks,
    time_limit_minutes). ``seed`` seeds the stage draws (``stage="random"``) and the bots' own
    randomness, so the same call plays the same games.
    """
    from melee_envs.backends.mock import MockBackend, MockConfig

    backend = MockBackend(num_games, MockConfig(**game))
    backend.reset(seed)
    bots = [make_opponent(spec, backend.codec, seed) for spec in (first, second)]
    for bot in bots:
        if hasattr(bot, "seed"):
            bot.seed(seed)
    actions = np.zeros((num_games, 2, ACTION_SIZE), np.int64)
    while not backend.done.all():
        state = backend.state
        for player, bot in enumerate(bots):
            actions[:, player] = np.reshape(bot(state, player), (num_games, ACTION_SIZE))
        backend.step(actions, checked=True)
    winners = backend.winner.copy()
    return {
        "wins": (int((winners == 0).sum()), int((winners == 1).sum())),
        "draws": int((winners < 0).sum()),
        "winners": winners,
        "frames": backend.state.frame.copy(),
    }


class MixedOpponent:
    """Several bots in one batch: game ``b`` plays ``bots[b % len(bots)]`` (name
    ``"scripted+scripted:5+idle"``), so one batched env trains against a whole ladder at once.
    Each bot acts for every game (they are cheap) and its own games' rows are kept."""

    def __init__(self, specs: list[str], codec: ControllerCodec, seed: int | None = None) -> None:
        self.names = list(specs)
        self._bots = [make_opponent(s, codec, None if seed is None else seed + k) for k, s in enumerate(specs)]

    def seed(self, seed: int | None) -> None:
        for k, bot in enumerate(self._bots):
            if hasattr(bot, "seed"):
                bot.seed(None if seed is None else seed + k)

    def __call__(self, state: GameState, player: int) -> np.ndarray:
        shape = state.stage.shape + (ACTION_SIZE,)
        out = np.empty(shape, np.int64).reshape(-1, ACTION_SIZE)
        k = len(self._bots)
        for i, bot in enumerate(self._bots):
            out[i::k] = np.reshape(bot(state, player), (-1, ACTION_SIZE))[i::k]
        return out.reshape(shape)


@functools.cache
def plugin_opponents() -> dict[str, Any]:
    """Opponents other installed packages add by name: entry points of the group
    ``melee_envs.opponents``, each ``(codec, seed) -> opponent`` (this project's agents package
    adds ``champion``). Looked up once per process; each is loaded only when named."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="melee_envs.opponents")}


def is_bot(name: Any) -> bool:
    """Whether ``name`` names a built-in bot (:data:`OPPONENTS`, ``scripted:LEVEL``, or several
    joined by ``+``: a :class:`MixedOpponent`)."""
    if not isinstance(name, str):
        return False
    if "+" in name:
        return all(is_bot(part) for part in name.split("+"))
    if name in plugin_opponents():
        return True
    if name.startswith("scripted:"):
        return name[9:].isdigit() and 1 <= int(name[9:]) <= 9
    return name in OPPONENTS


def make_opponent(spec: str | Opponent, codec: ControllerCodec, seed: int | None = None) -> Any:
    """An opponent from a name in :data:`OPPONENTS`, ``scripted:LEVEL``, names joined by ``+`` (a
    :class:`MixedOpponent`), or any callable ``(state, player) -> actions``."""
    if callable(spec):
        return spec
    if spec == "idle":
        return IdleOpponent(codec)
    if spec == "random":
        return RandomOpponent(codec, seed)
    if spec == "scripted":
        return ScriptedOpponent(codec, seed=seed)
    if isinstance(spec, str) and spec.startswith("scripted:") and spec[9:].isdigit():
        return ScriptedOpponent(codec, int(spec[9:]), seed)
    if spec == "jumper":
        return JumperOpponent(codec)
    if isinstance(spec, str) and "+" in spec and all(is_bot(part) for part in spec.split("+")):
        return MixedOpponent(spec.split("+"), codec, seed)
    plugins = plugin_opponents()
    if isinstance(spec, str) and spec in plugins:
        return plugins[spec].load()(codec, seed)
    raise ValueError(
        f"unknown opponent {spec!r}; choose one of {OPPONENTS + tuple(plugins)}, scripted:LEVEL (1-9), several "
        "joined by + "
        "or pass a callable (state, player_index) -> actions"
    )
