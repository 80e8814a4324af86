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
