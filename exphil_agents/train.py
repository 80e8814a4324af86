"""The main job: a short PPO run in ``Melee-v0`` against the scripted bot (level 1), then an
evaluation.

The evaluation plays the trained policy and, as a reference measured in the same run, a uniformly
random policy against the same opponent, and prints both side by side.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
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
    minutes: float | None = None
    """Wall-clock training budget: stop after the first update that ends past it (or at
    --timesteps, whichever comes first; evaluation not counted)."""
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
    hidden: int | None = None
    """Backbone width (``hidden`` of mlp / lstm / gru, ``d_model`` of the others); default: the
    backbone's own (sized for BC: 256 or 128)."""
    layers: int | None = None
    """Backbone layers; default: the backbone's own."""
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
    curve: str | None = None
    """Write the learning curve here: JSON, one point per update (agent-steps, seconds, games,
    win rate and mean return of the games finished since the last point) and, with matplotlib
    (the 'league' extra), a PNG beside it."""
    tensorboard: str | None = None
    """TensorBoard log directory (optional)."""
    record_replays: str | None = None
    """Write the training games of the first --record-games games as Slippi replays into this
    folder, every frame (docs/replays.md); evaluation games are not recorded."""
    record_games: int = 8
    """With --record-replays: how many of the --n-envs games are recorded (at most all)."""

    def __post_init__(self) -> None:
        positive = ("timesteps", "frame_skip", "n_envs", "n_steps", "batch_size", "window", "n_epochs", "record_games")
        bad = [f"--{k.replace('_', '-')} {getattr(self, k)!r} (must be >= 1)" for k in positive if getattr(self, k) < 1]
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            bad.append(f"--minutes {self.minutes!r} (must be a finite number > 0)")
        sizes = ("hidden", "layers")
        bad += [f"--{k} {v!r} (must be >= 1)" for k in sizes if (v := getattr(self, k)) is not None and v < 1]
        sized = [f"--{k}" for k in sizes if getattr(self, k) is not None]
        if sized and (self.backbone is None or self.init_from is not None):
            bad.append(
                f"{' and '.join(sized)} size a --backbone (the stock MlpPolicy has its own; a --init-from "
                "network keeps its size)"
            )
        if self.eval_episodes < 0:
            bad.append(f"--eval-episodes {self.eval_episodes!r} (must be >= 0)")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            bad.append(f"--learning-rate {self.learning_rate!r} (must be a finite number > 0)")
        if not (math.isfinite(self.ent_coef) and self.ent_coef >= 0):
            bad.append(f"--ent-coef {self.ent_coef!r} (must be a finite number >= 0)")
        if self.trainer == "batched" and self.recurrent:
            bad.append("--trainer batched (it trains policies over one frame or a frame window, not --recurrent)")
        if self.backbone not in (None, "mlp") and self.window == 1 and not self.recurrent:
            bad.append(
                f"--backbone {self.backbone} over --window 1 (one frame per decision: a sequence network "
                "with nothing to remember; give it --window N > 1, or --recurrent to carry an lstm / gru state)"
            )
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
    def backbone_config(self) -> dict[str, int]:
        """The ``--hidden`` / ``--layers`` overrides of the backbone's config."""
        from exphil_agents.backbones import width_field

        sizes = {width_field(self.backbone or "mlp"): self.hidden, "layers": self.layers}
        return {k: v for k, v in sizes.items() if v is not None}

    @property
    def batched(self) -> bool:
        """Whether the lean batched trainer runs (``trainer`` auto or batched, not recurrent)."""
        return self.trainer != "sb3" and not self.recurrent

    @property
    def policy_name(self) -> str:
        """The trained policy in words: ``"PPO-gru (recurrent) vs scripted:1"``, ``"PPO-MlpPolicy vs
        a mix of 9 bots"``."""
        net = self.backbone or (self.warm_start["backbone"] if self.warm_start else "MlpPolicy")
        net += " (recurrent)" if self.recurrent else f" x {self.frames} frames" if self.frames > 1 else ""
        bots = self.opponent.split("+")
        against = f"a mix of {len(bots)} bots" if len(bots) > 1 else self.opponent
        return f"PPO-{net}{' from BC' if self.init_from else ''} vs {against}"

    @property
    def actions(self) -> str:
        """The action mode the policy is trained in."""
        return self.action_mode or ("multi_discrete" if self.init_from else "discrete")


