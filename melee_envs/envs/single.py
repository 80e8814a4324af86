"""Gymnasium ``Env``: port 1 is the agent, port 2 an opponent (idle, random, scripted or yours)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from melee_envs.controller import ACTION_SIZE, DISCRETE_ACTION_NAMES, discrete_table
from melee_envs.envs.game import (
    INFO_KEY,
    Game,
    GameConfig,
    check_action_mode,
    delay_argument,
    frame_skip_argument,
    legal_actions,
)
from melee_envs.opponents import make_opponent

#: The env's own arguments (named, with GameConfig's fields, in the error for an unknown one).
SINGLE_ARGUMENTS = ("opponent", "action_mode", "render_mode", "frame_skip", "frameskip", "delay", "record_replays")


class MeleeEnv(gym.Env):
    """Super Smash Bros. Melee 1v1 against a built-in or user-supplied opponent (``Melee-v0``).

    ## Description
    The agent controls port 1 in the mock engine, a Numba re-creation of Melee's movement and
    combat from real game data (libmelee's character, frame and stage data; FightCore move data):
    real characters, stages and action-state ids, real units. Port 2 is the opponent.

    ## Action Space
    ``MultiDiscrete([2, 2, 2, 2, 2, 2, 2, 2, 17, 17, 17, 17, 5])``: buttons A B X Y Z L R D-up,
    main stick x/y, c-stick x/y (bucket i is the stick value i/16; 8 is neutral) and the shoulder
    (0, .25, .5, .75, 1). With ``action_mode="discrete"``: ``Discrete(28)``, the common inputs in
    :data:`melee_envs.controller.DISCRETE_ACTIONS` (noop, walk, dash, jump, tilts, smashes,
    specials, shield, grab, rolls, spot dodge).

    ## Observation Space
    A finite ``Box((1035,), float32)`` by default: for the agent then the opponent, percent,
    facing, position, action state (399 one-hot), character (33 one-hot), invulnerability, jumps,
    shield, grounded, five speeds, hitstun and action frame, stocks, ledge distance and Ice
    Climbers' Nana (39); stage (7 one-hot); distance, relative position and game frame;
    5 projectile slots (7 each); the agent's controller (ACTION_SIZE). ``obs_config`` changes it
    (``ObsConfig.seed_1204()`` gives the 1204-wide layout); ``env.unwrapped.layout`` names slices.
    Bounds come from the game's limits (one-hots in [0, 1], positions within the blast zones,
    percent up to 999%, ...; see :mod:`melee_envs.obs`) and every observation lies inside them.

    ## Rewards
    ``stock_weight`` x (opponent stocks lost - own stocks lost) + ``damage_weight`` x (damage dealt
    - damage taken) + ``win_weight`` x (+1 win / -1 loss at the end). Defaults: 1, 0.01, 0.

    ## Starting State
    Both characters standing on the stage at +/-45% of its half-width, facing each other, with
    ``stocks`` stocks and 0%: Melee's fixed start. ``start_spread`` moves each spawn by up to that
    fraction of the half-width and ``start_percent`` starts each player at a percent drawn from
    [0, start_percent]; ``stage="random"`` draws one of the six legal stages per game.

    Seeds: ``reset(seed=s)`` fixes everything random in the episodes that follow: the stage draw,
    the randomised start, the ``"random"`` and ``"scripted:LEVEL"`` opponents' choices, and the
    seeds of later resets. With the fixed start on one stage, the engine itself is deterministic:
    a seed changes nothing but the opponent's draws, so seeded evaluation over many episodes
    should set ``start_spread``/``start_percent`` (or ``stage="random"``).

    ## Episode End
    Terminated when either player loses its last stock or the game timer (``time_limit_minutes``,
    default 8) runs out. Truncated by the registered ``max_episode_steps`` (28800 = 8 minutes of
    frames). At the end ``info["melee"]`` holds ``won``, ``draw``, ``stocks``,
    ``opponent_stocks``, ``stocks_taken``, ``stocks_lost``, ``damage_dealt``, ``damage_taken``,
    ``frames`` (``info["episode"]`` is left to ``RecordEpisodeStatistics``).

    ## Arguments
    * ``opponent``: ``"scripted"`` (default), ``"idle"``, ``"random"``, or a callable
      ``(GameState, player_index) -> actions[..., ACTION_SIZE]``.
    * ``characters`` (default ``("FOX", "FOX")``), ``stage`` (``"FINAL_DESTINATION"``; aliases such
      as ``"bf"``, ``"ps"``, ``"random"``), ``stocks`` (4), ``time_limit_minutes`` (8).
    * ``obs`` (an :class:`~melee_envs.obs.ObsConfig` or dict), ``reward`` (a
      :class:`~melee_envs.rewards.RewardConfig` or dict).
    * ``action_mode``: ``"multi_discrete"`` (default) or ``"discrete"``.
    * ``frame_skip`` (or ``frameskip``): frames each step's inputs (the agent's and the
      opponent's) are held for, rewards summed over them (default 1; as the vector env's
      ``frame_skip``); ``metadata["render_fps"]`` is 60 / ``frame_skip``.
    * ``delay``: the agent's inputs reach the game ``delay`` steps late (online play; no input in
      a game's first ``delay`` steps); the opponent's are not delayed.
    * ``start_spread``, ``start_percent``: randomised starts (above).
    * ``record_replays``: a folder; every finished game is written there as a Slippi replay
      (``.slp``, read by Slippi's replay player, peppi and slippi-js; see ``docs/replays.md``).
    * ``render_mode``: ``"ansi"`` (text), ``"rgb_array"`` (an image of the frame, see
      :mod:`melee_envs.render`; works with ``gymnasium.wrappers.RecordVideo``), ``"human"`` (a
      pygame window; a clear error where there is no display) or None.
    * ``backend``: ``"mock"`` (default) or ``"dolphin"`` (Slippi Dolphin through libmelee, with
      ``dolphin={...}`` :class:`~melee_envs.backends.dolphin.DolphinConfig` fields; see
      ``docs/dolphin.md``). On Dolphin the opponent's actions only reach the game when its port is
      a ``bot`` port.

    ## Version History
    * v0: initial release; since 0.2, finite observation bounds, statistics in ``info["melee"]``,
      ``delay``, ``frameskip``, randomised starts.
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 60}

    def __init__(
        self,
        opponent: Any = "scripted",
        action_mode: str = "multi_discrete",
        render_mode: str | None = None,
        frame_skip: int = 1,
        delay: int = 0,
        record_replays: Any = None,
        **kwargs: Any,
    ) -> None:
        check_action_mode(action_mode)
        self.frame_skip = frame_skip_argument(frame_skip, kwargs)
        self.delay = delay_argument(delay)
        self.config = GameConfig.from_kwargs(SINGLE_ARGUMENTS, **kwargs)
        names = ("agent", opponent if isinstance(opponent, str) else "opponent")
        self.game = Game(self.config, render_mode, observers=(0,), frame_skip=self.frame_skip, delay=self.delay,
                         delayed=(0,), record_replays=record_replays, names=names)  # fmt: skip
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "render_fps": 60 / self.frame_skip}
        self.opponent = make_opponent(opponent, self.game.codec)
        self._user_opponent = not isinstance(opponent, str)
        self.observation_space = self.game.encoder.observation_space()
        self.action_mode = action_mode
        if action_mode == "discrete":
            self._table = discrete_table(self.game.codec)
            self.action_space = spaces.Discrete(len(DISCRETE_ACTION_NAMES))
        else:
            self.action_space = self.game.codec.action_space()
        self._joint = self.game.actions[0].copy()

    @property
    def layout(self) -> dict[str, slice]:
        """Names of the observation's slices."""
        return self.game.encoder.layout

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31))
        self.game.reset(seed)
        if hasattr(self.opponent, "seed"):
            self.opponent.seed(seed)
        return self.game.obs[0].copy(), {}

    def _agent_action(self, action: Any) -> np.ndarray:
        if self.action_mode == "discrete":
            a = int(action)
            if not 0 <= a < len(self._table):
                raise ValueError(f"action {action} is outside Discrete({len(self._table)})")
            return self._table[a]
        return self.game.codec.check_one(action)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        game = self.game
        self._joint[0] = self._agent_action(action)
        opp = np.asarray(self.opponent(game.state, 1)).reshape(-1, ACTION_SIZE)[0]
        self._joint[1] = game.codec.check(opp) if self._user_opponent else opp
        done = game.play(self._joint)
        info = {INFO_KEY: game.episode_stats(0)} if done else {}
        return game.obs[0].copy(), float(game.step_reward[0]), done, False, info

    def action_masks(self) -> np.ndarray:
        """All True: see :func:`~melee_envs.envs.game.legal_actions` (sb3-contrib's MaskablePPO)."""
        return legal_actions(self.action_space)

    def render(self) -> str | np.ndarray | None:
        return self.game.render()

    def close(self) -> None:
        self.game.close()
