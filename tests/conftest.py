import os
from pathlib import Path

import pytest

REPLAYS = Path(os.environ.get("EXPHIL_TEST_REPLAYS", Path(__file__).resolve().parents[2] / "shared" / "replays"))


@pytest.fixture(scope="session")
def replays_dir() -> Path:
    if not REPLAYS.is_dir():
        pytest.skip(f"replay folder {REPLAYS} not found (set EXPHIL_TEST_REPLAYS)")
    return REPLAYS


# Headless machines: "human" rendering draws into SDL's off-screen driver (the envs' error for a
# missing display is tested on its own, with this variable removed).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
