"""How much a command says, and in which colours.

Verbosity (``exphil --quiet`` / ``--verbose`` on any command, or :func:`set_verbosity`):

* 0, quiet: errors, warnings and the final summary only; no progress bars, no progress lines;
* 1, normal (the default): progress bars and lines as well;
* 2, verbose: also the details behind them (every setting, every file).

A command prints each line through the console of its level (:func:`console`), so quiet and
verbose need no branches in the commands. Errors are red, warnings yellow, success green:
through rich, so the colours appear on a terminal only (piped output stays plain text), and a
message is never wrapped (a path in it stays on one line to copy).
"""

from __future__ import annotations

from typing import Any

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state = {"level": NORMAL}


def set_verbosity(level: int) -> None:
    """0 quiet, 1 normal, 2 verbose."""
    if level not in (QUIET, NORMAL, VERBOSE):
        raise ValueError(f"verbosity must be 0 (quiet), 1 or 2 (verbose); got {level!r}")
    _state["level"] = level


def verbosity() -> int:
    return _state["level"]


def progress_enabled() -> bool:
    """Whether progress bars are drawn (not in quiet mode)."""
    return verbosity() >= NORMAL


def console(level: int = NORMAL, **kwargs: Any) -> Any:
    """A rich console that prints when the verbosity is at least ``level``: ``console(0)`` for a
    command's summary, ``console()`` for progress, ``console(2)`` for details."""
    from rich.console import Console

    return Console(quiet=verbosity() < level, **kwargs)


def _say(text: str, style: str, stderr: bool = True) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=stderr).print(f"[{style}]{escape(text)}[/{style}]", soft_wrap=True, highlight=False)


def error(text: str) -> None:
    _say(text, "red")


def warning(text: str) -> None:
    _say(text, "yellow")


def success(text: str) -> None:
    """A command's good outcome, on stdout."""
    _say(text, "green", stderr=False)
