"""`exphil export`: every kind of trained network as ONNX, checked by onnxruntime against torch
on 1,000 recorded frames, and ONNX files playing as actors."""

import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra: pip install 'exphil[export]'")
pytest.importorskip("onnxscript", reason="ONNX export needs the export extra: pip install 'exphil[export]'")

from exphil_agents.actors import ActorError, load_actor  # noqa: E402
from exphil_agents.export import ExportConfig, export, read_metadata, record_observations  # noqa: E402
from exphil_agents.network import PolicyNetwork, save_checkpoint  # noqa: E402
from melee_envs.obs import ObsConfig  # noqa: E402

SMALL = {
    "mlp": {"hidden": 16},
    "lstm": {"hidden": 16, "layers": 2},
    "gru": {"hidden": 16},
    "mamba": {"d_model": 16, "d_state": 4},
    "attention": {"d_model": 16, "heads": 2, "window": 8},
    "jamba": {"d_model": 16, "layers": 2, "attention_every": 2, "window": 8, "d_state": 4},
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One model of every kind export takes: BC networks of each backbone (learned-id
    observations), SB3 PPO (stock MLP on the Discrete set, a windowed BackbonePolicy) and
    RecurrentPPO."""
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO

    import melee_envs  # noqa: F401
    from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, frame_window

    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, size in SMALL.items():
        torch.manual_seed(1)
        net = PolicyNetwork(name, size, obs_config=ObsConfig.learned())
        paths[f"bc-{name}"] = save_checkpoint(net, folder / f"bc-{name}.safetensors")
    PPO("MlpPolicy", gym.make("Melee-v0", action_mode="discrete"), n_steps=64, device="cpu").save(folder / "ppo.zip")
    policy = {"backbone": "attention", "backbone_config": {"d_model": 16, "heads": 2, "layers": 1}}
    windowed = frame_window(gym.make("Melee-v0"), 4)
    PPO(BackbonePolicy, windowed, n_steps=64, policy_kwargs=policy, device="cpu").save(folder / "window.zip")
    cell = {"cell": "lstm", "lstm_hidden_size": 16}
    RecurrentPPO(RecurrentBackbonePolicy, gym.make("Melee-v0"), n_steps=64, policy_kwargs=cell, device="cpu").save(
        folder / "rppo.zip"
    )
    paths.update({k: folder / f"{k}.zip" for k in ("ppo", "window", "rppo")})
    paths["champion"] = "champion"
    return paths


KINDS = [f"bc-{n}" for n in SMALL] + ["ppo", "window", "rppo", "champion"]


@pytest.mark.parametrize("kind", KINDS)
def test_export_matches_torch_on_1000_recorded_frames(models, kind, tmp_path):
    out = tmp_path / f"{kind}.onnx"
    result = export(ExportConfig(str(models[kind]), out))
    check = result["verified"]
    assert check["frames"] == 1000 and check["same"] + check["ties"] == 1000 and check["same"] >= 995
    assert check["max_logit_diff"] < 1e-3
    meta = read_metadata(out)
    assert meta["obs_size"] == load_actor(models[kind]).encoder.size
    stateful = kind in ("bc-lstm", "bc-gru", "bc-mamba", "bc-attention", "bc-jamba", "rppo")
    assert bool(meta["state"]) == stateful and meta["window"] == (4 if kind == "window" else 1)
    assert meta["action_table"] == (kind in ("ppo", "champion"))


@pytest.mark.parametrize("kind", ["bc-jamba", "window", "rppo", "champion"])
def test_an_exported_file_plays_like_its_torch_actor(models, kind, tmp_path):
    """load_actor reads .onnx: over a batch of 3 games, with a reset, deterministic and sampled
    (the same seed draws the same noise), the file chooses torch's actions."""
    out = tmp_path / f"{kind}.onnx"
    export(ExportConfig(str(models[kind]), out, verify_frames=0))
    obs, _ = record_observations(load_actor(models[kind], deterministic=True, env_controller=False), 60)
    batch = np.stack([obs[:20], obs[20:40], obs[40:]], 1)  # (frames, 3 games, F)
    for deterministic in (True, False):
        runs = []
        for spec in (models[kind], out):
            actor = load_actor(spec, deterministic=deterministic, env_controller=False)
            torch.manual_seed(5)
            actor.reset(3)
            played = [actor.act_obs(frame) for frame in batch[:12]]
            actor.reset(3)  # new games
            runs.append(np.stack(played + [actor.act_obs(frame) for frame in batch[12:]]))
        assert np.array_equal(*runs), (kind, deterministic)
    assert load_actor(out).repeat == load_actor(models[kind]).repeat  # the frame skip travels too


def test_an_exported_file_plays_a_tournament(models, tmp_path):
    from exphil_agents.league.tournament import TournamentConfig, run
    from melee_envs.settings import GameSettings

    out = tmp_path / "agent.onnx"
    export(ExportConfig(str(models["bc-attention"]), out, verify_frames=0))
    settings = GameSettings(time_limit_minutes=0.05)
    results = run(
        TournamentConfig(agents=(str(out), "idle"), games=4, game=settings, out=tmp_path, quiet=True, plots=False)
    )
    assert not results["skipped"] and len(results["games"]) == 4


def test_what_cannot_be_exported_or_played_is_named(models, tmp_path):
    with pytest.raises(ActorError, match="scripted: a bot, not a network"):
        export(ExportConfig("scripted", tmp_path / "x.onnx"))
    torch.manual_seed(0)
    auto = save_checkpoint(PolicyNetwork("mlp", {"hidden": 8}, head="autoregressive"), tmp_path / "auto.safetensors")
    with pytest.raises(ActorError, match="autoregressive head"):
        export(ExportConfig(str(auto), tmp_path / "x.onnx"))
    with pytest.raises(ValueError, match="expected a .onnx file name"):
        export(ExportConfig(str(models["ppo"]), tmp_path / "x.pt"))
    with pytest.raises(ValueError, match="--verify-frames must be >= 0"):
        export(ExportConfig(str(models["ppo"]), tmp_path / "x.onnx", verify_frames=-1))
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00not a model")
    with pytest.raises(ActorError, match="corrupt.onnx: not a readable ONNX file"):
        load_actor(corrupt)
    import onnx

    plain = tmp_path / "plain.onnx"
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([], "g", [], [])), str(plain))
    with pytest.raises(ActorError, match="without exphil metadata"):
        load_actor(plain)


def test_export_command(tmp_path):
    out = tmp_path / "champion.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "exphil", "export", "champion", "--onnx", str(out), "--verify-frames", "300"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "champion as ONNX" in result.stdout and "same action on 300/300 recorded frames" in result.stdout
    assert out.is_file() and not list(tmp_path.glob("*.tmp*"))
    bad = subprocess.run(
        [sys.executable, "-m", "exphil", "export", str(tmp_path / "nope.zip"), "--onnx", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "nope.zip: no such bot or checkpoint" in bad.stderr
