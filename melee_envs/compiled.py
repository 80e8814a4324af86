"""Salting Numba's on-disk cache with the source files compiled code depends on.

Numba's cache checks only the file a cached function is defined in, but compiled code inlines
functions and freezes constants from other modules too. A cached entry point is therefore built
in a closure over a *salt* (closure values are part of Numba's cache key) computed from every
file it depends on: editing any of them recompiles it instead of loading stale machine code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def source_salt(paths: Iterable[str | Path]) -> int:
    """A 32-bit number that changes whenever any of ``paths`` (names or contents) does."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")
