"""Per-frame cost of the Dolphin backend's own Python work, against the stand-in Dolphin.

The stand-in (:mod:`melee_envs.backends.dolphin.fake_peer`) streams a real replay over the Slippi
spectator protocol as fast as it can, so the loop never waits on an emulator; per frame it times
writing the bots' controller commands to their pipes, converting libmelee's gamestate to ``GameState`` and
encoding the observation, next to libmelee's own frame parsing (``Console.step``) for reference.
Target: our work under 0.5 ms per frame, so a headless Dolphin at many times real time (one frame
every ~2 ms at 8x) never waits on us.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro

TARGET_MS = 0.5


@dataclass(frozen=True)
class DolphinBenchConfig:
    """Time the Dolphin backend's per-frame Python work against a stand-in Dolphin."""

    replay: Annotated[Path, tyro.conf.Positional]
    """a real .slp replay (Slippi 3.x) for the stand-in to stream."""
    slippi_port: int = 51600


def run(config: DolphinBenchConfig) -> dict[str, float]:
    from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig
    from melee_envs.backends.dolphin.fake_peer import write_stand_in
    from melee_envs.obs import ObservationEncoder

    if not config.replay.is_file():
        raise FileNotFoundError(f"{config.replay}: no such replay")
    with tempfile.TemporaryDirectory(prefix="exphil-dolphin-bench-") as tmp:
        exe = write_stand_in(tmp)
        iso = Path(tmp) / "stand-in.iso"
        iso.write_bytes(b"stand-in")
        os.environ["EXPHIL_FAKE_REPLAY"] = str(config.replay)
        os.environ["EXPHIL_FAKE_MODE"] = "stream"
        backend = DolphinBackend(
            DolphinConfig(
                dolphin_path=str(exe), iso_path=str(iso), slippi_port=config.slippi_port, controls=("bot", "bot")
            )
        )
        encoder = ObservationEncoder()
        obs = encoder.allocate(1)
        noop = backend.codec.noop()
        times: dict[str, list[float]] = {"pad": [], "libmelee step": [], "convert": [], "encode": []}
        try:
            backend.reset()
            while True:
                t0 = time.perf_counter()
                for pad in backend.pads.values():
                    pad.send(noop)
                t1 = time.perf_counter()
                gs = backend._next()
                t2 = time.perf_counter()
                if gs.menu_state not in backend.playing_menus:
                    break
                backend.converter.write(gs, backend.packed)
                t3 = time.perf_counter()
                encoder.encode_packed(backend.packed, 0, obs)
                t4 = time.perf_counter()
                for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    times[key].append(dt * 1e3)
        finally:
            backend.close()
    ours = np.array(times["pad"]) + np.array(times["convert"]) + np.array(times["encode"])
    print(f"{len(ours)} frames of {config.replay.name} through the stand-in Dolphin (2 bot pads)")
    print(f"{'part':28s} {'median ms':>10s} {'p99 ms':>8s}")
    for key, values in times.items():
        print(f"{key:28s} {np.median(values):10.4f} {np.percentile(values, 99):8.4f}")
    print(f"{'ours (pad+convert+encode)':28s} {np.median(ours):10.4f} {np.percentile(ours, 99):8.4f}")
    print(f"our per-frame work, median: {np.median(ours):.3f} ms (target < {TARGET_MS} ms)")
    return {"ours_median_ms": float(np.median(ours)), "ours_p99_ms": float(np.percentile(ours, 99))}


def main(config: DolphinBenchConfig) -> None:
    run(config)
