"""Ledges: each character catches and hangs at its own height, measured from real replays."""

import csv
from importlib import resources

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig, engine
from melee_envs.backends.mock.engine import rules, schema
from melee_envs.backends.replay import ReplayError, read_replay
from melee_envs.data import characters, stages
from melee_envs.data.actions import actions

A = actions()


def _stats() -> dict[str, dict[str, str]]:
    text = resources.files("melee_envs.data").joinpath("character_stats.csv").read_text()
    return {r["character"]: r for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))}


def test_hang_heights_are_the_replays(replays_dir):
    """Every height marked as measured is the median of that character's hanging frames in the
    shared replays (Yoshi's Story left out: its ledges are lower)."""
    heights: dict[int, list[float]] = {}
    for path in sorted(replays_dir.rglob("*.slp")):
        try:
            state = read_replay(path).state
        except (ReplayError, ValueError):
            continue
        if int(state.stage[0]) == stages.get("YOSHIS_STORY").internal_id:
            continue
        hanging = state.players.action == A["EDGE_HANGING"]
        for char, y in zip(state.players.character[hanging], state.players.y[hanging], strict=True):
            heights.setdefault(int(char), []).append(float(y))
    measured = {name: row for name, row in _stats().items() if row["ledge_source"] == "replays"}
    assert len(measured) >= 8
    for name, row in measured.items():
        ys = (
            heights[characters.get(name).internal_id] if name != "NANA" else heights[characters.get("POPO").internal_id]
        )
        assert float(row["ledge_hang_y"]) == pytest.approx(np.median(ys), abs=0.01), name
    # Not one height for all: Marth hangs over 9 units lower than Fox.
    assert characters.get("MARTH").ledge_hang_y < characters.get("FOX").ledge_hang_y - 9


def _falling_by_the_ledge(name: str, height: float) -> MockBackend:
    be = MockBackend(1, MockConfig(characters=(name, "FOX"), stage="fd"))
    be.reset(0)
    ledge = engine.tables().ledge_x[stages.get("fd").internal_id]
    pf, pb, pi = be.packed.pf, be.packed.pb, be.packed.pi
    pf[0, 0, 0, schema.P_X] = ledge + 2.0
    pf[0, 0, 0, schema.P_Y] = height
    pf[0, 0, 0, schema.P_VY] = -1.0
    pb[0, 0, 0, schema.P_GROUND] = False
    pi[0, 0, 0, schema.P_ACTION] = A["FALLING"]
    return be


@pytest.mark.parametrize("name", ["MARTH", "FOX", "JIGGLYPUFF"])
def test_a_falling_character_catches_the_ledge_and_hangs_at_its_height(name):
    hang = characters.get(name).ledge_hang_y
    be = _falling_by_the_ledge(name, hang + 8.0)
    for _ in range(3):
        be.step()
    assert be.state.players.action[0, 0] in (A["EDGE_CATCHING"], A["EDGE_HANGING"])
    assert float(be.state.players.y[0, 0]) == pytest.approx(hang, abs=1e-4)


def test_no_catch_from_above_the_measured_reach():
    hang = characters.get("MARTH").ledge_hang_y
    be = _falling_by_the_ledge("MARTH", hang + rules.LEDGE_GRAB_ABOVE + 3.0)
    be.step()
    assert be.state.players.action[0, 0] not in (A["EDGE_CATCHING"], A["EDGE_HANGING"])


def _hanging(name: str, percent: float = 0.0) -> MockBackend:
    be = _falling_by_the_ledge(name, characters.get(name).ledge_hang_y + 8.0)
    be.packed.pf[0, 0, 0, schema.P_PCT] = percent
    for _ in range(40):
        be.step()
        if be.state.players.action[0, 0] == A["EDGE_HANGING"] and be.state.players.action_frame[0, 0] > 2:
            return be
    raise AssertionError(f"{name} never hung from the ledge")


LEDGE_INPUTS = {"GETUP": (8, 0), "ROLL": (6, 1), "ATTACK": (0, 1)}  # stick left (toward the stage), R, A


@pytest.mark.parametrize("name", ["FOX", "MARTH", "GANONDORF"])
@pytest.mark.parametrize("option", ["GETUP", "ROLL", "ATTACK"])
@pytest.mark.parametrize("percent,speed", [(0.0, "QUICK"), (120.0, "SLOW")])
def test_ledge_options_play_the_games_own_action_and_motion(name, option, percent, speed):
    from melee_envs.data.ledge import LEDGE_ACTIONS, ledge_table

    be = _hanging(name, percent)
    x0 = float(be.state.players.x[0, 0])
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    index, value = LEDGE_INPUTS[option]
    act[0, 0, index] = value
    action = f"EDGE_{option}_{speed}"
    k = LEDGE_ACTIONS.index(action)
    table = ledge_table()
    cid = characters.get(name).internal_id
    frames_in_option = 0
    for _ in range(120):
        s = be.step(act)
        act[0, 0, index] = be.codec.noop()[index]
        if s.players.action[0, 0] != A[action]:
            break
        frames_in_option += 1
        assert s.players.invulnerable[0, 0] or s.players.action_frame[0, 0] > rules.LEDGE_OPTION_INTANGIBLE[k % 2 == 0]
    assert frames_in_option == table.frames[cid, k]
    assert s.players.action[0, 0] == A["STANDING"] and s.players.on_ground[0, 0] and s.players.y[0, 0] == 0.0
    moved = x0 - float(s.players.x[0, 0])  # the right ledge: toward the stage is left
    assert moved == pytest.approx(float(table.motion[cid, k, :, 0].sum()), abs=1.0)


def test_the_ledge_options_rise_is_the_measured_hanging_height():
    """Two sources agree: libmelee's summed getup motion lifts each character from its
    replay-measured hanging height to the stage (which is why unseen characters hang at their
    getup's rise)."""
    from melee_envs.data.ledge import LEDGE_ACTIONS, ledge_table

    table = ledge_table()
    getup = LEDGE_ACTIONS.index("EDGE_GETUP_QUICK")
    gaps = {}
    for name, row in _stats().items():
        rise = float(table.motion[characters.get(name).internal_id, getup, :, 1].sum())
        if row["ledge_source"] == "replays":
            gaps[name] = abs(rise + float(row["ledge_hang_y"]))
        else:
            assert row["ledge_source"] == "libmelee getup" and float(row["ledge_hang_y"]) == pytest.approx(
                -rise, abs=0.01
            )
    assert len(gaps) >= 8
    assert np.median(list(gaps.values())) < 0.1 and max(gaps.values()) < 3.0, gaps


def test_a_ledge_attack_hits_a_player_by_the_ledge():
    from melee_envs.data.moves import MOVE_INDEX, move_table

    be = _hanging("FOX")
    pf = be.packed.pf[0, 1, 0]
    pf[schema.P_X] = float(be.state.players.x[0, 0]) - 12.0
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    act[0, 0, 0] = 1
    for _ in range(60):
        be.step(act)
        act[0, 0, 0] = 0
    damage = move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["edge"], schema.M_DMG]
    assert be.state.players.percent[0, 1] == pytest.approx(damage)
