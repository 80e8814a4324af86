"""``exphil bench train``: PPO training throughput on the batched env, where the time goes, and
two references measured in the same run.

For each policy (the main job's stock ``MlpPolicy``; this package's ``BackbonePolicy`` MLP over
learned-id observations) it trains with :class:`~exphil_agents.ppo.BatchedPPO` on the main job's
settings and prints agent-steps/s with the split per phase (env, inference, learning). Beside it:

* **SB3**: ``PPO.learn`` on the same model and the same batched env (SB3's own loop);
* **pure torch**: a plain ``nn.Sequential`` MLP with as many parameters as the policy, trained by
  Adam on minibatches of the same size and shape (cross-entropy + MSE, nothing else); the
  learning phase's samples/s is given as a share of it.

Every figure is the median of ``repeats`` runs with its range, and the load average beside it.
``--busy`` runs a CPU-bound process beside the measurement (a machine shared with other work).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class TrainBenchConfig:
    """Training throughput of the batched PPO loop, next to SB3's loop and a plain torch loop."""

    games: int = 256
    updates: int = 4
    """Timed updates per repeat (each ``games x n_steps`` agent-steps), after one warm-up update."""
    repeats: int = 3
    n_steps: int = 64
    batch_size: int = 4096
    n_epochs: int = 4
    policies: tuple[str, ...] = ("MlpPolicy", "mlp")
    """MlpPolicy (SB3's stock, default observations) and/or mlp (BackbonePolicy, learned ids)."""
    sb3: bool = True
    """Also time SB3's PPO.learn on the same model (one repeat of the same steps)."""
    busy: bool = False
    """Run a CPU-bound process beside the measurement."""


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _model(policy: str, cfg: TrainBenchConfig) -> Any:
    from stable_baselines3 import PPO

    from exphil_agents.policies import BackbonePolicy
    from melee_envs.envs.vector import sb3_vec_env
    from melee_envs.obs import ObsConfig
    from melee_envs.settings import GameSettings

    env = {"opponent": "scripted:1", "frame_skip": 4, "action_mode": "discrete", **GameSettings().env_kwargs()}
    kwargs: dict[str, Any] = {}
    if policy != "MlpPolicy":
        obs = dataclasses.asdict(ObsConfig.learned())
        env["obs"] = obs
        kwargs = {"backbone": policy, "obs_config": obs, "backbone_config": {"hidden": 128, "layers": 1}}
    venv = sb3_vec_env(cfg.games, seed=0, **env)
    common = {"n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "n_epochs": cfg.n_epochs, "seed": 0}
    if policy == "MlpPolicy":
        return PPO("MlpPolicy", venv, device="cpu", **common)
    return PPO(BackbonePolicy, venv, policy_kwargs=kwargs, device="cpu", **common)


def _reference(params: int, obs_size: int, outputs: int, batch: int, minibatches: int) -> float:
    """Samples/s of Adam on a plain torch MLP with ``params`` parameters (two hidden layers)."""
    # width h with obs*h + h*h + h*outputs ~ params
    b = obs_size + outputs
    h = int((-b + (b * b + 4 * params) ** 0.5) / 2)
    net = nn.Sequential(nn.Linear(obs_size, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, outputs + 1))
    opt = torch.optim.Adam(net.parameters(), lr=3e-4)
    x = torch.randn(batch, obs_size)
    y = torch.randint(outputs, (batch,))
    v = torch.randn(batch)

    def step() -> None:
        out = net(x)
        loss = nn.functional.cross_entropy(out[:, :-1], y) + nn.functional.mse_loss(out[:, -1], v)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(minibatches):
        step()
    return batch * minibatches / (time.perf_counter() - start)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):9,.0f} [{min(values):,.0f}-{max(values):,.0f}]"


def run(cfg: TrainBenchConfig) -> dict[str, Any]:
    from melee_envs.threads import training_threads

    torch.distributions.Distribution.set_default_validate_args(False)
    print(training_threads("rl"))
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if cfg.busy else None
    try:
        return _run(cfg)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()


def _run(cfg: TrainBenchConfig) -> dict[str, Any]:
    from exphil_agents.ppo import BatchedPPO

    per_update = cfg.games * cfg.n_steps
    print(
        f"PPO vs scripted:1, {cfg.games} games, {per_update:,} steps per update ({cfg.n_epochs} epochs, minibatch "
        f"{cfg.batch_size}), {cfg.updates} timed updates x {cfg.repeats} repeats{', busy' if cfg.busy else ''}; "
        "median [range]"
    )
    results: dict[str, Any] = {}
    for policy in cfg.policies:
        rates, shares, learn_rates = [], [], []
        for _ in range(cfg.repeats):
            model = _model(policy, cfg)
            trainer = BatchedPPO(model)
            trainer.learn(per_update)  # warm-up (first calls allocate)
            before = dict(trainer.timings.__dict__)
            trainer.learn(per_update * cfg.updates)
            t = {k: trainer.timings.__dict__[k] - before[k] for k in ("env", "inference", "learning")}
            total = sum(t.values())
            rates.append(per_update * cfg.updates / total)
            shares.append({k: v / total for k, v in t.items()})
            learn_rates.append(per_update * cfg.updates * cfg.n_epochs / t["learning"])
        params = sum(p.numel() for p in model.policy.parameters())
        obs_size = model.observation_space.shape[0]
        ref = [
            _reference(params, obs_size, int(model.action_space.n), cfg.batch_size, 8 * per_update // cfg.batch_size)
            for _ in range(cfg.repeats)
        ]
        split = {k: statistics.median(s[k] for s in shares) for k in ("env", "inference", "learning")}
        row = {
            "steps_per_s": statistics.median(rates),
            "range": (min(rates), max(rates)),
            "split": split,
            "learning_samples_per_s": statistics.median(learn_rates),
            "reference_samples_per_s": statistics.median(ref),
            "params": params,
        }
        row["learning_vs_reference"] = row["learning_samples_per_s"] / row["reference_samples_per_s"]
        label = "stock MlpPolicy" if policy == "MlpPolicy" else f"BackbonePolicy {policy}"
        print(f"\n{label} ({params:,} parameters, {obs_size} observation values), {_load()}")
        print(
            f"  batched PPO   {_median(rates)} agent-steps/s   env {split['env']:.0%}, inference "
            f"{split['inference']:.0%}, learning {split['learning']:.0%}"
        )
        print(
            f"  learning      {_median(learn_rates)} samples/s  pure torch {_median(ref)} samples/s  "
            f"-> {row['learning_vs_reference']:.2f} of the plain loop (target >= 0.5)"
        )
        if cfg.sb3:
            model = _model(policy, cfg)
            model.learn(per_update)
            start = time.perf_counter()
            model.learn(per_update * cfg.updates, reset_num_timesteps=False)
            row["sb3_steps_per_s"] = per_update * cfg.updates / (time.perf_counter() - start)
            print(
                f"  SB3 learn()   {row['sb3_steps_per_s']:9,.0f} agent-steps/s (one run)  -> batched is "
                f"{row['steps_per_s'] / row['sb3_steps_per_s']:.1f}x, {_load()}"
            )
        results[policy] = row
    return results


def main(cfg: TrainBenchConfig) -> dict[str, Any]:
    return run(cfg)
