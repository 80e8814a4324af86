"""Real games from Slippi replays: the reader (``read_replay``) and a backend that plays them."""

from melee_envs.backends.replay.backend import ReplayBackend
from melee_envs.backends.replay.meta import PlayerInfo, ReplayError, ReplayMeta
from melee_envs.backends.replay.reader import Replay, check_header, read_replay

__all__ = ["PlayerInfo", "Replay", "ReplayBackend", "ReplayError", "ReplayMeta", "check_header", "read_replay"]
