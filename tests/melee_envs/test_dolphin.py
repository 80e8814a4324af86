"""The Dolphin backend at libmelee's real boundaries: its replay-file console, the controller
pipe, and a stand-in Dolphin (melee_envs/backends/dolphin/fake_peer.py) serving the Slippi
spectator protocol on loopback with a real replay's events."""

import itertools
import os
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import melee_envs
from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig, DolphinError
from melee_envs.backends.dolphin.backend import _stop
from melee_envs.backends.dolphin.convert import Converter
from melee_envs.backends.dolphin.fake_peer import write_stand_in
from melee_envs.backends.dolphin.pad import Pad
from melee_envs.backends.replay import read_replay
from melee_envs.controller import ControllerCodec
from melee_envs.state import PLAYER_BOOL_COLUMNS as PB, PLAYER_FLOAT_COLUMNS as PF, PackedState

SPEEDS = ("speed_air_x", "speed_y", "speed_ground_x", "speed_attack_x", "speed_attack_y")

pytestmark = pytest.mark.dolphin
_ports = itertools.count(52000)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Paths to a stand-in Dolphin executable and a dummy image; returns a config factory."""
    exe = write_stand_in(tmp_path)
    iso = tmp_path / "melee.iso"
    iso.write_bytes(b"stand-in image")

    def make(replay, mode="stream", **kwargs):
        monkeypatch.setenv("EXPHIL_FAKE_REPLAY", str(replay))
        monkeypatch.setenv("EXPHIL_FAKE_MODE", mode)
        kwargs.setdefault("controls", ("bot", "bot"))
        return DolphinConfig(dolphin_path=str(exe), iso_path=str(iso), slippi_port=next(_ports), **kwargs)

    return make


def test_config_names_missing_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("EXPHIL_DOLPHIN_PATH", raising=False)
    monkeypatch.delenv("EXPHIL_ISO_PATH", raising=False)
    with pytest.raises(DolphinError, match="EXPHIL_DOLPHIN_PATH"):
        DolphinConfig().resolved()
    with pytest.raises(DolphinError, match=f"Dolphin not found at {tmp_path}/nope"):
        DolphinConfig(dolphin_path=str(tmp_path / "nope")).resolved()
    monkeypatch.setenv("EXPHIL_DOLPHIN_PATH", str(tmp_path))
    with pytest.raises(DolphinError, match="EXPHIL_ISO_PATH"):
        DolphinConfig().resolved()
    monkeypatch.setenv("EXPHIL_ISO_PATH", str(tmp_path / "melee.iso"))
    with pytest.raises(DolphinError, match=f"game image not found at {tmp_path}/melee.iso"):
        DolphinConfig().resolved()
    (tmp_path / "melee.iso").write_bytes(b"x")
    assert DolphinConfig().resolved().iso_path == str(tmp_path / "melee.iso")
    with pytest.raises(ValueError, match="cpu_levels must be 1-9"):
        DolphinConfig(cpu_levels=(0, 0)).resolved()
    with pytest.raises(ValueError, match="ports must be two different ports"):
        DolphinConfig(ports=(1, 1)).resolved()
    with pytest.raises(ValueError, match="unknown character 'mewthree'"):
        DolphinConfig(characters=("fox", "mewthree")).resolved()


@pytest.mark.slow
def test_libmelee_gamestates_convert_to_the_replay_readers_values(replays_dir):
    melee = pytest.importorskip("melee")
    peppi = pytest.importorskip("peppi_py._peppi")
    compared = 0
    for path in sorted(p for p in replays_dir.rglob("*.slp") if "bad" not in p.parts and p.name != "doubles.slp"):
        replay = read_replay(path)
        ports = replay.meta.ports[:2]
        expected = PackedState.from_state(replay.two_players(ports))
        row = {int(f): i for i, f in enumerate(replay.state.frame)}
        ids, counts = np.unique(peppi.read_slippi(str(path), False).frames.field("id").to_numpy(), return_counts=True)
        rolled_back = set(ids[counts > 1].tolist())  # libmelee keeps their first version
        # What the file does not record the reader estimates and libmelee leaves at its defaults:
        # those columns are compared only where the file records them.
        skip_f = [PF.index(n) for n in SPEEDS] if "velocities" in replay.meta.estimated else []
        skip_b = [PB.index("on_ground")] if "airborne" in replay.meta.estimated else []
        expected.pf[..., skip_f], expected.pb[..., skip_b] = 0.0, True
        converter, out = Converter(ports), PackedState((1,), 2)
        console = melee.Console(is_dolphin=False, path=str(path), allow_old_version=True)
        console.connect()
        while True:
            try:
                gs = console.step()
            except (ValueError, TypeError):
                break  # events libmelee cannot read (see test_replay_reader)
            if gs is None:
                break
            if int(gs.frame) in rolled_back:
                continue
            converter.write(gs, out)
            out.pf[..., skip_f], out.pb[..., skip_b] = 0.0, True
            i = row[int(gs.frame)]
            for name in ("pi", "pf", "pb", "ji", "jf", "jb"):
                np.testing.assert_allclose(
                    getattr(out, name)[0], getattr(expected, name)[i], atol=1e-5, err_msg=f"{path} {gs.frame} {name}"
                )
            compared += 1
    assert compared > 90_000


def test_controller_pipe_gets_the_exact_commands(fake, replays_dir):
    melee = pytest.importorskip("melee")
    config = fake(replays_dir / "slippistats" / "wavedash.slp").resolved()
    console = melee.Console(path=config.dolphin_path, slippi_port=config.slippi_port, fullscreen=False)
    try:
        controller = melee.Controller(console, 1)
        received = []
        reader = threading.Thread(target=lambda: received.append(Path(controller.pipe_path).read_text()))
        reader.start()
        controller.connect()
        codec = ControllerCodec()
        pad = Pad(controller, codec)
        jump = codec.noop()
        jump[2] = 1  # X
        dash_right = codec.noop()
        dash_right[8] = 16  # main stick x = 1.0
        shield = codec.noop()
        shield[6], shield[12] = 1, 4  # R, full analog shoulder
        for action in (codec.noop(), jump, dash_right, shield):
            pad.send(action)
            controller.flush()  # what Console.step does once per frame
        controller.disconnect()
        reader.join(5)
    finally:
        _stop(console)

    def stick(v):  # libmelee's analog fix-up: the raw value [-80, 80], nudged over the threshold
        return (round((v - 0.5) * 160) + 0.1) / 254 + 0.5

    def trigger(v):
        return (round(v * 140) + 0.1) / 255

    first = "".join(f"RELEASE {b}\n" for b in "A B X Y Z L R D_UP".split())
    first += f"SET MAIN {stick(0.5)} {stick(0.5)}\nSET C {stick(0.5)} {stick(0.5)}\nSET L {trigger(0.0)}\nFLUSH\n"
    expected = first + "PRESS X\nFLUSH\n" + f"RELEASE X\nSET MAIN {stick(1.0)} {stick(0.5)}\nFLUSH\n"
    expected += f"PRESS R\nSET MAIN {stick(0.5)} {stick(0.5)}\nSET L {trigger(1.0)}\nFLUSH\n"
    assert received == [expected]


def test_whole_game_through_the_fake_dolphin(fake, replays_dir):
    path = replays_dir / "slippistats" / "wavedash.slp"
    replay = read_replay(path)
    backend = DolphinBackend(fake(path, characters=("falco", "peach")))
    try:
        state = backend.reset()
        assert int(state.frame[0]) == -123
        home = Path(backend.console.dolphin_home_path)
        process = backend.console._process
        frames, timings = 1, []
        codec = ControllerCodec()
        while not backend.done[0]:
            start = time.perf_counter()
            state = backend.step(np.stack([codec.noop(), codec.noop()])[None])
            timings.append(time.perf_counter() - start)
            if not backend.done[0]:
                i = frames
                assert int(state.frame[0]) == int(replay.state.frame[i])
                assert np.allclose(state.players.x[0], replay.state.players.x[i])
                assert np.array_equal(state.players.action[0], replay.state.players.action[i])
                frames += 1
        assert frames == len(replay)
        time.sleep(0.3)
        log = (home / "pipe1.log").read_text()
        assert log.count("FLUSH\n") >= len(replay) - 1  # one flush per frame the bot played
        assert backend.step() is backend.state  # after the end, nothing moves
    finally:
        backend.close()
    assert process.poll() is not None  # no orphan emulator
    backend.close()  # twice is fine


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("silent", "no frame from Dolphin for 1.5 s"),
        ("drop", "lost the connection to Dolphin"),
        ("exit", "exited at start with code 3"),
        ("late_exit", "exited at start with code 3"),
    ],
)
def test_silent_dropped_or_dead_dolphin_is_a_clear_error(fake, replays_dir, mode, message):
    backend = DolphinBackend(fake(replays_dir / "slippistats" / "wavedash.slp", mode, frame_timeout_s=1.5))
    start = time.monotonic()
    try:
        with pytest.raises(DolphinError, match=message):
            backend.reset()
            for _ in range(500):
                backend.step()
    finally:
        backend.close()
    assert time.monotonic() - start < 30


def test_melee_v0_on_the_dolphin_backend(fake, replays_dir):
    config = fake(replays_dir / "slippistats" / "wavedash.slp")
    kwargs = {f: getattr(config, f) for f in ("dolphin_path", "iso_path", "slippi_port", "controls")}
    env = gym.make("Melee-v0", backend="dolphin", dolphin=kwargs, characters=("falco", "peach"), opponent="idle")
    try:
        obs, _ = env.reset()
        assert obs.shape == env.observation_space.shape
        steps, done = 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
            steps += 1
        assert steps == 1002 and terminated  # 1,001 frames, then the post-game menu and "episode" in info
    finally:
        env.close()
    with pytest.raises(TypeError, match="unknown dolphin setting"):
        gym.make("Melee-v0", backend="dolphin", dolphin={"iso": "x"})
    assert melee_envs  # registered ids in use
    assert os.environ.get("EXPHIL_FAKE_MODE") == "stream"


def test_runners_play_a_whole_game(fake, replays_dir):
    from melee_envs.backends.dolphin.runners import run_async, run_sync

    path = replays_dir / "slippistats" / "wavedash.slp"
    codec = ControllerCodec()
    seen = []

    def policy(state):
        seen.append(int(state.frame[0]))
        return np.stack([codec.noop(), codec.noop()])

    backend = DolphinBackend(fake(path))
    try:
        stats = run_sync(backend, policy, action_repeat=2)
    finally:
        backend.close()
    assert stats.done and stats.frames == 1002 and stats.late_frames == 0 and stats.decisions == 501
    assert seen[:3] == [-123, -121, -119]  # every second frame with action_repeat=2

    def slow(state):
        time.sleep(0.002)  # slower than the stand-in streams frames
        return np.stack([codec.noop(), codec.noop()])

    backend = DolphinBackend(fake(path))
    try:
        stats = run_async(backend, slow)
    finally:
        backend.close()
    assert stats.done and stats.frames == 1002
    assert stats.late_frames > 0 and stats.decisions > 10  # late frames counted; the policy still played
    assert "late" in stats.summary()


def test_parallel_instances(fake, replays_dir):
    from melee_envs.backends.dolphin.runners import dolphin_vec_env

    config = fake(replays_dir / "slippistats" / "wavedash.slp")
    # spawn: workers see this process's environment now (EXPHIL_FAKE_REPLAY); a forkserver that an
    # earlier test started would hand them the environment it was started with
    venv = dolphin_vec_env(2, config, start_method="spawn", characters=("falco", "peach"), opponent="idle")
    try:
        obs = venv.reset()
        assert obs.shape[0] == 2
        for _ in range(30):
            obs, rewards, dones, infos = venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
        assert not dones.any() and np.allclose(obs[0], obs[1])  # both instances stream the same game
    finally:
        venv.close()
    with pytest.raises(ValueError, match="cannot share one user_dir"):
        dolphin_vec_env(2, DolphinConfig(user_dir="/tmp/x"))


def test_close_does_not_wait_on_unread_frames(fake, replays_dir):
    backend = DolphinBackend(fake(replays_dir / "slippistats" / "Game_20221227T205720.slp"))
    backend.reset()
    for _ in range(5):
        backend.step()
    time.sleep(1.0)  # the stand-in has streamed the whole game meanwhile; nobody reads it
    process = backend.console._process
    start = time.monotonic()
    backend.close()
    assert time.monotonic() - start < 10 and process.poll() is not None


def test_play_command_with_a_checkpoint(fake, replays_dir, tmp_path):
    import subprocess
    import sys

    from exphil_agents.network import PolicyNetwork, save_checkpoint

    config = fake(replays_dir / "slippistats" / "wavedash.slp")
    save_checkpoint(PolicyNetwork("attention", {"d_model": 16, "window": 4}), tmp_path / "best" / "model.safetensors")
    checkpoint = tmp_path / "best"  # a BC checkpoint folder, as exphil bc train writes it
    args = ["play", "--checkpoint", checkpoint, "--dolphin-path", config.dolphin_path, "--iso-path", config.iso_path]
    args += [
        "--slippi-port",
        str(config.slippi_port),
        "--game.character",
        "falco",
        "--game.opponent-character",
        "peach",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "exphil", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "game 1: 1002 frames" in result.stdout and "fps" in result.stdout and "late" in result.stdout
    assert "compiled its per-frame step" in result.stdout  # exphil play compiles the agent by default
    bad = subprocess.run(
        [sys.executable, "-m", "exphil", "play", "--checkpoint", tmp_path / "nope.zip"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "nope.zip: no such checkpoint" in bad.stderr


def test_rematch_walks_the_menus_and_gives_up_clearly(fake, replays_dir):
    # After the game the stand-in stays on a post-game screen: the rematch has to navigate menus
    # (the bots' pads press through them) and, with nothing changing, must stop at the deadline.
    backend = DolphinBackend(fake(replays_dir / "peppi" / "v3.13.slp", menu_timeout_s=2.0, ports=(1, 3)))
    try:
        backend.reset()
        while not backend.done[0]:
            backend.step()
        start = time.monotonic()
        with pytest.raises(DolphinError, match=r"stuck in the menus \(UNKNOWN_MENU\) for 2 s"):
            backend.reset()
        assert time.monotonic() - start < 10
    finally:
        backend.close()


def test_input_delay_holds_actions_back(fake, replays_dir):
    backend = DolphinBackend(fake(replays_dir / "slippistats" / "wavedash.slp", input_delay=3))
    codec = ControllerCodec()
    press_a = codec.noop()
    press_a[0] = 1
    try:
        backend.reset()
        home = Path(backend.console.dolphin_home_path)
        time.sleep(0.3)
        before = len((home / "pipe1.log").read_text())
        for _ in range(6):
            backend.step(np.stack([press_a, codec.noop()])[None])
        time.sleep(0.3)
        frames = (home / "pipe1.log").read_text()[before:].split("FLUSH\n")
    finally:
        backend.close()
    # One flush per step: three neutral frames, then A (held, so pressed once).
    assert [("PRESS A" in f) for f in frames[:6]] == [False, False, False, True, False, False], frames[:7]


def test_tournament_on_dolphin_with_the_games_cpu(fake, replays_dir, tmp_path):
    from exphil_agents.league.tournament import TournamentConfig, run
    from exphil_agents.network import PolicyNetwork, save_checkpoint
    from melee_envs.settings import GameSettings

    config = fake(replays_dir / "slippistats" / "wavedash.slp")
    checkpoint = save_checkpoint(PolicyNetwork("gru", {"hidden": 16}), tmp_path / "bot.safetensors")
    results = run(
        TournamentConfig(
            agents=(str(checkpoint), "cpu:7", "scripted"), games=2, backend="dolphin", out=tmp_path / "t",
            dolphin_path=config.dolphin_path, iso_path=config.iso_path, slippi_port=config.slippi_port,
            game=GameSettings("falco", "peach"), quiet=True, plots=False,
        )
    )  # fmt: skip
    assert len(results["games"]) == 6 and not results["skipped"]
    assert all(g["frames"] == 1002 for g in results["games"])  # the stand-in plays its replay to the end
    assert {r["agent"] for r in results["ratings"]} == {"bot", "cpu:7", "scripted"}


def test_a_dolphin_that_never_answers_its_version_query_is_a_clear_error(fake, replays_dir):
    config = fake(replays_dir / "slippistats" / "wavedash.slp", "mute", connect_timeout_s=2.0)
    backend = DolphinBackend(config)
    start = time.monotonic()
    try:
        with pytest.raises(DolphinError, match=r"did not answer '--version' within 2 s"):
            backend.reset()
    finally:
        backend.close()
    assert time.monotonic() - start < 15


def test_libmelee_errors_are_named_as_the_backends(fake, replays_dir):
    backend = DolphinBackend(fake(replays_dir / "slippistats" / "wavedash.slp", "odd_version"))
    try:
        with pytest.raises(DolphinError, match=r"libmelee could not set up Dolphin at .*SomeEmulator 1.0"):
            backend.reset()
    finally:
        backend.close()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_the_driving_process_stops_dolphin_and_frees_the_port(fake, replays_dir, tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import textwrap

    config = fake(replays_dir / "slippistats" / "wavedash.slp")
    script = textwrap.dedent(f"""
        import json, sys, time
        from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig
        backend = DolphinBackend(DolphinConfig(dolphin_path={config.dolphin_path!r}, iso_path={config.iso_path!r},
                                               slippi_port={config.slippi_port}, controls=("bot", "bot")))
        backend.reset()
        worker = backend.console._slippstream._worker
        print(json.dumps([backend.console._process.pid, worker.pid, backend.console.temp_dir]), flush=True)
        time.sleep(300)
    """)
    driver = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        dolphin, worker, temp = json.loads(driver.stdout.readline())
        assert _running(dolphin) and _running(worker)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 10
        # The guard stops both, then removes the folder: wait for all three (a busy machine lags).
        while time.monotonic() < deadline and (_running(dolphin) or _running(worker) or Path(temp).exists()):
            time.sleep(0.1)
        assert not _running(dolphin) and not _running(worker), "Dolphin or libmelee's worker outlived the driver"
        assert not Path(temp).exists()
    finally:
        driver.kill()
    backend = DolphinBackend(config)  # the same port works again at once
    try:
        backend.reset()
        backend.step()
    finally:
        backend.close()
