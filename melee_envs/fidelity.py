"""How close is the mock engine to Melee? Teacher-forced next-frame error on real replays.

For every 1v1 replay in a folder and every frame ``t`` of play, the engine is started from the
replay's own state at ``t`` (:meth:`MockBackend.load_state`), stepped once with the inputs
recorded for frame ``t + 1`` (quantised to the action space's 17 stick buckets, as an agent
would send them), and its positions compared with the replay's frame ``t + 1``. All frames of a
replay run as one batch of independent one-frame games. Errors are grouped by the action-state
family of the frame stepped from; *movement* frames are standing/walking, dashing/running,
jumping/falling/air drift and landing.

``exphil bench-fidelity [FOLDER]`` prints the table; ``docs/mock-engine.md`` keeps the figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from melee_envs.data.actions import actions

_A = actions()
#: Action-state families (inclusive id ranges of libmelee ``Action``).
FAMILIES: dict[str, tuple[tuple[int, int], ...]] = {
    "standing/walking": ((_A["STANDING"], _A["TURNING"]), (_A["CROUCH_START"], _A["CROUCH_END"])),
    "dashing/running": ((_A["DASHING"], _A["RUN_BRAKE"]),),
    "jumping/falling/air drift": ((_A["KNEE_BEND"], _A["SPECIAL_FALL_BACK"]),),
    "landing": ((_A["LANDING"], _A["LANDING_SPECIAL"]), (_A["NAIR_LANDING"], _A["DAIR_LANDING"])),
    "attacks": ((_A["NEUTRAL_ATTACK_1"], _A["DAIR"]),),
    "hitstun": ((_A["DAMAGE_HIGH_1"], _A["DAMAGE_FLY_ROLL"]), (_A["TUMBLING"], _A["TUMBLING"])),
    "shield/dodge": ((_A["SHIELD_START"], _A["SHIELD_REFLECT"]), (_A["ROLL_FORWARD"], _A["AIRDODGE"])),
}
MOVEMENT = ("standing/walking", "dashing/running", "jumping/falling/air drift", "landing")


def family_of(action: np.ndarray) -> np.ndarray:
    """Family name per action id ("other" when none)."""
    out = np.full(action.shape, "other", dtype=object)
    for name, ranges in FAMILIES.items():
        for lo, hi in ranges:
            out[(action >= lo) & (action <= hi)] = name
    return out


@dataclass(frozen=True)
class FidelityConfig:
    """Fidelity benchmark settings."""

    folder: str = os.environ.get("EXPHIL_REPLAYS_DIR", "../shared/replays")
    """Folder searched recursively for ``.slp`` files (``bad/`` subfolders included: they are
    reported and skipped)."""
    max_frames: int = 0
    """Frames per replay at most (0 = all)."""


def replay_errors(path: Path, max_frames: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(family per sample, position error per sample, action id per sample) for one replay."""
    from melee_envs.backends.mock import MockBackend, MockConfig
    from melee_envs.backends.replay import read_replay
    from melee_envs.controller import ControllerCodec
    from melee_envs.data import stages

    replay = read_replay(path)
    state = replay.two_players()
    legal = {s.internal_id for s in stages.stages().values()}
    if int(state.stage[0]) not in legal:
        raise ValueError(f"stage {int(state.stage[0])} is not one of the six legal stages the engine has")
    play = np.flatnonzero(state.frame >= 0)
    if max_frames:
        play = play[:max_frames]
    play = play[play + 1 < len(state.frame)]
    p = state.players
    ok = (p.exists[play].all(1)) & (p.exists[play + 1].all(1))
    ok &= (p.stocks[play] == p.stocks[play + 1]).all(1)  # no death between the two frames
    frames = play[ok]
    if len(frames) == 0:
        return np.zeros(0, object), np.zeros(0), np.zeros(0, np.int32)
    codec = ControllerCodec()
    backend = MockBackend(len(frames), MockConfig(time_limit_minutes=10_000), codec)
    backend.load_state(state[frames])
    nxt = state[frames + 1]
    inputs = codec.encode(nxt.players.controller)  # (F, 2, ACTION_SIZE)
    out = backend.step(inputs, checked=True)
    err = np.hypot(out.players.x - nxt.players.x, out.players.y - nxt.players.y)  # (F, 2)
    action = state.players.action[frames]
    return family_of(action).ravel(), err.ravel(), action.ravel()


def run(config: FidelityConfig) -> dict:
    from melee_envs.backends.replay import ReplayError

    folder = Path(config.folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"replay folder {folder} does not exist")
    files = sorted(folder.rglob("*.slp"))
    if not files:
        raise FileNotFoundError(f"no .slp files under {folder}")
    fams, errs, skipped = [], [], []
    for path in files:
        try:
            f, e, _ = replay_errors(path, config.max_frames)
        except (ReplayError, ValueError) as exc:
            skipped.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
            continue
        fams.append(f)
        errs.append(e)
    fam = np.concatenate(fams) if fams else np.zeros(0, object)
    err = np.concatenate(errs) if errs else np.zeros(0)
    table = {}
    for name in (*FAMILIES, "other"):
        sel = err[fam == name]
        if len(sel):
            table[name] = _summary(sel)
    move = np.isin(fam, MOVEMENT)
    if move.any():
        table["movement (all four)"] = _summary(err[move])
    table["all"] = _summary(err) if len(err) else {}
    return {"table": table, "replays": len(files) - len(skipped), "skipped": skipped}


def _summary(e: np.ndarray) -> dict[str, float]:
    return {
        "samples": float(len(e)),
        "median": float(np.median(e)),
        "p90": float(np.percentile(e, 90)),
        "mean": float(e.mean()),
        "within 1 unit": float((e < 1.0).mean()),
    }


def main(config: FidelityConfig) -> dict:
    from rich.console import Console
    from rich.table import Table

    result = run(config)
    console = Console(width=120)
    table = Table(title=f"Mock engine next-frame position error vs {result['replays']} replays (game units)")
    for c in ("family", "samples", "median", "p90", "mean", "within 1 unit"):
        table.add_column(c, justify="left" if c == "family" else "right")
    for name, s in result["table"].items():
        if s:
            table.add_row(
                name, f"{int(s['samples']):,}", f"{s['median']:.3f}", f"{s['p90']:.2f}", f"{s['mean']:.2f}",
                f"{s['within 1 unit']:.1%}",
            )  # fmt: skip
    console.print(table)
    for line in result["skipped"]:
        console.print(f"skipped {line}", markup=False)
    return result
