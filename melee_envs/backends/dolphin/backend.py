"""``DolphinBackend``: the backend protocol on Slippi Dolphin, through libmelee.

``reset`` launches Dolphin (first call), connects to its Slippi spectator port, plugs the bot
controllers' pipes, walks the menus to the match with libmelee's menu helper and returns the
first in-game frame; ``step`` sends the bot ports' actions and returns the next frame. Every wait
has a deadline (connection, pipes, menus, frames) that ends in a :class:`DolphinError` saying
what was awaited, never a hang. ``close`` stops Dolphin; a finaliser does it if the user forgets,
so no emulator outlives its backend.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import weakref
from collections import deque
from typing import Any

import numpy as np

from melee_envs.backends.dolphin import guard
from melee_envs.backends.dolphin.config import DolphinConfig, DolphinError
from melee_envs.backends.dolphin.convert import Converter
from melee_envs.backends.dolphin.pad import Pad
from melee_envs.controller import ACTION_SIZE, ControllerCodec
from melee_envs.data import characters, stages
from melee_envs.scoring import decide_winner
from melee_envs.state import GameState, PackedState


def check_answers(dolphin_path: str, timeout_s: float) -> str:
    """Ask the executable for its version (as libmelee does first, without a time limit) and give
    up after ``timeout_s``: a program that never answers would otherwise hang the launch before
    any of the backend's own timeouts start.

    Returns its answer's first line.

    Raises:
        DolphinError: naming the executable and the time waited.
    """
    from melee.console import get_exe_path

    exe = get_exe_path(dolphin_path)
    try:
        answer = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DolphinError(
            f"{exe} did not answer '--version' within {timeout_s:g} s (libmelee asks it first): is it a Slippi "
            "Dolphin build that runs here (a GUI build without a display can wait forever)?"
        ) from None
    except OSError as exc:
        raise DolphinError(f"{exe}: cannot run it ({exc.strerror or exc})") from None
    lines = (answer.stdout or answer.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _stop(console: Any) -> None:
    """Stop Dolphin and remove its temporary user directory, whatever state libmelee is in."""
    # libmelee's receiver process only notices a shutdown between messages; if frames piled up
    # unread (the caller stopped stepping), it blocks on a full pipe and stop() would wait
    # forever. Ask it to stop, give it a moment, then end it.
    stream = getattr(console, "_slippstream", None)
    worker = getattr(stream, "_worker", None)
    if worker is not None and worker.is_alive():
        stream._shutdown.set()
        worker.join(2.0)
        if worker.is_alive():
            worker.terminate()
            worker.join(2.0)
    try:
        console.stop()
    except Exception:  # noqa: BLE001 - libmelee's stop() fails if it never connected
        proc = getattr(console, "_process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if getattr(console, "temp_dir", None):
            shutil.rmtree(console.temp_dir, ignore_errors=True)


class DolphinBackend:
    """One live game on Dolphin; players 0 and 1 are ``config.ports``."""

    num_games = 1
    num_players = 2

    def __init__(self, config: DolphinConfig | None = None, codec: ControllerCodec | None = None) -> None:
        try:
            from melee import enums
        except ImportError as exc:  # pragma: no cover - libmelee is a core dependency
            raise ImportError("the Dolphin backend needs libmelee: pip install melee") from exc
        self.config = (config or DolphinConfig()).resolved()
        self.codec = codec or ControllerCodec()
        self.packed = PackedState((1,), self.num_players)
        self.done = np.zeros(1, np.bool_)
        self.winner = np.full(1, -1, np.int32)
        self.converter = Converter(self.config.ports)
        self.console: Any = None
        self.pads: dict[int, Pad] = {}
        self.late_frames = 0
        self._queue: deque[np.ndarray] = deque()
        self._finalizer: Any = None
        self._guard: Any = None  # stops Dolphin if this process dies without close() (see guard.py)
        #: Menu states during a match; any other means the game is over.
        self.playing_menus = (enums.Menu.IN_GAME, enums.Menu.SUDDEN_DEATH)
        self._step_started = 0.0
        self._timed_out = False
        self._watch_stop = threading.Event()

    @property
    def state(self) -> GameState:
        return self.packed.view()

    # -- launching --------------------------------------------------------------------------
    def _launch(self) -> None:
        import melee

        cfg = self.config
        version = check_answers(cfg.dolphin_path, cfg.connect_timeout_s)
        try:  # libmelee's own errors (bad paths, versions, settings files) in one line naming Dolphin
            self.console = melee.Console(
                path=cfg.dolphin_path,
                dolphin_home_path=cfg.user_dir,
                tmp_home_directory=cfg.user_dir is None,
                slippi_port=cfg.slippi_port,
                online_delay=cfg.online_delay,
                blocking_input=cfg.blocking_input,
                polling_mode=False,  # one step, one FLUSH: blocking Dolphin advances a frame per flush
                fullscreen=False,
                gfx_backend="Null" if cfg.headless else None,
                disable_audio=cfg.disable_audio,
                emulation_speed=cfg.emulation_speed,
                save_replays=cfg.save_replays,
            )
        except (
            OSError,
            ValueError,
            RuntimeError,
            melee.console.SlippiVersionTooLow,
            melee.console.InvalidDolphinPath,
            AssertionError,  # libmelee checks the --version answer with asserts
        ) as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise DolphinError(
                f"libmelee could not set up Dolphin at {cfg.dolphin_path} ({why}); it answered --version with "
                f"{version!r}: is it a Slippi Dolphin build?"
            ) from None
        self._finalizer = weakref.finalize(self, _stop, self.console)
        controllers = {}
        for port, control in zip(cfg.ports, cfg.controls, strict=True):
            if control != "human":  # bots and the game's CPUs both need a pad for the menus
                controllers[port] = melee.Controller(self.console, port)
        headless = cfg.headless and getattr(self.console, "is_mainline", False)
        try:
            self.console.run(iso_path=cfg.iso_path, platform="headless" if headless else None)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DolphinError(f"libmelee could not start Dolphin at {cfg.dolphin_path}: {exc}") from None
        proc = self.console._process
        died = f"Dolphin ({cfg.dolphin_path}) exited at start with code {{}}"
        for _ in range(10):  # a Dolphin that dies at start (bad image, bad flags) says so at once
            if proc.poll() is not None:
                raise DolphinError(died.format(proc.returncode))
            time.sleep(0.05)
        if not self.console.connect():
            if proc.poll() is not None:  # died before it could be reached (a slow start)
                raise DolphinError(died.format(proc.returncode))
            raise DolphinError(self._why(f"could not connect to Dolphin's Slippi port {cfg.slippi_port}"))
        worker = getattr(getattr(self.console, "_slippstream", None), "_worker", None)
        pids = [proc.pid] + ([worker.pid] if worker is not None and worker.pid else [])
        self._guard = guard.start(pids, [self.console.temp_dir] if getattr(self.console, "temp_dir", None) else [])
        for port, controller in controllers.items():
            self._connect_pad(port, controller)
            self.pads[port] = Pad(controller, self.codec)
        threading.Thread(target=self._watch, daemon=True).start()

    def _connect_pad(self, port: int, controller: Any) -> None:
        # Opening the pipe blocks until Dolphin opens its end; wait with a deadline.
        done = threading.Event()
        threading.Thread(target=lambda: (controller.connect(), done.set()), daemon=True).start()
        if not done.wait(self.config.connect_timeout_s):
            raise DolphinError(
                self._why(f"Dolphin did not open the controller pipe {controller.pipe_path} for port {port}")
            )

    def _why(self, message: str) -> str:
        proc = getattr(self.console, "_process", None)
        if proc is not None and proc.poll() is not None:
            return f"{message}: the Dolphin process exited with code {proc.returncode}"
        return f"{message} within {self.config.connect_timeout_s:g} s (is another instance on that port?)"

    # -- frames -------------------------------------------------------------------------------
    def _watch(self) -> None:
        # libmelee's step() blocks until a frame arrives; a watchdog interrupts one that waits
        # longer than the deadline (console.interrupt is libmelee's thread-safe way to do so).
        while not self._watch_stop.wait(0.1):
            started = self._step_started
            if started and time.monotonic() - started > self.config.frame_timeout_s and self.console is not None:
                self._timed_out = True
                self.console.interrupt()
                return

    def _next(self) -> Any:
        from melee.slippstream import EnetDisconnected

        self._step_started = time.monotonic()
        try:
            return self.console.step()
        except EnetDisconnected:
            proc = getattr(self.console, "_process", None)
            if self._timed_out:
                raise DolphinError(
                    f"no frame from Dolphin for {self.config.frame_timeout_s:g} s (paused, or not emulating?)"
                ) from None
            if proc is not None and proc.poll() is not None:
                raise DolphinError(f"Dolphin exited with code {proc.returncode}") from None
            raise DolphinError("lost the connection to Dolphin (it closed or crashed)") from None
        finally:
            self._step_started = 0.0

    def _to_match(self) -> Any:
        import melee
        from melee import enums

        cfg = self.config
        menu = melee.MenuHelper()
        start = time.monotonic()
        chars = [enums.Character(characters.get(c).internal_id) for c in cfg.characters]
        stage = enums.Stage(stages.get(cfg.stage).internal_id)
        autostart_port = min(self.pads) if self.pads else None
        while True:
            gs = self._next()
            if gs.menu_state in self.playing_menus:
                return gs
            if time.monotonic() - start > cfg.menu_timeout_s:
                raise DolphinError(
                    f"stuck in the menus ({gs.menu_state.name}) for {cfg.menu_timeout_s:g} s on the way to the match"
                )
            for k, (port, control) in enumerate(zip(cfg.ports, cfg.controls, strict=True)):
                if port in self.pads:
                    menu.menu_helper_simple(
                        gs,
                        self.pads[port].controller,
                        chars[k],
                        stage,
                        cpu_level=cfg.cpu_levels[k] if control == "cpu" else 0,
                        costume=cfg.costumes[k],
                        autostart=port == autostart_port,
                    )

    # -- protocol ----------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> GameState:
        """Launch (first call) and go to a new match; ``seed`` is unused (the game has its own)."""
        del seed
        if self.console is None:
            self._launch()
        for pad in self.pads.values():
            pad.release()
        gs = self._to_match()
        self.done[:] = False
        self.winner[:] = -1
        self._queue = deque(self.codec.noop()[None].repeat(2, 0) for _ in range(self.config.input_delay))
        self.converter.write(gs, self.packed)
        return self.state

    def step(self, actions: np.ndarray | None = None, *, checked: bool = False) -> GameState:
        """Send the bot ports' actions (``(1, 2, ACTION_SIZE)``; other ports ignore theirs) and return the
        next frame. After the game ends (``done``), call :meth:`reset` for a rematch."""
        if self.console is None:
            raise DolphinError("call reset() before step()")
        if self.done[0]:
            return self.state
        if actions is None:
            acts = np.broadcast_to(self.codec.noop(), (2, ACTION_SIZE))
        else:
            acts = actions if checked else self.codec.check(actions)
        acts = np.asarray(acts).reshape(2, ACTION_SIZE)
        if self.config.input_delay:
            self._queue.append(acts.copy())
            acts = self._queue.popleft()
        for k, (port, control) in enumerate(zip(self.config.ports, self.config.controls, strict=True)):
            if control == "bot":
                self.pads[port].send(acts[k])
        gs = self._next()
        if gs.menu_state not in self.playing_menus:
            self._finish()
            return self.state
        self.converter.write(gs, self.packed)
        if (self.packed.pi[0, :, 0, 2] == 0).any() and self.packed.pb[0, :, 0, 0].all():
            self._finish()
        return self.state

    def _finish(self) -> None:
        self.done[:] = True
        self.winner[:] = decide_winner(self.packed.pi, self.packed.pf, 0)

    def close(self) -> None:
        """Stop Dolphin and release the pipes (safe to call twice)."""
        self._watch_stop.set()
        for pad in self.pads.values():
            try:
                pad.controller.disconnect()
            except OSError:
                pass
        self.pads = {}
        if self._finalizer is not None:
            self._finalizer()  # runs console.stop() once
            self._finalizer = None
        guard.release(self._guard)
        self._guard = None
        self.console = None
