"""``exphil bc setup``: the questions, answers checked and asked again, the config file it writes,
the command it prints (parsed as ``bc train`` parses it), and the run it starts."""

import os
import shutil
import subprocess
import sys

import yaml

from imitation.bc_cli import resolve


def setup(answers, tmp_path, **env):
    """``exphil bc setup`` in ``tmp_path`` with ``answers`` typed one per line."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EXPHIL_")}
    environ.update({"EXPHIL_CACHE_DIR": str(tmp_path / "cache"), **env})
    return subprocess.run(
        [sys.executable, "-m", "exphil", "bc", "setup"], input="".join(f"{a}\n" for a in answers),
        capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=600, check=False,
    )  # fmt: skip


def test_answers_are_checked_and_become_a_config_file_and_a_command(replay_dir, tmp_path):
    answers = [
        tmp_path / "nowhere", replay_dir,  # not a folder: asked again
        "fox captainfalcon", "fd",  # names and aliases, written as the game's names
        "huge", "full",  # not a size: asked again
        "gru", "0", "16",  # a window of 0: asked again
        "y", "", str(tmp_path / "ck"), "main run", "settings.txt", "bc.yaml", "n",
    ]  # fmt: skip
    proc = setup(answers, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "is not a folder; try again" in out and "'huge' is not one of quick, standard, full; try again" in out
    assert "0 is not at least 1; try again" in out and "name a .yaml or .json file; try again" in out
    assert f"{len(list(replay_dir.glob('*.slp')))} .slp files under {replay_dir}" in out
    written = yaml.safe_load((tmp_path / "bc.yaml").read_text())
    assert written["data"] == {
        "replays": str(replay_dir), "characters": ["FOX", "CPTFALCON"], "stages": ["FINAL_DESTINATION"],
        "mirror": True, "window": 16,
    }  # fmt: skip
    assert written["model"] == {"hidden": 512, "layers": 3, "backbone": "gru"}  # the full preset, and gru
    assert written["runtime"] == {"checkpoints": str(tmp_path / "ck"), "name": "main run"}
    assert "optim" in written and "device" not in written["optim"]  # auto is the default: not written
    assert "exphil bc train --config bc.yaml" in out
    command = resolve(["--config", str(tmp_path / "bc.yaml")])
    assert command.model.backbone == "gru" and command.optim.steps == 50_000 and command.data.window == 16
    assert command.data.characters == ("FOX", "CPTFALCON") and command.runtime.name == "main run"


def test_an_unknown_character_is_named_with_the_valid_ones(replay_dir, tmp_path):
    proc = setup([replay_dir, "fox falc", "fox"], tmp_path)  # the input ends after these answers
    assert "unknown character 'falc'; choose one of" in proc.stdout and "FALCO" in proc.stdout
    assert proc.returncode != 0 and "its input ended; run it in a terminal" in proc.stderr
    assert not (tmp_path / "bc.yaml").exists()


def test_every_default_then_training_starts(replay_dir, tmp_path):
    answers = [""] * 10 + ["y"]  # Enter for every question (quick, mlp), then start
    proc = setup(answers, tmp_path, EXPHIL_REPLAYS_DIR=str(replay_dir), EXPHIL_CHECKPOINTS_DIR=str(tmp_path / "ck"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = yaml.safe_load((tmp_path / "bc.yaml").read_text())
    assert written["model"] == {"hidden": 64} and written["optim"]["steps"] == 300  # the quick preset
    assert "done: 300 steps" in proc.stdout
    assert (tmp_path / "ck" / "bc" / "best" / "model.safetensors").exists()


def test_an_answer_the_environment_would_override_goes_on_the_command_line(replay_dir, tmp_path):
    other = tmp_path / "mine"
    shutil.copytree(replay_dir, other)
    answers = [other, "", "", "", "", "", "", "", "", "", "n"]
    proc = setup(answers, tmp_path, EXPHIL_REPLAYS_DIR=str(replay_dir))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"exphil bc train --config bc.yaml --data.replays {other}" in proc.stdout


def test_an_existing_file_is_kept_unless_replacing_is_confirmed(replay_dir, tmp_path):
    (tmp_path / "bc.yaml").write_text("# mine\n")
    proc = setup([replay_dir, *[""] * 9, "n"], tmp_path)
    assert proc.returncode != 0 and "bc.yaml exists and was kept" in proc.stderr
    assert (tmp_path / "bc.yaml").read_text() == "# mine\n"
