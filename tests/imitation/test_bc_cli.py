"""``exphil bc``: end to end on real replays, settings precedence, and bad input."""

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest

from exphil.cli import run
from imitation.bc_cli import resolve


def main(args):
    """``exphil bc ARGS`` in this process: its exit status (errors raise as the command raises them)."""
    return run(["bc", *args])


def exphil(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "exphil", *args],
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
    for part, conf in report["confidence"].items():  # the network's confidence, and how often it is right
        assert 0 < conf["mean"] <= 1, part
        assert abs(sum(b["share"] for b in conf["bands"].values()) - 1) < 1e-6, part
        assert all(b["accuracy"] is None or 0 <= b["accuracy"] <= 1 for b in conf["bands"].values())
    assert set(report["confidence"]) == {"buttons", "main_stick", "c_stick", "shoulder"}
    assert main(["list", str(tmp_path / "ck")]) == 0
    assert main(["info", str(best)]) == 0
    assert main(["compare", str(best), str(tmp_path / "ck" / "bc" / "last")]) == 0
    # the k-means centres travel with the checkpoint: eval and play decode with them
    from exphil_agents.agent import Agent
    from exphil_agents.network import checkpoint_file, load_checkpoint

    network = load_checkpoint(checkpoint_file(best))
    assert network.stick_centres == [round(v, 6) for v in values] and network.nvec[8:12] == [21] * 4
    assert np.allclose(Agent.from_network(network).codec.stick_centres, values, atol=1e-6)
    assert report["accuracy"]["main_stick"] > 0.3, report["accuracy"]  # 21-way targets (17-way scored 0.08)


def test_eval_of_an_older_kmeans_checkpoint_needs_its_centres_file(replay_dir, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from exphil_agents.network import PolicyNetwork, save_checkpoint

    centres = tmp_path / "centres.json"
    values = list(np.linspace(0, 1, 21) ** 1.5)
    centres.write_text(json.dumps({"stick_centres": values}))
    network = PolicyNetwork("mlp", {"hidden": 32}, nvec=[2] * 8 + [21] * 4 + [5], stick_centres=values)
    model = tmp_path / "old" / "model.safetensors"
    model.parent.mkdir()
    save_checkpoint(network, model)
    with safe_open(str(model), framework="pt") as fh:  # as written before checkpoints kept centres
        metadata, tensors = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    spec = json.loads(metadata["spec"])
    del spec["stick_centres"]
    save_file(tensors, str(model), metadata={**metadata, "spec": json.dumps(spec)})
    common = ["--replays", str(replay_dir), "--cache", str(tmp_path / "cache"), "--max-examples", "500"]
    with pytest.raises(ValueError, match="predates saved centres; pass the centres file .* --stick-centres FILE"):
        main(["eval", str(model.parent), *common])
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"stick_centres": list(np.linspace(0, 1, 17))}))
    with pytest.raises(ValueError, match="17 centres, but .* was trained with 21 stick buckets"):
        main(["eval", str(model.parent), "--stick-centres", str(wrong), *common])
    assert main(["eval", str(model.parent), "--stick-centres", str(centres), *common]) == 0


