import numpy as np
import pytest

from melee_envs.controller import DISCRETE_ACTION_NAMES, ControllerCodec, discrete_table
from melee_envs.state import ControllerState


def test_round_trip_and_space():
    codec = ControllerCodec()
    assert list(codec.nvec) == [2] * 8 + [17] * 4 + [5]
    rng = np.random.default_rng(0)
    actions = rng.integers(0, codec.nvec, size=(100, 13))
    assert np.array_equal(codec.encode(codec.decode(actions)), actions)
    neutral = codec.decode(codec.noop())
    assert neutral.main_x == 0.5 and not neutral.buttons.any()


def test_libmelee_floats():
    codec = ControllerCodec()
    a = codec.noop()
    a[0] = 1
    a[8] = 16
    out = codec.to_libmelee(a)
    assert out["buttons"]["A"] and out["main"] == (1.0, 0.5) and out["shoulder"] == 0.0


def test_custom_centres():
    codec = ControllerCodec(stick_centres=np.array([0.0, 0.3, 0.5, 0.7, 1.0]))
    assert codec.nvec[8] == 5 and codec.neutral_stick == 2
    with pytest.raises(ValueError, match="ascending"):
        ControllerCodec(stick_centres=np.array([0.5, 0.2]))


def test_out_of_space_action_is_named():
    codec = ControllerCodec()
    bad = codec.noop()
    bad[9] = 17
    with pytest.raises(ValueError, match=r"component 9 \(main_y\) = 17"):
        codec.check(bad)
    with pytest.raises(ValueError, match="13 components"):
        codec.check([0, 1])


def test_discrete_table():
    table = discrete_table(ControllerCodec())
    assert table.shape == (len(DISCRETE_ACTION_NAMES), 13)
    assert len({tuple(r) for r in table}) == len(table)  # every discrete action is distinct


def test_encode_picks_the_nearest_centre_and_the_lower_one_on_ties():
    codec = ControllerCodec()
    values = np.concatenate([np.linspace(-0.1, 1.1, 2001), codec.stick_centres[:-1] + 1 / 32]).astype(np.float32)
    distance = np.abs(values[:, None] - codec.stick_centres[None, :])
    expected = np.argmin(distance, axis=1)  # argmin takes the first, i.e. lower, centre on a tie
    state = ControllerState(
        buttons=np.zeros((len(values), 8), bool), main_x=values, main_y=values, c_x=values, c_y=values,
        shoulder=np.clip(values, 0, 1),
    )  # fmt: skip
    encoded = codec.encode(state)
    assert np.array_equal(encoded[:, 8], expected) and np.array_equal(encoded[:, 11], expected)
    into = codec.encode_into(state, np.empty((len(values), 13), np.int8))
    assert np.array_equal(into, encoded)
