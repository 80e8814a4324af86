"""``exphil league train``: PPO self-play against a population, with ratings and snapshots.

One main agent by default. Every ``snapshot_every`` steps the learner is frozen into the
population (and checkpointed, with the league state). Each game's opponent is drawn when the game
starts: the learner itself (``self_play``), a built-in bot (``bot_fraction``), or a past snapshot
by ``sampling`` (PFSP by default). Results update the ratings and the win rates PFSP uses, and
go to TensorBoard under ``league/``.

League roles (AlphaStar, off by default): ``main_exploiters`` train only against the main
agents (live and their snapshots, PFSP ``variance``) and restart from the initial weights when
they beat them; ``league_exploiters`` train against the whole population (PFSP ``hard``) and
restart with probability ``league_exploiter_reset`` at each snapshot. Learners train in turn,
one ``snapshot_every`` chunk each.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from exphil_agents.league.state import BOT_PREFIX, SELF_PREFIX, LeagueState
from melee_envs.atomic import atomic_path
from melee_envs.obs import ObsConfig
from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class LeagueConfig:
    """Self-play league training in the mock engine (resumes when ``dir`` holds a league)."""

    dir: Path = Path("runs/league")
    """League folder: snapshots, learner checkpoints, match history, TensorBoard logs."""
    steps: int = 200_000
    """Environment steps per learner (decisions: frames = steps x frame_skip)."""
    minutes: float | None = None
    """Wall-clock budget of this run: stop after the first chunk (up to the next snapshot) that
    ends past it, checkpointed as at any stop; running again resumes toward --steps."""
    games: int = 32
    """Games played at once per learner."""
    snapshot_every: int = 25_000
    """Steps between snapshots (taken after the rollout that crosses each multiple)."""
    sampling: Literal["pfsp", "uniform", "recent"] = "pfsp"
    """How the main agent draws past snapshots."""
    pfsp_weighting: Literal["hard", "variance", "linear"] = "hard"
    recent_decay: float = 0.8
    """sampling=recent: weight ratio between consecutive snapshots."""
    self_play: float = 0.3
    """Share of the main agent's games against its current self."""
    bots: tuple[str, ...] = ("idle", "scripted:1", "scripted:5", "scripted")
    """Built-in bots in the population (idle, random, jumper, scripted, scripted:1..9, champion)."""
    bot_fraction: float = 0.3
    """Share of the main agent's games against a bot."""
    rating: Literal["elo", "openskill"] = "elo"
    """Rating system of the league table (tournaments fit their own ratings)."""
    main_exploiters: int = 0
    """AlphaStar main exploiters: train against the main agents only (off by default)."""
    league_exploiters: int = 0
    """AlphaStar league exploiters: train against the whole population (off by default)."""
    exploiter_reset_win_rate: float = 0.7
    """A main exploiter restarts when its win rate against the main agents passes this."""
    league_exploiter_reset: float = 0.25
    """Chance that a league exploiter restarts from its initial weights at each snapshot."""
    game: GameSettings = field(default_factory=GameSettings)
    """characters, stage, stocks and timer of every game (--game.stage, --game.stocks, ...)."""
    frame_skip: int = 4
    """Frames each decision is held for (the learner and its opponents; snapshots remember it and
    play the same way in tournaments)."""
    backbone: str = "mlp"
    """The learners' backbone (one frame per step)."""
    obs: ObsConfig = field(default_factory=ObsConfig)
    """The learners' observation layout (with --init-from, the BC network's is used)."""
    init_from: str | None = None
    """A BC checkpoint to warm-start every learner from (its backbone and observation layout)."""
    kl_coef: float = 0.0
    """Weight of KL(BC teacher || learner) added to the PPO loss; needs init_from."""
    learning_rate: float = 3e-4
    n_steps: int = 256
    batch_size: int = 1024
    n_epochs: int = 4
    gamma: float = 0.995
    ent_coef: float = 0.01
    seed: int = 0
    tensorboard: bool = True
    """TensorBoard logs under DIR/tb."""
    ray: str | None = None
    """Play the games on a Ray cluster: its ADDRESS (HOST:PORT), auto (the one `ray start` made
    on this machine) or local (start one here); learning, history and snapshots stay here
    (docs/scaling.md). Needs pip install -e '.[scale]'."""
    workers: int = 2
    """--ray: rollout workers (Ray actors of one CPU each); --games are split among them."""


