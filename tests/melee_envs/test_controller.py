import numba
import numpy as np
import pytest

from melee_envs.controller import (
    ACTION_PARTS,
    ACTION_SIZE,
    DISCRETE_ACTION_NAMES,
    STICK_X_COLUMNS,
    ControllerCodec,
    discrete_table,
    mirror_stick_x,
)
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


def test_the_parts_cover_the_action_once_in_order():
    columns = [k for _, part in ACTION_PARTS for k in range(ACTION_SIZE)[part]]
    assert columns == list(range(ACTION_SIZE)) == list(range(len(ControllerCodec().nvec)))


@numba.njit
def _mirror_rows(actions, centres):
    for r in range(actions.shape[0]):
        mirror_stick_x(actions[r], centres)


@pytest.mark.parametrize("centres", [None, [0.0, 0.1, 0.3, 0.5, 0.62, 0.9, 1.0], [0.0, 0.2, 0.45, 0.55, 0.8, 1.0]])
def test_mirror_flips_stick_x_about_the_centre_for_any_buckets(centres):
    codec = ControllerCodec() if centres is None else ControllerCodec(stick_centres=np.array(centres, np.float32))
    actions = np.random.default_rng(0).integers(0, codec.nvec, size=(200, ACTION_SIZE))
    mirrored = codec.mirror(actions.copy())
    before, after = codec.decode(actions), codec.decode(mirrored)
    for axis in ("main_x", "c_x"):  # the value mirrored, snapped to the nearest bucket
        want = codec.stick_centres[np.abs(codec.stick_centres[None] - (1 - getattr(before, axis))[:, None]).argmin(1)]
        np.testing.assert_allclose(getattr(after, axis), want)
    others = [k for k in range(ACTION_SIZE) if k not in STICK_X_COLUMNS]
    np.testing.assert_array_equal(mirrored[:, others], actions[:, others])
    compiled = actions.copy()
    _mirror_rows(compiled, codec.stick_centres)
    np.testing.assert_array_equal(compiled, mirrored)
    if centres is None:  # uniform buckets: i -> n - 1 - i, and mirroring twice is the identity
        np.testing.assert_array_equal(mirrored[:, STICK_X_COLUMNS], 16 - actions[:, STICK_X_COLUMNS])
        np.testing.assert_array_equal(codec.mirror(mirrored.copy()), actions)


def test_check_and_check_rows_agree_and_name_the_component():
    codec = ControllerCodec()
    good = np.tile(codec.noop(), (3, 1))
    assert codec.check_rows(good, 3).flags.writeable
    assert codec.check(good, (3,)).shape == (3, ACTION_SIZE)
    with pytest.raises(ValueError, match=r"shape \(2, 13\)"):
        codec.check(good, (2,))
    bad = good.copy()
    bad[2, 12] = 5
    with pytest.raises(ValueError, match=r"component 12 \(shoulder\) = 5 is outside \[0, 4\]"):
        codec.check(bad)
    with pytest.raises(ValueError, match=r"row 2, component 12 \(shoulder\) = 5 is outside \[0, 4\]"):
        codec.check_rows(bad, 3)
    with pytest.raises(ValueError, match=r"shape \(4, 13\)"):
        codec.check_rows(good, 4)
