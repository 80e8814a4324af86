"""Tianshou (2.x): its vector envs over ``MeleeDiscrete-v0`` and a short DQN training call."""

import gymnasium as gym
import pytest

import melee_envs  # noqa: F401  (registers the ids)

ts = pytest.importorskip("tianshou", reason="Tianshou is installed by the 'clients' test extra")

SHORT = {"stocks": 1, "time_limit_minutes": 0.02, "opponent": "random", "frame_skip": 2}


@pytest.mark.slow
def test_dqn_trains_on_tianshou_vector_envs():
    import torch
    from tianshou.algorithm.modelfree.dqn import DQN, DiscreteQLearningPolicy
    from tianshou.algorithm.optim import AdamOptimizerFactory
    from tianshou.data import Collector, CollectStats, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv, SubprocVectorEnv
    from tianshou.trainer import OffPolicyTrainerParams
    from tianshou.utils.net.common import Net

    torch.manual_seed(0)
    # "module:id": worker processes that do not fork (forkserver, spawn) import melee_envs first
    make = lambda: gym.make("melee_envs:MeleeDiscrete-v0", **SHORT)  # noqa: E731
    train_envs = DummyVectorEnv([make for _ in range(4)])
    test_envs = SubprocVectorEnv([make for _ in range(2)])  # copies the env into worker processes
    env = make()
    net = Net(state_shape=env.observation_space.shape, action_shape=env.action_space.n, hidden_sizes=[64])
    policy = DiscreteQLearningPolicy(model=net, action_space=env.action_space, eps_training=0.2, eps_inference=0.05)
    algorithm = DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-3), gamma=0.9, target_update_freq=50)
    buffer = VectorReplayBuffer(2000, 4)
    train_collector = Collector[CollectStats](algorithm, train_envs, buffer, exploration_noise=True)
    test_collector = Collector[CollectStats](algorithm, test_envs, exploration_noise=True)
    result = algorithm.run_training(
        OffPolicyTrainerParams(
            training_collector=train_collector,
            test_collector=test_collector,
            max_epochs=1,
            epoch_num_steps=400,
            collection_step_num_env_steps=40,
            test_step_num_episodes=2,
            batch_size=32,
            update_step_num_gradient_steps_per_sample=0.25,
            show_progress=False,
            verbose=False,
        )
    )
    test_envs.close()
    assert result.best_reward is not None
    print(f"Tianshou DQN on MeleeDiscrete-v0: {result.timing.total_time:.1f} s, best reward {result.best_reward:.2f}")
