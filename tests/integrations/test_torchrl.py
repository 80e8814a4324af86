"""TorchRL: ``GymEnv`` on the id, ``GymWrapper`` over the native vector env, ``PettingZooWrapper``;
``check_env_specs`` and a short collector run with the default info reader."""

import gymnasium as gym
import pytest

import melee_envs

torchrl = pytest.importorskip("torchrl", reason="TorchRL is installed by the 'clients' test extra")
from torchrl.envs import GymEnv, GymWrapper, PettingZooWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402

SHORT = {"stocks": 1, "time_limit_minutes": 0.02, "opponent": "random"}


def _collect(env, frames: int) -> int:
    from torchrl.collectors import Collector

    collector = Collector(env, policy=None, frames_per_batch=frames // 2, total_frames=frames)
    seen = 0
    for batch in collector:
        seen += batch.numel()
    collector.shutdown()
    return seen


def test_gym_env_by_id_checks_and_collects():
    env = GymEnv("Melee-v0", frame_skip=2, **SHORT)  # TorchRL passes frameskip= to the env
    check_env_specs(env)
    assert _collect(env, 200) == 200
    print("TorchRL GymEnv('Melee-v0'): check_env_specs passed, 200 frames collected")


def test_gym_wrapper_over_the_native_vector_env():
    # TorchRL resets finished rows itself: it asks for DISABLED (or SAME_STEP) auto-reset
    env = GymWrapper(gym.make_vec("MeleeDiscrete-v0", num_envs=4, autoreset_mode="disabled", **SHORT))
    check_env_specs(env)
    assert _collect(env, 400) == 400
    print("TorchRL GymWrapper(make_vec): check_env_specs passed")


def test_pettingzoo_wrapper():
    env = PettingZooWrapper(melee_envs.parallel_env(stocks=1, time_limit_minutes=0.02), use_mask=True)
    check_env_specs(env)
    assert _collect(env, 200) == 200
    print("TorchRL PettingZooWrapper(parallel_env): check_env_specs passed, 200 frames collected")
