import os
from pathlib import Path

import pytest

REPLAYS = Path(os.environ.get("EXPHIL_TEST_REPLAYS", Path(__file__).resolve().parents[2] / "shared" / "replays"))


@pytest.fixture(scope="session")
def replays_dir() -> Path:
    if not REPLAYS.is_dir():
        pytest.skip(f"replay folder {REPLAYS} not found (set EXPHIL_TEST_REPLAYS)")
    return REPLAYS


@pytest.fixture(scope="session")
def readable_replays(replays_dir):
    """A function yielding every shared replay outside ``bad/`` that reads (items left out)."""

    def replays():
        from melee_envs.backends.replay import ReplayError, read_replay

        for path in sorted(replays_dir.rglob("*.slp")):
            if "bad" in path.parts:
                continue
            try:
                yield read_replay(path, items=False)
            except ReplayError:
                continue

    return replays


# Headless machines: "human" rendering draws into SDL's off-screen driver (the envs' error for a
# missing display is tested on its own, with this variable removed).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def pytest_configure(config):
    """torch in this process uses one thread, as the training commands do (melee_envs.threads):
    its default of 2 busy-waits beside any other process on 2 cores (a league test took 17 s with
    2 threads and 5.9 s with 1 beside a training run). Tests of the thread policy set their own."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI=true does too)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run in CI (``CI`` set) or with ``--slow``; a ``-m`` expression decides
    for itself. Elsewhere they are deselected and the run says how many and how to run them."""
    if config.getoption("--slow") or os.environ.get("CI") or config.getoption("-m"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.hook.pytest_deselected(items=slow)


def pytest_report_header(config):
    if not (config.getoption("--slow") or os.environ.get("CI") or config.getoption("-m")):
        return "tests marked slow are left out: --slow (or CI=true, as .ci/run sets) runs them"
    return None
