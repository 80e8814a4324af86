"""Finding replay files: every ``.slp`` under some files and folders."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path


def find_replays(sources: str | Path | Iterable[str | Path], errors: list[tuple[str, str]] | None = None) -> list[Path]:
    """Every ``.slp`` file under the given files/directories (recursive), sorted, de-duplicated.

    A folder that cannot be listed (permissions, I/O) is never passed over silently: it goes to
    ``errors`` as ``(folder, reason)``, or, without that list, is named on stderr.

    Raises:
        FileNotFoundError: naming a source that does not exist.
    """
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    found: dict[Path, None] = {}

    def unreadable(exc: OSError) -> None:
        entry = (str(exc.filename), f"cannot read this folder: {exc.strerror or exc}")
        if errors is not None:
            errors.append(entry)
        else:
            print(f"skipping {entry[0]}: {entry[1]}", file=sys.stderr)

    for item in items:
        p = Path(item)
        if p.is_dir():
            files = []
            for folder, _, names in os.walk(p, onerror=unreadable):
                files += [Path(folder) / n for n in names if n.lower().endswith(".slp")]
            for f in sorted(files):
                if f.is_file():
                    found[f] = None
        elif p.exists():
            found[p] = None
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return list(found)
