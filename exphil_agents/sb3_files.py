"""Stable-Baselines3 ``.zip`` models loaded without running code from the file.

An SB3 archive keeps its weights as torch tensors (read with ``weights_only=True``) but stores
some of its settings as pickled Python objects (the policy class, the spaces, the learning-rate
and clip-range schedules). Unpickling runs whatever the file says, so a crafted ``.zip`` handed to
``exphil play`` or ``exphil tournament`` could run code. :func:`load_sb3` never unpickles by
default: every pickled field is replaced by an object built here from the archive's plain JSON
(this package's policy classes, spaces rebuilt from the observation config and the action
widths, constant schedules) or by the caller (the league passes its own learner settings). An
archive with a pickled field nothing here can rebuild is refused with an error naming it; a user
who trusts the file's source opts in with ``allow_pickle=True`` (``--allow-pickle``).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

PICKLED = ":serialized:"


class UnsafeModelError(ValueError):
    """A model file that could only be loaded by running code from it."""


def read_data(path: str | Path) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 archive (pickled fields left as they are written).

    Raises:
        ValueError: the file is not an SB3 model archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValueError(f"{path}: not a stable-baselines3 model archive") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a stable-baselines3 model archive")
    return data


def pickled_fields(data: dict[str, Any]) -> list[str]:
    """The fields of an archive's ``data`` that are stored as pickles."""
    return sorted(k for k, v in data.items() if isinstance(v, dict) and PICKLED in v)


#: Policy classes an archive may name, as (module, class): rebuilt without unpickling.
POLICIES = {
    ("exphil_agents.policies", "BackbonePolicy"),
    ("exphil_agents.policies", "RecurrentBackbonePolicy"),
    ("stable_baselines3.common.policies", "ActorCriticPolicy"),
    ("sb3_contrib.common.recurrent.policies", "RecurrentActorCriticPolicy"),
}


def _policy_class(entry: Any) -> type | None:
    """The allowed policy class a pickled ``policy_class`` field names in its plain text (its
    ``__module__`` and the class name in its ``__init__``'s repr), or None."""
    import importlib

    if not isinstance(entry, dict):
        return None
    found = re.match(r"<function (\w+)\.__init__ at", str(entry.get("__init__", "")))
    key = (entry.get("__module__"), found.group(1) if found else None)
    if key not in POLICIES:
        return None
    return getattr(importlib.import_module(key[0]), key[1])


def _numbers(text: Any, kind: type) -> list | None:
    """The numbers of numpy's printed form of an array (``"[ 2  2 17]"``), or None."""
    if isinstance(text, list):
        return [kind(x) for x in text]
    if not isinstance(text, str):
        return None
    try:
        return [kind(x) for x in text.replace(",", " ").strip("[]() ").split()]
    except ValueError:
        return None


def _space(entry: Any) -> Any:
    """A Box, Discrete or MultiDiscrete space rebuilt from the plain text SB3 writes beside a
    pickled space (a Box with infinite bounds: the policies read only its shape), or None."""
    from gymnasium import spaces

    if not isinstance(entry, dict):
        return None
    kind = str(entry.get(":type:", ""))
    if kind.endswith(".Box'>"):
        shape, dtype = _numbers(entry.get("_shape"), int), entry.get("dtype", "float32")
        if shape is None or dtype not in ("float32", "float64"):
            return None
        return spaces.Box(-np.inf, np.inf, tuple(shape), np.dtype(dtype))
    if kind.endswith(".MultiDiscrete'>"):
        nvec = _numbers(entry.get("nvec"), int)
        return spaces.MultiDiscrete(nvec) if nvec else None
    if kind.endswith(".Discrete'>"):
        n = _numbers(entry.get("n"), int)
        return spaces.Discrete(n[0]) if n else None
    return None


#: Rollout state SB3 saves after training (the last observations and episode-info queues). It
#: belongs to the env the model was saved with; a loaded model starts from a fresh reset and empty
#: queues (SB3 rebuilds both when they are None), so these are never unpickled.
ROLLOUT_STATE = {
    "rollout_buffer_class": None,  # SB3 picks its default buffer for the spaces
    "_last_obs": None,
    "_last_original_obs": None,
    "_last_episode_starts": None,
    "ep_info_buffer": None,
    "ep_success_buffer": None,
}


def rebuilt_fields(algorithm: type, data: dict[str, Any], env: Any = None) -> dict[str, Any]:
    """Safe stand-ins for the pickled fields of an archive of ``algorithm``: the policy class
    (when it is one of :data:`POLICIES`), the spaces (``env``'s when given, else rebuilt from
    their plain text) and constant schedules (values that matter only to further training)."""
    try:
        from stable_baselines3.common.utils import FloatSchedule as schedule
    except ImportError:  # SB3 < 2.6
        from stable_baselines3.common.utils import get_schedule_fn as schedule

    rate = data.get("learning_rate")
    candidates: dict[str, Any] = {
        "policy_class": _policy_class(data.get("policy_class")),
        "clip_range": schedule(0.2),
        "lr_schedule": schedule(float(rate) if isinstance(rate, (int, float)) else 0.0),
        "observation_space": env.observation_space if env is not None else _space(data.get("observation_space")),
        "action_space": env.action_space if env is not None else _space(data.get("action_space")),
    }
    # a field rebuilt as None has no safe stand-in: left out, so it is refused
    return {**{k: v for k, v in candidates.items() if v is not None}, **ROLLOUT_STATE}


def load_sb3(
    algorithm: type,
    path: str | Path,
    *,
    env: Any = None,
    replacements: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> Any:
    """``algorithm.load(path, env=env, **kwargs)`` without unpickling (see the module docstring).

    Args:
        replacements: stand-ins for pickled fields, over :func:`rebuilt_fields`' (e.g. a league's
            own schedules).
        allow_pickle: unpickle the archive's fields as SB3 does (runs code from the file).

    Raises:
        UnsafeModelError: a pickled field has no safe stand-in (naming it) and ``allow_pickle`` is off.
        ValueError: not an SB3 archive, or its weights do not fit the rebuilt policy.
    """
    data = read_data(path)
    if allow_pickle:
        return algorithm.load(path, env=env, **kwargs)
    safe = {**rebuilt_fields(algorithm, data, env), **(replacements or {})}
    pickled = pickled_fields(data)
    unknown = [k for k in pickled if k not in safe]
    if unknown:
        raise UnsafeModelError(
            f"{path}: holds pickled Python objects this package cannot rebuild safely ({', '.join(unknown)}); "
            "unpickling them runs code from the file. Load it only if you trust where it came from: --allow-pickle"
        )
    try:
        return algorithm.load(path, env=env, custom_objects={k: safe[k] for k in pickled}, **kwargs)
    except RuntimeError as exc:  # load_state_dict: the weights are not this package's policy
        raise ValueError(f"{path}: its weights do not fit this package's policy ({str(exc).splitlines()[0]})") from None


__all__ = ["UnsafeModelError", "load_sb3", "pickled_fields", "read_data", "rebuilt_fields"]
