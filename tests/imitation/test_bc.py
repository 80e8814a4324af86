"""BC training core: validation loss falls on real replays; a killed run resumes exactly."""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from imitation import build_dataset
from imitation.bc import BCConfig, Trainer
from imitation.runs import resume_source, split_by_file

FILES = ["peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp", "slippistats/Game_20221227T193443.slp"]


@pytest.fixture(scope="module")
def dataset_dir(replays_dir, tmp_path_factory):
    src = tmp_path_factory.mktemp("replays")
    for name in FILES:
        (src / name.replace("/", "_")).write_bytes((replays_dir / name).read_bytes())
    report = build_dataset(src, tmp_path_factory.mktemp("cache"), workers=0, progress=False)
    assert len(report.built) == len(FILES)
    return report.directory


SMALL = {
    "model": {"hidden": 64},
    "optim": {"batch_size": 64, "warmup_steps": 10},
    "runtime": {"eval_every": 25, "eval_batches": 4, "tensorboard": False},
}


def small(**sections: dict) -> dict:
    """SMALL with some settings of each section replaced (``optim={"steps": 40}``)."""
    return {name: {**SMALL.get(name, {}), **sections.get(name, {})} for name in {*SMALL, *sections}}


def config(**sections: dict) -> BCConfig:
    return BCConfig.from_dict(small(**sections))


def test_validation_loss_falls_and_split_is_by_file(dataset_dir, tmp_path):
    trainer = Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 150}))
    train, val = split_by_file(trainer.dataset, 0.1, 0)
    assert set(train).isdisjoint(val) and len(val) >= 1
    result = trainer.train()
    first, last = trainer.history[0]["val/loss"], trainer.history[-1]["val/loss"]
    assert last < 0.8 * first, (first, last)
    assert result["best_val_loss"] <= last
    for name in ("last", "best"):
        meta = json.loads((tmp_path / "run" / name / "meta.json").read_text())
        assert meta["config"]["optim"]["steps"] == 150 and meta["val_files"]


def test_temporal_windows_and_options_train(dataset_dir, tmp_path):
    settings = config(
        model={"backbone": "gru"},
        data={"window": 8, "noise": 0.05, "delay_min": 0, "delay_max": 2},
        optim={"steps": 30, "ema": 0.99, "label_smoothing": 0.1, "focal_gamma": 2.0, "accumulate": 2,
               "button_weight": 2.0, "schedule": "linear", "batch_size": 16},
        runtime={"save_every": 10, "eval_every": 10},
    )  # fmt: skip
    trainer = Trainer(dataset_dir, tmp_path / "run", settings)
    trainer.train()
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "step_00000010" in names and "last" in names and "last.bak" in names and "last.bak.1" in names
    assert not [n for n in names if n.startswith(".") and n != ".lock"]  # no temporary directory left behind


SCRIPT = textwrap.dedent(
    """
    import json, sys, torch
    torch.set_num_threads(1)  # float reductions depend on the thread count: pin it for both runs
    from imitation.bc import BCConfig, Trainer
    Trainer(sys.argv[1], sys.argv[2], BCConfig.from_dict(json.loads(sys.argv[3]))).train()
    """
)


def _last_step(run) -> int:
    try:
        return json.loads((run / "last" / "meta.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):  # between checkpoints: renamed aside
        return 0


@pytest.mark.slow
def test_sigkill_and_resume_gives_the_same_final_weights(dataset_dir, tmp_path):
    settings = small(optim={"steps": 120}, runtime={"eval_every": 20})
    settings_config = BCConfig.from_dict(settings)

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
    assert {p.name for p in source.iterdir()} == {"model.safetensors", "trainer.pt", "meta.json", "checksums.json"}
    step = json.loads((source / "meta.json").read_text())["step"]
    assert 20 <= step < 120
    assert Trainer(dataset_dir, killed, settings_config).step == step
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

    settings = config(optim={"steps": 200}, runtime={"patience": 3, "eval_every": 5})
    trainer = Flat(dataset_dir, tmp_path / "flat", settings)
    result = trainer.train()
    assert result["step"] == 20  # best at step 5, then 3 evaluations without improvement


def test_bf16_autocast_trains_on_cpu(dataset_dir, tmp_path):
    trainer = Trainer(dataset_dir, tmp_path / "bf16", config(optim={"steps": 30, "precision": "bf16", "device": "cpu"}))
    trainer.train()
    assert trainer.history[-1]["val/loss"] < trainer.history[0]["val/loss"]


def test_a_kill_between_rotation_and_rename_resumes_from_the_backup(dataset_dir, tmp_path):
    import shutil

    Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 40}, runtime={"eval_every": 20})).train()
    shutil.rmtree(tmp_path / "run" / "last")  # as if killed after 'last' -> 'last.bak', before the rename
    resumed = Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 40}, runtime={"eval_every": 20}))
    assert resumed.step == 20


