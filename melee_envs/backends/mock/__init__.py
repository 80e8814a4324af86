"""The mock engine: many 1v1 games in preallocated arrays, stepped by one Numba kernel call."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from melee_envs.backends.mock import engine
from melee_envs.backends.mock.engine.schema import EI_STALE_ON, J_OWNER, J_TYPE, K_LIFETIME, P_CHAR, XS_LIFE, XS_SCALE
from melee_envs.controller import ACTION_SIZE, ControllerCodec
from melee_envs.data import characters, stages
from melee_envs.state import MAX_PERCENT, NUM_PROJECTILE_SLOTS, GameState, PackedState

FRAMES_PER_MINUTE = 60 * 60
#: What a game with Ice Climbers on the mock engine says (docs/mock-engine.md, "Not modelled").
NANA_WARNING = (
    "the mock engine does not simulate Nana: Ice Climbers play as Popo alone (no partner, solo Belay "
    "recovery); use the Dolphin backend for real Ice Climbers"
)


class SoloClimberWarning(UserWarning):
    """A mock game was set up with Ice Climbers, whom it plays without Nana."""


@dataclass(frozen=True)
class MockConfig:
    """Game settings for the mock engine.

    Args:
        characters: one character per player (names, aliases such as ``puff`` or ids).
        stage: a legal stage (name, alias such as ``bf``/``fd``, or libmelee id), or
            ``"random"`` to draw one of the six legal stages per game at reset.
        stocks: stocks per player.
        time_limit_minutes: game timer; the game ends when it runs out.
        start_spread: randomised starts: each spawn x moves by up to this fraction of the
            stage's half-width either way (0 = Melee's fixed spawns at +/-45%; at most 0.45).
        start_percent: randomised starts: each player starts with a whole percent drawn from
            [0, start_percent] (0 = everyone at 0%).
        stale_moves: Melee's stale-move negation (on, as in the game): a move that connected
            recently deals less damage and knockback, by its places among its player's last nine
            moves that connected (0.09 for the newest down to 0.01); ``False`` keeps every move fresh.
    """

    characters: tuple[str, str] = ("FOX", "FOX")
    stage: str = "FINAL_DESTINATION"
    stocks: int = 4
    time_limit_minutes: float = 8.0
    start_spread: float = 0.0
    start_percent: float = 0.0
    stale_moves: bool = True

    def __post_init__(self) -> None:
        if len(self.characters) != 2:
            raise ValueError(f"characters must name two players; got {self.characters!r}")
        for name in self.characters:
            if characters.get(name).name == "NANA":
                raise ValueError("NANA is not selectable; pick POPO (ics) for Ice Climbers")
            if characters.get(name).name == "POPO":
                warnings.warn(NANA_WARNING, SoloClimberWarning, stacklevel=3)
        if str(self.stage).lower() != "random":
            stages.get(self.stage)
        if self.stocks < 1:
            raise ValueError(f"stocks must be >= 1; got {self.stocks}")
        if self.time_limit_minutes <= 0:
            raise ValueError(f"time_limit_minutes must be > 0; got {self.time_limit_minutes}")
        if not 0.0 <= self.start_spread <= 0.45:
            raise ValueError(
                f"start_spread must be in [0, 0.45] (a fraction of the stage half-width); got {self.start_spread}"
            )
        if not 0.0 <= self.start_percent <= MAX_PERCENT:
            raise ValueError(f"start_percent must be in [0, {MAX_PERCENT:g}]; got {self.start_percent}")

    @property
    def start(self) -> np.ndarray:
        """``(start_spread, start_percent, stale_moves)`` as the kernels take it."""
        return np.array([self.start_spread, self.start_percent, float(self.stale_moves)], np.float64)

    @property
    def time_limit_frames(self) -> int:
        return int(round(self.time_limit_minutes * FRAMES_PER_MINUTE))


class MockBackend:
    """``num_games`` mock games; all state in :class:`PackedState` buffers, stepped in place.

    ``step`` returns the same ``GameState`` views every call (read them before the next step, or
    ``copy()``). Games that end are not stepped further until :meth:`reset_done` resets them.
    """

    num_players = 2

    def __init__(
        self, num_games: int = 1, config: MockConfig | None = None, codec: ControllerCodec | None = None
    ) -> None:
        if num_games < 1:
            raise ValueError(f"num_games must be >= 1; got {num_games}")
        self.config = config or MockConfig()
        self.codec = codec or ControllerCodec()
        self.num_games = num_games
        self.packed = PackedState((num_games,), self.num_players)
        self.ei, self.ef, self.xs = engine.empty_engine_arrays(num_games, self.num_players, NUM_PROJECTILE_SLOTS)
        self.done = np.zeros(num_games, np.bool_)
        self.winner = np.full(num_games, -1, np.int32)
        self._chars = np.array([[characters.get(c).internal_id for c in self.config.characters]] * num_games, np.int32)
        self._t = engine.tables()
        self._T = self._t.kernel_tuple
        self._warm = False
        self._rng = np.random.default_rng()
        self._legal_ids = np.array([s.internal_id for s in stages.stages().values()], np.int32)
        self._noop = np.broadcast_to(self.codec.noop(), (num_games, self.num_players, ACTION_SIZE)).copy()
        self._stick = self.codec.stick_centres
        self._shoulder = self.codec.shoulder_levels
        self._no_keys = np.zeros(num_games, np.uint64)
        p = self.packed
        self.games = engine.Games(
            p.pi, p.pf, p.pb, self.ei, self.ef, p.stage, p.frame, self.done, self.winner, p.ji, p.jf, p.jb, self.xs
        )

    @property
    def state(self) -> GameState:
        return self.packed.view()

    def _draw_stages(self, mask: np.ndarray) -> None:
        if str(self.config.stage).lower() == "random":
            self.packed.stage[mask] = self._rng.choice(self._legal_ids, size=int(mask.sum()))
        else:
            self.packed.stage[mask] = stages.get(self.config.stage).internal_id

    def reset(self, seed: int | None = None) -> GameState:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._reset_mask(np.ones(self.num_games, np.bool_))
        return self.state

    def reset_done(self) -> np.ndarray:
        """Reset the games that have ended; returns the mask of games reset."""
        mask = self.done.copy()
        if mask.any():
            self._reset_mask(mask)
        return mask

    def _reset_mask(self, mask: np.ndarray) -> None:
        self._draw_stages(mask)
        randomised = self.config.start_spread > 0 or self.config.start_percent > 0
        keys = self._rng.integers(2**63, size=self.num_games, dtype=np.uint64) if randomised else self._no_keys
        engine.reset_games(self.games, mask, self._chars, self.config.stocks, self._T, self.config.start, keys)

    def step(self, actions: np.ndarray | None = None, *, checked: bool = False) -> GameState:
        """Step every game one frame. ``actions``: ints ``(num_games, 2, ACTION_SIZE)`` (None = no input).

        Set ``checked=True`` when the caller has already validated the actions (the envs do).
        """
        if actions is None:
            actions = self._noop
        elif not checked:
            actions = self.codec.check(actions, (self.num_games, self.num_players))
        if not self._warm:
            from melee_envs.compile_notice import compile_notice

            with compile_notice("the Melee engine"):
                self._step(actions)
            self._warm = True
        else:
            self._step(actions)
        return self.state

    def _step(self, actions: np.ndarray) -> None:
        engine.step_games(self.games, actions, self._stick, self._shoulder, self._T, self.config.time_limit_frames)

    def load_state(self, state: GameState) -> GameState:
        """Start every game from ``state`` (batch shape ``(num_games,)`` or one frame to copy).

        Anything a ``GameState`` holds is taken as is (positions, speeds, action and its frame,
        hitstun, hitlag, shield, controller); the engine's private counters are derived from it:
        the move under way from the action id, landing lag left from the action frame, the
        previous controller from the one in ``state``. This is how the fidelity benchmark starts
        the engine from frames of real replays.
        """
        if state.num_players != self.num_players:
            raise ValueError(f"load_state needs a {self.num_players}-player state; got {state.num_players}")
        if state.batch_shape not in ((), (self.num_games,)):
            raise ValueError(f"state batch shape {state.batch_shape} does not match num_games={self.num_games}")
        src = PackedState.from_state(state)
        p = self.packed
        for name in ("pi", "pf", "pb", "ji", "jf", "jb", "stage", "frame"):
            getattr(p, name)[...] = getattr(src, name)
        self.done[:] = False
        self.winner[:] = -1
        self._chars[:] = p.pi[:, :, 0, P_CHAR]
        engine.derive_engine_state(self.games, self._t.move_of_action, self._T)
        self._derive_projectiles()
        self.ei[..., EI_STALE_ON] = int(self.config.stale_moves)  # the queue itself is not in a GameState
        return self.state

    def _derive_projectiles(self) -> None:
        """Keep the loaded projectiles the engine models (a kind and an owner), with a full life
        left (a ``GameState`` does not record their age); empty the other slots (stage items)."""
        p = self.packed
        kind = self._t.proj_of_type[np.clip(p.ji[..., J_TYPE], 0, 255)]
        p.jb &= (kind >= 0) & (p.ji[..., J_OWNER] >= 0) & (p.ji[..., J_OWNER] < self.num_players)
        self.xs[..., XS_LIFE] = np.where(p.jb, self._t.proj[np.maximum(kind, 0), K_LIFETIME], 0.0)
        self.xs[..., XS_SCALE] = 1.0

    def close(self) -> None:
        pass
