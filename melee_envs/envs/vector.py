"""Batched mock-engine envs: a native Gymnasium ``VectorEnv`` and an SB3 ``VecEnv`` adapter.

``gym.make_vec("Melee-v0", num_envs=N)`` builds :class:`MeleeVectorEnv` (it is the registered
``vector_entry_point``). All games live in preallocated arrays; each ``step`` is one compiled,
multi-threaded call that steps every game, adds rewards, auto-resets finished games and writes
observations in place (:mod:`melee_envs.backends.mock.batch`).

(Over 400 lines because :class:`MeleeVectorEnv`'s docstring is its user documentation, as for
every env here: spaces, auto-reset, statistics and arguments.)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from melee_envs.backends.mock import MockBackend
from melee_envs.backends.mock.batch import (
    DISABLED,
    ENDED,
    NEXT_STEP,
    RESTART,
    RESTARTED,
    SAME_STEP,
    STEP,
    Encoding,
    Outputs,
    Rules,
    Scores,
    Starts,
    compiled_entry,
    make_tape,
    step_parallel,
    step_serial,
)
from melee_envs.compile_notice import compile_notice
from melee_envs.controller import ACTION_SIZE, DISCRETE_ACTION_NAMES, discrete_table
from melee_envs.data import stages
from melee_envs.envs.game import (
    INFO_KEY,
    GameConfig,
    check_action_mode,
    delay_argument,
    frame_skip_argument,
    legal_actions,
)
from melee_envs.obs import ObservationEncoder
from melee_envs.opponents import make_opponent
from melee_envs.scoring import NUM_STATS, episode_info
from melee_envs.threads import choose_layer, chunk_games, pick_threads

MODES = ("opponent", "self_play")
AUTORESET_CODES = {
    AutoresetMode.NEXT_STEP: NEXT_STEP,
    AutoresetMode.SAME_STEP: SAME_STEP,
    AutoresetMode.DISABLED: DISABLED,
}
#: The vector env's own arguments (named in the error for an unknown one).
VECTOR_ARGUMENTS = (
    "num_envs", "mode", "opponent", "action_mode", "autoreset_mode", "frame_skip", "frameskip", "delay", "mirror",
    "threads", "num_threads", "copy", "max_episode_steps", "render_mode", "seed", "record_replays", "record_games",
)  # fmt: skip


def autoreset_argument(mode: AutoresetMode | str) -> AutoresetMode:
    """An ``AutoresetMode`` from itself or its name (any case)."""
    if isinstance(mode, AutoresetMode):
        return mode
    names = {key.lower(): m for m in AutoresetMode for key in (m.value, m.name)}
    if str(mode).lower() not in names:
        raise ValueError(f"autoreset_mode={mode!r}; choose one of {[m.name.lower() for m in AutoresetMode]}")
    return names[str(mode).lower()]


class MeleeVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` Melee 1v1 games in the mock engine, stepped together (Gymnasium ``VectorEnv``).

    ## Description
    Every game runs the mock engine (see :class:`~melee_envs.envs.single.MeleeEnv`). Two modes:

    * ``mode="opponent"`` (default): ``num_envs`` games, the learner plays port 1 of each, port 2
      is driven by ``opponent`` (``"scripted"``, ``"jumper"``, ``"idle"``, ``"random"`` or any
      batched callable ``(GameState, player_index) -> actions (num_games, ACTION_SIZE)``).
    * ``mode="self_play"``: ``num_envs // 2`` games and the learner drives both ports; row
      ``2b`` is port 1 of game ``b`` and row ``2b + 1`` its port 2, each observation from its own
      player's side (own block first) and each reward that player's. With ``mirror=True`` port 2's
      rows are also x-mirrored (positions, facing, horizontal speeds, stick x), and their stick x
      is flipped back before it reaches the game, so both ports see themselves starting on the
      left facing right: one policy plays both sides consistently.

    ## Spaces
    Per row, as the single env: ``MultiDiscrete([2]*8 + [17]*4 + [5])`` actions (``Discrete(28)``
    with ``action_mode="discrete"``) and a flat ``float32`` observation from ``obs``
    (:class:`~melee_envs.obs.ObsConfig`) inside finite bounds. ``action_space`` /
    ``observation_space`` are batched.

    ## Auto-reset
    ``autoreset_mode`` (also in ``metadata["autoreset_mode"]``), as Gymnasium's vector envs:

    * ``NEXT_STEP`` (default, Gymnasium's own default): the step that ends a game returns its
      last observation; the next ``step`` ignores that row's action, starts a new game and returns
      its first observation with reward 0.
    * ``SAME_STEP``: the new game starts inside the ending step; the returned observation is the
      new game's first, the last one is in ``info["final_obs"]`` (rows flagged by
      ``info["_final_obs"]``) and that step's info in ``info["final_info"]``.
    * ``DISABLED``: an ended game waits (reward 0, flags and observation unchanged) until
      ``reset(options={"reset_mask": mask})`` restarts the rows in ``mask``.

    The ending step's info holds the game's statistics under ``"melee"`` (``won``, ``draw``,
    ``frames``, ``stocks``, ``opponent_stocks``, ``stocks_lost``, ``stocks_taken``,
    ``damage_dealt``, ``damage_taken``, each an array over rows with its ``_`` mask; rows flagged
    by ``info["_melee"]``), in ``info`` itself (``NEXT_STEP``, ``DISABLED``) or in
    ``info["final_info"]`` (``SAME_STEP``). ``info["episode"]`` is left to Gymnasium's
    ``RecordEpisodeStatistics``. A new game draws its stage again when ``stage="random"``, and
    its start when ``start_spread`` / ``start_percent`` are set.

    ## Arguments
    * ``num_envs``: rows (agents); in self-play an even number.
    * ``autoreset_mode``: an ``AutoresetMode`` or its name (``"next_step"``, ``"same_step"``,
      ``"disabled"``).
    * ``frame_skip`` (or ``frameskip``): frames each action is held for (rewards summed over them);
      ``metadata["render_fps"]`` is 60 / ``frame_skip``.
    * ``delay``: the learner's action reaches the game ``delay`` steps later (online play); the
      first ``delay`` steps of a game apply no input.
    * ``threads``: threads for the kernel (default: one below 2,048 rows, else every core this
      process may use; see :mod:`melee_envs.threads`).
    * ``copy``: return a copy of the observation buffer (default) or the buffer itself, which the
      next ``step`` overwrites.
    * ``max_episode_steps``: truncate a game after this many steps (``0``/None: only the game's
      own end). Other arguments as :class:`~melee_envs.envs.single.MeleeEnv`.
    * ``record_replays``: a folder; every finished game (of the first ``record_games`` games of the
      batch, default all) is written there as a Slippi replay (``docs/replays.md``), every frame
      of it (those inside a ``frame_skip`` too) in any auto-reset mode; each recorded game holds
      about 600 bytes per frame until it ends.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        *,
        mode: str = "opponent",
        opponent: Any = "scripted",
        action_mode: str = "multi_discrete",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        frame_skip: int = 1,
        delay: int = 0,
        mirror: bool = False,
        threads: int | None = None,
        copy: bool = True,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        seed: int | None = None,
        record_replays: Any = None,
        record_games: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer; got {num_envs!r}")
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}; choose one of {MODES}")
        if mode == "self_play" and num_envs % 2:
            raise ValueError(f"self_play needs an even num_envs (two rows per game); got {num_envs}")
        check_action_mode(action_mode)
        frame_skip = frame_skip_argument(frame_skip, kwargs)
        threads = kwargs.pop("num_threads", threads)  # the earlier spelling
        delay = delay_argument(delay)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}; supported: None, 'rgb_array'")
        self.config = GameConfig.from_kwargs(VECTOR_ARGUMENTS, **kwargs)
        if self.config.backend != "mock":
            raise ValueError("the vector env runs the mock engine; for Dolphin use melee_envs.backends.dolphin")
        self.autoreset_mode = autoreset_argument(autoreset_mode)
        self.num_envs = int(num_envs)
        self.threads = pick_threads(self.num_envs, threads)
        choose_layer()
        self._chunk = chunk_games(self.num_envs // (2 if mode == "self_play" else 1), self.threads)
        self.mode = mode
        self.rows_per_game = 2 if mode == "self_play" else 1
        self.num_games = self.num_envs // self.rows_per_game
        if mirror and mode != "self_play":
            raise ValueError("mirror=True applies to mode='self_play' (port 2's rows)")
        self.mirror = bool(mirror)
        self.frame_skip = frame_skip
        self.delay = int(delay)
        self.copy = copy
        self.max_episode_steps = int(max_episode_steps or 0)
        self.render_mode = render_mode
        self.action_mode = action_mode
        self.metadata = {
            **type(self).metadata,
            "render_fps": 60 / self.frame_skip,
            "autoreset_mode": self.autoreset_mode,
        }

        self.backend = MockBackend(self.num_games, self.config.mock_config())
        self._no_tape = make_tape(self.backend.packed, 0, 1)  # the kernel's tape when nothing is recorded
        self._recorder: Any = None
        if record_replays is not None:
            self._recorder = self._make_recorder(record_replays, record_games, opponent)
        self._start = self.backend.config.start
        self.codec = self.backend.codec
        self.encoder = ObservationEncoder(self.config.obs)
        self._enc = self.encoder.kernel_tables()
        self.opponent = make_opponent(opponent, self.codec, seed) if mode == "opponent" else None
        self._user_opponent = mode == "opponent" and not isinstance(opponent, str)

        self.single_observation_space = self.encoder.observation_space()
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        if action_mode == "discrete":
            self._table = discrete_table(self.codec).astype(np.int64)
            self.single_action_space = spaces.Discrete(len(DISCRETE_ACTION_NAMES))
        else:
            self.single_action_space = self.codec.action_space()
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)

        n, rows, size = self.num_games, self.num_envs, self.encoder.size
        self._obs = np.zeros((rows, size), np.float32)
        self._final_obs = np.zeros((rows, size), np.float32)
        self._rewards = np.zeros(rows, np.float32)
        self._terminated = np.zeros(rows, np.bool_)
        self._truncated = np.zeros(rows, np.bool_)
        self._pending = np.zeros(n, np.bool_)
        self._events = np.zeros(n, np.uint8)  # per game: RESTARTED / ENDED in the last kernel call
        self._act = np.broadcast_to(self.codec.noop().astype(np.int64), (n, 2, ACTION_SIZE)).copy()
        self._noop = self.codec.noop().astype(np.int64)
        self._no_opponent = np.zeros((n, ACTION_SIZE), np.int64)
        self._no_learner = np.zeros((rows, ACTION_SIZE), np.int64)
        self._ring = np.broadcast_to(self._noop, (self.delay + 1, rows, ACTION_SIZE)).copy()
        self._slot = 0
        self._steps = np.zeros(n, np.int32)
        self._prev_stocks = np.zeros((n, 2), np.int32)
        self._prev_pct = np.zeros((n, 2), np.float32)
        self._episodes = np.zeros(n, np.int64)
        self._stage_seed = 0
        self._ended_winner = np.zeros(n, np.int32)
        self._ended_frames = np.zeros(n, np.int32)
        self._ended_stocks = np.zeros((n, 2), np.int32)
        self._ep_stats = np.zeros((n, 2, NUM_STATS), np.float32)
        self._ended_stats = np.zeros((n, 2, NUM_STATS), np.float32)
        r = self.config.reward
        self._weights = r.weights
        if str(self.config.stage).lower() == "random":
            self._stage_pool = np.array([s.internal_id for s in stages.stages().values()], np.int32)
        else:
            self._stage_pool = np.array([stages.get(self.config.stage).internal_id], np.int32)
        self._rng = np.random.default_rng(seed)
        self._needs_reset = True
        self._warm = False
        self._bound: tuple | None = None  # the kernel's array arguments (see _kernel)
        self._entry: Any = None  # the serial kernel's compiled entry for those arguments

    # -- API ------------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start every game (or, with ``options={"reset_mask": mask}``, the rows in ``mask``)."""
        mask = (options or {}).get("reset_mask")
        if mask is not None and not self._needs_reset:
            games = self._game_mask(mask)
        else:
            games = np.ones(self.num_games, np.bool_)
            if seed is not None:
                self._rng = np.random.default_rng(seed)
            self._stage_seed = int(self._rng.integers(2**62))
            self._episodes[:] = 0
            self._ring[:] = self._noop
            self._slot = 0
        if seed is not None:
            self.action_space.seed(seed)
            if self.opponent is not None and hasattr(self.opponent, "seed"):
                self.opponent.seed(seed)
        self._pending[:] = games
        if self._recorder is not None and seed is not None:
            self._recorder.seed = seed
        if self._kernel(RESTART, self._no_learner, self._no_opponent) and self._recorder is not None:
            self._record()
        self._clear_delay()
        self._needs_reset = False
        return (self._obs.copy() if self.copy else self._obs), {}

    def _make_recorder(self, folder: Any, games: int | None, opponent: Any) -> Any:
        from melee_envs.backends.replay.writer import VectorRecorder

        games = self.num_games if games is None else int(games)
        if not 1 <= games <= self.num_games:
            raise ValueError(f"record_games must be in 1..{self.num_games} (the games of the batch); got {games}")
        names = (
            ("port_1", "port_2")
            if self.mode == "self_play"
            else ("agent", opponent if isinstance(opponent, str) else "opponent")
        )
        return VectorRecorder(folder, games, names, self.backend.packed, self.frame_skip)

    def _record(self) -> None:
        """Hand the last engine call's events to the replay recorder (its frames are on the tape)."""
        events, rows = self._events, slice(None, None, self.rows_per_game)
        ended = (events & ENDED) != 0
        self._recorder.capture((events & RESTARTED) != 0, ended & self._terminated[rows], ended, self._ended_winner)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        learner = self._learner_actions(actions)
        if self.delay:
            self._ring[self._slot] = learner
            self._slot = (self._slot + 1) % (self.delay + 1)
            learner = self._ring[self._slot]
        if self.rows_per_game == 2:
            opp = self._no_opponent
        else:
            opp = self.opponent(self.backend.state, 1)
            if self._user_opponent:
                opp = self.codec.check_rows(np.reshape(opp, (-1, ACTION_SIZE)), self.num_games)
            opp = _writable_int64(np.reshape(opp, (self.num_games, ACTION_SIZE)))
        info: dict = {}
        events = self._kernel(STEP, learner, opp)
        if events:  # some game ended or restarted: rare, so looked at only then
            if self._recorder is not None:
                self._record()
            self._clear_delay()
            ended = np.repeat((self._events & ENDED) != 0, self.rows_per_game)  # ended in this very step
            if ended.any() and self.autoreset_mode == AutoresetMode.SAME_STEP:
                info = {
                    "final_obs": self._final_obs.copy(),
                    "_final_obs": ended,
                    "final_info": self._game_info(ended),
                    "_final_info": ended.copy(),
                }
            elif ended.any():
                info = self._game_info(ended)
        obs = self._obs.copy() if self.copy else self._obs
        return obs, self._rewards.copy(), self._terminated.copy(), self._truncated.copy(), info

    def _kernel(self, phase: int, learner: np.ndarray, opp: np.ndarray) -> int:
        """One compiled call (see :mod:`melee_envs.backends.mock.batch`); returns the number of
        games that ended or restarted in it (their bits in ``self._events``)."""
        p, b = self.backend.packed, self.backend
        if self._bound is None:  # the arrays never change identity: gathered once per env (and copy)
            self._bound = (
                b._T,
                b.games,
                Rules(self._act, b._stick, b._shoulder, b.config.time_limit_frames, b.config.stocks,
                      self.rows_per_game, self.mirror),
                Starts(self._pending, self._steps, b._chars, self._start, self._stage_pool, self._episodes),
                Scores(self._prev_stocks, self._prev_pct, self._ep_stats, self._weights),
                Outputs(self._events, self._rewards, self._terminated, self._truncated, self._ended_winner,
                        self._ended_frames, self._ended_stocks, self._ended_stats, self._obs, self._final_obs),
                Encoding(p.ji, p.jf, p.jb, *self._enc),
            )  # fmt: skip
        tape = self._no_tape if self._recorder is None else self._recorder.make_room()
        args = (
            phase, AUTORESET_CODES[self.autoreset_mode], learner, opp, self._stage_seed, self.frame_skip,
            self.max_episode_steps, *self._bound, tape,
        )  # fmt: skip
        if self._warm:
            return self._call(args)
        what = "the vector env's " + ("serial kernel" if self.threads == 1 else "parallel kernel")
        with compile_notice(what):
            events = self._call(args)
        self._warm = True
        return events

    def _call(self, args: tuple) -> int:
        if self._entry is not None:
            return self._entry(*args)
        if self.threads == 1:  # the calling thread alone: no pool to wake, none to spin
            events = step_serial(*args)
            self._entry = compiled_entry(step_serial, args)
            return events
        numba.set_num_threads(self.threads)
        numba.set_parallel_chunksize(1)  # chunks go to whichever thread is free
        try:
            return step_parallel(self._chunk, *args)
        finally:
            numba.set_parallel_chunksize(0)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_bound"] = state["_entry"] = None  # rebuilt from the copy's own arrays
        return state

    def _clear_delay(self) -> None:
        """A game restarted in the last kernel call applies no input for its first ``delay`` steps."""
        if self.delay:
            games = (self._events & RESTARTED) != 0
            if games.any():
                self._ring[:, np.repeat(games, self.rows_per_game)] = self._noop

    def _game_mask(self, rows: Any) -> np.ndarray:
        mask = np.asarray(rows, dtype=np.bool_)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},); got shape {mask.shape}")
        games = mask.reshape(self.num_games, self.rows_per_game)
        if self.rows_per_game == 2 and (games[:, 0] != games[:, 1]).any():
            raise ValueError("reset_mask: in self_play both rows of a game (2b and 2b + 1) reset together")
        return games[:, 0].copy()

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One RGB frame per row in ``"rgb_array"`` mode (Gymnasium's vector convention; both rows
        of a self-play game show that game), see :mod:`melee_envs.render`."""
        if self.render_mode != "rgb_array":
            return None
        from melee_envs.render import render_state

        state = self.backend.state
        games = [render_state(state, index=b) for b in range(self.num_games)]
        return tuple(games[r // self.rows_per_game] for r in range(self.num_envs))

    def action_masks(self) -> np.ndarray:
        """Every action is legal in every state: all-True masks, one row per env, in the layout
        sb3-contrib's ``MaskablePPO`` expects (``sum(nvec)`` for MultiDiscrete, ``n`` for Discrete)."""
        return np.tile(legal_actions(self.single_action_space), (self.num_envs, 1))

    def close_extras(self, **kwargs: Any) -> None:
        self.backend.close()

    @property
    def layout(self) -> dict[str, slice]:
        return self.encoder.layout

    # -- helpers --------------------------------------------------------------------------------

    def _learner_actions(self, actions: Any) -> np.ndarray:
        if self.action_mode == "discrete":
            arr = np.asarray(actions)
            if arr.shape != (self.num_envs,):
                raise ValueError(f"actions must have shape ({self.num_envs},) for Discrete rows; got {arr.shape}")
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise ValueError("actions contain NaN or inf; Discrete actions must be integers")
            if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0)):
                raise ValueError(f"actions must be integers; got dtype {arr.dtype}")
            idx = arr.astype(np.int64)
            bad = (idx < 0) | (idx >= len(self._table))
            if bad.any():
                r = int(np.argmax(bad))
                raise ValueError(f"action row {r} = {idx[r]} is outside Discrete({len(self._table)})")
            return self._table[idx]
        return self.codec.check_rows(actions, self.num_envs)

    def _game_info(self, ended: np.ndarray) -> dict:
        """``{"melee": per-row statistics of the games that ended (with ``_`` masks), "_melee": ended}``."""
        games = np.arange(self.num_envs) // self.rows_per_game
        ego = np.arange(self.num_envs) % self.rows_per_game
        info = episode_info(
            self._ended_winner[games], self._ended_frames[games], self._ended_stocks[games],
            self._ended_stats[games], ego,
        )  # fmt: skip
        stats = {k: np.where(ended, v, np.zeros_like(v)) for k, v in info.items()}
        stats.update({f"_{k}": ended for k in list(stats)})
        return {INFO_KEY: stats, f"_{INFO_KEY}": ended.copy()}


