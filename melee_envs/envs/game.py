"""One game behind both env APIs: backend, encoder, rewards and episode statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.configs import check_fields
from melee_envs.controller import ControllerCodec
from melee_envs.data.actions import name_of
from melee_envs.data.characters import get as get_character
from melee_envs.data.stages import get as get_stage
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.rewards import RewardConfig, damage_taken, from_changes, stocks_lost


@dataclass(frozen=True)
class GameConfig:
    """Everything that defines a game and what the agents see.

    Args:
        characters: the two players' characters (names, aliases or ids).
        stage: a legal stage, or ``"random"``.
        stocks: stocks per player.
        time_limit_minutes: the game timer.
        obs: observation contents (:class:`~melee_envs.obs.ObsConfig`).
        reward: reward weights (:class:`~melee_envs.rewards.RewardConfig`).
        backend: ``"mock"`` (the fast engine) or ``"dolphin"`` (Slippi Dolphin through libmelee;
            ``stocks`` and ``time_limit_minutes`` then come from the game's own rules menu).
        dolphin: :class:`~melee_envs.backends.dolphin.DolphinConfig` fields for the Dolphin
            backend (paths, ports, who controls each port, CPU levels, headless, speed, ...).
    """

    characters: tuple[str, str] = ("FOX", "FOX")
    stage: str = "FINAL_DESTINATION"
    stocks: int = 4
    time_limit_minutes: float = 8.0
    obs: ObsConfig = field(default_factory=ObsConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    backend: str = "mock"
    dolphin: Any = None

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> GameConfig:
        """Build from keyword arguments, naming any unknown one; dicts for ``obs``/``reward`` ok."""
        check_fields(cls, kwargs, "argument", TypeError)
        if isinstance(kwargs.get("obs"), dict):
            kwargs["obs"] = ObsConfig.from_dict(kwargs["obs"])
        if isinstance(kwargs.get("reward"), dict):
            check_fields(RewardConfig, kwargs["reward"], "reward field", TypeError)
            kwargs["reward"] = RewardConfig(**kwargs["reward"])
        if "characters" in kwargs:
            kwargs["characters"] = tuple(kwargs["characters"])
        config = cls(**kwargs)
        if config.backend not in ("mock", "dolphin"):
            raise ValueError(f"backend={config.backend!r}; choose 'mock' or 'dolphin'")
        if config.dolphin is not None and config.backend != "dolphin":
            raise ValueError("dolphin=... settings given but backend is not 'dolphin'")
        return config

    def make_backend(self, codec: ControllerCodec) -> Any:
        if self.backend == "mock":
            return MockBackend(1, self.mock_config(), codec)
        from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig

        dolphin = self.dolphin or {}
        if isinstance(dolphin, dict):
            check_fields(DolphinConfig, dolphin, "dolphin setting", TypeError)
            dolphin = DolphinConfig(**{"characters": self.characters, "stage": self.stage, **dolphin})
        return DolphinBackend(dolphin, codec)

    def mock_config(self) -> MockConfig:
        return MockConfig(
            characters=self.characters, stage=self.stage, stocks=self.stocks, time_limit_minutes=self.time_limit_minutes
        )


RENDER_MODES = (None, "ansi", "rgb_array")


class Game:
    """A single mock game with observations for both players and per-player rewards."""

    def __init__(
        self,
        config: GameConfig,
        render_mode: str | None = None,
        observers: tuple[int, ...] = (0, 1),
        codec: ControllerCodec | None = None,
    ) -> None:
        if render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode={render_mode!r}; supported: {', '.join(map(repr, RENDER_MODES))}")
        self.render_mode = render_mode
        self.config = config
        self.codec = codec or ControllerCodec()
        self.backend = config.make_backend(self.codec)
        self.encoder = ObservationEncoder(config.obs)
        self.obs = self.encoder.allocate(2)
        self.actions = np.broadcast_to(self.codec.noop(), (1, 2, 13)).copy()
        self._observers = observers
        self._prev_stocks = np.zeros(2, np.int32)
        self._prev_percent = np.zeros(2, np.float32)
        self._stats = np.zeros((2, 2), np.float32)  # [player, (damage taken, stocks lost)]
        self.reward = np.zeros(2, np.float32)

    @property
    def state(self) -> Any:
        return self.backend.state

    def _encode(self) -> None:
        packed = self.backend.packed
        for ego in self._observers:
            self.encoder.encode_packed(packed, ego, self.obs[ego : ego + 1])

    def reset(self, seed: int | None) -> None:
        state = self.backend.reset(seed)
        self._prev_stocks[:] = state.players.stocks[0]
        self._prev_percent[:] = state.players.percent[0]
        self._stats[:] = 0
        self._encode()

    def step(self) -> bool:
        """Step with ``self.actions``; fills ``obs`` and ``reward``; returns whether the game ended."""
        state = self.backend.step(self.actions, checked=True)
        stocks, percent = state.players.stocks[0], state.players.percent[0]
        done = bool(self.backend.done[0])
        damage = damage_taken(self._prev_percent, percent)
        lost = stocks_lost(self._prev_stocks, stocks)
        self.reward[:] = from_changes(lost, damage, self.config.reward, self.backend.done[0], self.backend.winner[0])
        self._stats[:, 0] += damage
        self._stats[:, 1] += lost
        self._prev_stocks[:] = stocks
        self._prev_percent[:] = percent
        self._encode()
        return done

    def episode_stats(self, player: int) -> dict[str, Any]:
        """Per-episode numbers from ``player``'s side (put into ``info`` at the episode's end)."""
        state = self.backend.state
        other = 1 - player
        winner = int(self.backend.winner[0])
        return {
            "frames": int(state.frame[0]),
            "won": winner == player,
            "draw": winner < 0,
            "stocks": int(state.players.stocks[0, player]),
            "opponent_stocks": int(state.players.stocks[0, other]),
            "stocks_taken": int(self._stats[other, 1]),
            "stocks_lost": int(self._stats[player, 1]),
            "damage_dealt": float(self._stats[other, 0]),
            "damage_taken": float(self._stats[player, 0]),
        }

    def render(self) -> str | np.ndarray | None:
        """A text frame in ``"ansi"`` mode, an RGB image in ``"rgb_array"`` mode."""
        if self.render_mode == "rgb_array":
            from melee_envs.render import render_state

            return render_state(self.backend.state, index=0)
        if self.render_mode != "ansi":
            return None
        s = self.backend.state
        p = s.players
        lines = [f"frame {int(s.frame[0])}  stage {get_stage(int(s.stage[0])).name}"]
        for i in range(2):
            lines.append(
                f"  P{i + 1} {get_character(int(p.character[0, i])).label:<12} stocks {int(p.stocks[0, i])} "
                f"{float(p.percent[0, i]):5.1f}%  {name_of(int(p.action[0, i])):<22} "
                f"x={float(p.x[0, i]):7.2f} y={float(p.y[0, i]):7.2f}"
            )
        return "\n".join(lines)

    def close(self) -> None:
        self.backend.close()
