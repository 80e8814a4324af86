import numpy as np
import pytest

from melee_envs.data import actions, characters, stages
from melee_envs.data.moves import ENGINE_MOVES, MOVE_FIELDS, move_table


def test_characters_cover_the_cast_with_both_id_conventions():
    table = characters.characters()
    assert len(characters.playable()) == 26
    fox = table["FOX"]
    assert (fox.internal_id, fox.css_id) == (1, 10)
    assert characters.css_to_internal(10) == 1
    assert characters.internal_to_css(1) == 10
    assert characters.css_to_internal(0) == table["DOC"].internal_id  # CSS 0 is Dr. Mario
    for info in table.values():
        if info.css_id is not None:
            assert characters.css_to_internal(info.css_id) == info.internal_id


def test_attributes_come_from_libmelee_and_fightcore():
    fox, puff = characters.get("fox"), characters.get("puff")
    assert (fox.gravity, fox.terminal_velocity, fox.fast_fall_speed) == (0.23, 2.8, 3.4)
    assert (fox.weight, fox.jump_squat) == (75, 3)
    assert (fox.full_hop_velocity, fox.short_hop_velocity) == (3.68, 2.1)
    assert puff.extra_jumps == 5 and puff.weight == 60


def test_aliases_and_unknown_character():
    assert characters.get("ics").name == "POPO"
    assert characters.get("Captain Falcon").name == "CPTFALCON"
    assert characters.get(15).name == "JIGGLYPUFF"
    with pytest.raises(ValueError, match="unknown character 'waluigi'"):
        characters.get("waluigi")


def test_six_legal_stages_with_geometry():
    table = stages.stages()
    assert set(table) == set(stages.LEGAL)
    bf = stages.get("bf")
    assert bf.external_id == 31 and bf.internal_id == 0x18
    assert (bf.blast_left, bf.blast_right, bf.blast_top, bf.blast_bottom) == (-224, 224, 200, -108.8)
    assert len(bf.platforms) == 3 and len(stages.get("fd").platforms) == 0
    assert stages.external_to_internal(32) == stages.get("fd").internal_id
    for s in table.values():
        assert s.ledge_x > s.ground_x > 0
        assert s.blast_left < -s.ledge_x and s.blast_right > s.ledge_x
    with pytest.raises(ValueError, match="unknown stage 'hyrule'"):
        stages.get("hyrule")


def test_actions_are_libmelee_ids():
    assert actions.A.STANDING == 0x0E
    assert actions.A.KNEE_BEND == 0x18
    assert actions.name_of(0xB3) == "SHIELD"
    assert actions.category_table().shape == (399,)
    with pytest.raises(AttributeError):
        _ = actions.A.NOT_AN_ACTION


def test_move_table_uses_real_frame_data():
    table = move_table()
    fox = table.values[characters.get("fox").internal_id]
    col = {n: i for i, n in enumerate(MOVE_FIELDS)}
    jab = fox[[n for n, _ in ENGINE_MOVES].index("jab1")]
    assert jab[col["action"]] == actions.A.NEUTRAL_ATTACK_1
    assert jab[col["active_start"]] == 2 and jab[col["damage"]] == 4
    assert np.all(table.values[[c.internal_id for c in characters.characters().values()], :, col["total"]] > 0)
