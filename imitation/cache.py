"""On-disk pieces of the replay dataset cache: content hashes, atomic writes, the stat index.

Layout under a cache root::

    <root>/<config key>/config.json          what was encoded (the key is its hash)
    <root>/<config key>/shards/<file hash>/  one finished shard per distinct replay
        obs.npy      observations (memory-mapped when loaded)
        labels.npz   actions, segments, and ``info`` (JSON text); written last
    <root>/<config key>/manifest.json        the shards of the last build, in order
    <root>/hashes.json                       (path, size, mtime) -> file hash, to skip re-hashing

A shard directory is written under a temporary name and renamed into place when complete, so an
interrupted build leaves no half shard, and a rerun only builds what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from melee_envs.atomic import write_text_atomic

#: The cache folder every command uses unless told otherwise (``--cache``, ``--data.cache``,
#: ``$EXPHIL_CACHE_DIR`` for ``exphil bc train``), so a dataset built once is found again.
DEFAULT_CACHE = ".exphil-cache"

#: Bump when the shard format or what goes into it changes; old shards are then not reused.
#: 2: files older than Slippi 3.5 carry speeds (and before 2.0, ``on_ground``) estimated from
#: the positions instead of zeros and "always on the ground".
FORMAT_VERSION = 2


def file_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes (first 20 hex digits): the same replay anywhere, one shard."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:20]


def config_key(config: dict[str, Any]) -> str:
    """Hash of an encoding config (JSON, sorted keys) and the format version."""
    text = json.dumps({"format": FORMAT_VERSION, **config}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or ``{}`` when the file is missing or unreadable (the cache
    then rebuilds what it describes)."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it over ``path``."""
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def write_shard_atomic(shard_dir: Path, obs: np.ndarray, labels: dict[str, np.ndarray], info: dict[str, Any]) -> bool:
    """Write a shard (``obs.npy`` and ``labels.npz`` with ``info`` as JSON text) into a temporary
    directory, then rename it to ``shard_dir``. Returns False (and discards the copy) if another
    writer finished the same shard first."""
    shard_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=shard_dir.parent, prefix=f".{shard_dir.name}."))
    try:
        np.save(tmp / "obs.npy", obs, allow_pickle=False)
        np.savez(tmp / "labels.npz", info=np.array(json.dumps(info, sort_keys=True)), **labels)
        if shard_dir.exists() and shard_problem(shard_dir) is not None:  # a damaged or partial leftover
            aside = Path(tempfile.mkdtemp(dir=shard_dir.parent, prefix=f".{shard_dir.name}.old."))
            os.replace(shard_dir, aside / "shard")
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.rename(tmp, shard_dir)
        except OSError:
            if shard_complete(shard_dir):
                return False
            raise
        return True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def shard_complete(shard_dir: Path) -> bool:
    return (shard_dir / "labels.npz").exists()


def shard_problem(shard_dir: Path) -> str | None:
    """Why a finished shard cannot be used (a file cut short or missing), or None. Cheap: it
    reads the ``.npy`` header and the ``.npz`` directory, not the data."""
    import zipfile

    obs = shard_dir / "obs.npy"
    try:
        with open(obs, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
            expected = fh.tell() + int(np.prod(shape)) * np.dtype(dtype).itemsize
        if obs.stat().st_size != expected:
            return f"obs.npy is {obs.stat().st_size} bytes, its header says {expected}"
        with zipfile.ZipFile(shard_dir / "labels.npz") as labels:
            if labels.testzip() is not None or not {"actions.npy", "info.npy"} <= set(labels.namelist()):
                return "labels.npz is damaged"
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def read_shard_info(shard_dir: Path) -> dict[str, Any]:
    with np.load(shard_dir / "labels.npz") as labels:
        return json.loads(str(labels["info"]))


#: A temporary shard directory older than this was left by an interrupted build (a running one
#: finishes a shard in seconds); younger ones may belong to a build running now and are left alone.
STALE_SECONDS = 3600.0


def clean_partial(shards_root: Path, stale_seconds: float = STALE_SECONDS) -> int:
    """Remove temporary shard directories left by an interrupted build; returns how many."""
    import time

    removed = 0
    if shards_root.is_dir():
        for entry in shards_root.iterdir():
            try:
                age = time.time() - entry.stat().st_mtime
            except OSError:  # removed meanwhile by the build that owned it
                continue
            if entry.name.startswith(".") and entry.is_dir() and age > stale_seconds:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


class HashIndex:
    """Remembers each file's content hash by (resolved path, size, mtime), so an unchanged file
    is not read again to find its shard."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._table: dict[str, list[Any]] = read_json(path)
        self._dirty = False

    def get(self, file: Path) -> str:
        st = file.stat()
        key = str(file.resolve())
        entry = self._table.get(key)
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            return str(entry[2])
        digest = file_hash(file)
        self._table[key] = [st.st_size, st.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        if self._dirty:
            write_json_atomic(self.path, self._table)
            self._dirty = False
