"""``exphil play``: a trained agent on Slippi Dolphin, against the game's CPU or a human.

Loads anything :func:`~exphil_agents.actors.load_actor` reads (a BC checkpoint, a PPO /
RecurrentPPO ``.zip``, a league snapshot, or a built-in bot), sets up the match through the menus, and
plays player 0 frame by frame, in real time (``async``: the emulator never waits; late frames
are counted) or lock-step (``sync``). Prints frames per second and late frames for every game.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class PlayConfig:
    """Play a trained agent on Slippi Dolphin against the game's CPU or a human."""

    checkpoint: Path
    """a BC checkpoint folder or its model.safetensors, an SB3 .zip (PPO / RecurrentPPO), a league
    snapshot folder, a bot name (scripted, scripted:LEVEL, ...) or champion (the shipped agent)."""
    opponent: Literal["cpu", "human"] = "cpu"
    cpu_level: int = 9
    game: GameSettings = field(default_factory=GameSettings)
    """characters and stage (--game.character, --game.stage, ...); stocks and timer are the game's own."""
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
    compile: bool = True
    """compile a network's per-frame step with torch.compile before the game (about half the
    time per frame; a few seconds once; the agent plays eager, with the reason printed, where
    it cannot compile)."""
    allow_pickle: bool = False
    """Load an SB3 .zip whose pickled settings cannot be rebuilt safely, by unpickling them (runs
    code from the file: only for files from a source you trust)."""


def main(config: PlayConfig) -> list[Any]:
    from exphil_agents.actors import CpuActor, NetActor, load_actor
    from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig
    from melee_envs.backends.dolphin.runners import run_async, run_sync
    from melee_envs.opponents import is_bot

    spec = str(config.checkpoint)
    if not (is_bot(spec) or spec.startswith("cpu:") or Path(spec).exists()):
        raise FileNotFoundError(f"{spec}: no such checkpoint")
    dolphin = DolphinConfig(
        dolphin_path=config.dolphin_path,
        iso_path=config.iso_path,
        slippi_port=config.slippi_port,
        ports=config.ports,
        controls=("bot", config.opponent),
        characters=config.game.characters,
        cpu_levels=(9, config.cpu_level),
        stage=config.game.stage,
        headless=config.headless,
        blocking_input=config.mode == "sync",
    ).resolved()  # paths and names checked before anything loads (--dolphin-path / --iso-path)
    actor = load_actor(
        config.checkpoint, config.deterministic, allow_pickle=config.allow_pickle, delay=config.delay,
        env_controller=False,
    )  # fmt: skip
    if isinstance(actor, CpuActor):
        raise ValueError(f"{config.checkpoint}: the game's CPU plays through --opponent cpu, not as the agent")
    if config.compile and isinstance(actor, NetActor):
        why = actor.compile()
        print(f"{actor.name}: " + ("compiled its per-frame step" if why is None else f"plays eager ({why})"))
    backend = DolphinBackend(dolphin, codec=getattr(actor, "codec", None))  # the network's own stick buckets
    policy = actor_policy(actor, backend.codec)
    results = []
    try:
        for game in range(config.games):
            actor.reset(1)
            stats = (run_async if config.mode == "async" else run_sync)(backend, policy)
            print(f"game {game + 1}: {stats.summary()}")
            results.append(stats)
    finally:
        backend.close()
    return results


def actor_policy(actor: Any, codec: Any) -> Any:
    """A Dolphin runner's policy (``GameState -> actions (2, ACTION_SIZE)``) that plays player 0
    with ``actor`` (the other port's row is neutral and ignored). The first call allocates, so
    it is made once here on a blank state."""
    import numpy as np

    from melee_envs.state import PackedState

    noop = np.stack([codec.noop()] * 2)

    def policy(state: Any) -> np.ndarray:
        view = SimpleNamespace(state=state, packed=PackedState.from_state(state))
        actions = noop.copy()
        actions[0] = actor.act(view, 0)[0]
        return actions

    policy(PackedState((1,), 2).view())
    actor.reset(1)
    return policy


__all__ = ["PlayConfig", "actor_policy", "main"]
