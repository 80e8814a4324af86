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
        self._buttons = {b: getattr(enums.Button, f"BUTTON_{b}") for b in BUTTONS}
        self._main, self._c, self._l = enums.Button.BUTTON_MAIN, enums.Button.BUTTON_C, enums.Button.BUTTON_L
        self._last: dict[str, Any] | None = None

    def send(self, action: np.ndarray) -> None:
        """Write one frame's action (``ACTION_SIZE`` ints, decoded by the codec); the next
        ``Console.step`` flushes it."""
        now = self.codec.to_libmelee(action)
        last = self._last
        for name, button in self._buttons.items():
            if last is None or last["buttons"][name] != now["buttons"][name]:
                if now["buttons"][name]:
                    self.controller.press_button(button)
                else:
                    self.controller.release_button(button)
        if last is None or last["main"] != now["main"]:
            self.controller.tilt_analog(self._main, *now["main"])
        if last is None or last["c"] != now["c"]:
            self.controller.tilt_analog(self._c, *now["c"])
        if last is None or last["shoulder"] != now["shoulder"]:
            self.controller.press_shoulder(self._l, now["shoulder"])
        self._last = now

    def release(self) -> None:
        """Neutral controller (all released); the next ``send`` writes everything."""
        self.controller.release_all()
        self._last = None
