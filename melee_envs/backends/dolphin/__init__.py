"""Slippi Dolphin through libmelee: ``DolphinBackend``, ``DolphinConfig`` and the runners."""

from melee_envs.backends.dolphin.backend import DolphinBackend
from melee_envs.backends.dolphin.config import DolphinConfig, DolphinError

__all__ = ["DolphinBackend", "DolphinConfig", "DolphinError"]
