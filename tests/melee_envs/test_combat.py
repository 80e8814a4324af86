"""The mock engine's combat and defence against the data and formulas they come from."""

import csv
import math

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.backends.mock.engine import rules, schema
from melee_envs.data import actions, characters, libmelee_source
from melee_envs.data.moves import MOVE_INDEX, move_table

A = actions.actions()
X, Y, PCT, FACE, SHIELD, HITSTUN, HITLAG, KBX, KBY = (
    schema.P_X,
    schema.P_Y,
    schema.P_PCT,
    schema.P_FACE,
    schema.P_SHIELD,
    schema.P_HITSTUN,
    schema.P_HITLAG,
    schema.P_KBX,
    schema.P_KBY,
)
C_X, C_Y = 10, 11  # c-stick axes in the action layout
R_BUTTON = 6


def melee_knockback(percent_after, damage, weight, bkb, kbg, skb=0.0):
    """SSBWiki's Melee knockback formula, written out independently of the engine."""
    if skb:
        percent_after, damage = 10.0, skb
    return ((percent_after / 10 + percent_after * damage / 20) * (200 / (weight + 100)) * 1.4 + 18) * (kbg / 100) + bkb


def duel(attacker="FOX", defender="FOX", gap=8.0, defender_percent=0.0):
    be = MockBackend(1, MockConfig(characters=(attacker, defender), stage="fd"))
    be.reset(0)
    pf = be.packed.pf
    pf[0, 0, 0, X] = 0.0
    pf[0, 0, 0, FACE] = 1.0
    pf[0, 1, 0, X] = gap
    pf[0, 1, 0, FACE] = -1.0
    pf[0, 1, 0, PCT] = defender_percent
    return be


def noop(be):
    return np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()


def libmelee_active_frames(character: str, action: str) -> tuple[int, int, int]:
    """(first active, last active, total) frames from libmelee's framedata.csv."""
    ch, act = characters.get(character).internal_id, A[action]
    rows = []
    with libmelee_source.data_file("framedata.csv").open() as f:
        for r in csv.DictReader(f):
            if int(r["character"]) == ch and int(r["action"]) == act:
                rows.append(r)
    active = [int(r["frame"]) for r in rows if any(r[f"hitbox_{k}_status"] == "True" for k in range(1, 5))]
    return min(active), max(active), len(rows)


def test_fox_upsmash_hits_exactly_on_its_first_active_frame():
    first, last, total = libmelee_active_frames("FOX", "UPSMASH")
    be = duel(gap=6.0)
    act = noop(be)
    act[0, 0, C_Y] = 16  # c-stick up: up-smash
    hit_frame = None
    for _ in range(total + 5):
        s = be.step(act)
        act[0, 0, C_Y] = 8
        if s.players.action[0, 0] == A["UPSMASH"] and s.players.percent[0, 1] > 0 and hit_frame is None:
            hit_frame = int(s.players.action_frame[0, 0])
    assert hit_frame == first


@pytest.mark.parametrize("last_offset,expect_hit", [(0, True), (1, False)])
def test_fox_upsmash_hitbox_ends_on_the_last_active_frame(last_offset, expect_hit):
    """The defender, standing where the last active frame's hitbox is (behind Fox: the up-smash
    sweeps over his head), is intangible until the frame after ``last + offset - 1``: it is hit on
    the last active frame, and not a frame later."""
    first, last, total = libmelee_active_frames("FOX", "UPSMASH")
    geometry = move_table().hitboxes.geometry[characters.get("FOX").internal_id, MOVE_INDEX["usmash"], last]
    be = duel(gap=float(geometry[0, 0]))
    be.ei[0, 1, schema.EI_INVULN] = last + last_offset  # counts down once per frame before hits
    act = noop(be)
    act[0, 0, C_Y] = 16
    for _ in range(total + 2):
        be.step(act)
        act[0, 0, C_Y] = 8
    assert (be.state.players.percent[0, 1] > 0) == expect_hit


def test_upsmash_uses_the_data_and_the_action_lasts_its_total():
    _, _, total = libmelee_active_frames("FOX", "UPSMASH")
    table = move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["usmash"]]
    assert table[1] == total
    be = duel(gap=60.0)
    act = noop(be)
    act[0, 0, C_Y] = 16
    seen = 0
    for _ in range(total + 10):
        s = be.step(act)
        act[0, 0, C_Y] = 8
        seen += int(s.players.action[0, 0] == A["UPSMASH"])
    assert seen == total


