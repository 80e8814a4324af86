"""Melee environments: Gymnasium ``Melee-v0``, a PettingZoo parallel env, and their game data.

``import melee_envs`` registers the Gymnasium ids and stays light: engines and envs load when
first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gymnasium.envs.registration import register, registry

from melee_envs.controller import ControllerCodec
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.rewards import RewardConfig
from melee_envs.state import ControllerState, GameState, PlayerState

if TYPE_CHECKING:
    from melee_envs.envs.parallel import MeleeParallelEnv
    from melee_envs.envs.single import MeleeEnv

__version__ = "0.1.0"

#: Frames in the default 8-minute game; the registered step limit.
DEFAULT_MAX_EPISODE_STEPS = 8 * 60 * 60

_IDS = {
    "Melee-v0": {},
    "MeleeDiscrete-v0": {"action_mode": "discrete"},
}
for _id, _kwargs in _IDS.items():
    if _id not in registry:
        register(
            id=_id,
            entry_point="melee_envs.envs.single:MeleeEnv",
            vector_entry_point="melee_envs.envs.vector:make_vector_env",
            kwargs=_kwargs,
            max_episode_steps=DEFAULT_MAX_EPISODE_STEPS,
        )


def parallel_env(**kwargs: Any) -> MeleeParallelEnv:
    """A PettingZoo ``ParallelEnv`` with both ports as agents (see ``MeleeParallelEnv``)."""
    from melee_envs.envs.parallel import MeleeParallelEnv

    return MeleeParallelEnv(**kwargs)


def env(**kwargs: Any) -> Any:
    """The AEC (turn-based) view of :func:`parallel_env`, derived with ``parallel_to_aec``."""
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(parallel_env(**kwargs))


def __getattr__(name: str) -> Any:
    if name == "MeleeEnv":
        from melee_envs.envs.single import MeleeEnv

        return MeleeEnv
    if name == "MeleeVectorEnv":
        from melee_envs.envs.vector import MeleeVectorEnv

        return MeleeVectorEnv
    if name == "MeleeParallelEnv":
        from melee_envs.envs.parallel import MeleeParallelEnv

        return MeleeParallelEnv
    if name in ("read_replay", "Replay", "ReplayError", "ReplayBackend"):
        from melee_envs.backends import replay

        return getattr(replay, name)
    raise AttributeError(f"module 'melee_envs' has no attribute {name!r}")


__all__ = [
    "ControllerCodec",
    "ControllerState",
    "GameState",
    "MeleeEnv",
    "MeleeParallelEnv",
    "MeleeVectorEnv",
    "ObsConfig",
    "ObservationEncoder",
    "PlayerState",
    "Replay",
    "ReplayBackend",
    "ReplayError",
    "RewardConfig",
    "env",
    "parallel_env",
    "read_replay",
]
