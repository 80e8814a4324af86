"""Batched players: anything that can play port 1 or port 2 of many mock games at once.

A player maps ``(game, port)`` to world-frame actions ``(num_games, ACTION_SIZE)``, where ``game`` is a
backend (``.state``, ``.packed``: the mock engine or Dolphin). Built-in bots read the
``GameState`` directly. Network players see the game through their own observation layout; on
port 2 their view is x-mirrored (they see themselves on the left, as in training on port 1) and
their stick x is flipped back before it reaches the game, the convention of the self-play env.

:func:`load_player` builds a player from a spec: a bot name (``scripted``, ``scripted:LEVEL``,
``jumper``, ``idle``, ``random``), the game's CPU (``cpu:LEVEL``, Dolphin only), a league
snapshot folder, an SB3 ``.zip`` (PPO or RecurrentPPO) or a BC ``.safetensors`` network.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from melee_envs.controller import ACTION_SIZE, ControllerCodec
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.opponents import OPPONENTS, is_bot, make_opponent

#: The envs' controller (17 uniform stick buckets): what every network player must output.
ENV_CODEC = ControllerCodec()
ENV_NVEC = ENV_CODEC.nvec.tolist()


class PlayerError(ValueError):
    """A player spec that cannot be loaded (missing file, unknown format, incompatible network)."""


class BotPlayer:
    """A built-in bot from :mod:`melee_envs.opponents` (no network, world frame)."""

    stateless = True

    def __init__(self, name: str, seed: int | None = None) -> None:
        self.name = name
        self.obs_config: ObsConfig | None = None
        self._bot = make_opponent(name, ControllerCodec(), seed)

    def seed(self, seed: int | None) -> None:
        if hasattr(self._bot, "seed"):
            self._bot.seed(seed)

    def reset(self, num_games: int) -> None:
        pass

    def act(self, game: Any, port: int) -> np.ndarray:
        return np.array(self._bot(game.state, port), dtype=np.int64).reshape(-1, ACTION_SIZE)


class CpuPlayer:
    """The game's own CPU at ``level`` (1-9) on its port: Dolphin only; sends no inputs."""

    stateless = True

    def __init__(self, level: int) -> None:
        if not 1 <= level <= 9:
            raise PlayerError(f"cpu:{level}: CPU levels are 1-9")
        self.name, self.cpu_level = f"cpu:{level}", level
        self.obs_config: ObsConfig | None = None
        self._noop = ControllerCodec().noop().astype(np.int64)[None]

    def seed(self, seed: int | None) -> None:
        pass

    def reset(self, num_games: int) -> None:
        pass

    def act(self, game: Any, port: int) -> np.ndarray:
        return self._noop


