"""Fox's and Falco's shine: start, loop, end and jump-cancels, with the game's action ids, checked
against what Fox and Falco players did in the shared replays."""

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.backends.mock.engine import rules, schema
from melee_envs.data import characters
from melee_envs.data.actions import actions

A = actions()
B, X, STICK_Y = 1, 2, 9
SHINE_IDS = set(range(360, 370))


def _fox(name="FOX", airborne=False):
    be = MockBackend(1, MockConfig(characters=(name, "FOX"), stage="fd"))
    be.reset(0)
    pf = be.packed.pf[0, :, 0]
    pf[1, schema.P_X] = 60.0  # out of reach
    if airborne:
        pf[0, schema.P_Y] = 40.0
        be.packed.pb[0, 0, 0, schema.P_GROUND] = False
        be.packed.pi[0, 0, 0, schema.P_ACTION] = A["FALLING"]
        be.packed.pi[0, 0, 0, schema.P_JUMPS] = 1
    return be


def _play(be, frames):
    """``frames``: per frame, the buttons held (a set of indices) and the stick's y (0-16)."""
    out = []
    for held, stick_y in frames:
        act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
        for k in held:
            act[0, 0, k] = 1
        act[0, 0, STICK_Y] = stick_y
        s = be.step(act)
        out.append((int(s.players.action[0, 0]), float(s.players.y[0, 0]), int(s.players.jumps_left[0, 0])))
    return out


def _runs(actions_seen):
    runs = []
    for a in actions_seen:
        if runs and runs[-1][0] == a:
            runs[-1][1] += 1
        else:
            runs.append([a, 1])
    return [tuple(r) for r in runs]


@pytest.mark.parametrize("name", ["FOX", "FALCO"])
def test_a_held_ground_shine_loops_and_a_jump_cancels_it(name):
    be = _fox(name)
    out = _play(be, [({B}, 0)] + [({B}, 8)] * 6 + [({X}, 8)] + [(set(), 8)] * 3)
    runs = _runs(a for a, _, _ in out)
    assert runs[0] == (A["DOWN_B_GROUND_START"], rules.SHINE_START_FRAMES)
    assert runs[1][0] == A["DOWN_B_GROUND"] and runs[2][0] == A["KNEE_BEND"]


def test_a_released_shine_plays_its_end_and_stands():
    be = _fox()
    out = _play(be, [({B}, 0)] + [(set(), 8)] * 30)
    runs = _runs(a for a, _, _ in out)
    assert [r[0] for r in runs] == [360, 361, 363, A["STANDING"]]
    assert runs[2][1] == rules.SHINE_END_FRAMES


def test_an_air_shine_stops_the_fall_and_cancels_into_the_double_jump():
    be = _fox(airborne=True)
    out = _play(be, [({B}, 0)] + [({B}, 8)] * 4 + [({X}, 8)] + [(set(), 8)] * 2)
    start = [y for a, y, _ in out if a == 365]
    assert len(start) == rules.SHINE_START_FRAMES and max(start) - min(start) < 1e-6
    runs = _runs(a for a, _, _ in out)
    assert [r[0] for r in runs[:3]] == [365, 366, A["JUMPING_ARIAL_FORWARD"]]
    assert out[-1][2] == 0  # the double jump was spent


def test_the_shine_hits_on_its_first_frame():
    be = _fox()
    be.packed.pf[0, :, 0, schema.P_X] = (0.0, 6.0)
    _play(be, [({B}, 0)])
    assert be.state.players.percent[0, 1] > 0


def _replay_transitions(readable_replays):
    fox = {characters.get("FOX").internal_id, characters.get("FALCO").internal_id}
    seen = set()
    for replay in readable_replays():
        who = np.asarray(replay.state.players.character)
        acts = np.asarray(replay.state.players.action)
        for p in range(acts.shape[1]):
            if who[0, p] in fox:
                a = acts[:, p]
                change = np.nonzero(a[1:] != a[:-1])[0]
                seen |= {(int(a[i]), int(a[i + 1])) for i in change if a[i] in SHINE_IDS or a[i + 1] in SHINE_IDS}
    return seen


def test_every_shine_transition_the_engine_makes_happens_in_the_replays(readable_replays):
    seen = _replay_transitions(readable_replays)
    assert len(seen) >= 10
    made = set()
    for airborne, script in [
        (False, [({B}, 0)] + [({B}, 8)] * 3 + [({X}, 8)] * 2),
        (False, [({B}, 0)] + [(set(), 8)] * 25),
        (False, [({B}, 0)] + [(set(), 8)] * 3 + [({X}, 8)] * 2),
        (True, [({B}, 0)] + [({B}, 8)] * 3 + [({X}, 8)] * 2),
        (True, [({B}, 0)] + [(set(), 8)] * 22),
    ]:
        be = _fox(airborne=airborne)
        before = int(be.state.players.action[0, 0])
        for a, _, _ in _play(be, script):
            if a != before and (a in SHINE_IDS or before in SHINE_IDS):
                made.add((before, a))
            before = a
    assert made and made <= seen, sorted(made - seen)
