"""Stable-Baselines3 ``VecEnv`` adapter for :class:`~melee_envs.envs.vector.MeleeVectorEnv`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from melee_envs.envs.game import INFO_KEY
from melee_envs.envs.vector import MeleeVectorEnv


def ended_row_info(info: dict, row: int, truncated: bool) -> dict[str, Any]:
    """SB3's info for a row whose game ended in a ``SAME_STEP`` step of the vector env: its last
    observation, whether the step limit cut it, and the game's statistics under ``"melee"``."""
    final = info["final_info"][INFO_KEY]
    return {
        "terminal_observation": info["final_obs"][row],
        "TimeLimit.truncated": truncated,
        INFO_KEY: {k: v[row].item() for k, v in final.items() if not k.startswith("_")},
    }


class MeleeSB3VecEnv(VecEnv):
    """The batched Melee env as an SB3 ``VecEnv`` (see :func:`melee_envs.envs.vector.sb3_vec_env`)."""

    def __init__(self, env: MeleeVectorEnv, num_envs: int | None = None) -> None:
        """``num_envs``: the rows SB3 sees, when a subclass shows fewer than the env has."""
        self.env = env
        super().__init__(num_envs or env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None
        self.render_mode = env.render_mode

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        obs, rewards, terminated, truncated, info = self.env.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        if info:
            for i in np.flatnonzero(dones):
                infos[i] = ended_row_info(info, i, bool(truncated[i] and not terminated[i]))
        return obs, rewards, dones, infos

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        self._seed = seed
        return [seed] * self.num_envs

    def close(self) -> None:
        self.env.close()

    def render(self, mode: str | None = None) -> np.ndarray | None:
        return self.env.render()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [self.env.render()]

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.env, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        if method_name == "action_masks":  # one mask per row (sb3-contrib's MaskablePPO asks this way)
            return [result[i] for i in self._indices(indices)]
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)
