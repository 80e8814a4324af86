"""Playable characters: ids in both of the game's numberings, and their physical attributes.

Sources (one each, nothing hand-copied):

* ids and names: libmelee's ``Character`` enum (internal ids, as every frame of a replay or a
  live game reports them) and its ``to_internal`` / ``from_internal`` conversions ("CSS" ids:
  the character's position on the character-select screen, which libmelee's menu helper uses);
* external ids (the game's own character-kind numbering, which Slippi replays' game-start block
  stores): :data:`EXTERNAL_IDS`, from the Slippi replay specification's id table (the same
  numbering as peppi's ``character::External``); a test checks it against the first frame of
  every shared replay;
* gravity, terminal velocity, fast-fall speed, walk speed, air speed/friction/mobility, ground
  friction, extra jumps, double-jump velocities: libmelee's ``characterdata.csv``;
* weight, jump squat, initial dash, run speed, dash frames, full/short hop velocities, ledge
  hang height: ``character_stats.csv`` beside this module (FightCore frame data from
  meleeframedata.com, and jump velocities and hang heights measured from public Slippi replays;
  see ``tools/build_game_tables.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from melee_envs.data import libmelee_source, names

# libmelee's characterdata.csv spells some names its own way.
_CSV_NAME = {
    "CPTFALCON": "Cptfalcon",
    "JIGGLYPUFF": "Jigs",
    "MEWTWO": "Mewto",
    "GAMEANDWATCH": "GNW",
    "GANONDORF": "Ganondorf",
    "YLINK": "Ylink",
    "DK": "DK",
    "DOC": "Doc",
}

#: Short names users type, beyond the enum names themselves.
ALIASES = {
    "falcon": "CPTFALCON",
    "captainfalcon": "CPTFALCON",
    "cf": "CPTFALCON",
    "puff": "JIGGLYPUFF",
    "jiggs": "JIGGLYPUFF",
    "ics": "POPO",
    "ic": "POPO",
    "iceclimbers": "POPO",
    "icies": "POPO",
    "gnw": "GAMEANDWATCH",
    "gw": "GAMEANDWATCH",
    "gandw": "GAMEANDWATCH",  # "G&W"
    "mrgameandwatch": "GAMEANDWATCH",
    "ganon": "GANONDORF",
    "donkeykong": "DK",
    "drmario": "DOC",
    "younglink": "YLINK",
    "yl": "YLINK",
    "m2": "MEWTWO",
}


#: External character ids (Slippi game-start block) in order; ``None`` for ids with no libmelee
#: character (Master Hand 26, Crazy Hand 30). Source: Project Slippi's replay spec "Melee IDs".
EXTERNAL_IDS: tuple[str | None, ...] = (
    "CPTFALCON", "DK", "FOX", "GAMEANDWATCH", "KIRBY", "BOWSER", "LINK", "LUIGI", "MARIO", "MARTH",
    "MEWTWO", "NESS", "PEACH", "PIKACHU", "POPO", "JIGGLYPUFF", "SAMUS", "YOSHI", "ZELDA", "SHEIK",
    "FALCO", "YLINK", "DOC", "ROY", "PICHU", "GANONDORF", None, "WIREFRAME_MALE", "WIREFRAME_FEMALE",
    "GIGA_BOWSER", None, "SANDBAG", "POPO",
)  # fmt: skip


#: The fastest horizontal speed a grounded jump takes off with (a running jump's), measured on the
#: shared replays (the 99th percentile of |speed_air_x| on the first frame after ``KNEE_BEND``, 20+
#: jumps with speeds recorded); the other characters take off at most at their air speed.
JUMP_TAKEOFF_MAX: dict[str, float] = {"CPTFALCON": 2.1, "FALCO": 1.7, "FOX": 1.7, "PEACH": 1.03, "POPO": 1.4}

#: How far below a surface a falling character's position goes before it lands: the game lands a
#: player when the bottom of its collision box (ECB) reaches the surface, and in the air that bottom
#: sits above the position. Measured on the shared replays' landings on the main stage (air dodges
#: apart, which land as the position crosses): the depth that puts the most landings on the
#: replay's own frame, for the characters with 20 or more (Falco 78% of 256 landings on their frame
#: against 0% at depth 0, Fox 71% of 218 against 2%). The others get the median of those, 2.75.
LANDING_DEPTH: dict[str, float] = {
    "FALCO": 5.15, "FOX": 4.35, "CPTFALCON": 2.95, "MARTH": 3.7, "PEACH": 1.7, "GANONDORF": 2.7,
    "JIGGLYPUFF": 0.0, "POPO": 1.25, "DK": 0.0, "SHEIK": 2.8,
}  # fmt: skip
LANDING_DEPTH_DEFAULT = 2.75


@dataclass(frozen=True)
class CharacterInfo:
    """One character's ids and the attributes the engines use (game units per frame)."""

    name: str
    internal_id: int
    css_id: int | None
    external_id: int | None
    weight: float
    gravity: float
    terminal_velocity: float
    fast_fall_speed: float
    walk_speed: float
    initial_dash: float
    run_speed: float
    dash_frames: int
    jump_squat: int
    full_hop_velocity: float
    short_hop_velocity: float
    double_jump_velocity: float
    double_jump_x: float
    air_speed: float
    air_mobility: float
    air_friction: float
    friction: float
    extra_jumps: int
    size: float
    ledge_hang_y: float
    """Height at which the character hangs from a ledge at y = 0 (measured from replays)."""
    jump_h_max: float
    """The fastest horizontal take-off of a grounded jump (:data:`JUMP_TAKEOFF_MAX`)."""
    landing_depth: float = LANDING_DEPTH_DEFAULT
    """How far below a surface the character's position falls before it lands (:data:`LANDING_DEPTH`)."""

    @property
    def label(self) -> str:
        return self.name.title()


