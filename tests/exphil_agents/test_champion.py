"""The champion shipped with the package: its files, its strength, and every way to play it."""

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

import melee_envs  # noqa: F401
from exphil_agents import champion
from exphil_agents.actors import NetActor, load_actor
from exphil_agents.ladder import LADDER, evaluate_ladder
from melee_envs.envs.vector import MeleeVectorEnv
from melee_envs.settings import GameSettings

SHORT = {"stocks": 1, "time_limit_minutes": 0.25}


def test_the_shipped_files_are_small_safe_and_complete():
    weights = champion.CHAMPION_DIR / "model.safetensors"
    assert weights.stat().st_size < 1_000_000
    assert weights.read_bytes()[8:9] == b"{"  # safetensors: a JSON header, no pickle
    net, card = champion.load()
    for key in ("command", "seed", "steps", "train_minutes", "results", "frame_skip"):
        assert key in card, key
    assert card["command"].startswith("exphil champion train") and card["frame_skip"] == 4
    assert set(card["results"]) == set(LADDER)
    assert net(torch.zeros(1, card["obs_size"])).shape == (1, card["actions"])


@pytest.mark.slow
def test_the_champion_beats_every_bot():
    """200 seeded games against each bot (half on each port): every scripted level >= 90%,
    idle / jumper / random >= 95% (the issue's bar; the card records the same measurement)."""
    results = evaluate_ladder(champion.champion_actor(), 200, 20_000, GameSettings())
    for bot, r in results.items():
        need = 0.9 if bot.startswith("scripted") else 0.95
        assert r["games"] == 200 and r["win"] >= need, (bot, r)


def test_export_round_trip_matches_the_sb3_policy(tmp_path):
    from stable_baselines3 import PPO

    from melee_envs.envs.vector import sb3_vec_env

    model = PPO("MlpPolicy", sb3_vec_env(2, action_mode="discrete", **SHORT), n_steps=8, batch_size=16, device="cpu")
    model.frame_skip = 4
    folder = champion.export(model, tmp_path / "c", {"command": "test"})
    net, card = champion.load(folder)
    obs = torch.randn(16, card["obs_size"])
    with torch.no_grad():
        want = model.policy.get_distribution(obs).distribution.logits
        got = torch.log_softmax(net(obs), -1)
    assert torch.allclose(got, want, atol=1e-5)
    with pytest.raises(ValueError, match="a champion is a stock MlpPolicy trained with discrete actions"):
        champion.export(PPO("MlpPolicy", sb3_vec_env(2, **SHORT), n_steps=8, device="cpu"), tmp_path / "d", {})


def test_a_broken_champion_names_its_file(tmp_path):
    (tmp_path / "champion.json").write_text("{not json")
    with pytest.raises(ValueError, match="champion.json: not a champion card"):
        champion.load(tmp_path)
    (tmp_path / "champion.json").write_text(json.dumps({"format": 1, "network": "mlp-actor", "obs_size": 4,
                                                        "hidden": [3], "actions": 2}))  # fmt: skip
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="model.safetensors: cannot load"):
        champion.load(tmp_path)


def test_opponent_champion_in_every_env():
    env = gym.make("Melee-v0", opponent="champion", **SHORT)
    env.reset(seed=0)
    for _ in range(20):
        env.step(env.action_space.sample())
    import pickle

    copy = pickle.loads(pickle.dumps(env))  # envs travel to worker processes
    copy.reset(seed=0)
    copy.step(copy.action_space.sample())
    vec = MeleeVectorEnv(32, opponent="champion", frame_skip=4, autoreset_mode="disabled", seed=0, **SHORT)
    vec.reset(seed=0)
    over, won = np.zeros(32, bool), np.zeros(32)
    while not over.all():
        _, _, term, trunc, info = vec.step(vec.action_space.sample())
        if info:
            won[info["_melee"]] = info["melee"]["won"][info["_melee"]]
        over |= term | trunc
    assert won.mean() <= 0.1  # a random policy does not beat it


def test_the_opponent_decides_every_four_frames_whatever_the_env_skip():
    from melee_envs.backends.mock import MockBackend, MockConfig

    opponent = champion.champion_opponent(seed=0)
    backend = MockBackend(4, MockConfig(**SHORT))
    backend.reset(0)
    changes = []
    last = None
    for _ in range(40):
        actions = opponent(backend.state, 1)
        changes.append(last is not None and not np.array_equal(actions, last))
        last = actions
        backend.step(np.stack([np.broadcast_to(backend.codec.noop(), actions.shape), actions], 1), checked=True)
    assert not any(c for k, c in enumerate(changes) if k % 4), changes  # only on decision frames


def test_load_actor_and_the_tournament_command(tmp_path):
    actor = load_actor("champion", seed=0)
    assert isinstance(actor, NetActor) and actor.repeat == 4
    out = subprocess.run(
        [sys.executable, "-m", "exphil", "tournament", "champion", "scripted:1", "--games", "4",
         "--game.time-limit-minutes", "0.25", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "champion" in out.stdout


def test_the_ladder_command_measures_any_agent(tmp_path):
    from exphil_agents.ladder import LadderConfig, main

    out = tmp_path / "ladder.json"
    results = main(LadderConfig(agent="scripted", games=4, game=GameSettings(time_limit_minutes=0.25), out=out))
    assert list(results) == list(LADDER) and all(r["games"] == 4 for r in results.values())
    assert results["random"]["win"] == 1.0  # the full bot beats a random player
    assert json.loads(out.read_text())["results"]["idle"]["games"] == 4
    with pytest.raises(ValueError, match="games must be >= 1"):
        evaluate_ladder(load_actor("idle"), 0, 0, GameSettings())


def test_the_champion_is_a_league_bot(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "exphil", "league", "train", "--dir", str(tmp_path), "--steps", "1024",
         "--games", "4", "--snapshot-every", "1024", "--bots", "champion", "--bot-fraction", "1.0",
         "--self-play", "0.0", "--no-tensorboard", "--game.time-limit-minutes", "0.1"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "bot:champion" in out.stdout
