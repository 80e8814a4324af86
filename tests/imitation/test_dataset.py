import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import imitation.build as build_module
from imitation import DatasetConfig, ReplayDataset, build_dataset
from melee_envs.backends.replay import ReplayError, read_replay, reader as reader_module
from melee_envs.controller import ControllerCodec
from melee_envs.obs import ObsConfig, ObservationEncoder

GOOD = [
    "peppi/v3.18.slp",
    "slippi-js/lCancel.slp",
    "peppi/ics.slp",
    "slippistats/Game_20221227T193443.slp",  # rollback frames
    "slippi-js/doubles.slp",  # 4 players: skipped
]


@pytest.fixture
def mixed_dir(replays_dir, tmp_path):
    """Good replays, the bad/ folder, truncated and empty copies, a non-replay, a subfolder."""
    src = tmp_path / "replays"
    (src / "sub").mkdir(parents=True)
    for i, name in enumerate(GOOD):
        shutil.copy(replays_dir / name, src / ("sub" if i % 2 else "") / name.replace("/", "_"))
    shutil.copytree(replays_dir / "bad", src / "bad")
    data = (replays_dir / GOOD[1]).read_bytes()
    (src / "truncated.slp").write_bytes(data[: len(data) // 3])
    (src / "empty.slp").write_bytes(b"")
    (src / "notes.slp").write_text("not a replay\n")
    (src / "readme.txt").write_text("ignored: not .slp\n")
    return src


def test_batch_skips_bad_files_and_keeps_every_good_one(mixed_dir, tmp_path):
    report = build_dataset(mixed_dir, tmp_path / "cache", workers=0, progress=False)
    assert len(report.built) == 4 and not report.cached
    assert [p.split("/")[-1] for p, _ in report.skipped] == ["slippi-js_doubles.slp"]
    failed = {p.split("/")[-1]: reason for p, reason in report.failed}
    assert set(failed) == {
        "libmelee_corrupt_game_1.slp", "libmelee_corrupt_game_2.slp", "peppi_corrupt.slp",
        "slippi-js_BTTDK.slp", "slippi-js_incomplete.slp", "truncated.slp", "empty.slp", "notes.slp",
    }  # fmt: skip
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert failed["empty.slp"] == "empty file" and "truncated" in failed["truncated.slp"]
    summary = report.summary()
    assert "4 built" in summary and "8 failed" in summary and "FAILED" in summary
    dataset = ReplayDataset(report.directory)
    assert len(dataset.shards) == 4 and len(dataset) == report.rows > 0


def test_rows_are_the_encoded_frames_and_next_frame_inputs(replays_dir, tmp_path):
    path = replays_dir / "slippi-js" / "lCancel.slp"
    config = DatasetConfig(dtype="float32")
    report = build_dataset(path, tmp_path / "cache", config, workers=0, progress=False)
    dataset = ReplayDataset(report.directory)
    shard = dataset.shards[0]
    replay = read_replay(path)
    state = replay.two_players()
    first = int(np.searchsorted(state.frame, 0))
    rows = len(state.frame) - first - 1
    assert shard.segments.tolist() == [[0, rows, 1, 0, 22, 0], [rows, rows, 2, 22, 0, 0]]  # Mario, Falco
    encoder = ObservationEncoder(config.obs)
    codec = ControllerCodec()
    for ego in (0, 1):
        expected = encoder.encode(state[first : first + rows], ego)
        assert np.array_equal(shard.obs[ego * rows : (ego + 1) * rows], expected)
        controller = state[first + 1 : first + 1 + rows].players.controller
        target = codec.encode(type(controller)(*(a[:, ego] for a in controller)))
        assert np.array_equal(shard.actions[ego * rows : (ego + 1) * rows], target)
    obs, actions = dataset[rows + 5]
    assert np.array_equal(obs, expected[5]) and actions.dtype == np.int64


def test_cache_is_reused_keyed_by_config_and_content(mixed_dir, tmp_path):
    cache = tmp_path / "cache"
    first = build_dataset(mixed_dir, cache, workers=0, progress=False)
    shutil.copy(mixed_dir / "peppi_v3.18.slp", mixed_dir / "sub" / "same_game_renamed.slp")
    again = build_dataset(mixed_dir, cache, workers=0, progress=False)
    assert not again.built and len(again.cached) == 4 and again.rows == first.rows
    assert [p.split("/")[-1] for p in again.duplicates] == ["same_game_renamed.slp"]
    assert len(again.failed) == 8  # reported from the record, not read again
    manifest = json.loads((first.directory / "manifest.json").read_text())
    assert len(manifest["shards"]) == 4
    mirrored = build_dataset(mixed_dir, cache, DatasetConfig(mirror=True), workers=0, progress=False)
    assert mirrored.directory != first.directory and len(mirrored.built) == 4
    assert mirrored.rows == 2 * first.rows
    assert DatasetConfig(characters=("puff",)).to_dict() == DatasetConfig(characters=("JIGGLYPUFF",)).to_dict()


def test_interrupted_build_leaves_no_half_shard_and_resumes(mixed_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real = build_module._build_one
    built = []

    def interrupt_after_two_shards(path, shard_dir, config):
        if len(built) == 2:
            raise KeyboardInterrupt
        result = real(path, shard_dir, config)
        if result[0] == "built":
            built.append(path)
        return result

    monkeypatch.setattr(build_module, "_build_one", interrupt_after_two_shards)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(mixed_dir, cache, workers=0, progress=False)
    monkeypatch.setattr(build_module, "_build_one", real)
    (directory,) = [d for d in cache.iterdir() if d.is_dir()]
    shards = directory / "shards"
    finished = [d for d in shards.iterdir() if not d.name.startswith(".")]
    assert all((d / "labels.npz").exists() and (d / "obs.npy").exists() for d in finished)
    (shards / ".deadbeef.partial").mkdir()  # as a killed writer would leave it
    (shards / ".deadbeef.partial" / "obs.npy").write_bytes(b"half")
    os.utime(shards / ".deadbeef.partial", (time.time() - 7200, time.time() - 7200))  # two hours ago
    (shards / ".cafe.writing").mkdir()  # a concurrent build writing right now: left alone
    report = build_dataset(mixed_dir, cache, workers=0, progress=False)
    assert not (shards / ".deadbeef.partial").exists() and (shards / ".cafe.writing").is_dir()
    assert len(finished) == 2 and len(report.cached) == 2 and len(report.built) == 2
    assert report.rows == len(ReplayDataset(report.directory))


def test_parser_panics_are_contained(replays_dir, tmp_path, monkeypatch):
    class PanicException(BaseException):
        """Stands in for pyo3's PanicException, which derives from BaseException."""

    from peppi_py import _peppi

    def panic(path, skip_frames):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(_peppi, "read_slippi", panic)
    with pytest.raises(ReplayError, match="peppi-py cannot parse it: called `Option::unwrap"):
        reader_module.read_replay(replays_dir / "peppi" / "v3.18.slp")
    status, reason, rows = build_module._build_one(str(replays_dir / "peppi" / "v3.18.slp"), str(tmp_path / "s"), {})
    assert status == "failed" and "unwrap" in reason and rows == 0


def test_worker_processes_give_the_same_dataset(mixed_dir, tmp_path):
    serial = build_dataset(mixed_dir, tmp_path / "a", workers=0, progress=False)
    parallel = build_dataset(mixed_dir, tmp_path / "b", workers=2, progress=False)
    assert sorted(map(str, serial.failed)) == sorted(map(str, parallel.failed))
    a, b = ReplayDataset(serial.directory), ReplayDataset(parallel.directory)
    assert len(a) == len(b)
    for sa, sb in zip(a.shards, b.shards, strict=True):
        assert np.array_equal(sa.obs, sb.obs) and np.array_equal(sa.actions, sb.actions)


def test_filters_mirror_and_sampling(replays_dir, tmp_path):
    path = replays_dir / "slippi-js" / "lCancel.slp"  # Mario vs Falco
    only = build_dataset(path, tmp_path / "c", DatasetConfig(characters=("falco",)), workers=0, progress=False)
    segments = ReplayDataset(only.directory).shards[0].segments
    assert segments[:, 3].tolist() == [22]
    none = build_dataset(path, tmp_path / "c", DatasetConfig(characters=("puff",)), workers=0, progress=False)
    assert "no player matches" in none.skipped[0][1]
    config = DatasetConfig(mirror=True, dtype="float32")
    data = ReplayDataset(build_dataset(path, tmp_path / "m", config, workers=0, progress=False).directory)
    seg = data.shards[0].segments
    assert seg[:, 5].tolist() == [0, 0, 1, 1]
    layout = ObservationEncoder(config.obs).layout
    x = layout["player0.x"].start
    plain, flipped = data.shards[0].obs[: seg[0, 1]], data.shards[0].obs[seg[2, 0] : seg[2, 0] + seg[2, 1]]
    assert np.allclose(flipped[:, x], -plain[:, x])
    acts, acts_m = data.shards[0].actions[: seg[0, 1]], data.shards[0].actions[seg[2, 0] : seg[2, 0] + seg[2, 1]]
    assert np.array_equal(acts_m[:, 8], 16 - acts[:, 8]) and np.array_equal(acts_m[:, 9], acts[:, 9])
    rng = np.random.default_rng(0)
    obs, actions = data.sample(64, rng)
    assert obs.shape == (64, data.obs_size) and actions.shape == (64, 13)
    obs, actions = data.windows(8, 30, rng)
    frame = layout["spatial"].start + 3
    steps = np.diff(obs[:, :, frame], axis=1) * 28800
    assert obs.shape == (8, 30, data.obs_size) and np.allclose(steps, 1, atol=1e-2)


def test_bad_config_and_sources(tmp_path):
    with pytest.raises(ValueError, match="unknown character 'marioo'"):
        build_dataset(tmp_path, tmp_path / "cache", DatasetConfig(characters=("marioo",)), progress=False)
    with pytest.raises(ValueError, match="dtype"):
        DatasetConfig(dtype="int8").validate()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        build_dataset(tmp_path / "nowhere", tmp_path / "cache", progress=False)
    with pytest.raises(FileNotFoundError, match="build the dataset first"):
        ReplayDataset(tmp_path)


def test_float16_conversion_matches_numpy_bit_for_bit():
    from imitation.dataset import to_float16

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32)
    special = np.array(
        [0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 1 / 3]
    )
    values = np.concatenate([bits.view(np.float32), special.astype(np.float32)]).reshape(-1, 7)
    ours = np.empty(values.shape, np.uint16)
    to_float16(values, ours)
    with np.errstate(all="ignore"):
        expected = values.astype(np.float16)
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(ours.view(np.float16)), nan)
    assert np.array_equal(ours[~nan], expected.view(np.uint16)[~nan])


def _corrupt_x_position(data: bytes, value: float, every: int = 500) -> bytes:
    """A copy of a .slp whose post-frame x position (offset 0xA of event 0x38, big-endian float,
    as in the public Slippi replay spec) is ``value`` in every ``every``-th post-frame event: the
    file still parses."""
    out = bytearray(data)
    start = data.index(b"raw[$U#l") + 12  # UBJSON 'raw' array: 4-byte length, then the events
    assert out[start] == 0x35
    size = out[start + 1]
    sizes = {0x35: size}
    for k in range(start + 2, start + 1 + size, 3):
        sizes[out[k]] = struct.unpack(">H", out[k + 1 : k + 3])[0]
    pos, seen = start, 0
    while pos < len(out) and out[pos] in sizes:
        cmd = out[pos]
        if cmd == 0x38:
            seen += 1
            if seen % every == 0:
                out[pos + 0xA : pos + 0xE] = struct.pack(">f", value)
        if cmd == 0x39:  # game end
            break
        pos += 1 + sizes[cmd]
    assert seen > every
    return bytes(out)


def test_a_damaged_replay_that_still_parses_is_named_and_skipped(replays_dir, tmp_path):
    src = tmp_path / "replays"
    src.mkdir()
    shutil.copy(replays_dir / GOOD[0], src / "good.slp")
    (src / "damaged.slp").write_bytes(_corrupt_x_position((replays_dir / GOOD[1]).read_bytes(), 2e36))
    assert read_replay(src / "damaged.slp").state.frame.size  # it parses
    report = build_dataset(src, tmp_path / "cache", workers=0, progress=False)
    assert report.built == [str(src / "good.slp")]
    ((path, reason),) = report.failed
    assert path == str(src / "damaged.slp") and reason.startswith("impossible value 2e+36 in x of player"), reason
    assert "the file is damaged" in reason
    dataset = ReplayDataset(report.directory)
    assert np.isfinite(dataset.shards[0].obs).all() and np.abs(dataset.shards[0].obs.astype(np.float32)).max() < 1e5


def test_a_full_disk_is_not_remembered_as_a_bad_replay(replays_dir, tmp_path):
    """A real write failure: the build runs in a process whose files may not grow past 64 KiB
    (RLIMIT_FSIZE, as a full disk would stop it): the shards fail, the replays are not recorded as
    failed, and the next build (with room) builds them without --retry-failed."""
    src = tmp_path / "replays"
    src.mkdir()
    for name in GOOD[:2]:
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        from imitation import build_dataset
        report = build_dataset({str(src)!r}, {str(cache)!r}, workers=0, progress=False)
        print(report.summary())
    """)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, preexec_fn=small_files,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 failed" in proc.stdout and proc.stdout.count("could not write its shard") == 2, proc.stdout
    assert "not recorded: tried again on the next build" in proc.stdout
    report = build_dataset(src, cache, workers=0, progress=False)
    assert len(report.built) == 2 and not report.failed, report.summary()


def test_a_cut_or_incomplete_cached_shard_is_rebuilt_and_named(replays_dir, tmp_path):
    src = tmp_path / "replays"
    src.mkdir()
    for name in GOOD[:3]:
        shutil.copy(replays_dir / name, src / name.replace("/", "_"))
    cache = tmp_path / "cache"
    first = build_dataset(src, cache, workers=0, progress=False)
    shards = sorted((first.directory / "shards").iterdir())
    cut = shards[0] / "obs.npy"
    cut.write_bytes(cut.read_bytes()[:-1000])  # cut short (a full disk, a copy stopped half way)
    (shards[1] / "labels.npz").unlink()  # a shard folder missing a file
    with pytest.raises(ValueError, match=r"cached shard .*/shards/\w+ is damaged \(.*run the build again"):
        ReplayDataset(first.directory)
    again = build_dataset(src, cache, workers=0, progress=False, retry_failed=True)
    assert len(again.repaired) == 1 and "obs.npy is" in again.repaired[0][1], again.summary()
    assert len(again.built) == 2 and len(again.cached) == 1 and not again.failed, again.summary()
    assert "rebuilt" in again.summary()
    dataset = ReplayDataset(again.directory)
    assert len(dataset) == first.rows == again.rows


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_a_build_leaves_no_worker_running(replays_dir, tmp_path, sig):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to find the build's worker processes")
    src = tmp_path / "replays"
    src.mkdir()
    for k, path in enumerate(sorted(p for p in replays_dir.rglob("*.slp") if "bad" not in p.parts)):
        shutil.copy(path, src / f"{k}.slp")
    cli = [sys.executable, "-m", "exphil", "replays", "build", str(src), "--cache", str(tmp_path / "c"),
           "--workers", "2"]  # fmt: skip
    build = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _children(build.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the build never started its workers"
        build.send_signal(sig)
        build.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() and _running(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], f"workers outlived the build ({sig.name})"
    finally:
        build.kill()


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_unreadable_folder_is_reported_not_skipped_silently(replays_dir, tmp_path):
    """A folder the OS refuses to list, for any user (root reads past permissions): one nested so
    deep that its path is longer than PATH_MAX, so listing it fails with ENAMETOOLONG."""
    src = tmp_path / "replays"
    src.mkdir()
    shutil.copy(replays_dir / GOOD[0], src / "a.slp")
    fd = os.open(src, os.O_RDONLY)
    try:
        for _ in range(25):  # 25 x 200 characters > 4096
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    report = build_dataset(src, tmp_path / "cache", workers=0, progress=False)
    assert len(report.built) == 1
    ((folder, reason),) = report.failed
    assert folder.startswith(str(src / ("d" * 200))) and reason.startswith("cannot read this folder: "), reason
    assert "FAILED" in report.summary()


def test_player_styles_fill_the_name_slot_for_tagged_replays(replays_dir, tmp_path):
    """Each example carries its player's style id in the observation's player-name slot: a
    registry's fixed id for the names it lists, a stable hash for the others, nothing for a
    player with no name; the build reports every name it saw."""
    import dataclasses

    from imitation.players import PlayerRegistry

    folder = tmp_path / "replays"
    folder.mkdir()
    for name in ("slippistats/Game_20221227T193443.slp", "slippistats/Game_20221227T205720.slp", "peppi/v3.18.slp"):
        (folder / name.replace("/", "_")).write_bytes((replays_dir / name).read_bytes())
    obs = dataclasses.replace(ObsConfig.learned(), player_names=16)
    config = DatasetConfig(obs=obs, player_styles=16, style_ids=(("nut#356", 5),))
    report = build_dataset(folder, tmp_path / "cache", config, workers=0, progress=False)
    registry = PlayerRegistry(16, {"nut#356": 5})
    assert report.styles["nut#356"] == 5  # the fixed id
    assert report.styles["fizz#375"] == registry.style_id(["FIZZ#375"]) != 0  # hashed, stable
    names = ObservationEncoder(obs).layout["names"]
    dataset = ReplayDataset(report.directory)
    tagged = untagged = 0
    for shard in dataset.shards:
        block = np.asarray(shard.obs[:, names], np.float32)
        styles = set(shard.info.get("styles", {}).values())
        if styles:  # every example of a named player: exactly one id set, and it is a player's id
            assert (block.sum(1) == 1).all(), shard.info["source"]
            assert set(np.flatnonzero(block.any(0))) == styles
            tagged += 1
        else:  # nobody named: the slot stays empty
            assert not block.any(), shard.info["source"]
            untagged += 1
    assert (tagged, untagged) == (2, 1)
    with pytest.raises(ValueError, match="player_styles=16 needs an observation"):
        DatasetConfig(player_styles=16).validate()
    with pytest.raises(ValueError, match="player ids must be 1..15"):
        PlayerRegistry(16, {"x": 16})