def test_bad_settings_and_inputs(dataset_dir, tmp_path):
    with pytest.raises(ValueError, match="optim.lr=0"):
        Trainer(dataset_dir, tmp_path / "x", config(optim={"lr": 0.0}))
    bad_values = [("optim", "lr", float("inf")), ("optim", "lr", float("nan")), ("optim", "grad_clip", float("nan"))]
    bad_values += [("optim", "weight_decay", -1.0), ("data", "window", 0), ("runtime", "eval_every", 0)]
    for section, key, value in bad_values:
        with pytest.raises(ValueError, match=f"{section}.{key}="):
            Trainer(dataset_dir, tmp_path / "x", config(**{section: {key: value}}))
    with pytest.raises(ValueError, match="optim.precision='fp8'"):
        Trainer(dataset_dir, tmp_path / "x", config(optim={"precision": "fp8"}))
    with pytest.raises(ValueError, match="unknown setting 'step'; did you mean 'steps'"):
        BCConfig.from_dict({"optim": {"step": 3}})
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

    trainer = Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 40}))
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


def test_a_bc_gru_warm_starts_recurrent_ppo_with_the_same_actions(dataset_dir, tmp_path):
    """BC -> RecurrentPPO: the policy's recurrent layer is the network's own GRU backbone, so
    over a run of frames (state carried, a game restarting midway) both choose the same inputs."""
    import numpy as np
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env

    from exphil_agents.agent import Agent
    from exphil_agents.network import warm_start, warm_start_kwargs
    from exphil_agents.policies import RecurrentBackbonePolicy

    trainer = Trainer(dataset_dir, tmp_path / "run", config(model={"backbone": "gru"}, optim={"steps": 30}))
    trainer.train()
    best = tmp_path / "run" / "best"
    kwargs = warm_start_kwargs(best)
    kwargs["cell"] = kwargs.pop("backbone")
    venv = make_vec_env("Melee-v0", n_envs=1, env_kwargs={"obs": kwargs["obs_config"], "opponent": "idle"})
    model = RecurrentPPO(RecurrentBackbonePolicy, venv, policy_kwargs=kwargs, n_steps=16, batch_size=16, seed=0)
    network = warm_start(model, best)
    obs, _ = trainer.val_data.get(12, np.random.default_rng(0))
    frames = obs[:, 0]
    agent = Agent.from_network(network, deterministic=True)
    state, starts = None, np.zeros(1, bool)
    for t, frame in enumerate(frames):
        if t == 6:  # a new game: both reset their state
            agent.reset()
            starts[:] = True
        ppo_action, state = model.predict(frame[None], state=state, episode_start=starts, deterministic=True)
        starts[:] = False
        np.testing.assert_array_equal(ppo_action[0], agent.act(frame), err_msg=f"frame {t}")
    lstm_kwargs = {**kwargs, "cell": "lstm"}
    other = RecurrentPPO(RecurrentBackbonePolicy, venv, policy_kwargs=lstm_kwargs, n_steps=16, batch_size=16)
    with pytest.raises(ValueError, match="backbone: network has 'gru', policy has 'lstm'"):
        warm_start(other, best)


def _flip_byte(path, at=-100):
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damaged", ["model.safetensors", "trainer.pt"])
def test_a_damaged_last_checkpoint_falls_back_to_the_intact_backup(dataset_dir, tmp_path, capsys, damaged):
    from exphil_agents.network import load_checkpoint

    settings = config(optim={"steps": 40}, runtime={"eval_every": 20})
    Trainer(dataset_dir, tmp_path / "run", settings).train()  # last = step 40, last.bak = step 20
    _flip_byte(tmp_path / "run" / "last" / damaged)
    if damaged == "model.safetensors":
        with pytest.raises(ValueError, match="do not match the checksum saved with them"):
            load_checkpoint(tmp_path / "run" / "last" / damaged)
    resumed = Trainer(dataset_dir, tmp_path / "run", settings)
    assert resumed.step == 20  # from last.bak, not the damaged step-40 checkpoint
    err = capsys.readouterr().err
    assert f"{damaged} does not match its checksum" in err and "resuming from" in err, err
    assert resume_source(tmp_path / "run") == tmp_path / "run" / "last.bak"


def test_no_intact_checkpoint_is_an_error_not_a_fresh_start(dataset_dir, tmp_path):
    settings = config(optim={"steps": 20}, runtime={"eval_every": 20})
    Trainer(dataset_dir, tmp_path / "run", settings).train()
    _flip_byte(tmp_path / "run" / "last" / "trainer.pt")
    with pytest.raises(ValueError, match=r"no intact checkpoint to resume from .*last: trainer.pt does not match"):
        Trainer(dataset_dir, tmp_path / "run", settings)


def test_weights_damaged_in_a_file_copied_elsewhere_are_refused(dataset_dir, tmp_path):
    from exphil_agents.network import load_checkpoint

    Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 5}, runtime={"eval_every": 5})).train()
    copy = tmp_path / "shared.safetensors"
    copy.write_bytes((tmp_path / "run" / "best" / "model.safetensors").read_bytes())
    assert load_checkpoint(copy).spec["nvec"][8] == 17  # intact: loads
    _flip_byte(copy, at=-5)
    with pytest.raises(ValueError, match=f"{copy}: the weights do not match the checksum"):
        load_checkpoint(copy)