@cache
def _internal_ids() -> dict[str, int]:
    return {k: int(v) for k, v in libmelee_source.enum_members("Character").items()}


@cache
def _css_ids() -> dict[str, int]:
    """Internal name -> CSS id, from libmelee's ``from_internal``."""
    return {k: int(v) for k, v in libmelee_source.if_chain_mapping("enums.py", "from_internal").items()}


#: libmelee gives 0 as the double-jump speed of the characters whose double jump is animation-
#: driven (Jigglypuff, Mewtwo, Ness, Peach, Yoshi); the engine gives them this share of their full
#: hop speed, the double-jump/full-hop median ratio measured on the shared replays
#: (``character_stats.csv``'s header).
DOUBLE_JUMP_RATIO = 0.899


@cache
def characters() -> dict[str, CharacterInfo]:
    """Every character with attributes in both sources, keyed by libmelee enum name."""
    ids = _internal_ids()
    by_internal = {int(r["CharacterIndex"]): r for r in libmelee_source.read_csv("characterdata.csv")}
    text = resources.files("melee_envs.data").joinpath("character_stats.csv").read_text()
    stats = {r["character"]: r for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))}
    table: dict[str, CharacterInfo] = {}
    for name, st in stats.items():
        internal = ids[name]
        lm = by_internal[internal]
        table[name] = CharacterInfo(
            name=name,
            internal_id=internal,
            css_id=_css_ids().get(name),
            external_id=EXTERNAL_IDS.index(name) if name in EXTERNAL_IDS else None,
            weight=float(st["weight"]),
            gravity=float(lm["Gravity"]),
            terminal_velocity=float(lm["TerminalVelocity"]),
            fast_fall_speed=float(lm["FastFallSpeed"]),
            walk_speed=float(lm["MaxWalkSpeed"]),
            initial_dash=float(st["initial_dash"]),
            run_speed=float(st["run_speed"]),
            dash_frames=int(st["dash_frames"]),
            jump_squat=int(st["jump_squat"]),
            full_hop_velocity=float(st["full_hop_velocity"]),
            short_hop_velocity=float(st["short_hop_velocity"]),
            double_jump_velocity=float(lm["InitDJSpeed"]) or DOUBLE_JUMP_RATIO * float(st["full_hop_velocity"]),
            double_jump_x=float(lm["InitDJSpeed_x"]),
            air_speed=float(lm["AirSpeed"]),
            air_mobility=float(lm["AirMobility"]),
            air_friction=float(lm["AirFriction"]),
            friction=float(lm["Friction"]),
            extra_jumps=int(lm["Jumps"]),
            size=float(lm["size"]),
            ledge_hang_y=float(st["ledge_hang_y"]),
            jump_h_max=JUMP_TAKEOFF_MAX.get(name, float(lm["AirSpeed"])),
            landing_depth=LANDING_DEPTH.get(name, LANDING_DEPTH_DEFAULT),
        )
    return table


def playable() -> list[str]:
    """Names a user can pick for a mock game (Nana is only ever Popo's partner)."""
    return sorted(n for n in characters() if n != "NANA")


def get(name: str | int) -> CharacterInfo:
    """Look a character up by enum name, common alias (``puff``, ``ics``, ...) or internal id.

    Raises:
        ValueError: naming the unknown character and listing the valid names.
    """
    return names.resolve(name, characters(), ALIASES, "character", playable())


def css_to_internal(css_id: int) -> int:
    """Character-select-screen position (libmelee's CSS id) -> internal id.

    Not the numbering of a replay's game-start block: use :func:`external_to_internal` there.
    """
    mapping = libmelee_source.if_chain_mapping("enums.py", "to_internal")
    try:
        return _internal_ids()[mapping[int(css_id)]]
    except KeyError:
        raise ValueError(f"unknown CSS (menu position) character id {css_id}") from None


def external_to_internal(external_id: int) -> int:
    """External id (Slippi game-start block) -> internal id (per-frame data).

    Raises:
        ValueError: for ids outside the table or with no libmelee character.
    """
    ext = int(external_id)
    name = EXTERNAL_IDS[ext] if 0 <= ext < len(EXTERNAL_IDS) else None
    if name is None:
        raise ValueError(f"unknown external character id {external_id}")
    return _internal_ids()[name]


def internal_to_external(internal_id: int) -> int:
    """Internal id -> external id (Slippi game-start numbering)."""
    for name, iid in _internal_ids().items():
        if iid == int(internal_id) and name in EXTERNAL_IDS:
            return EXTERNAL_IDS.index(name)
    raise ValueError(f"internal character id {internal_id} has no external id")


def internal_to_css(internal_id: int) -> int:
    """Internal id -> character-select-screen id."""
    for name, iid in _internal_ids().items():
        if iid == int(internal_id) and name in _css_ids():
            return _css_ids()[name]
    raise ValueError(f"internal character id {internal_id} has no CSS id")


#: Number of internal character ids the one-hot encoding covers (0..32, as the seed does).
NUM_CHARACTER_IDS = 33


def attribute_arrays() -> dict[str, np.ndarray]:
    """Per-internal-id attribute arrays for kernels (index = internal id, unknown ids zero)."""
    fields = [
        f for f in CharacterInfo.__dataclass_fields__ if f not in ("name", "internal_id", "css_id", "external_id")
    ]
    out = {f: np.zeros(NUM_CHARACTER_IDS, np.float32) for f in fields}
    for info in characters().values():
        for f in fields:
            out[f][info.internal_id] = getattr(info, f)
    return out
