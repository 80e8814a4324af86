import os
import stat

import pytest

from melee_envs.atomic import atomic_path, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    for umask in (0o022, 0o027):
        mask = os.umask(umask)
        try:
            write_text_atomic(tmp_path / f"new-{umask:o}.json", "{}")
            with open(tmp_path / f"plain-{umask:o}.json", "w") as fh:
                fh.write("{}")
        finally:
            os.umask(mask)
        assert _mode(tmp_path / f"new-{umask:o}.json") == _mode(tmp_path / f"plain-{umask:o}.json") == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode_and_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "model.zip"
    target.write_text("old")
    target.chmod(0o640)
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and _mode(target) == 0o640
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]
