"""``exphil bc``: end to end on real replays, settings precedence, and bad input."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from imitation.bc_cli import main, resolve

FILES = ["peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp"]


@pytest.fixture(scope="module")
def replay_dir(replays_dir, tmp_path_factory):
    src = tmp_path_factory.mktemp("bc_replays")
    for name in FILES:
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    return src


def exphil(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "exphil_agents.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_train_eval_kmeans_and_management_end_to_end(replay_dir, tmp_path):
    common = ["--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck")]
    centres = tmp_path / "centres.json"
    assert main(["kmeans", str(replay_dir), "--k", "21", "--out", str(centres)]) == 0
    values = json.loads(centres.read_text())["stick_centres"]
    assert len(values) == 21 and values == sorted(values) and 0 <= values[0] and values[-1] <= 1
    args = ["train", "--preset", "quick", "--data.replays", str(replay_dir), "--optim.steps", "200",
            "--runtime.eval-every", "50", "--data.stick-centres", str(centres), *common]  # fmt: skip
    assert main(args) == 0
    best = tmp_path / "ck" / "bc" / "best"
    meta = json.loads((best / "meta.json").read_text())
    assert meta["history"][-1]["val/loss"] < 0.5 * meta["history"][0]["val/loss"]
    assert (tmp_path / "ck" / "bc" / "tb").is_dir()
    assert main(["eval", str(best), "--cache", str(tmp_path / "cache"), "--max-delay", "3"]) == 0
    report = json.loads((best / "eval" / "report.json").read_text())
    assert set(report["accuracy"]) == {"buttons", "main_stick", "c_stick", "shoulder"}
    assert set(report["accuracy_vs_input_d_frames_later"]) == {"0", "1", "2", "3"}
    assert len(report["button_accuracy"]) == 8 and report["latency"]["p50_ms"] > 0
    assert {p.name for p in (best / "eval").iterdir()} >= {"report.json", "confusion_main_x.png"}
    assert main(["list", str(tmp_path / "ck")]) == 0
    assert main(["info", str(best)]) == 0
    assert main(["compare", str(best), str(tmp_path / "ck" / "bc" / "last")]) == 0


def test_settings_precedence_cli_env_file_defaults(tmp_path, monkeypatch):
    config = tmp_path / "bc.json"
    config.write_text(json.dumps({"optim": {"lr": 0.5, "steps": 7}, "runtime": {"checkpoints": "from_file"}}))
    monkeypatch.setenv("EXPHIL_CHECKPOINTS_DIR", "from_env")
    cmd = resolve(["--config", str(config), "--preset", "quick", "--optim.lr", "0.25"])
    assert cmd.optim.lr == 0.25  # command line beats the file
    assert cmd.runtime.checkpoints == "from_env"  # environment beats the file
    assert cmd.optim.steps == 7  # the file beats the preset (300)
    assert cmd.model.hidden == 64  # the preset beats the defaults
    assert cmd.optim.weight_decay == 1e-4  # defaults


def test_yaml_config_file(tmp_path):
    config = tmp_path / "bc.yaml"
    config.write_text("model:\n  backbone: gru\n  hidden: 32\ndata:\n  characters: [fox, falco]\n")
    cmd = resolve(["--config", str(config)])
    assert cmd.model.backbone == "gru" and cmd.model.hidden == 32 and cmd.data.characters == ("fox", "falco")


def test_dry_run_trains_nothing(replay_dir, tmp_path, capsys):
    args = ["train", "--dry-run", "--data.replays", str(replay_dir), "--runtime.checkpoints", str(tmp_path / "ck")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "3 .slp files" in out and "parameters" in out
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize(
    "setup,args,message",
    [
        ("empty", ["--data.replays", "{dir}"], "no .slp files"),
        ("missing", ["--data.replays", "{dir}/nope"], "does not exist"),
        ("bad", ["--data.replays", "{bad}"], "no usable replays"),
        ("config", ["--config", "{dir}/bc.json"], "unknown setting 'lrr'; did you mean 'lr'"),
        ("flag", ["--optim.lrr", "3"], "Perhaps you meant"),
    ],
)
def test_bad_input_is_one_clear_message_and_a_nonzero_exit(replays_dir, tmp_path, setup, args, message):
    (tmp_path / "bc.json").write_text(json.dumps({"optim": {"lrr": 1}}))
    args = [a.format(dir=tmp_path, bad=replays_dir / "bad") for a in args]
    result = exphil("bc", "train", *args, "--data.cache", str(tmp_path / "cache"), cwd=tmp_path)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert message in text, text
    assert "Traceback" not in text


def test_resuming_with_another_model_or_evaluating_a_non_checkpoint_is_refused(replay_dir, tmp_path):
    common = ["--data.replays", str(replay_dir), "--data.cache", str(tmp_path / "c"),
              "--runtime.checkpoints", str(tmp_path / "ck"), "--optim.steps", "20",
              "--runtime.eval-every", "10"]  # fmt: skip
    assert exphil("bc", "train", "--preset", "quick", *common).returncode == 0
    from exphil_agents.train import TrainConfig, _make_model

    ppo = _make_model(TrainConfig(init_from=str(tmp_path / "ck" / "bc" / "best"), n_envs=1, n_steps=64))
    assert ppo.observation_space.shape == (1, 121)  # the BC network's compact layout, one frame
    result = exphil("bc", "train", "--preset", "quick", "--model.backbone", "gru", *common)
    assert result.returncode != 0 and "cannot resume" in result.stderr and "'mlp' vs this run 'gru'" in result.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    result = exphil("bc", "eval", str(junk), "--replays", str(replay_dir))
    assert result.returncode != 0 and "not a safetensors checkpoint" in result.stderr
    assert "Traceback" not in result.stderr
