"""The engine's compiled code is tied to every engine source file (no stale Numba cache)."""

import ast
import shutil
from pathlib import Path

from melee_envs.backends.mock import batch, engine
from melee_envs.backends.mock.engine.sources import ENGINE_DIR, source_salt


def test_editing_any_engine_file_changes_the_salt(tmp_path):
    copy = tmp_path / "engine"
    shutil.copytree(ENGINE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = source_salt(folder=copy)
    assert base == engine.SALT
    files = sorted(copy.glob("*.py"))
    assert {f.name for f in files} >= {"schema.py", "rules.py", "physics.py", "combat.py", "player.py", "tables.py"}
    for path in files:
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert source_salt(folder=copy) != base, path.name
        path.write_bytes(original)
    assert source_salt(folder=copy) == base


def test_the_salts_cover_what_the_engine_and_the_vector_kernel_compile_in(tmp_path):
    import melee_envs.obs_kernel
    from melee_envs.backends.mock.engine.sources import DEPENDENCIES

    # The engine freezes state columns, the action layout, the winner rule and move ids.
    assert {p.name for p in DEPENDENCIES} >= {"state.py", "controller.py", "scoring.py", "moves.py", "moves.csv"}
    assert all(p.is_file() for p in DEPENDENCIES)
    # The vector kernel adds the encoder and its own file.
    assert batch.SALT == source_salt(melee_envs.obs_kernel.__file__, batch.__file__)
    edited = tmp_path / "obs_kernel.py"
    edited.write_bytes(Path(melee_envs.obs_kernel.__file__).read_bytes() + b"\n# edited\n")
    assert source_salt(edited, batch.__file__) != batch.SALT


def test_only_salted_entry_points_are_cached():
    """A helper cached on its own would keep stale constants when another engine file changes."""
    for path in sorted(ENGINE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "cache" and getattr(node.value, "value", False):
                assert path.name == "entries.py", f"{path.name}:{node.lineno} caches a helper"


def test_engine_modules_stay_small_and_import_downwards():
    order = [
        "tables",
        "schema",
        "rules",
        "states",
        "specials",
        "controls",
        "physics",
        "hitlag",
        "combat",
        "grabs",
        "counters",
        "projectiles",
        "ledge",
        "movement",
        "lifecycle",
    ]
    order += ["player", "frame", "sources", "entries"]
    for path in sorted(ENGINE_DIR.glob("*.py")):
        assert len(path.read_text().splitlines()) < 300, path.name
        if path.stem == "__init__":
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("melee_envs.backends.mock.engine."):
                dep = node.module.rsplit(".", 1)[1]
                assert order.index(dep) < order.index(path.stem), f"{path.stem} imports {dep}"


_KERNEL_MODULE = """
from collections import namedtuple

import numba
import numpy as np

from melee_envs.compiled import readable_cache

{name} = namedtuple("{name}", "a b")


@numba.njit(cache=True)
def total(P):
    return P.a.sum() + P.b.sum()


if {guard}:
    readable_cache(total)
print(total({name}(np.ones(2), np.ones(3))))
"""


def test_a_cache_index_naming_a_removed_type_is_rebuilt_not_fatal(tmp_path):
    """An index written before a named tuple in a kernel's signature was renamed (what an upgrade
    of this package leaves in ``__pycache__``) must not fail the load: Numba unpickles it whole."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    module = tmp_path / "kernelmod.py"  # imported, not run: Numba pickles __main__'s classes by value

    def run(name: str, guard: bool) -> subprocess.CompletedProcess:
        module.write_text(_KERNEL_MODULE.format(name=name, guard=guard))
        command = [sys.executable, "-c", "import kernelmod"]
        return subprocess.run(command, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    first = run("Pair", guard=True)
    assert first.returncode == 0 and first.stdout.strip() == "5.0", first.stderr
    assert list((tmp_path / "cache").rglob("*.nbi")), "the first run wrote no cache index"
    renamed = run("Couple", guard=False)  # Numba alone: the old index names kernelmod.Pair
    assert renamed.returncode != 0 and "Pair" in renamed.stderr, renamed.stderr
    guarded = run("Couple", guard=True)
    assert guarded.returncode == 0 and guarded.stdout.strip() == "5.0", guarded.stderr
    again = run("Couple", guard=True)  # and the rebuilt index is read back
    assert again.returncode == 0 and again.stdout.strip() == "5.0", again.stderr
