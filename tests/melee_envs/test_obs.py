import pytest

from melee_envs import state as S
from melee_envs.obs import ObsConfig, ObservationEncoder


def test_seed_1204_layout():
    enc = ObservationEncoder(ObsConfig.seed_1204())
    lay = enc.layout
    assert enc.size == 1204
    sizes = {k: v.stop - v.start for k, v in lay.items() if "." not in k}
    assert sizes == {
        "player0": 488,
        "player1": 488,
        "stage": 64,
        "names": 112,
        "spatial": 4,
        "projectiles": 35,
        "controller": 13,
    }
    assert lay["player0.action"].stop - lay["player0.action"].start == 399
    assert lay["player0.nana"].stop - lay["player0.nana"].start == 39


def test_learned_mode_appends_ids():
    enc = ObservationEncoder(ObsConfig.learned())
    assert enc.id_names == ["action0", "action1", "nana_action0", "nana_action1", "character0", "character1", "stage"]
    s = S.zeros((2,))
    s.players.action[:] = [[14, 44], [20, 0]]
    s.players.character[:] = 1
    s.stage[:] = 25
    out = enc.encode(s, ego=0)
    ids = out[:, enc.layout["ids"]]
    assert ids[0].tolist() == [14, 44, 0, 0, 1, 1, 25]


def test_values_and_ego_swap():
    enc = ObservationEncoder()
    s = S.zeros((1,))
    s.players.x[0] = [-30.0, 40.0]
    s.players.percent[0] = [10.0, 55.0]
    s.players.action[0] = [14, 44]
    s.players.character[0] = [1, 15]
    s.stage[0] = 25
    lay = enc.layout
    a = enc.encode(s, ego=0)[0]
    b = enc.encode(s, ego=1)[0]
    assert a[lay["player0.x"]][0] == pytest.approx(-0.3) and b[lay["player0.x"]][0] == pytest.approx(0.4)
    assert a[lay["player0.action"]].argmax() == 14 and a[lay["player1.action"]].argmax() == 44
    assert b[lay["player0.character"]].argmax() == 15
    assert a[lay["stage"]].argmax() == 5  # FD in the compact one-hot
    assert a[lay["spatial"]][0] == pytest.approx(0.7)


def test_batch_shape_preserved_and_preallocated_out():
    enc = ObservationEncoder()
    s = S.zeros((3, 4))
    assert enc.encode(s).shape == (3, 4, enc.size)
    out = enc.allocate(12)
    res = enc.encode_packed(S.PackedState.from_state(s.map(lambda a: a.reshape((12,) + a.shape[2:]))), 0, out)
    assert res is out


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="unknown ObsConfig field"):
        ObsConfig.from_dict({"actoin_mode": "one_hot"})
    with pytest.raises(ValueError, match="stage_mode"):
        ObsConfig(stage_mode="huge")
