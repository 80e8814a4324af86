"""Games as Slippi replays: the writer's files read back to the same state (our reader, peppi-py),
pass ``exphil replays validate``, are rejected with a clear error when cut at any byte, and
slippi-js (Slippi's own JavaScript library) reads the same game from them as our statistics."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from melee_envs.backends.replay import ReplayError, read_replay
from melee_envs.backends.replay.writer import ReplayPlayer, encode_replay, write_replay
from melee_envs.data.stages import geometry_arrays
from melee_envs.state import stack

HERE = Path(__file__).resolve().parent


def _leaves(tree, prefix=""):
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        for name, sub in zip(tree._fields, tree, strict=True):
            yield from _leaves(sub, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix, tree


def _differences(a, b, skip=()):
    out = []
    for (name, x), (_, y) in zip(_leaves(a), _leaves(b), strict=True):
        if name in skip:
            continue
        if x.shape != y.shape or not np.array_equal(x, y):
            out.append(name)
    return out


def test_every_shared_replay_reads_back_the_same_state(replays_dir, tmp_path):
    import peppi_py

    count = 0
    for path in sorted(replays_dir.rglob("*.slp")):
        if "bad" in path.parts:
            continue
        try:
            replay = read_replay(path)
        except ReplayError:
            continue
        players = [ReplayPlayer(p.port, p.netplay_name or "", "cpu" if p.kind == "cpu" else "human",
                                character=p.character) for p in replay.meta.players]  # fmt: skip
        written = write_replay(tmp_path / path.name, replay.state, players, end_method="game")
        back = read_replay(written)
        assert _differences(replay.state, back.state) == [], path
        assert back.meta.ports == replay.meta.ports and back.meta.stage == replay.meta.stage
        assert [p.character for p in back.meta.players] == [p.character for p in replay.meta.players]
        assert back.meta.slippi_version == (3, 18, 0)
        game = peppi_py.read_slippi(str(written))  # peppi-py's own public reader
        assert np.array_equal(np.asarray(game.frames.id), back.state.frame)
        written.unlink()
        count += 1
    assert count >= 35  # every readable shared replay: versions 0.1 to 3.18, doubles, Ice Climbers, items


MOCK_GAMES = [  # every legal stage, twelve characters (Ice Climbers play as Popo alone in the engine)
    (("FALCO", "MARTH"), "BATTLEFIELD"),
    (("POPO", "PEACH"), "YOSHIS_STORY"),
    (("SAMUS", "FOX"), "DREAMLAND"),
    (("PIKACHU", "LINK"), "FOUNTAIN_OF_DREAMS"),
    (("SHEIK", "JIGGLYPUFF"), "POKEMON_STADIUM"),
    (("GANONDORF", "DOC"), "FINAL_DESTINATION"),
]


def _mock_game(characters, stage, seed=3, **kwargs):
    """Play one seeded mock game frame by frame; its state over time (batch shape (frames,))."""
    import gymnasium as gym

    import melee_envs  # noqa: F401 - registers Melee-v0

    settings = {"stocks": 1, "time_limit_minutes": 0.5, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the solo Ice Climbers notice
        env = gym.make("Melee-v0", opponent="scripted", stage=stage, characters=characters, **settings)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    game = env.unwrapped.game
    frames = [game.state[0].copy()]
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        frames.append(game.state[0].copy())
        done = terminated or truncated
    env.close()
    return stack(frames), info


def _items(state, t):
    p = state.projectiles
    rows = [(int(p.type[t, k]), int(p.owner[t, k]), float(p.x[t, k]), float(p.y[t, k]), float(p.speed_x[t, k]),
             float(p.speed_y[t, k])) for k in np.flatnonzero(p.exists[t])]  # fmt: skip
    return sorted(rows)


@pytest.mark.parametrize(("characters", "stage"), MOCK_GAMES)
def test_a_mock_game_of_each_stage_reads_back_the_same(characters, stage, tmp_path):
    state, _ = _mock_game(characters, stage)
    back = read_replay(write_replay(tmp_path / "game.slp", state, first_frame=-123)).state
    assert np.array_equal(back.frame, state.frame - 123)  # Slippi numbers a game's frames from -123
    # Not in the file: items' slots (a file lists the items of a frame, the reader fills slots in
    # that order) and the ledge distance (every reader derives it from x and the stage's edge).
    assert _differences(state, back, skip={"frame", "players.ledge_distance"} | {
        f"projectiles.{f}" for f in state.projectiles._fields}) == []  # fmt: skip
    edge = float(geometry_arrays()["ground_x"][int(state.stage[0])])
    assert np.allclose(back.players.ledge_distance, edge - np.abs(state.players.x))
    assert all(_items(back, t) == _items(state, t) for t in range(len(state.frame)))


def test_a_file_cut_at_any_byte_is_rejected_with_a_clear_error(tmp_path):
    state, _ = _mock_game(("FOX", "FALCO"), "BATTLEFIELD", stocks=1, time_limit_minutes=0.05)
    data = write_replay(tmp_path / "whole.slp", state, first_frame=-123).read_bytes()
    cut = tmp_path / "cut.slp"
    # Every byte of the header, payload table, game start and first frames, every 53rd byte
    # after, and every byte of the last frames, the game end and the metadata.
    for n in sorted({*range(0, 3000), *range(3000, len(data), 53), *range(len(data) - 800, len(data))}):
        cut.write_bytes(data[:n])
        with pytest.raises(ReplayError) as err:
            read_replay(cut)
        assert str(cut) in str(err.value) and err.value.reason, n
    assert read_replay(tmp_path / "whole.slp").meta.num_frames == len(state.frame)


def test_bad_arguments_are_named(tmp_path):
    state, _ = _mock_game(("FOX", "FOX"), "FINAL_DESTINATION", time_limit_minutes=0.02)
    with pytest.raises(ValueError, match="ports must be distinct"):
        encode_replay(state, [ReplayPlayer(2), ReplayPlayer(2)])
    with pytest.raises(ValueError, match="end_method 'ko'"):
        encode_replay(state, end_method="ko")
    with pytest.raises(ValueError, match="must increase"):
        encode_replay(state[::-1])
    with pytest.raises(ValueError, match="winner 2 is not a player index"):
        encode_replay(state, winner=2)


def test_envs_record_every_finished_game(tmp_path):
    import gymnasium as gym

    from melee_envs import parallel_env

    folder = tmp_path / "replays"
    env = gym.make("Melee-v0", opponent="scripted:3", stocks=1, time_limit_minutes=0.2, record_replays=folder)
    results = []
    for seed in (1, 2):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
        results.append(info["melee"])
    env.reset(seed=3)
    env.step(env.action_space.sample())  # a game left unfinished: not written
    env.close()
    files = sorted(folder.glob("*.slp"))
    names = [f.name.split("_", 1)[1] for f in files]
    assert names == ["agent-vs-scripted-3_seed1.slp", "agent-vs-scripted-3_seed2.slp"]
    for path, result in zip(files, results, strict=True):
        meta = read_replay(path).meta
        assert meta.num_frames == result["frames"] + 1  # the first frame and one per step
        assert [p.netplay_name for p in meta.players] == ["agent", "scripted:3"]
        assert meta.winner_port == (None if result["draw"] else 1 if result["won"] else 2)
    proc = subprocess.run(
        [sys.executable, "-m", "exphil", "replays", "validate", str(folder)], capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr

    pz = parallel_env(stocks=1, time_limit_minutes=0.1, record_replays=tmp_path / "pz")
    pz.reset(seed=5)
    while pz.agents:
        pz.step({a: pz.action_space(a).sample() for a in pz.agents})
    (written,) = (tmp_path / "pz").glob("*.slp")
    assert "port_1-vs-port_2_seed5" in written.name and read_replay(written).meta.num_frames > 1

    (tmp_path / "a-file").write_text("")
    with pytest.raises(NotADirectoryError, match="record_replays=.*a-file.* is a file, not a folder"):
        gym.make("Melee-v0", record_replays=tmp_path / "a-file")


@pytest.fixture(scope="module")
def slippi_js(tmp_path_factory):
    """A folder where ``node`` finds ``@slippi/slippi-js`` (installed from the npm registry)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed (Debian: apt-get install nodejs npm; .ci/run installs them)")
    folder = tmp_path_factory.mktemp("slippi-js")
    proc = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "@slippi/slippi-js@9"], cwd=folder,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if proc.returncode:
        message = f"npm could not install @slippi/slippi-js: {proc.stderr.strip()[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI reaches the npm registry: this test must run there
        pytest.skip(message)
    shutil.copy(HERE / "js" / "slippi_stats.js", folder / "slippi_stats.js")
    return folder


