"""Environment variables that set the defaults of the ``exphil`` commands, one name each.

A variable changes the default of every command that takes the value; a flag on the command
line still wins. Read at the moment a command builds its options (not at import), so a test or
a script can set them late.

=========================== =============================================================================
``EXPHIL_REPLAYS_DIR``      replay folder: ``exphil replays *``, ``bc train`` (``--data.replays``),
                            ``bench replays``, ``bench fidelity``, ``bench bc``
``EXPHIL_CHECKPOINTS_DIR``  BC checkpoint root: ``bc train`` (``--runtime.checkpoints``), ``bc list``
``EXPHIL_CACHE_DIR``        dataset cache: ``replays build``, ``bc train`` (``--data.cache``),
                            ``bc eval``, ``bench bc``
``EXPHIL_DEFAULT_PRESET``   ``bc train``'s ``--preset`` (quick, standard, full) when none is given
=========================== =============================================================================

``EXPHIL_REPLAYS`` (an earlier name of ``EXPHIL_REPLAYS_DIR``) is still read, with a note on
stderr; where both are set, the new name wins.
"""

from __future__ import annotations

import os
import sys

REPLAYS_DIR = "EXPHIL_REPLAYS_DIR"
CHECKPOINTS_DIR = "EXPHIL_CHECKPOINTS_DIR"
CACHE_DIR = "EXPHIL_CACHE_DIR"
DEFAULT_PRESET = "EXPHIL_DEFAULT_PRESET"
#: Earlier names, still read (with a note): old -> new.
RENAMED = {"EXPHIL_REPLAYS": REPLAYS_DIR}

_noted: set[str] = set()


def value(name: str, fallback: str | None = None) -> str | None:
    """``$name`` if set and not empty, else the value of an earlier name of it (noted once on
    stderr), else ``fallback``."""
    text = os.environ.get(name)
    if text:
        return text
    for old, new in RENAMED.items():
        if new == name and os.environ.get(old):
            if old not in _noted:
                _noted.add(old)
                print(f"note: ${old} is now ${new}; reading ${old}", file=sys.stderr)
            return os.environ[old]
    return fallback


def replays_dir(fallback: str = ".") -> str:
    return value(REPLAYS_DIR, fallback) or fallback


def checkpoints_dir(fallback: str = "checkpoints") -> str:
    return value(CHECKPOINTS_DIR, fallback) or fallback


def cache_dir(fallback: str) -> str:
    return value(CACHE_DIR, fallback) or fallback
