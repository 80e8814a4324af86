import numpy as np
import pytest
import torch

from exphil_agents.agent import Agent
from exphil_agents.backbones import BACKBONES, describe, make_backbone
from exphil_agents.encoder import InputEncoder
from exphil_agents.heads import AutoregressiveHead, IndependentHead
from exphil_agents.network import PolicyNetwork, load_checkpoint, save_checkpoint
from melee_envs.obs import ObsConfig, ObservationEncoder

SMALL = {
    "mlp": {"hidden": 32},
    "lstm": {"hidden": 32, "layers": 2},
    "gru": {"hidden": 32, "layers": 2},
    "mamba": {"d_model": 32, "d_state": 8},
    "attention": {"d_model": 32, "heads": 4, "window": 6},
    "jamba": {"d_model": 32, "layers": 3, "attention_every": 2, "window": 6, "d_state": 8},
}
#: forward vs repeated step agree to this (float32, different operation order).
TOLERANCE = 1e-5


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_forward_equals_repeated_step_with_resets(name):
    torch.manual_seed(0)
    net = make_backbone(name, 12, **SMALL[name])
    batch, steps = 3, 15
    x = torch.randn(batch, steps, 12)
    starts = torch.zeros(batch, steps)
    starts[0, 4] = starts[1, 0] = starts[1, 9] = 1  # games restart mid-sequence
    _, warm = net(torch.randn(batch, 7, 12))  # a non-zero starting state
    y, end = net(x, warm, starts)
    assert y.shape == (batch, steps, net.output_size)
    state, outs = warm, []
    for t in range(steps):
        state = tuple(s * (1 - starts[:, t]).view((-1,) + (1,) * (s.dim() - 1)) for s in state)
        out, state = net.step(x[:, t], state)
        outs.append(out)
    assert torch.allclose(y, torch.stack(outs, 1), atol=TOLERANCE)
    for a, b in zip(end, state, strict=True):
        assert torch.allclose(a, b, atol=TOLERANCE)
    # Splitting a sequence in two, carrying the state, changes nothing either.
    y1, mid = net(x[:, :6], warm, starts[:, :6])
    y2, _ = net(x[:, 6:], mid, starts[:, 6:])
    assert torch.allclose(torch.cat([y1, y2], 1), y, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    net = PolicyNetwork(name, SMALL[name], obs_config=ObsConfig.learned())
    obs = torch.rand(2, 8, net.encoder.obs_size)
    obs[..., net.encoder.n_continuous :] = torch.randint(0, 30, (2, 8, len(net.encoder.id_names))).float()
    latent, _ = net(obs)
    actions = torch.stack([torch.randint(0, n, (2, 8)) for n in net.nvec], -1)
    loss = -net.head.log_prob(latent, actions).mean()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    assert describe(net.backbone).startswith(
        f"{name}: {sum(p.numel() for p in net.backbone.parameters()):,} parameters"
    )


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_checkpoint_round_trip(name, tmp_path):
    torch.manual_seed(1)
    net = PolicyNetwork(name, SMALL[name], obs_config=ObsConfig.learned(), head="autoregressive")
    path = save_checkpoint(net, tmp_path / f"{name}.safetensors", extra={"steps": 10})
    loaded = load_checkpoint(path, backbone=name, obs_config=ObsConfig.learned())
    obs = torch.rand(2, 5, net.encoder.obs_size)
    a, b = net(obs)[0], loaded(obs)[0]
    assert torch.equal(a, b)
    assert loaded.spec == net.spec


def test_architecture_mismatch_names_both_sides(tmp_path):
    net = PolicyNetwork("gru", {"hidden": 64}, obs_config=ObsConfig.learned())
    path = save_checkpoint(net, tmp_path / "gru.safetensors")
    with pytest.raises(ValueError, match=r"backbone: checkpoint has 'gru', expected 'mamba'"):
        load_checkpoint(path, backbone="mamba")
    with pytest.raises(ValueError, match=r"hidden: checkpoint has 64, expected 128"):
        load_checkpoint(path, backbone="gru", backbone_config={"hidden": 128})
    with pytest.raises(ValueError, match=r"observation layout differs \(action_mode: checkpoint 'learned' vs expected"):
        load_checkpoint(path, obs_config=ObsConfig())
    with pytest.raises(ValueError, match="unknown backbone 'transformer'"):
        PolicyNetwork("transformer")
    with pytest.raises(ValueError, match=r"unknown gru backbone option\(s\) \['d_model'\]"):
        PolicyNetwork("gru", {"d_model": 3})
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a safetensors checkpoint"):
        load_checkpoint(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="observation has 1035 values; this encoder's ObsConfig makes 121"):
        net.encoder(torch.zeros(1, 1035))


@pytest.mark.parametrize("preset", [ObsConfig(), ObsConfig.seed_1204(), ObsConfig.learned()])
def test_input_encoder_reads_every_preset(preset):
    enc = InputEncoder(preset)
    size = ObservationEncoder(preset).size
    obs = torch.rand(4, size)
    out = enc(obs)
    assert out.shape == (4, enc.output_size)
    if preset.action_mode == "learned":
        assert enc.id_names[:2] == ["action0", "action1"] and enc.output_size > enc.n_continuous
        obs2 = obs.clone()
        obs2[:, enc.n_continuous] = 200  # another action id -> another embedding
        assert not torch.equal(enc(obs2), out)
    else:
        assert enc.output_size == size and torch.equal(out, obs)


def test_heads():
    torch.manual_seed(0)
    nvec = [2] * 8 + [17] * 4 + [5]
    latent = torch.randn(6, 16)
    for head in (IndependentHead(16, nvec), AutoregressiveHead(16, nvec)):
        actions = head.sample(latent)
        assert actions.shape == (6, 13) and all((actions[:, k] < n).all() for k, n in enumerate(nvec))
        assert torch.equal(head.sample(latent, deterministic=True), head.sample(latent, deterministic=True))
        lp = head.log_prob(latent, actions)
        assert lp.shape == (6,) and (lp < 0).all()
    # The independent head is SB3's MultiCategorical layout: one linear layer, logits in order.
    head = IndependentHead(16, nvec)
    assert head.linear.out_features == sum(nvec)


def test_agent_delay_and_state():
    torch.manual_seed(0)
    net = PolicyNetwork("gru", {"hidden": 16}, obs_config=ObsConfig.learned())
    agent = Agent.from_network(net, delay=2, deterministic=True)
    agent.warmup()
    obs = np.random.default_rng(0).random((5, net.encoder.obs_size), dtype=np.float32)
    first = [agent.act(o) for o in obs]
    assert all(np.array_equal(a, agent.codec.noop()) for a in first[:2])
    undelayed = Agent.from_network(net, deterministic=True)
    direct = [undelayed.act(o) for o in obs]
    assert all(np.array_equal(a, b) for a, b in zip(first[2:], direct[:3], strict=True))
    agent.reset()
    assert np.array_equal(agent.act(obs[0]), agent.codec.noop())
    with pytest.raises(ValueError, match="takes 121"):
        undelayed.act(np.zeros(5))