class NetPlayer:
    """A network: ``policy(obs, state, starts) -> (actions, state)`` over a batch of own-view
    observations, with an optional frame window (zero-padded, as ``frame_window``), a recurrent
    state kept per game, and ``repeat``: in games (:meth:`act`, :meth:`act_games`) it decides
    every ``repeat`` frames and holds its action in between (a learner trained with that frame
    skip)."""

    def __init__(
        self,
        name: str,
        policy: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]],
        obs_config: ObsConfig,
        window: int = 1,
        stateless: bool = True,
        repeat: int = 1,
    ) -> None:
        self.name = name
        self.obs_config = obs_config
        self.encoder = ObservationEncoder(obs_config)
        self.window = window
        self.repeat = max(int(repeat), 1)
        self.stateless = stateless and window == 1
        self._tick = 0
        self._held: np.ndarray | None = None
        self._policy = policy
        self._state: Any = None
        self._frames = np.zeros((0, window, self.encoder.size), np.float32)
        self._starts = np.ones(0, bool)

    def seed(self, seed: int | None) -> None:
        if seed is not None:
            torch.manual_seed(seed)

    def reset(self, num_games: int) -> None:
        self._state = None
        self._frames = np.zeros((num_games, self.window, self.encoder.size), np.float32)
        self._starts = np.ones(num_games, bool)
        self._tick, self._held = 0, None

    def _holding(self, rows: int) -> bool:
        """Whether this frame repeats the last decision (``repeat`` > 1, same games)."""
        hold = self._tick % self.repeat != 0 and self._held is not None and len(self._held) == rows
        self._tick += 1
        return hold

    def act_obs(self, obs: np.ndarray) -> np.ndarray:
        """Actions for own-view observations ``(n, F)``, in the same (own-view) frame."""
        if self.window > 1:
            if len(self._frames) != len(obs):
                self.reset(len(obs))
            self._frames[:, :-1] = self._frames[:, 1:]
            self._frames[:, -1] = obs
            obs = self._frames
        elif len(self._starts) != len(obs):
            self.reset(len(obs))
        actions, self._state = self._policy(obs, self._state, self._starts)
        self._starts[:] = False
        return np.asarray(actions, np.int64).reshape(-1, ACTION_SIZE)

    def act(self, game: Any, port: int) -> np.ndarray:
        """World-frame actions for every game of the batch, playing ``port``."""
        n = int(np.prod(game.packed.stage.shape))
        return self.act_games(game, np.arange(n), np.full(n, port))

    def act_games(self, game: Any, games: np.ndarray, ports: np.ndarray) -> np.ndarray:
        """World-frame actions for the listed games of a batch, playing ``ports[k]`` in game
        ``games[k]`` (mirrored view and flipped stick on port 2)."""
        if self._holding(len(games)):
            return self._held.copy()
        mirrored = ports == 1
        obs = self.encoder.encode_games(game.packed, games, ports, mirrored)
        actions = self.act_obs(obs)
        actions[mirrored] = ENV_CODEC.mirror(actions[mirrored])
        self._held = actions
        return actions.copy()