def _writable_int64(arr: np.ndarray) -> np.ndarray:
    """C-contiguous, writable int64 (what the compiled kernel's single signature takes)."""
    out = np.ascontiguousarray(arr, dtype=np.int64)
    return out if out.flags.writeable else out.copy()


def make_vector_env(num_envs: int = 1, **kwargs: Any) -> MeleeVectorEnv:
    """The registered ``vector_entry_point`` of the Melee ids."""
    return MeleeVectorEnv(num_envs, **kwargs)


def sb3_vec_env(num_envs: int = 1, **kwargs: Any) -> Any:
    """:class:`MeleeVectorEnv` behind Stable-Baselines3's ``VecEnv`` interface (needs SB3).

    SB3 conventions: ``dones`` = terminated or truncated, a finished game restarts in the same
    step (its last observation in ``infos[i]["terminal_observation"]``), ``"TimeLimit.truncated"``
    for truncations, and the game's statistics in ``infos[i]["melee"]``. Wrap it in
    ``VecMonitor`` for episode returns (``infos[i]["episode"]``).
    """
    from melee_envs.envs.sb3 import MeleeSB3VecEnv

    if kwargs.setdefault("autoreset_mode", AutoresetMode.SAME_STEP) != AutoresetMode.SAME_STEP:
        raise ValueError("SB3's VecEnv restarts finished games in the same step: autoreset_mode must be SAME_STEP")
    return MeleeSB3VecEnv(MeleeVectorEnv(num_envs, **kwargs))
