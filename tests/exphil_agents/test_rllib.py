"""RLlib (current API stack) on the Melee envs, on a real local Ray instance with env runners in
their own processes: PPO single-agent (MLP, GRU) and multi-agent (self-play, one policy per
port), RLlib's own env checks, and checkpoints converted both ways."""

import os

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[scale]' (docs/scaling.md)")
pytestmark = pytest.mark.slow

SHORT = {"max_episode_steps": 200}
PPO = {"rollout": 128, "train_batch": 256, "minibatch": 128, "epochs": 1, "num_env_runners": 1}


@pytest.fixture(scope="module", autouse=True)
def cluster():
    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _weights(module):
    return {k: v.detach().clone() for k, v in module.network.state_dict().items()}


def _train_twice(algo, policy="default_policy"):
    before = _weights(algo.get_module(policy))
    results = [algo.train() for _ in range(2)]
    after = _weights(algo.get_module(policy))
    assert any(not torch.equal(before[k], after[k]) for k in before), "PPO did not change the network"
    runner_pids = algo.env_runner_group.foreach_env_runner(lambda runner: os.getpid(), local_env_runner=False)
    assert runner_pids and os.getpid() not in runner_pids  # sampling ran in other processes
    return results


@pytest.mark.parametrize("backbone", ["mlp", "gru"])
def test_ppo_single_agent(backbone):
    from exphil_agents.rllib import MeleeRLModule, ppo_config
    from melee_envs.obs import ObsConfig

    config = ppo_config("Melee-v0", SHORT, backbone=backbone, backbone_config={"hidden": 32},
                        obs=ObsConfig.learned(), **PPO)  # fmt: skip
    algo = config.build_algo()
    try:
        results = _train_twice(algo)
        assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] >= 512
        module = algo.get_module("default_policy")
        assert isinstance(module, MeleeRLModule) and module.network.backbone.name == backbone
        assert module.is_stateful() == (backbone == "gru")
    finally:
        algo.stop()


@pytest.mark.parametrize("self_play", [True, False], ids=["self-play", "a-policy-per-port"])
def test_ppo_multi_agent(self_play):
    from exphil_agents.rllib import PORTS, ppo_config

    config = ppo_config("melee_v0", {"max_cycles": 200}, self_play=self_play, backbone_config={"hidden": 32}, **PPO)
    algo = config.build_algo()
    try:
        policies = ["main"] if self_play else list(PORTS)
        befores = {p: _weights(algo.get_module(p)) for p in policies}
        results = [algo.train() for _ in range(2)]
        for p in policies:  # every policy learned
            after = _weights(algo.get_module(p))
            assert any(not torch.equal(befores[p][k], after[k]) for k in after), p
        steps = results[-1]["env_runners"]["num_agent_steps_sampled_lifetime"]
        assert set(steps) == set(PORTS) and all(n >= 256 for n in steps.values()), steps  # both ports played
    finally:
        algo.stop()


def test_rllib_accepts_both_envs():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from exphil_agents.rllib import _multi_env, _single_env

    env = _multi_env({"max_cycles": 10})
    check_multiagent_environments(env)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"port_1", "port_2"}
    single = _single_env({})
    assert single.observation_space.contains(single.reset(seed=0)[0])


def test_checkpoints_convert_both_ways(tmp_path):
    from exphil_agents.agent import Agent
    from exphil_agents.network import PolicyNetwork, load_checkpoint, save_checkpoint
    from exphil_agents.rllib import module_from_rllib_checkpoint, ppo_config, save_module
    from melee_envs.obs import ObsConfig

    torch.manual_seed(3)
    start = PolicyNetwork("gru", {"hidden": 16}, ObsConfig.learned())  # a BC-style network
    save_checkpoint(start, tmp_path / "start.safetensors")
    algo = ppo_config("Melee-v0", SHORT, init_from=tmp_path / "start.safetensors", **PPO).build_algo()
    try:
        module = algo.get_module("default_policy")
        assert all(torch.equal(v, start.state_dict()[k]) for k, v in module.network.state_dict().items())
        algo.train()
        trained = _weights(module)
        save_module(module, tmp_path / "trained.safetensors")  # RLlib -> the project's format
        net = load_checkpoint(tmp_path / "trained.safetensors")
        assert all(torch.equal(v, trained[k]) for k, v in net.state_dict().items())
        action = Agent.from_network(net).act(np.zeros(net.encoder.obs_size, np.float32))
        assert action.shape == (13,)
        saved = algo.save(str(tmp_path / "rllib"))  # RLlib's own checkpoint -> the module -> the project's format
        folder = getattr(saved, "checkpoint", saved)
        folder = getattr(folder, "path", folder)
        back = module_from_rllib_checkpoint(folder)
        assert all(torch.equal(v, trained[k]) for k, v in back.network.state_dict().items())
        with pytest.raises(FileNotFoundError, match="no RLlib module 'main'"):
            module_from_rllib_checkpoint(folder, "main")
    finally:
        algo.stop()


def test_a_network_for_other_observations_is_refused_with_both_sizes(tmp_path):
    from exphil_agents.network import PolicyNetwork, save_checkpoint
    from exphil_agents.rllib import MeleeRLModule, _single_env, ppo_config

    save_checkpoint(PolicyNetwork("mlp", {"hidden": 8}, {"action_mode": "learned"}), tmp_path / "n.safetensors")
    config = ppo_config("Melee-v0", SHORT, init_from=tmp_path / "n.safetensors", **PPO)
    spec = config.get_rl_module_spec()
    env = _single_env({})  # the one-hot layout
    with pytest.raises(ValueError, match=r"the network reads \d+ observation values; the env gives 1035"):
        MeleeRLModule(observation_space=env.observation_space, action_space=env.action_space,
                      model_config=spec.model_config)  # fmt: skip


def test_the_rllib_example_trains_saves_and_plays_a_tournament(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "rllib_selfplay.py"
    ray.shutdown()  # the example starts its own Ray instance
    try:
        proc = subprocess.run([sys.executable, str(script), "1", "1"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
    finally:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "iteration 1/1:" in proc.stdout
    assert (tmp_path / "runs" / "example-rllib" / "main.safetensors").exists()
    assert any(line.split()[0] == "main" for line in proc.stdout.splitlines()[-4:] if line.strip())
