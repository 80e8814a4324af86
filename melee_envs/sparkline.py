"""One-line loss trends for progress lines: ``sparkline([3, 2, 2.5, 1]) == "█▅▆▁"``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

LEVELS = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[float], width: int = 20) -> str:
    """The last ``width`` values as bars scaled from their minimum (``▁``) to their maximum
    (``█``); equal values sit in the middle, and a non-finite value is a space."""
    tail = list(values)[-width:] if width > 0 else []
    finite = [v for v in tail if math.isfinite(v)]
    if not finite:
        return " " * len(tail)
    low, high = min(finite), max(finite)
    top = len(LEVELS) - 1
    out = []
    for v in tail:
        if not math.isfinite(v):
            out.append(" ")
        elif high == low:
            out.append(LEVELS[top // 2])
        else:
            out.append(LEVELS[round((v - low) / (high - low) * top)])
    return "".join(out)


def binned(values: Sequence[float], bins: int) -> list[float]:
    """``values`` averaged into at most ``bins`` consecutive groups of equal size (the oldest
    group takes the remainder), so a long run of step losses fits one sparkline."""
    if len(values) <= bins:
        return list(values)
    size = math.ceil(len(values) / bins)
    start = len(values) - size * (len(values) // size)
    groups = [values[:start]] if start else []
    groups += [values[i : i + size] for i in range(start, len(values), size)]
    return [sum(g) / len(g) for g in groups]
