"""``exphil tournament --ray``: the same games and ratings as the local tournament for the same
seed, also when a worker process is killed mid-chunk (its chunk runs again; nothing is lost or
counted twice)."""

import os
import signal
import threading
import time
from dataclasses import replace

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[scale]' (docs/scaling.md)")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    import torch

    torch.set_num_threads(1)  # as exphil tournament does (the local reference run plays networks here)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    from exphil_agents.league.tournament import TournamentConfig
    from exphil_agents.network import PolicyNetwork, save_checkpoint
    from melee_envs.settings import GameSettings

    folder = tmp_path_factory.mktemp("agents")
    net = save_checkpoint(PolicyNetwork("mlp", {"hidden": 16}), folder / "net.safetensors")
    agents = ("scripted", "scripted:5", "random", "jumper", str(net))
    return TournamentConfig(
        agents=agents, games=6, chunk=2, seed=7, plots=False, quiet=True, game=GameSettings(time_limit_minutes=0.5)
    )


def _descendants(root: int) -> dict[int, str]:
    """Every process under ``root``: pid -> command line."""
    parents, lines = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    lines[int(entry)] = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = lines.get(child, "")
                frontier.append(child)
    return found


def test_the_same_tournament_on_ray_and_with_a_worker_killed(cluster, config, tmp_path):
    from exphil_agents.league.tournament import run

    local = run(replace(config, out=tmp_path / "local"))
    assert len(local["games"]) == 10 * 6  # 10 pairings of 6 games
    on_ray = run(replace(config, out=tmp_path / "ray", ray="auto"))
    assert on_ray["games"] == local["games"] and on_ray["ratings"] == local["ratings"]

    killed: list[int] = []

    def kill_one_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for pid, line in _descendants(os.getpid()).items():
                if line.startswith("ray::play_chunk"):
                    os.kill(pid, signal.SIGKILL)  # a worker of this test's own Ray instance, mid-chunk
                    killed.append(pid)
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    again = run(replace(config, out=tmp_path / "killed", ray="auto"))
    killer.join()
    assert killed, "no worker was seen playing a chunk"
    assert again["games"] == local["games"]  # the killed chunk ran again: no game lost or counted twice


def test_ray_is_for_the_mock_engine_and_needs_a_chunk_size(config):
    from exphil_agents.league.tournament import run

    with pytest.raises(ValueError, match="--ray spreads mock-engine games"):
        run(replace(config, backend="dolphin", ray="auto"))
    with pytest.raises(ValueError, match="--ray sends chunks of --chunk pairings"):
        run(replace(config, chunk=0, ray="auto"))
