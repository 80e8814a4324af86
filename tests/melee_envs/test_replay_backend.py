import numpy as np
import pytest

from melee_envs.backends import Backend
from melee_envs.backends.mock import MockBackend
from melee_envs.backends.replay import ReplayBackend, read_replay
from melee_envs.state import tree_map


def leaves(state):
    out = []
    tree_map(out.append, state)
    return out


def test_replay_backend_plays_real_games_through_the_protocol(replays_dir):
    paths = [replays_dir / "peppi" / "v3.13.slp", replays_dir / "slippistats" / "Game_20221227T212019.slp"]
    backend = ReplayBackend(paths)
    assert isinstance(backend, Backend)
    mock = MockBackend(num_games=2)
    state, mock_state = backend.reset(), mock.reset(seed=0)
    # The same type, shapes and dtypes as the mock engine's state.
    for ours, theirs in zip(leaves(state), leaves(mock_state), strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    replays = [read_replay(p) for p in paths]
    assert np.array_equal(state.players.x[1], replays[1].state.players.x[0])
    steps = 0
    while not backend.done.all():
        actions = backend.recorded_actions
        assert actions.shape == (2, 2, 13)
        backend.step(mock.codec.noop()[None, None].repeat(2, 0).repeat(2, 1))
        steps += 1
        if steps == 10:
            assert np.array_equal(backend.state.players.percent[1], replays[1].state.players.percent[10])
    assert steps == max(len(r) for r in replays) - 1
    assert np.array_equal(backend.state.frame, [r.meta.last_frame for r in replays])
    # Replay 1 was won by port 2 (player index 1); v3.13 ended by stocks too.
    assert backend.winner[1] == 1 and backend.winner[0] == replays[0].meta.ports.index(replays[0].meta.winner_port)
    assert backend.reset_done().all() and (backend.state.frame == -123).all()


def test_recorded_actions_encode_the_real_inputs(replays_dir):
    backend = ReplayBackend(replays_dir / "slippi-js" / "lCancel.slp")
    backend.reset()
    pressed = 0
    for _ in range(600):
        actions = backend.recorded_actions
        held = backend.codec.decode(actions)
        controller = backend.state.players.controller
        assert np.array_equal(held.buttons, controller.buttons)
        assert np.abs(held.main_x - controller.main_x).max() <= 1 / 32 + 1e-6
        pressed += int(controller.buttons.any())
        backend.step()
    assert pressed > 50


def test_replay_backend_errors(replays_dir):
    with pytest.raises(ValueError, match="4 players"):
        ReplayBackend(replays_dir / "slippi-js" / "doubles.slp")
    backend = ReplayBackend(replays_dir / "slippi-js" / "doubles.slp", ports=(2, 4))
    backend.reset()
    with pytest.raises(ValueError, match="shape"):
        backend.step(np.zeros((1, 3, 13), np.int64))
    with pytest.raises(ValueError, match=r"no player on port 2; ports in the game: \[1, 3\]"):
        ReplayBackend(replays_dir / "peppi" / "v3.13.slp", ports=(1, 2))
