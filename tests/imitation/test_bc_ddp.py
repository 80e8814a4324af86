"""BC on two processes (DistributedDataParallel, gloo on CPU, through torchrun): the same weights
as one process on the same global batch, and a SIGKILL of the whole group resumes exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from exphil_agents.network import load_weights

pytestmark = pytest.mark.slow


def common(replay_dir, root, steps):
    return ["--preset", "quick", "--optim.steps", str(steps), "--optim.batch-size", "32", "--runtime.eval-every", "10",
            "--runtime.no-tensorboard", "--data.replays", str(replay_dir), "--data.cache", str(root / "cache"),
            "--runtime.checkpoints", str(root / "ck")]  # fmt: skip


def exphil(*args):
    env = {**os.environ, "COLUMNS": "400"}  # rich wraps at 80 columns otherwise
    return subprocess.run([sys.executable, "-m", "exphil", *args], capture_output=True, text=True, timeout=600,
                          check=False, env=env)  # fmt: skip


def weights(root, name):
    return load_weights(root / "ck" / name / "last" / "model.safetensors")


def test_two_processes_train_the_weights_one_process_trains(replay_dir, tmp_path):
    args = common(replay_dir, tmp_path, 20)
    one = exphil("bc", "train", *args, "--runtime.name", "one")
    assert one.returncode == 0, one.stderr[-2000:]
    two = exphil("bc", "train", *args, "--runtime.name", "two", "--nproc", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    assert "starting 2 processes: torchrun" in two.stdout and two.stdout.count("done: 20 steps") == 1  # rank 0 speaks
    a, b = weights(tmp_path, "one"), weights(tmp_path, "two")
    assert set(a) == set(b)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    meta = [json.loads((tmp_path / "ck" / n / "last" / "meta.json").read_text()) for n in ("one", "two")]
    losses = [[h["val/loss"] for h in m["history"]] for m in meta]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert not list((tmp_path / "ck" / "two").glob(".last.*"))  # one writer: no stray temporary folders


def test_a_killed_group_resumes_exactly(replay_dir, tmp_path):
    steps = 600
    args = common(replay_dir, tmp_path, steps)
    whole = exphil("bc", "train", *args, "--runtime.name", "whole", "--nproc", "2")
    assert whole.returncode == 0, whole.stderr[-3000:]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "exphil",
                "-q", "bc", "train", *args, "--runtime.name", "cut"]  # fmt: skip
    proc = subprocess.Popen(torchrun, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    meta = tmp_path / "ck" / "cut" / "last" / "meta.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(meta.read_text())["step"] >= 100:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher; its training processes die with it (their own sessions)
    proc.wait()
    lock = tmp_path / "ck" / "cut" / ".lock"
    deadline = time.monotonic() + 30
    while not _free(lock):  # the training processes are gone once the run lock is free
        assert time.monotonic() < deadline, "the training processes outlived their launcher"
        time.sleep(0.05)
    cut_at = json.loads(meta.read_text())["step"]
    assert 100 <= cut_at < steps, cut_at  # killed mid-run, after a checkpoint
    resumed = exphil("bc", "train", *args, "--runtime.name", "cut", "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {tmp_path / 'ck' / 'cut'} at step" in resumed.stdout
    a, b = weights(tmp_path, "whole"), weights(tmp_path, "cut")
    assert all(torch.equal(a[k], b[k]) for k in a), "the resumed run ended with other weights"


def _free(lock):
    import fcntl

    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return True


def test_a_global_batch_that_does_not_split_is_refused(replay_dir, tmp_path):
    args = [*common(replay_dir, tmp_path, 4), "--optim.batch-size", "33", "--nproc", "2"]
    proc = exphil("bc", "train", *args)
    assert proc.returncode != 0
    assert "optim.batch_size 33 does not split over 2 processes" in proc.stderr + proc.stdout


def test_a_process_without_a_gpu_of_its_own_is_refused_before_nccl_starts(monkeypatch):
    """NCCL refuses two processes on one GPU only once they meet ("Duplicate GPU detected"); the
    process group is never started for a rank beyond the machine's GPUs."""
    from imitation import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    from imitation import build

    monkeypatch.setattr(build, "die_with_parent", lambda parent: None)  # this test process has no launcher
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"LOCAL_RANK 1\) has no GPU of its own: this machine has 1"):
        distributed.start("cuda")
    assert not torch.distributed.is_initialized()
