"""What a replay says about its game: ``ReplayMeta`` and ``PlayerInfo``.

Built from peppi-py's game-start and game-end blocks and the replay's metadata dictionary; the
per-frame data lives in the replay's ``GameState`` instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from melee_envs.data import libmelee_source
from melee_envs.data.characters import external_to_internal

#: Game-end methods as Slippi records them (peppi's names).
END_METHODS = {0: "unresolved", 1: "time", 2: "game", 3: "resolved", 7: "no_contest"}
FRAMES_PER_SECOND = 60
#: First frame index of every game (the 123 frames before "GO").
FIRST_FRAME = -123


class ReplayError(ValueError):
    """A file that cannot be read as a replay; ``reason`` is one line, ``path`` names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class PlayerInfo:
    """One port of the game-start block.

    Attributes:
        port: controller port, 1..4.
        character: internal character id at game start (libmelee ``Character``).
        external_character: the same character in the game's external numbering, as the
            game-start block stores it (``melee_envs.data.characters.EXTERNAL_IDS``).
        character_name: libmelee enum name (``"FOX"``, ``"POPO"`` for Ice Climbers).
        kind: ``"human"``, ``"cpu"`` or ``"demo"``.
        cpu_level: CPU level, ``None`` for humans.
        tag: in-game name tag ("" if none).
        netplay_name: Slippi online display name ("" if offline).
        netplay_code: Slippi connect code such as ``"ABC#123"`` ("" if offline).
        costume: costume index.
        team: team colour index, ``None`` outside team games.
    """

    port: int
    character: int
    external_character: int
    character_name: str
    kind: str
    cpu_level: int | None
    tag: str
    netplay_name: str
    netplay_code: str
    costume: int
    team: int | None

    @property
    def names(self) -> tuple[str, ...]:
        """Every non-empty name this player goes by (tag, netplay name, connect code)."""
        return tuple(n for n in (self.tag, self.netplay_name, self.netplay_code) if n)


