"""RLlib on Melee: the envs registered for RLlib's current API stack, the project's networks as an
``RLModule``, a ready ``PPOConfig``, and checkpoints converted both ways.

Needs the ``scale`` extra (``pip install -e ".[scale]"``: Ray and the libraries RLlib uses, with
the gymnasium the project already has; see docs/scaling.md).

* :func:`register_envs` registers ``"Melee-v0"`` (one agent against a built-in opponent) and
  ``"melee_v0"`` (the PettingZoo parallel env through RLlib's ``ParallelPettingZooEnv``: both
  ports are agents) with Ray's registry, so env runners in other processes and machines build
  them without importing anything first.
* :class:`MeleeRLModule` is :class:`~exphil_agents.network.PolicyNetwork` (encoder, any backbone,
  independent head) plus a value head on the latent. A backbone with state (LSTM, GRU, Mamba,
  attention, Jamba) is a stateful module: its state tensors (batch first) are RLlib's
  ``STATE_IN`` / ``STATE_OUT`` entries ``s0``, ``s1``, ...; the MLP is stateless.
* :func:`ppo_config` returns a ``PPOConfig`` for either env: env runners in their own processes,
  the module, and for ``melee_v0`` self-play (one policy both ports play and learn) or one
  policy per port.
* :func:`save_module` writes a module's network in the project's safetensors format (what BC,
  SB3 warm starts, ``load_actor``, tournaments and ``exphil export`` read);
  ``ppo_config(init_from=PATH)`` starts RLlib from such a file (a BC network, say);
  :func:`module_from_rllib_checkpoint` reads a module back from ``Algorithm.save()``'s folder.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

try:
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
    from ray.rllib.core.rl_module.torch import TorchRLModule
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("exphil_agents.rllib needs Ray with RLlib: pip install -e '.[scale]' (docs/scaling.md)") from exc

from exphil_agents.network import PolicyNetwork, checkpoint_file, load_checkpoint, read_spec, save_checkpoint
from melee_envs.obs import ObsConfig

#: Ray registry names of the envs.
SINGLE_ENV, MULTI_ENV = "Melee-v0", "melee_v0"
#: The agents of ``melee_v0``.
PORTS = ("port_1", "port_2")


def _single_env(env_config: dict[str, Any]) -> Any:
    import gymnasium as gym

    import melee_envs  # noqa: F401 - registers Melee-v0 in this process

    return gym.make(SINGLE_ENV, **dict(env_config))


def _multi_env(env_config: dict[str, Any]) -> Any:
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from melee_envs.envs.parallel import MeleeParallelEnv

    return ParallelPettingZooEnv(MeleeParallelEnv(**dict(env_config)))


def register_envs() -> None:
    """Register ``"Melee-v0"`` and ``"melee_v0"`` with Ray (idempotent)."""
    from ray.tune.registry import register_env

    register_env(SINGLE_ENV, _single_env)
    register_env(MULTI_ENV, _multi_env)


class MeleeRLModule(TorchRLModule, ValueFunctionAPI):
    """The project's :class:`~exphil_agents.network.PolicyNetwork` with a value head, as an RLlib
    ``TorchRLModule``.

    ``model_config`` keys: ``backbone`` (default ``"mlp"``), ``backbone_config`` (dict),
    ``obs_config`` (dict; must describe the env's observations), ``embed`` (dict),
    ``checkpoint`` (a project safetensors file to start from; its network replaces the others).
    """

    def setup(self) -> None:
        from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical

        cfg = dict(self.model_config or {})
        nvec = [int(n) for n in self.action_space.nvec]
        if cfg.get("checkpoint"):
            network = load_checkpoint(cfg["checkpoint"])
            if network.nvec != nvec:
                raise ValueError(
                    f"{cfg['checkpoint']}: the network chooses among {network.nvec} per component; the env's "
                    f"action space is MultiDiscrete({nvec})"
                )
        else:
            network = PolicyNetwork(
                cfg.get("backbone", "mlp"), cfg.get("backbone_config"), cfg.get("obs_config"), cfg.get("embed"),
                nvec=nvec,
            )  # fmt: skip
        if network.head_kind != "independent":
            raise ValueError(
                f"RLlib samples each component alone: an independent head is needed, not {network.head_kind}"
            )
        size = int(np.prod(self.observation_space.shape))
        if network.encoder.obs_size != size:
            raise ValueError(
                f"the network reads {network.encoder.obs_size} observation values; the env gives {size}: pass the "
                "env's obs settings as model_config['obs_config'] (ppo_config does)"
            )
        self.network = network
        self.value_head = torch.nn.Linear(network.backbone.output_size, 1)
        self.action_dist_cls = TorchMultiCategorical.get_partial_dist_cls(space=self.action_space, input_lens=nvec)
        self._state_size = len(network.backbone.initial_state(1, "cpu"))

    def is_stateful(self) -> bool:
        return self._state_size > 0

    def get_initial_state(self) -> dict[str, np.ndarray]:
        state = self.network.backbone.initial_state(1, "cpu")
        return {f"s{i}": s[0].numpy() for i, s in enumerate(state)}

    def _latent(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        obs = batch[Columns.OBS].float()
        if not self._state_size:  # [B, F] -> [B, 1, F] and back
            latent, _ = self.network(obs.reshape(obs.shape[0], 1, -1))
            return latent[:, 0], {}
        state_in = batch[Columns.STATE_IN]
        state = tuple(state_in[f"s{i}"] for i in range(self._state_size))
        latent, state = self.network(obs, state)  # [B, T, F]: RLlib adds the time rank for stateful modules
        return latent, {f"s{i}": s for i, s in enumerate(state)}

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        latent, state = self._latent(batch)
        out = {Columns.ACTION_DIST_INPUTS: self.network.head.logits(latent)}
        if state:
            out[Columns.STATE_OUT] = state
        return out

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        latent, state = self._latent(batch)
        out = {Columns.ACTION_DIST_INPUTS: self.network.head.logits(latent), Columns.EMBEDDINGS: latent}
        if state:
            out[Columns.STATE_OUT] = state
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        if embeddings is None:
            embeddings, _ = self._latent(batch)
        return self.value_head(embeddings).squeeze(-1)


def module_spec(
    backbone: str = "mlp",
    backbone_config: dict[str, Any] | None = None,
    obs: ObsConfig | dict | None = None,
    init_from: str | Path | None = None,
    seq_len: int = 20,
) -> Any:
    """An ``RLModuleSpec`` of :class:`MeleeRLModule` (``init_from``: a project checkpoint;
    ``seq_len``: frames per training sequence of a stateful backbone)."""
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    model: dict[str, Any] = {"backbone": backbone, "backbone_config": dict(backbone_config or {})}
    if obs is not None:
        model["obs_config"] = asdict(obs) if isinstance(obs, ObsConfig) else dict(obs)
    if init_from is not None:
        spec = read_spec(checkpoint_file(init_from))
        model = {"checkpoint": str(checkpoint_file(init_from)), "obs_config": spec["obs_config"]}
    model["max_seq_len"] = seq_len
    return RLModuleSpec(module_class=MeleeRLModule, model_config=model)


def ppo_config(
    env: str = SINGLE_ENV,
    env_config: dict[str, Any] | None = None,
    *,
    backbone: str = "mlp",
    backbone_config: dict[str, Any] | None = None,
    obs: ObsConfig | dict | None = None,
    init_from: str | Path | None = None,
    seq_len: int = 20,
    self_play: bool = True,
    num_env_runners: int = 1,
    envs_per_runner: int = 1,
    rollout: int = 256,
    train_batch: int = 1024,
    minibatch: int = 256,
    epochs: int = 4,
    lr: float = 3e-4,
    seed: int | None = 0,
) -> Any:
    """A ``PPOConfig`` on RLlib's current API stack for ``"Melee-v0"`` or ``"melee_v0"``.

    Args:
        env_config: the env's arguments (``characters``, ``stage``, ``opponent``, ``frame_skip``,
            ...); ``obs`` goes in it too, so the env and the module agree.
        backbone, backbone_config: the network (any of the project's backbones).
        obs: the observation layout (default: the env's one-hot layout; ``ObsConfig.learned()``
            is the compact one with embeddings); with ``init_from`` the checkpoint's layout.
        init_from: a project checkpoint (BC, ``save_module``, an SB3-converted network) to start
            from; the value head starts fresh.
        seq_len: frames per training sequence for a backbone with state (RLlib's max_seq_len).
        self_play: ``melee_v0`` only: one policy (``"main"``) plays and learns both ports; else
            one policy per port (``"port_1"``, ``"port_2"``).
        num_env_runners: env-runner processes (Ray actors), ``envs_per_runner`` envs each.
        rollout, train_batch, minibatch, epochs, lr: PPO's sampling and update settings.
    """
    from ray.rllib.algorithms.ppo import PPOConfig

    if env not in (SINGLE_ENV, MULTI_ENV):
        raise ValueError(f"env must be {SINGLE_ENV!r} or {MULTI_ENV!r}; got {env!r}")
    register_envs()
    env_config = dict(env_config or {})
    if init_from is not None:
        obs = read_spec(checkpoint_file(init_from))["obs_config"]
    if obs is not None:
        env_config["obs"] = asdict(obs) if isinstance(obs, ObsConfig) else dict(obs)
    elif "obs" in env_config:
        obs = env_config["obs"]
    spec = module_spec(backbone, backbone_config, obs, init_from, seq_len)
    config = (
        PPOConfig()
        .environment(env, env_config=env_config)
        .env_runners(
            num_env_runners=num_env_runners, num_envs_per_env_runner=envs_per_runner,
            rollout_fragment_length=rollout,
        )
        .training(train_batch_size_per_learner=train_batch, minibatch_size=minibatch, num_epochs=epochs, lr=lr)
        .debugging(seed=seed)
    )  # fmt: skip
    if env == SINGLE_ENV:
        return config.rl_module(rl_module_spec=spec)
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

    if self_play:
        policies, mapping = {"main"}, _self_play_mapping
    else:
        policies, mapping = set(PORTS), _port_mapping
    return config.multi_agent(policies=policies, policy_mapping_fn=mapping).rl_module(
        rl_module_spec=MultiRLModuleSpec(rl_module_specs={name: spec for name in policies})
    )


def _self_play_mapping(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    return "main"


def _port_mapping(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    return agent_id


def save_module(module: MeleeRLModule, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the module's network (not its value head) as a project checkpoint, atomically."""
    return save_checkpoint(module.network, path, {"source": "rllib", **(extra or {})})


def module_from_rllib_checkpoint(path: str | Path, module_id: str = "default_policy") -> MeleeRLModule:
    """The :class:`MeleeRLModule` ``module_id`` from an ``Algorithm.save()`` folder (``"main"`` or
    a port for ``melee_v0``; ``"default_policy"`` for ``Melee-v0``)."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    root = Path(path)
    folder = root / "learner_group" / "learner" / "rl_module" / module_id
    if not folder.is_dir():
        found = sorted(p.name for p in (root / "learner_group" / "learner" / "rl_module").glob("*") if p.is_dir())
        raise FileNotFoundError(f"{root}: no RLlib module {module_id!r} in this checkpoint (it has {found or 'none'})")
    module = RLModule.from_checkpoint(folder)
    if not isinstance(module, MeleeRLModule):
        raise TypeError(f"{folder}: a {type(module).__name__}, not a MeleeRLModule")
    return module
