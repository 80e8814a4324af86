"""A 0-100 quality score that flags obvious junk replays before they reach a dataset.

Junk, as behavioural cloning sees it: games too short to teach anything, a player who is AFK,
self-destruct chains (a player throwing away stocks, usually to quit), CPU players. The score
starts at 100 and each finding takes off a fixed penalty (:data:`PENALTIES`); ``issues`` names
every finding in words. Everything is computed from the replay's ``GameState`` in a few numpy
passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from melee_envs.backends.replay import Replay
from melee_envs.data.actions import DAMAGE_ACTIONS, TUMBLE_ACTION

#: Points taken off per finding.
PENALTIES = {"very_short": 60, "short": 15, "afk": 50, "self_destruct_chain": 30, "cpu": 20}
#: Games shorter than these (seconds after "GO") are "very short" / "short".
VERY_SHORT_S, SHORT_S = 20.0, 60.0
#: A player whose inputs change on fewer than this many frames per minute is AFK (humans: hundreds).
AFK_CHANGES_PER_MINUTE = 10.0
#: A stock lost without being in a damage action within this many frames before is a self-destruct.
SD_WINDOW = 240


@dataclass(frozen=True)
class Quality:
    """Score (0-100, higher is better) and what lowered it.

    Attributes:
        score: 100 minus the penalties, clipped to [0, 100].
        issues: one short phrase per finding (``"P2 AFK (3 input changes/min)"``).
        duration_s: seconds of play after "GO".
        self_destructs: per port, stocks lost without a recent hit.
        input_rate: per port, frames per minute on which the controller changed.
    """

    score: float
    issues: tuple[str, ...]
    duration_s: float
    self_destructs: dict[int, int]
    input_rate: dict[int, float]


def score(replay: Replay) -> Quality:
    """Score one replay (see the module docstring for the rules)."""
    state = replay.state
    meta = replay.meta
    playing = state.frame >= 0
    players = state.players
    duration = meta.duration_seconds
    issues: list[str] = []
    penalty = 0
    if duration < VERY_SHORT_S:
        issues.append(f"very short ({duration:.0f} s)")
        penalty += PENALTIES["very_short"]
    elif duration < SHORT_S:
        issues.append(f"short ({duration:.0f} s)")
        penalty += PENALTIES["short"]
    minutes = max(playing.sum() / 3600.0, 1e-9)
    self_destructs: dict[int, int] = {}
    rates: dict[int, float] = {}
    for p, info in enumerate(meta.players):
        controller = players.controller
        inputs = np.concatenate(
            [controller.buttons[:, p]]
            + [
                np.round(getattr(controller, a)[:, p, None] * 80)
                for a in ("main_x", "main_y", "c_x", "c_y", "shoulder")
            ],
            axis=1,
        )[playing]
        changes = int(np.any(inputs[1:] != inputs[:-1], axis=1).sum()) if len(inputs) > 1 else 0
        rates[info.port] = changes / minutes
        if info.kind == "cpu":
            issues.append(f"P{info.port} is a CPU (level {info.cpu_level})")
            penalty += PENALTIES["cpu"]
        elif rates[info.port] < AFK_CHANGES_PER_MINUTE and duration >= VERY_SHORT_S:
            issues.append(f"P{info.port} AFK ({rates[info.port]:.0f} input changes/min)")
            penalty += PENALTIES["afk"]
        self_destructs[info.port] = _self_destructs(players.stocks[:, p], players.action[:, p], players.exists[:, p])
        if self_destructs[info.port] >= 2:
            issues.append(f"P{info.port} self-destructed {self_destructs[info.port]} stocks")
            penalty += PENALTIES["self_destruct_chain"]
    return Quality(
        score=float(np.clip(100 - penalty, 0, 100)),
        issues=tuple(issues),
        duration_s=duration,
        self_destructs=self_destructs,
        input_rate=rates,
    )


def _self_destructs(stocks: np.ndarray, action: np.ndarray, exists: np.ndarray) -> int:
    """Stocks lost with no damage or tumble action in the :data:`SD_WINDOW` frames before."""
    lost = np.flatnonzero((stocks[1:] < stocks[:-1]) & exists[1:] & exists[:-1]) + 1
    hurt = ((action >= DAMAGE_ACTIONS[0]) & (action <= DAMAGE_ACTIONS[1])) | (action == TUMBLE_ACTION)
    count = 0
    for t in lost:
        if not hurt[max(0, t - SD_WINDOW) : t].any():
            count += 1
    return count