def snapshot_id(learner: str, step: int) -> str:
    return f"{learner}@{int(step):09d}"


def learner_ids(cfg: LeagueConfig) -> dict[str, str]:
    ids = {"main-0": "main"}
    ids.update({f"main_exploiter-{i}": "main_exploiter" for i in range(cfg.main_exploiters)})
    ids.update({f"league_exploiter-{i}": "league_exploiter" for i in range(cfg.league_exploiters)})
    return ids


class League:
    """The running league: its state, the learners' models and their envs."""

    def __init__(self, cfg: LeagueConfig) -> None:
        from exphil_agents.actors import BotActor

        self.cfg = cfg
        self._check(cfg)
        self.state = LeagueState(cfg.dir, cfg.rating, cfg.seed)
        self._drop_future_snapshots()
        self.roles = learner_ids(cfg)
        self.models: dict[str, Any] = {}
        self._bots = {f"{BOT_PREFIX}{b}": BotActor(b, cfg.seed) for b in cfg.bots}
        for bot in self._bots:
            self.state.table.add(bot)

    def _drop_future_snapshots(self) -> None:
        """Snapshots newer than their learner's last checkpoint (a run killed between taking a
        snapshot and saving the learner) belong to a timeline the resumed learner will not
        follow: they are retired and their folders moved to ``snapshots/.retired/``, so the
        learner's own snapshot at that step can be taken again."""
        st = self.state
        for snap, info in list(st.snapshots.items()):
            saved = self._checkpoint_step(info["learner"])
            if saved is None or info["step"] <= saved:
                continue
            folder = st.snapshot_dir / snap
            if folder.is_dir():
                aside = st.snapshot_dir / ".retired" / f"{snap}-{int(time.time())}"
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.replace(folder, aside)
            reason = f"newer (step {info['step']}) than its learner's last checkpoint (step {saved}): a killed run's"
            st.retire_snapshot(snap, reason)
            print(f"league: snapshot {snap} is {reason}; retired", file=sys.stderr)

    @staticmethod
    def _check(cfg: LeagueConfig) -> None:
        from melee_envs.opponents import OPPONENTS, is_bot

        for bot in cfg.bots:
            if not is_bot(bot):
                raise ValueError(f"--bots: unknown bot {bot!r}; choose from {OPPONENTS}, scripted:1..9 or champion")
        for name in ("self_play", "bot_fraction", "league_exploiter_reset", "exploiter_reset_win_rate"):
            if not 0.0 <= getattr(cfg, name) <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} must be in [0, 1]; got {getattr(cfg, name)}")
        if cfg.self_play + (cfg.bot_fraction if cfg.bots else 0.0) > 1.0:
            raise ValueError("--self-play plus --bot-fraction must not exceed 1")
        if cfg.steps < 1 or cfg.games < 1 or cfg.snapshot_every < 1:
            raise ValueError("--steps, --games and --snapshot-every must be positive")
        if cfg.minutes is not None and not (math.isfinite(cfg.minutes) and cfg.minutes > 0):
            raise ValueError(f"--minutes {cfg.minutes!r} must be a finite number > 0")
        if cfg.kl_coef > 0 and cfg.init_from is None:
            raise ValueError("--kl-coef needs --init-from (the BC teacher)")
        if cfg.ray is not None:
            from exphil_agents.league.remote import shard_sizes

            shard_sizes(cfg.games, cfg.workers)

    def _checkpoint_step(self, learner: str) -> int | None:
        """The step the learner's checkpoint holds: its archive's own count (a run killed after the
        archive was replaced but before the league state was saved has the newer one there), else
        the league state's."""
        ckpt = self.state.learner_dir / f"{learner}.zip"
        if ckpt.is_file():
            from exphil_agents.sb3_files import read_data

            try:
                return int(read_data(ckpt)["num_timesteps"])
            except (ValueError, KeyError, TypeError):
                pass
        return self.state.learners.get(learner, {}).get("step")

    # -- opponents -------------------------------------------------------------------------------

    def sample_opponent(self, learner: str) -> str:
        ids, p = self.opponent_menu(learner)
        return ids[int(self.state.rng.choice(len(ids), p=p))]

    def opponent_menu(self, learner: str) -> tuple[list[str], np.ndarray]:
        """Who the learner's next game may be against and the chance of each: the learner itself
        (``self_play``), a bot (``bot_fraction``, PFSP over the bots) or a past snapshot
        (``sampling``); exploiters draw by their roles. Remote workers draw from this too."""
        cfg, st = self.cfg, self.state
        role = self.roles[learner]
        menu: dict[str, float] = {}

        def add(ids: list[str], share: float, p: np.ndarray | None = None) -> None:
            for opponent, q in zip(ids, np.full(len(ids), 1.0 / len(ids)) if p is None else p, strict=True):
                menu[opponent] = menu.get(opponent, 0.0) + share * float(q)

        if role == "main":
            snaps, bots = st.snapshot_ids(), list(self._bots)
            if not snaps and not bots:
                add([SELF_PREFIX + learner], 1.0)
            else:
                add([SELF_PREFIX + learner], cfg.self_play)
                bot_share = (cfg.bot_fraction if snaps else 1.0 - cfg.self_play) if bots else 0.0
                if bots:
                    add(bots, bot_share, st.weights(learner, bots, "pfsp" if cfg.sampling == "pfsp" else "uniform"))
                if snaps:
                    rest = 1.0 - cfg.self_play - bot_share
                    add(snaps, rest, st.weights(learner, snaps, cfg.sampling, cfg.pfsp_weighting, cfg.recent_decay))
        elif role == "main_exploiter":
            mains = [SELF_PREFIX + k for k, r in self.roles.items() if r == "main"]
            snaps = st.snapshot_ids("main")
            add(mains, 0.5 if snaps else 1.0)
            if snaps:
                add(snaps, 0.5, st.weights(learner, snaps, "pfsp", "variance"))
        else:  # league exploiter: the whole population
            snaps = st.snapshot_ids()
            if not snaps:
                add([SELF_PREFIX + next(k for k, r in self.roles.items() if r == "main")], 1.0)
            else:
                pool = snaps + list(self._bots)
                add(pool, 1.0, st.weights(learner, pool, "pfsp", "hard"))
        ids = [k for k, q in menu.items() if q > 0]
        p = np.array([menu[k] for k in ids])
        return ids, p / p.sum()

    def resolve(self, opponent: str) -> Any:
        from exphil_agents.actors import load_actor, sb3_actor

        if opponent in self._bots:
            return self._bots[opponent]
        if opponent.startswith(SELF_PREFIX):
            model = self.models[opponent[len(SELF_PREFIX) :]]
            return sb3_actor(opponent, model.policy, self.obs_config, deterministic=False, live=True)
        return load_actor(self.state.snapshots[opponent]["path"])

    def retire(self, opponent: str, error: Exception) -> None:
        """A snapshot that cannot be loaded (deleted or damaged) leaves the population for good
        (recorded in the history, so a resumed league does not draw it again); training goes on."""
        if opponent not in self.state.snapshots:
            raise error
        self.state.retire_snapshot(opponent, str(error))
        print(f"league: snapshot {opponent} cannot be loaded ({error}); retired, training goes on", file=sys.stderr)

    # -- learners --------------------------------------------------------------------------------

    @cached_property
    def obs_config(self) -> ObsConfig:
        if self.cfg.init_from is None:
            return self.cfg.obs
        bc = ObsConfig.from_dict(self._warm_start_kwargs["obs_config"])
        if self.cfg.obs not in (ObsConfig(), bc):
            raise ValueError(f"--obs differs from the observation layout of {self.cfg.init_from}; leave it unset")
        return bc

    @cached_property
    def _warm_start_kwargs(self) -> dict[str, Any]:
        from exphil_agents.network import warm_start_kwargs

        return warm_start_kwargs(self.cfg.init_from)

    def make_env(self, learner: str, seed: int) -> Any:
        from exphil_agents.league.selfplay import LeagueVecEnv

        cfg = self.cfg
        return LeagueVecEnv(
            cfg.games,
            sample_opponent=lambda _b: self.sample_opponent(learner),
            resolve=self.resolve,
            on_unusable=self.retire,
            seed=seed,
            **cfg.game.env_kwargs(),
            frame_skip=cfg.frame_skip,
            obs=self.obs_config,
        )

    def load_or_create(self, learner: str, env: Any = None) -> Any:
        """The learner's PPO model, resumed from its checkpoint or new, playing ``env`` (by default
        its own :class:`LeagueVecEnv` of ``games`` games)."""
        from exphil_agents.league.teacher import TeacherPPO

        cfg = self.cfg
        ckpt = self.state.learner_dir / f"{learner}.zip"
        info = self.state.learners.setdefault(learner, {"role": self.roles[learner], "resets": 0})
        if env is None:
            env = self.make_env(learner, cfg.seed + 1000 * len(self.models) + int(info.get("step", 0)))
        tb = str(cfg.dir / "tb") if cfg.tensorboard else None
        if ckpt.is_file():
            from exphil_agents.sb3_files import load_sb3

            model = load_sb3(TeacherPPO, ckpt, env=env, device="cpu", tensorboard_log=tb)  # nothing unpickled
        else:
            model = self._fresh(env, tb)
            self._save_initial(learner, model)
        if cfg.kl_coef > 0:
            model.set_teacher(cfg.init_from, cfg.kl_coef)
        self.models[learner] = model
        return model

    def _fresh(self, env: Any, tb: str | None) -> Any:
        from exphil_agents.league.teacher import TeacherPPO
        from exphil_agents.policies import BackbonePolicy

        cfg = self.cfg
        policy: dict[str, Any] = {"backbone": cfg.backbone, "obs_config": self.obs_config.__dict__}
        if cfg.init_from is not None:
            policy = dict(self._warm_start_kwargs)
        model = TeacherPPO(
            BackbonePolicy,
            env,
            policy_kwargs=policy,
            learning_rate=cfg.learning_rate,
            n_steps=cfg.n_steps,
            batch_size=cfg.batch_size,
            n_epochs=cfg.n_epochs,
            gamma=cfg.gamma,
            ent_coef=cfg.ent_coef,
            seed=cfg.seed,
            tensorboard_log=tb,
            device="cpu",
            verbose=0,
        )
        if cfg.init_from is not None:
            from exphil_agents.network import warm_start

            warm_start(model, cfg.init_from)
        return model

    def _save_initial(self, learner: str, model: Any) -> None:
        """The weights exploiters restart from (the warm start, or the first random init)."""
        from safetensors.torch import save_model

        with atomic_path(self.state.learner_dir / f"{learner}.init.safetensors") as tmp:
            save_model(model.policy, str(tmp))

    def _restart(self, learner: str, model: Any) -> None:
        from safetensors.torch import load_model

        policy = model.policy
        load_model(policy, str(self.state.learner_dir / f"{learner}.init.safetensors"))
        # A fresh optimizer too: Adam's moments belong to the weights just discarded.
        policy.optimizer = policy.optimizer_class(
            policy.parameters(), lr=model.lr_schedule(1.0), **policy.optimizer_kwargs
        )
        self.state.learners[learner]["resets"] = self.state.learners[learner].get("resets", 0) + 1

    def snapshot(self, learner: str, model: Any) -> str:
        """Freeze the learner into the population, then checkpoint it with the league state."""
        from exphil_agents.league.population import save_snapshot

        step = int(model.num_timesteps)
        info = self.state.learners[learner]
        snap = snapshot_id(learner, step)
        meta = {
            "learner": learner,
            "role": self.roles[learner],
            "step": step,
            "parent": info.get("last_snapshot"),
            "rating": self.state.table.rating(learner),
            "games": int(self.state.table.games.get(learner, 0)),
            "frame_skip": self.cfg.frame_skip,
        }
        save_snapshot(self.state.snapshot_dir, snap, model.policy, self.obs_config, meta)
        if snap not in self.state.snapshots:
            self.state.record_snapshot(snap, learner, step)
        info.update(step=step, last_snapshot=snap)
        self._roles_after_snapshot(learner, model)
        self.checkpoint(learner, model)
        return snap

    def checkpoint(self, learner: str, model: Any) -> None:
        with atomic_path(self.state.learner_dir / f"{learner}.zip") as tmp:
            model.save(tmp)  # the .tmp suffix keeps SB3 from appending .zip
        self.state.learners[learner]["step"] = int(model.num_timesteps)
        self.state.save()

    def _roles_after_snapshot(self, learner: str, model: Any) -> None:
        role, st = self.roles[learner], self.state
        if role == "main_exploiter":
            mains = [*st.snapshot_ids("main")[-3:], "main-0"]  # recent snapshots and the live agent
            rate = float(np.mean([st.win_rate(learner, m) for m in mains]))
            if rate > self.cfg.exploiter_reset_win_rate:
                self._restart(learner, model)
        elif role == "league_exploiter" and float(st.rng.random()) < self.cfg.league_exploiter_reset:
            self._restart(learner, model)
