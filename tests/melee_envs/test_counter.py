"""Marth's and Roy's Counter: a hit in its window is negated and answered (SSBWiki "Counter":
Marth's counterattack deals a flat 7%, Roy's 1.5x the countered hit); grabs go through; a
projectile is deflected."""

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.backends.mock.engine import rules, schema
from melee_envs.data.moves import COUNTERS

A_BTN, B_BTN, Z_BTN, STICK_X, STICK_Y = 0, 1, 4, 8, 9


def _game(attacker, counterer, gap=9.0):
    be = MockBackend(1, MockConfig(characters=(attacker, counterer), stage="fd", stale_moves=False))
    be.reset(0)
    pf = be.packed.pf[0, :, 0]
    pf[0, schema.P_X], pf[1, schema.P_X] = -gap, 0.0
    return be


def _play(be, attack_at, attack_buttons, counter_at=0, frames=40, counter=True):
    """Port 2 counters on frame ``counter_at`` (down-B) unless ``counter`` is False; port 1 presses
    ``attack_buttons`` on frame ``attack_at``. Returns the states' (percents, port 2's actions)."""
    percents, actions = [], []
    for f in range(frames):
        act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
        if f == attack_at:
            for k in attack_buttons:
                act[0, 0, k] = 1
        if counter and f == counter_at:
            act[0, 1, B_BTN], act[0, 1, STICK_Y] = 1, 0
        s = be.step(act)
        percents.append(s.players.percent[0].copy())
        actions.append(int(s.players.action[0, 1]))
    return np.array(percents), actions


@pytest.mark.parametrize("name", ["MARTH", "ROY"])
def test_a_countered_hit_is_negated_and_answered(name):
    plain, _ = _play(_game("FOX", name), 8, {A_BTN}, counter=False)
    jab = plain[-1, 1]
    assert jab > 0, "the jab reaches when nothing counters it"
    percents, actions = _play(_game("FOX", name), 8, {A_BTN})
    assert percents[-1, 1] == 0.0, "the counter negated the hit"
    mode, value = COUNTERS[name]
    expected = value if name == "MARTH" else value * jab
    assert percents[-1, 0] == pytest.approx(expected, rel=1e-5)
    assert rules.COUNTER_HIT_GROUND in actions


def test_a_hit_after_the_counter_window_lands():
    be = _game("FOX", "MARTH")
    end = int(be._t.moves[be.packed.pi[0, 1, 0, schema.P_CHAR], schema.DOWNB, schema.M_END])
    percents, actions = _play(be, end + 2, {A_BTN}, frames=end + 20)
    assert percents[-1, 1] > 0 and percents[-1, 0] == 0
    assert rules.COUNTER_HIT_GROUND not in actions


def test_a_grab_is_not_countered():
    percents, actions = _play(_game("FOX", "MARTH"), 8, {Z_BTN})
    assert schema.GRABBED in actions and rules.COUNTER_HIT_GROUND not in actions
    assert percents[:, 0].max() == 0


def test_a_counter_deflects_a_laser():
    be = _game("FALCO", "MARTH", gap=60.0)
    for f in range(60):
        act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
        if f == 0:
            act[0, 0, B_BTN] = 1
        if f == 20:
            act[0, 1, B_BTN], act[0, 1, STICK_Y] = 1, 0
        s = be.step(act)
        if int(s.players.action[0, 1]) == rules.COUNTER_HIT_GROUND:
            break
    assert int(s.players.action[0, 1]) == rules.COUNTER_HIT_GROUND
    j = s.projectiles
    live = np.flatnonzero(j.exists[0])
    assert len(live) == 1 and j.speed_y[0, live[0]] > 0 and j.owner[0, live[0]] == 0
    for _ in range(40):
        s = be.step()
    assert s.players.percent[0, 1] == 0.0
