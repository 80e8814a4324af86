"""The benchmark commands run end to end and report every setting (figures are not checked:
speed is measured by running them, see docs/benchmarks.md)."""

import math

from melee_envs.bench_threads import ThreadBenchConfig, run as run_threads
from melee_envs.bench_vector import VectorBenchConfig, run as run_vector

SETTINGS = {"alone", "torch", "torch, 1 torch thread", "memory pass", "python pass", "busy"}


def test_bench_threads_reports_every_setting() -> None:
    rows = run_threads(ThreadBenchConfig(sizes=(1, 3), seconds=0.01, repeats=2, torch_batch=8, train_every=2))
    figures, policy = rows[:-1], rows[-1]["policy"]
    assert {(r["N"], r["setting"]) for r in figures} == {(n, s) for n in (1, 3) for s in SETTINGS}
    for r in figures:
        assert r["min"] <= r["median"] <= r["max"] and r["median"] > 0
        assert math.isfinite(r["vs best 1-thread"]) and r["vs 1 thread here"] > 0
    assert policy["layer"] and policy["numba_threads"] >= 1
    print(f"bench-threads ran {len(figures)} figures; policy {policy}")


def test_bench_vector_reports_every_mode() -> None:
    config = VectorBenchConfig(
        sizes=(2,), threads=(1,), presets=("learned",), seconds=0.01, repeats=1, cartpole_steps=200
    )
    rows = run_vector(config)
    modes = {r["what"] for r in rows if "N" in r}
    assert modes == {f"vector env opponent, {m}" for m in ("next_step", "same_step", "disabled")}
    assert all(r["agent-steps/s"] > 0 and r["vs ceiling"] > 0 for r in rows if "N" in r)
    print(f"bench-vector ran {len(rows)} rows")


def test_bench_vector_times_recording_with_frame_skip() -> None:
    config = VectorBenchConfig(sizes=(2,), threads=(1,), presets=("learned",), autoreset_modes=("same_step",),
                               seconds=0.01, repeats=1, cartpole_steps=200, record_games=1, frame_skip=4)  # fmt: skip
    (row,) = [r for r in run_vector(config) if "N" in r]
    assert row["recording"] > 0 and row["rec / not"] == row["recording"] / row["agent-steps/s"]
    assert isinstance(row["files"], int)


def test_bench_vector_names_an_unknown_preset() -> None:
    import pytest

    from melee_envs.bench_vector import VectorBenchConfig, run

    with pytest.raises(ValueError, match="unknown \\['compact'\\]; choose from learned, default, seed_1204"):
        run(VectorBenchConfig(presets=("compact",)))


def test_bench_env_times_recording_beside_plain_play():
    from melee_envs.bench import BenchConfig, run

    results = run(BenchConfig(steps=3000, batch_games=0))
    (recording,) = [k for k in results if k.startswith("  recording them (")]
    assert int(recording.split("(")[1].split()[0]) >= 1  # at least one game ended and was written
    assert results["Melee-v0 1-stock games steps/s"] > 0 and 0 < results["  recording / not"] < 5