def _env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    kwargs = {
        "opponent": cfg.opponent,
        **cfg.game.env_kwargs(),
        "frame_skip": cfg.frame_skip,
        "action_mode": cfg.actions,
        "render_mode": None,
        "obs": cfg.obs,
    }
    if cfg.warm_start:  # the BC network's observation layout
        kwargs["obs"] = cfg.warm_start["obs_config"]
    return kwargs


STAT_KEYS = ("damage_dealt", "damage_taken", "stocks_taken")


def evaluate_batched(
    policy: Any, cfg: TrainConfig, episodes: int, seed: int, frames: int = 1, stateful: bool = False
) -> dict[str, float]:
    """Play ``episodes`` seeded games of the training env with ``policy(obs_batch) -> actions``
    (None: uniformly random actions), every game at once: one batched
    env of ``episodes`` games (auto-reset off), one policy call per step for all of them;
    ``frames`` > 1: the policy sees the last ``frames`` frames ``(games, frames, F)``, zeros
    before the first; ``stateful``: ``policy(obs, state, starts) -> (actions, state)`` carries a
    recurrent state (None at first, ``starts`` True on the games' first step)."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(episodes, autoreset_mode="disabled", seed=seed, **_env_kwargs(cfg))
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    window = np.zeros((episodes, frames, obs.shape[-1]), np.float32)
    window[:, -1] = obs
    returns, over = np.zeros(episodes), np.zeros(episodes, bool)
    stats: dict[str, np.ndarray] = {}
    state, starts = None, np.ones(episodes, bool)
    while not over.all():
        if policy is None:
            action = env.action_space.sample()
        elif stateful:
            action, state = policy(obs, state, starts)
            starts = np.zeros(episodes, bool)
        else:
            action = policy(window if frames > 1 else obs)
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
        if cfg.backbone_config:
            policy_kwargs["backbone_config"] = cfg.backbone_config
    from stable_baselines3.common.vec_env import VecMonitor

    from melee_envs.envs.vector import sb3_vec_env

    # one batched env: one compiled call per step for every game
    record = {}
    if cfg.record_replays is not None:
        record = {"record_replays": cfg.record_replays, "record_games": min(cfg.record_games, cfg.n_envs)}
    venv = VecMonitor(sb3_vec_env(cfg.n_envs, seed=cfg.seed, **_env_kwargs(cfg), **record))
    venv.seed(cfg.seed)
    if cfg.recurrent:  # RecurrentPPO carrying the LSTM / GRU backbone's state
        from sb3_contrib import RecurrentPPO

        policy_kwargs["cell"] = policy_kwargs.pop("backbone")
        policy_kwargs.pop("net_arch", None)
        policy_kwargs.setdefault("lstm_hidden_size", 128)
        model = RecurrentPPO(RecurrentBackbonePolicy, venv, policy_kwargs=policy_kwargs, **common)
    else:  # and a frame window for temporal backbones
        if cfg.frames > 1:
            venv = vec_frame_window(venv, cfg.frames)
        policy = BackbonePolicy if policy_kwargs else "MlpPolicy"
        model = PPO(policy, venv, policy_kwargs=policy_kwargs or None, **common)
    if cfg.init_from is not None:
        from exphil_agents.network import warm_start

        warm_start(model, cfg.init_from)
    return model


def _sb3_progress(report: Any, budget: float | None) -> Any:
    """An SB3 callback that calls ``report`` with a :class:`~exphil_agents.ppo.Progress` after
    every rollout (games finished in it, their wins and returns) and stops SB3's ``learn`` after
    the update of the first rollout that ends past ``budget`` seconds or that ``report`` answers
    False to (SB3 stops at the next rollout's first step: ``num_timesteps`` counts that one
    untrained step of every game)."""
    from stable_baselines3.common.callbacks import BaseCallback

    from exphil_agents.ppo import Progress, Timings

    class SB3Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.start, self.games, self.update = time.perf_counter(), 0, 0
            self.wins, self.returns, self.stop = 0, [], False

        def _on_step(self) -> bool:
            for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
                if done:
                    self.wins += bool(info.get("melee", {}).get("won", False))
                    self.returns.append(float(info["episode"]["r"]) if "episode" in info else math.nan)
            return not self.stop

        def _on_rollout_end(self) -> None:
            finished = len(self.returns)
            self.games += finished
            self.update += 1
            seconds = time.perf_counter() - self.start
            timings = Timings(learning=seconds, steps=self.model.num_timesteps, updates=self.update)
            self.stop = report(
                Progress(
                    steps=self.model.num_timesteps,
                    update=self.update,
                    games=self.games,
                    win_rate=self.wins / finished if finished else float("nan"),
                    mean_return=float(np.mean(self.returns)) if finished else float("nan"),
                    loss=float("nan"),
                    timings=timings,
                )
            ) is False or (budget is not None and seconds >= budget)
            self.wins, self.returns = 0, []

    return SB3Progress()


def _learn(model: Any, cfg: TrainConfig, console: Any, summary: Any = None) -> dict[str, Any]:
    """Train (the batched loop or SB3's) within ``--timesteps`` and ``--minutes``, printing
    progress about ten times and recording the learning curve; returns the time split when the
    batched loop ran."""
    from exphil_agents.curves import LearningCurve
    from exphil_agents.ppo import BatchedPPO, Progress

    per_update = cfg.n_envs * cfg.n_steps
    updates = max(math.ceil(cfg.timesteps / per_update), 1)
    every = max(updates // 10, 1)
    budget = None if cfg.minutes is None else 60.0 * cfg.minutes
    writer = None
    if cfg.tensorboard and cfg.batched:  # SB3's learn() writes its own
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(cfg.tensorboard)
    curve = LearningCurve(label=cfg.policy_name, meta={"settings": asdict(cfg), "argv": sys.argv})
    start = time.perf_counter()
    last_print = start

    def report(p: Progress) -> bool:
        nonlocal last_print
        now = time.perf_counter()
        seconds = now - start
        curve.add(p.steps, seconds, p.games, p.win_rate, p.mean_return)
        split = p.timings.split() if cfg.batched else {"steps_per_s": p.steps / max(seconds, 1e-9)}
        if writer is not None:
            for key, value in (("win_rate", p.win_rate), ("mean_return", p.mean_return), ("loss", p.loss)):
                writer.add_scalar(f"train/{key}", value, p.steps)
            writer.add_scalar("time/steps_per_s", split["steps_per_s"], p.steps)
        over = budget is not None and seconds >= budget
        timed = budget is not None and now - last_print >= budget / 10
        if p.update % every == 0 or p.update == updates or over or timed:
            last_print = now
            loss = f"  loss {p.loss:+.3f}" if math.isfinite(p.loss) else ""
            console.print(
                f"  {p.steps:>10,} steps  {p.games:>6,} games  win {p.win_rate:4.2f}  return {p.mean_return:+6.2f}"
                f"{loss}  {split['steps_per_s']:,.0f} steps/s  {seconds:5.1f}s",
                markup=False,
            )
        return not over

    if cfg.batched:
        trainer = BatchedPPO(model)
        trainer.learn(cfg.timesteps, report)
        split = trainer.timings.split()
    else:
        model.learn(total_timesteps=cfg.timesteps, callback=_sb3_progress(report, budget), progress_bar=False)
        split = {}
    if writer is not None:
        writer.close()
    if cfg.curve:
        written = curve.save(cfg.curve)
        (summary or console).print(f"learning curve: {', '.join(map(str, written))}", markup=False)
    return split


def _recurrent_policy(policy: Any) -> Any:
    """``act(obs, state, starts) -> (actions, state)`` in the policy's own action space, its
    encoder and recurrent backbone stepped one frame per call."""
    from gymnasium import spaces

    from exphil_agents.actors import SteppingPolicy
    from exphil_agents.ppo import action_widths

    policy.set_training_mode(False)
    space = policy.action_space
    step = SteppingPolicy(
        policy.pi_features_extractor.encoder,
        policy.lstm_actor,
        lambda z: policy.action_net(policy.mlp_extractor.forward_actor(z)),
        action_widths(space),
        deterministic=False,
    )

    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        choice, state = step(obs, state, starts)
        return (choice[:, 0] if isinstance(space, spaces.Discrete) else choice), state

    return act


def _row(result: dict[str, Any]) -> list[str]:
    low, high = result["win_interval"]
    return [f"{result['win']:.2f} [{low:.2f}, {high:.2f}]"] + [f"{result[k]:.2f}" for k in ("reward", *STAT_KEYS)]


def main(cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    """Train, evaluate against the reference, print the comparison."""
    try:
        import stable_baselines3  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit("training needs the 'agents' extra: pip install 'exphil[agents]'") from exc
    from rich.table import Table

    import melee_envs  # noqa: F401
    from exphil_agents.league.ratings import win_interval
    from melee_envs.messages import console as at_level

    # The summary prints at every verbosity; progress not under --quiet; details with --verbose.
    console, progress, detail = (at_level(level, width=120) for level in (0, 1, 2))
    detail.print_json(data=asdict(cfg), default=str)
    # SB3 builds one torch Categorical per controller part per step; their argument checks cost
    # more than the sampling itself, and the logits come from the network, always valid.
    import torch

    torch.distributions.Distribution.set_default_validate_args(False)
    from melee_envs.threads import training_threads

    progress.print(training_threads("rl"), markup=False)
    model = _make_model(cfg)
    model.frame_skip = cfg.frame_skip  # saved with the model: players hold each decision as in training
    policy = cfg.backbone or ("BackbonePolicy" if cfg.init_from else "stock MlpPolicy")
    progress.print(
        f"[bold]PPO in Melee-v0[/bold] vs {cfg.opponent}: {cfg.timesteps:,} steps"
        + (f" or {cfg.minutes:g} minutes" if cfg.minutes else "")
        + f", {cfg.n_envs} games at once, "
        f"seed {cfg.seed}, policy {policy}{' (recurrent)' if cfg.recurrent else ''}, {cfg.actions} actions, "
        f"{'batched' if cfg.batched else 'SB3'} trainer"
        + (f", warm-started from {cfg.init_from}" if cfg.init_from else "")
        + (f", backbone config {cfg.backbone_config}" if cfg.backbone_config else "")
    )
    start = time.perf_counter()
    split = _learn(model, cfg, progress, console)
    elapsed = time.perf_counter() - start
    shares = ", ".join(f"{k} {split[k]:.0%}" for k in ("env", "inference", "learning") if k in split)
    shares = f": {shares}" if shares else ""
    console.print(f"trained in {elapsed:.1f}s ({model.num_timesteps / elapsed:,.0f} steps/s{shares})", markup=False)
    if cfg.record_replays is not None:
        from exphil_agents.ppo import vector_env_of

        written = vector_env_of(model)._recorder.written
        console.print(f"recorded {len(written)} training games in {cfg.record_replays}", markup=False)
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
    else:  # the recurrent state stepped one frame per call, every game in one batch
        trained = evaluate_batched(_recurrent_policy(model.policy), cfg, cfg.eval_episodes, seed, stateful=True)
    random = evaluate_batched(None, cfg, cfg.eval_episodes, seed)
    progress.print(f"evaluated {2 * cfg.eval_episodes} games in {time.perf_counter() - start:.1f}s")
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
