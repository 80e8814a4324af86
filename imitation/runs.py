"""A BC run folder: its lock, its train/validation split as saved, checksummed checkpoints,
and where a resumed run continues from (the newest checkpoint that is whole)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from imitation.dataset import ReplayDataset
from melee_envs.atomic import file_sha256

#: A checkpoint folder's file of SHA-256 sums of its other files (written last).
CHECKSUMS = "checksums.json"


def split_by_file(dataset: ReplayDataset, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shard indices (train, validation); at least one replay on each side."""
    n = len(dataset.shards)
    if n < 2:
        raise ValueError(f"{dataset.directory}: {n} replay(s); a train/validation split needs at least 2")
    order = np.random.default_rng([seed, 7]).permutation(n)
    n_val = min(n - 1, max(1, round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def lock_run(out: Path) -> Any:
    """Take ``out``'s run lock (``out/.lock``) for this process: one BC run writes a run folder at
    a time; the lock goes with the process, so a killed run leaves none.

    Raises:
        RuntimeError: another run holds it.
    """
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / ".lock", "a")  # noqa: SIM115 - held for the trainer's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(
            f"{out}: another BC run is writing this run folder (one run per name); wait for it or use another name"
        ) from None
    return handle


def split_as_saved(dataset: ReplayDataset, val_files: list[str], checkpoint: Path) -> tuple[np.ndarray, np.ndarray]:
    """Shard indices (train, validation) of a resumed run: validation is exactly the replays the
    run started with as validation (``val_files`` from its checkpoint); every other replay,
    including any added since, trains.

    Raises:
        ValueError: a validation replay is no longer in the dataset (the losses that chose "best"
            would no longer compare), or the checkpoint lists none.
    """
    sources = [str(Path(shard.info["source"]).resolve()) for shard in dataset.shards]
    where = {src: i for i, src in enumerate(sources)}
    missing = [f for f in val_files if f not in where]
    if not val_files or missing:
        raise ValueError(
            f"{checkpoint}: cannot resume with the same validation replays ("
            + (f"{len(missing)} no longer in the dataset, e.g. {missing[0]}" if missing else "none recorded")
            + "); restore them, or start a new run under another name"
        )
    val = np.array(sorted(where[f] for f in val_files), np.int64)
    train = np.array([i for i in range(len(sources)) if i not in set(val.tolist())], np.int64)
    if len(train) == 0:
        raise ValueError(f"{checkpoint}: no training replays left besides the validation ones")
    return train, val


def checkpoint_problem(folder: Path) -> str | None:
    """Why the checkpoint folder cannot be resumed from (a file missing, unreadable, or not what
    its checksum says), or None when it is intact. Checkpoints written before checksums existed
    are checked for their files only."""
    for name in ("model.safetensors", "trainer.pt", "meta.json"):
        if not (folder / name).is_file():
            return f"no {name}"
    sums_file = folder / CHECKSUMS
    if sums_file.is_file():
        try:
            sums = json.loads(sums_file.read_text())
        except (ValueError, UnicodeDecodeError):
            return f"{CHECKSUMS} is not readable JSON"
        for name, expected in sums.items():
            if not (folder / name).is_file():
                return f"no {name}"
            if file_sha256(folder / name) != expected:
                return f"{name} does not match its checksum (damaged after it was written)"
    try:
        json.loads((folder / "meta.json").read_text())
    except (ValueError, UnicodeDecodeError):
        return "meta.json is not readable JSON"
    return None


def resume_source(out: Path) -> Path | None:
    """The checkpoint a run in ``out`` resumes from: the newest intact one of ``last`` and its
    backups (``last.bak`` is also where a kill between moving the old ``last`` aside and renaming
    the new one into place leaves the latest; checkpoints are only ever renamed, never written in
    place). A damaged one is passed over with a warning naming what is wrong; None when there is
    no checkpoint at all.

    Raises:
        ValueError: checkpoints exist but none is intact (naming each and its problem).
    """
    tried = []
    for name in ("last", "last.bak", *(f"last.bak.{i}" for i in range(1, 3))):
        folder = out / name
        if not folder.exists():
            continue
        problem = checkpoint_problem(folder)
        if problem is None:
            if tried:
                print(f"bc: resuming from {folder}: skipped {'; '.join(tried)}", file=sys.stderr)
            return folder
        tried.append(f"{folder}: {problem}")
    if tried:
        raise ValueError(
            f"{out}: no intact checkpoint to resume from ({'; '.join(tried)}); move the folder aside to start over"
        )
    return None


def _rotate_backups(target: Path) -> None:
    """``NAME`` -> ``NAME.bak``; an existing ``NAME.bak`` -> ``NAME.bak.1`` and so on (keeps 3)."""
    backups = [target.with_name(f"{target.name}.bak")] + [
        target.with_name(f"{target.name}.bak.{i}") for i in range(1, 3)
    ]
    if backups[-1].exists():
        shutil.rmtree(backups[-1])
    for older, newer in zip(reversed(backups[1:]), reversed(backups[:-1]), strict=True):
        if newer.exists():
            os.replace(newer, older)
    os.replace(target, backups[0])
