"""The self-play vector env: the learner plays port 1 of every game, port 2 is an opponent drawn
per episode (a past snapshot, the learner itself, or a bot), with one batched forward pass per
opponent per step for all the games it plays.

Built on :class:`~melee_envs.envs.vector.MeleeVectorEnv` in ``self_play`` mode with
``mirror=True``: the compiled kernel already writes port 2's own (mirrored) view, so a network
opponent reads its rows directly and sees the game as the learner does from port 1. Bots act in
world coordinates; their stick x is flipped here so that the kernel's flip restores it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from exphil_agents.actors import ENV_CODEC, ActorError, BotActor, NetActor
from melee_envs.controller import ACTION_SIZE
from melee_envs.envs.sb3 import MeleeSB3VecEnv, ended_row_info
from melee_envs.envs.vector import MeleeVectorEnv

#: Opponent draws per game start before giving up (each unloadable one is retired first).
MAX_DRAWS = 16


class LeagueVecEnv(MeleeSB3VecEnv):
    """An SB3 ``VecEnv`` of ``num_games`` rows (the learner's port-1 view of each game).

    Args:
        num_games: games played at once.
        sample_opponent: ``(game_index) -> opponent id``, called when a game starts.
        resolve: ``(opponent id) -> player`` (a :class:`BotActor` or a stateless
            :class:`NetActor`); results are cached (up to ``cache_size`` networks beyond those
            in play are kept).
        on_unusable: ``(opponent id, error)``, called when a drawn opponent cannot be loaded
            (a :class:`ActorError`); another is drawn. Without it the error stops the env.
        env_kwargs: :class:`MeleeVectorEnv` arguments (characters, stage, stocks, obs, ...).

    ``infos[i]`` of a finished game holds ``terminal_observation``, ``melee`` (the game's
    statistics: ``won``, ``draw``, ``frames``, ``stocks``, ``opponent_stocks``, ``stocks_taken``,
    ``stocks_lost``, ``damage_dealt``, ``damage_taken``) and ``league_opponent`` (the id it played).
    """

    def __init__(
        self,
        num_games: int,
        sample_opponent: Callable[[int], str],
        resolve: Callable[[str], BotActor | NetActor],
        seed: int | None = None,
        cache_size: int = 32,
        on_unusable: Callable[[str, Exception], None] | None = None,
        **env_kwargs: Any,
    ) -> None:
        env = MeleeVectorEnv(
            2 * num_games,
            mode="self_play",
            mirror=True,
            copy=False,
            seed=seed,
            autoreset_mode="same_step",
            **env_kwargs,
        )
        super().__init__(env, num_envs=num_games)
        self.sample_opponent, self._resolve, self._on_unusable = sample_opponent, resolve, on_unusable
        self.opponents: list[str] = [""] * num_games
        self._players: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._joint = np.zeros((2 * num_games, ACTION_SIZE), np.int64)
        self._seed = seed

    @property
    def _opp_obs(self) -> np.ndarray:
        """Port 2's rows of the env's own buffer (copy=False: rewritten in place each step), read
        fresh each time so that a pickled or deep-copied env reads its own buffer."""
        return self.env._obs[1::2]

    def player(self, opponent: str) -> Any:
        if opponent in self._players:
            self._players.move_to_end(opponent)
            return self._players[opponent]
        player = self._resolve(opponent)
        if isinstance(player, NetActor) and not player.stateless:
            raise ValueError(f"opponent {opponent!r}: self-play opponents must be feed-forward (window 1)")
        self._players[opponent] = player
        # Least recently used networks go first, never one that a game is playing now.
        in_play = set(self.opponents)
        idle = [k for k, p in self._players.items() if isinstance(p, NetActor) and k not in in_play | {opponent}]
        excess = sum(isinstance(p, NetActor) for p in self._players.values()) - self._cache_size
        for key in idle[: max(excess, 0)]:
            self._players.pop(key)
        return player

    def forget(self, opponent: str) -> None:
        """Drop a cached player (its weights changed, e.g. a learner reset)."""
        self._players.pop(opponent, None)

    # -- VecEnv ---------------------------------------------------------------------------------

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        for b in range(self.num_envs):
            self.opponents[b] = self._draw(b)
        return obs[0::2].copy()

    def _draw(self, game: int) -> str:
        """Game ``game``'s next opponent, loaded now (a bad one fails here, not mid-rollout); one
        that cannot be loaded is reported to ``on_unusable`` and another drawn."""
        for _ in range(MAX_DRAWS):
            opponent = self.sample_opponent(game)
            try:
                self.player(opponent)
            except ActorError as exc:
                if self._on_unusable is None:
                    raise
                self._on_unusable(opponent, exc)
                continue
            return opponent
        raise RuntimeError(f"no loadable opponent in {MAX_DRAWS} draws for game {game}")

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        self._joint[0::2] = np.asarray(self._actions, np.int64).reshape(self.num_envs, ACTION_SIZE)
        self._actions = None
        self._joint[1::2] = self._opponent_actions()
        obs, rewards, terminated, truncated, info = self.env.step(self._joint)
        dones = (terminated | truncated)[0::2]
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        if info:
            for b in np.flatnonzero(dones):
                row = 2 * b
                infos[b] = ended_row_info(info, row, bool(truncated[row] and not terminated[row]))
                infos[b]["terminal_observation"] = infos[b]["terminal_observation"].copy()
                infos[b]["league_opponent"] = self.opponents[b]
                self.opponents[b] = self._draw(int(b))
        return obs[0::2].copy(), rewards[0::2].copy(), dones.copy(), infos

    def _opponent_actions(self) -> np.ndarray:
        out = np.empty((self.num_envs, ACTION_SIZE), np.int64)
        groups: dict[str, list[int]] = {}
        for b, opp in enumerate(self.opponents):
            groups.setdefault(opp, []).append(b)
        for opp, games in groups.items():
            idx = np.asarray(games)
            player = self.player(opp)
            if isinstance(player, NetActor):
                out[idx] = player.act_obs(self._opp_obs[idx])
            else:
                out[idx] = ENV_CODEC.mirror(player.act(self.env.backend, 1)[idx])
        return out
