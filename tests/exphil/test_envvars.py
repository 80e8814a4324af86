"""Every ``EXPHIL_*`` default variable changes the default of every command that takes the value,
and the command line still wins (options parsed as ``exphil`` parses them, nothing run)."""

from pathlib import Path

import pytest
import tyro

from exphil.cli import _target, commands, find
from melee_envs import envvars

ALL = (envvars.REPLAYS_DIR, envvars.CHECKPOINTS_DIR, envvars.CACHE_DIR, envvars.DEFAULT_PRESET, "EXPHIL_REPLAYS")


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in ALL:
        monkeypatch.delenv(name, raising=False)


def parsed(*args: str):
    """The options ``exphil ARGS`` would run with."""
    command, rest = find(commands(), list(args))
    assert command is not None, args
    prog = " ".join(("exphil", *command.path))
    if command.parse is not None:
        return _target(command.parse)(rest, prog)
    return tyro.cli(_target(command.config), args=rest, prog=prog)


REPLAY_COMMANDS = {
    ("replays", "stats"): lambda c: c.paths,
    ("replays", "validate"): lambda c: c.paths,
    ("replays", "filter"): lambda c: c.paths,
    ("replays", "dupes"): lambda c: c.paths,
    ("replays", "quality"): lambda c: c.paths,
    ("replays", "build"): lambda c: c.paths,
    ("bench", "replays"): lambda c: c.paths,
    ("bench", "fidelity"): lambda c: c.folder,
    ("bench", "bc"): lambda c: c.replays,
    ("bench", "backbones"): lambda c: c.replays,
    ("bc", "kmeans"): lambda c: c.replays,
    ("bc", "train"): lambda c: c.data.replays,
}
#: How each command is told the value on its command line.
REPLAY_FLAGS = {
    ("bench", "fidelity"): ["--folder"],
    ("bench", "bc"): ["--replays"],
    ("bench", "backbones"): ["--replays"],
    ("bc", "train"): ["--data.replays"],
}


def _as_path(value) -> Path:
    return Path(value[0] if isinstance(value, tuple) else value)


@pytest.mark.parametrize("words", list(REPLAY_COMMANDS), ids=" ".join)
def test_replays_dir(words, monkeypatch, tmp_path):
    get = REPLAY_COMMANDS[words]
    default = _as_path(get(parsed(*words)))
    monkeypatch.setenv(envvars.REPLAYS_DIR, str(tmp_path / "env"))
    assert _as_path(get(parsed(*words))) == tmp_path / "env" != default
    flag = [*REPLAY_FLAGS.get(words, []), str(tmp_path / "flag")]
    assert _as_path(get(parsed(*words, *flag))) == tmp_path / "flag"


@pytest.mark.parametrize(
    ("words", "get", "flag"),
    [
        (("bc", "train"), lambda c: c.runtime.checkpoints, "--runtime.checkpoints"),
        (("bc", "list"), lambda c: c.root, None),
    ],
    ids=["bc train", "bc list"],
)
def test_checkpoints_dir(words, get, flag, monkeypatch, tmp_path):
    assert Path(get(parsed(*words))) == Path("checkpoints")
    monkeypatch.setenv(envvars.CHECKPOINTS_DIR, str(tmp_path / "env"))
    assert Path(get(parsed(*words))) == tmp_path / "env"
    args = [flag, str(tmp_path / "flag")] if flag else [str(tmp_path / "flag")]
    assert Path(get(parsed(*words, *args))) == tmp_path / "flag"


@pytest.mark.parametrize(
    ("words", "get", "flag"),
    [
        (("replays", "build"), lambda c: c.cache, "--cache"),
        (("bc", "train"), lambda c: c.data.cache, "--data.cache"),
        (("bc", "eval", "some/checkpoint"), lambda c: c.cache, "--cache"),
        (("bench", "bc"), lambda c: c.cache, "--cache"),
        (("bench", "backbones"), lambda c: c.cache, "--cache"),
    ],
    ids=["replays build", "bc train", "bc eval", "bench bc", "bench backbones"],
)
def test_cache_dir(words, get, flag, monkeypatch, tmp_path):
    assert Path(get(parsed(*words))) == Path(".exphil-cache")
    monkeypatch.setenv(envvars.CACHE_DIR, str(tmp_path / "env"))
    assert Path(get(parsed(*words))) == tmp_path / "env"
    assert Path(get(parsed(*words, flag, str(tmp_path / "flag")))) == tmp_path / "flag"


def test_default_preset(monkeypatch):
    assert parsed("bc", "train").model.hidden == 256
    monkeypatch.setenv(envvars.DEFAULT_PRESET, "quick")
    assert parsed("bc", "train").model.hidden == 64 and parsed("bc", "train").optim.steps == 300
    assert parsed("bc", "train", "--preset", "full").model.hidden == 512  # the flag wins
    assert parsed("bc", "train", "--model.hidden", "32").model.hidden == 32
    monkeypatch.setenv(envvars.DEFAULT_PRESET, "huge")
    with pytest.raises(ValueError, match=r"\$EXPHIL_DEFAULT_PRESET 'huge'; choose one of"):
        parsed("bc", "train")


def test_the_earlier_name_is_read_with_a_note_and_the_new_one_wins(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(envvars, "_noted", set())
    monkeypatch.setenv("EXPHIL_REPLAYS", str(tmp_path / "old"))
    assert parsed("replays", "stats").paths == (tmp_path / "old",)
    assert "$EXPHIL_REPLAYS is now $EXPHIL_REPLAYS_DIR" in capsys.readouterr().err
    monkeypatch.setenv(envvars.REPLAYS_DIR, str(tmp_path / "new"))
    assert parsed("replays", "stats").paths == (tmp_path / "new",)
