"""The mock engine against the data it is built from."""

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.data import actions, characters
from melee_envs.state import PLAYER_FLOAT_COLUMNS


def _drop(name: str, frames: int = 200) -> np.ndarray:
    be = MockBackend(1, MockConfig(characters=(name, "fox"), stage="fd"))
    be.reset(0)
    be.packed.pf[0, 0, 0, PLAYER_FLOAT_COLUMNS.index("y")] = 150.0
    be.packed.pb[0, 0, 0, 1] = False  # airborne
    speeds = []
    for _ in range(frames):
        s = be.step()
        speeds.append(float(s.players.speed_y[0, 0]))
    return np.array(speeds)


@pytest.mark.parametrize("name", ["FOX", "JIGGLYPUFF", "MARTH", "FALCO"])
def test_falls_at_exactly_terminal_velocity(name):
    speeds = _drop(name, 60)
    assert speeds.min() == pytest.approx(-characters.get(name).terminal_velocity, rel=1e-6)


def test_fox_falls_faster_than_puff():
    assert _drop("FOX", 60).min() < _drop("JIGGLYPUFF", 60).min()


@pytest.mark.parametrize("name,short", [("FOX", False), ("FOX", True), ("MARTH", False), ("JIGGLYPUFF", False)])
def test_jump_squat_and_apex(name, short):
    info = characters.get(name)
    be = MockBackend(1, MockConfig(characters=(name, "fox"), stage="fd"))
    be.reset(0)
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    act[0, 0, 2] = 1  # X
    ys, acts = [], []
    for t in range(120):
        if short and t > 0:
            act[0, 0, 2] = 0
        s = be.step(act)
        ys.append(float(s.players.y[0, 0]))
        acts.append(int(s.players.action[0, 0]))
        act[0, 0, 2] = 0 if short else act[0, 0, 2]
    assert acts[: info.jump_squat] == [actions.A.KNEE_BEND] * info.jump_squat
    v0 = info.short_hop_velocity if short else info.full_hop_velocity
    # Discrete motion: the first airborne frame moves v0, then gravity takes g each frame.
    expected, v = 0.0, v0
    while v > 0:
        expected += v
        v -= info.gravity
    assert ys[info.jump_squat] == pytest.approx(v0, rel=1e-5)
    assert max(ys) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("name", ["FOX", "JIGGLYPUFF", "KIRBY"])
def test_jumps_at_start_match_the_character(name):
    be = MockBackend(1, MockConfig(characters=(name, "fox"), stage="fd"))
    state = be.reset(0)
    assert state.players.jumps_left[0, 0] == characters.get(name).extra_jumps + 1


def test_walk_off_platform_and_drop_through():
    be = MockBackend(1, MockConfig(characters=("fox", "fox"), stage="bf"))
    be.reset(0)
    y = PLAYER_FLOAT_COLUMNS.index("y")
    be.packed.pf[0, 0, 0, y] = 27.20009994506836
    be.packed.pf[0, 0, 0, PLAYER_FLOAT_COLUMNS.index("x")] = -40.0
    s = be.step()
    assert s.players.on_ground[0, 0] and s.players.y[0, 0] == pytest.approx(27.2, abs=1e-3)
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    act[0, 0, 9] = 0  # main stick fully down: a tap from neutral drops through
    s = be.step(act)
    for _ in range(30):
        s = be.step(act)
    assert s.players.on_ground[0, 0] and s.players.y[0, 0] == 0.0
