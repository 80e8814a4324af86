"""Name lookup shared by the character and stage tables: enum names, aliases and ids."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

import numpy as np


class _HasId(Protocol):
    internal_id: int


T = TypeVar("T", bound=_HasId)


def normalise(name: str) -> str:
    """Case, spaces, underscores and punctuation folded: ``"Yoshi's Story"`` -> ``"yoshisstory"``."""
    key = unicodedata.normalize("NFKD", name.strip().lower().replace("&", "and"))
    return "".join(ch for ch in key if ch.isascii() and ch.isalnum())


def resolve(
    name: str | int, table: Mapping[str, T], aliases: Mapping[str, str], kind: str, choices: Iterable[str]
) -> T:
    """The entry of ``table`` (keyed by libmelee enum name) that ``name`` means.

    ``name`` may be the enum name in any case or spacing, an alias, or an internal id.

    Raises:
        ValueError: naming the unknown ``kind`` and listing the valid names and aliases.
    """
    if isinstance(name, (int, np.integer)):
        for info in table.values():
            if info.internal_id == int(name):
                return info
        raise ValueError(
            f"unknown {kind} id {name}; valid internal ids: {sorted(i.internal_id for i in table.values())}"
        )
    key = normalise(str(name))
    canon = aliases.get(key) or next((k for k in table if normalise(k) == key), None)
    if canon is None or canon not in table:
        raise ValueError(
            f"unknown {kind} {name!r}; choose one of {', '.join(choices)} (aliases: {', '.join(sorted(aliases))})"
        )
    return table[canon]