def _slippi_stats(folder, *files):
    proc = subprocess.run(
        ["node", str(folder / "slippi_stats.js"), *map(str, files)], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_slippi_js_reads_the_same_game_as_our_statistics(slippi_js, record_game, tmp_path):
    path, ours = record_game(tmp_path / "replays")
    theirs = _slippi_stats(slippi_js, path)[str(path)]
    assert "error" not in theirs, theirs.get("error")
    assert theirs["version"] == "3.18.0" and theirs["playedOn"] == "exphil mock engine" and theirs["gameComplete"]
    assert [(p["index"], p["name"], p["stocks"]) for p in theirs["players"]] == [(0, "agent", 1), (1, "scripted", 1)]
    assert theirs["firstFrame"] == -123 and theirs["frames"] == ours["frames"] + 1
    assert theirs["winners"] == ([0] if ours["won"] else [] if ours["draw"] else [1])
    assert theirs["damage"]["0"] == pytest.approx(ours["damage_dealt"]) and theirs["damage"]["1"] == pytest.approx(
        ours["damage_taken"]
    )
    assert theirs["stocksLost"] == {"0": ours["stocks_lost"], "1": ours["stocks_taken"]}
    # slippi-js credits a kill when a punish ends in the opponent's death (a self-destruct is none):
    # this seeded game's stock was taken by a hit.
    assert theirs["kills"] == {"0": ours["stocks_taken"], "1": ours["stocks_lost"]}
    assert ours["stocks_lost"] + ours["stocks_taken"] == 1


def test_slippi_js_reads_the_rewritten_shared_replays_as_the_originals(slippi_js, replays_dir, tmp_path):
    originals = [replays_dir / "slippistats" / "wavedash.slp", replays_dir / "slippi-js" / "lCancel.slp"]
    rewritten = []
    for path in originals:
        replay = read_replay(path)
        players = [ReplayPlayer(p.port, p.netplay_name or "") for p in replay.meta.players]
        rewritten.append(write_replay(tmp_path / path.name, replay.state, players, end_method="game"))
    theirs = _slippi_stats(slippi_js, *originals, *rewritten)
    for original, copy in zip(originals, rewritten, strict=True):
        a, b = theirs[str(original)], theirs[str(copy)]
        for key in ("stage", "firstFrame", "frames", "kills", "damage", "stocksLost"):
            assert a[key] == b[key], (original.name, key)
        for player, counts in a["actions"].items():  # wavedashes, rolls, grabs, ... all the same
            # but the L-cancel counts: the game's L-cancel status byte is not part of a GameState
            assert {**counts, "lCancelCount": None} == {**b["actions"][player], "lCancelCount": None}
    assert any(c["lCancelCount"]["success"] for c in theirs[str(originals[1])]["actions"].values())


def _play_vector(env, steps, rows_per_game=1):
    """Step with random actions; the finished games of the recorded slots by (slot, episode)."""
    finished, episodes = {}, {}
    for _ in range(steps):
        _, _, terminated, _, info = env.step(env.action_space.sample())
        info = info.get("final_info", info)  # same_step: the ended games' info
        if "melee" not in info:
            continue
        for row in np.flatnonzero(info["_melee"])[::rows_per_game]:
            b = int(row) // rows_per_game
            episodes[b] = episodes.get(b, 0) + 1
            if terminated[row]:
                melee = info["melee"]
                finished[b, episodes[b]] = (
                    int(melee["frames"][row]),
                    bool(melee["won"][row]),
                    bool(melee["draw"][row]),
                )
    return finished


def _recorded(folder):
    """The replays in ``folder`` by (slot, episode)."""
    import re

    return {
        tuple(map(int, re.search(r"_g(\d+)-(\d+)\.slp$", path.name).groups())): path for path in folder.glob("*.slp")
    }


@pytest.mark.parametrize(
    ("mode", "frame_skip", "autoreset"),
    [("opponent", 1, "next_step"), ("self_play", 1, "next_step"), ("opponent", 3, "same_step"),
     ("self_play", 4, "next_step")],
)  # fmt: skip
def test_the_vector_env_records_every_finished_game(mode, frame_skip, autoreset, tmp_path):
    from melee_envs.envs.vector import MeleeVectorEnv

    rows_per_game = 2 if mode == "self_play" else 1
    env = MeleeVectorEnv(6 * rows_per_game, mode=mode, opponent="scripted:3", stocks=1, time_limit_minutes=0.1,
                         max_episode_steps=340 // frame_skip, frame_skip=frame_skip, autoreset_mode=autoreset,
                         record_replays=tmp_path, record_games=4)  # fmt: skip
    env.reset(seed=4)
    env.action_space.seed(0)
    finished = _play_vector(env, 2500 // frame_skip, rows_per_game)
    recorded = {key: value for key, value in finished.items() if key[0] < 4}
    files = _recorded(tmp_path)
    assert files.keys() == recorded.keys() and len(files) >= 5  # truncated games and slots past 4 are not written
    for key, path in files.items():
        frames, won, draw = recorded[key]
        replay = read_replay(path)
        assert replay.meta.num_frames == frames + 1 and replay.meta.first_frame == -123
        np.testing.assert_array_equal(replay.state.frame, np.arange(-123, frames - 122))  # no frame left out
        assert replay.meta.winner_port == (None if draw else 1 if won else 2)
    names = {"opponent": "agent-vs-scripted-3", "self_play": "port_1-vs-port_2"}[mode]
    assert all(f"_{names}_seed4_g" in path.name for path in files.values())
    recorder = env.unwrapped._recorder  # a game holds its own frames only, and none once written
    assert all(sum(len(part[0]) for part in parts) <= 400 for parts in recorder._parts)


def test_recording_keeps_every_frame_of_a_skipped_step_and_a_same_step_restart(tmp_path):
    """Self-play games with each action held 4 frames are the same games whether the env skips
    the frames (``frame_skip=4``) or is stepped 4 times per action: the replays must be equal,
    frame for frame, in every auto-reset mode."""
    from melee_envs.envs.vector import MeleeVectorEnv

    env = MeleeVectorEnv(6, mode="self_play", stocks=1, time_limit_minutes=0.05)
    env.action_space.seed(3)
    actions = [env.action_space.sample() for _ in range(60)]  # games end by the timer at step 45
    states = {}
    runs = [(1, "next_step", 1), (4, "next_step", 1), (4, "same_step", 1), (4, "disabled", 1), (4, "same_step", 2)]
    for frame_skip, autoreset, threads in runs:  # threads=2: the parallel kernel
        folder = tmp_path / f"{frame_skip}-{autoreset}-{threads}"
        env = MeleeVectorEnv(6, mode="self_play", stocks=1, time_limit_minutes=0.05, frame_skip=frame_skip,
                             autoreset_mode=autoreset, threads=threads, record_replays=folder)  # fmt: skip
        env.reset(seed=7)
        for action in actions:
            for _ in range(4 // frame_skip):
                env.step(action)
        files = _recorded(folder)
        assert sorted(files) == [(b, 1) for b in range(3)], (frame_skip, autoreset)
        states[frame_skip, autoreset, threads] = {key: read_replay(path).state for key, path in files.items()}
    reference = states.pop((1, "next_step", 1))
    for run in states.values():
        for key, state in reference.items():
            assert _differences(run[key], state) == [], key


def test_the_vector_env_records_games_that_wait_for_a_reset(tmp_path):
    from melee_envs.envs.vector import MeleeVectorEnv

    with pytest.raises(ValueError, match=r"record_games must be in 1\.\.2"):
        MeleeVectorEnv(2, record_replays=tmp_path, record_games=3)
    env = MeleeVectorEnv(2, autoreset_mode="disabled", stocks=1, time_limit_minutes=0.05, record_replays=tmp_path)
    env.reset(seed=1)
    for _ in range(200):  # both games end by the timer (180 frames) and wait
        env.step(env.action_space.sample())
    env.reset(options={"reset_mask": np.array([True, False])})  # game 0 starts again
    for _ in range(200):
        env.step(env.action_space.sample())
    assert len(list(tmp_path.glob("*.slp"))) == 3
