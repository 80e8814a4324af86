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