def test_an_existing_run_resumes_with_its_changes_named_or_is_replaced_or_refused(replay_dir, tmp_path, capsys):
    common = ["train", "--preset", "quick", "--data.replays", str(replay_dir), "--data.cache", str(tmp_path / "cache"),
              "--runtime.checkpoints", str(tmp_path / "ck"), "--runtime.eval-every", "10",
              "--runtime.no-tensorboard"]  # fmt: skip
    run = tmp_path / "ck" / "bc"
    assert main([*common, "--optim.steps", "10"]) == 0
    capsys.readouterr()
    assert main([*common, "--optim.steps", "20", "--optim.lr", "0.0005"]) == 0  # resumes, naming what changed
    out = capsys.readouterr().out
    assert "setting changed since it was saved: optim.steps: 10 -> 20" in out, out
    assert "optim.lr: 0.001 -> 0.0005" in out, out
    assert json.loads((run / "last" / "meta.json").read_text())["step"] == 20
    with pytest.raises(FileExistsError, match=r"a run of this name exists \(last, step 20\); --runtime.overwrite"):
        main([*common, "--optim.steps", "30", "--runtime.no-resume"])
    assert main([*common, "--optim.steps", "10", "--runtime.overwrite"]) == 0
    aside = [p for p in (tmp_path / "ck").iterdir() if p.name.startswith("bc.replaced-")]
    assert len(aside) == 1 and json.loads((aside[0] / "last" / "meta.json").read_text())["step"] == 20  # kept
    assert json.loads((run / "last" / "meta.json").read_text())["step"] == 10  # a fresh run
    # Backups rotate: at most --runtime.backup-count runs moved aside are kept, the newest ones.
    first = aside[0].name  # the step-20 run
    for _ in range(2):
        assert main([*common, "--optim.steps", "10", "--runtime.overwrite", "--runtime.backup-count", "2"]) == 0
    aside = sorted(p.name for p in (tmp_path / "ck").iterdir() if p.name.startswith("bc.replaced-"))
    assert len(aside) == 2 and first not in aside  # the oldest went
    assert main([*common, "--optim.steps", "10", "--runtime.overwrite", "--runtime.no-backup"]) == 0
    assert not [p for p in (tmp_path / "ck").iterdir() if p.name.startswith("bc.replaced-")]
    assert "deleted the existing run (--runtime.no-backup)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="runtime.backup_count"):
        main([*common, "--runtime.backup-count", "-1"])


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
    assert "run: a new run in" in out
    assert not (tmp_path / "ck").exists()
    with pytest.raises(ValueError, match="unknown character 'marioo'"):  # names checked before any build
        main([*args, "--data.characters", "marioo"])
    with pytest.raises(ValueError, match="stage"):
        main([*args, "--data.stages", "hyrule"])
    # It says what training would do with an existing run.
    train = ["train", "--preset", "quick", "--optim.steps", "10", "--data.replays", str(replay_dir),
             "--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck"),
             "--runtime.no-tensorboard"]  # fmt: skip
    assert main(train) == 0
    capsys.readouterr()
    for extra, plan in (([], "resume"), (["--runtime.no-resume"], "refuse"), (["--runtime.overwrite"], "replace")):
        assert main([*args, *extra]) == 0
        out = capsys.readouterr().out
        assert f"run: {plan}" in out, (extra, out)
    assert main([*args]) == 0 and "from last at step 10" in capsys.readouterr().out


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
    assert ppo.observation_space.shape == (121,)  # the BC network's compact layout, on the batched env
    result = exphil("bc", "train", "--preset", "quick", "--model.backbone", "gru", *common)
    assert result.returncode != 0 and "cannot resume" in result.stderr and "'mlp' vs this run 'gru'" in result.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    result = exphil("bc", "eval", str(junk), "--replays", str(replay_dir))
    assert result.returncode != 0 and "not a safetensors checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


BAD_CONFIGS = [
    ("typed.yaml", 'optim:\n  steps: "many"\n', r"typed.yaml.optim: steps: expected an integer; got 'many'"),
    ("broken.yaml", "optim: [unclosed\n", r"config file .*broken.yaml is not valid YAML at line 2, column 1"),
    ("binary.yaml", bytes(range(256)), r"config file .*binary.yaml is not a text file"),
    ("bad.json", '{"optim": {"lr": }', r"config file .*bad.json is not valid JSON"),
]


def test_bad_config_files_are_one_line_errors_naming_the_file(tmp_path):
    for name, content, message in BAD_CONFIGS:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(ValueError, match=message):
            resolve(["--config", str(path)])
    ok = tmp_path / "ok.yaml"
    ok.write_text("optim:\n  steps: 12\n  lr: 1\nruntime:\n  tensorboard: false\n")
    cmd = resolve(["--config", str(ok)])
    assert cmd.optim.steps == 12 and cmd.optim.lr == 1.0 and cmd.runtime.tensorboard is False
    afile = tmp_path / "afile"
    afile.write_text("")
    proc = exphil("bc", "train", "--data.replays", str(tmp_path), "--runtime.checkpoints", str(afile))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-1500:]


def test_eval_says_which_replays_it_left_out(replay_dir, replays_dir, tmp_path, capsys):
    from exphil_agents.network import PolicyNetwork, save_checkpoint

    mixed = tmp_path / "mixed"
    shutil.copytree(replay_dir, mixed)
    shutil.copy(replays_dir / "bad" / "peppi_corrupt.slp", mixed / "corrupt.slp")
    save_checkpoint(PolicyNetwork("mlp", {"hidden": 32}), tmp_path / "best" / "model.safetensors")
    args = ["eval", str(tmp_path / "best"), "--replays", str(mixed), "--cache", str(tmp_path / "cache")]
    assert main([*args, "--max-examples", "300"]) == 0
    err = capsys.readouterr().err
    assert f"FAILED  {mixed / 'corrupt.slp'}" in err and "1 failed" in err, err


