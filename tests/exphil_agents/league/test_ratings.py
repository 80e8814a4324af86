"""Elo properties, the K schedule, OpenSkill, and the batch fit with intervals."""

import itertools

import numpy as np
import pytest

from exphil_agents.league.ratings import (
    EloTable,
    KSchedule,
    OpenSkillTable,
    elo_update,
    expected_score,
    fit_ratings,
    make_table,
)


@pytest.mark.parametrize("k", [8.0, 20.0, 40.0])
def test_elo_updates_are_zero_sum(k):
    rng = np.random.default_rng(0)
    for ra, rb, score in zip(
        rng.uniform(800, 2600, 200), rng.uniform(800, 2600, 200), rng.choice([0, 0.5, 1], 200), strict=True
    ):
        na, nb = elo_update(ra, rb, score, k)
        assert na + nb == pytest.approx(ra + rb, abs=1e-9)
        assert (na - ra) * (score - expected_score(ra, rb)) >= 0  # moves toward the result


def test_expected_score_is_symmetric_and_monotone():
    for ra, rb in itertools.product([1000.0, 1500.0, 1723.5, 2400.0], repeat=2):
        assert expected_score(ra, rb) + expected_score(rb, ra) == pytest.approx(1.0)
    assert expected_score(1500, 1500) == 0.5
    assert expected_score(1900, 1500) == pytest.approx(10 / 11)  # 400 points = 10:1 odds
    assert expected_score(1600, 1500) > expected_score(1550, 1500) > 0.5


def test_bad_score_is_refused():
    with pytest.raises(ValueError, match=r"score must be in \[0, 1\]"):
        elo_update(1500, 1500, 2.0)


def test_k_schedule_and_table_stay_zero_sum_with_different_experience():
    schedule = KSchedule(provisional=40, established=10, provisional_games=5)
    assert [schedule.k(g) for g in (0, 4, 5, 100)] == [40, 40, 10, 10]
    table = EloTable(schedule)
    for _ in range(10):
        table.record("veteran", "other", 1.0)
    before = table.rating("veteran")
    table.record("veteran", "rookie", 0.0)  # K = mean(10, 40) = 25 for both sides
    assert table.rating("rookie") - 1500 == pytest.approx(25 * (1 - expected_score(1500, before)))
    assert before - table.rating("veteran") == pytest.approx(table.rating("rookie") - 1500)
    assert sum(table.ratings.values()) == pytest.approx(3 * 1500)
    assert table.games == {"veteran": 11, "other": 10, "rookie": 1}


def _synthetic_league(strengths, games, seed):
    rng = np.random.default_rng(seed)
    names = [f"p{i}" for i in range(len(strengths))]
    results = []
    for _ in range(games):
        i, j = rng.choice(len(names), 2, replace=False)
        p = expected_score(strengths[i], strengths[j])
        results.append((names[i], names[j], float(rng.random() < p)))
    return names, results


def test_sequential_elo_recovers_known_strengths():
    strengths = [1100, 1300, 1500, 1700, 1900, 2100]
    names, results = _synthetic_league(strengths, 6000, seed=1)
    table = EloTable(KSchedule(provisional=32, established=8))
    for a, b, s in results:
        table.record(a, b, s)
    ranked = [row["player"] for row in table.table()]
    assert ranked == names[::-1]
    spread = table.rating("p5") - table.rating("p0")
    assert 700 < spread < 1300  # true spread 1000


def test_batch_fit_recovers_strengths_with_intervals_that_cover():
    strengths = np.array([1100, 1300, 1500, 1700, 1900, 2100], float)
    names, results = _synthetic_league(strengths, 3000, seed=2)
    fit = fit_ratings(names, results, prior_sd=1000)
    assert [row["player"] for row in fit.table()] == names[::-1]
    truth = strengths - strengths.mean() + 1500
    covered = [lo <= t <= hi for t, (lo, hi) in zip(truth, (fit.interval(i) for i in range(6)), strict=True)]
    assert sum(covered) >= 5
    assert fit.ratings.mean() == pytest.approx(1500)
    assert np.all(fit.stderr < 60)
    less = fit_ratings(names, results[:300], prior_sd=1000)
    assert np.all(less.stderr > fit.stderr)  # more games, narrower intervals


def test_batch_fit_stays_finite_when_a_player_wins_everything():
    fit = fit_ratings(["a", "b"], [("a", "b", 1.0)] * 50)
    assert np.all(np.isfinite(fit.ratings)) and fit.ratings[0] > fit.ratings[1] + 300
    assert fit.win_probability(0, 1) > 0.9
    with pytest.raises(ValueError, match="not in the player list"):
        fit_ratings(["a"], [("a", "z", 1.0)])


def test_openskill_table_ranks_a_synthetic_league():
    table = make_table("openskill")
    assert isinstance(table, OpenSkillTable)
    names, results = _synthetic_league([1100, 1500, 1900], 600, seed=3)
    for a, b, s in results:
        table.record(a, b, 0.5 if s == 0.5 else s)
    assert [row["player"] for row in table.table()] == ["p2", "p1", "p0"]
    assert table.win_probability("p2", "p0") > 0.7
    assert table.uncertainty("p0") < 25 / 3 * 16  # sigma shrank from its prior
    with pytest.raises(ValueError, match="unknown rating system"):
        make_table("glicko")