@dataclass(frozen=True)
class ReplayMeta:
    """Metadata of one replay.

    Attributes:
        path: the file read.
        slippi_version: ``(major, minor, patch)`` of the recording Slippi build.
        stage: libmelee ``Stage`` value (0 for stages libmelee does not name).
        stage_external: the game's own (game-start) stage id.
        stage_name: libmelee enum name, or ``"STAGE_<id>"``.
        players: the ports in the game, in port order (the order of the state's player axis).
        num_frames: frames in the state (one per frame index, rollbacks resolved).
        first_frame: frame index of the first row (-123 for a complete game).
        last_frame: frame index of the last row.
        rollback_rows: rows peppi returned that were replaced by a later version of their frame.
        missing_frames: frame indices absent between the first and last frame (0 for a sound file).
        end_method: ``"game"``, ``"time"``, ``"no_contest"``, ``"resolved"`` or ``"unresolved"``.
        winner_port: port that won, ``None`` when the replay does not say (no contest, doubles).
        start_time: ISO time from the metadata ("" if absent).
        played_on: ``"dolphin"``, ``"nintendont"``, ... ("" if absent).
        is_teams, is_pal: game-start flags.
        has_velocities: the file records the five speeds (Slippi 3.5+); otherwise they are
            estimated from the positions (``estimated``).
        has_item_owner: the file records item owners (Slippi 3.6+); otherwise owner is -1.
        game_seed: the game's random seed at start; both players' recordings of one netplay
            game share it (duplicate detection uses it).
        estimated: fields this file's Slippi version does not record, filled from the positions
            (:mod:`melee_envs.backends.replay.estimates`): ``"airborne"`` (``on_ground``, before
            Slippi 2.0) and ``"velocities"`` (the five speeds, before 3.5).
    """

    path: str
    slippi_version: tuple[int, int, int]
    stage: int
    stage_external: int
    stage_name: str
    players: tuple[PlayerInfo, ...]
    num_frames: int
    first_frame: int
    last_frame: int
    rollback_rows: int
    missing_frames: int
    end_method: str
    winner_port: int | None
    start_time: str
    played_on: str
    is_teams: bool
    is_pal: bool
    has_velocities: bool
    has_item_owner: bool
    game_seed: int = 0
    estimated: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(p.port for p in self.players)

    @property
    def version(self) -> str:
        return ".".join(str(v) for v in self.slippi_version)

    @property
    def duration_seconds(self) -> float:
        """Game time from "GO" on (the 123 pre-game frames excluded)."""
        return max(self.last_frame + 1, 0) / FRAMES_PER_SECOND

    @property
    def is_singles(self) -> bool:
        return len(self.players) == 2 and not self.is_teams

    def player(self, port: int) -> PlayerInfo:
        for p in self.players:
            if p.port == port:
                return p
        raise ValueError(f"{self.path}: no player on port {port}; ports in the game: {list(self.ports)}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        return out


def stage_name(external_id: int) -> str:
    name = libmelee_source.if_chain_mapping("enums.py", "to_internal_stage").get(int(external_id))
    return str(name) if name else f"STAGE_{int(external_id)}"


def character_name(internal_id: int) -> str:
    for name, value in libmelee_source.enum_members("Character").items():
        if int(value) == int(internal_id):
            return str(name)
    return f"CHARACTER_{int(internal_id)}"


def player_info(raw: dict[str, Any]) -> PlayerInfo:
    """A peppi game-start player entry (its JSON form) -> ``PlayerInfo``."""
    external = int(raw["character"])
    try:
        internal = external_to_internal(external)
    except ValueError:
        internal = -1
    netplay = raw.get("netplay") or {}
    team = raw.get("team")
    return PlayerInfo(
        port=int(str(raw["port"]).lstrip("Pp")),
        character=internal,
        external_character=external,
        character_name=character_name(internal) if internal >= 0 else f"EXTERNAL_{external}",
        kind=str(raw.get("type", "human")).lower(),
        cpu_level=raw.get("cpu_level"),
        tag=_clean(raw.get("name_tag")),
        netplay_name=_clean(netplay.get("name")),
        netplay_code=_clean(netplay.get("code")),
        costume=int(raw.get("costume") or 0),
        team=int(team["color"]) if isinstance(team, dict) else None,
    )


def _clean(text: Any) -> str:
    # Slippi stores names in Shift-JIS; peppi decodes '#' in connect codes as the full-width form.
    return str(text or "").replace("\uff03", "#").strip("\x00 ")


def winner_port(
    end: dict[str, Any] | None, ports: tuple[int, ...], stocks: np.ndarray, percent: np.ndarray
) -> int | None:
    """The winning port: from the game-end placements where recorded, else from the last frame.

    ``stocks`` and ``percent`` are the last frame's values by player. Without placements a
    winner is only named for 1v1 games that ended by stocks, time or resolution: most stocks,
    then (on time) least percent.
    """
    if not end:
        return None
    placements = end.get("players") or []
    firsts = [int(str(p["port"]).lstrip("Pp")) for p in placements if p.get("placement") == 0]
    if len(firsts) == 1 and not end.get("lras_initiator"):
        return firsts[0]
    method = END_METHODS.get(_end_method_id(end.get("method")), "unresolved")
    if len(ports) != 2 or method not in ("game", "time", "resolved"):
        return None
    if stocks[0] != stocks[1]:
        return ports[int(np.argmax(stocks))]
    if method == "time" and percent[0] != percent[1]:
        return ports[int(np.argmin(percent))]
    return None


def _end_method_id(method: Any) -> int:
    if isinstance(method, int):
        return method
    names = {v.replace("_", ""): k for k, v in END_METHODS.items()}
    return names.get(str(method).lower().replace("_", ""), 0)


def end_method(end: dict[str, Any] | None) -> str:
    return END_METHODS.get(_end_method_id(end.get("method")), "unresolved") if end else "unresolved"
