"""``exphil --quiet`` / ``--verbose``: quiet prints no progress (bars or lines), only the summary
and errors; verbose adds the details; the flag goes anywhere among a command's arguments."""

import subprocess
import sys

import pytest

from exphil.cli import verbosity_flags

TRAIN = ["train", "--timesteps", "1024", "--n-envs", "2", "--n-steps", "256", "--batch-size", "128",
         "--eval-episodes", "1", "--game.time-limit-minutes", "0.2"]  # fmt: skip


def exphil(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exphil", *map(str, args)], capture_output=True, text=True, timeout=600, check=False
    )


def test_the_flags_are_taken_out_wherever_they_stand():
    assert verbosity_flags(["-q", "train", "--x", "1"]) == (["train", "--x", "1"], 0)
    assert verbosity_flags(["train", "--verbose"]) == (["train"], 2)
    assert verbosity_flags(["train"]) == (["train"], 1)
    assert verbosity_flags(["bc", "train", "--", "-q"]) == (["bc", "train", "--", "-q"], 1)  # after --: an argument
    with pytest.raises(ValueError, match="--quiet and --verbose together"):
        verbosity_flags(["-q", "train", "-v"])


def test_exphil_train_quiet_normal_verbose():
    normal, quiet, verbose = exphil(*TRAIN), exphil("--quiet", *TRAIN), exphil(*TRAIN, "-v")
    for run in (normal, quiet, verbose):
        assert run.returncode == 0, run.stderr[-2000:]
        assert "trained in" in run.stdout and "PPO (trained)" in run.stdout  # the summary, always
    progress = ("threads: torch", "steps/s  ", "evaluated 2 games")
    assert all(p in normal.stdout for p in progress), normal.stdout
    assert not any(p in quiet.stdout for p in progress), quiet.stdout
    assert len(quiet.stdout.splitlines()) < len(normal.stdout.splitlines()) < len(verbose.stdout.splitlines())
    assert '"opponent": "scripted:1"' in verbose.stdout and '"opponent"' not in normal.stdout  # every setting
    assert not quiet.stderr.strip(), quiet.stderr


def test_bc_train_and_replays_build_quiet(replays_dir, tmp_path):
    folder = replays_dir / "peppi"
    bc = ["bc", "train", "--preset", "quick", "--optim.steps", "20", "--data.replays", folder,
          "--data.cache", tmp_path / "cache", "--runtime.checkpoints", tmp_path / "ck",
          "--runtime.eval-every", "10", "--runtime.no-tensorboard"]  # fmt: skip
    quiet = exphil("-q", *bc)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "done: 20 steps" in quiet.stdout and "step 10/20" not in quiet.stdout and "training" not in quiet.stdout
    normal = exphil(*bc, "--runtime.name", "again")
    assert "step 10/20" in normal.stdout and "threads:" in normal.stdout
    build = ["replays", "build", folder, "--cache", tmp_path / "cache2", "--workers", "0"]
    quiet, verbose = exphil(*build, "--quiet"), exphil(*build, "--verbose")
    assert quiet.stdout.startswith("dataset ") and "encoding replays" not in quiet.stdout + quiet.stderr
    assert "  cached     " in verbose.stdout  # every file, with what the build did with it
    bad = exphil("--quiet", "replays", "stats", tmp_path / "missing")  # errors still print, quiet or not
    assert bad.returncode != 0 and "missing" in bad.stderr
