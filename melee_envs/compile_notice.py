"""Tell the user when a first call is compiling: Numba compiles the engine's kernels once per
machine (cached afterwards), about a minute each on 2 cores; ``exphil compile`` warms them all."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_announced: set[str] = set()


@contextmanager
def compile_notice(what: str, after_s: float = 2.0) -> Iterator[None]:
    """Around the first call (per process) of a kernel that may compile ``what``: if it is still
    running after ``after_s`` seconds, say so on stderr (a cached kernel loads in well under
    that). Later calls pass straight through, with no timer."""
    if what in _announced:
        yield
        return
    timer = threading.Timer(
        after_s,
        lambda: print(
            f"[melee_envs] compiling {what} for this machine (first run only, cached afterwards; about a minute "
            "on 2 cores, several on a busy machine; `exphil compile` compiles every kernel ahead of time)...",
            file=sys.stderr,
            flush=True,
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        _announced.add(what)
