"""Player styles: which player an example imitates, as an id in the observation's player-name slot.

A style-conditioned network learns each player's habits under their own id; at play time the
id picks whose game to play. Ids run from 1 to ``size - 1`` (0 means "no style": the slot stays
empty, as for a player with no name in the replay). A player is named by the first of their
connect code, netplay name and in-game tag (case-insensitive). Names the registry lists keep
their fixed ids; every other name is hashed into the ids (stable across machines and runs, so
parallel builds agree without talking to each other; two names may share an id).

The registry is a JSON file: ``{"size": N, "players": {name: id}, "seen": {name: id}}``.
``players`` is what the user fixes (it is part of the dataset's cache key); ``seen`` is what
dataset builds found, written back after each build for reference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from melee_envs.atomic import write_text_atomic


def player_name(names: Iterable[str]) -> str:
    """The name a player is known by: the first non-empty of ``names`` (connect code, netplay
    name, tag, in that order when they come from :func:`names_of`), lowercased; "" if none."""
    for name in names:
        if name and name.strip():
            return name.strip().lower()
    return ""


def names_of(player: object) -> tuple[str, ...]:
    """A replay player's names, most specific first (connect code, netplay name, tag)."""
    return tuple(getattr(player, k, "") or "" for k in ("netplay_code", "netplay_name", "tag"))


@dataclass(frozen=True)
class PlayerRegistry:
    """Name -> style id in ``1 .. size - 1``.

    Args:
        size: width of the player-name slot (``ObsConfig.player_names``), at least 2.
        fixed: names (lowercase) with the ids the user gave them.
    """

    size: int
    fixed: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.size < 2:
            raise ValueError(f"a player registry needs a slot of at least 2 ids; got {self.size}")
        bad = {n: i for n, i in self.fixed.items() if not 1 <= int(i) < self.size}
        if bad:
            raise ValueError(f"player ids must be 1..{self.size - 1} (0 is 'no style'); got {bad}")
        object.__setattr__(self, "fixed", {n.strip().lower(): int(i) for n, i in self.fixed.items()})

    def style_id(self, names: Iterable[str]) -> int:
        """The id of the player with these names (0 when they have none)."""
        name = player_name(names)
        if not name:
            return 0
        if name in self.fixed:
            return self.fixed[name]
        digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
        return 1 + digest % (self.size - 1)

    @classmethod
    def load(cls, path: str | Path, size: int) -> PlayerRegistry:
        """The registry in ``path`` (its fixed players), or an empty one when the file does not
        exist yet; its ``size`` must match."""
        path = Path(path)
        if not path.exists():
            return cls(size)
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"{path}: not a player registry (unreadable JSON)") from None
        if not isinstance(data, dict) or not isinstance(data.get("players", {}), dict):
            raise ValueError(f'{path}: not a player registry (expected {{"size": N, "players": {{name: id}}}})')
        if int(data.get("size", size)) != size:
            raise ValueError(f"{path}: a registry of {data['size']} ids, but the player-name slot has {size}")
        return cls(size, data.get("players", {}))

    def save(self, path: str | Path, seen: dict[str, int]) -> None:
        """Write the fixed players and every name ``seen`` (with its id), atomically."""
        path = Path(path)
        previous = {}
        if path.exists():
            try:
                previous = json.loads(path.read_text()).get("seen", {})
            except (ValueError, UnicodeDecodeError, AttributeError):
                previous = {}
        merged = {**previous, **seen}
        data = {"size": self.size, "players": self.fixed, "seen": dict(sorted(merged.items()))}
        write_text_atomic(path, json.dumps(data, indent=1) + "\n")
