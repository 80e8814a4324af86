"""``CueRecall``: a memory check in Melee's observation and action spaces.

On the first frame the observation shows where the opponent is (``player1.x`` = -1 or +1, in the
layout of the given ``ObsConfig``); for the next ``delay`` frames every value is zero; on the last
frame the agent must push the main stick toward the opponent (reward +1, else -1; 0 on earlier
frames). A policy that sees one frame at a time scores 0 on average; one that remembers (a
recurrent backbone, or any backbone over a window longer than the episode) scores 1. It plays
the role sb3-contrib's ``CartPoleNoVel`` plays for its recurrent policies.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from melee_envs.controller import MAIN_X, ControllerCodec
from melee_envs.obs import ObsConfig, ObservationEncoder


class CueRecall(gym.Env):
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, delay: int = 4, obs_config: ObsConfig | None = None) -> None:
        if delay < 1:
            raise ValueError(f"delay must be >= 1; got {delay}")
        encoder = ObservationEncoder(obs_config or ObsConfig())
        self.delay = delay
        self.size = encoder.size
        self.cue_index = encoder.layout["player1.x"].start
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.size,), np.float32)
        self.codec = ControllerCodec()
        self.action_space = self.codec.action_space()
        self._side = 1.0
        self._t = 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.size, np.float32)
        if self._t == 0:
            obs[self.cue_index] = self._side
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._side = float(self.np_random.choice([-1.0, 1.0]))
        self._t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._t += 1
        if self._t <= self.delay:
            return self._obs(), 0.0, False, False, {}
        stick = float(self.codec.stick_centres[int(np.asarray(action)[MAIN_X])]) - 0.5
        reward = 1.0 if stick * self._side > 0 else -1.0
        return self._obs(), reward, True, False, {"correct": reward > 0}
