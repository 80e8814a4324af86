"""Population: frozen snapshots of learners, and how opponents are drawn from them.

A snapshot is a folder ``snapshots/<id>/`` holding ``model.safetensors`` (the SB3 policy's
weights) and ``snapshot.json`` (how to rebuild the policy, the observation layout, and metadata:
role, step, parent, rating and games at the time it was taken). It is written into a temporary
folder and renamed into place, so a snapshot either exists whole or not at all.

Sampling schemes over past snapshots (``weights``): ``uniform``; ``recent`` (geometric decay with
age); ``pfsp`` (prioritized fictitious self-play, AlphaStar: weight ``f(p)`` of the learner's win
rate ``p`` against each opponent, ``hard`` = ``(1 - p)^2`` favours opponents it loses to,
``variance`` = ``p (1 - p)`` favours even matches).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from melee_envs.atomic import file_sha256
from melee_envs.obs import ObsConfig, ObservationEncoder

SNAPSHOT_FORMAT = "exphil-league-snapshot-1"
SCHEMES = ("uniform", "recent", "pfsp")
PFSP_WEIGHTINGS = ("hard", "variance", "linear")


def policy_spec(policy: Any, obs_config: ObsConfig) -> dict[str, Any]:
    """What :func:`load_snapshot_policy` needs to rebuild ``policy`` (JSON only: no pickles)."""
    from stable_baselines3.common.policies import ActorCriticPolicy

    from exphil_agents.policies import BackbonePolicy

    if isinstance(policy, BackbonePolicy):
        kind, kwargs = (
            "BackbonePolicy",
            {
                "backbone": policy.backbone_name,
                "backbone_config": policy.backbone_config,
                "obs_config": policy.obs_config,
                "embed": policy.embed,
                "net_arch": policy.net_arch,
            },
        )
    elif type(policy) is ActorCriticPolicy:
        kind, kwargs = "MlpPolicy", {"net_arch": policy.net_arch}
    else:
        raise ValueError(
            "league snapshots hold feed-forward PPO policies (MlpPolicy or BackbonePolicy); "
            f"got {type(policy).__name__}"
        )
    obs_shape = list(policy.observation_space.shape)
    if len(obs_shape) != 1:
        raise ValueError(f"league learners see one frame per step (window 1); this policy takes {obs_shape}")
    return {
        "policy": kind,
        "policy_kwargs": kwargs,
        "obs_config": obs_config.__dict__ if isinstance(obs_config, ObsConfig) else dict(obs_config),
        "nvec": [int(n) for n in policy.action_space.nvec],
    }


def save_snapshot(
    root: str | Path,
    snapshot_id: str,
    policy: Any,
    obs_config: ObsConfig,
    meta: dict[str, Any],
) -> Path:
    """Write a snapshot folder atomically; an existing snapshot with this id is kept as it is."""
    from safetensors.torch import save_model

    root = Path(root)
    final = root / snapshot_id
    if (final / "snapshot.json").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{snapshot_id}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_model(policy, str(tmp / "model.safetensors"))
        info = {"format": SNAPSHOT_FORMAT, "id": snapshot_id, "created": time.time(), **meta}
        info.update(policy_spec(policy, obs_config))
        info["sha256"] = file_sha256(tmp / "model.safetensors")  # checked on every load
        (tmp / "snapshot.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(final, ignore_errors=True)  # a half-written leftover without snapshot.json
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_snapshot(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    meta_path = folder / "snapshot.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not a league snapshot (no snapshot.json)")
    try:
        info = json.loads(meta_path.read_text())
    except ValueError as exc:
        raise ValueError(f"{meta_path}: unreadable ({exc})") from None
    if info.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"{meta_path}: format {info.get('format')!r}; this version reads {SNAPSHOT_FORMAT!r}")
    return info


def load_snapshot_policy(folder: str | Path) -> tuple[Any, ObsConfig]:
    """The SB3 policy stored in a snapshot folder (eval mode, CPU) and its observation layout."""
    from gymnasium import spaces
    from safetensors.torch import load_model
    from stable_baselines3.common.policies import ActorCriticPolicy

    from exphil_agents.policies import BackbonePolicy

    info = read_snapshot(folder)
    obs_config = ObsConfig.from_dict(info["obs_config"])
    obs_space = ObservationEncoder(obs_config).observation_space()
    action_space = spaces.MultiDiscrete(info["nvec"])
    cls = {"BackbonePolicy": BackbonePolicy, "MlpPolicy": ActorCriticPolicy}.get(info["policy"])
    if cls is None:
        raise ValueError(f"{folder}: unknown policy kind {info['policy']!r}")
    policy = cls(obs_space, action_space, lambda _: 0.0, **info["policy_kwargs"])
    weights = Path(folder) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{folder}: no model.safetensors")
    if "sha256" in info and file_sha256(weights) != info["sha256"]:
        raise ValueError(f"{weights}: does not match the checksum in snapshot.json (damaged after it was written)")
    try:
        load_model(policy, str(weights))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ValueError(f"{folder}: weights do not fit the stored policy ({exc})") from None
    policy.set_training_mode(False)
    return policy, obs_config


def list_snapshots(root: str | Path) -> list[dict[str, Any]]:
    """Every complete snapshot under ``root``, oldest step first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not (folder / "snapshot.json").is_file():
            continue
        try:
            info = read_snapshot(folder)
        except (ValueError, OSError) as exc:  # drawn later, it is retired (see League.retire)
            print(f"league: skipping snapshot folder {folder.name}: {exc}", file=sys.stderr)
            continue
        info["path"] = str(folder)
        found.append(info)
    return sorted(found, key=lambda i: (i["step"], i["id"]))


def pfsp_weight(win_rate: np.ndarray, weighting: str = "hard", power: float = 2.0) -> np.ndarray:
    """AlphaStar's prioritized fictitious self-play weights from win rates in [0, 1]."""
    p = np.clip(np.asarray(win_rate, np.float64), 0.0, 1.0)
    if weighting == "hard":
        return (1.0 - p) ** power
    if weighting == "variance":
        return p * (1.0 - p)
    if weighting == "linear":
        return 1.0 - p
    raise ValueError(f"unknown PFSP weighting {weighting!r}; choose one of {PFSP_WEIGHTINGS}")


def weights(
    scheme: str,
    num: int,
    win_rates: np.ndarray | None = None,
    recent_decay: float = 0.8,
    weighting: str = "hard",
) -> np.ndarray:
    """Sampling probabilities over ``num`` candidates ordered oldest to newest."""
    if num == 0:
        return np.zeros(0)
    if scheme == "uniform":
        w = np.ones(num)
    elif scheme == "recent":
        w = recent_decay ** np.arange(num - 1, -1, -1, dtype=np.float64)
    elif scheme == "pfsp":
        if win_rates is None:
            raise ValueError("pfsp sampling needs the learner's win rates")
        w = pfsp_weight(win_rates, weighting) + 1e-3  # never exactly zero: beaten opponents stay rare, not gone
    else:
        raise ValueError(f"unknown sampling scheme {scheme!r}; choose one of {SCHEMES}")
    return w / w.sum()


def win_rate_prior(wins: float, games: float) -> float:
    """Win rate with one win and one loss of prior (Laplace), so unplayed opponents count as even."""
    return (wins + 1.0) / (games + 2.0)


__all__ = [
    "list_snapshots",
    "load_snapshot_policy",
    "pfsp_weight",
    "policy_spec",
    "read_snapshot",
    "save_snapshot",
    "weights",
    "win_rate_prior",
]
