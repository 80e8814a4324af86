"""The salt that ties compiled engine code to the engine's source files.

Numba's on-disk cache checks only the file a cached function is defined in, but the engine's
kernels inline code and constants from every module of this package. So only the functions
Python calls are cached, each built in a closure over :data:`SALT` (closure values are part of
Numba's cache key): editing any engine file changes the salt and recompiles them, instead of
loading stale machine code. The helpers they call are compiled into them and not cached alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parent


def source_salt(*extra: str | Path, folder: Path = ENGINE_DIR) -> int:
    """A 32-bit number that changes whenever any ``.py`` file in ``folder`` or in ``extra`` does."""
    digest = hashlib.sha256()
    for path in [*sorted(folder.glob("*.py")), *map(Path, extra)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return int.from_bytes(digest.digest()[:4], "little")


#: The engine's salt (see the module docstring).
SALT = source_salt()
