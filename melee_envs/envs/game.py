"""One game behind both env APIs: backend, encoder, rewards and episode statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.configs import check_fields
from melee_envs.controller import ACTION_SIZE, ControllerCodec
from melee_envs.data.actions import name_of
from melee_envs.data.characters import get as get_character
from melee_envs.data.stages import get as get_stage
from melee_envs.obs import ObsConfig, ObservationEncoder
from melee_envs.rewards import RewardConfig
from melee_envs.scoring import NUM_STATS, episode_info, score_step

#: The info key of a game's statistics (``info["episode"]`` belongs to Gymnasium's and SB3's
#: episode-statistics wrappers).
INFO_KEY = "melee"
ACTION_MODES = ("multi_discrete", "discrete")


def check_action_mode(action_mode: str) -> None:
    if action_mode not in ACTION_MODES:
        raise ValueError(f"action_mode={action_mode!r}; choose one of {ACTION_MODES}")


def frame_skip_argument(frame_skip: int, kwargs: dict[str, Any]) -> int:
    """``frame_skip``, also spelt ``frameskip`` (Gymnasium/ALE; removed from ``kwargs``), checked."""
    if "frameskip" in kwargs:
        alias = kwargs.pop("frameskip")
        if frame_skip not in (1, alias):
            raise TypeError(f"frame_skip={frame_skip!r} and frameskip={alias!r} disagree; give one of them")
        frame_skip = alias
    if isinstance(frame_skip, bool) or not isinstance(frame_skip, (int, np.integer)) or frame_skip < 1:
        raise ValueError(f"frame_skip must be an integer >= 1; got {frame_skip!r}")
    return int(frame_skip)


def legal_actions(space: Any) -> np.ndarray:
    """All-True action mask (every input is legal in every state) in the layout sb3-contrib's
    ``MaskablePPO`` expects: ``sum(nvec)`` for MultiDiscrete, ``n`` for Discrete."""
    width = int(space.n) if hasattr(space, "n") else int(np.sum(space.nvec))
    return np.ones(width, np.bool_)


def delay_argument(delay: int) -> int:
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be an integer >= 0; got {delay!r}")
    return int(delay)


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
        start_spread: randomised starts (mock engine): each spawn x moves by up to this fraction
            of the stage's half-width either way (0, the default, is Melee's fixed start).
        start_percent: randomised starts (mock engine): each player starts with a whole percent
            drawn from [0, start_percent].
        stale_moves: stale-move negation (mock engine; on by default, as in Melee; Dolphin plays
            the game's own).
    """

    characters: tuple[str, str] = ("FOX", "FOX")
    stage: str = "FINAL_DESTINATION"
    stocks: int = 4
    time_limit_minutes: float = 8.0
    obs: ObsConfig = field(default_factory=ObsConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    backend: str = "mock"
    dolphin: Any = None
    start_spread: float = 0.0
    start_percent: float = 0.0
    stale_moves: bool = True

    @classmethod
    def from_kwargs(cls, env_arguments: tuple[str, ...] = (), **kwargs: Any) -> GameConfig:
        """Build from keyword arguments, naming any unknown one and every valid one (these fields
        and the env's own ``env_arguments``); dicts for ``obs``/``reward`` ok."""
        check_fields(cls, kwargs, "argument", TypeError, also_valid=env_arguments)
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
        if config.backend == "mock":
            config.mock_config()  # checks the game settings now, naming the bad one
        elif config.start_spread or config.start_percent:
            raise ValueError("start_spread/start_percent randomise mock games; Dolphin starts as the game does")
        elif not config.stale_moves:
            raise ValueError("stale_moves=False is a mock-engine setting; Dolphin always stales moves")
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
            characters=self.characters,
            stage=self.stage,
            stocks=self.stocks,
            time_limit_minutes=self.time_limit_minutes,
            start_spread=self.start_spread,
            start_percent=self.start_percent,
            stale_moves=self.stale_moves,
        )


RENDER_MODES = (None, "ansi", "rgb_array", "human")


