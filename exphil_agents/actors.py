"""Actors: one contract for everything that plays, and one loader for every kind of player.

An actor plays many games at once. Every actor has ``name``, ``obs_config`` (None for actors
that read the game state themselves), ``stateless``, ``seed(seed)``, ``reset(n)`` (new games,
``n`` rows) and ``act(game, port) -> (num_games, ACTION_SIZE)`` world-frame actions, where
``game`` is a backend (``.state``, ``.packed``: the mock engine or Dolphin). Network actors
(:class:`NetActor`) also take their own observations, ``act_obs(obs (n, F)) -> (n, ACTION_SIZE)``,
and handle everything between a network and a controller in one place: the recurrent state per
row, a frame window, holding a decision for ``repeat`` frames, an input ``delay`` and sampling.
On port 2 a network's view is x-mirrored (it sees itself on the left, as in training on port 1)
and its stick x is flipped back before it reaches the game, the convention of the self-play env.

:func:`load_actor` builds an actor from a spec: a bot name (``scripted``, ``scripted:LEVEL``,
``jumper``, ``idle``, ``random``), the game's CPU (``cpu:LEVEL``, Dolphin only), a league
snapshot folder, an SB3 ``.zip`` (PPO or RecurrentPPO with this package's policies, or SB3's
own ``MlpPolicy``) or a BC checkpoint (``.safetensors`` or its folder).
:class:`~exphil_agents.agent.Agent` (one frame in, one action out), the league, tournaments and
``exphil play`` all use them.
"""

from __future__ import annotations

import json
import types
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
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


class ActorError(ValueError):
    """An actor spec that cannot be loaded (missing file, unknown format, incompatible network)."""


class BotActor:
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


class CpuActor:
    """The game's own CPU at ``level`` (1-9) on its port: Dolphin only; sends no inputs."""

    stateless = True

    def __init__(self, level: int) -> None:
        if not 1 <= level <= 9:
            raise ActorError(f"cpu:{level}: CPU levels are 1-9")
        self.name, self.cpu_level = f"cpu:{level}", level
        self.obs_config: ObsConfig | None = None
        self._noop = ControllerCodec().noop().astype(np.int64)[None]

    def seed(self, seed: int | None) -> None:
        pass

    def reset(self, num_games: int) -> None:
        pass

    def act(self, game: Any, port: int) -> np.ndarray:
        return self._noop


@dataclass
class FrameNetwork:
    """What a network actor computes per decision, in plain torch (what :mod:`exphil_agents.export`
    writes to ONNX): ``call(obs, state) -> (logits, state)`` on one decision's input (``(n, F)``,
    or ``(n, window, F)`` for a windowed policy), eager and unfolded.

    Attributes:
        module: the ``nn.Module`` that owns every weight ``call`` reads.
        initial_state: ``rows -> state`` (an empty tuple for feed-forward networks).
        nvec: choices per action component (the logits' layout, concatenated).
        table: ``(choices, ACTION_SIZE)`` controller actions of a one-component (``Discrete``)
            policy, indexed by its choice; None when the choices are the action.
    """

    module: torch.nn.Module
    call: Callable[[torch.Tensor, tuple], tuple[torch.Tensor, tuple]]
    initial_state: Callable[[int], tuple]
    nvec: list[int]
    table: np.ndarray | None = None


