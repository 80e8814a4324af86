"""Batched mock-engine envs: a native Gymnasium ``VectorEnv`` and an SB3 ``VecEnv`` adapter.

``gym.make_vec("Melee-v0", num_envs=N)`` builds :class:`MeleeVectorEnv` (it is the registered
``vector_entry_point``). All games live in preallocated arrays; each ``step`` is one compiled,
multi-threaded call that steps every game, adds rewards, auto-resets finished games and writes
observations in place (:mod:`melee_envs.backends.mock.batch`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from melee_envs.backends.mock import MockBackend
from melee_envs.backends.mock.batch import P_STOCKS, check_batch, encode_all, step_batch
from melee_envs.compile_notice import compile_notice
from melee_envs.controller import DISCRETE_ACTION_NAMES, discrete_table
from melee_envs.data import stages
from melee_envs.envs.game import GameConfig
from melee_envs.obs import ObservationEncoder
from melee_envs.opponents import make_opponent

MODES = ("opponent", "self_play")


class MeleeVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` Melee 1v1 games in the mock engine, stepped together (Gymnasium ``VectorEnv``).

    ## Description
    Every game runs the mock engine (see :class:`~melee_envs.envs.single.MeleeEnv`). Two modes:

    * ``mode="opponent"`` (default): ``num_envs`` games, the learner plays port 1 of each, port 2
      is driven by ``opponent`` (``"scripted"``, ``"jumper"``, ``"idle"``, ``"random"`` or any
      batched callable ``(GameState, player_index) -> actions (num_games, 13)``).
    * ``mode="self_play"``: ``num_envs // 2`` games and the learner drives both ports; row
      ``2b`` is port 1 of game ``b`` and row ``2b + 1`` its port 2, each observation from its own
      player's side (own block first) and each reward that player's. With ``mirror=True`` port 2's
      rows are also x-mirrored (positions, facing, horizontal speeds, stick x), and their stick x
      is flipped back before it reaches the game, so both ports see themselves starting on the
      left facing right: one policy plays both sides consistently.

    ## Spaces
    Per row, as the single env: ``MultiDiscrete([2]*8 + [17]*4 + [5])`` actions (``Discrete(28)``
    with ``action_mode="discrete"``) and a flat ``float32`` observation from ``obs``
    (:class:`~melee_envs.obs.ObsConfig`). ``action_space`` / ``observation_space`` are batched.

    ## Auto-reset
    ``metadata["autoreset_mode"]`` is ``SAME_STEP``: a game that ends is reset inside the same
    ``step``; the returned observation is the new game's first, the last one is in
    ``info["final_obs"]`` (rows flagged by ``info["_final_obs"]``) with ``info["final_info"]``
    (``won``, ``draw``, ``frames``, ``stocks``, ``opponent_stocks``, ``stocks_lost``,
    ``stocks_taken``, ``damage_dealt``, ``damage_taken``: the single env's ``info["episode"]``).
    A new game draws its stage again when ``stage="random"``.

    ## Arguments
    * ``num_envs``: rows (agents); in self-play an even number.
    * ``frame_skip``: frames each action is held for (rewards summed over them).
    * ``delay``: the learner's action reaches the game ``delay`` steps later (online play); the
      first ``delay`` steps of a game apply no input.
    * ``num_threads``: threads for the kernel (default: Numba's, all cores).
    * ``copy``: return a copy of the observation buffer (default) or the buffer itself, which the
      next ``step`` overwrites.
    * ``max_episode_steps``: truncate a game after this many steps (``0``/None: only the game's
      own end). Other arguments as :class:`~melee_envs.envs.single.MeleeEnv`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        *,
        mode: str = "opponent",
        opponent: Any = "scripted",
        action_mode: str = "multi_discrete",
        frame_skip: int = 1,
        delay: int = 0,
        mirror: bool = False,
        num_threads: int | None = None,
        copy: bool = True,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer; got {num_envs!r}")
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}; choose one of {MODES}")
        if mode == "self_play" and num_envs % 2:
            raise ValueError(f"self_play needs an even num_envs (two rows per game); got {num_envs}")
        if action_mode not in ("multi_discrete", "discrete"):
            raise ValueError(f"action_mode={action_mode!r}; choose 'multi_discrete' or 'discrete'")
        if int(frame_skip) < 1:
            raise ValueError(f"frame_skip must be >= 1; got {frame_skip}")
        if int(delay) < 0:
            raise ValueError(f"delay must be >= 0; got {delay}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}; supported: None, 'rgb_array'")
        self.config = GameConfig.from_kwargs(**kwargs)
        if self.config.backend != "mock":
            raise ValueError("the vector env runs the mock engine; for Dolphin use melee_envs.backends.dolphin")
        if num_threads is not None:
            if not 1 <= num_threads <= numba.config.NUMBA_NUM_THREADS:
                raise ValueError(f"num_threads must be in [1, {numba.config.NUMBA_NUM_THREADS}]; got {num_threads}")
            numba.set_num_threads(num_threads)
        self.num_envs = int(num_envs)
        self.mode = mode
        self.rows_per_game = 2 if mode == "self_play" else 1
        self.num_games = self.num_envs // self.rows_per_game
        if mirror and mode != "self_play":
            raise ValueError("mirror=True applies to mode='self_play' (port 2's rows)")
        self.mirror = bool(mirror)
        self.frame_skip = int(frame_skip)
        self.delay = int(delay)
        self.copy = copy
        self.max_episode_steps = int(max_episode_steps or 0)
        self.render_mode = render_mode
        self.action_mode = action_mode

        self.backend = MockBackend(self.num_games, self.config.mock_config())
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
        self._act = np.broadcast_to(self.codec.noop().astype(np.int64), (n, 2, 13)).copy()
        self._noop = self.codec.noop().astype(np.int64)
        self._no_opponent = np.zeros((n, 13), np.int64)
        self._ring = np.broadcast_to(self._noop, (self.delay + 1, rows, 13)).copy()
        self._slot = 0
        self._steps = np.zeros(n, np.int32)
        self._prev_stocks = np.zeros((n, 2), np.int32)
        self._prev_pct = np.zeros((n, 2), np.float32)
        self._episodes = np.zeros(n, np.int64)
        self._stage_seed = 0
        self._ended_winner = np.zeros(n, np.int32)
        self._ended_frames = np.zeros(n, np.int32)
        self._ended_stocks = np.zeros((n, 2), np.int32)
        self._ep_damage = np.zeros((n, 2), np.float32)
        self._ended_damage = np.zeros((n, 2), np.float32)
        r = self.config.reward
        self._weights = np.array([r.stock_weight, r.damage_weight, r.win_weight], np.float32)
        if str(self.config.stage).lower() == "random":
            self._stage_pool = np.array([s.internal_id for s in stages.stages().values()], np.int32)
        else:
            self._stage_pool = np.array([stages.get(self.config.stage).internal_id], np.int32)
        self._rng = np.random.default_rng(seed)
        self._nvec = self.codec.nvec.astype(np.int64)
        self._needs_reset = True
        self._warm = False

    # -- API ------------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self.action_space.seed(seed)
            if self.opponent is not None and hasattr(self.opponent, "seed"):
                self.opponent.seed(seed)
        self.backend.reset(int(self._rng.integers(2**31)))
        self._stage_seed = int(self._rng.integers(2**62))
        self._episodes[:] = 0
        p = self.backend.packed
        self._prev_stocks[:] = p.pi[:, :, 0, P_STOCKS]
        self._prev_pct[:] = 0.0
        self._ep_damage[:] = 0.0
        self._steps[:] = 0
        self._ring[:] = self._noop
        self._slot = 0
        with compile_notice("the batched observation encoder"):
            encode_all(
                p.pi, p.pf, p.pb, p.stage, p.frame, p.ji, p.jf, p.jb, self.rows_per_game, self.mirror, self._obs,
                *self._enc,
            )  # fmt: skip
        self._needs_reset = False
        return (self._obs.copy() if self.copy else self._obs), {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        learner = _writable_int64(self._learner_actions(actions))
        if self.delay:
            self._ring[self._slot] = learner
            self._slot = (self._slot + 1) % (self.delay + 1)
            learner = self._ring[self._slot]
        if self.rows_per_game == 2:
            opp = self._no_opponent
        else:
            opp = self.opponent(self.backend.state, 1)
            if self._user_opponent:
                opp = check_batch(np.reshape(opp, (-1, 13)), self._nvec, self.num_games)
            opp = _writable_int64(np.reshape(opp, (self.num_games, 13)))
        p, b = self.backend.packed, self.backend
        if self._warm:
            self._step_kernel(p, b, learner, opp)
        else:
            with compile_notice("the batched Melee engine"):
                self._step_kernel(p, b, learner, opp)
            self._warm = True
        ended = self._terminated | self._truncated
        info: dict = {}
        if ended.any():
            info = self._final_info(ended)
            if self.delay:
                self._ring[:, ended] = self._noop
        obs = self._obs.copy() if self.copy else self._obs
        return obs, self._rewards.copy(), self._terminated.copy(), self._truncated.copy(), info

    def _step_kernel(self, p: Any, b: Any, learner: np.ndarray, opp: np.ndarray) -> None:
        step_batch(
            p.pi, p.pf, p.pb, b.ei, b.ef, p.stage, p.frame, b.done, b.winner, learner, opp, self._act, b._stick,
            b._shoulder, b._T, b.config.time_limit_frames, self.frame_skip, self.max_episode_steps, self._steps,
            b._chars, b.config.stocks, self._stage_pool, self._stage_seed, self._episodes, self._prev_stocks,
            self._prev_pct, self._ep_damage, self._weights,
            self.rows_per_game, self.mirror, self._rewards, self._terminated, self._truncated, self._ended_winner,
            self._ended_frames, self._ended_stocks, self._ended_damage, self._obs, self._final_obs, p.ji, p.jf, p.jb,
            *self._enc,
        )  # fmt: skip

    def render(self) -> np.ndarray | None:
        """An RGB frame of game 0 in ``"rgb_array"`` mode (see :mod:`melee_envs.render`)."""
        if self.render_mode != "rgb_array":
            return None
        from melee_envs.render import render_state

        return render_state(self.backend.state, index=0)

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
        return check_batch(actions, self._nvec, self.num_envs)

    def _final_info(self, ended: np.ndarray) -> dict:
        games = np.arange(self.num_envs) // self.rows_per_game
        ego = np.arange(self.num_envs) % self.rows_per_game
        winner = self._ended_winner[games]
        stocks = self._ended_stocks[games, ego]
        opp = self._ended_stocks[games, 1 - ego]
        final_info = {
            "won": (winner == ego) & ended,
            "draw": (winner < 0) & ended,
            "frames": np.where(ended, self._ended_frames[games], 0),
            "stocks": np.where(ended, stocks, 0),
            "opponent_stocks": np.where(ended, opp, 0),
            "stocks_lost": np.where(ended, self.config.stocks - stocks, 0),
            "stocks_taken": np.where(ended, self.config.stocks - opp, 0),
            "damage_dealt": np.where(ended, self._ended_damage[games, 1 - ego], 0.0),
            "damage_taken": np.where(ended, self._ended_damage[games, ego], 0.0),
        }
        final_info.update({f"_{k}": ended for k in list(final_info)})
        return {
            "final_obs": self._final_obs.copy(),
            "_final_obs": ended.copy(),
            "final_info": final_info,
            "_final_info": ended.copy(),
        }


def _writable_int64(arr: np.ndarray) -> np.ndarray:
    """C-contiguous, writable int64 (what the compiled kernel's single signature takes)."""
    out = np.ascontiguousarray(arr, dtype=np.int64)
    return out if out.flags.writeable else out.copy()


def make_vector_env(num_envs: int = 1, **kwargs: Any) -> MeleeVectorEnv:
    """The registered ``vector_entry_point`` of the Melee ids."""
    return MeleeVectorEnv(num_envs, **kwargs)


def sb3_vec_env(num_envs: int = 1, **kwargs: Any) -> Any:
    """:class:`MeleeVectorEnv` behind Stable-Baselines3's ``VecEnv`` interface (needs SB3).

    SB3 conventions: ``dones`` = terminated or truncated, the finished game's last observation in
    ``infos[i]["terminal_observation"]``, ``"TimeLimit.truncated"`` for truncations, and
    ``infos[i]["episode_result"]`` (``won``, ``draw``, ``frames``). Wrap it in ``VecMonitor`` for
    episode returns.
    """
    from melee_envs.envs.sb3 import MeleeSB3VecEnv

    return MeleeSB3VecEnv(MeleeVectorEnv(num_envs, **kwargs))
