"""Projectiles: the lasers and Samus's shot fly as the shared replays record them, projectiles hit,
push shields, bounce, return, and a shine reflects them."""

import collections

import numpy as np
import pytest

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.backends.mock.engine import schema
from melee_envs.backends.replay import read_replay
from melee_envs.backends.replay.reader import _field, _np, parse
from melee_envs.data.actions import actions
from melee_envs.data.projectiles import PROJECTILE_KIND_FIELDS, PROJECTILES, REFLECT_DAMAGE, projectile_table

A = actions()
B, STICK_X, STICK_Y, SHOULDER_L = 1, 8, 9, 5
FOX_LASER, FALCO_LASER, CHARGE_SHOT, SHY_GUY = 54, 55, 94, 210


def _kind(type_):
    return next(p for p in PROJECTILES if p.type == type_)


def _game(a="FOX", b="FOX", xa=-60.0, xb=60.0, stale=False):
    be = MockBackend(1, MockConfig(characters=(a, b), stage="fd", stale_moves=stale))
    be.reset(0)
    pf = be.packed.pf[0, :, 0]
    pf[0, schema.P_X], pf[1, schema.P_X] = xa, xb
    return be


def _act(be, p0=(), p1=(), stick0=(8, 8), stick1=(8, 8)):
    act = np.broadcast_to(be.codec.noop(), (1, 2, 13)).copy()
    for p, held, stick in ((0, p0, stick0), (1, p1, stick1)):
        for k in held:
            act[0, p, k] = 1
        act[0, p, STICK_X], act[0, p, STICK_Y] = stick
    return act


def _live(s):
    j = s.projectiles
    return [
        (int(j.type[0, k]), int(j.owner[0, k]), float(j.x[0, k]), float(j.y[0, k]), float(j.speed_x[0, k]))
        for k in np.flatnonzero(j.exists[0])
    ]


def test_kind_columns_follow_the_table():
    names = [n for n in dir(schema) if n.startswith("K_")]
    assert {getattr(schema, n) for n in names} == set(range(len(PROJECTILE_KIND_FIELDS)))
    t = projectile_table()
    for k, p in enumerate(PROJECTILES):
        assert t.of_type[p.type] == k and t.kinds[k, schema.K_SPEED_X] == pytest.approx(p.speed_x)
    assert {p.character for p in PROJECTILES} >= {"FOX", "FALCO", "SAMUS", "SHEIK", "MARIO", "DOC", "LINK", "YLINK"}


def _replay_items(replays_dir):
    """Every item record of the shared replays: type -> list of (speed_x, speed_y, timer) at
    each item's first frame and of each frame it moved."""
    first, moving = collections.defaultdict(list), collections.defaultdict(list)
    for path in sorted(replays_dir.rglob("*.slp")):
        if "bad" in path.parts:
            continue
        item = _field(parse(path).frames, "item")
        if item is None or len(item.values) == 0:
            continue
        v = item.values
        typ, ident, timer = (_np(_field(v, n)) for n in ("type", "id", "timer"))
        vx, vy = _np(_field(v, "velocity", "x")), _np(_field(v, "velocity", "y"))
        seen = set()
        for i in range(len(typ)):
            if (typ[i], ident[i]) not in seen:
                seen.add((typ[i], ident[i]))
                first[int(typ[i])].append(float(timer[i]))
            if vx[i] != 0 or vy[i] != 0:
                moving[int(typ[i])].append((abs(float(vx[i])), float(vy[i]), float(timer[i])))
    return first, moving


def test_the_lasers_and_the_charge_shot_are_measured_on_the_replays(replays_dir):
    """The table's numbers for the kinds the replays hold are what the replays record: the speed
    most items fly at, and the timer at spawn (the frames it exists)."""
    first, moving = _replay_items(replays_dir)
    for type_ in (FOX_LASER, FALCO_LASER):
        kind = _kind(type_)
        speeds = collections.Counter(round(sx, 2) for sx, sy, _ in moving[type_] if sy == 0)
        assert speeds.most_common(1)[0][0] == pytest.approx(kind.speed_x), type_
        assert collections.Counter(first[type_]).most_common(1)[0][0] == kind.lifetime, type_
    shots = [(sx, t) for sx, sy, t in moving[CHARGE_SHOT]]
    assert min(sx for sx, _ in shots) == pytest.approx(_kind(CHARGE_SHOT).speed_x)
    assert max(t for _, t in shots) == _kind(CHARGE_SHOT).lifetime