class NetActor:
    """A network behind the actor contract.

    ``policy(obs, state, starts) -> (actions, state)`` maps a batch of own-view observations
    (one frame ``(n, F)``, or a window ``(n, window, F)``) to actions; ``state`` is whatever the
    policy carries between calls (None at first) and ``starts`` flags rows whose game just
    began. The actor adds, once for every network: the frame window (zero-padded, as
    ``frame_window``), ``repeat`` (in games it decides every ``repeat`` frames and holds its
    action in between: a learner trained with that frame skip) and ``delay`` (a decision reaches
    the game ``delay`` calls later; neutral inputs until then). ``codec`` decodes its actions.
    """

    def __init__(
        self,
        name: str,
        policy: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]],
        obs_config: ObsConfig,
        window: int = 1,
        stateless: bool = True,
        repeat: int = 1,
        delay: int = 0,
        codec: ControllerCodec | None = None,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 frames; got {delay}")
        self.name = name
        self.obs_config = obs_config
        self.encoder = ObservationEncoder(obs_config)
        self.codec = codec or ENV_CODEC
        self.window = window
        self.repeat = max(int(repeat), 1)
        self.delay = int(delay)
        self.stateless = stateless and window == 1 and delay == 0
        self._policy = policy
        #: The :class:`SteppingPolicy` inside ``policy`` when the network steps frame by frame.
        self.stepper: SteppingPolicy | None = None
        #: The torch network behind ``policy`` (for export); None for an autoregressive head.
        self.frame_network: FrameNetwork | None = None
        self.reset(0)

    def seed(self, seed: int | None) -> None:
        if seed is not None:
            torch.manual_seed(seed)

    def reset(self, num_games: int) -> None:
        """New games on ``num_games`` rows: fresh state, empty window, neutral delayed inputs."""
        self._rows(num_games)
        self._tick, self._held = 0, None

    def _rows(self, num_games: int) -> None:
        self._state: Any = None
        self._frames = np.zeros((num_games, self.window, self.encoder.size), np.float32)
        self._starts = np.ones(num_games, bool)
        self._queue = np.broadcast_to(self.codec.noop(), (self.delay, num_games, ACTION_SIZE)).copy()
        self._slot = 0

    def _holding(self, rows: int) -> bool:
        """Whether this frame repeats the last decision (``repeat`` > 1, same games)."""
        hold = self._tick % self.repeat != 0 and self._held is not None and len(self._held) == rows
        self._tick += 1
        return hold

    def compile(self) -> str | None:
        """Compile the network's per-frame call (:meth:`SteppingPolicy.compile`); None when done,
        else why not (the actor stays eager)."""
        if self.stepper is None:
            return f"{self.name}: its network runs over a frame window, not one frame at a time"
        return self.stepper.compile()

    def act_obs(self, obs: np.ndarray) -> np.ndarray:
        """Actions for own-view observations ``(n, F)``, in the same (own-view) frame."""
        if len(self._starts) != len(obs):  # another batch of games: start them fresh
            self._rows(len(obs))
        if self.window > 1:
            self._frames[:, :-1] = self._frames[:, 1:]
            self._frames[:, -1] = obs
            obs = self._frames
        actions, self._state = self._policy(obs, self._state, self._starts)
        self._starts[:] = False
        actions = np.asarray(actions, np.int64).reshape(-1, ACTION_SIZE)
        if self.delay:
            actions, self._queue[self._slot] = self._queue[self._slot].copy(), actions
            self._slot = (self._slot + 1) % self.delay
        return actions

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
        actions[mirrored] = self.codec.mirror(actions[mirrored])
        self._held = actions
        return actions.copy()


#: Anything :func:`load_actor` returns.
Actor = BotActor | CpuActor | NetActor


