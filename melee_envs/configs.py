"""Config dataclasses from plain dicts and keyword arguments: every unknown key is named."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any


def check_fields(
    cls: Any, keys: Iterable[str], what: str, error: type[Exception] = ValueError, also_valid: Iterable[str] = ()
) -> None:
    """Raise ``error`` listing the ``keys`` that are not fields of dataclass ``cls`` (nor in
    ``also_valid``), and every valid one.

    ``what`` names a key in the message: ``"unknown reward field(s) ['x']; valid: [...]"``.
    """
    valid = sorted({f.name for f in fields(cls)} | set(also_valid))
    unknown = sorted(set(keys) - set(valid))
    if unknown:
        raise error(f"unknown {what}(s) {unknown}; valid: {valid}")
