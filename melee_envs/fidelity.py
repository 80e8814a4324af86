"""How close is the mock engine to Melee? Its error against real replays, one frame and many.

*One frame (teacher-forced).* For every 1v1 replay in a folder and every frame ``t`` of play,
the engine is started from the replay's own state at ``t`` (:meth:`MockBackend.load_state`),
stepped once with the inputs recorded for frame ``t + 1`` (quantised to the action space's stick
buckets, as an agent would send them), and its positions compared with the replay's frame
``t + 1``. All frames of a replay run as one batch of independent one-frame games. Errors are
grouped by the action-state family of the frame stepped from; *movement* frames are
standing/walking, dashing/running, jumping/falling/air drift and landing.

*Open loop.* From the same starts the engine runs on by itself for ``H`` frames (5, 15, 30, 60),
fed both players' recorded inputs and never corrected; a window counts where both players are
present and nobody loses a stock in the replay during it. At ``t + H`` it reports the position
error (median, p90), the share of player-frames whose action-state family matches the replay's
(overall and per family), and of the windows in which the replay's player took damage, the
share in which the engine's did too. Two baselines with no engine sit in the same table: *still*
(the position at ``t``) and *last velocity* (the motion from ``t - 1`` to ``t``, kept ``H``
frames); both keep the action of frame ``t``. *Where it parts*: for each window, the first frame
whose action family differs from the replay's, and the actions on either side; the most common
of these at the longest horizon say what to fix next.

``exphil bench fidelity [FOLDER]`` prints the tables; ``docs/mock-engine.md`` keeps the figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from melee_envs.data.actions import actions
from melee_envs.envvars import replays_dir

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

    folder: str = field(default_factory=lambda: replays_dir("../shared/replays"))
    """Folder searched recursively for ``.slp`` files (default: $EXPHIL_REPLAYS_DIR, else
    ../shared/replays; ``bad/`` subfolders included: they are reported and skipped)."""
    max_frames: int = 0
    """Frames per replay at most (0 = all)."""
    horizons: tuple[int, ...] = (5, 15, 30, 60)
    """Open-loop rollout lengths in frames (empty: the one-frame table only)."""


def _game(path: Path):  # noqa: ANN202
    """The replay's two players as one ``GameState`` over time, on a stage the engine has."""
    from melee_envs.backends.replay import read_replay
    from melee_envs.data import stages

    state = read_replay(path).two_players()
    legal = {s.internal_id for s in stages.stages().values()}
    if int(state.stage[0]) not in legal:
        raise ValueError(f"stage {int(state.stage[0])} is not one of the six legal stages the engine has")
    return state


def step_once(state, frames: np.ndarray):  # noqa: ANN001, ANN201
    """The engine started from ``state``'s frames ``frames`` (one game each, as
    :meth:`MockBackend.load_state` takes them) and stepped once with the inputs recorded for the
    next frames, quantised to the action space: the players as the engine puts them one frame on."""
    from melee_envs.backends.mock import MockBackend, MockConfig
    from melee_envs.controller import ControllerCodec

    codec = ControllerCodec()
    backend = MockBackend(len(frames), MockConfig(time_limit_minutes=10_000), codec)
    backend.load_state(state[frames])
    return backend.step(codec.encode(state[frames + 1].players.controller), checked=True).players


