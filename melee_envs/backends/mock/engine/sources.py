"""The salt that ties the engine's compiled code to its source files (see :mod:`melee_envs.compiled`).

Only the functions Python calls are cached (:mod:`.entries`), each built in a closure over
:data:`SALT`; the helpers they call are compiled into them and not cached alone, so no helper
can keep constants from an older version of another module.
"""

from __future__ import annotations

from pathlib import Path

from melee_envs.compiled import PACKAGE_DIR, source_salt as _salt

ENGINE_DIR = Path(__file__).resolve().parent
#: Files outside this package whose functions or constants the engine compiles in: state
#: columns, the action layout, the winner rule, action ids, the move table's layout, the up-B,
#: ledge and projectile tables.
DEPENDENCIES = tuple(
    PACKAGE_DIR / name
    for name in (
        "state.py", "controller.py", "scoring.py", "data/actions.py", "data/moves.py", "data/moves.csv",
        "data/hitboxes.csv", "data/recoveries.py", "data/ledge.py", "data/projectiles.py",
    )
)  # fmt: skip


def source_salt(*extra: str | Path, folder: Path = ENGINE_DIR) -> int:
    """A number that changes whenever any ``.py`` file in ``folder``, a dependency or ``extra`` does."""
    return _salt([*sorted(folder.glob("*.py")), *DEPENDENCIES, *map(Path, extra)])


#: The engine's salt.
SALT = source_salt()
