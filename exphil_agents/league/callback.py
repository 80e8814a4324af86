"""The SB3 callback that connects a learner's games to the league: every finished game is
recorded (history, ratings, PFSP win rates) and league metrics go to TensorBoard as ``league/…``."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from exphil_agents.league.state import BOT_PREFIX, SELF_PREFIX


class LeagueCallback(BaseCallback):
    """Record ``learner``'s games in ``league.state``, log ratings and win rates per rollout, and
    with ``snapshot_every`` add a snapshot of the learner (and checkpoint it with the league) each
    time its step count passes a multiple of it, after that rollout's update.

    ``league`` is a :class:`~exphil_agents.league.train.League`; any SB3 training loop can use it::

        league = League(LeagueConfig(dir=Path("runs/league")))
        model = league.load_or_create("main-0")
        model.learn(1_000_000, callback=LeagueCallback(league, "main-0", snapshot_every=50_000))
    """

    def __init__(self, league: Any, learner: str, snapshot_every: int | None = None, window: int = 200) -> None:
        super().__init__()
        self.league, self.learner, self.snapshot_every = league, learner, snapshot_every
        self.recent: deque[float] = deque(maxlen=window)
        self.recent_by_opponent: dict[str, deque[float]] = {}
        self.opponent_counts: dict[str, int] = {}
        self._mark = 0

    def _on_training_start(self) -> None:
        if self.snapshot_every:
            self._mark = self.num_timesteps // self.snapshot_every

    def _maybe_snapshot(self) -> None:
        if self.snapshot_every and self.num_timesteps // self.snapshot_every > self._mark:
            self._mark = self.num_timesteps // self.snapshot_every
            self.league.snapshot(self.learner, self.model)

    def _on_rollout_start(self) -> None:
        self._maybe_snapshot()  # the previous rollout's update is done

    def _on_training_end(self) -> None:
        self._maybe_snapshot()

    def _on_step(self) -> bool:
        state = self.league.state
        recorded = False
        for info in self.locals["infos"]:
            opponent = info.get("league_opponent")
            if opponent is None:
                continue
            result = info["melee"]
            score = 0.5 if result["draw"] else float(result["won"])
            # Games against a live learner are rated as games against that learner.
            rated = opponent[len(SELF_PREFIX) :] if opponent.startswith(SELF_PREFIX) else opponent
            extra = {"game": info["league_game"]} if "league_game" in info else {}  # a remote worker's game id
            state.record_match(
                self.learner,
                rated,
                score,
                int(self.num_timesteps),
                frames=int(result["frames"]),
                stocks_taken=int(result["stocks_taken"]),
                stocks_lost=int(result["stocks_lost"]),
                **extra,
            )
            recorded = True
            self.recent.append(score)
            kind = "self" if rated == self.learner else ("bot" if rated.startswith(BOT_PREFIX) else "snapshot")
            self.opponent_counts[kind] = self.opponent_counts.get(kind, 0) + 1
            key = rated if rated.startswith(BOT_PREFIX) else kind
            self.recent_by_opponent.setdefault(key, deque(maxlen=self.recent.maxlen)).append(score)
        if recorded:
            state.flush()  # written through at once: a kill loses no finished game
        return True

    def _on_rollout_end(self) -> None:
        state = self.league.state
        table = state.table
        self.logger.record("league/rating", table.rating(self.learner))
        self.logger.record("league/rating_uncertainty", table.uncertainty(self.learner))
        self.logger.record("league/games", table.games.get(self.learner, 0))
        self.logger.record("league/population", len(state.snapshots))
        if self.recent:
            self.logger.record("league/score_recent", float(np.mean(self.recent)))
        for key, scores in self.recent_by_opponent.items():
            self.logger.record(f"league/score_vs_{key.replace(BOT_PREFIX, '')}", float(np.mean(scores)))
        total = sum(self.opponent_counts.values())
        for kind, count in self.opponent_counts.items():
            self.logger.record(f"league/opponent_share_{kind}", count / total)
