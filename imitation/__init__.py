"""Behavioural cloning from Slippi replays: datasets and caches (this package), trainers later.

Not the PyPI package named ``imitation`` (HumanCompatibleAI's); install this project instead.
"""

from imitation.build import BuildReport, build_dataset, find_replays
from imitation.dataset import DatasetConfig, ReplayDataset

__all__ = ["BuildReport", "DatasetConfig", "ReplayDataset", "build_dataset", "find_replays"]