class Game:
    """A single game with observations for both players and per-player rewards.

    ``frame_skip`` and ``delay`` (see :meth:`play`) mean the same in every env built on it and in
    the vector env: inputs held for ``frame_skip`` frames, rewards summed; the ``delayed`` ports'
    inputs reach the game ``delay`` steps late, no input in a game's first ``delay`` steps.
    """

    def __init__(
        self,
        config: GameConfig,
        render_mode: str | None = None,
        observers: tuple[int, ...] = (0, 1),
        codec: ControllerCodec | None = None,
        frame_skip: int = 1,
        delay: int = 0,
        delayed: tuple[int, ...] = (0, 1),
        record_replays: Any = None,
        names: tuple[str, str] = ("port_1", "port_2"),
    ) -> None:
        if render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode={render_mode!r}; supported: {', '.join(map(repr, RENDER_MODES))}")
        self.render_mode = render_mode
        self.frame_skip = frame_skip
        self.delay = delay
        self._delayed = list(delayed)
        self.config = config
        self.codec = codec or ControllerCodec()
        self.backend = config.make_backend(self.codec)
        self.encoder = ObservationEncoder(config.obs)
        self.obs = self.encoder.allocate(2)
        self.actions = np.broadcast_to(self.codec.noop(), (1, 2, ACTION_SIZE)).copy()
        self._observers = observers
        self._prev_stocks = np.zeros((1, 2), np.int32)
        self._prev_percent = np.zeros((1, 2), np.float32)
        self._stats = np.zeros((1, 2, NUM_STATS), np.float32)  # see melee_envs.scoring
        self._weights = config.reward.weights
        self.reward = np.zeros(2, np.float32)
        self.step_reward = np.zeros(2, np.float32)  # summed over a play() call's frames
        self._ring = np.broadcast_to(self.codec.noop(), (delay + 1, len(self._delayed), ACTION_SIZE)).copy()
        self._slot = 0
        self._window: Any = None
        self.recorder: Any = None
        if record_replays is not None:  # every finished game as a Slippi replay in this folder
            from melee_envs.backends.replay.writer import ReplayRecorder

            self.recorder = ReplayRecorder(record_replays, names)

    @property
    def state(self) -> Any:
        return self.backend.state

    def _encode(self) -> None:
        packed = self.backend.packed
        for ego in self._observers:
            self.encoder.encode_packed(packed, ego, self.obs[ego : ego + 1])

    def reset(self, seed: int | None) -> None:
        state = self.backend.reset(seed)
        self._prev_stocks[0] = state.players.stocks[0]
        self._prev_percent[0] = state.players.percent[0]
        self._stats[:] = 0
        self._ring[:] = self.codec.noop()
        self._slot = 0
        self._encode()
        if self.recorder is not None:
            self.recorder.start(self.backend.packed, seed)

    def play(self, actions: np.ndarray) -> bool:
        """One env step: ``actions`` (2, ACTION_SIZE), checked, held for ``frame_skip`` frames, the delayed
        ports' taken from ``delay`` steps ago; rewards summed in ``step_reward``. Returns whether
        the game ended."""
        if self.delay:
            self._ring[self._slot] = actions[self._delayed]
            self._slot = (self._slot + 1) % (self.delay + 1)
            actions = actions.copy()
            actions[self._delayed] = self._ring[self._slot]
        self.actions[0] = actions
        self.step_reward[:] = 0.0
        done = False
        for _ in range(self.frame_skip):
            done = self.step()
            self.step_reward += self.reward
            if done:
                break
        return done

    def step(self) -> bool:
        """Step with ``self.actions``; fills ``obs`` and ``reward``; returns whether the game ended."""
        self.backend.step(self.actions, checked=True)
        b, p = self.backend, self.backend.packed
        score_step(p.pi, p.pf, b.done, b.winner, self._prev_stocks, self._prev_percent, self._stats, self._weights,
                   self.reward)  # fmt: skip
        self._encode()
        if self.recorder is not None:
            self.recorder.add(p)
            if b.done[0]:
                self.recorder.finish(int(b.winner[0]) if b.winner[0] >= 0 else None)
        return bool(b.done[0])

    def episode_stats(self, player: int) -> dict[str, Any]:
        """Per-episode numbers from ``player``'s side (put into ``info`` at the episode's end)."""
        state = self.backend.state
        info = episode_info(
            self.backend.winner[:1], state.frame[:1], state.players.stocks[:1], self._stats, np.array([player])
        )
        return {k: v[0].item() for k, v in info.items()}

    def render(self) -> str | np.ndarray | None:
        """A text frame in ``"ansi"`` mode, an RGB image in ``"rgb_array"`` mode, a window in
        ``"human"`` mode (returns None)."""
        if self.render_mode in ("rgb_array", "human"):
            from melee_envs.render import render_state

            image = render_state(self.backend.state, index=0)
            if self.render_mode == "rgb_array":
                return image
            if self._window is None:
                from melee_envs.render import Window

                self._window = Window(fps=60 / self.frame_skip)
            self._window.show(image)
            return None
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
        if self._window is not None:
            self._window.close()
            self._window = None
        self.backend.close()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_window": None}  # a window belongs to the process that opened it