class LogitSampler:
    """Samples every controller component from concatenated logits at once: the components are
    laid into one padded ``(batch, components, max_choices)`` tensor and drawn by the Gumbel-max
    trick (same distribution as sampling each softmax; ~10x faster than one ``Categorical`` per
    component at the batch sizes of live games). The one sampler of every actor."""

    def __init__(self, nvec: Any) -> None:
        self.nvec = [int(n) for n in nvec]
        width = max(self.nvec)
        index = []
        for k, n in enumerate(self.nvec):
            start = sum(self.nvec[:k])
            index += [start + j for j in range(n)] + [-1] * (width - n)
        self._index = torch.tensor(index).clamp(min=0).view(len(self.nvec), width)
        self.padding = torch.tensor([j >= n for n in self.nvec for j in range(width)]).view(len(self.nvec), width)

    def pad(self, logits: torch.Tensor) -> torch.Tensor:
        """Concatenated logits ``(batch, sum(nvec))`` as ``(batch, components, max_choices)``,
        ``-inf`` past each component's choices."""
        return logits[:, self._index].masked_fill(self.padding, float("-inf"))

    def __call__(self, logits: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        padded = self.pad(logits)
        if not deterministic:
            uniform = torch.rand_like(padded).clamp_(min=1e-20)
            padded = padded - torch.log(-torch.log(uniform))
        return padded.argmax(-1).numpy()


class SteppingPolicy:
    """A :class:`NetActor` policy that steps ``backbone`` one frame per call (constant cost),
    resetting the rows whose game starts; actions from ``logits`` (sampled by
    :class:`LogitSampler`) or from ``sample`` (an autoregressive head).

    Eager by default, with the encoder and the backbone's input layer folded into two lookups
    (:class:`~exphil_agents.encoder.ProjectedEncoder`). :meth:`compile` swaps the network call
    for a ``torch.compile``-d one (live play at batch 1: about half the time per frame)."""

    def __init__(
        self,
        encode: Callable[[torch.Tensor], torch.Tensor],
        backbone: Any,
        logits: Callable[[torch.Tensor], torch.Tensor] | None,
        nvec: Any,
        deterministic: bool,
        sample: Callable[[torch.Tensor, bool], torch.Tensor] | None = None,
    ) -> None:
        from exphil_agents.backbones.base import Backbone
        from exphil_agents.encoder import InputEncoder, ProjectedEncoder

        self.backbone, self.deterministic = backbone, deterministic
        self._logits, self._sample = logits, sample
        self.sampler = LogitSampler(nvec) if logits is not None else None
        self._plain = (encode, backbone.step)
        self._encode, self._step = self._plain
        if (
            isinstance(encode, InputEncoder)
            and encode.kinds
            and isinstance(backbone, Backbone)
            and isinstance(backbone.input_proj, torch.nn.Linear)
        ):
            self._encode, self._step = ProjectedEncoder(encode, backbone.input_proj), backbone.step_projected
        self._obs_size = getattr(encode, "obs_size", None)
        self._compiled: Callable[..., tuple[torch.Tensor, Any]] | None = None

    @property
    def compiled(self) -> bool:
        """Whether :meth:`compile` succeeded (frames then run the compiled call)."""
        return self._compiled is not None

    def compile(self) -> str | None:
        """Compile the per-frame call (encoder, backbone step, action logits and the Gumbel-max
        choice) with ``torch.compile`` for batch 1, the live-play case (another batch size
        compiles again on its first call). The uniform noise is still drawn by torch's own
        generator outside the compiled call, so a seed draws the same actions either way.

        The compiled call reads the weights as they are at each call but does not watch the
        modules' other attributes (module guards are skipped, which is what makes it fast):
        compile an agent for playing, not a network still training.

        Returns:
            None when compiled; else why not (no C++ compiler, an op ``torch.compile`` cannot
            capture such as ``nn.LSTM``), and the policy stays eager.
        """
        if self.compiled:
            return None
        if self._obs_size is None:
            return "its encoder does not give an observation size"
        encode, step = self._plain
        logits, sampler = self._logits, self.sampler

        def network(obs: torch.Tensor, state: Any, uniform: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
            out, state = step(encode(obs), state)
            if sampler is None:  # an autoregressive head samples after the call
                return out, state
            padded = sampler.pad(logits(out))
            if uniform is not None:
                padded = padded - torch.log(-torch.log(uniform.clamp(min=1e-20)))
            return padded.argmax(-1), state

        # torch.compile keeps its compiled code on the function's code object, at most 8 entries
        # (one per agent and batch size): each policy compiles its own copy of the function, so
        # compiling many agents never reaches that limit.
        network = types.FunctionType(network.__code__.replace(), globals(), "network", None, network.__closure__)
        options = {"guard_filter_fn": torch.compiler.skip_guard_on_all_nn_modules_unsafe, "cpp_wrapper": True}
        compiled = torch.compile(network, dynamic=False, fullgraph=True, options=options)
        try:
            with torch.inference_mode():
                compiled(torch.zeros(1, self._obs_size), self.backbone.initial_state(1, "cpu"), self._uniform(1))
        except Exception as exc:  # noqa: BLE001 -- any failure to compile leaves the eager path
            reason = str(exc).strip().splitlines()
            return f"{type(exc).__name__}: {reason[0] if reason else ''}"
        self._compiled = compiled
        return None

    def frame_call(self, obs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """``(obs, state) -> (logits, state)``, eager and unfolded (what export traces)."""
        encode, step = self._plain
        out, state = step(encode(obs), state)
        return self._logits(out), state

    def _uniform(self, rows: int) -> torch.Tensor | None:
        if self.sampler is None or self.deterministic:
            return None
        return torch.rand(rows, *self.sampler.padding.shape)

    @torch.inference_mode()
    def __call__(self, obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        if state is None:
            state = self.backbone.initial_state(len(obs), "cpu")
        elif starts.any():
            from exphil_agents.backbones.base import reset

            state = reset(state, torch.as_tensor(starts))
        if self.compiled:
            out, state = self._compiled(torch.as_tensor(obs), state, self._uniform(len(obs)))
            if self.sampler is None:
                return self._sample(out, self.deterministic).numpy(), state
            return out.numpy(), state
        out, state = self._step(self._encode(torch.as_tensor(obs)), state)
        if self.sampler is None:
            return self._sample(out, self.deterministic).numpy(), state
        return self.sampler(self._logits(out), self.deterministic), state


# -- loading ---------------------------------------------------------------------------------------


def load_actor(
    spec: str | Path,
    deterministic: bool = False,
    seed: int | None = None,
    allow_pickle: bool = False,
    delay: int = 0,
    env_controller: bool = True,
) -> Actor:
    """An actor from a bot name, ``champion`` (the agent shipped with the package), ``cpu:LEVEL``
    (Dolphin), or a checkpoint path (an SB3 ``.zip`` is read without unpickling unless
    ``allow_pickle``; see :mod:`exphil_agents.sb3_files`).

    Args:
        delay: frames between a network's decision and its input reaching the game.
        env_controller: require the envs' controller (17 uniform stick buckets), as games in the
            mock engine do; False lets a network keep its own stick centres (its ``codec``).

    Raises:
        ActorError: naming the spec and what is wrong with it.
    """
    text = str(spec)
    if text == "champion":  # the agent shipped with the package (exphil_agents.champion)
        from exphil_agents.champion import champion_actor

        actor = champion_actor(deterministic=deterministic, delay=delay)
        actor.seed(seed)
        return actor
    if is_bot(text):
        return BotActor(text, seed)
    if text.startswith("cpu:"):
        level = text[4:]
        if not level.isdigit():
            raise ActorError(f"{text}: expected cpu:LEVEL with LEVEL 1-9")
        return CpuActor(int(level))
    path = Path(text)
    if not path.exists():
        raise ActorError(f"{text}: no such bot or checkpoint (bots: {', '.join(OPPONENTS)}, scripted:1..9)")
    try:
        folder = path if path.is_dir() else path.parent
        if (path.is_dir() or path.name == "model.safetensors") and (folder / "snapshot.json").is_file():
            from exphil_agents.league.population import load_snapshot_policy, read_snapshot

            policy, obs_config = load_snapshot_policy(folder)
            actor = sb3_actor(text, policy, obs_config, deterministic, delay=delay)
            actor.repeat = max(int(read_snapshot(folder).get("frame_skip", 1)), 1)
            return actor
        if path.suffix == ".zip":
            return _zip_actor(path, deterministic, allow_pickle, delay)
        if path.suffix == ".onnx":  # written by exphil export, run by onnxruntime
            from exphil_agents.export import load_onnx_actor

            return load_onnx_actor(path, deterministic, delay)
        from exphil_agents.network import checkpoint_file, load_checkpoint

        network = load_checkpoint(checkpoint_file(path))
    except ActorError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        raise ActorError(f"{text}: cannot load: {exc}") from None
    return network_actor(text, network, deterministic, delay, env_controller)


def sb3_actor(
    name: str, policy: Any, obs_config: ObsConfig, deterministic: bool = False, live: bool = False, delay: int = 0
) -> NetActor:
    """An actor from an SB3 feed-forward policy, run over its frame window (``live``: a policy
    still training, used as it is at each call and left in whatever mode its trainer sets)."""
    if not live:
        policy.set_training_mode(False)
    shape = policy.observation_space.shape
    _check_size(name, shape[-1], obs_config)
    window = shape[0] if len(shape) == 2 else 1
    nvec, controls = policy_controls(name, policy.action_space)
    sampler = LogitSampler(nvec)

    def logits(obs: torch.Tensor, state: tuple = ()) -> tuple[torch.Tensor, tuple]:
        features = policy.extract_features(obs, policy.pi_features_extractor)
        return policy.action_net(policy.mlp_extractor.forward_actor(features)), ()

    @torch.inference_mode()
    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        return controls(sampler(logits(torch.as_tensor(obs))[0], deterministic)), None

    actor = NetActor(name, act, obs_config, window=window, delay=delay)
    actor.frame_network = FrameNetwork(policy, logits, lambda rows: (), nvec, controls_table(policy.action_space))
    return actor


def recurrent_actor(
    name: str, policy: Any, obs_config: ObsConfig, deterministic: bool = False, delay: int = 0
) -> NetActor:
    """An actor from a :class:`~exphil_agents.policies.RecurrentBackbonePolicy` (RecurrentPPO):
    its encoder and recurrent backbone stepped one frame per call."""
    encoder = policy.pi_features_extractor.encoder
    return stepped_actor(name, policy, obs_config, encoder, policy.lstm_actor, deterministic, delay)


def stepped_actor(
    name: str,
    policy: Any,
    obs_config: ObsConfig,
    encoder: Any,
    backbone: Any,
    deterministic: bool = False,
    delay: int = 0,
) -> NetActor:
    """An actor that steps an SB3 policy's ``encoder`` and ``backbone`` one frame per call
    (constant cost, no window re-run) and samples its action head."""
    policy.set_training_mode(False)
    _check_size(name, policy.observation_space.shape[-1], obs_config)
    nvec, controls = policy_controls(name, policy.action_space)
    act = SteppingPolicy(
        encoder, backbone, lambda z: policy.action_net(policy.mlp_extractor.forward_actor(z)), nvec, deterministic,
    )  # fmt: skip

    def controlled(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        choice, state = act(obs, state, starts)
        return controls(choice), state

    actor = NetActor(name, controlled, obs_config, stateless=False, delay=delay)
    actor.stepper = act
    actor.frame_network = FrameNetwork(
        policy, act.frame_call, lambda rows: backbone.initial_state(rows, "cpu"), nvec,
        controls_table(policy.action_space),
    )  # fmt: skip
    return actor


def policy_controls(name: str, space: Any) -> tuple[list[int], Callable[[np.ndarray], np.ndarray]]:
    """A policy's action widths, and the map from its sampled choices ``(n, parts)`` to the env's
    controller actions ``(n, ACTION_SIZE)``: the identity for the ``MultiDiscrete`` controller,
    a row of :func:`~melee_envs.controller.discrete_table` for the ``Discrete`` action set
    (``action_mode="discrete"``).

    Raises:
        ActorError: any other action space.
    """
    from gymnasium import spaces

    from melee_envs.controller import DISCRETE_ACTION_NAMES

    if isinstance(space, spaces.MultiDiscrete) and space.nvec.tolist() == ENV_NVEC:
        return ENV_NVEC, lambda choice: choice
    if isinstance(space, spaces.Discrete) and int(space.n) == len(DISCRETE_ACTION_NAMES):
        table = controls_table(space)
        return [int(space.n)], lambda choice: table[choice[:, 0]]
    raise ActorError(f"{name}: action space {space} is neither the env's MultiDiscrete controller nor its Discrete set")


def controls_table(space: Any) -> np.ndarray | None:
    """The controller action of each choice of a ``Discrete`` policy (see :func:`policy_controls`),
    ``(choices, ACTION_SIZE)``; None for the ``MultiDiscrete`` controller (choices are actions)."""
    from gymnasium import spaces

    from melee_envs.controller import discrete_table

    return discrete_table(ENV_CODEC).astype(np.int64) if isinstance(space, spaces.Discrete) else None


def _check_size(name: str, size: int, obs_config: ObsConfig) -> None:
    expected = ObservationEncoder(obs_config).size
    if size != expected:
        raise ActorError(f"{name}: the network takes {size} values per frame, its observation layout makes {expected}")


def _zip_actor(path: Path, deterministic: bool, allow_pickle: bool, delay: int) -> NetActor:
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise ActorError(f"{path}: not a stable-baselines3 model archive") from None
    kwargs = data.get("policy_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ActorError(f"{path}: unreadable policy settings in the archive")
    recurrent = "Recurrent" in json.dumps(data.get("policy_class", ""))
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO

    from exphil_agents.sb3_files import load_sb3

    model = load_sb3(RecurrentPPO if recurrent else PPO, path, device="cpu", allow_pickle=allow_pickle)
    obs_config = ObsConfig.from_dict(kwargs["obs_config"]) if kwargs.get("obs_config") else ObsConfig()
    if not recurrent:
        actor = sb3_actor(str(path), model.policy, obs_config, deterministic, delay=delay)
        actor.repeat = max(int(data.get("frame_skip", 1)), 1)  # recorded by exphil train
        return actor
    from exphil_agents.policies import RecurrentBackbonePolicy

    if not isinstance(model.policy, RecurrentBackbonePolicy):
        raise ActorError(f"{path}: a RecurrentPPO model without this package's RecurrentBackbonePolicy")
    return recurrent_actor(str(path), model.policy, obs_config, deterministic, delay)


def network_actor(
    name: str, network: Any, deterministic: bool = False, delay: int = 0, env_controller: bool = True
) -> NetActor:
    """An actor from a :class:`~exphil_agents.network.PolicyNetwork` (behavioural cloning)."""
    network.eval()
    if env_controller and list(network.nvec) != ENV_NVEC:
        raise ActorError(
            f"{name}: the network's controller ({list(network.nvec)}) is not the env's (17 uniform stick buckets)"
        )
    independent = network.head_kind == "independent"
    act = SteppingPolicy(
        network.encoder, network.backbone, network.head.logits if independent else None, network.nvec,
        deterministic, sample=None if independent else network.head.sample,
    )  # fmt: skip
    codec = getattr(network, "codec", None)
    actor = NetActor(name, act, network.encoder.obs_config, stateless=False, delay=delay, codec=codec)
    actor.stepper = act
    if independent:
        init = network.backbone.initial_state
        actor.frame_network = FrameNetwork(network, act.frame_call, lambda rows: init(rows, "cpu"), list(network.nvec))
    return actor
