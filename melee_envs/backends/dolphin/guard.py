"""A guard that stops Dolphin when the process that started it dies, however it dies.

libmelee starts the emulator and its stream worker as child processes; a Python process killed
with SIGKILL (or crashing) runs no cleanup, so both would keep running, holding the Slippi port
and the controller pipes (the next run on that port then fails). The backend starts this script
as a separate process holding a pipe from it: when the backend closes normally it writes
``done`` and the guard exits; when the pipe closes without that word (the backend's process is
gone) the guard kills the processes it was given and removes their temporary folders.

Run as a script (not imported as part of the package, so it starts in milliseconds)::

    python guard.py PID [PID ...] [--remove DIR ...]
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def start(pids: list[int], remove: list[str]) -> subprocess.Popen:
    """Start a guard for ``pids`` (killed) and ``remove`` (folders deleted) if this process dies."""
    args = [sys.executable, str(Path(__file__)), *map(str, pids), "--remove", *remove]
    # its own session: a Ctrl-C or a kill of our process group does not stop the guard first
    return subprocess.Popen(args, stdin=subprocess.PIPE, start_new_session=True)


def release(guard: subprocess.Popen | None) -> None:
    """The backend closed normally: the guard exits without touching anything."""
    if guard is None:
        return
    try:
        guard.stdin.write(b"done\n")
        guard.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    try:
        guard.wait(timeout=5)
    except subprocess.TimeoutExpired:
        guard.kill()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def main(argv: list[str]) -> None:
    split = argv.index("--remove") if "--remove" in argv else len(argv)
    pids, remove = [int(p) for p in argv[:split]], argv[split + 1 :]
    said = sys.stdin.buffer.read()  # returns when the backend's end closes: normally or by death
    if said.strip() == b"done":
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if _alive(pid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
    for folder in remove:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
