"""The fidelity benchmark on the shared replays: the mock engine tracks real movement."""

import numpy as np

from melee_envs.fidelity import MOVEMENT, FidelityConfig, family_of, replay_errors, run
from melee_envs.render import render_state


def test_movement_error_is_under_one_unit_on_real_replays(replays_dir):
    result = run(FidelityConfig(folder=str(replays_dir)))
    table = result["table"]
    assert result["replays"] >= 5
    assert table["movement (all four)"]["samples"] > 10_000
    assert table["movement (all four)"]["median"] < 1.0
    for name in MOVEMENT:
        assert table[name]["median"] < 1.0, (name, table[name])
    # Broken files and 4-player games are reported with a reason, never dropped silently.
    assert any("bad" in line for line in result["skipped"])
    assert all(": " in line for line in result["skipped"])


def test_families_and_replay_frames_render(replays_dir):
    from melee_envs.backends.replay import read_replay

    path = replays_dir / "peppi" / "netplay.slp"
    fam, err, action = replay_errors(path, max_frames=300)
    assert len(fam) == len(err) == len(action) > 0
    assert set(np.unique(fam)) <= {*family_of(np.arange(400)).tolist()}
    state = read_replay(path).two_players()
    image = render_state(state, index=len(state.frame) // 2)
    assert image.shape == (400, 640, 3)
