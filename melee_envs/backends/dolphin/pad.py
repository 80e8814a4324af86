"""Codec actions -> a libmelee ``Controller`` (the named pipe Dolphin reads a bot's inputs from).

Only what changed since the last frame is written (a held button is not pressed again); the
``FLUSH`` that hands the frame's inputs to Dolphin comes from libmelee's ``Console.step``, once
per frame. Sticks go through libmelee's analog fix-up, so what the game then reports is the value
asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from melee_envs.controller import ControllerCodec
from melee_envs.state import BUTTONS


class Pad:
    """One bot port's controller."""

    def __init__(self, controller: Any, codec: ControllerCodec) -> None:
        from melee import enums

        self.controller = controller
        self.codec = codec
        self._buttons = [getattr(enums.Button, f"BUTTON_{b}") for b in BUTTONS]
        self._main, self._c, self._l = enums.Button.BUTTON_MAIN, enums.Button.BUTTON_C, enums.Button.BUTTON_L
        self._last: np.ndarray | None = None

    def send(self, action: np.ndarray) -> None:
        """Write one frame's action (13 ints); the next ``Console.step`` flushes it."""
        action = np.asarray(action, np.int64)
        last = self._last
        c = self.codec.decode(action)
        for k, button in enumerate(self._buttons):
            if last is None or last[k] != action[k]:
                if action[k]:
                    self.controller.press_button(button)
                else:
                    self.controller.release_button(button)
        if last is None or last[8] != action[8] or last[9] != action[9]:
            self.controller.tilt_analog(self._main, float(c.main_x), float(c.main_y))
        if last is None or last[10] != action[10] or last[11] != action[11]:
            self.controller.tilt_analog(self._c, float(c.c_x), float(c.c_y))
        if last is None or last[12] != action[12]:
            self.controller.press_shoulder(self._l, float(c.shoulder))
        self._last = action.copy()

    def release(self) -> None:
        """Neutral controller (all released); the next ``send`` writes everything."""
        self.controller.release_all()
        self._last = None
