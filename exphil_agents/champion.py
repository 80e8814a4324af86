"""The champion: the strongest agent the documented recipe trains, shipped inside the package.

It is a small feed-forward policy (SB3's stock ``MlpPolicy`` actor: two tanh layers of 64 over
the default observation, 28 discrete actions, each decision held for 4 frames), stored as
``champion/model.safetensors`` (the actor's weights only, no pickle) and ``champion/champion.json``
(architecture, observation layout, action set, frame skip, the command and seed that trained it,
its training time and its results). Use it as:

* ``gym.make("Melee-v0", opponent="champion")`` or any env's ``opponent="champion"`` (a
  ``melee_envs.opponents`` plugin: this package declares it as an entry point);
* ``load_actor("champion")``: an :class:`~exphil_agents.actors.NetActor` for tournaments,
  leagues (``--bots champion``) and ``exphil play``;
* ``exphil tournament champion scripted ...``, ``exphil ladder champion``.

``exphil champion train`` reproduces it: the recipe (:class:`ChampionConfig`), then 200 seeded
games against every built-in bot with Wilson intervals, written to the card; ``--install`` puts
the result in the package.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from melee_envs.atomic import atomic_path, write_text_atomic
from melee_envs.settings import GameSettings

#: The champion shipped with the package.
CHAMPION_DIR = Path(__file__).parent / "champion"
FORMAT = 1


class ChampionNetwork(nn.Module):
    """The actor of an SB3 ``MlpPolicy``: tanh layers, then the action logits."""

    def __init__(self, obs_size: int, hidden: list[int], actions: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_size
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(obs))


def export(model: Any, folder: str | Path, card: dict[str, Any]) -> Path:
    """Write an SB3 ``PPO`` model's actor (stock ``MlpPolicy``, discrete actions) as a champion
    folder: ``model.safetensors`` + ``champion.json`` (``card`` merged in). Atomic per file."""
    from gymnasium import spaces
    from safetensors.torch import save_file

    policy = model.policy
    if not isinstance(policy.action_space, spaces.Discrete) or type(policy).__name__ != "ActorCriticPolicy":
        raise ValueError("a champion is a stock MlpPolicy trained with discrete actions")
    linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)]
    tensors = {}
    for k, linear in enumerate(linears):
        tensors[f"body.{2 * k}.weight"] = linear.weight.detach().contiguous()
        tensors[f"body.{2 * k}.bias"] = linear.bias.detach().contiguous()
    tensors["head.weight"] = policy.action_net.weight.detach().contiguous()
    tensors["head.bias"] = policy.action_net.bias.detach().contiguous()
    meta = {
        "format": FORMAT,
        "network": "mlp-actor",
        "obs_size": int(policy.observation_space.shape[0]),
        "hidden": [int(linear.out_features) for linear in linears],
        "activation": "tanh",
        "actions": int(policy.action_space.n),
        "action_mode": "discrete",
        "obs_config": {},
        "frame_skip": int(getattr(model, "frame_skip", 1)),
        **card,
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(tensors, str(tmp))
    write_text_atomic(folder / "champion.json", json.dumps(meta, indent=2) + "\n")
    return folder


def load(folder: str | Path = CHAMPION_DIR) -> tuple[ChampionNetwork, dict[str, Any]]:
    """The champion's network and card.

    Raises:
        ValueError: naming the file and what is wrong with it.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    card_path, weights = folder / "champion.json", folder / "model.safetensors"
    try:
        meta = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{card_path}: not a champion card ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("network") != "mlp-actor":
        raise ValueError(f"{card_path}: unknown champion format {meta.get('format')!r} / {meta.get('network')!r}")
    net = ChampionNetwork(meta["obs_size"], meta["hidden"], meta["actions"])
    try:
        net.load_state_dict(load_file(str(weights)))
    except (OSError, RuntimeError, ValueError, SafetensorError) as exc:
        raise ValueError(f"{weights}: cannot load the champion's weights ({exc})") from None
    return net.eval(), meta


def champion_actor(
    folder: str | Path = CHAMPION_DIR, deterministic: bool = False, delay: int = 0, name: str = "champion"
) -> Any:
    """The champion as a :class:`~exphil_agents.actors.NetActor` (holds each decision for its
    frame skip)."""
    from gymnasium import spaces

    from exphil_agents.actors import FrameNetwork, LogitSampler, NetActor, controls_table, policy_controls
    from melee_envs.obs import ObsConfig

    net, meta = load(folder)
    obs_config = ObsConfig.from_dict(meta["obs_config"])
    _, controls = policy_controls(name, spaces.Discrete(meta["actions"]))
    sampler = LogitSampler([meta["actions"]])

    @torch.inference_mode()
    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        return controls(sampler(net(torch.as_tensor(obs)), deterministic)), None

    actor = NetActor(name, act, obs_config, delay=delay)
    actor.repeat = max(int(meta["frame_skip"]), 1)
    space = spaces.Discrete(meta["actions"])
    actor.frame_network = FrameNetwork(net, lambda obs, state=(): (net(obs), ()), lambda rows: (), [space.n],
                                       controls_table(space))  # fmt: skip
    return actor