def replay_errors(path: Path, max_frames: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(family per sample, position error per sample, action id per sample) for one replay."""
    return _one_frame(_game(path), max_frames)


def _one_frame(state, max_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
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
    out = step_once(state, frames)
    err = np.hypot(out.x - p.x[frames + 1], out.y - p.y[frames + 1])  # (F, 2)
    action = state.players.action[frames]
    return family_of(action).ravel(), err.ravel(), action.ravel()


#: What an open-loop window records per player at ``t + H``: the replay's action family, the
#: engine's and the baselines' (the action at ``t``); the three position errors; whether the
#: replay's and the engine's player took damage during the window; where the engine first parted
#: from the replay (the first frame ``1..H`` whose action family differs, 0 if none) with the
#: replay's action the frame before and both actions on that frame.
ROLLOUT_FIELDS = ("family", "engine family", "kept family", "engine", "last velocity", "still")
ROLLOUT_FIELDS += ("damaged", "engine damaged", "parted at", "parted from", "parted replay", "parted engine")


def replay_rollouts(path: Path, horizons: tuple[int, ...] = (5, 15, 30, 60), max_frames: int = 0) -> dict:
    """Open-loop windows of one replay: ``{H: {field: array over player-windows}}`` (fields:
    :data:`ROLLOUT_FIELDS`). Every start of play is one game of a single engine batch, stepped
    ``max(horizons)`` frames with the recorded inputs."""
    return _rollouts(_game(path), horizons, max_frames)


def _rollouts(state, horizons: tuple[int, ...], max_frames: int) -> dict:  # noqa: ANN001
    from melee_envs.backends.mock import MockBackend, MockConfig
    from melee_envs.controller import ControllerCodec

    horizons = tuple(sorted(set(horizons)))
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons must be positive frame counts; got {horizons}")
    n = len(state.frame)
    p = state.players
    # Transition t -> t + 1 is intact when both players are there on both frames and nobody
    # loses a stock; a window [t, t + H] counts when all its transitions are.
    intact = np.zeros(n, bool)
    intact[:-1] = (state.frame[:-1] >= 0) & p.exists[:-1].all(1) & p.exists[1:].all(1)
    intact[:-1] &= (p.stocks[:-1] == p.stocks[1:]).all(1)
    broken = np.concatenate([[0], np.cumsum(~intact)])

    def whole(t: np.ndarray, h: int) -> np.ndarray:
        end = np.minimum(t + h, n - 1)
        return (t + h < n) & (broken[end] - broken[t] == 0)

    starts = np.flatnonzero(state.frame >= 0)
    if max_frames:
        starts = starts[:max_frames]
    starts = starts[whole(starts, horizons[0])]
    if len(starts) == 0:
        return {}
    codec = ControllerCodec()
    inputs = codec.encode(p.controller)  # (n, 2, ACTION_SIZE), every frame's recorded input
    backend = MockBackend(len(starts), MockConfig(time_limit_minutes=10_000), codec)
    backend.load_state(state[starts])
    x0, y0, pct0 = p.x[starts], p.y[starts], p.percent[starts]
    moving = (starts > 0)[:, None] & intact[np.maximum(starts - 1, 0)][:, None]
    vx = np.where(moving, x0 - p.x[np.maximum(starts - 1, 0)], 0.0)
    vy = np.where(moving, y0 - p.y[np.maximum(starts - 1, 0)], 0.0)
    kept = family_of(p.action[starts])
    parted = np.zeros((len(starts), 2), np.int32)
    parted_actions = np.full((3, len(starts), 2), -1, np.int32)  # replay before, replay, engine
    out = {}
    for k in range(1, horizons[-1] + 1):
        idx = np.minimum(starts + k, n - 1)
        sim = backend.step(inputs[idx], checked=True).players
        replay_family, engine_family = family_of(p.action[idx]), family_of(sim.action)
        new = (parted == 0) & (replay_family != engine_family)
        parted[new] = k
        for row, actions_now in enumerate((p.action[idx - 1], p.action[idx], sim.action)):
            parted_actions[row][new] = actions_now[new]
        if k not in horizons:
            continue
        ok = whole(starts, k)
        if not ok.any():
            break
        j = idx[ok]
        xr, yr = p.x[j], p.y[j]
        fields = {
            "family": replay_family[ok],
            "engine family": engine_family[ok],
            "kept family": kept[ok],
            "engine": np.hypot(sim.x[ok] - xr, sim.y[ok] - yr),
            "last velocity": np.hypot(x0[ok] + k * vx[ok] - xr, y0[ok] + k * vy[ok] - yr),
            "still": np.hypot(x0[ok] - xr, y0[ok] - yr),
            "damaged": p.percent[j] > pct0[ok] + 1e-3,
            "engine damaged": sim.percent[ok] > pct0[ok] + 1e-3,
            "parted at": parted[ok],
            "parted from": parted_actions[0][ok],
            "parted replay": parted_actions[1][ok],
            "parted engine": parted_actions[2][ok],
        }
        out[k] = {name: value.ravel() for name, value in fields.items()}
    return out


def rollout_summary(windows: dict[int, dict[str, np.ndarray]]) -> dict[int, dict[str, float]]:
    """Per horizon: position error median/p90 of the engine and both baselines, family agreement,
    damage windows reproduced (and invented), and the agreement per replay family."""
    table = {}
    for h, w in sorted(windows.items()):
        damaged = w["damaged"]
        row = {"samples": float(len(w["engine"]))}
        for name in ("engine", "last velocity", "still"):
            row[f"{name} median"] = float(np.median(w[name]))
            row[f"{name} p90"] = float(np.percentile(w[name], 90))
        row["family engine"] = float((w["engine family"] == w["family"]).mean())
        row["family kept"] = float((w["kept family"] == w["family"]).mean())
        row["damage windows"] = float(damaged.sum())
        row["damage reproduced"] = float(w["engine damaged"][damaged].mean()) if damaged.any() else float("nan")
        row["damage invented"] = float(w["engine damaged"][~damaged].mean()) if (~damaged).any() else float("nan")
        for name in (*FAMILIES, "other"):
            sel = w["family"] == name
            if sel.any():
                row[f"family {name}"] = float((w["engine family"][sel] == name).mean())
        table[h] = row
    return table


def parting_summary(w: dict[str, np.ndarray], top: int = 12) -> dict:
    """Where one horizon's windows first parted from the replay: the share that did, the median
    frame, and the ``top`` most common (replay's action before, replay's action, engine's action)
    triples by action name, each with its count and share of all windows."""
    from melee_envs.data.actions import actions

    names = {v: k for k, v in actions().items()}
    at = w["parted at"]
    windows = len(at)
    hit = at > 0
    triples = Counter(
        tuple(names.get(int(a), str(a)) for a in ids)
        for ids in zip(w["parted from"][hit], w["parted replay"][hit], w["parted engine"][hit], strict=True)
    )
    ranked = triples.most_common(top)
    return {
        "windows": windows,
        "parted": float(hit.mean()) if windows else float("nan"),
        "median frame": float(np.median(at[hit])) if hit.any() else float("nan"),
        "top": [(key, count, count / windows) for key, count in ranked],
    }


def run(config: FidelityConfig) -> dict:
    from melee_envs.backends.replay import ReplayError

    folder = Path(config.folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"replay folder {folder} does not exist")
    files = sorted(folder.rglob("*.slp"))
    if not files:
        raise FileNotFoundError(f"no .slp files under {folder}")
    fams, errs, skipped = [], [], []
    windows: dict[int, list[dict[str, np.ndarray]]] = {}
    for path in files:
        try:
            state = _game(path)  # read once for both measurements
            f, e, _ = _one_frame(state, config.max_frames)
            rollouts = _rollouts(state, config.horizons, config.max_frames) if config.horizons else {}
        except (ReplayError, ValueError) as exc:
            skipped.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
            continue
        fams.append(f)
        errs.append(e)
        for h, w in rollouts.items():
            windows.setdefault(h, []).append(w)
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
    joined = {h: {k: np.concatenate([w[k] for w in ws]) for k in ROLLOUT_FIELDS} for h, ws in windows.items()}
    return {
        "table": table,
        "open_loop": rollout_summary(joined),
        "parting": {h: parting_summary(joined[h]) for h in joined},
        "replays": len(files) - len(skipped),
        "skipped": skipped,
    }


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
    console = Console(width=140)
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
    if result["open_loop"]:
        console.print(_open_loop_table(result["open_loop"], result["replays"]))
        console.print(_family_table(result["open_loop"]))
        longest = max(result["parting"])
        console.print(_parting_table(result["parting"][longest], longest))
    for line in result["skipped"]:
        console.print(f"skipped {line}", markup=False)
    return result


def _open_loop_table(rows: dict[int, dict[str, float]], replays: int):  # noqa: ANN202
    from rich.table import Table

    table = Table(title=f"Open loop: H frames on the recorded inputs alone, {replays} replays (position error, units)")
    columns = ("H", "windows", "engine median", "p90", "last velocity median", "p90", "still median", "p90")
    columns += ("family: engine", "kept", "damage windows", "reproduced", "invented")
    for c in columns:
        table.add_column(c, justify="right")
    for h, r in rows.items():
        table.add_row(
            str(h), f"{int(r['samples']):,}", f"{r['engine median']:.2f}", f"{r['engine p90']:.1f}",
            f"{r['last velocity median']:.2f}", f"{r['last velocity p90']:.1f}", f"{r['still median']:.2f}",
            f"{r['still p90']:.1f}", f"{r['family engine']:.1%}", f"{r['family kept']:.1%}",
            f"{int(r['damage windows']):,}", f"{r['damage reproduced']:.1%}", f"{r['damage invented']:.1%}",
        )  # fmt: skip
    return table


def _family_table(rows: dict[int, dict[str, float]]):  # noqa: ANN202
    from rich.table import Table

    table = Table(title="Open loop: share of player-frames where the engine's action family matches the replay's")
    table.add_column("replay's family at t + H")
    for h in rows:
        table.add_column(f"H={h}", justify="right")
    for name in (*FAMILIES, "other"):
        cells = [f"{rows[h][f'family {name}']:.1%}" if f"family {name}" in rows[h] else "" for h in rows]
        table.add_row(name, *cells)
    return table


def _parting_table(summary: dict, horizon: int):  # noqa: ANN202
    from rich.table import Table

    title = (
        f"Open loop: where the engine first parts from the replay within H={horizon} "
        f"({summary['parted']:.1%} of {summary['windows']:,} windows part, at median frame "
        f"{summary['median frame']:.0f}); the most common first differences"
    )
    table = Table(title=title)
    for c in ("replay's action before", "replay's action", "engine's action", "windows", "share"):
        table.add_column(c, justify="right" if c in ("windows", "share") else "left")
    for (before, replay, engine), count, share in summary["top"]:
        table.add_row(before, replay, engine, f"{count:,}", f"{share:.1%}")
    return table