@pytest.mark.parametrize("percent", [0.0, 100.0])
def test_knockback_follows_the_formula(percent):
    fox = characters.get("FOX")
    mv = move_table().values[fox.internal_id, MOVE_INDEX["usmash"]]
    damage, bkb, kbg = float(mv[8]), float(mv[10]), float(mv[11])
    expected = melee_knockback(percent + damage, damage, fox.weight, bkb, kbg)
    assert rules.knockback(percent + damage, damage, fox.weight, bkb, kbg, 0.0) == pytest.approx(expected, abs=1e-6)
    # End to end: the launch speed is 0.03 x knockback; hitstun is floor(0.4 x knockback).
    be = duel(gap=6.0, defender_percent=percent)
    act = noop(be)
    act[0, 0, C_Y] = 16
    for _ in range(20):
        be.step(act)
        act[0, 0, C_Y] = 8
        pf = be.packed.pf[0, 1, 0]
        if pf[HITLAG] > 0:
            break
    speed = math.hypot(float(pf[KBX]), float(pf[KBY]))
    assert speed / rules.KB_SPEED == pytest.approx(expected, rel=1e-5)
    assert pf[HITSTUN] == math.floor(expected * rules.HITSTUN_PER_KB)
    assert be.state.players.percent[0, 1] == pytest.approx(percent + damage)


def test_set_knockback_ignores_percent():
    a = rules.knockback(10.0, 5.0, 100.0, 0.0, 100.0, 40.0)
    b = rules.knockback(150.0, 5.0, 100.0, 0.0, 100.0, 40.0)
    assert a == b == pytest.approx(melee_knockback(10.0, 5.0, 100.0, 0.0, 100.0, 40.0), abs=1e-6)


def _flight(defender: str) -> float:
    be = duel("FOX", defender, gap=6.0, defender_percent=80.0)
    act = noop(be)
    act[0, 0, C_Y] = 16
    top = 0.0
    for _ in range(90):
        s = be.step(act)
        act[0, 0, C_Y] = 8
        top = max(top, float(s.players.y[0, 1]))
    return top


def test_heavier_character_flies_less_far():
    assert characters.get("BOWSER").weight > characters.get("FOX").weight
    assert _flight("BOWSER") < _flight("FOX") - 5.0


def test_hitstun_ends_when_it_should():
    be = duel(gap=6.0, defender_percent=50.0)
    act = noop(be)
    act[0, 0, C_Y] = 16
    while be.packed.pf[0, 1, 0, HITLAG] == 0:
        be.step(act)
        act[0, 0, C_Y] = 8
    hitlag, hitstun = int(be.packed.pf[0, 1, 0, HITLAG]), int(be.packed.pf[0, 1, 0, HITSTUN])
    assert hitstun > 0
    frames = 0
    while be.packed.pf[0, 1, 0, HITSTUN] > 0 or be.packed.pf[0, 1, 0, HITLAG] > 0:
        be.step(act)
        frames += 1
    # The frame on which hitlag reaches 0 already moves and counts down hitstun (as the replays
    # that record hitlag show): hitlag - 1 frozen frames, then hitstun frames.
    assert frames == hitlag - 1 + hitstun
    assert be.state.players.action[0, 1] in (A["TUMBLING"], A["FALLING"], A["STANDING"], A["LYING_GROUND_UP"])


def _shielding(gap, frames):
    """A duel whose defender has held R (its shield) for ``frames`` frames; the backend and the
    actions (R still held)."""
    be = duel(gap=gap)
    act = noop(be)
    act[0, 1, R_BUTTON] = 1
    for _ in range(frames):
        be.step(act)
    return be, act


def test_shielded_hit_deals_no_damage_and_drains_the_shield():
    be, act = _shielding(6.0, 3)
    assert be.state.players.action[0, 1] in (A["SHIELD_START"], A["SHIELD"])
    act[0, 0, C_Y] = 16
    drop = None
    for _ in range(15):
        before = float(be.state.players.shield[0, 1])
        be.step(act)
        act[0, 0, C_Y] = 8
        if drop is None and be.state.players.action[0, 1] == A["SHIELD_STUN"]:
            drop = before - float(be.state.players.shield[0, 1])
    mv = move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["usmash"]]
    assert drop is not None  # the hit put the shield in shieldstun
    assert be.state.players.percent[0, 1] == 0.0
    # The held shield shrinks by its decay that frame, and by 0.7 of the hit's damage (replays).
    assert drop == pytest.approx(rules.SHIELD_DAMAGE_RATIO * mv[8] + rules.SHIELD_DECAY, abs=1e-4)


