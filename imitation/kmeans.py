"""Stick bucket centres fitted to real inputs (``exphil bc kmeans``).

Uniform buckets spend as many classes on rarely used stick positions as on the ones players
hold all the time (neutral, the rims, the notches). One-dimensional k-means over every stick
axis value in the replays puts the ``k`` centres where the inputs are; train with them through
``--data.stick-centres FILE``. (The seed project found 21 centres helpful.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def fit_centres(values: np.ndarray, k: int, iterations: int = 100, seed: int = 0) -> np.ndarray:
    """Lloyd's k-means in one dimension; ``k`` ascending centres in [0, 1]. Starts from the
    values' quantiles; an empty cluster is moved to the value farthest from every centre."""
    x = np.asarray(values, np.float64).ravel()
    if x.size < k:
        raise ValueError(f"k-means needs at least k={k} values; got {x.size}")
    centres = np.unique(np.quantile(x, (np.arange(k) + 0.5) / k))
    rng = np.random.default_rng(seed)
    while len(centres) < k:  # heavy ties at a few values: add distinct values
        centres = np.unique(np.concatenate([centres, rng.choice(np.unique(x), k - len(centres))]))
    for _ in range(iterations):
        edges = (centres[1:] + centres[:-1]) / 2
        label = np.searchsorted(edges, x)
        sums = np.bincount(label, weights=x, minlength=k)
        counts = np.bincount(label, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centres)
        for empty in np.flatnonzero(counts == 0):
            new[empty] = x[np.argmax(np.min(np.abs(x[:, None] - new[None]), axis=1))]
        new = np.sort(new)
        if np.allclose(new, centres, atol=1e-9):
            break
        centres = new
    return np.clip(centres, 0.0, 1.0)


def stick_values(sources: list[Path], max_files: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    """Every main/c-stick axis value of every player in the replays; (values, used, failed)."""
    from imitation.build import find_replays
    from melee_envs.backends.replay import ReplayError, read_replay

    values, used, failed = [], [], []
    for path in find_replays(sources)[: max_files or None]:
        try:
            replay = read_replay(path)
        except ReplayError as exc:
            failed.append(f"{path}: {exc}")
            continue
        c = replay.state.players.controller
        exists = replay.state.players.exists
        for axis in (c.main_x, c.main_y, c.c_x, c.c_y):
            values.append(np.asarray(axis)[exists])
        used.append(str(path))
    if not values:
        raise ValueError(f"no readable replays among {len(failed)} file(s)" + (f": {failed[0]}" if failed else ""))
    return np.concatenate(values), used, failed


def write_centres(path: Path, centres: np.ndarray, info: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps({"stick_centres": [round(float(c), 6) for c in centres], **info}, indent=1))
    tmp.replace(path)


def read_centres(path: str | Path) -> tuple[float, ...]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"stick centres file {p} does not exist (make one with exphil bc kmeans)")
    data = json.loads(p.read_text())
    if "stick_centres" not in data:
        raise ValueError(f"{p}: no 'stick_centres' list")
    return tuple(float(c) for c in data["stick_centres"])
