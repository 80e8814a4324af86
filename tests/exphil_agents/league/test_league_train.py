"""League training end to end: kill and restart loses nothing, roles, the BC teacher's KL."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from melee_envs.settings import GameSettings

SMALL = [
    "--games",
    "8",
    "--n-steps",
    "256",
    "--batch-size",
    "512",
    "--n-epochs",
    "1",
    "--game.time-limit-minutes",
    "0.1",
]


def _cmd(folder, steps, *extra):
    return [sys.executable, "-m", "exphil", "league", "train", "--dir", str(folder), "--steps", str(steps),
            "--snapshot-every", "2048", "--no-tensorboard", *SMALL, *extra]  # fmt: skip


def _run(folder, steps, *extra):
    """One ``exphil league train`` run to ``steps`` (torch on one thread), waited for."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(_cmd(folder, steps, *extra), capture_output=True, text=True, env=env, timeout=600,
                          check=False)  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    """Snapshot folder -> hash of its weights (``.retired/`` and other dot entries left out)."""
    return {
        p.name: hashlib.sha256((p / "model.safetensors").read_bytes()).hexdigest()
        for p in folder.iterdir()
        if not p.name.startswith(".")
    }


@pytest.mark.slow
def test_killed_run_restarts_without_losing_snapshots_ratings_or_results(tmp_path):
    folder = tmp_path / "league"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_cmd(folder, 20480), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    snaps = folder / "snapshots"
    deadline = time.time() + 240
    while time.time() < deadline and (not snaps.is_dir() or len([p for p in snaps.iterdir() if p.name[0] != "."]) < 3):
        time.sleep(0.2)
    time.sleep(1.0)  # in the middle of the next chunk
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snaps.is_dir(), proc.stdout.read().decode()
    kept = _digest(snaps)
    kept = {k: v for k, v in kept.items() if not k.startswith(".")}
    events_before = (folder / "events.jsonl").read_bytes()
    complete = events_before[: events_before.rfind(b"\n") + 1]
    assert len(kept) >= 3 and complete.count(b'"match"') > 0

    done = subprocess.run(_cmd(folder, 20480), capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed at" in done.stdout
    after = _digest(snaps)
    # A kill between taking a snapshot and checkpointing its learner leaves a snapshot from a
    # timeline the resumed learner does not follow: the league retires it (documented) and
    # takes that step's snapshot again. Every other snapshot from before the kill is unchanged.
    retired = {e["id"]: e["reason"] for e in map(json.loads, (folder / "events.jsonl").read_text().splitlines())
               if e.get("type") == "retired"}  # fmt: skip
    assert all("newer" in why and "last checkpoint" in why for why in retired.values()), retired
    assert len(retired) <= 1 and all(k in after for k in retired)  # taken again
    assert {k: after[k] for k in kept if k not in retired} == {k: v for k, v in kept.items() if k not in retired}
    events_after = (folder / "events.jsonl").read_bytes()
    assert events_after.startswith(complete)  # every recorded result kept, in order
    league = json.loads((folder / "league.json").read_text())
    assert league["learners"]["main-0"]["step"] >= 20480
    steps = sorted(int(k.split("@")[1]) for k in after)
    assert steps[-1] >= 20480 and all(b - a <= 2048 for a, b in zip(steps, steps[1:], strict=False))

    from exphil_agents.league.state import LeagueState

    replayed = LeagueState(folder)  # ratings are a pure function of the history on disk
    assert {k: round(v, 3) for k, v in replayed.table.ratings.items()} == league["ratings"]
    status = subprocess.run(
        [sys.executable, "-m", "exphil", "league", "status", "--dir", str(folder)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert status.returncode == 0 and "main-0" in status.stdout


@pytest.mark.slow
def test_league_roles_pick_their_opponents(tmp_path):
    from exphil_agents.league.cli import train as main
    from exphil_agents.league.train import LeagueConfig

    cfg = LeagueConfig(
        dir=tmp_path, steps=4096, games=8, snapshot_every=2048, n_steps=256, batch_size=512, n_epochs=1,
        game=GameSettings(time_limit_minutes=0.1), main_exploiters=1, league_exploiters=1,
    )  # fmt: skip
    result = main(cfg)
    learners = {"main-0", "main_exploiter-0", "league_exploiter-0"}
    assert {s.split("@")[0] for s in result["snapshots"]} == learners
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    by_learner: dict[str, set[str]] = {}
    for e in events:
        if e["type"] == "match":
            by_learner.setdefault(e["learner"], set()).add(e["opponent"])
    assert by_learner["main_exploiter-0"] <= {"main-0"} | {s for s in result["snapshots"] if s.startswith("main-0@")}
    assert not any(o.startswith("bot:") for o in by_learner["main_exploiter-0"])
    assert set(by_learner) == learners

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted((tmp_path / "tb").iterdir())
    assert {r.name.rsplit("_", 1)[0] for r in runs} == learners
    logged = EventAccumulator(str(next(r for r in runs if r.name.startswith("main-0")))).Reload()
    tags = set(logged.Tags()["scalars"])
    assert {"league/rating", "league/games", "league/population", "league/score_recent"} <= tags


def test_config_errors_are_clear(tmp_path):
    from exphil_agents.league.train import League, LeagueConfig

    with pytest.raises(ValueError, match="unknown bot 'cpu'"):
        League(LeagueConfig(dir=tmp_path, bots=("cpu",)))
    with pytest.raises(ValueError, match="must not exceed 1"):
        League(LeagueConfig(dir=tmp_path, self_play=0.8, bot_fraction=0.5))
    with pytest.raises(ValueError, match="--kl-coef needs --init-from"):
        League(LeagueConfig(dir=tmp_path, kl_coef=0.1))
    bad = subprocess.run(
        _cmd(tmp_path, 10, "--bots", "nobody"), capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode != 0 and "unknown bot 'nobody'" in bad.stderr and "Traceback" not in bad.stderr


def test_kl_to_the_bc_teacher_keeps_the_learner_close(tmp_path):
    from exphil_agents.league.teacher import TeacherPPO
    from exphil_agents.network import PolicyNetwork, save_checkpoint, warm_start
    from exphil_agents.policies import BackbonePolicy
    from melee_envs.envs.vector import sb3_vec_env

    torch.manual_seed(0)
    network = PolicyNetwork("mlp", {"hidden": 32, "layers": 1})
    teacher = save_checkpoint(network, tmp_path / "bc.safetensors")
    kls = {}
    for coef in (0.0, 3.0):
        env = sb3_vec_env(8, opponent="scripted", time_limit_minutes=0.1)
        model = TeacherPPO(
            BackbonePolicy, env, n_steps=128, batch_size=256, n_epochs=4, learning_rate=3e-3, seed=0, device="cpu",
            policy_kwargs={"backbone": "mlp", "backbone_config": network.spec["backbone_config"], "net_arch": []},
        )  # fmt: skip
        warm_start(model, teacher)
        model.set_teacher(str(teacher), coef)  # coef 0: plain PPO, the teacher only measures
        model.learn(2048)
        obs = torch.as_tensor(model.rollout_buffer.observations.reshape(-1, env.observation_space.shape[0]))
        with torch.no_grad():
            kls[coef] = float(model.kl_to_teacher(obs))
    assert kls[3.0] < 0.5 * kls[0.0], kls


def test_the_callback_snapshots_inside_any_sb3_loop(tmp_path):
    from exphil_agents.league.callback import LeagueCallback
    from exphil_agents.league.train import League, LeagueConfig

    cfg = LeagueConfig(dir=tmp_path, games=8, n_steps=128, batch_size=512, n_epochs=1, tensorboard=False)
    league = League(cfg)
    model = league.load_or_create("main-0")
    model.learn(5000, callback=LeagueCallback(league, "main-0", snapshot_every=2000))
    steps = [league.state.snapshots[s]["step"] for s in league.state.snapshot_ids()]
    assert steps == [2048, 4096]  # each after the update of the rollout that crossed a multiple
    assert (tmp_path / "learners" / "main-0.zip").is_file()
    assert league.state.learners["main-0"]["step"] == 4096


def test_the_observation_layout_is_chosen_and_kept_in_snapshots(tmp_path):
    from exphil_agents.league.population import read_snapshot
    from exphil_agents.league.train import League, LeagueConfig
    from melee_envs.obs import ObsConfig, ObservationEncoder

    learned = ObsConfig(action_mode="learned", character_mode="learned", stage_mode="learned")
    league = League(LeagueConfig(dir=tmp_path, games=4, n_steps=64, batch_size=256, obs=learned, tensorboard=False))
    model = league.load_or_create("main-0")
    assert model.observation_space.shape == (ObservationEncoder(learned).size,)
    snap = league.snapshot("main-0", model)
    assert ObsConfig.from_dict(read_snapshot(tmp_path / "snapshots" / snap)["obs_config"]) == learned


@pytest.mark.slow
def test_the_league_example_runs(tmp_path):
    script = Path(__file__).resolve().parents[3] / "examples" / "league_selfplay.py"
    done = subprocess.run(
        [sys.executable, str(script), "8192"], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "main-0@000008192" in done.stdout
    assert (tmp_path / "runs" / "example-league" / "tournament" / "results.json").is_file()


def test_exploiters_restart_from_their_initial_weights(tmp_path):
    from exphil_agents.league.train import League, LeagueConfig

    cfg = LeagueConfig(
        dir=tmp_path, games=4, n_steps=64, batch_size=256, tensorboard=False, main_exploiters=1,
        league_exploiters=1, league_exploiter_reset=1.0, exploiter_reset_win_rate=0.7,
    )  # fmt: skip
    league = League(cfg)
    models = {k: league.load_or_create(k) for k in league.roles}
    initial = {k: [p.detach().clone() for p in m.policy.parameters()] for k, m in models.items()}
    for model in models.values():
        with torch.no_grad():
            for p in model.policy.parameters():
                p.add_(0.5)
    exploiter = "main_exploiter-0"
    league._roles_after_snapshot(exploiter, models[exploiter])  # even record so far: no restart
    assert league.state.learners[exploiter]["resets"] == 0
    for step in range(30):
        league.state.record_match(exploiter, "main-0", 1.0, step)
    league._roles_after_snapshot(exploiter, models[exploiter])  # beats the main agent: restart
    league._roles_after_snapshot("league_exploiter-0", models["league_exploiter-0"])  # reset chance 1
    for name in (exploiter, "league_exploiter-0"):
        assert league.state.learners[name]["resets"] == 1
        for p, q in zip(models[name].policy.parameters(), initial[name], strict=True):
            torch.testing.assert_close(p, q)
    assert not torch.equal(next(models["main-0"].policy.parameters()), initial["main-0"][0])


def test_a_league_warm_starts_from_a_bc_checkpoint_folder(tmp_path):
    from exphil_agents.league.train import League, LeagueConfig
    from exphil_agents.network import PolicyNetwork, save_checkpoint

    torch.manual_seed(0)
    network = PolicyNetwork("mlp", {"hidden": 32, "layers": 1})
    save_checkpoint(network, tmp_path / "bc" / "best" / "model.safetensors")
    cfg = LeagueConfig(
        dir=tmp_path / "league", games=4, n_steps=64, batch_size=256, init_from=str(tmp_path / "bc" / "best"),
        kl_coef=0.5, tensorboard=False,
    )  # fmt: skip
    model = League(cfg).load_or_create("main-0")
    assert model.policy.backbone_config["hidden"] == 32
    obs = torch.randn(8, network.encoder.obs_size)
    with torch.no_grad():
        assert float(model.kl_to_teacher(obs)) == pytest.approx(0.0, abs=1e-5)  # starts as the teacher
    model.learn(256)


@pytest.mark.slow
def test_a_deleted_or_damaged_snapshot_is_retired_and_training_goes_on(tmp_path):
    folder = tmp_path / "league"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(_cmd(folder, 6144, "--self-play", "0.0"), capture_output=True, text=True, env=env,
                           timeout=600, check=False)  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    snaps = sorted(p for p in (folder / "snapshots").iterdir() if not p.name.startswith("."))
    assert len(snaps) >= 3
    deleted, damaged = snaps[0], snaps[1]
    import shutil

    shutil.rmtree(deleted)
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-64])  # cut short
    second = subprocess.run(_cmd(folder, 12288, "--self-play", "0.0"), capture_output=True, text=True, env=env,
                            timeout=600, check=False)  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"snapshot {deleted.name} cannot be loaded" in second.stderr, second.stderr
    assert f"snapshot {damaged.name} cannot be loaded" in second.stderr, second.stderr
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    retired = [e["id"] for e in events if e["type"] == "retired"]
    assert sorted(retired) == sorted([deleted.name, damaged.name])
    after = max(i for i, e in enumerate(events) if e["type"] == "retired")
    later = [e["opponent"] for e in events[after + 1 :] if e["type"] == "match"]
    assert later and not {deleted.name, damaged.name} & set(later)  # never drawn again
    assert json.loads((folder / "league.json").read_text())["learners"]["main-0"]["step"] >= 12288
    third = subprocess.run(_cmd(folder, 14336, "--self-play", "0.0"), capture_output=True, text=True, env=env,
                           timeout=600, check=False)  # fmt: skip
    assert third.returncode == 0 and "cannot be loaded" not in third.stderr, third.stderr  # the retirement holds


@pytest.mark.slow
def test_resuming_with_another_backbone_is_refused_and_changes_nothing(tmp_path):
    folder = tmp_path / "league"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(_cmd(folder, 2048), capture_output=True, text=True, env=env, timeout=600, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    config = (folder / "config.json").read_bytes()
    again = subprocess.run(_cmd(folder, 4096, "--backbone", "gru"), capture_output=True, text=True, env=env,
                           timeout=600, check=False)  # fmt: skip
    assert again.returncode != 0
    assert "--backbone: the league's 'mlp', this run's 'gru'" in again.stderr, again.stderr[-2000:]
    assert (folder / "config.json").read_bytes() == config


@pytest.mark.slow
def test_a_snapshot_newer_than_its_learners_checkpoint_is_retired(tmp_path):
    import shutil

    folder = tmp_path / "league"
    assert _run(folder, 2048).returncode == 0
    saved = tmp_path / "saved"
    saved.mkdir()
    shutil.copy(folder / "learners" / "main-0.zip", saved / "main-0.zip")
    shutil.copy(folder / "league.json", saved / "league.json")
    assert _run(folder, 4096).returncode == 0
    future = "main-0@000004096"
    assert (folder / "snapshots" / future).is_dir()
    # as if killed after the step-4096 snapshot was recorded, before the learner was saved
    shutil.copy(saved / "main-0.zip", folder / "learners" / "main-0.zip")
    shutil.copy(saved / "league.json", folder / "league.json")
    resumed = _run(folder, 4096)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"snapshot {future} is newer (step 4096) than its learner's last checkpoint (step 2048)" in resumed.stderr
    assert len(list((folder / "snapshots" / ".retired").iterdir())) == 1
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    kinds = [(e["type"], e.get("id")) for e in events if e.get("id") == future]
    assert kinds == [("snapshot", future), ("retired", future), ("snapshot", future)]  # taken again, by this timeline
    from exphil_agents.league.state import LeagueState

    assert future in LeagueState(folder, read_only=True).snapshot_ids()


@pytest.mark.slow
def test_a_checkpoint_saved_before_the_league_state_keeps_its_snapshot(tmp_path):
    """Killed after the learner's archive was replaced but before league.json was saved: the
    archive holds the snapshot's step, so the snapshot stays and no step is missing."""
    import shutil

    folder = tmp_path / "league"
    assert _run(folder, 2048).returncode == 0
    stale = tmp_path / "league.json"
    shutil.copy(folder / "league.json", stale)
    assert _run(folder, 4096).returncode == 0
    shutil.copy(stale, folder / "league.json")  # the learner's archive is at 4096, the state at 2048
    resumed = _run(folder, 6144)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "retired" not in resumed.stderr
    steps = sorted(int(p.name.split("@")[1]) for p in (folder / "snapshots").iterdir() if not p.name.startswith("."))
    assert steps == [2048, 4096, 6144]


def test_a_time_budget_stops_at_a_snapshot_and_the_next_run_resumes(tmp_path):
    folder = tmp_path / "league"
    first = _run(folder, 10**6, "--minutes", "0.01")
    assert first.returncode == 0, first.stderr
    assert "the 0.01-minute budget is spent; run again to resume toward 1,000,000" in first.stdout
    state = json.loads((folder / "league.json").read_text())
    step = state["learners"]["main-0"]["step"]
    assert 0 < step < 10**6 and step % 2048 == 0  # one chunk, up to its snapshot
    second = _run(folder, step + 2048)
    assert second.returncode == 0, second.stderr
    assert f"resumed at {{'main-0': {step}}}" in " ".join(second.stdout.split())
    assert json.loads((folder / "league.json").read_text())["learners"]["main-0"]["step"] == step + 2048