def test_shield_shrinks_while_held_and_breaks():
    be = duel(gap=40.0)
    act = noop(be)
    act[0, 1, R_BUTTON] = 1
    broke = False
    for _ in range(int(60 / rules.SHIELD_DECAY) + 20):
        s = be.step(act)
        broke |= s.players.action[0, 1] == A["SHIELD_BREAK_FLY"]
    assert broke


def test_wavedash_slides_along_the_ground():
    be = duel(gap=40.0)
    act = noop(be)
    act[0, 0, 2] = 1  # X: jump
    be.step(act)
    act[0, 0, 2] = 0
    while be.state.players.on_ground[0, 0]:
        be.step(act)
    x0 = float(be.state.players.x[0, 0])
    act[0, 0, 5] = 1  # L: air dodge, down-right
    act[0, 0, 8], act[0, 0, 9] = 16, 0
    landed = False
    for _ in range(12):
        s = be.step(act)
        act[0, 0, 5] = 0
        landed |= s.players.action[0, 0] == A["LANDING_SPECIAL"]
    assert landed
    assert float(be.state.players.x[0, 0]) - x0 > 5.0


def test_grab_and_forward_throw():
    be = duel(gap=8.0)
    act = noop(be)
    act[0, 0, 4] = 1  # Z: grab
    grabbed = False
    for _ in range(15):
        s = be.step(act)
        act[0, 0, 4] = 0
        if s.players.action[0, 1] == A["GRABBED"]:
            grabbed = True
            break
    assert grabbed and s.players.action[0, 0] == A["GRAB_WAIT"]
    act[0, 0, 8] = 16  # forward
    for _ in range(60):
        s = be.step(act)
    fthrow = move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["fthrow"]]
    assert s.players.percent[0, 1] == pytest.approx(fthrow[8])
    assert s.players.x[0, 1] > 20.0


def _press_together(presses, steps=12):
    """Fox against Fox 8 units apart; ``presses``: {(player, step): (index, value)}; the percents and
    actions after each step."""
    be = duel(gap=8.0)
    be.packed.pf[0, :, 0, X] = (-4.0, 4.0)
    out = []
    for t in range(steps):
        act = noop(be)
        for (player, step), (index, value) in presses.items():
            if step == t:
                act[0, player, index] = value
        s = be.step(act)
        out.append((s.players.percent[0].copy(), s.players.action[0].copy(), s.players.x[0].copy()))
    return be, out


def test_hits_on_the_same_frame_trade_with_no_port_advantage():
    be, out = _press_together({(0, 0): (0, 1), (1, 0): (0, 1)})  # both jab on the same frame
    jab = move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["jab1"]]
    hit = next(t for t, (percent, _, _) in enumerate(out) if percent.any())
    percent, action, x = out[hit]
    assert percent.tolist() == [jab[schema.M_DMG]] * 2
    assert action[0] == action[1] and action[0] in (A["DAMAGE_NEUTRAL_1"], A["DAMAGE_AIR_1"])
    assert all(x[0] == -x[1] and a[0] == a[1] for _, a, x in out)  # a mirror image to the end
    pf = be.packed.pf[0, :, 0]
    assert pf[0, KBX] == pytest.approx(-pf[1, KBX]) and pf[0, KBY] == pytest.approx(pf[1, KBY])
    assert pf[0, Y] == pf[1, Y] and pf[0, HITLAG] == pf[1, HITLAG]


def test_a_hit_beats_a_grab_landing_on_the_same_frame():
    fox = move_table().values[characters.get("FOX").internal_id]
    delay = int(fox[MOVE_INDEX["grab"], schema.M_START] - fox[MOVE_INDEX["jab1"], schema.M_START])
    _, alone = _press_together({(0, 0): (4, 1)})
    grab_step = next(t for t, (_, action, _) in enumerate(alone) if action[1] == A["GRABBED"])
    _, both = _press_together({(0, 0): (4, 1), (1, delay): (0, 1)})
    hit_step = next(t for t, (percent, _, _) in enumerate(both) if percent[0] > 0)
    assert hit_step == grab_step  # the jab reaches the grabber on the frame the grab would have caught
    assert all(action[1] != A["GRABBED"] for _, action, _ in both)
    assert both[-1][0][1] == 0.0