class LogitSampler:
    """Samples every controller component from concatenated logits at once: the components are
    laid into one padded ``(batch, components, max_choices)`` tensor and drawn by the Gumbel-max
    trick (same distribution as sampling each softmax; ~10x faster than one ``Categorical`` per
    component at the batch sizes of live games)."""

    def __init__(self, nvec: Any) -> None:
        self.nvec = [int(n) for n in nvec]
        width = max(self.nvec)
        index = []
        for k, n in enumerate(self.nvec):
            start = sum(self.nvec[:k])
            index += [start + j for j in range(n)] + [-1] * (width - n)
        self._index = torch.tensor(index).clamp(min=0).view(len(self.nvec), width)
        self._pad = torch.tensor([j >= n for n in self.nvec for j in range(width)]).view(len(self.nvec), width)

    def __call__(self, logits: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        padded = logits[:, self._index].masked_fill(self._pad, float("-inf"))
        if not deterministic:
            uniform = torch.rand_like(padded).clamp_(min=1e-20)
            padded = padded - torch.log(-torch.log(uniform))
        return padded.argmax(-1).numpy()


# -- loading ---------------------------------------------------------------------------------------


def load_player(
    spec: str | Path, deterministic: bool = False, seed: int | None = None, allow_pickle: bool = False
) -> BotPlayer | CpuPlayer | NetPlayer:
    """A player from a bot name, ``cpu:LEVEL`` (Dolphin), or a checkpoint path (an SB3 ``.zip``
    is read without unpickling unless ``allow_pickle``; see :mod:`exphil_agents.sb3_files`).

    Raises:
        PlayerError: naming the spec and what is wrong with it.
    """
    text = str(spec)
    if is_bot(text):
        return BotPlayer(text, seed)
    if text.startswith("cpu:"):
        level = text[4:]
        if not level.isdigit():
            raise PlayerError(f"{text}: expected cpu:LEVEL with LEVEL 1-9")
        return CpuPlayer(int(level))
    path = Path(text)
    if not path.exists():
        raise PlayerError(f"{text}: no such bot or checkpoint (bots: {', '.join(OPPONENTS)}, scripted:1..9)")
    try:
        folder = path if path.is_dir() else path.parent
        if (path.is_dir() or path.name == "model.safetensors") and (folder / "snapshot.json").is_file():
            from exphil_agents.league.population import load_snapshot_policy, read_snapshot

            policy, obs_config = load_snapshot_policy(folder)
            player = sb3_player(text, policy, obs_config, deterministic)
            player.repeat = max(int(read_snapshot(folder).get("frame_skip", 1)), 1)
            return player
        if path.suffix == ".zip":
            return _zip_player(path, deterministic, allow_pickle)
        from exphil_agents.network import checkpoint_file, load_checkpoint

        network = load_checkpoint(checkpoint_file(path))
    except PlayerError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        raise PlayerError(f"{text}: cannot load: {exc}") from None
    return _network_player(text, network, deterministic)


def sb3_player(
    name: str, policy: Any, obs_config: ObsConfig, deterministic: bool = False, live: bool = False
) -> NetPlayer:
    """A player from an SB3 feed-forward policy (``live``: a policy still training, used as it
    is at each call and left in whatever mode its trainer sets)."""
    if not live:
        policy.set_training_mode(False)
    shape = policy.observation_space.shape
    size = ObservationEncoder(obs_config).size
    if shape[-1] != size:
        raise PlayerError(
            f"{name}: the network takes {shape[-1]} values per frame, its observation layout makes {size}"
        )
    if list(policy.action_space.nvec) != ENV_NVEC:
        raise PlayerError(f"{name}: action space {policy.action_space} is not the env's MultiDiscrete controller")
    window = shape[0] if len(shape) == 2 else 1

    sampler = LogitSampler(policy.action_space.nvec)

    @torch.inference_mode()
    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        features = policy.extract_features(torch.as_tensor(obs), policy.pi_features_extractor)
        logits = policy.action_net(policy.mlp_extractor.forward_actor(features))
        return sampler(logits, deterministic), None

    return NetPlayer(name, act, obs_config, window=window)


def _zip_player(path: Path, deterministic: bool, allow_pickle: bool) -> NetPlayer:
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise PlayerError(f"{path}: not a stable-baselines3 model archive") from None
    kwargs = data.get("policy_kwargs") or {}
    recurrent = "Recurrent" in json.dumps(data.get("policy_class", ""))
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO

    from exphil_agents.sb3_files import load_sb3

    model = load_sb3(RecurrentPPO if recurrent else PPO, path, device="cpu", allow_pickle=allow_pickle)
    obs_config = ObsConfig.from_dict(kwargs["obs_config"]) if kwargs.get("obs_config") else ObsConfig()
    if not recurrent:
        return sb3_player(str(path), model.policy, obs_config, deterministic)
    policy = model.policy
    policy.set_training_mode(False)
    size = ObservationEncoder(obs_config).size
    if policy.observation_space.shape[-1] != size:
        raise PlayerError(f"{path}: the network takes {policy.observation_space.shape[-1]} values, expected {size}")

    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        actions, state = model.predict(obs, state=state, episode_start=starts, deterministic=deterministic)
        return actions, state

    return NetPlayer(str(path), act, obs_config, stateless=False)


def _network_player(name: str, network: Any, deterministic: bool) -> NetPlayer:
    network.eval()
    if list(network.nvec) != ENV_NVEC:
        raise PlayerError(
            f"{name}: the network's controller ({list(network.nvec)}) is not the env's (17 uniform stick buckets)"
        )

    sampler = LogitSampler(network.nvec) if network.head_kind == "independent" else None

    @torch.inference_mode()
    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        x = torch.as_tensor(obs)
        if state is None:
            state = network.backbone.initial_state(len(obs), "cpu")
        latent, state = network.step(x, state)
        if sampler is None:
            return network.head.sample(latent, deterministic).numpy(), state
        return sampler(network.head.logits(latent), deterministic), state

    return NetPlayer(name, act, network.encoder.obs_config, stateless=False)
