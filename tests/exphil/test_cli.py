"""The ``exphil`` tree: built from the registries, every leaf parses, groups and old names."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from exphil.cli import RENAMED, _target, commands, find, main, renamed, usage

ROOT = Path(__file__).resolve().parents[2]


def test_every_registered_command_resolves_and_prints_its_help(capsys):
    cmds = commands()
    assert len({c.path for c in cmds}) == len(cmds)
    for command in cmds:
        assert callable(_target(command.run)), command.path
        assert (command.config is None) != (command.parse is None), command.path
        found, rest = find(cmds, [*command.path, "--x"])
        assert found is command and rest == ["--x"]
        with pytest.raises(SystemExit) as exit_info:
            main([*command.path, "--help"])
        assert exit_info.value.code == 0, command.path
        assert f"exphil {' '.join(command.path)}" in capsys.readouterr().out
    assert {c.path[0] for c in cmds if len(c.path) > 1} == {"bench", "bc", "champion", "league", "replays"}


def test_groups_list_their_commands_and_unknown_names_are_named(capsys):
    main(["bench"])
    text = capsys.readouterr().out
    for what in ("env", "vector", "threads", "fidelity", "dolphin", "replays", "bc", "agents", "train", "league"):
        assert f"\n  {what} " in text
    assert usage(commands()).count("\n  bench ") == 12
    for args, message in (
        (["bench", "nope"], "exphil bench: unknown command 'nope'; choose one of ['agents'"),
        (["trian"], "exphil: unknown command 'trian'"),
    ):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 1 and message in capsys.readouterr().err


def test_names_of_earlier_releases_still_work(capsys):
    for old, new in RENAMED.items():
        assert renamed([old, "--n", "1"]) == [*new, "--n", "1"]
    assert renamed(["bench", "--games", "2"]) == ["bench", "env", "--games", "2"]
    assert "is now `exphil bench env OPTIONS`" in capsys.readouterr().err


def test_errors_are_one_line_naming_the_command(tmp_path):
    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [sys.executable, "-m", "exphil", "bc", "list", str(missing)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip() == f"exphil bc list: checkpoint folder {missing} does not exist", proc.stderr


def test_no_package_imports_a_package_above_it():
    """melee_envs < exphil_agents < imitation < exphil: imports only point down."""
    level = {"melee_envs": 0, "exphil_agents": 1, "imitation": 2, "exphil": 3}
    for package, rank in level.items():
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    top = node.module.split(".")[0]
                elif isinstance(node, ast.Import):
                    top = node.names[0].name.split(".")[0]
                else:
                    continue
                assert level.get(top, -1) <= rank, f"{path.relative_to(ROOT)} imports {top}"
