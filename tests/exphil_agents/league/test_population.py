"""Snapshots (atomic, rebuildable, JSON + safetensors) and opponent sampling."""

import json

import numpy as np
import pytest
import torch

from exphil_agents.actors import load_actor
from exphil_agents.league.population import (
    list_snapshots,
    load_snapshot_policy,
    pfsp_weight,
    save_snapshot,
    weights,
    win_rate_prior,
)
from melee_envs.obs import ObsConfig, ObservationEncoder


@pytest.fixture
def policy():

    from exphil_agents.policies import BackbonePolicy
    from melee_envs.controller import ControllerCodec

    torch.manual_seed(0)
    obs = ObservationEncoder(ObsConfig()).observation_space()
    return BackbonePolicy(obs, ControllerCodec().action_space(), lambda _: 1e-3, backbone="mlp")


def test_snapshot_round_trip_acts_identically(tmp_path, policy):
    folder = save_snapshot(tmp_path, "main-0@000000100", policy, ObsConfig(), {"learner": "main-0", "step": 100})
    info = json.loads((folder / "snapshot.json").read_text())
    assert info["step"] == 100 and info["policy"] == "BackbonePolicy" and info["nvec"][:8] == [2] * 8
    loaded, obs_config = load_snapshot_policy(folder)
    assert obs_config == ObsConfig()
    obs = torch.randn(64, ObservationEncoder(ObsConfig()).size)
    with torch.no_grad():
        want = torch.cat([d.logits for d in policy.get_distribution(obs).distribution], -1)
        got = torch.cat([d.logits for d in loaded.get_distribution(obs).distribution], -1)
    torch.testing.assert_close(got, want)
    player = load_actor(folder, deterministic=True)
    assert player.act_obs(obs.numpy()).shape == (64, 13)


def test_snapshots_are_atomic_and_never_overwritten(tmp_path, policy):
    save_snapshot(tmp_path, "a@000000001", policy, ObsConfig(), {"learner": "a", "step": 1})
    before = (tmp_path / "a@000000001" / "model.safetensors").read_bytes()
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(1.0)
    save_snapshot(tmp_path, "a@000000001", policy, ObsConfig(), {"learner": "a", "step": 1})
    assert (tmp_path / "a@000000001" / "model.safetensors").read_bytes() == before
    (tmp_path / ".a@000000002.tmp-123").mkdir()  # a leftover of a killed write
    (tmp_path / "a@000000003").mkdir()  # renamed folder without metadata is not a snapshot
    save_snapshot(tmp_path, "a@000000000", policy, ObsConfig(), {"learner": "a", "step": 0})
    assert [s["id"] for s in list_snapshots(tmp_path)] == ["a@000000000", "a@000000001"]


def test_snapshot_errors_name_the_problem(tmp_path, policy):
    with pytest.raises(FileNotFoundError, match="not a league snapshot"):
        load_snapshot_policy(tmp_path)
    folder = save_snapshot(tmp_path, "x", policy, ObsConfig(), {"learner": "x", "step": 0})
    meta = json.loads((folder / "snapshot.json").read_text())
    meta["policy_kwargs"]["backbone_config"] = {"hidden": 8}
    (folder / "snapshot.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="weights do not fit"):
        load_snapshot_policy(folder)


def test_sampling_weights():
    rates = np.array([0.9, 0.5, 0.1])
    hard = pfsp_weight(rates, "hard")
    assert hard[2] > hard[1] > hard[0]  # opponents the learner loses to come first
    var = pfsp_weight(rates, "variance")
    assert var[1] > var[0] == pytest.approx(var[2])  # even matches come first
    assert np.allclose(weights("uniform", 4), 0.25)
    recent = weights("recent", 3, recent_decay=0.5)
    assert recent.tolist() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    p = weights("pfsp", 3, rates)
    assert p.sum() == pytest.approx(1.0) and p[0] > 0  # a beaten opponent is rare, not gone
    assert win_rate_prior(0, 0) == 0.5 and win_rate_prior(9, 10) == pytest.approx(10 / 12)
    with pytest.raises(ValueError, match="unknown sampling scheme"):
        weights("elo", 3)
    with pytest.raises(ValueError, match="unknown PFSP weighting"):
        pfsp_weight(rates, "soft")
