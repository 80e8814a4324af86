"""``exphil bench backbones``: every backbone trained on the same replays, its JSON, its HTML
report rendered by a real browser, reuse of finished rows, and failures reported, not fatal."""

import base64
import json
import re
import shutil
import subprocess
import sys

import pytest

from imitation.bench_backbones import BACKBONE_NAMES, BackboneBenchConfig
from imitation.report import COLOURS

FILES = ["peppi/v3.18.slp", "slippi-js/lCancel.slp", "peppi/netplay.slp", "slippi-js/FalcVBows-5UB-67.slp"]
TINY = ["--steps", "6", "--eval-every", "3", "--batch-size", "8", "--window", "4", "--hidden", "8",
        "--act-frames", "20", "--val-fraction", "0.3"]  # fmt: skip


@pytest.fixture(scope="module")
def replay_dir(replays_dir, tmp_path_factory):
    src = tmp_path_factory.mktemp("bench_replays")
    for name in FILES:
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    bad = sorted((replays_dir / "bad").glob("*.slp"))[0]
    shutil.copy(bad, src / f"bad_{bad.name}")  # unreadable: reported, the bench goes on
    return src


def exphil(*args):
    return subprocess.run([sys.executable, "-m", "exphil", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def bench_run(replay_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_backbones")
    out = root / "out"
    proc = exphil("bench", "backbones", "--replays", str(replay_dir), "--cache", str(root / "cache"),
                  "--out", str(out), *TINY)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


def test_every_backbone_is_trained_on_one_split_and_measured(bench_run):
    out, stdout = bench_run
    doc = json.loads((out / "backbones.json").read_text())
    assert list(doc["results"]) == list(BACKBONE_NAMES)
    assert {"cpu", "cores", "torch", "torch_threads", "python", "gpu", "memory_gib"} <= set(doc["machine"])
    assert doc["settings"]["steps"] == 6 and doc["dataset"]["failed"], doc["dataset"]  # the bad file, named
    assert doc["reference"]["median"] > 0
    params = set()
    for name, row in doc["results"].items():
        assert row["val_files"] == doc["val_files"] and len(row["val_files"]) >= 1, name
        assert [p["step"] for p in row["curve"]] == [0, 3, 6], name
        assert 0 < row["best_val_loss"] <= row["curve"][0]["val_loss"], name
        assert set(row["val_accuracy"]) == {"buttons", "main_stick", "c_stick", "shoulder"}
        assert all(0 <= a <= 1 for a in row["val_accuracy"].values())
        assert row["train_frames_per_s"] > 0 and 0 < row["act_ms"] <= row["act_p99_ms"]
        assert row["act_vs_reference"] == pytest.approx(row["act_ms"] / doc["reference"]["median"])
        params.add(row["params"])
    assert len(params) == len(BACKBONE_NAMES)  # six different networks (Jamba is not a Mamba)
    table = stdout[stdout.index("val loss") :]
    assert all(name in table for name in BACKBONE_NAMES)


def test_the_html_report_is_one_file_with_a_chart_per_measure(bench_run):
    out, _ = bench_run
    page = (out / "backbones.html").read_text()
    assert "<script" not in page and "http" not in page  # nothing to run, nothing fetched
    uris = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', page)
    assert [alt for _, alt in uris] == [
        "Validation loss", "Learning curves", "Validation accuracy", "Training speed", "Act latency",
        "Loss against latency",
    ]  # fmt: skip
    for data, alt in uris:
        svg = base64.b64decode(data).decode()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg, alt
        if alt != "Validation accuracy":  # there the backbones are in the legend
            assert all(name in svg for name in BACKBONE_NAMES), alt
    assert all(f">{name}</td>" in page or f"{name}</td>" in page for name in BACKBONE_NAMES)
    assert "Intel" in page or "AMD" in page or "cpu" in page


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def test_a_headless_browser_renders_the_report_with_its_charts(bench_run, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    from PIL import Image

    out, _ = bench_run
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2600",
         f"--screenshot={shot}", (out / "backbones.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2600)
    counts = {}
    for count, colour in image.getcolors(maxcolors=1 << 20):
        counts[colour] = counts.get(colour, 0) + count
    for name, hex_colour in COLOURS.items():  # every backbone's bars and lines are drawn
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) > 500, (name, counts.get(rgb, 0))


def test_a_second_run_reuses_finished_rows_and_keeps_other_settings_aside(replay_dir, tmp_path):
    from imitation import bench_backbones

    common = ["--replays", str(replay_dir), "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"), *TINY]
    assert exphil("bench", "backbones", *common, "--backbones", "mlp", "gru", "--no-html").returncode == 0
    first = json.loads((tmp_path / "out" / "backbones.json").read_text())
    proc = exphil("bench", "backbones", *common, "--backbones", "mlp", "attention", "--no-html")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mlp: reused" in proc.stdout
    second = json.loads((tmp_path / "out" / "backbones.json").read_text())
    assert set(second["results"]) == {"mlp", "gru", "attention"}  # gru kept, though not named this time
    assert second["results"]["mlp"]["reused"] and second["results"]["gru"]["reused"]
    assert second["results"]["mlp"]["best_val_loss"] == first["results"]["mlp"]["best_val_loss"]
    assert "reused" not in second["results"]["attention"]
    other = [("7" if arg == "6" else arg) for arg in common]  # --steps 7: other settings
    proc = exphil("bench", "backbones", *other, "--backbones", "mlp", "--no-html")
    assert proc.returncode == 0, proc.stderr[-2000:]
    kept = sorted((tmp_path / "out").glob("backbones-*.json"))
    assert len(kept) == 1 and set(json.loads(kept[0].read_text())["results"]) == {"mlp", "gru", "attention"}
    assert set(json.loads((tmp_path / "out" / "backbones.json").read_text())["results"]) == {"mlp"}
    assert bench_backbones.SETTINGS  # the settings that decide reuse are listed


def test_a_backbone_that_fails_is_reported_and_the_rest_still_run(replay_dir, tmp_path, monkeypatch, capsys):
    from imitation import bench_backbones

    real = bench_backbones._train_one

    def train_one(config, backbone, *args):
        if backbone == "gru":
            raise RuntimeError("out of memory (a stand-in failure)")
        return real(config, backbone, *args)

    monkeypatch.setattr(bench_backbones, "_train_one", train_one)
    config = BackboneBenchConfig(
        replays=str(replay_dir), cache=str(tmp_path / "cache"), out=tmp_path / "out", backbones=("mlp", "gru"),
        steps=4, eval_every=2, batch_size=8, window=2, hidden=8, act_frames=20, val_fraction=0.3,
    )  # fmt: skip
    assert bench_backbones.main(config) == 1
    doc = json.loads((tmp_path / "out" / "backbones.json").read_text())
    assert doc["results"]["gru"] == {"error": "RuntimeError: out of memory (a stand-in failure)"}
    assert doc["results"]["mlp"]["best_val_loss"] > 0
    page = (tmp_path / "out" / "backbones.html").read_text()
    assert "out of memory (a stand-in failure)" in page
    assert "1 backbone(s) failed: gru" in capsys.readouterr().err


def test_quiet_prints_the_table_and_what_was_left_out_only(replay_dir, tmp_path):
    common = ["--replays", str(replay_dir), "--cache", str(tmp_path / "cache"), *TINY, "--backbones", "mlp"]
    quiet = exphil("-q", "bench", "backbones", "--out", str(tmp_path / "q"), *common, "--no-html")
    normal = exphil("bench", "backbones", "--out", str(tmp_path / "n"), *common, "--no-html")
    for run in (quiet, normal):
        assert run.returncode == 0, run.stderr[-2000:]
        assert "val loss" in run.stdout and "FAILED" in run.stdout  # the table; the unreadable replay, named
    assert "mlp: training 6 steps" in normal.stdout and "mlp: training" not in quiet.stdout
    assert "threads:" not in quiet.stdout and "reference:" not in quiet.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "--steps 0"),
        (["--val-fraction", "1.5"], "--val-fraction 1.5"),
        (["--replays", "/nonexistent/replays"], "--replays /nonexistent/replays: no such folder"),
    ],
)
def test_bad_settings_are_named_before_anything_trains(args, message, tmp_path):
    proc = exphil("bench", "backbones", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out" / "backbones.json").exists()


def test_jamba_always_has_an_attention_layer():
    from exphil_agents.backbones import make_backbone

    two = make_backbone("jamba", 10, d_model=8, layers=2, window=4, d_state=4)
    assert [type(b).__name__ for b in two.blocks] == ["MambaBlock", "AttentionBlock"]
    with pytest.raises(ValueError, match="attention_every 3 with 2 layers makes no layer attention"):
        make_backbone("jamba", 10, d_model=8, layers=2, attention_every=3)