def test_grab_against_grab_goes_to_the_lower_port():
    _, out = _press_together({(0, 0): (4, 1), (1, 0): (4, 1)})
    _, action, _ = out[-1]
    assert action[0] == A["GRAB_WAIT"] and action[1] == A["GRABBED"]


def _jab_again_and_again(times, **config):
    """Fox jabs a Fox standing 8 units away ``times`` times (each after the last has played out);
    the damage of each jab."""
    be = MockBackend(1, MockConfig(characters=("FOX", "FOX"), stage="fd", **config))
    be.reset(0)
    dealt = []
    for _ in range(times):
        pf = be.packed.pf[0, :, 0]
        pf[:, X], pf[:, FACE] = (0.0, 8.0), (1.0, -1.0)
        before = float(pf[1, PCT])
        act = noop(be)
        act[0, 0, 0] = 1  # A: jab
        be.step(act)
        for _ in range(60):
            be.step(noop(be))
        dealt.append(float(be.packed.pf[0, 1, 0, PCT]) - before)
    return dealt


def test_a_staled_move_deals_less_by_the_games_factors():
    jab = float(move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["jab1"], schema.M_DMG])
    dealt = _jab_again_and_again(11)
    # The n-th jab is in the queue's first n - 1 places (0.09, 0.08, ...); the queue holds nine.
    reduction = [sum(0.09 - 0.01 * k for k in range(min(n, 9))) for n in range(11)]
    assert dealt == pytest.approx([jab * (1 - r) for r in reduction], abs=1e-4)
    assert dealt[-1] == pytest.approx(jab * 0.55, abs=1e-4)  # fully staled: 1 - 0.45
    assert _jab_again_and_again(3, stale_moves=False) == pytest.approx([jab] * 3)


def test_other_moves_freshen_a_move_and_a_ko_empties_the_queue():
    be = MockBackend(1, MockConfig(characters=("FOX", "FOX"), stage="fd"))
    be.reset(0)
    ei = be.ei[0, 0]
    ei[schema.EI_QUEUE : schema.EI_QUEUE + 3] = MOVE_INDEX["jab1"] + 1
    pf = be.packed.pf[0, :, 0]
    pf[:, X], pf[:, FACE] = (0.0, 8.0), (1.0, -1.0)
    act = noop(be)
    act[0, 0, 0] = 1
    be.step(act)
    for _ in range(3):
        be.step(noop(be))
    jab = float(move_table().values[characters.get("FOX").internal_id, MOVE_INDEX["jab1"], schema.M_DMG])
    assert float(pf[1, PCT]) == pytest.approx(jab * (1 - 0.09 - 0.08 - 0.07))
    assert ei[schema.EI_QUEUE] == MOVE_INDEX["jab1"] + 1 and ei[schema.EI_QUEUE + 3] == MOVE_INDEX["jab1"] + 1
    pf[0, Y] = -400.0  # below the blast zone: a KO
    be.step(noop(be))
    assert not ei[schema.EI_QUEUE : schema.EI_QUEUE + schema.STALE_QUEUE].any()


def test_hits_on_a_shield_do_not_stale():
    be, act = _shielding(8.0, 5)
    act[0, 0, 0] = 1
    be.step(act)
    act[0, 0, 0] = 0
    for _ in range(5):
        be.step(act)
    assert be.packed.pf[0, 1, 0, SHIELD] < rules.SHIELD_MAX - 0.28 * 11  # the jab hit the shield
    assert not be.ei[0, 0, schema.EI_QUEUE :].any()


def test_roll_moves_by_the_libmelee_locomotion():
    be = duel(gap=60.0)
    act = noop(be)
    act[0, 0, R_BUTTON] = 1
    be.step(act)
    be.step(act)
    x0 = float(be.state.players.x[0, 0])
    act[0, 0, 8] = 16  # tap forward
    for _ in range(40):
        s = be.step(act)
        act[0, 0, R_BUTTON] = 0
        act[0, 0, 8] = 8
    loco = move_table().locomotion[characters.get("FOX").internal_id, MOVE_INDEX["rollforward"]]
    assert float(s.players.x[0, 0]) - x0 == pytest.approx(loco.sum(), rel=0.05)
    assert s.players.facing[0, 0] == -1.0  # a forward roll ends facing back