def test_one_shape_of_settings_for_python_files_flags_and_saved_runs():
    from imitation.config import BCConfig, flat_settings

    values = {"optim": {"steps": "12"}, "model": {"backbone": "gru", "options": {"dropout": 0.1}}}
    from_file = BCConfig.from_dict(values)
    assert from_file.optim.steps == 12
    assert from_file.model.backbone_config == {"hidden": 256, "layers": 2, "dropout": 0.1}
    from_flags = resolve(["--optim.steps", "12", "--model.backbone", "gru"]).bc
    assert from_flags == replace(from_file, model=replace(from_file.model, options={}))
    # meta.json holds the sections; a run saved before them held one flat mapping: both read the same.
    nested = flat_settings(asdict(from_file))
    legacy = flat_settings({"steps": 12, "backbone": "gru", "eval_every": 250, "backbone_config": {"hidden": 256}})
    assert nested["optim.steps"] == legacy["optim.steps"] == 12 and legacy["runtime.eval_every"] == 250
    assert "backbone_config" not in str(legacy)
    with pytest.raises(ValueError, match="'model' must be a mapping of settings"):
        BCConfig.from_dict({"model": "gru"})


def test_the_progress_line_carries_a_loss_sparkline_that_follows_the_loss(replay_dir, tmp_path, capsys, monkeypatch):
    from melee_envs.sparkline import sparkline

    monkeypatch.setenv("COLUMNS", "400")  # one progress line per row of output

    args = ["train", "--preset", "quick", "--optim.steps", "40", "--data.replays", str(replay_dir),
            "--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck"),
            "--runtime.eval-every", "10", "--runtime.no-tensorboard"]  # fmt: skip
    assert main(args) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    history = json.loads((tmp_path / "ck" / "bc" / "last" / "meta.json").read_text())["history"]
    losses = [h["train/loss"] for h in history if "train/loss" in h]
    assert len(lines) == len(losses) == 4
    for k, line in enumerate(lines):  # each line: the trend of the train losses so far
        assert line.endswith(f"train loss {sparkline(losses[: k + 1])}"), line
    assert len(set(sparkline(losses))) > 1  # the loss moved, and so do the bars


def test_a_large_checkpoint_is_reported_once(replay_dir, tmp_path, capsys, monkeypatch):
    import imitation.bc

    monkeypatch.setattr(imitation.bc, "LARGE_CHECKPOINT", 10_000)  # bytes: every checkpoint here is larger
    args = ["train", "--preset", "quick", "--optim.steps", "20", "--data.replays", str(replay_dir),
            "--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck"),
            "--runtime.eval-every", "10", "--runtime.no-tensorboard"]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("warning: checkpoint") == 1 and "MB (over 0 MB" in err, err


def test_the_observation_layout_and_jambas_attention_layers_are_chosen_on_the_command_line(replay_dir, tmp_path):
    from exphil_agents.network import read_spec

    args = ["train", "--preset", "quick", "--optim.steps", "4", "--data.replays", str(replay_dir),
            "--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck"),
            "--runtime.eval-every", "4", "--runtime.no-tensorboard", "--data.obs", "default",
            "--model.backbone", "jamba", "--model.hidden", "16", "--model.layers", "2",
            "--model.attention-every", "2", "--data.window", "4"]  # fmt: skip
    assert main(args) == 0
    spec = read_spec(tmp_path / "ck" / "bc" / "last" / "model.safetensors")
    assert spec["backbone_config"]["attention_every"] == 2
    assert spec["obs_config"]["action_mode"] == "one_hot"  # the env's 1035-wide layout
    with pytest.raises(ValueError, match="model.attention_every=2"):
        main([*args[:-2], "--model.backbone", "gru", "--runtime.name", "other"])


def test_style_conditioned_training_keeps_a_player_registry(replays_dir, tmp_path):
    from exphil_agents.network import read_spec

    folder = tmp_path / "replays"
    folder.mkdir()
    for name in ("slippistats/Game_20221227T193443.slp", "slippistats/Game_20221228T031427.slp"):
        shutil.copy(replays_dir / name, folder / name.split("/")[1])
    registry = tmp_path / "players.json"
    registry.write_text(json.dumps({"size": 16, "players": {"NUT#356": 3}}))
    args = ["train", "--preset", "quick", "--optim.steps", "4", "--data.replays", str(folder),
            "--data.cache", str(tmp_path / "cache"), "--runtime.checkpoints", str(tmp_path / "ck"),
            "--runtime.eval-every", "4", "--runtime.no-tensorboard", "--data.player-styles", "16",
            "--data.player-registry", str(registry)]  # fmt: skip
    assert main(args) == 0
    saved = json.loads(registry.read_text())
    assert saved["players"] == {"nut#356": 3} and saved["seen"]["nut#356"] == 3
    assert {"fizz#375", "slee#791"} <= set(saved["seen"])  # every player the build met
    spec = read_spec(tmp_path / "ck" / "bc" / "last" / "model.safetensors")
    assert spec["obs_config"]["player_names"] == 16  # the network reads the slot
    registry.write_text(json.dumps({"size": 8, "players": {}}))
    with pytest.raises(ValueError, match="a registry of 8 ids, but the player-name slot has 16"):
        main([*args, "--runtime.name", "other"])
