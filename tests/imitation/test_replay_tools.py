import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from imitation import replay_tools as tools
from imitation.quality import score
from melee_envs.backends.replay import read_replay
from melee_envs.state import mirror_x


def exphil(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "exphil", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def entries(replays_dir):
    return tools.scan(replays_dir, workers=2)


def test_scan_reads_everything_once(entries, replays_dir):
    assert len(entries) == 47
    bad = sorted(os.path.basename(e.path) for e in entries if e.error)
    assert bad == sorted(p.name for p in (replays_dir / "bad").iterdir())
    quick = tools.scan(replays_dir / "bad", deep=False)
    # Header checks alone catch the non-replays and unfinished files, not a bad game-end block.
    assert sorted(os.path.basename(e.path) for e in quick if e.error) == [
        "libmelee_corrupt_game_1.slp", "libmelee_corrupt_game_2.slp", "peppi_corrupt.slp", "slippi-js_incomplete.slp",
    ]  # fmt: skip


def test_stats_tables(entries):
    tables = tools.stats(entries)
    summary = dict(tables["Summary"])
    assert summary["files"] == "47" and summary["readable games"] == "42" and summary["singles (1v1)"] == "38"
    stage_rows = {name: int(count) for name, count, _ in tables["Stages"]}
    assert stage_rows == {
        "FINAL_DESTINATION": 20, "BATTLEFIELD": 9, "YOSHIS_STORY": 6,
        "POKEMON_STADIUM": 3, "FOUNTAIN_OF_DREAMS": 2, "DREAMLAND": 2,
    }  # fmt: skip
    chars = {name: int(count) for name, count, _ in tables["Characters (players)"]}
    assert chars["FOX"] == 16 and chars["POPO (Ice Climbers) (CPU)"] == 2
    assert sum(int(c) for _, c, _ in tables["Durations"]) == 42
    assert {name for name, _, _ in tables["Slippi versions"]} >= {"3.14.0", "0.1.0", "2.0.1"}


def test_filters_take_aliases(entries):
    def names(**kwargs):
        keep = tools.Filter(**kwargs)
        return sorted(os.path.basename(e.path) for e in entries if keep.matches(e))

    assert names(characters=("puff",), stages=("ys",)) == ["v2.0.slp"]
    assert names(characters=("ics",), humans_only=True) == ["Game_20221227T212019.slp"]
    assert names(characters=("gnw",)) == ["gnwActions.slp"]
    assert names(players=("nut#356",)) == [
        f"Game_2022122{d}.slp" for d in ("7T193443", "7T205720", "7T212019", "8T031427")
    ]
    falco_vs_peach = names(characters=("falco",), opponents=("peach",), stages=("fd",))
    assert falco_vs_peach == ["Game_20221227T205720.slp", "wavedash.slp"]
    assert len(names(singles_only=True)) == 38 and len(names(min_quality=100)) == 7
    with pytest.raises(ValueError, match="unknown stage 'moon'"):
        tools.Filter(stages=("moon",))


def test_duplicates_find_copies_and_other_recordings(replays_dir, tmp_path):
    src = replays_dir / "slippistats" / "Game_20221227T212019.slp"
    shutil.copy(src, tmp_path / "a.slp")
    shutil.copy(src, tmp_path / "b.slp")
    shutil.copy(replays_dir / "peppi" / "v2.0.slp", tmp_path / "c.slp")
    # Another recording of the same game differs in bytes but not in seed, stage, players, length.
    data = bytearray(src.read_bytes())
    data[-40:] = bytes(40)  # metadata tail changed
    (tmp_path / "other_recording.slp").write_bytes(bytes(data))
    entries = tools.scan(tmp_path)
    groups = {kind: sorted(os.path.basename(p) for p in paths) for kind, paths in tools.duplicates(entries)}
    assert groups["identical"] == ["a.slp", "b.slp"]
    if not next(e for e in entries if e.path.endswith("other_recording.slp")).error:
        assert groups["same game"] == ["a.slp", "other_recording.slp"]


def test_quality_flags_junk(replays_dir):
    good = score(read_replay(replays_dir / "slippistats" / "Game_20221227T212019.slp"))
    assert good.score == 100 and not good.issues and min(good.input_rate.values()) > 500
    afk = score(read_replay(replays_dir / "slippistats" / "fox_throws.slp"))  # a training dummy
    assert any("P2 AFK" in issue for issue in afk.issues) and afk.score < 50
    short = score(read_replay(replays_dir / "peppi" / "v3.12.slp"))
    assert short.issues == ("very short (0 s)",)
    sd = score(read_replay(replays_dir / "peppi" / "transform.slp"))
    assert sd.self_destructs[4] == 3 and any("self-destructed 3" in i for i in sd.issues)
    cpu = score(read_replay(replays_dir / "peppi" / "items.slp"))
    assert cpu.issues == ("P2 is a CPU (level 1)",) and cpu.score == 80


def test_mirror_flips_horizontal_things_only(replays_dir):
    state = read_replay(replays_dir / "peppi" / "ics.slp").state
    flipped = mirror_x(state)
    assert np.array_equal(flipped.players.x, -state.players.x)
    assert np.array_equal(flipped.players.y, state.players.y)
    assert np.array_equal(flipped.players.nana.x, -state.players.nana.x)
    assert np.allclose(flipped.players.controller.main_x, 1 - state.players.controller.main_x)
    assert np.array_equal(flipped.players.facing, -state.players.facing)
    assert np.array_equal(mirror_x(flipped).players.x, state.players.x)


def test_cli_commands(replays_dir, tmp_path):
    result = exphil("replays", "stats", replays_dir / "slippistats")
    assert result.returncode == 0 and "FALCO" in result.stdout and "POKEMON_STADIUM" in result.stdout
    result = exphil("replays", "filter", replays_dir, "--character", "puff", "--stage", "ys")
    assert result.returncode == 0 and result.stdout.strip().endswith("v2.0.slp")
    assert "1 of 47 files match" in result.stderr
    result = exphil("replays", "validate", replays_dir / "bad")
    assert result.returncode == 1 and "0 of 5 files OK" in result.stdout and "never" in result.stdout
    result = exphil("replays", "quality", replays_dir / "slippistats", "--min-score", "30")
    assert result.returncode == 0 and "0 of 6 games score under 30" in result.stdout
    cache = tmp_path / "cache"
    args = ("replays", "build", replays_dir / "peppi", "--cache", cache, "--workers", "2")
    result = exphil(*args)
    assert result.returncode == 0, result.stderr
    assert "13 built" in result.stdout and "2 skipped" in result.stdout
    assert exphil(*args).stdout.count("13 cached") == 1
    result = exphil("replays", "build", replays_dir / "peppi", "--cache", cache, "--dataset.characters", "marioo")
    assert result.returncode != 0 and "unknown character 'marioo'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = exphil("replays", "stats", tmp_path / "missing")
    assert result.returncode != 0 and "no such file or directory" in result.stderr
    result = exphil("replays", "stats", env={"EXPHIL_REPLAYS_DIR": str(tmp_path)})
    assert result.returncode == 1 and "no .slp files" in result.stderr
    result = exphil("replays", "stats", env={"EXPHIL_REPLAYS": str(tmp_path), "EXPHIL_REPLAYS_DIR": ""})  # earlier name
    assert result.returncode == 1 and "$EXPHIL_REPLAYS is now $EXPHIL_REPLAYS_DIR" in result.stderr
    result = exphil("replays", "build", tmp_path / "cache")
    assert result.returncode == 1 and "no .slp files" in result.stderr
    assert exphil("replays", "--help").returncode == 0 and exphil("replays", "build", "--help").returncode == 0


@pytest.fixture
def mixed(replays_dir, tmp_path):
    """Two readable replays and every broken one, in one folder."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("peppi/v3.18.slp", "slippi-js/lCancel.slp"):
        shutil.copy(replays_dir / name, folder / name.replace("/", "_"))
    for path in sorted((replays_dir / "bad").iterdir()):
        shutil.copy(path, folder / path.name)
    return folder


def test_fail_fast_stops_at_the_first_unreadable_file_and_names_it(mixed, tmp_path):
    first_bad = sorted(p.name for p in mixed.iterdir() if not p.name.startswith(("peppi_v3", "slippi-js_lCancel")))[0]
    for args in (("replays", "validate", mixed), ("replays", "stats", mixed, "--workers", "2"),
                 ("replays", "build", mixed, "--cache", tmp_path / "cache", "--workers", "0")):  # fmt: skip
        result = exphil(*args, "--fail-fast")
        assert result.returncode == 1, (args, result.stderr)
        assert first_bad in result.stderr and "--fail-fast" in result.stderr, (args, result.stderr)
        assert "files OK" not in result.stdout  # it stopped: no summary of the whole folder


def test_error_log_lists_every_unreadable_file_with_its_reason(mixed, tmp_path, replays_dir):
    bad = sorted(p.name for p in (replays_dir / "bad").iterdir())
    for args in (("replays", "validate", mixed), ("replays", "build", mixed, "--cache", tmp_path / "cache")):
        log = tmp_path / f"{args[1]}.errors.tsv"
        result = exphil(*args, "--error-log", log)
        assert result.returncode in (0, 1), result.stderr
        rows = [line.split("\t") for line in log.read_text().splitlines()]
        assert sorted(os.path.basename(path) for path, _ in rows) == bad, rows
        assert all(reason.strip() for _, reason in rows)
    clean = tmp_path / "clean.tsv"
    assert exphil("replays", "validate", replays_dir / "peppi" / "v3.18.slp", "--error-log", clean).returncode == 0
    assert clean.read_text() == ""
