"""``exphil bench scale`` runs end to end and prints each figure beside its reference."""

import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_bench_scale_prints_bc_and_ray_figures(replays_dir, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[scale]'")
    src = tmp_path / "replays"
    src.mkdir()
    for name in ("peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp"):
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    proc = subprocess.run(
        [sys.executable, "-m", "exphil", "bench", "scale", "--replays", str(src), "--cache", str(tmp_path / "cache"),
         "--bc-steps", "5", "--repeats", "1", "--batch-size", "32", "--hidden", "16", "--calls", "5", "--games", "16",
         "--league-games", "8", "--league-rollouts", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    rates = re.findall(r"^\s+(1 process|2 processes)\s+([\d,]+)", out, re.M)
    assert [name for name, _ in rates] == ["1 process", "2 processes"] and all(
        int(r.replace(",", "")) > 0 for _, r in rates
    )
    assert re.search(r"step call \(16 games, .*\)\s+[\d.]+ ms \(one step of the 16-game env here [\d.]+ ms\)", out), out
    assert re.search(r"weight broadcast \([\d.]+ MB to 2\)\s+[\d.]+ ms \(torch.save", out), out
    assert "load" in out.splitlines()[0]
    league = re.findall(r"^\s+(local|1 worker|2 workers)\s+([\d,]+) \(.*\)\s+([\d.]+)x local", out, re.M)
    assert [mode for mode, _, _ in league] == ["local", "1 worker", "2 workers"], out
    assert all(int(rate.replace(",", "")) > 0 for _, rate, _ in league) and league[0][2] == "1.00"


def test_bench_scale_refuses_a_batch_that_does_not_split():
    from imitation.bench_scale import ScaleBenchConfig, main

    with pytest.raises(ValueError, match="--batch-size 33 does not split over --nproc 2"):
        main(ScaleBenchConfig(batch_size=33))
