"""Salting Numba's on-disk cache with the source files compiled code depends on.

Numba's cache checks only the file a cached function is defined in, but compiled code inlines
functions and freezes constants from other modules too. A cached entry point is therefore built
in a closure over a *salt* (closure values are part of Numba's cache key) computed from every
file it depends on: editing any of them recompiles it instead of loading stale machine code.
:func:`readable_cache` keeps an index that an older version left behind from failing the load.
"""

from __future__ import annotations

import contextlib
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


def readable_cache(*dispatchers):  # noqa: ANN002, ANN201
    """Empty the on-disk cache index of any of ``dispatchers`` that can no longer be read.

    Numba unpickles a function's whole index before it checks that the index belongs to the
    current source (numba/numba#6018), so an index written by an older version of this package
    that names a type the new one no longer has (a renamed named tuple in a kernel's signature)
    fails every call with ``AttributeError``, until someone deletes ``__pycache__``. Called on
    the cached functions that take this package's named tuples; such a function then compiles
    afresh once, as after any other change of its sources. Returns the dispatchers.
    """
    for dispatcher in dispatchers:
        cache = getattr(dispatcher, "_cache", None)
        load_index = getattr(getattr(cache, "_cache_file", None), "_load_index", None)
        if load_index is None:  # no cache (or a Numba without this layout): nothing to check
            continue
        try:
            load_index()
        except Exception:  # noqa: BLE001  (any unpickling failure: missing class, module or data)
            with contextlib.suppress(OSError):  # a read-only cache is left to Numba to report
                cache.flush()
    return dispatchers
