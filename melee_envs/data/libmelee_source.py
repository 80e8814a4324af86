"""Read libmelee's own data files without importing libmelee.

libmelee (PyPI ``melee``) ships the community's reference tables: ``characterdata.csv``,
``framedata.csv``, the ``Action``/``Character``/``Stage`` enums in ``enums.py`` and the stage
geometry in ``stages.py``. Importing the ``melee`` package pulls in its Dolphin console
(networking, C extensions), which ``melee_envs`` keeps out of its import path, so these files are
located through the import system and parsed as data: CSV with :mod:`csv`, Python source with
:mod:`ast` (never executed).
"""

from __future__ import annotations

import ast
import csv
import importlib.util
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any


class LibmeleeDataError(RuntimeError):
    """libmelee's data files are missing or no longer look as expected."""


@cache
def package_dir() -> Path:
    """Directory of the installed ``melee`` package (found, not imported)."""
    spec = importlib.util.find_spec("melee")
    if spec is None or not spec.submodule_search_locations:
        raise LibmeleeDataError(
            "libmelee is not installed; melee_envs reads its game data files. Install it with `pip install melee`."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def data_file(name: str) -> Path:
    path = package_dir() / name
    if not path.is_file():
        raise LibmeleeDataError(f"libmelee data file not found: {path}")
    return path


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of one of libmelee's CSV files as dicts keyed by column name."""
    with data_file(name).open(newline="") as f:
        return list(csv.DictReader(f))


def frame_rows(actions: Iterable[int]) -> dict[tuple[int, int], list[dict[str, str]]]:
    """``framedata.csv``'s rows for the given action ids, read in one pass and grouped by
    ``(character, action)``, each group in frame order."""
    wanted = set(actions)
    groups: dict[tuple[int, int], list[dict[str, str]]] = {}
    with data_file("framedata.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            action = int(row["action"])
            if action in wanted:
                groups.setdefault((int(row["character"]), action), []).append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: int(r["frame"]))
    return groups


def locomotion(rows: Iterable[dict[str, str]]) -> list[tuple[float, float]]:
    """Each frame row's ``(locomotion_x, locomotion_y)`` (0 where blank)."""
    return [(float(r["locomotion_x"] or 0.0), float(r["locomotion_y"] or 0.0)) for r in rows]


@cache
def _module_ast(name: str) -> ast.Module:
    return ast.parse(data_file(name).read_text(), filename=name)


@cache
def enum_members(class_name: str) -> dict[str, int | str]:
    """``NAME -> value`` of an ``Enum`` class in libmelee's ``enums.py``, in source order
    (cached: do not modify the returned dict)."""
    for node in _module_ast("enums.py").body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            members: dict[str, int | str] = {}
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                    value = ast.literal_eval(stmt.value)
                    members.setdefault(stmt.targets[0].id, value)
            return members
    raise LibmeleeDataError(f"enums.py has no class {class_name}")


def _enum_ref(node: ast.AST) -> str | None:
    """``enums.Stage.BATTLEFIELD`` / ``Character.DOC`` -> ``"BATTLEFIELD"`` / ``"DOC"``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@cache
def if_chain_mapping(module: str, function: str) -> dict[Any, Any]:
    """Mapping encoded by a function made of ``if arg == X: return Y`` statements (cached: do
    not modify the returned dict).

    libmelee writes its id conversions and stage platform positions this way. Enum references
    become member names; literals stay literals.
    """
    for node in _module_ast(module).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            mapping: dict[Any, Any] = {}
            for stmt in node.body:
                if not (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)):
                    continue
                (comparator,) = stmt.test.comparators
                key = _enum_ref(comparator)
                if key is None:
                    key = ast.literal_eval(comparator)
                ret = stmt.body[0]
                if not isinstance(ret, ast.Return) or ret.value is None:
                    continue
                value = _enum_ref(ret.value)
                mapping[key] = ast.literal_eval(ret.value) if value is None else value
            return mapping
    raise LibmeleeDataError(f"{module} has no function {function}")


def dict_constant(module: str, name: str) -> dict[str, Any]:
    """A module-level ``NAME = {enums.Stage.X: literal, ...}`` dict, keyed by member name."""
    for node in _module_ast(module).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
            and isinstance(node.value, ast.Dict)
        ):
            return {
                _enum_ref(k) or ast.literal_eval(k): ast.literal_eval(v)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if k is not None
            }
    raise LibmeleeDataError(f"{module} has no dict {name}")
