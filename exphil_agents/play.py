"""``exphil play``: a trained agent on Slippi Dolphin, against the game's CPU or a human.

Loads a checkpoint (a ``PolicyNetwork`` ``.safetensors`` from behavioural cloning, or a PPO /
RecurrentPPO ``.zip`` with this package's policies), sets up the match through the menus, and
plays player 0 frame by frame, in real time (``async``: the emulator never waits; late frames
are counted) or lock-step (``sync``). Prints frames per second and late frames for every game.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from melee_envs.obs import ObsConfig


@dataclass(frozen=True)
class PlayConfig:
    """Play a trained agent on Slippi Dolphin against the game's CPU or a human."""

    checkpoint: Path
    """a BC checkpoint folder or its model.safetensors, or an SB3 .zip (PPO / RecurrentPPO with our
    policies)."""
    opponent: Literal["cpu", "human"] = "cpu"
    cpu_level: int = 9
    character: str = "FOX"
    opponent_character: str = "FOX"
    stage: str = "FINAL_DESTINATION"
    ports: tuple[int, int] = (1, 2)
    """the agent's port, then the opponent's."""
    dolphin_path: str | None = None
    """Slippi Dolphin executable (default $EXPHIL_DOLPHIN_PATH)."""
    iso_path: str | None = None
    """Melee 1.02 image (default $EXPHIL_ISO_PATH)."""
    mode: Literal["async", "sync"] = "async"
    """async: real time, the emulator never waits; sync: lock-step (Dolphin waits for inputs)."""
    delay: int = 0
    """frames between the agent's decision and its input reaching the game."""
    games: int = 1
    headless: bool = False
    slippi_port: int = 51441
    deterministic: bool = False
    allow_pickle: bool = False
    """Load an SB3 .zip whose pickled settings cannot be rebuilt safely, by unpickling them (runs
    code from the file: only for files from a source you trust)."""


def load_agent(
    path: Path, delay: int = 0, deterministic: bool = False, allow_pickle: bool = False
) -> tuple[Any, ObsConfig]:
    """An :class:`~exphil_agents.agent.Agent` and the ``ObsConfig`` it was trained with (an SB3
    ``.zip`` is read without unpickling unless ``allow_pickle``; see :mod:`exphil_agents.sb3_files`).

    Raises:
        FileNotFoundError: no such checkpoint. ValueError: not a checkpoint this package reads.
    """
    from exphil_agents.agent import Agent

    path = Path(path)
    if path.is_dir():  # a BC checkpoint folder (CHECKPOINTS/NAME/best)
        from exphil_agents.network import checkpoint_file

        path = checkpoint_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    if path.suffix == ".safetensors":
        from exphil_agents.network import load_checkpoint

        network = load_checkpoint(path)
        return Agent.from_network(network, delay=delay, deterministic=deterministic), network.encoder.obs_config
    if path.suffix == ".zip":
        import json
        import zipfile

        from sb3_contrib import RecurrentPPO
        from stable_baselines3 import PPO

        from exphil_agents.sb3_files import load_sb3

        try:
            with zipfile.ZipFile(path) as archive:
                kwargs = json.loads(archive.read("data")).get("policy_kwargs") or {}
        except (zipfile.BadZipFile, KeyError, ValueError):
            raise ValueError(f"{path}: not a stable-baselines3 model archive") from None
        if not isinstance(kwargs, dict) or not ({"cell", "backbone"} & set(kwargs)):
            raise ValueError(
                f"{path}: not a model with this package's policies (BackbonePolicy / RecurrentBackbonePolicy)"
            )
        recurrent = "cell" in kwargs
        model = load_sb3(RecurrentPPO if recurrent else PPO, path, device="cpu", allow_pickle=allow_pickle)
        obs = getattr(model.policy, "obs_config", None)
        agent = Agent.from_sb3(model, delay=delay, deterministic=deterministic)
        return agent, ObsConfig.from_dict(obs) if obs else ObsConfig()
    raise ValueError(f"{path}: expected a .safetensors (PolicyNetwork) or .zip (SB3) checkpoint")


def main(config: PlayConfig) -> list[Any]:
    from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig
    from melee_envs.backends.dolphin.runners import agent_policy, run_async, run_sync

    if not Path(config.checkpoint).exists():
        raise FileNotFoundError(f"{config.checkpoint}: no such checkpoint")
    dolphin = DolphinConfig(
        dolphin_path=config.dolphin_path,
        iso_path=config.iso_path,
        slippi_port=config.slippi_port,
        ports=config.ports,
        controls=("bot", config.opponent),
        characters=(config.character, config.opponent_character),
        cpu_levels=(9, config.cpu_level),
        stage=config.stage,
        headless=config.headless,
        blocking_input=config.mode == "sync",
    ).resolved()  # paths and names checked before anything loads (--dolphin-path / --iso-path)
    agent, obs_config = load_agent(config.checkpoint, config.delay, config.deterministic, config.allow_pickle)
    agent.warmup()
    backend = DolphinBackend(dolphin)
    policy = agent_policy(agent, 0, obs_config)
    results = []
    try:
        for game in range(config.games):
            agent.reset()
            stats = (run_async if config.mode == "async" else run_sync)(backend, policy)
            print(f"game {game + 1}: {stats.summary()}")
            results.append(stats)
    finally:
        backend.close()
    return results


__all__ = ["PlayConfig", "load_agent", "main"]
