"""PettingZoo ``ParallelEnv``: both ports are agents acting simultaneously."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from melee_envs.envs.game import Game, GameConfig


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
    ``Box(-inf, inf, (size,), float32)`` from each agent's own view (its block first); contents and
    named slices from :class:`~melee_envs.obs.ObsConfig` (default 1035 values).

    ## Rewards
    Zero-sum: ``stock_weight`` x (opponent stocks lost - own stocks lost) + ``damage_weight`` x
    (damage dealt - damage taken) + ``win_weight`` x (+1 win / -1 loss); defaults 1, 0.01, 0.

    ## Starting State
    Both players standing on the stage at +/-45% of its half-width, facing each other.

    ## Episode End
    Terminated when a player has no stocks left or the game timer runs out (8 minutes);
    ``infos[agent]["episode"]`` then holds per-episode statistics.

    ## Arguments
    ``characters``, ``stage``, ``stocks``, ``time_limit_minutes``, ``obs`` (``ObsConfig`` or
    dict), ``reward`` (``RewardConfig`` or dict), ``render_mode`` (``"ansi"``, ``"rgb_array"`` or None),
    ``backend`` (``"mock"`` or ``"dolphin"`` with ``dolphin={...}``; use ``controls=("bot",
    "bot")`` there so both agents' actions reach the game).

    ## Version History
    * v0: initial release.
    """

    metadata = {"name": "melee_v0", "render_modes": ["ansi", "rgb_array"], "is_parallelizable": True, "render_fps": 60}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = GameConfig.from_kwargs(**kwargs)
        self.game = Game(self.config, render_mode)
        self.render_mode = render_mode
        self.possible_agents = ["port_1", "port_2"]
        self.agents: list[str] = []
        self._obs_space = self.game.encoder.observation_space()
        self._act_space = self.game.codec.action_space()

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._act_space.seed(seed)
        self.game.reset(seed)
        self.agents = list(self.possible_agents)
        obs = {a: self.game.obs[i].copy() for i, a in enumerate(self.agents)}
        return obs, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("step() called on a finished game; call reset() first")
        for i, agent in enumerate(self.possible_agents):
            if agent not in actions:
                raise ValueError(f"missing action for agent {agent!r}")
            self.game.actions[0, i] = self.game.codec.check_one(actions[agent])
        done = self.game.step()
        agents = self.agents
        obs = {a: self.game.obs[i].copy() for i, a in enumerate(agents)}
        rewards = {a: float(self.game.reward[i]) for i, a in enumerate(agents)}
        terms = {a: done for a in agents}
        truncs = {a: False for a in agents}
        infos: dict[str, dict] = {a: {} for a in agents}
        if done:
            for i, a in enumerate(agents):
                infos[a]["episode"] = self.game.episode_stats(i)
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> str | np.ndarray | None:
        return self.game.render()

    def close(self) -> None:
        self.game.close()
