"""BC training core: validation loss falls on real replays; a killed run resumes exactly."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file

from imitation import build_dataset
from imitation.bc import BCConfig, Trainer, resume_source, split_by_file

FILES = ["peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp", "slippistats/Game_20221227T193443.slp"]


@pytest.fixture(scope="module")
def dataset_dir(replays_dir, tmp_path_factory):
    src = tmp_path_factory.mktemp("replays")
    for name in FILES:
        (src / name.replace("/", "_")).write_bytes((replays_dir / name).read_bytes())
    report = build_dataset(src, tmp_path_factory.mktemp("cache"), workers=0, progress=False)
    assert len(report.built) == len(FILES)
    return report.directory


SMALL = {"backbone_config": {"hidden": 64}, "batch_size": 64, "eval_every": 25, "eval_batches": 4, "warmup_steps": 10}


def test_validation_loss_falls_and_split_is_by_file(dataset_dir, tmp_path):
    trainer = Trainer(dataset_dir, tmp_path / "run", BCConfig(steps=150, **SMALL))
    train, val = split_by_file(trainer.dataset, 0.1, 0)
    assert set(train).isdisjoint(val) and len(val) >= 1
    result = trainer.train()
    first, last = trainer.history[0]["val/loss"], trainer.history[-1]["val/loss"]
    assert last < 0.8 * first, (first, last)
    assert result["best_val_loss"] <= last
    for name in ("last", "best"):
        meta = json.loads((tmp_path / "run" / name / "meta.json").read_text())
        assert meta["config"]["steps"] == 150 and meta["val_files"]


def test_temporal_windows_and_options_train(dataset_dir, tmp_path):
    config = BCConfig(
        backbone="gru", window=8, steps=30, ema=0.99, label_smoothing=0.1, focal_gamma=2.0, accumulate=2,
        button_weight=2.0, schedule="linear", save_every=10, noise=0.05, delay_min=0, delay_max=2,
        **{**SMALL, "batch_size": 16, "eval_every": 10},
    )  # fmt: skip
    trainer = Trainer(dataset_dir, tmp_path / "run", config)
    trainer.train()
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "step_00000010" in names and "last" in names and "last.bak" in names and "last.bak.1" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary directory left behind


SCRIPT = textwrap.dedent(
    """
    import json, sys, torch
    torch.set_num_threads(1)  # float reductions depend on the thread count: pin it for both runs
    from imitation.bc import BCConfig, Trainer
    Trainer(sys.argv[1], sys.argv[2], BCConfig(**json.loads(sys.argv[3]))).train()
    """
)


def _last_step(run) -> int:
    try:
        return json.loads((run / "last" / "meta.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):  # between checkpoints: renamed aside
        return 0


def test_sigkill_and_resume_gives_the_same_final_weights(dataset_dir, tmp_path):
    settings = {**SMALL, "eval_every": 20, "steps": 120}
    config = BCConfig(**settings)

    def run(out):
        return subprocess.Popen([sys.executable, "-c", SCRIPT, str(dataset_dir), str(out), json.dumps(settings)])

    assert run(tmp_path / "straight").wait() == 0
    killed = tmp_path / "killed"
    proc = run(killed)
    while _last_step(killed) < 40:
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Whatever the moment of the kill, the checkpoint to resume from is whole: 'last', or 'last.bak'
    # when the kill fell between moving the old one aside and renaming the new one into place.
    source = resume_source(killed)
    assert source is not None
    assert {p.name for p in source.iterdir()} == {"model.safetensors", "trainer.pt", "meta.json"}
    step = json.loads((source / "meta.json").read_text())["step"]
    assert 20 <= step < 120
    assert Trainer(dataset_dir, killed, config).step == step
    assert run(killed).wait() == 0  # resume in a fresh process, as after a real kill
    a = load_file(str(tmp_path / "straight" / "last" / "model.safetensors"))
    b = load_file(str(killed / "last" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_early_stopping_after_patience_evaluations_without_improvement(dataset_dir, tmp_path):
    class Flat(Trainer):
        def evaluate(self):
            return {"val/loss": 1.0, "val_acc/buttons": 0.0, "val_acc/main_stick": 0.0}

    trainer = Flat(dataset_dir, tmp_path / "flat", BCConfig(steps=200, patience=3, **{**SMALL, "eval_every": 5}))
    result = trainer.train()
    assert result["step"] == 20  # best at step 5, then 3 evaluations without improvement


def test_bf16_autocast_trains_on_cpu(dataset_dir, tmp_path):
    trainer = Trainer(dataset_dir, tmp_path / "bf16", BCConfig(steps=30, precision="bf16", device="cpu", **SMALL))
    trainer.train()
    assert trainer.history[-1]["val/loss"] < trainer.history[0]["val/loss"]


def test_a_kill_between_rotation_and_rename_resumes_from_the_backup(dataset_dir, tmp_path):
    import shutil

    Trainer(dataset_dir, tmp_path / "run", BCConfig(steps=40, **{**SMALL, "eval_every": 20})).train()
    shutil.rmtree(tmp_path / "run" / "last")  # as if killed after 'last' -> 'last.bak', before the rename
    resumed = Trainer(dataset_dir, tmp_path / "run", BCConfig(steps=40, **{**SMALL, "eval_every": 20}))
    assert resumed.step == 20


def test_bad_settings_and_inputs(dataset_dir, tmp_path):
    with pytest.raises(ValueError, match="lr=0"):
        Trainer(dataset_dir, tmp_path / "x", BCConfig(lr=0))
    with pytest.raises(ValueError, match="precision='fp8'"):
        Trainer(dataset_dir, tmp_path / "x", BCConfig(precision="fp8"))
    with pytest.raises(FileNotFoundError, match="manifest"):
        Trainer(tmp_path / "nothing", tmp_path / "x", BCConfig())


def test_bc_checkpoint_warm_starts_ppo_with_the_same_actions(dataset_dir, tmp_path):
    from dataclasses import asdict

    import gymnasium as gym
    import numpy as np
    from stable_baselines3 import PPO

    from exphil_agents.network import warm_start
    from exphil_agents.policies import BackbonePolicy
    from melee_envs.obs import ObsConfig

    trainer = Trainer(dataset_dir, tmp_path / "run", BCConfig(steps=40, **SMALL))
    trainer.train()
    obs_config = asdict(ObsConfig.learned())
    env = gym.make("Melee-v0", obs=obs_config, opponent="idle")
    kwargs = {"backbone": "mlp", "backbone_config": {"hidden": 64}, "obs_config": obs_config, "net_arch": []}
    model = PPO(BackbonePolicy, env, policy_kwargs=kwargs, seed=0)
    network = warm_start(model, tmp_path / "run" / "best" / "model.safetensors")
    obs, _ = trainer.val_data.get(64, np.random.default_rng(0))
    obs = obs[:, 0]
    ppo_actions, _ = model.predict(obs, deterministic=True)
    with torch.no_grad():
        latent, _ = network(torch.from_numpy(obs)[:, None])
        bc_actions = network.head.sample(latent[:, 0], deterministic=True).numpy()
    np.testing.assert_array_equal(ppo_actions, bc_actions)
    other = PPO(BackbonePolicy, env, policy_kwargs={**kwargs, "backbone_config": {"hidden": 32}}, seed=0)
    with pytest.raises(ValueError, match="backbone_config"):
        warm_start(other, tmp_path / "run" / "best" / "model.safetensors")
