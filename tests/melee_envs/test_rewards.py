import numpy as np

from melee_envs.rewards import RewardConfig, shaped, win_loss


def test_stock_and_damage_zero_sum():
    r = shaped(np.array([4, 4]), np.array([0.0, 50.0]), np.array([4, 3]), np.array([12.0, 0.0]), RewardConfig())
    assert np.allclose(r, [1.0 - 0.12, -1.0 + 0.12])
    assert np.isclose(r.sum(), 0.0)


def test_sparse_win_loss():
    assert win_loss(np.array(True), np.array(1)).tolist() == [-1.0, 1.0]
    assert win_loss(np.array(True), np.array(-1)).tolist() == [0.0, 0.0]
    r = shaped(
        np.array([1, 1]), np.zeros(2), np.array([1, 0]), np.zeros(2), RewardConfig.sparse(), np.array(True), np.array(0)
    )
    assert r.tolist() == [1.0, -1.0]


def test_reward_weights_must_be_finite_numbers():
    import pytest

    for bad in (float("nan"), float("inf"), "1.0", None, True):
        with pytest.raises(ValueError, match="RewardConfig.damage_weight must be a finite number"):
            RewardConfig(damage_weight=bad)
    assert RewardConfig(stock_weight=np.float32(2.0)).stock_weight == 2.0
    with pytest.raises(ValueError, match="win_weight"):
        gym = pytest.importorskip("gymnasium")
        gym.make("melee_envs:Melee-v0", reward=RewardConfig(win_weight=float("nan")))


def test_one_winner_rule_most_stocks_then_least_percent_else_draw():
    from melee_envs.scoring import decide_winner
    from melee_envs.state import PackedState

    packed = PackedState((4,), 2)
    stocks = packed.pi[:, :, 0, 2]
    percent = packed.pf[:, :, 0, 2]
    stocks[:] = [[2, 1], [1, 1], [1, 1], [3, 4]]
    percent[:] = [[90.0, 0.0], [30.0, 10.0], [10.0, 10.0], [0.0, 50.0]]
    assert [decide_winner(packed.pi, packed.pf, b) for b in range(4)] == [0, 1, -1, 1]


def test_shaped_takes_any_batch_shape_and_adds_the_win_term_where_done():
    prev = np.array([[[4, 4], [2, 2]], [[1, 1], [3, 3]]])
    nxt = np.array([[[4, 3], [2, 2]], [[0, 1], [3, 3]]])
    zeros = np.zeros(prev.shape)
    done = np.array([[False, False], [True, False]])
    winner = np.array([[-1, -1], [1, -1]])
    r = shaped(prev, zeros, nxt, zeros, RewardConfig(win_weight=2.0), done, winner)
    assert r.shape == (2, 2, 2) and r.dtype == np.float32
    assert r.tolist() == [[[1.0, -1.0], [0.0, 0.0]], [[-3.0, 3.0], [0.0, 0.0]]]
