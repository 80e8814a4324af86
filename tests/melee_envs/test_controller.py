import numpy as np
import pytest

from melee_envs.controller import DISCRETE_ACTION_NAMES, ControllerCodec, discrete_table


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
