"""Running jumps take off at the speed the shared replays show, and an initial dash carries on
when the stick is let go (both were slow or stopped before)."""

import warnings

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig, SoloClimberWarning
from melee_envs.backends.mock.engine import schema
from melee_envs.backends.replay import ReplayError, read_replay
from melee_envs.data import characters
from melee_envs.data.actions import actions
from melee_envs.data.characters import JUMP_TAKEOFF_MAX

A = actions()
X_BTN, STICK_X = 2, 8


def test_the_take_off_caps_are_the_replays(replays_dir):
    names = {c.internal_id: n for n, c in characters.characters().items()}
    speeds: dict[str, list[float]] = {}
    for path in sorted(replays_dir.rglob("*.slp")):
        if "bad" in path.parts:
            continue
        try:
            pl = read_replay(path, items=False).state.players
        except ReplayError:
            continue
        for p in range(pl.action.shape[1]):
            a = pl.action[:, p]
            for t in np.flatnonzero(
                (a[:-1] == A["KNEE_BEND"]) & np.isin(a[1:], (A["JUMPING_FORWARD"], A["JUMPING_BACKWARD"]))
            ):
                speeds.setdefault(names[int(pl.character[t + 1, p])], []).append(abs(float(pl.speed_air_x[t + 1, p])))
    for name, cap in JUMP_TAKEOFF_MAX.items():
        seen = np.array(speeds[name])
        assert (seen > 0).sum() >= 20, name
        assert np.percentile(seen, 99) == pytest.approx(cap, abs=0.01), name


def _run_then(be, frames_run, then):
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    out = []
    for f in range(frames_run + len(then)):
        act[0, 0, STICK_X] = 16 if f < frames_run else then[f - frames_run][0]
        act[0, 0, X_BTN] = 0 if f < frames_run else then[f - frames_run][1]
        s = be.step(act)
        out.append((int(s.players.action[0, 0]), float(s.players.speed_air_x[0, 0]), float(s.players.x[0, 0])))
    return out


@pytest.mark.parametrize("name", sorted(JUMP_TAKEOFF_MAX))
def test_a_running_jump_takes_off_at_the_measured_speed(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SoloClimberWarning)  # Popo alone is fine for a jump
        be = MockBackend(1, MockConfig(characters=(name, "FOX"), stage="fd"))
    be.reset(0)
    be.packed.pf[0, 0, 0, schema.P_X] = -80.0
    out = _run_then(be, 30, [(16, 1)] + [(16, 0)] * 10)
    air = [v for a, v, _ in out if a == A["JUMPING_FORWARD"]]
    assert air and air[0] == pytest.approx(JUMP_TAKEOFF_MAX[name], abs=1e-5)


def test_an_initial_dash_carries_on_when_the_stick_is_let_go():
    be = MockBackend(1, MockConfig(characters=("FALCO", "FOX"), stage="fd"))
    be.reset(0)
    out = _run_then(be, 3, [(8, 0)] * 20)
    dash = [a == A["DASHING"] for a, _, _ in out]
    assert all(dash[:6]), "the dash plays out after the stick goes back to the centre"
    xs = [x for _, _, x in out]
    steps = np.diff(xs)[3:8]
    assert (steps > 0).all() and (np.diff(steps) < 0).all(), "slowing by friction, not stopped"
