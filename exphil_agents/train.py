"""The main job: a short PPO run in ``Melee-v0`` against the scripted bot (level 1), then an
evaluation.

The evaluation plays the trained policy and, as a reference measured in the same run, a uniformly
random policy against the same opponent, and prints both side by side.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class TrainConfig:
    """PPO in Melee-v0 against a built-in opponent."""

    timesteps: int = 50_000
    """Environment steps to train for (each holds the inputs for frame_skip frames)."""
    frame_skip: int = 4
    """Frames each decision is held for (1: decide every frame)."""
    n_envs: int = 4
    """Games played at once (one batched env for the stock MlpPolicy, else in-process envs)."""
    opponent: str = "scripted:1"
    """Opponent: idle, random, jumper, scripted or scripted:LEVEL (1-9; level 1 by default, a
    bot a short run can learn to beat)."""
    game: GameSettings = field(default_factory=GameSettings)
    """characters, stage, stocks and timer of every game (--game.stage, --game.stocks, ...)."""
    eval_episodes: int = 20
    seed: int = 0
    learning_rate: float = 3e-4
    n_steps: int = 512
    batch_size: int = 256
    backbone: str | None = None
    """Policy network: None for SB3's stock MlpPolicy, or a backbone name (mlp, lstm, gru, mamba,
    attention, jamba) for this package's BackbonePolicy."""
    window: int = 8
    """Frames per observation for temporal backbones (BackbonePolicy over a frame window)."""
    recurrent: bool = False
    """With backbone lstm or gru: RecurrentPPO carrying the state instead of a frame window."""
    init_from: str | None = None
    """A BC checkpoint (``exphil bc train``'s ``best`` folder or its model.safetensors) to start
    the policy from: its backbone, backbone config and observation layout are used and its
    weights loaded (warm start; the value head starts fresh)."""
    save: str | None = None
    """Where to save the trained model (SB3 zip); nothing saved if unset."""
    tensorboard: str | None = None
    """TensorBoard log directory (optional)."""

    def __post_init__(self) -> None:
        positive = ("timesteps", "frame_skip", "n_envs", "n_steps", "batch_size", "window")
        bad = [f"--{k.replace('_', '-')} {getattr(self, k)!r} (must be >= 1)" for k in positive if getattr(self, k) < 1]
        if self.eval_episodes < 0:
            bad.append(f"--eval-episodes {self.eval_episodes!r} (must be >= 0)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            bad.append(f"--learning-rate {self.learning_rate!r} (must be a finite number > 0)")
        if bad:
            raise ValueError("invalid training settings: " + "; ".join(bad))


def _env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    kwargs = {
        "opponent": cfg.opponent,
        **cfg.game.env_kwargs(),
        "frame_skip": cfg.frame_skip,
        "render_mode": None,
    }
    if cfg.init_from is not None:  # the BC network's observation layout
        from exphil_agents.network import warm_start_kwargs

        kwargs["obs"] = warm_start_kwargs(cfg.init_from)["obs_config"]
    return kwargs


STAT_KEYS = ("damage_dealt", "damage_taken", "stocks_taken")


def evaluate(policy: Any, cfg: TrainConfig, episodes: int, seed: int) -> dict[str, float]:
    """Play ``episodes`` games one at a time; ``policy(obs) -> action`` (None: uniformly random
    actions); a policy with a ``reset()`` method (a stateful agent) is reset at every game start."""
    import gymnasium as gym

    import melee_envs  # noqa: F401

    env = gym.make("Melee-v0", **_env_kwargs(cfg))
    env.action_space.seed(seed)
    totals: dict[str, list[float]] = {"win": [], "reward": [], **{k: [] for k in STAT_KEYS}}
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        if hasattr(policy, "reset"):
            policy.reset()
        ret, done, info = 0.0, False, {}
        while not done:
            action = env.action_space.sample() if policy is None else policy(obs)
            obs, r, term, trunc, info = env.step(action)
            ret += r
            done = term or trunc
        stats = info.get("melee", {})
        totals["win"].append(float(stats.get("won", False)))
        totals["reward"].append(ret)
        for key in STAT_KEYS:
            totals[key].append(float(stats.get(key, 0.0)))
    env.close()
    return {k: float(np.mean(v)) for k, v in totals.items()}


def evaluate_batched(policy: Any, cfg: TrainConfig, episodes: int, seed: int) -> dict[str, float]:
    """:func:`evaluate` for a stateless ``policy(obs_batch) -> actions``, every game at once: one
    batched env of ``episodes`` games (auto-reset off), one policy call per step for all of them."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(episodes, autoreset_mode="disabled", seed=seed, **_env_kwargs(cfg))
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    returns, over = np.zeros(episodes), np.zeros(episodes, bool)
    stats: dict[str, np.ndarray] = {}
    while not over.all():
        action = env.action_space.sample() if policy is None else policy(obs)
        obs, reward, term, trunc, info = env.step(action)
        returns += np.where(over, 0.0, reward)
        if info:
            ended = info["_melee"]
            for key, values in info["melee"].items():
                stats.setdefault(key, np.zeros_like(values))[ended] = values[ended]
        over |= term | trunc
    env.close()
    return {
        "win": float(stats["won"].mean()),
        "reward": float(returns.mean()),
        **{k: float(stats[k].astype(float).mean()) for k in STAT_KEYS},
    }


def _make_model(cfg: TrainConfig) -> Any:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    common = {
        "learning_rate": cfg.learning_rate,
        "n_steps": cfg.n_steps,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        "verbose": 0,
        "tensorboard_log": cfg.tensorboard,
        "device": "cpu",
    }
    env = {"n_envs": cfg.n_envs, "seed": cfg.seed, "env_kwargs": _env_kwargs(cfg)}
    if cfg.init_from is not None:
        return _warm_started(cfg, env, common)
    if cfg.backbone is None:  # the batched env: one compiled call per step for every game
        from stable_baselines3.common.vec_env import VecMonitor

        from melee_envs.envs.vector import sb3_vec_env

        venv = VecMonitor(sb3_vec_env(cfg.n_envs, seed=cfg.seed, **_env_kwargs(cfg)))
        venv.seed(cfg.seed)
        return PPO("MlpPolicy", venv, **common)
    from exphil_agents.backbones import BACKBONES
    from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, frame_window

    if cfg.backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {cfg.backbone!r}; choose one of {sorted(BACKBONES)}")
    if cfg.recurrent:
        if cfg.backbone not in ("lstm", "gru"):
            raise ValueError(f"--recurrent needs backbone lstm or gru; got {cfg.backbone!r}")
        from sb3_contrib import RecurrentPPO

        policy = {"cell": cfg.backbone, "lstm_hidden_size": 128}
        return RecurrentPPO(RecurrentBackbonePolicy, make_vec_env("Melee-v0", **env), policy_kwargs=policy, **common)
    window = 1 if cfg.backbone == "mlp" else cfg.window
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    venv = make_vec_env("Melee-v0", wrapper_class=frame_window, wrapper_kwargs={"window": window}, **env)
    return PPO(BackbonePolicy, venv, policy_kwargs={"backbone": cfg.backbone}, **common)


def _warm_started(cfg: TrainConfig, env: dict[str, Any], common: dict[str, Any]) -> Any:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from exphil_agents.network import warm_start, warm_start_kwargs
    from exphil_agents.policies import BackbonePolicy, frame_window

    policy = warm_start_kwargs(cfg.init_from)
    if cfg.backbone not in (None, policy["backbone"]):
        raise ValueError(f"--backbone {cfg.backbone!r} but {cfg.init_from} holds a {policy['backbone']!r} network")
    if cfg.recurrent:  # RecurrentPPO on the network's own LSTM / GRU backbone
        from sb3_contrib import RecurrentPPO

        from exphil_agents.policies import RecurrentBackbonePolicy

        if policy["backbone"] not in ("lstm", "gru"):
            raise ValueError(f"--recurrent needs an lstm or gru network; {cfg.init_from} holds {policy['backbone']!r}")
        policy["cell"] = policy.pop("backbone")
        model = RecurrentPPO(RecurrentBackbonePolicy, make_vec_env("Melee-v0", **env), policy_kwargs=policy, **common)
        warm_start(model, cfg.init_from)
        return model
    window = 1 if policy["backbone"] == "mlp" else cfg.window
    venv = make_vec_env("Melee-v0", wrapper_class=frame_window, wrapper_kwargs={"window": window}, **env)
    model = PPO(BackbonePolicy, venv, policy_kwargs=policy, **common)
    warm_start(model, cfg.init_from)
    return model


def main(cfg: TrainConfig) -> dict[str, dict[str, float]]:
    """Train, evaluate against the reference, print the comparison."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit("training needs the 'agents' extra: pip install 'exphil[agents]'") from exc
    from rich.console import Console
    from rich.table import Table

    import melee_envs  # noqa: F401

    console = Console(width=120)
    # SB3 builds one torch Categorical per controller part per step; their argument checks cost
    # more than the sampling itself, and the logits come from the network, always valid.
    import torch

    torch.distributions.Distribution.set_default_validate_args(False)
    from melee_envs.threads import training_threads

    console.print(training_threads("rl"), markup=False)
    model = _make_model(cfg)
    console.print(
        f"[bold]PPO in Melee-v0[/bold] vs {cfg.opponent}: {cfg.timesteps:,} steps, {cfg.n_envs} envs, seed {cfg.seed}, "
        f"policy {cfg.backbone or ('BackbonePolicy' if cfg.init_from else 'stock MlpPolicy')}"
        f"{' (recurrent)' if cfg.recurrent else ''}" + (f", warm-started from {cfg.init_from}" if cfg.init_from else "")
    )
    start = time.perf_counter()
    model.learn(total_timesteps=cfg.timesteps, progress_bar=False)
    elapsed = time.perf_counter() - start
    console.print(f"trained in {elapsed:.1f}s ({cfg.timesteps / elapsed:,.0f} steps/s)")
    if cfg.save:
        model.save(cfg.save)
        console.print(f"saved model to {cfg.save}")
    start = time.perf_counter()
    if cfg.backbone is None and cfg.init_from is None:  # stateless: every game in one batch
        trained = evaluate_batched(
            lambda o: model.predict(o, deterministic=False)[0], cfg, cfg.eval_episodes, cfg.seed + 10_000
        )
    else:
        from exphil_agents.agent import Agent

        agent = Agent.from_sb3(model)
        trained = evaluate(agent, cfg, cfg.eval_episodes, cfg.seed + 10_000)
    random = evaluate_batched(None, cfg, cfg.eval_episodes, cfg.seed + 10_000)
    console.print(f"evaluated {2 * cfg.eval_episodes} games in {time.perf_counter() - start:.1f}s")
    table = Table(title=f"{cfg.eval_episodes} games vs {cfg.opponent} ({cfg.game.stocks} stock)")
    table.add_column("policy")
    for key in trained:
        table.add_column(key.replace("_", " "), justify="right")
    for name, res in (("PPO (trained)", trained), ("random (reference)", random)):
        table.add_row(name, *(f"{v:.2f}" for v in res.values()))
    console.print(table)
    return {"trained": trained, "random": random}
