"""Every checkpoint kind plays in a tournament and on Dolphin's policy path; the batched encoding
equals the per-port one; delay, hold and old recurrent archives."""

import numpy as np
import pytest
import torch

from exphil_agents.actors import LogitSampler, NetActor, load_actor
from exphil_agents.league.tournament import TournamentConfig, run
from melee_envs.backends.mock import MockBackend, MockConfig
from melee_envs.obs import ObsConfig
from melee_envs.settings import GameSettings


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO

    import melee_envs  # noqa: F401
    from exphil_agents.network import PolicyNetwork, save_checkpoint
    from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, frame_window

    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    paths = {"bc-gru": save_checkpoint(PolicyNetwork("gru", {"hidden": 16}), folder / "bc-gru.safetensors")}
    env = gym.make("Melee-v0")
    PPO("MlpPolicy", env, n_steps=64, device="cpu").save(folder / "stock-mlp.zip")
    windowed = frame_window(gym.make("Melee-v0"), 4)
    policy = {"backbone": "attention", "backbone_config": {"d_model": 32, "heads": 2, "layers": 1}}
    PPO(BackbonePolicy, windowed, n_steps=64, policy_kwargs=policy, device="cpu").save(folder / "attention-w4.zip")
    cell = {"cell": "gru", "lstm_hidden_size": 16}
    RecurrentPPO(RecurrentBackbonePolicy, env, n_steps=64, policy_kwargs=cell, device="cpu").save(folder / "rppo.zip")
    paths.update({k: folder / f"{k}.zip" for k in ("stock-mlp", "attention-w4", "rppo")})
    return paths


def test_every_checkpoint_kind_plays(checkpoints, tmp_path):
    agents = ("idle", *map(str, checkpoints.values()))
    results = run(
        TournamentConfig(
            agents=agents, games=4, game=GameSettings(time_limit_minutes=0.05), out=tmp_path, quiet=True, plots=False
        )
    )
    assert not results["skipped"]
    assert len(results["ratings"]) == 5 and len(results["games"]) == 10 * 4
    kinds = {load_actor(p).stateless for p in checkpoints.values()}
    assert kinds == {True, False}  # feed-forward and stateful (window / recurrent) players both ran


def test_batched_games_encode_like_each_port_alone():
    backend = MockBackend(6, MockConfig(stage="BATTLEFIELD"))
    backend.reset(0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        backend.step(rng.integers(0, [2] * 8 + [17] * 4 + [5], size=(6, 2, 13)))
    calls = []

    def policy(obs, state, starts):
        calls.append(obs.copy())
        return np.zeros((len(obs), 13), np.int64) + np.arange(13), None

    player = NetActor("x", policy, ObsConfig())
    games, ports = np.array([0, 2, 3, 5]), np.array([0, 1, 1, 0])
    actions = player.act_games(backend, games, ports)
    full = {p: player.encoder.encode_packed(backend.packed, ego=p, mirror=p == 1) for p in (0, 1)}
    np.testing.assert_allclose(calls[-1], np.stack([full[p][g] for g, p in zip(games, ports, strict=True)]))
    assert actions[1, 8] == 16 - 8 and actions[0, 8] == 8  # port 2's stick x flipped back to the world


def test_logit_sampler_matches_the_softmax():
    torch.manual_seed(0)
    nvec = [2, 3, 5]
    logits = torch.randn(1, sum(nvec)).repeat(20000, 1)
    draws = LogitSampler(nvec)(logits)
    start = 0
    for k, n in enumerate(nvec):
        freq = np.bincount(draws[:, k], minlength=n) / len(draws)
        np.testing.assert_allclose(freq, torch.softmax(logits[0, start : start + n], -1).numpy(), atol=0.015)
        assert LogitSampler(nvec)(logits[:1], deterministic=True)[0, k] == int(logits[0, start : start + n].argmax())
        start += n


def test_one_actor_path_for_play_bots_networks_and_delay(checkpoints):
    """``exphil play``'s policy: any actor, player 0 acting, player 1 neutral; a delayed actor's
    first decisions are neutral and then arrive ``delay`` frames late."""
    from exphil_agents.play import actor_policy
    from melee_envs.controller import ControllerCodec

    codec = ControllerCodec()
    backend = MockBackend(1, MockConfig())
    state = backend.reset(0)
    bot = actor_policy(load_actor("scripted"), codec)
    assert bot(state).shape == (2, 13)
    np.testing.assert_array_equal(bot(state)[1], codec.noop())
    undelayed = load_actor(checkpoints["bc-gru"], deterministic=True)
    delayed = load_actor(checkpoints["bc-gru"], deterministic=True, delay=2)
    plain, late = actor_policy(undelayed, codec), actor_policy(delayed, codec)
    rng = np.random.default_rng(1)
    decided, sent = [], []
    for _ in range(8):
        state = backend.step(rng.integers(0, codec.nvec, size=(1, 2, 13)))
        decided.append(plain(state)[0])
        sent.append(late(state)[0])
    np.testing.assert_array_equal(sent[:2], [codec.noop()] * 2)
    np.testing.assert_array_equal(sent[2:], decided[:-2])
    with pytest.raises(ValueError, match="delay must be >= 0"):
        load_actor(checkpoints["bc-gru"], delay=-1)


def test_repeat_holds_a_decision_for_that_many_frames():
    calls = []

    def policy(obs, state, starts):
        calls.append(len(calls))
        return np.full((len(obs), 13), len(calls) % 2), None

    actor = NetActor("x", policy, ObsConfig(), repeat=3)
    backend = MockBackend(2, MockConfig())
    backend.reset(0)
    actions = [actor.act(backend, 0)[0, 0] for _ in range(7)]
    assert len(calls) == 3 and actions == [1, 1, 1, 0, 0, 0, 1]


def test_recurrent_archives_from_before_the_backbone_layer_still_load():
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO

    import melee_envs  # noqa: F401
    from exphil_agents.policies import RecurrentBackbonePolicy

    env = gym.make("Melee-v0")
    model = RecurrentPPO(RecurrentBackbonePolicy, env, n_steps=16, policy_kwargs={"cell": "gru", "lstm_hidden_size": 8})
    new = {k: v.clone() for k, v in model.policy.state_dict().items()}
    old = {k.replace(".blocks.0.rnn.", "."): v.clone() + 1.0 for k, v in new.items()}  # the bare nn.GRU's names
    assert "lstm_actor.weight_ih_l0" in old
    model.policy.load_state_dict(old)
    for key, value in model.policy.state_dict().items():
        torch.testing.assert_close(value, new[key] + 1.0)
