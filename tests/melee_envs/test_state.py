import numpy as np

from melee_envs import state as S


def test_shapes_for_any_batch_shape():
    for shape in [(), (5,), (3, 4)]:
        s = S.zeros(shape)
        assert s.stage.shape == shape
        assert s.players.x.shape == shape + (2,)
        assert s.players.controller.buttons.shape == shape + (2, 8)
        assert s.players.nana.x.shape == shape + (2,)
        assert s.projectiles.x.shape == shape + (S.NUM_PROJECTILE_SLOTS,)
        assert s.players.x.dtype == np.float32 and s.players.action.dtype == np.int32


def test_packed_views_see_kernel_writes_and_round_trip():
    packed = S.PackedState((3,))
    view = packed.view()
    packed.pf[1, 0, 0, S.PLAYER_FLOAT_COLUMNS.index("x")] = 12.5
    assert view.players.x[1, 0] == 12.5
    again = S.PackedState.from_state(view)
    assert again.view().players.x[1, 0] == 12.5
    frame = view[1]
    assert frame.batch_shape == () and frame.players.x[0] == 12.5
    stacked = S.stack([view[0], view[1]])
    assert stacked.players.x.shape == (2, 2)