def test_load_state_round_trips_and_derives_the_move():
    be = duel(gap=6.0)
    act = noop(be)
    act[0, 0, C_Y] = 16
    for _ in range(3):
        be.step(act)
    snapshot = be.state.copy()
    other = MockBackend(1, MockConfig(characters=("MARTH", "PEACH")))
    other.load_state(snapshot)
    assert other.ei[0, 0, schema.EI_MOVE] == MOVE_INDEX["usmash"]
    np.testing.assert_array_equal(other.state.players.x, snapshot.players.x)
    with pytest.raises(ValueError, match="batch shape"):
        MockBackend(3).load_state(snapshot)


def test_every_character_plays_a_finite_game():
    """1v1 for every character in the data: random inputs for 10 s on a random legal stage."""
    rng = np.random.default_rng(0)
    names = [c.name for c in characters.characters().values() if c.name not in ("NANA",)]
    playable = [n for n in names if move_table().values[characters.get(n).internal_id, :, 1].max() > 0]
    assert len(playable) >= 25
    for name in playable:
        be = MockBackend(4, MockConfig(characters=(name, name), stage="random"))
        be.reset(int(rng.integers(1000)))
        for _ in range(600):
            s = be.step(rng.integers(0, be.codec.nvec, size=(4, 2, 13)))
            be.reset_done()
        assert np.isfinite(s.players.x).all() and np.isfinite(s.players.y).all(), name
        assert (s.players.action >= 0).all(), name


def _fsmash_at(gap):
    """Marth forward-smashes a Fox ``gap`` units in front: (damage dealt, launch speed)."""
    be = duel("MARTH", "FOX", gap=gap)
    act = noop(be)
    act[0, 0, C_X] = 16  # c-stick forward: forward smash
    speed = 0.0
    for _ in range(20):
        be.step(act)
        act[0, 0, C_X] = 8
        pf = be.packed.pf[0, 1, 0]
        speed = max(speed, math.hypot(float(pf[KBX]), float(pf[KBY])))
    return float(be.packed.pf[0, 1, 0, PCT]), speed


def test_marths_tipper_is_its_own_hitbox_and_launches_farther():
    table = move_table().hitboxes
    marth, fsmash = characters.get("MARTH").internal_id, MOVE_INDEX["fsmash"]
    sour, tipper = (float(table.props[marth, fsmash, 0, s, schema.M_DMG]) for s in (0, 3))
    assert (sour, tipper) == (14.0, 20.0)  # FightCore: hitboxes id0-id2 14%, id3 (the tip) 20%
    hits = {gap: _fsmash_at(gap) for gap in range(6, 40, 2)}
    sour_gaps = [g for g, (damage, _) in hits.items() if damage == sour]
    tip_gaps = [g for g, (damage, _) in hits.items() if damage == tipper]
    assert sour_gaps and tip_gaps and max(tip_gaps) > max(sour_gaps)  # the tip is the far end of the blade
    assert min(hits[g][1] for g in tip_gaps) > max(hits[g][1] for g in sour_gaps)


def test_foxs_drill_hits_again_after_each_gap_and_his_nair_hits_once():
    table = move_table().hitboxes
    fox = characters.get("FOX").internal_id
    for move, groups in (("dair", 7), ("nair", 1), ("uair", 2)):
        active = table.window[fox, MOVE_INDEX[move]]
        assert len({int(table.group[fox, MOVE_INDEX[move], w]) for w in active[active >= 0]}) == groups, move
    be = duel(gap=0.0)
    pf, pb, pi = be.packed.pf[0, :, 0], be.packed.pb[0, :, 0], be.packed.pi[0, :, 0]
    pf[:, Y] = (34.0, 30.0)  # Fox just above the other Fox, both falling alike
    pb[:, schema.P_GROUND] = False
    pi[:, schema.P_ACTION] = A["FALLING"]
    act = noop(be)
    act[0, 0, C_Y] = 0  # c-stick down: down aerial (the control stick would fast-fall)
    damage = []
    for _ in range(26):
        be.step(act)
        act[0, 0, C_Y] = 8
        now = float(be.packed.pf[0, 1, 0, PCT])
        if now > sum(damage):
            damage.append(now - sum(damage))
    # Fresh, then one level staler: the drill enters the stale queue once, on its first hit (SSBWiki).
    assert len(damage) >= 3 and damage[0] in (2.0, 3.0), damage
    assert all(d == pytest.approx(2.0 * 0.91) or d == pytest.approx(3.0 * 0.91) for d in damage[1:]), damage
