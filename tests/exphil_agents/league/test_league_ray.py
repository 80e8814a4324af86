"""``exphil league train --ray``: rollout workers on a real local Ray instance give the league the
same kind of history, snapshots and ratings as a local run, reproduce for the same seed, resume,
and survive a worker killed mid-run (SIGKILL of the actor's process) with no game lost or counted
twice."""

import json
import os
import signal
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[scale]' (docs/scaling.md)")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    import torch

    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(folder, **kwargs):
    from exphil_agents.league.train import LeagueConfig
    from melee_envs.settings import GameSettings

    settings = {
        "dir": folder, "games": 8, "steps": 1024, "snapshot_every": 512, "n_steps": 64, "batch_size": 256,
        "n_epochs": 2, "tensorboard": False, "game": GameSettings(stocks=1, time_limit_minutes=0.1), "seed": 3,
    }  # fmt: skip
    settings.update(kwargs)
    return LeagueConfig(**settings)


def _events(folder):
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def _check_games(events):
    """Every remote game has an id; no id twice; each worker generation's games are numbered
    0, 1, 2, ... with none missing (a dead worker's unreturned games never enter)."""
    ids = [e["game"] for e in events if e["type"] == "match"]
    assert ids and len(ids) == len(set(ids))
    serials = defaultdict(list)
    for game in ids:
        shard, generation, serial = (int(x) for x in game.split("."))
        serials[shard, generation].append(serial)
    for key, numbers in serials.items():
        assert sorted(numbers) == list(range(len(numbers))), key
    return serials


def test_league_on_two_remote_workers_matches_the_local_kind_and_reproduces(cluster, tmp_path):
    from exphil_agents.league.cli import train

    local = train(_config(tmp_path / "local"))
    copies = set(Path(tempfile.gettempdir()).glob("exphil-league-shard*"))
    remote = train(_config(tmp_path / "ray", ray="auto", workers=2))
    assert set(Path(tempfile.gettempdir()).glob("exphil-league-shard*")) == copies  # the workers cleaned up
    assert remote["workers_replaced"] == 0
    events = {k: _events(tmp_path / k) for k in ("local", "ray")}
    kinds = {k: {(e["type"], *sorted(set(e) - {"game"})) for e in v} for k, v in events.items()}
    assert kinds["ray"] == kinds["local"]  # the same events with the same fields (plus each game's id)
    assert remote["snapshots"] == local["snapshots"] == ["main-0@000000512", "main-0@000001024"]
    assert {r["player"] for r in remote["ratings"]} == {r["player"] for r in local["ratings"]}
    for k in ("local", "ray"):
        league = json.loads((tmp_path / k / "league.json").read_text())
        assert league["learners"]["main-0"]["step"] == 1024
        assert (tmp_path / k / "learners" / "main-0.zip").is_file()
    serials = _check_games(events["ray"])
    assert {shard for shard, _ in serials} == {0, 1}  # both workers' games are in the history
    again = train(_config(tmp_path / "again", ray="auto", workers=2))
    assert _events(tmp_path / "again") == events["ray"] and again["ratings"] == remote["ratings"]


def _kill_one_collecting_worker(killed: list[int]) -> None:
    from tests.exphil_agents.league.test_tournament_ray import _descendants

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not killed:
        for pid, line in _descendants(os.getpid()).items():
            if line.startswith("ray::RolloutWorker.collect"):
                os.kill(pid, signal.SIGKILL)  # a rollout worker of this test's own Ray instance, mid-rollout
                killed.append(pid)
                return
        time.sleep(0.02)


def test_a_worker_killed_mid_run_is_replaced_and_the_league_resumes(cluster, tmp_path):
    from exphil_agents.league.cli import train

    cfg = _config(tmp_path / "league", ray="auto", workers=2, steps=1536)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_one_collecting_worker, args=(killed,))
    killer.start()
    out = train(cfg)
    killer.join()
    assert killed, "no rollout worker was seen collecting"
    assert out["workers_replaced"] >= 1
    events = _events(cfg.dir)
    serials = _check_games(events)
    assert any(generation >= 1 for _, generation in serials)  # the replacement's games were recorded
    league = json.loads((cfg.dir / "league.json").read_text())
    assert league["learners"]["main-0"]["step"] == 1536  # every rollout was played in full
    before = len(events)

    resumed = train(replace(cfg, steps=2048))  # resume on Ray: the history is kept, the learner goes on
    events = _events(cfg.dir)
    assert events[:before] == _events(cfg.dir)[:before] and len(events) > before
    _check_games(events[before:])
    assert resumed["snapshots"][-1] == "main-0@000002048"
    assert json.loads((cfg.dir / "league.json").read_text())["learners"]["main-0"]["step"] == 2048


def test_exploiters_on_ray_meet_the_main_agent_they_hunt(cluster, tmp_path):
    """A main exploiter's self-play opponent is the main agent: the workers get its weights too."""
    from exphil_agents.league.cli import train

    cfg = _config(tmp_path, ray="auto", workers=2, steps=512, snapshot_every=256, main_exploiters=1)
    out = train(cfg)
    assert {s.split("@")[0] for s in out["snapshots"]} == {"main-0", "main_exploiter-0"}
    events = _events(tmp_path)
    hunted = {e["opponent"] for e in events if e["type"] == "match" and e["learner"] == "main_exploiter-0"}
    assert hunted and hunted <= {"main-0"} | {s for s in out["snapshots"] if s.startswith("main-0@")}
    _check_games(events)
