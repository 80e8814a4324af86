"""RLlib PPO self-play on the PettingZoo env (both ports one GRU policy), then the trained policy,
saved in the project's format, in a tournament against the built-in bots (copy and adapt; needs
the scale extra: pip install -e ".[scale]").

    python examples/rllib_selfplay.py [ITERATIONS] [ENV_RUNNERS]
"""

import sys
from pathlib import Path

import ray
import torch

from exphil_agents.league.tournament import TournamentConfig, run
from exphil_agents.rllib import ppo_config, save_module
from melee_envs.obs import ObsConfig

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20
runners = int(sys.argv[2]) if len(sys.argv) > 2 else 1
folder = Path("runs/example-rllib")

torch.set_num_threads(1)  # the learner shares the cores with the env runners
ray.init(include_dashboard=False)
config = ppo_config(
    "melee_v0",
    {"max_cycles": 3600},  # a minute of game at most per episode
    backbone="gru",
    backbone_config={"hidden": 64},
    obs=ObsConfig.learned(),
    self_play=True,  # one policy, "main", plays and learns both ports
    num_env_runners=runners,
    envs_per_runner=4,
    rollout=256,
    train_batch=2048,
)
algo = config.build_algo()
for i in range(iterations):
    result = algo.train()
    steps = result["env_runners"]["num_env_steps_sampled_lifetime"]
    print(f"iteration {i + 1}/{iterations}: {steps:,.0f} env steps", flush=True)
checkpoint = save_module(algo.get_module("main"), folder / "main.safetensors")  # the project's format
algo.stop()
ray.shutdown()

results = run(
    TournamentConfig(agents=("random", "idle", "scripted:1", str(checkpoint)), games=10, out=folder / "tournament")
)
for row in results["ratings"]:
    print(f"{row['agent']:>22}  {row['rating']:6.0f}  [{row['ci95'][0]:.0f}, {row['ci95'][1]:.0f}]")
