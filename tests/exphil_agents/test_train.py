import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import melee_envs  # noqa: F401
from melee_envs.settings import GameSettings


def test_ppo_mlp_learns_in_melee_v0():
    env = gym.make("Melee-v0", stocks=1, time_limit_minutes=0.5)
    model = PPO("MlpPolicy", env, n_steps=512, batch_size=128, n_epochs=2, seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=3072)
    after = list(model.policy.parameters())
    assert any(not np.allclose(a.numpy(), b.detach().numpy()) for a, b in zip(before, after, strict=True))
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs)
    assert env.action_space.contains(action)


def test_cli_train_smoke(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "exphil",
            "train",
            "--timesteps",
            "1024",
            "--n-envs",
            "2",
            "--n-steps",
            "256",
            "--batch-size",
            "128",
            "--eval-episodes",
            "1",
            "--game.time-limit-minutes",
            "0.2",
            "--save",
            str(tmp_path / "model.zip"),
            "--record-replays",
            str(tmp_path / "replays"),
            "--record-games",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "PPO (trained)" in out.stdout and "random discrete (reference)" in out.stdout
    words = " ".join(out.stdout.split())  # rich wraps long lines
    assert "batched trainer" in words and "inference" in words  # the time split
    assert out.stdout.count("threads: torch 1 (") == 1  # the thread choice, printed once
    assert (tmp_path / "model.zip").exists()
    from melee_envs.backends.replay import read_replay

    replays = sorted((tmp_path / "replays").glob("*.slp"))  # game 0's games, every frame: 720 at most
    assert len(replays) >= 2 and f"recorded {len(replays)} training games in" in words
    for path in replays:
        frames = read_replay(path).state.frame
        assert "_g0-" in path.name and np.array_equal(frames, np.arange(-123, len(frames) - 123)) and len(frames) <= 721


@pytest.mark.slow
def test_main_job_beats_the_random_reference_outside_both_intervals():
    """The README's run, on its defaults (about 35 s of training on 2 cores)."""
    from exphil_agents.train import TrainConfig, main

    result = main(TrainConfig())
    trained, random = result["trained"], result["random"]
    assert trained["win"] >= 0.8, trained
    assert trained["win_interval"][0] > random["win_interval"][1], (trained, random)
    assert result["split"]["learning"] > 0.5  # the batched loop ran; the network, not Python, takes the time


@pytest.mark.slow
def test_a_short_run_beats_idle(tmp_path):
    """3 M agent-steps (about 85 s on 2 cores) against idle and scripted:1 in one batch; then 200
    seeded games against idle, half on each port, bots deciding every frame (exphil ladder)."""
    import tempfile

    from exphil_agents.actors import load_actor
    from exphil_agents.ladder import evaluate_ladder
    from exphil_agents.train import TrainConfig, main

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/idle.zip"
        main(TrainConfig(opponent="idle+scripted:1", timesteps=3_000_000, eval_episodes=0, save=path))
        result = evaluate_ladder(load_actor(path, seed=0), 200, 20_000, GameSettings(), bots=("idle",))["idle"]
    assert result["win"] >= 0.9, result  # measured 0.96 at seed 0 and 0.98 at seed 1 (100 games each)


def test_cli_bad_input_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "exphil", "train", "--game.stage", "hyrule", "--timesteps", "64"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode != 0
    assert "unknown stage 'hyrule'" in out.stderr


def test_train_with_backbones_and_recurrent():
    from exphil_agents.train import TrainConfig, main

    small = {"timesteps": 512, "n_envs": 2, "n_steps": 128, "batch_size": 128, "eval_episodes": 1}
    for extra in ({"backbone": "attention", "window": 4}, {"backbone": "gru", "recurrent": True}):
        result = main(TrainConfig(game=GameSettings(time_limit_minutes=0.05), **small, **extra))
        assert {"trained", "random"} <= set(result) and 0.0 <= result["trained"]["win"] <= 1.0
    with pytest.raises(ValueError, match="--recurrent needs backbone lstm or gru; got 'mamba'"):
        main(TrainConfig(backbone="mamba", recurrent=True, **small))


@pytest.mark.parametrize("extra", [{"backbone": "gru", "recurrent": True}, {"backbone": "attention", "window": 2}])
def test_a_time_budget_sized_backbone_and_learning_curve(tmp_path, extra):
    import json

    from exphil_agents.train import TrainConfig, main

    cfg = TrainConfig(
        timesteps=10**8, minutes=0.05, hidden=16, layers=1, n_envs=8, n_steps=32, batch_size=64, eval_episodes=2,
        game=GameSettings(time_limit_minutes=0.05), curve=str(tmp_path / "curve.json"), save=str(tmp_path / "m.zip"),
        **extra,
    )  # fmt: skip
    main(cfg)
    model = (__import__("sb3_contrib").RecurrentPPO if cfg.recurrent else PPO).load(tmp_path / "m.zip", device="cpu")
    assert 0 < model.num_timesteps < 10**6  # stopped by the 3-second budget, not the step count
    if cfg.recurrent:
        assert model.policy.lstm_actor.config.hidden == 16 and model.policy.lstm_actor.config.layers == 1
    else:
        backbone = model.policy.features_extractor.backbone
        assert backbone.config.d_model == 16 and backbone.config.layers == 1
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert curve["label"] == cfg.policy_name and curve["meta"]["settings"]["minutes"] == 0.05
    steps = [p["steps"] for p in curve["points"]]
    assert steps == sorted(steps)
    # SB3's loop stops at the first step of the rollout after the budget: one untrained step per game
    assert model.num_timesteps - steps[-1] == (cfg.n_envs if cfg.recurrent else 0)
    assert all(p["win_rate"] is None or 0 <= p["win_rate"] <= 1 for p in curve["points"])
    assert curve["points"][-1]["games"] > 0 and curve["points"][-1]["seconds"] >= 3.0
    png = (tmp_path / "curve.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_sizes_need_a_backbone_and_budgets_must_be_positive():
    from exphil_agents.train import TrainConfig

    with pytest.raises(ValueError, match="--hidden size a --backbone"):
        TrainConfig(hidden=64)
    with pytest.raises(ValueError, match="--minutes 0.0"):
        TrainConfig(minutes=0.0)
    with pytest.raises(ValueError, match="--layers 0"):
        TrainConfig(backbone="mlp", layers=0)
    assert TrainConfig(backbone="gru", hidden=64).backbone_config == {"hidden": 64}
    assert TrainConfig(backbone="mamba", hidden=64, layers=1).backbone_config == {"d_model": 64, "layers": 1}


def test_invalid_numbers_are_refused_before_anything_runs():
    from exphil_agents.train import TrainConfig

    for field, value in (("timesteps", -1), ("n_envs", 0), ("learning_rate", float("inf")), ("learning_rate", 0.0)):
        with pytest.raises(ValueError, match=f"--{field.replace('_', '-')} {value!r}"):
            TrainConfig(**{field: value})
    with pytest.raises(ValueError, match="--trainer batched"):
        TrainConfig(trainer="batched", backbone="gru", recurrent=True)
    for backbone in ("gru", "attention"):  # a sequence network over one frame remembers nothing
        with pytest.raises(ValueError, match=f"--backbone {backbone} over --window 1"):
            TrainConfig(backbone=backbone, window=1)
    assert TrainConfig(backbone="gru", window=1, recurrent=True).frames == 1  # the state remembers
    assert TrainConfig(backbone="mlp", window=1).frames == 1
    proc = subprocess.run([sys.executable, "-m", "exphil", "train", "--timesteps", "-1"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    text = " ".join(w for w in (proc.stdout + proc.stderr).split() if w != "│")  # rich wraps it in a box
    assert proc.returncode != 0 and "invalid training settings: --timesteps -1 (must be >= 1)" in text, text