@pytest.mark.parametrize("name,type_", [("FOX", FOX_LASER), ("FALCO", FALCO_LASER)])
def test_an_engine_laser_flies_at_the_measured_speed_for_its_lifetime(name, type_):
    kind = _kind(type_)
    be = _game(name, "FOX", xa=-150.0, xb=-170.0)  # the target behind: nothing in the way
    be.step(_act(be, p0={B}))
    xs, frames = [], 0
    for _ in range(200):
        live = _live(be.step(_act(be)))
        if live:
            frames += 1
            xs.append(live[0][2])
        elif frames:
            break
    right = float(be._t.blast[be.packed.stage[0], 1])
    in_bounds = int(np.floor((right - xs[0]) / kind.speed_x)) + 1  # Falco's lasers outrun the stage
    assert frames == min(kind.lifetime, in_bounds)
    assert np.allclose(np.diff(xs), kind.speed_x, atol=1e-3)
    assert xs[0] == pytest.approx(-150.0 + kind.spawn_x, abs=0.5)


def test_fox_laser_deals_damage_without_flinching_and_falco_laser_launches():
    for shooter, flinch in (("FOX", False), ("FALCO", True)):
        be = _game(shooter, "MARTH")
        be.step(_act(be, p0={B}))
        for _ in range(60):
            s = be.step(_act(be))
            if s.players.percent[0, 1] > 0:
                break
        assert s.players.percent[0, 1] == pytest.approx(3.0)
        assert (int(s.players.action[0, 1]) != A["STANDING"]) == flinch, shooter
        assert not _live(s), "a projectile that hits is gone"


def test_a_shine_reflects_a_laser_back_at_its_shooter_with_more_damage():
    be = _game("FALCO", "FOX", xa=-40.0, xb=40.0)
    be.step(_act(be, p0={B}))
    owners = []
    for f in range(120):
        s = be.step(_act(be, p1={B} if f >= 10 else (), stick1=(8, 0) if f == 10 else (8, 8)))
        owners += [o for _, o, _, _, _ in _live(s)]
        if s.players.percent[0, 0] > 0:
            break
    assert int(s.players.action[0, 1]) in range(360, 370), "the reflector is up"
    assert s.players.percent[0, 1] == 0.0, "the shine took the laser"
    assert owners[0] == 0 and owners[-1] == 1, "the reflected laser is Fox's"
    assert s.players.percent[0, 0] == pytest.approx(3.0 * REFLECT_DAMAGE)


def test_a_laser_on_a_shield_takes_shield_not_percent():
    be = _game("FALCO", "FOX")
    shield = float(be.state.players.shield[0, 1])
    be.step(_act(be, p0={B}, p1={SHOULDER_L}))
    for _ in range(60):
        s = be.step(_act(be, p1={SHOULDER_L}))
        if not _live(s) and s.frame[0] > 30:
            break
    assert s.players.percent[0, 1] == 0.0
    assert float(s.players.shield[0, 1]) < shield - 0.5 * 0.7 * 3.0  # the shield also decays held


def test_a_fireball_bounces_along_the_ground_and_a_boomerang_comes_back():
    be = _game("MARIO", "FOX", xa=-70.0, xb=-80.0)
    be.step(_act(be, p0={B}))
    ys = [live[0][3] for live in (_live(be.step(_act(be))) for _ in range(80)) if live]
    assert min(ys) >= 0.0 and any(a > b < c for a, b, c in zip(ys, ys[1:], ys[2:], strict=False)), "it bounced"
    be = _game("LINK", "FOX", xa=-60.0, xb=-80.0)
    be.step(_act(be, p0={B}, stick0=(16, 8)))
    speeds = [live[0][4] for live in (_live(be.step(_act(be))) for _ in range(120)) if live]
    assert speeds and max(speeds) > 0 and min(speeds) < 0, "it turned back"


def test_load_state_keeps_modelled_projectiles_and_drops_stage_items(replays_dir):
    replay = read_replay(replays_dir / "peppi" / "duplicate_game_end.slp")
    proj = replay.state.projectiles
    both = np.flatnonzero((proj.type == FALCO_LASER).any(1) & (proj.type == SHY_GUY).any(1))
    assert len(both), "the replay has a frame with a laser and a stage item"
    frame = replay.state[int(both[0])]
    be = MockBackend(1, MockConfig(characters=("FALCO", "FALCO"), stage="yoshis"))
    s = be.load_state(frame)
    types = {t for t, *_ in _live(s)}
    assert types == {FALCO_LASER}
    before = {round(x, 3) for t, _, x, _, _ in _live(s)}
    after = _live(be.step())
    assert all(abs(sx) == pytest.approx(5.0) for *_, sx in after)
    assert {round(x, 3) for _, _, x, _, _ in after} != before
