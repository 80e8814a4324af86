"""Messages on stderr in the commands' colours: errors red, warnings yellow, success green.

Through rich, so the colours appear on a terminal only (piped output stays plain text), and a
message is never wrapped: a path in it stays on one line to copy.
"""

from __future__ import annotations


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
