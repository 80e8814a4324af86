"""The main job: a short PPO run in ``Melee-v0`` against the scripted bot (level 1), then an
evaluation.

The evaluation plays the trained policy and, as a reference measured in the same run, a uniformly
random policy against the same opponent, and prints both side by side.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from melee_envs.obs import ObsConfig
from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class TrainConfig:
    """PPO in Melee-v0 against a built-in opponent."""

    timesteps: int = 1_000_000
    """Agent-steps to train for (each holds the inputs for frame_skip frames)."""
    frame_skip: int = 4
    """Frames each decision is held for (1: decide every frame)."""
    n_envs: int = 256
    """Games played at once (one batched env; in-process envs for --recurrent)."""
    opponent: str = "scripted:1"
    """Opponent: idle, random, jumper, scripted or scripted:LEVEL (1-9; level 1 by default, a
    bot a short run can learn to beat)."""
    game: GameSettings = field(default_factory=GameSettings)
    """characters, stage, stocks and timer of every game (--game.stage, --game.stocks, ...)."""
    obs: ObsConfig = field(default_factory=ObsConfig)
    """The observation layout (--obs.action-mode learned ...: ids for the backbones' embeddings,
    a smaller input); with --init-from, the BC network's."""
    action_mode: Literal["discrete", "multi_discrete"] | None = None
    """discrete: 28 common inputs (walk, dash, jump, each attack, specials, shield, grab, rolls);
    multi_discrete: the whole controller. Default: discrete, or multi_discrete with --init-from
    (a BC network plays the whole controller)."""
    eval_episodes: int = 100
    seed: int = 0
    learning_rate: float = 3e-4
    n_steps: int = 64
    """Steps per game in each rollout (an update learns from n_envs x n_steps agent-steps)."""
    batch_size: int = 4096
    n_epochs: int = 4
    ent_coef: float = 0.01
    trainer: Literal["auto", "batched", "sb3"] = "auto"
    """batched: this package's lean PPO loop on the batched env (exphil_agents.ppo; every policy
    but --recurrent); sb3: stable-baselines3's own learn(); auto: batched where it applies."""
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
        positive = ("timesteps", "frame_skip", "n_envs", "n_steps", "batch_size", "window", "n_epochs")
        bad = [f"--{k.replace('_', '-')} {getattr(self, k)!r} (must be >= 1)" for k in positive if getattr(self, k) < 1]
        if self.eval_episodes < 0:
            bad.append(f"--eval-episodes {self.eval_episodes!r} (must be >= 0)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            bad.append(f"--learning-rate {self.learning_rate!r} (must be a finite number > 0)")
        if not (math.isfinite(self.ent_coef) and self.ent_coef >= 0):
            bad.append(f"--ent-coef {self.ent_coef!r} (must be a finite number >= 0)")
        if self.trainer == "batched" and self.recurrent:
            bad.append("--trainer batched (it trains policies over one frame or a frame window, not --recurrent)")
        if self.init_from is not None and self.action_mode == "discrete":
            bad.append("--action-mode discrete (a BC network from --init-from plays the whole controller)")
        if bad:
            raise ValueError("invalid training settings: " + "; ".join(bad))

    @property
    def frames(self) -> int:
        """Frames per observation: 1 for MLPs (stock or backbone), ``window`` for temporal
        backbones, 1 for ``--recurrent`` (the state carries the past)."""
        if self.recurrent:
            return 1
        backbone = self.warm_start["backbone"] if self.warm_start else self.backbone
        return 1 if backbone in (None, "mlp") else self.window

    @cached_property
    def warm_start(self) -> dict[str, Any] | None:
        """The BackbonePolicy arguments of the ``init_from`` BC checkpoint (read once), or None."""
        if self.init_from is None:
            return None
        from exphil_agents.network import warm_start_kwargs

        return warm_start_kwargs(self.init_from)

    @property
    def batched(self) -> bool:
        """Whether the lean batched trainer runs (``trainer`` auto or batched, not recurrent)."""
        return self.trainer != "sb3" and not self.recurrent

    @property
    def actions(self) -> str:
        """The action mode the policy is trained in."""
        return self.action_mode or ("multi_discrete" if self.init_from else "discrete")


def _env_kwargs(cfg: TrainConfig, action_mode: str | None = None) -> dict[str, Any]:
    kwargs = {
        "opponent": cfg.opponent,
        **cfg.game.env_kwargs(),
        "frame_skip": cfg.frame_skip,
        "action_mode": action_mode or cfg.actions,
        "render_mode": None,
        "obs": cfg.obs,
    }
    if cfg.warm_start:  # the BC network's observation layout
        kwargs["obs"] = cfg.warm_start["obs_config"]
    return kwargs


STAT_KEYS = ("damage_dealt", "damage_taken", "stocks_taken")


def evaluate(
    policy: Any, cfg: TrainConfig, episodes: int, seed: int, action_mode: str | None = None
) -> dict[str, float]:
    """Play ``episodes`` games one at a time; ``policy(obs) -> action`` (None: uniformly random
    actions); a policy with a ``reset()`` method (a stateful agent) is reset at every game start.
    ``action_mode``: the env's (default: the one trained in; an :class:`Agent` plays the whole
    controller, ``"multi_discrete"``)."""
    import gymnasium as gym

    import melee_envs  # noqa: F401

    env = gym.make("Melee-v0", **_env_kwargs(cfg, action_mode))
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


def evaluate_batched(policy: Any, cfg: TrainConfig, episodes: int, seed: int, frames: int = 1) -> dict[str, float]:
    """:func:`evaluate` for a stateless ``policy(obs_batch) -> actions``, every game at once: one
    batched env of ``episodes`` games (auto-reset off), one policy call per step for all of them;
    ``frames`` > 1: the policy sees the last ``frames`` frames ``(games, frames, F)``, zeros
    before the first."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(episodes, autoreset_mode="disabled", seed=seed, **_env_kwargs(cfg))
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    window = np.zeros((episodes, frames, obs.shape[-1]), np.float32)
    window[:, -1] = obs
    returns, over = np.zeros(episodes), np.zeros(episodes, bool)
    stats: dict[str, np.ndarray] = {}
    while not over.all():
        action = env.action_space.sample() if policy is None else policy(window if frames > 1 else obs)
        obs, reward, term, trunc, info = env.step(action)
        window = np.concatenate([window[:, 1:], obs[:, None]], 1)
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
        "n_epochs": cfg.n_epochs,
        "ent_coef": cfg.ent_coef,
        "seed": cfg.seed,
        "verbose": 0,
        "tensorboard_log": cfg.tensorboard,
        "device": "cpu",
    }
    env = {"n_envs": cfg.n_envs, "seed": cfg.seed, "env_kwargs": _env_kwargs(cfg)}
    if cfg.backbone is not None and cfg.init_from is None:
        from exphil_agents.backbones import BACKBONES

        if cfg.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {cfg.backbone!r}; choose one of {sorted(BACKBONES)}")
    if cfg.recurrent and cfg.init_from is None and cfg.backbone not in ("lstm", "gru"):
        raise ValueError(f"--recurrent needs backbone lstm or gru; got {cfg.backbone!r}")
    from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, vec_frame_window

    policy_kwargs: dict[str, Any] = {}
    if cfg.warm_start:
        policy_kwargs = dict(cfg.warm_start)
        if cfg.backbone not in (None, policy_kwargs["backbone"]):
            raise ValueError(
                f"--backbone {cfg.backbone!r} but {cfg.init_from} holds a {policy_kwargs['backbone']!r} network"
            )
        if cfg.recurrent and policy_kwargs["backbone"] not in ("lstm", "gru"):
            raise ValueError(
                f"--recurrent needs an lstm or gru network; {cfg.init_from} holds {policy_kwargs['backbone']!r}"
            )
    elif cfg.backbone is not None:
        policy_kwargs = {"backbone": cfg.backbone, "obs_config": cfg.obs.__dict__}
    if cfg.recurrent:  # RecurrentPPO carrying the LSTM / GRU backbone's state, on in-process envs
        from sb3_contrib import RecurrentPPO

        policy_kwargs["cell"] = policy_kwargs.pop("backbone")
        policy_kwargs.pop("net_arch", None)
        policy_kwargs.setdefault("lstm_hidden_size", 128)
        venv = make_vec_env("Melee-v0", **env)
        model = RecurrentPPO(RecurrentBackbonePolicy, venv, policy_kwargs=policy_kwargs, **common)
    else:  # one batched env: one compiled call per step for every game (and a frame window)
        from stable_baselines3.common.vec_env import VecMonitor

        from melee_envs.envs.vector import sb3_vec_env

        venv = VecMonitor(sb3_vec_env(cfg.n_envs, seed=cfg.seed, **_env_kwargs(cfg)))
        venv.seed(cfg.seed)
        if cfg.frames > 1:
            venv = vec_frame_window(venv, cfg.frames)
        policy = BackbonePolicy if policy_kwargs else "MlpPolicy"
        model = PPO(policy, venv, policy_kwargs=policy_kwargs or None, **common)
    if cfg.init_from is not None:
        from exphil_agents.network import warm_start

        warm_start(model, cfg.init_from)
    return model


def _learn(model: Any, cfg: TrainConfig, console: Any) -> dict[str, Any]:
    """Train (the batched loop or SB3's), printing progress about ten times; returns the time
    split when the batched loop ran."""
    if not cfg.batched:
        model.learn(total_timesteps=cfg.timesteps, progress_bar=False)
        return {}
    from exphil_agents.ppo import BatchedPPO, Progress

    trainer = BatchedPPO(model)
    per_update = cfg.n_envs * cfg.n_steps
    updates = max(math.ceil(cfg.timesteps / per_update), 1)
    every = max(updates // 10, 1)
    writer = None
    if cfg.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(cfg.tensorboard)
    start = time.perf_counter()

    def report(p: Progress) -> None:
        split = p.timings.split()
        if writer is not None:
            for key, value in (("win_rate", p.win_rate), ("mean_return", p.mean_return), ("loss", p.loss)):
                writer.add_scalar(f"train/{key}", value, p.steps)
            writer.add_scalar("time/steps_per_s", split["steps_per_s"], p.steps)
        if p.update % every == 0 or p.update == updates:
            console.print(
                f"  {p.steps:>10,} steps  {p.games:>6,} games  win {p.win_rate:4.2f}  return {p.mean_return:+6.2f}  "
                f"loss {p.loss:+.3f}  {split['steps_per_s']:,.0f} steps/s  {time.perf_counter() - start:5.1f}s",
                markup=False,
            )

    trainer.learn(cfg.timesteps, report)
    if writer is not None:
        writer.close()
    return trainer.timings.split()


def _row(result: dict[str, Any]) -> list[str]:
    low, high = result["win_interval"]
    return [f"{result['win']:.2f} [{low:.2f}, {high:.2f}]"] + [f"{result[k]:.2f}" for k in ("reward", *STAT_KEYS)]


def main(cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    """Train, evaluate against the reference, print the comparison."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit("training needs the 'agents' extra: pip install 'exphil[agents]'") from exc
    from rich.console import Console
    from rich.table import Table

    import melee_envs  # noqa: F401
    from exphil_agents.league.ratings import win_interval

    console = Console(width=120)
    # SB3 builds one torch Categorical per controller part per step; their argument checks cost
    # more than the sampling itself, and the logits come from the network, always valid.
    import torch

    torch.distributions.Distribution.set_default_validate_args(False)
    from melee_envs.threads import training_threads

    console.print(training_threads("rl"), markup=False)
    model = _make_model(cfg)
    model.frame_skip = cfg.frame_skip  # saved with the model: players hold each decision as in training
    policy = cfg.backbone or ("BackbonePolicy" if cfg.init_from else "stock MlpPolicy")
    console.print(
        f"[bold]PPO in Melee-v0[/bold] vs {cfg.opponent}: {cfg.timesteps:,} steps, {cfg.n_envs} games at once, "
        f"seed {cfg.seed}, policy {policy}{' (recurrent)' if cfg.recurrent else ''}, {cfg.actions} actions, "
        f"{'batched' if cfg.batched else 'SB3'} trainer"
        + (f", warm-started from {cfg.init_from}" if cfg.init_from else "")
    )
    start = time.perf_counter()
    split = _learn(model, cfg, console)
    elapsed = time.perf_counter() - start
    shares = ", ".join(f"{k} {split[k]:.0%}" for k in ("env", "inference", "learning") if k in split)
    shares = f": {shares}" if shares else ""
    console.print(f"trained in {elapsed:.1f}s ({model.num_timesteps / elapsed:,.0f} steps/s{shares})", markup=False)
    if cfg.save:
        from pathlib import Path

        from melee_envs.atomic import atomic_path

        path = Path(cfg.save) if Path(cfg.save).suffix else Path(cfg.save).with_suffix(".zip")  # as SB3 names it
        with atomic_path(path) as tmp:
            model.save(tmp)
        console.print(f"saved model to {path}")
    if not cfg.eval_episodes:
        return {"trained": {}, "random": {}, "split": split}
    start = time.perf_counter()
    seed = cfg.seed + 10_000
    if not cfg.recurrent:  # stateless (over its frame window): every game in one batch
        act = lambda o: model.predict(o, deterministic=False)[0]  # noqa: E731
        trained = evaluate_batched(act, cfg, cfg.eval_episodes, seed, cfg.frames)
    else:
        from exphil_agents.agent import Agent

        agent = Agent.from_sb3(model)
        trained = evaluate(agent, cfg, cfg.eval_episodes, seed, action_mode="multi_discrete")
    random = evaluate_batched(None, cfg, cfg.eval_episodes, seed)
    console.print(f"evaluated {2 * cfg.eval_episodes} games in {time.perf_counter() - start:.1f}s")
    for result in (trained, random):
        result["win_interval"] = win_interval(result["win"] * cfg.eval_episodes, cfg.eval_episodes)
    table = Table(title=f"{cfg.eval_episodes} games vs {cfg.opponent} ({cfg.game.stocks} stock), seeds {seed}+")
    table.add_column("policy")
    for key in ("win [95% interval]", "reward", *STAT_KEYS):
        table.add_column(key.replace("_", " "), justify="right")
    table.add_row("PPO (trained)", *_row(trained))
    table.add_row(f"random {cfg.actions} (reference)", *_row(random))
    console.print(table)
    return {"trained": trained, "random": random, "split": split}
