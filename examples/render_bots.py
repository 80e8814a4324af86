"""Two scripted bots on Battlefield, drawn to PNG frames (and an MP4 when moviepy is installed).

    python examples/render_bots.py --out videos/bots --frames 600 --every 4

Each frame is ``melee_envs.render.render_state`` of the mock game; the same function draws
frames of real replays (``render_state(read_replay(path).two_players(), index=t)``), so mock
and real games can be compared by eye.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.opponents import make_opponent
from melee_envs.render import render_state, save_png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="videos/bots", help="folder for the PNG frames")
    parser.add_argument("--frames", type=int, default=600, help="game frames to play")
    parser.add_argument("--every", type=int, default=4, help="save one frame in this many")
    parser.add_argument("--bots", nargs=2, default=["scripted", "jumper"], help="port 1 and port 2 bots")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    backend = MockBackend(1, MockConfig(characters=("FOX", "MARTH"), stage="BATTLEFIELD"))
    backend.reset(args.seed)
    bots = [make_opponent(name, backend.codec, args.seed) for name in args.bots]
    images = []
    for t in range(args.frames):
        actions = np.stack([np.reshape(bot(backend.state, p), (1, 13)) for p, bot in enumerate(bots)], axis=1)
        backend.step(actions, checked=True)
        if t % args.every == 0:
            image = render_state(backend.state, index=0)
            save_png(image, str(out / f"frame_{t:05d}.png"))
            images.append(image)
        if backend.done[0]:
            break
    print(f"wrote {len(images)} PNG frames to {out}")
    try:
        from moviepy import ImageSequenceClip
    except ImportError:
        return
    ImageSequenceClip(images, fps=60 // args.every).write_videofile(str(out / "bots.mp4"), logger=None)
    print(f"wrote {out / 'bots.mp4'}")


if __name__ == "__main__":
    main()
