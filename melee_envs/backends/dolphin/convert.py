"""libmelee ``GameState`` -> this package's ``GameState``: the same fields, ids and units as the
mock engine and the replay reader (tests compare it with the replay reader frame by frame)."""

from __future__ import annotations

from typing import Any

from melee_envs.data.actions import DAMAGE_ACTIONS, zero_indexed_table
from melee_envs.data.stages import geometry_arrays
from melee_envs.state import (
    BUTTONS,
    NUM_PROJECTILE_SLOTS,
    PLAYER_BOOL_COLUMNS as PB,
    PLAYER_FLOAT_COLUMNS as PF,
    PLAYER_INT_COLUMNS as PI,
    PROJ_FLOAT_COLUMNS as JF,
    PROJ_INT_COLUMNS as JI,
    PackedState,
)

_GROUND_X = geometry_arrays()["ground_x"]
_INT_ORDER = ("character", "action", "stocks", "jumps_left")
_FLOAT_BODY = (
    "x", "y", "percent", "facing", "action_frame", "shield", "hitstun", "hitlag",
    "speed_air_x", "speed_y", "speed_ground_x", "speed_attack_x", "speed_attack_y", "ledge_distance",
)  # fmt: skip
_BOOL_BODY = ("exists", "on_ground", "invulnerable")
assert tuple(PI) == _INT_ORDER and tuple(PF[: len(_FLOAT_BODY)]) == _FLOAT_BODY
assert tuple(PB[: len(_BOOL_BODY)]) == _BOOL_BODY
_B0 = PB.index("button_A")
_MAIN_X = PF.index("main_x")
_FRAME = PF.index("action_frame")
_ZERO_INDEXED = zero_indexed_table()


def _button_enums() -> list[Any]:
    from melee import enums

    return [getattr(enums.Button, f"BUTTON_{b}") for b in BUTTONS]


class Converter:
    """Writes libmelee gamestates into row ``row`` of a :class:`PackedState` for two ports."""

    def __init__(self, ports: tuple[int, int]) -> None:
        self.ports = ports
        self._buttons = _button_enums()

    def write(self, gs: Any, packed: PackedState, row: int = 0) -> None:
        stage = int(getattr(gs.stage, "value", gs.stage) or 0)
        packed.stage[row] = stage
        packed.frame[row] = int(gs.frame)
        ground = float(_GROUND_X[stage]) if 0 <= stage < len(_GROUND_X) else 0.0
        for p, port in enumerate(self.ports):
            ps = gs.players.get(port)
            self._body(ps, packed, row, p, 0, ground)
            if ps is None:
                packed.pb[row, p, 0, _B0:] = False
                packed.pf[row, p, 0, _MAIN_X:] = (0.5, 0.5, 0.5, 0.5, 0.0)
            else:
                cs = ps.controller_state
                packed.pb[row, p, 0, _B0:] = [cs.button[b] for b in self._buttons]
                packed.pf[row, p, 0, _MAIN_X:] = (*cs.main_stick, *cs.c_stick, cs.l_shoulder)
            nana = getattr(ps, "nana", None)
            self._body(nana, packed, row, p, 1, ground)
            if nana is not None:
                # libmelee makes action frames 1-based for leaders only; Nana gets the same rule.
                packed.pf[row, p, 1, _FRAME] += _ZERO_INDEXED[
                    min(int(nana.character.value), 32), int(nana.action.value) & 511
                ]
        self._projectiles(gs.projectiles, packed, row)

    @staticmethod
    def _body(ps: Any, packed: PackedState, row: int, p: int, entity: int, ground: float) -> None:
        if ps is None:
            packed.pi[row, p, entity] = 0
            packed.pf[row, p, entity, : len(_FLOAT_BODY)] = 0.0
            packed.pb[row, p, entity, : len(_BOOL_BODY)] = False
            return
        action = int(ps.action.value)
        in_damage = DAMAGE_ACTIONS[0] <= action <= DAMAGE_ACTIONS[1]
        x = float(ps.position.x)
        packed.pi[row, p, entity] = (int(ps.character.value), action, int(ps.stock), int(ps.jumps_left))
        packed.pf[row, p, entity, : len(_FLOAT_BODY)] = (
            x, ps.position.y, ps.percent, 1.0 if ps.facing else -1.0, ps.action_frame, ps.shield_strength,
            ps.hitstun_frames_left if in_damage else 0.0, ps.hitlag_left,
            ps.speed_air_x_self, ps.speed_y_self, ps.speed_ground_x_self, ps.speed_x_attack, ps.speed_y_attack,
            ground - abs(x),
        )  # fmt: skip
        packed.pb[row, p, entity, : len(_BOOL_BODY)] = (True, bool(ps.on_ground), bool(ps.invulnerable))

    def _projectiles(self, projectiles: list[Any], packed: PackedState, row: int) -> None:
        packed.jb[row] = False
        packed.ji[row] = 0
        packed.jf[row] = 0.0
        for k, proj in enumerate(projectiles[:NUM_PROJECTILE_SLOTS]):
            owner = int(proj.owner)
            packed.jb[row, k] = True
            packed.ji[row, k, JI.index("type")] = int(getattr(proj.type, "value", proj.type))
            packed.ji[row, k, JI.index("owner")] = self.ports.index(owner) if owner in self.ports else -1
            packed.jf[row, k, : len(JF)] = (proj.position.x, proj.position.y, proj.speed.x, proj.speed.y)