def test_resume_after_replays_were_added_keeps_the_validation_replays(replays_dir, tmp_path):
    src = tmp_path / "replays"
    src.mkdir()
    for name in FILES[:3]:
        (src / name.replace("/", "_")).write_bytes((replays_dir / name).read_bytes())
    settings = {"runtime": {"eval_every": 10}, "data": {"val_fraction": 0.34}}
    first = build_dataset(src, tmp_path / "cache", workers=0, progress=False).directory
    run = Trainer(first, tmp_path / "run", config(optim={"steps": 10}, **settings))
    run.train()
    val_before = run.val_files
    added = src / FILES[3].replace("/", "_")
    added.write_bytes((replays_dir / FILES[3]).read_bytes())
    second = build_dataset(src, tmp_path / "cache", workers=0, progress=False).directory
    resumed = Trainer(second, tmp_path / "run", config(optim={"steps": 20}, **settings))
    assert resumed.step == 10 and resumed.val_files == val_before  # a fresh split would differ or could
    trained = {Path(resumed.dataset.shards[s].info["source"]).resolve() for s in resumed.train_shards}
    assert added.resolve() in trained
    resumed.train()
    (src / Path(val_before[0]).name).unlink()
    third = build_dataset(src, tmp_path / "cache2", workers=0, progress=False).directory
    with pytest.raises(ValueError, match="cannot resume with the same validation replays .*no longer in the dataset"):
        Trainer(third, tmp_path / "run", config(optim={"steps": 30}, **settings))


def test_two_runs_of_one_name_cannot_write_at_once(dataset_dir, tmp_path):
    run = tmp_path / "run"
    holder = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from imitation.runs import lock_run
        handle = lock_run(Path({str(run)!r}))
        print("locked", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RuntimeError, match="another BC run is writing this run folder"):
            Trainer(dataset_dir, run, config(optim={"steps": 5}))
    finally:
        proc.kill()
        proc.wait()
    trainer = Trainer(dataset_dir, run, config(optim={"steps": 5}, runtime={"eval_every": 5}))  # the holder is gone
    trainer.train()
    Trainer(dataset_dir, run, config(optim={"steps": 10}, runtime={"eval_every": 5})).train()  # released after train()


def test_checkpoints_are_written_in_the_background_whole_and_as_saved(dataset_dir, tmp_path, monkeypatch):
    """``save`` copies the run and returns; the writer thread writes it (slowly here) while
    training goes on; what lands is the run as it was at ``save``, checksummed."""
    import imitation.bc
    from exphil_agents.network import load_weights
    from imitation.runs import checkpoint_problem

    real_hash = imitation.bc.file_sha256

    def slow_hash(path):
        time.sleep(0.3)
        return real_hash(path)

    trainer = Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 30}))
    trainer.train(stop_after=5)
    monkeypatch.setattr(imitation.bc, "file_sha256", slow_hash)
    start = time.perf_counter()
    target = trainer.save("snap")
    took = time.perf_counter() - start
    assert took < 0.5, took  # the 4 files' hashes alone take 1.2 s on the writer thread
    saved = {k: v.clone() for k, v in trainer.network.state_dict().items()}
    with torch.no_grad():  # training goes on: the weights change after the save
        for p in trainer.network.parameters():
            p.add_(1.0)
    trainer.flush()
    assert checkpoint_problem(target) is None
    weights = load_weights(target / "model.safetensors")
    assert all(torch.equal(weights[k], saved[k]) for k in saved)
    assert json.loads((target / "meta.json").read_text())["step"] == 5
    trainer.close()


def test_a_failed_background_write_is_raised_and_leaves_the_last_checkpoint(dataset_dir, tmp_path, monkeypatch):
    trainer = Trainer(dataset_dir, tmp_path / "run", config(optim={"steps": 30}, runtime={"eval_every": 5}))
    trainer.train(stop_after=5)  # writes best/ and last/ at step 5
    real_save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(torch, "save", full_disk)
    trainer.save("last")
    with pytest.raises(OSError, match="No space left on device"):
        trainer.flush()
    monkeypatch.setattr(torch, "save", real_save)
    assert json.loads((tmp_path / "run" / "last" / "meta.json").read_text())["step"] == 5  # untouched
    assert not list((tmp_path / "run").glob(".last.*"))  # no half-written folder left
    trainer.close()


def test_a_nearly_full_gpu_is_reported(monkeypatch):
    """CUDA's free-memory query stands in for a GPU here (no CUDA device on CPU machines)."""
    from imitation.bc import gpu_memory_note

    assert gpu_memory_note(torch.device("cpu")) is None
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1 * 2**30, 80 * 2**30))
    note = gpu_memory_note(torch.device("cuda", 0))
    assert note is not None and "99% of its 80.0 GiB in use" in note and "--optim.batch-size" in note
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (40 * 2**30, 80 * 2**30))
    assert gpu_memory_note(torch.device("cuda", 0)) is None
