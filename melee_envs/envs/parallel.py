"""PettingZoo ``ParallelEnv``: both ports are agents acting simultaneously."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from melee_envs.envs.game import INFO_KEY, Game, GameConfig, delay_argument, frame_skip_argument

#: The env's own arguments (named, with GameConfig's fields, in the error for an unknown one).
PARALLEL_ARGUMENTS = ("render_mode", "frame_skip", "frameskip", "delay", "max_cycles", "record_replays")


class MeleeParallelEnv(ParallelEnv):
    """Super Smash Bros. Melee 1v1, both players learning (PettingZoo parallel API).

    ## Description
    Two characters fight on a tournament-legal stage in the mock engine: Melee's action-state ids,
    character attributes, stage geometry and attacks from real game data (see
    ``docs/mock-engine.md``). Agents are ``"port_1"`` and ``"port_2"``.

    ## Action Space
    ``MultiDiscrete([2]*8 + [17]*4 + [5])`` per agent: buttons A B X Y Z L R D-up, main stick x/y,
    c-stick x/y (17 buckets over [0, 1]) and the analog shoulder (5 levels); see
    :class:`~melee_envs.controller.ControllerCodec`.

    ## Observation Space
    A finite ``Box((size,), float32)`` from each agent's own view (its block first); contents and
    named slices from :class:`~melee_envs.obs.ObsConfig` (default 1035 values).

    ## State
    ``state()`` is the global state for centralised critics: port 1's observation (both players,
    stage, projectiles, port 1's controller) followed by port 2's controller (ACTION_SIZE values);
    ``state_space`` is its ``Box``.

    ## Rewards
    Zero-sum: ``stock_weight`` x (opponent stocks lost - own stocks lost) + ``damage_weight`` x
    (damage dealt - damage taken) + ``win_weight`` x (+1 win / -1 loss); defaults 1, 0.01, 0.

    ## Starting State
    Both players standing on the stage at +/-45% of its half-width, facing each other (Melee's
    fixed start), unless ``start_spread`` / ``start_percent`` randomise it (see ``Melee-v0``).

    ## Episode End
    Both agents end together: terminated when a player has no stocks left or the game timer
    runs out (8 minutes), truncated after ``max_cycles`` steps if set. ``infos[agent]["melee"]``
    then holds per-episode statistics, and ``agents`` is empty until the next ``reset``.

    ## Arguments
    ``characters``, ``stage``, ``stocks``, ``time_limit_minutes``, ``obs`` (``ObsConfig`` or
    dict), ``reward`` (``RewardConfig`` or dict), ``frame_skip`` (or ``frameskip``) and ``delay``
    (both agents' inputs; same meaning as on ``Melee-v0``), ``max_cycles`` (None: the game's own
    end), ``start_spread``, ``start_percent``, ``record_replays`` (a folder: every finished game
    written there as a Slippi replay, see ``docs/replays.md``), ``render_mode`` (``"ansi"``,
    ``"rgb_array"``, ``"human"`` or None), ``backend`` (``"mock"`` or ``"dolphin"`` with ``dolphin={...}``; use
    ``controls=("bot", "bot")`` there so both agents' actions reach the game).

    ## Version History
    * v0: initial release; since 0.2, finite bounds, ``info["melee"]``, ``state()``,
      ``max_cycles``, ``frame_skip``, ``delay``, ``"human"`` rendering.
    """

    metadata = {
        "name": "melee_v0",
        "render_modes": ["ansi", "rgb_array", "human"],
        "is_parallelizable": True,
        "render_fps": 60,
    }

    def __init__(
        self,
        render_mode: str | None = None,
        frame_skip: int = 1,
        delay: int = 0,
        max_cycles: int | None = None,
        record_replays: Any = None,
        **kwargs: Any,
    ) -> None:
        self.frame_skip = frame_skip_argument(frame_skip, kwargs)
        self.delay = delay_argument(delay)
        if max_cycles is not None and (isinstance(max_cycles, bool) or int(max_cycles) != max_cycles or max_cycles < 1):
            raise ValueError(f"max_cycles must be an integer >= 1 or None; got {max_cycles!r}")
        self.max_cycles = max_cycles
        self.config = GameConfig.from_kwargs(PARALLEL_ARGUMENTS, **kwargs)
        self.game = Game(self.config, render_mode, frame_skip=self.frame_skip, delay=self.delay,
                         record_replays=record_replays)  # fmt: skip
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "render_fps": 60 / self.frame_skip}
        self.possible_agents = ["port_1", "port_2"]
        self.agents: list[str] = []
        self._obs_space = self.game.encoder.observation_space()
        self._act_space = self.game.codec.action_space()
        self._controller = self.game.encoder.layout.get("controller")
        extra = self._controller.stop - self._controller.start if self._controller else 0
        self.state_space = spaces.Box(
            np.concatenate([self._obs_space.low, np.zeros(extra, np.float32)]),
            np.concatenate([self._obs_space.high, np.ones(extra, np.float32)]),
            dtype=np.float32,
        )
        self._joint = self.game.actions[0].copy()
        self._cycles = 0
        self._np_random: np.random.Generator | None = None

    @property
    def np_random(self) -> np.random.Generator:
        """The env's generator (seeded by ``reset(seed=...)``; SuperSuit's ``frame_skip_v0`` draws from it)."""
        if self._np_random is None:
            self._np_random, _ = seeding.np_random()
        return self._np_random

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def state(self) -> np.ndarray:
        """The global state: port 1's observation, then port 2's controller (see the class docs)."""
        obs = self.game.obs
        if self._controller is None:
            return obs[0].copy()
        return np.concatenate([obs[0], obs[1, self._controller]])

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._np_random, _ = seeding.np_random(seed)
            self._act_space.seed(seed)
        game_seed = int(self.np_random.integers(2**31)) if seed is None else seed
        self.game.reset(game_seed)
        self.agents = list(self.possible_agents)
        self._cycles = 0
        obs = {a: self.game.obs[i].copy() for i, a in enumerate(self.agents)}
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("step() called on a finished game; call reset() first")
        for i, agent in enumerate(self.possible_agents):
            if agent not in actions:
                raise ValueError(f"missing action for agent {agent!r}")
            self._joint[i] = self.game.codec.check_one(actions[agent])
        done = self.game.play(self._joint)
        self._cycles += 1
        truncated = not done and self.max_cycles is not None and self._cycles >= self.max_cycles
        agents = self.agents
        obs = {a: self.game.obs[i].copy() for i, a in enumerate(agents)}
        rewards = {a: float(self.game.step_reward[i]) for i, a in enumerate(agents)}
        terms = {a: done for a in agents}
        truncs = {a: truncated for a in agents}
        infos: dict[str, dict] = {a: {} for a in agents}
        if done or truncated:
            for i, a in enumerate(agents):
                infos[a][INFO_KEY] = self.game.episode_stats(i)
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> str | np.ndarray | None:
        return self.game.render()

    def close(self) -> None:
        self.game.close()
