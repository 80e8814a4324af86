"""``DolphinConfig``: where Dolphin and the game image are, and what match to set up.

Validated before anything launches: a missing executable or image is an error that names the
path it tried and how to set it (the argument, or ``EXPHIL_DOLPHIN_PATH`` / ``EXPHIL_ISO_PATH``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from melee_envs.data import characters, stages

#: What drives a port: our ``bot`` (the env's actions), the game's ``cpu`` or a ``human`` on a
#: controller Dolphin already knows.
CONTROLS = ("bot", "cpu", "human")


class DolphinError(RuntimeError):
    """Dolphin could not be started, reached, navigated or kept talking; the message says which."""


@dataclass(frozen=True)
class DolphinConfig:
    """Args:
    dolphin_path: Slippi Dolphin executable or install folder (default ``$EXPHIL_DOLPHIN_PATH``).
    iso_path: the Melee NTSC 1.02 image (default ``$EXPHIL_ISO_PATH``).
    user_dir: Dolphin user directory to use; default a fresh temporary one per instance.
    slippi_port: the Slippi spectator port this instance listens on (one per instance).
    ports: controller ports of player 0 and player 1.
    controls: what drives each port: ``bot``, ``cpu`` or ``human``.
    characters, costumes: per port. cpu_levels: 1-9 for ``cpu`` ports.
    stage: a legal stage name or alias.
    headless: no window and the null video backend (mainline Slippi Dolphin).
    emulation_speed: 1.0 is real time; 0 is as fast as possible.
    disable_audio: audio off.
    online_delay: Dolphin's netplay input delay setting, in frames.
    blocking_input: Dolphin waits for bot inputs each frame (lock-step training).
    input_delay: our own delay: each action reaches the game this many frames later.
    connect_timeout_s, menu_timeout_s, frame_timeout_s: give up (with a clear error) after this
        long without a connection, without reaching the match, or without a frame.
    save_replays: let Dolphin record .slp files of the games.
    """

    dolphin_path: str | None = None
    iso_path: str | None = None
    user_dir: str | None = None
    slippi_port: int = 51441
    ports: tuple[int, int] = (1, 2)
    controls: tuple[str, str] = ("bot", "cpu")
    characters: tuple[str, str] = ("FOX", "FOX")
    costumes: tuple[int, int] = (0, 0)
    cpu_levels: tuple[int, int] = (9, 9)
    stage: str = "FINAL_DESTINATION"
    headless: bool = False
    emulation_speed: float = 1.0
    disable_audio: bool = True
    online_delay: int = 0
    blocking_input: bool = True
    input_delay: int = 0
    connect_timeout_s: float = 30.0
    menu_timeout_s: float = 120.0
    frame_timeout_s: float = 10.0
    save_replays: bool = False

    def resolved(self) -> DolphinConfig:
        """The config with paths taken from the environment where unset, every field checked.

        Raises:
            DolphinError: a missing or unreadable Dolphin executable or game image, naming the
                path and how to set it.
            ValueError: any other bad field, naming it.
        """
        dolphin = self.dolphin_path or os.environ.get("EXPHIL_DOLPHIN_PATH")
        iso = self.iso_path or os.environ.get("EXPHIL_ISO_PATH")
        if not dolphin:
            raise DolphinError(
                "no Dolphin executable given: pass dolphin_path=... or set EXPHIL_DOLPHIN_PATH "
                "to your Slippi Dolphin executable (or its install folder)"
            )
        if not Path(dolphin).exists():
            raise DolphinError(f"Dolphin not found at {dolphin} (from dolphin_path / EXPHIL_DOLPHIN_PATH)")
        if Path(dolphin).is_file() and not os.access(dolphin, os.X_OK):
            raise DolphinError(f"Dolphin at {dolphin} is not executable (chmod +x it)")
        if not iso:
            raise DolphinError("no game image given: pass iso_path=... or set EXPHIL_ISO_PATH to your Melee 1.02 image")
        if not Path(iso).is_file():
            raise DolphinError(f"game image not found at {iso} (from iso_path / EXPHIL_ISO_PATH)")
        if len(set(self.ports)) != 2 or not all(1 <= p <= 4 for p in self.ports):
            raise ValueError(f"ports must be two different ports 1-4; got {self.ports}")
        for c in self.controls:
            if c not in CONTROLS:
                raise ValueError(f"controls must each be one of {CONTROLS}; got {self.controls}")
        for level, control in zip(self.cpu_levels, self.controls, strict=True):
            if control == "cpu" and not 1 <= level <= 9:
                raise ValueError(f"cpu_levels must be 1-9 for cpu ports; got {self.cpu_levels}")
        for name in self.characters:
            characters.get(name)
        stages.get(self.stage)
        if self.input_delay < 0 or self.online_delay < 0:
            raise ValueError("input_delay and online_delay must be >= 0")
        if self.emulation_speed < 0:
            raise ValueError(f"emulation_speed must be >= 0; got {self.emulation_speed}")
        return replace(self, dolphin_path=str(dolphin), iso_path=str(iso))
