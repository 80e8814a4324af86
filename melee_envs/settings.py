"""The game every command plays, in one dataclass (``--game.stage``, ``--game.stocks``, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GameSettings:
    """Characters, stage, stocks and timer of the games a command plays.

    Commands default to short games (1 stock, 1 minute), what training and rating want; the envs
    keep Melee's own 4 stocks and 8 minutes (``gym.make("Melee-v0")``). On Dolphin the stocks and
    the timer are the game's own rules.
    """

    character: str = "FOX"
    """the agent's (port 1's) character; aliases such as puff, ics, falcon work."""
    opponent_character: str = "FOX"
    stage: str = "FINAL_DESTINATION"
    """a legal stage, an alias (bf, fd, ys, dl, fod, ps), or random (a new one every game)."""
    stocks: int = 1
    time_limit_minutes: float = 1.0

    def __post_init__(self) -> None:
        from melee_envs.backends.mock import MockConfig

        try:
            MockConfig(self.characters, self.stage, self.stocks, self.time_limit_minutes)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"game settings: {exc}") from None

    @property
    def characters(self) -> tuple[str, str]:
        return (self.character, self.opponent_character)

    def env_kwargs(self) -> dict[str, Any]:
        """As the envs take them (``gym.make("Melee-v0", **settings.env_kwargs())``)."""
        return {
            "characters": self.characters,
            "stage": self.stage,
            "stocks": self.stocks,
            "time_limit_minutes": self.time_limit_minutes,
        }