class ActorOpponent:
    """An actor as an env opponent, ``(state, player) -> actions`` for every game.

    Envs call their opponent once per step, whatever their frame skip; the actor's decisions are
    held by the game clock (a new one once ``hold`` frames have passed in that game, or when a
    game restarts), so it plays at the rate it was trained at under any env frame skip."""

    def __init__(self, actor: Any, hold: int) -> None:
        from types import SimpleNamespace

        self.actor, self.hold = actor, max(int(hold), 1)
        actor.repeat = 1
        self._game = SimpleNamespace(packed=None)
        self._last: np.ndarray | None = None
        self._held: np.ndarray | None = None

    def seed(self, seed: int | None) -> None:
        self.actor.seed(seed)
        self._last = None

    def __call__(self, state: Any, player: int) -> np.ndarray:
        from melee_envs.state import PackedState

        frame = np.asarray(state.frame).reshape(-1).astype(np.int64)
        n = len(frame)
        if self._last is None or len(self._last) != n:
            self._last = np.full(n, np.iinfo(np.int64).min // 2)
            self._held = None
        due = (frame - self._last >= self.hold) | (frame < self._last)  # all due after a reset
        if due.any():
            self._game.packed = PackedState.from_state(state)
            fresh = self.actor.act_games(self._game, np.arange(n), np.full(n, player))
            if self._held is None:
                self._held = fresh
            else:
                self._held[due] = fresh[due]
            self._last[due] = frame[due]
        return self._held.reshape(np.shape(state.stage) + (-1,)).copy()


class ChampionOpponent(ActorOpponent):
    """The shipped champion as an env opponent; pickles by name (envs pickle for worker
    processes), so a copy loads the champion again."""

    def __init__(self, seed: int | None = None) -> None:
        actor = champion_actor()
        actor.seed(seed)
        super().__init__(actor, actor.repeat)
        self._seed = seed

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return ChampionOpponent, (self._seed,)


def champion_opponent(codec: Any = None, seed: int | None = None) -> ChampionOpponent:
    """``opponent="champion"`` in any env (the ``melee_envs.opponents`` entry point)."""
    return ChampionOpponent(seed)


# -- the recipe ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChampionConfig:
    """Train a champion by the documented recipe, measure it against every bot, write its card."""

    out: Path = Path("runs/champion")
    """Folder for the SB3 model, the champion files and the card."""
    opponent: str = "scripted+scripted+scripted:7+scripted:5+scripted:3+scripted:1+idle+jumper+random"
    """The training ladder: game b of the batch plays bot b % 9 (the full bot on two of nine)."""
    timesteps: int = 20_000_000
    seed: int = 0
    games: int = 200
    """Evaluation games against each bot of the ladder (half on each port)."""
    game: GameSettings = field(default_factory=GameSettings)
    install: bool = False
    """Also copy the result into the package (exphil_agents/champion/)."""


def train(cfg: ChampionConfig) -> dict[str, Any]:
    """The recipe: ``exphil train`` on the ladder, then export and the ladder evaluation."""
    from rich.console import Console

    from exphil_agents.ladder import evaluate_ladder, ladder_table
    from exphil_agents.train import TrainConfig, main as train_main

    console = Console(width=120)
    cfg.out.mkdir(parents=True, exist_ok=True)
    run = TrainConfig(
        timesteps=cfg.timesteps, opponent=cfg.opponent, seed=cfg.seed, game=cfg.game, eval_episodes=0,
        save=str(cfg.out / "model.zip"),
    )  # fmt: skip
    start = time.perf_counter()
    trained = train_main(run)
    minutes = (time.perf_counter() - start) / 60
    from stable_baselines3 import PPO

    from exphil_agents.sb3_files import load_sb3

    model = load_sb3(PPO, cfg.out / "model.zip", device="cpu")
    model.frame_skip = run.frame_skip
    card = {
        "command": f"exphil champion train --seed {cfg.seed} --timesteps {cfg.timesteps}",
        "opponent": cfg.opponent,
        "seed": cfg.seed,
        "steps": int(model.num_timesteps),
        "train_minutes": round(minutes, 1),
        "steps_per_s": round(trained["split"]["steps_per_s"]),
        "game": asdict(cfg.game),
    }
    folder = export(model, cfg.out / "champion", card)
    results = evaluate_ladder(champion_actor(folder), cfg.games, cfg.seed + 20_000, cfg.game)
    meta = json.loads((folder / "champion.json").read_text())
    meta["results"] = results
    write_text_atomic(folder / "champion.json", json.dumps(meta, indent=2) + "\n")
    console.print(ladder_table("champion", results))
    if cfg.install:
        import shutil

        for name in ("model.safetensors", "champion.json"):
            with atomic_path(CHAMPION_DIR / name) as tmp:
                shutil.copyfile(folder / name, tmp)
                tmp.chmod(0o644)  # package data: readable by every user
        console.print(f"installed into {CHAMPION_DIR}")
    console.print(f"champion written to {folder}")
    return meta
