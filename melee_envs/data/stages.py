"""The six tournament-legal stages: ids, ground, ledges, platforms and blast zones.

Geometry comes from libmelee's ``stages.py`` (blast zones from Magus420's measurements, edge
positions, platform heights and extents), read as data. libmelee leaves Fountain of Dreams' side
platforms unset because they move in the real game; the mock engine holds them still at the
heights and extents observed in the public replays ``peppi/v3.18.slp`` and ``peppi/netplay.slp``
(left at y=16.125, right at y=22.125, |x| from 21 to 41.25): an approximation, documented in
``docs/mock-engine.md``.

Ids: libmelee's ``Stage`` enum numbers stages the way the game does in memory (``GameState.stage``
holds these); Slippi's game-start block uses the external ids (FoD=2, PS=3, YS=8, DL=28, BF=31,
FD=32), the numbering the seed's 64-wide stage one-hot uses. Both are here with conversions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from melee_envs.data import libmelee_source, names

LEGAL = ("FOUNTAIN_OF_DREAMS", "POKEMON_STADIUM", "YOSHIS_STORY", "DREAMLAND", "BATTLEFIELD", "FINAL_DESTINATION")

ALIASES = {
    "fod": "FOUNTAIN_OF_DREAMS",
    "fountain": "FOUNTAIN_OF_DREAMS",
    "ps": "POKEMON_STADIUM",
    "stadium": "POKEMON_STADIUM",
    "ys": "YOSHIS_STORY",
    "yoshis": "YOSHIS_STORY",
    "dl": "DREAMLAND",
    "dreamland": "DREAMLAND",
    "dreamlandn64": "DREAMLAND",
    "pokemonstadium": "POKEMON_STADIUM",
    "bf": "BATTLEFIELD",
    "fd": "FINAL_DESTINATION",
    "final": "FINAL_DESTINATION",
}

_FOD_SIDE_PLATFORMS = ((16.125, -41.25, -21.0), (22.125, 21.0, 41.25))

#: Maximum platforms per stage (three on BF/DL/YS/FoD).
MAX_PLATFORMS = 3


@dataclass(frozen=True)
class StageInfo:
    """Geometry of one stage in game units (y up, stage centre at x=0)."""

    name: str
    internal_id: int
    external_id: int
    ground_x: float
    """Half-width of the main ground: the x of the edge while standing (teetering)."""
    ledge_x: float
    """|x| of a character hanging on the ledge."""
    blast_left: float
    blast_right: float
    blast_top: float
    blast_bottom: float
    platforms: tuple[tuple[float, float, float], ...]
    """(height, left x, right x) of each pass-through platform."""

    @property
    def compact_index(self) -> int:
        """Position among the six legal stages (the 7-wide compact one-hot; 6 = other)."""
        return LEGAL.index(self.name)


@cache
def stages() -> dict[str, StageInfo]:
    internal = libmelee_source.enum_members("Stage")
    to_internal = libmelee_source.if_chain_mapping("enums.py", "to_internal_stage")
    external = {name: ext for ext, name in to_internal.items()}
    blast = libmelee_source.dict_constant("stages.py", "BLASTZONES")
    edge = libmelee_source.dict_constant("stages.py", "EDGE_POSITION")
    ground = libmelee_source.dict_constant("stages.py", "EDGE_GROUND_POSITION")
    plats = {
        fn: libmelee_source.if_chain_mapping("stages.py", fn)
        for fn in ("left_platform_position", "right_platform_position", "top_platform_position")
    }
    table = {}
    for name in LEGAL:
        platforms = tuple(
            tuple(float(v) for v in plats[fn][name])
            for fn in plats
            if plats[fn].get(name) is not None and plats[fn][name][0] is not None
        )
        if name == "FOUNTAIN_OF_DREAMS":
            platforms = _FOD_SIDE_PLATFORMS + platforms
        left, right, top, bottom = blast[name]
        table[name] = StageInfo(
            name=name,
            internal_id=int(internal[name]),
            external_id=int(external[name]),
            ground_x=float(ground[name]),
            ledge_x=float(edge[name]),
            blast_left=float(left),
            blast_right=float(right),
            blast_top=float(top),
            blast_bottom=float(bottom),
            platforms=platforms,  # type: ignore[arg-type]
        )
    return table


def get(name: str | int) -> StageInfo:
    """Look a legal stage up by enum name, alias (``bf``, ``fd``, ...) or internal id.

    Raises:
        ValueError: naming the unknown stage and listing the valid names.
    """
    return names.resolve(name, stages(), ALIASES, "stage", LEGAL)


def external_to_internal(external_id: int) -> int:
    """Slippi/game-start stage id -> libmelee ``Stage`` value (0 for non-legal stages)."""
    name = libmelee_source.if_chain_mapping("enums.py", "to_internal_stage").get(int(external_id))
    return int(libmelee_source.enum_members("Stage")[name]) if name else 0


@cache
def internal_to_external_table() -> np.ndarray:
    """Lookup array: libmelee ``Stage`` value -> external id (0 where unknown)."""
    out = np.zeros(256, np.int32)
    for info in stages().values():
        out[info.internal_id] = info.external_id
    return out


@cache
def internal_to_compact_table() -> np.ndarray:
    """Lookup array: libmelee ``Stage`` value -> compact index 0..5, 6 for any other stage."""
    out = np.full(256, 6, np.int32)
    for info in stages().values():
        out[info.internal_id] = info.compact_index
    return out


#: Height of the respawn halo's platform (where ``ON_HALO_WAIT`` stands), measured on the shared
#: replays (the y of every ``ON_HALO_WAIT`` frame there); Fountain of Dreams, absent from them,
#: keeps 0.3 x its top blast zone.
HALO_Y: dict[str, float] = {
    "YOSHIS_STORY": 52.5,
    "FINAL_DESTINATION": 45.0,
    "BATTLEFIELD": 80.0,
    "DREAMLAND": 84.22,
    "POKEMON_STADIUM": 60.0,
}


def geometry_arrays() -> dict[str, np.ndarray]:
    """Per-internal-id geometry arrays for kernels (index = libmelee ``Stage`` value)."""
    out = {
        "ground_x": np.zeros(256, np.float32),
        "ledge_x": np.zeros(256, np.float32),
        "blast": np.zeros((256, 4), np.float32),
        "platforms": np.zeros((256, MAX_PLATFORMS, 3), np.float32),
        "num_platforms": np.zeros(256, np.int32),
        "halo_y": np.zeros(256, np.float32),
    }
    for s in stages().values():
        i = s.internal_id
        out["ground_x"][i] = s.ground_x
        out["ledge_x"][i] = s.ledge_x
        out["blast"][i] = (s.blast_left, s.blast_right, s.blast_top, s.blast_bottom)
        out["num_platforms"][i] = len(s.platforms)
        out["halo_y"][i] = HALO_Y.get(s.name, 0.3 * s.blast_top)
        for k, p in enumerate(s.platforms):
            out["platforms"][i, k] = p
    return out
