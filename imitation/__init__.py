"""Behavioural cloning from Slippi replays: datasets and caches, the BC trainer
(:mod:`imitation.bc`, needs torch), evaluation and the ``exphil bc`` commands.

Not the PyPI package named ``imitation`` (HumanCompatibleAI's); install this project instead.
"""

from typing import Any

from imitation.build import BuildReport, build_dataset, find_replays
from imitation.config import BCConfig, DataConfig, ModelConfig, OptimConfig, RuntimeConfig
from imitation.dataset import DatasetConfig, ReplayDataset


def __getattr__(name: str) -> Any:
    if name == "Trainer":  # torch loads only when the trainer is used
        from imitation.bc import Trainer

        return Trainer
    raise AttributeError(f"module 'imitation' has no attribute {name!r}")


__all__ = [
    "BCConfig",
    "BuildReport",
    "DataConfig",
    "DatasetConfig",
    "ModelConfig",
    "OptimConfig",
    "ReplayDataset",
    "RuntimeConfig",
    "Trainer",
    "build_dataset",
    "find_replays",
]
