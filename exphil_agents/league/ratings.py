"""Player ratings: Elo as pure functions, an Elo table with a K schedule, a TrueSkill-family
table (OpenSkill), and a batch fit with confidence intervals for tournaments.

Scores are from the first player's side: 1 win, 0.5 draw, 0 loss. Ratings are on the Elo scale
(400 points = 10:1 odds). Elo updates are zero-sum: both players move by the same K (the mean of
their scheduled K values), so a league's total rating is conserved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ELO_SCALE = 400.0
INITIAL_RATING = 1500.0


def expected_score(rating_a: float, rating_b: float, scale: float = ELO_SCALE) -> float:
    """The expected score of A against B (also A's win probability counting a draw as half)."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / scale))


def win_interval(wins: float, games: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a win rate (``z`` = 1.96: 95%); ``wins`` may count draws as
    halves. Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or 100%
    (Wilson 1927, "Probable inference, the law of succession, and statistical inference")."""
    if games <= 0:
        return (0.0, 1.0)
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z / (1 + z * z / games) * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games))
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_update(
    rating_a: float, rating_b: float, score_a: float, k: float = 20.0, scale: float = ELO_SCALE
) -> tuple[float, float]:
    """New ratings after one game; ``score_a`` in [0, 1]. Zero-sum: A gains what B loses."""
    if not 0.0 <= score_a <= 1.0:
        raise ValueError(f"score must be in [0, 1] (1 win, 0.5 draw, 0 loss); got {score_a}")
    delta = k * (score_a - expected_score(rating_a, rating_b, scale))
    return rating_a + delta, rating_b - delta


@dataclass(frozen=True)
class KSchedule:
    """K by games played: ``provisional`` for a player's first ``provisional_games`` games, then
    ``established`` (the FIDE pattern: new players move fast, settled ones slowly)."""

    provisional: float = 40.0
    established: float = 16.0
    provisional_games: int = 30

    def k(self, games: int) -> float:
        return self.provisional if games < self.provisional_games else self.established


class EloTable:
    """Ratings and game counts by player id; :meth:`record` applies one game."""

    kind = "elo"

    def __init__(self, schedule: KSchedule | None = None, initial: float = INITIAL_RATING) -> None:
        self.schedule = schedule or KSchedule()
        self.initial = initial
        self.ratings: dict[str, float] = {}
        self.games: dict[str, int] = {}

    def add(self, player: str, rating: float | None = None) -> None:
        if player not in self.ratings:
            self.ratings[player] = self.initial if rating is None else float(rating)
            self.games[player] = 0

    def record(self, a: str, b: str, score_a: float) -> None:
        self.add(a)
        self.add(b)
        k = 0.5 * (self.schedule.k(self.games[a]) + self.schedule.k(self.games[b]))
        self.ratings[a], self.ratings[b] = elo_update(self.ratings[a], self.ratings[b], score_a, k)
        self.games[a] += 1
        self.games[b] += 1

    def rating(self, player: str) -> float:
        return self.ratings.get(player, self.initial)

    def uncertainty(self, player: str) -> float:
        """A rough standard error in Elo points from the number of games (about 400/sqrt(games));
        tournaments fit proper intervals with :func:`fit_ratings`."""
        return ELO_SCALE / math.sqrt(max(self.games.get(player, 0), 1))

    def win_probability(self, a: str, b: str) -> float:
        return expected_score(self.rating(a), self.rating(b))

    def table(self) -> list[dict[str, Any]]:
        rows = [
            {"player": p, "rating": r, "games": self.games[p], "uncertainty": self.uncertainty(p)}
            for p, r in self.ratings.items()
        ]
        return sorted(rows, key=lambda row: -row["rating"])


class OpenSkillTable:
    """A TrueSkill-family rating (OpenSkill's Plackett-Luce model, Weng-Lin updates): a mean and
    uncertainty per player, shown on the Elo scale: the default mu of 25 maps to 1500 and one mu
    point to 16 Elo points (sigma likewise)."""

    kind = "openskill"
    _PER_MU = 16.0

    def __init__(self, **_: Any) -> None:
        try:
            from openskill.models import PlackettLuce
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("rating='openskill' needs the 'league' extra: pip install 'exphil[league]'") from exc
        self._model = PlackettLuce()
        self._players: dict[str, Any] = {}
        self.games: dict[str, int] = {}

    def add(self, player: str, rating: float | None = None) -> None:
        """A new player; ``rating`` (Elo scale) sets its mean, its uncertainty starts afresh."""
        if player not in self._players:
            mu = None if rating is None else 25.0 + (rating - INITIAL_RATING) / self._PER_MU
            self._players[player] = self._model.rating(mu=mu, name=player)
            self.games[player] = 0

    def record(self, a: str, b: str, score_a: float) -> None:
        self.add(a)
        self.add(b)
        ranks = [0, 0] if score_a == 0.5 else ([0, 1] if score_a > 0.5 else [1, 0])
        [[ra], [rb]] = self._model.rate([[self._players[a]], [self._players[b]]], ranks=ranks)
        self._players[a], self._players[b] = ra, rb
        self.games[a] += 1
        self.games[b] += 1

    @property
    def ratings(self) -> dict[str, float]:
        return {p: self.rating(p) for p in self._players}

    def rating(self, player: str) -> float:
        r = self._players.get(player)
        mu = 25.0 if r is None else r.mu
        return INITIAL_RATING + (mu - 25.0) * self._PER_MU

    def uncertainty(self, player: str) -> float:
        r = self._players.get(player)
        return (25.0 / 3.0 if r is None else r.sigma) * self._PER_MU

    def win_probability(self, a: str, b: str) -> float:
        self.add(a)
        self.add(b)
        return float(self._model.predict_win([[self._players[a]], [self._players[b]]])[0])

    def table(self) -> list[dict[str, Any]]:
        rows = [
            {"player": p, "rating": self.rating(p), "games": self.games[p], "uncertainty": self.uncertainty(p)}
            for p in self._players
        ]
        return sorted(rows, key=lambda row: -row["rating"])


RATING_SYSTEMS = {"elo": EloTable, "openskill": OpenSkillTable}


def make_table(kind: str = "elo", **kwargs: Any) -> EloTable | OpenSkillTable:
    if kind not in RATING_SYSTEMS:
        raise ValueError(f"unknown rating system {kind!r}; choose one of {sorted(RATING_SYSTEMS)}")
    return RATING_SYSTEMS[kind](**kwargs)


@dataclass(frozen=True)
class Fit:
    """Ratings fitted to a set of games, with standard errors and 95% intervals (Elo points)."""

    players: list[str]
    ratings: np.ndarray
    stderr: np.ndarray

    def interval(self, i: int, z: float = 1.96) -> tuple[float, float]:
        return float(self.ratings[i] - z * self.stderr[i]), float(self.ratings[i] + z * self.stderr[i])

    def win_probability(self, i: int, j: int) -> float:
        return expected_score(float(self.ratings[i]), float(self.ratings[j]))

    def table(self) -> list[dict[str, Any]]:
        order = np.argsort(-self.ratings, kind="stable")
        return [
            {
                "rank": rank + 1,
                "player": self.players[i],
                "rating": float(self.ratings[i]),
                "stderr": float(self.stderr[i]),
                "ci95": self.interval(int(i)),
            }
            for rank, i in enumerate(order)
        ]


def fit_ratings(
    players: Sequence[str],
    games: Iterable[tuple[str, str, float]],
    prior_sd: float = 400.0,
    mean: float = INITIAL_RATING,
    iterations: int = 100,
) -> Fit:
    """Bradley-Terry ratings of all players at once (order-independent, unlike sequential Elo).

    The maximum a posteriori fit of ``P(a beats b) = expected_score(r_a, r_b)`` with a normal
    prior (``prior_sd`` Elo points around ``mean``), which keeps ratings finite when a player
    wins every game. Draws count as half a win; the field's mean rating is ``mean``. Standard
    errors come from the inverse Hessian of the log posterior (Laplace approximation), relative
    to the field's mean. Newton's method; converges in a few steps.
    """
    index = {p: i for i, p in enumerate(players)}
    n = len(players)
    wins = np.zeros((n, n))
    for a, b, score in games:
        if a not in index or b not in index:
            raise ValueError(f"game between {a!r} and {b!r}: not in the player list")
        wins[index[a], index[b]] += score
        wins[index[b], index[a]] += 1.0 - score
    played = wins + wins.T
    c = math.log(10.0) / ELO_SCALE  # Elo points -> natural log-odds
    tau = 1.0 / (prior_sd * c) ** 2
    theta = np.zeros(n)
    hess = np.eye(n) * tau
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # p[i, j] = P(i beats j)
        grad = (wins - played * p).sum(axis=1) - tau * theta
        w = played * p * (1.0 - p)
        hess = np.diag(w.sum(axis=1) + tau) - w
        step = np.linalg.solve(hess, grad)
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    # Only differences between ratings are identified by the games: report the uncertainty of
    # each rating relative to the field's mean (the covariance projected onto sum-zero ratings).
    centre = np.eye(n) - 1.0 / n
    cov = centre @ np.linalg.inv(hess) @ centre
    return Fit(list(players), mean + (theta - theta.mean()) / c, np.sqrt(np.clip(np.diag(cov), 0, None)) / c)
