import shutil

import pytest

#: Three small readable replays of different versions, for end-to-end command runs.
SMALL = ["peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp"]


@pytest.fixture(scope="module")
def replay_dir(replays_dir, tmp_path_factory):
    """A folder holding copies of the :data:`SMALL` replays (one per test module)."""
    src = tmp_path_factory.mktemp("small_replays")
    for name in SMALL:
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    return src
