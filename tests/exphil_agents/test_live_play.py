"""The per-frame play path: the folded input layer, and agents compiled with ``torch.compile``."""

import numpy as np
import pytest
import torch

from exphil_agents.agent import Agent
from exphil_agents.backbones import BACKBONES
from exphil_agents.encoder import InputEncoder, ProjectedEncoder
from exphil_agents.network import PolicyNetwork
from melee_envs.obs import ObsConfig
from tests.exphil_agents.test_backbones import SMALL


def _observations(encoder: InputEncoder, frames: int, seed: int = 0) -> np.ndarray:
    """Random continuous values and ids, some of them out of range (the encoder clamps them)."""
    rng = np.random.default_rng(seed)
    obs = rng.random((frames, encoder.obs_size), dtype=np.float32)
    ids = rng.integers(-3, 500, (frames, len(encoder.id_names)))
    obs[:, encoder.n_continuous :] = ids
    return obs


def test_projected_encoder_equals_the_encoder_then_the_linear_layer():
    torch.manual_seed(0)
    encoder = InputEncoder(ObsConfig.learned())
    linear = torch.nn.Linear(encoder.output_size, 24)
    folded = ProjectedEncoder(encoder, linear)
    obs = torch.as_tensor(_observations(encoder, 12))
    with torch.no_grad():
        assert torch.allclose(folded(obs), linear(encoder(obs)), atol=1e-5)
        # Any leading shape: one frame, a batch, a batch of windows.
        assert folded(obs[0]).shape == (24,)
        assert torch.allclose(folded(obs.view(3, 4, -1)), linear(encoder(obs)).view(3, 4, -1), atol=1e-5)
    # A weight update (an optimizer step changes the tensors in place) rebuilds the tables.
    optimizer = torch.optim.SGD([*encoder.parameters(), *linear.parameters()], lr=0.5)
    linear(encoder(obs)).square().sum().backward()
    optimizer.step()
    with torch.no_grad():
        assert torch.allclose(folded(obs), linear(encoder(obs)), atol=1e-5)
        with pytest.raises(ValueError, match="observation has 5 values"):
            folded(torch.zeros(1, 5))


def test_projected_encoder_refuses_what_it_cannot_fold():
    with pytest.raises(ValueError, match="learned ids"):
        ProjectedEncoder(InputEncoder(ObsConfig()), torch.nn.Linear(10, 4))
    encoder = InputEncoder(ObsConfig.learned())
    with pytest.raises(ValueError, match=f"takes 7 features; the encoder makes {encoder.output_size}"):
        ProjectedEncoder(encoder, torch.nn.Linear(7, 4))


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_an_agent_plays_what_the_network_computes(name):
    """Frame by frame (folded input layer, stepped backbone) the agent picks the argmax of the
    network run over the whole sequence."""
    torch.manual_seed(0)
    net = PolicyNetwork(name, SMALL[name], obs_config=ObsConfig.learned())
    obs = _observations(net.encoder, 20)
    agent = Agent.from_network(net, deterministic=True)
    played = np.stack([agent.act(o) for o in obs])
    with torch.no_grad():
        latent, _ = net(torch.as_tensor(obs)[None])
        logits = net.head.logits(latent[0])
    expected = np.stack([part.argmax(-1).numpy() for part in logits.split(net.nvec, -1)], -1)
    assert np.array_equal(played, expected)


def _compile(agent: Agent) -> None:
    why = agent.compile()
    if why and "compiler" in why.lower():
        pytest.skip(f"torch.compile needs a C++ compiler here: {why}")
    assert why is None, why


@pytest.mark.parametrize("name", ["attention", "jamba"])
def test_a_compiled_agent_plays_like_the_eager_one(name):
    torch.manual_seed(0)
    net = PolicyNetwork(name, SMALL[name], obs_config=ObsConfig.learned())
    obs = _observations(net.encoder, 40)
    eager, compiled = Agent.from_network(net), Agent.from_network(net)
    _compile(compiled)
    assert compiled.compile() is None  # a second call is a no-op
    runs = []
    for agent in (eager, compiled):
        torch.manual_seed(7)  # sampled actions: the same seed draws the same noise
        first = [agent.act(o) for o in obs[:25]]
        agent.reset()  # a new game mid-run
        runs.append(np.stack(first + [agent.act(o) for o in obs[25:]]))
    assert np.array_equal(*runs)
    # Deterministic play, and a batch of games (another batch size compiles again).
    eager, compiled = Agent.from_network(net, deterministic=True), Agent.from_network(net, deterministic=True)
    _compile(compiled)
    assert np.array_equal(eager.actor.act_obs(obs[:3]), compiled.actor.act_obs(obs[:3]))


def test_an_agent_that_cannot_compile_says_why_and_plays_eager():
    torch.manual_seed(0)
    net = PolicyNetwork("gru", SMALL["gru"], obs_config=ObsConfig.learned())
    agent, eager = Agent.from_network(net, deterministic=True), Agent.from_network(net, deterministic=True)
    why = agent.compile()
    assert why is not None and "RNN" in why  # torch.compile does not capture nn.GRU modules
    obs = _observations(net.encoder, 5)
    assert all(np.array_equal(agent.act(o), eager.act(o)) for o in obs)


def test_many_compiled_agents_each_play_their_own_weights():
    """torch.compile keeps at most 8 compiled versions per function: ten agents of one
    architecture (a tournament's worth) each compile, and each plays its own weights."""
    nets = []
    for seed in range(10):
        torch.manual_seed(seed)
        nets.append(PolicyNetwork("mlp", {"hidden": 16, "layers": 1}, obs_config=ObsConfig.learned()))
    obs = _observations(nets[0].encoder, 6)
    played = []
    for net in nets:
        eager, compiled = Agent.from_network(net, deterministic=True), Agent.from_network(net, deterministic=True)
        _compile(compiled)
        actions = np.stack([compiled.act(o) for o in obs])
        assert np.array_equal(actions, np.stack([eager.act(o) for o in obs]))
        played.append(actions)
    assert len({a.tobytes() for a in played}) > 1  # the weights differ, so do the actions


def test_bench_agents_times_eager_compiled_and_onnx_beside_the_reference(capsys):
    from exphil_agents.bench import AgentBenchConfig, run

    config = AgentBenchConfig(backbones=("mlp", "gru"), act_frames=20, long_game=20, batch=4, window=4, ppo_steps=0)
    results = run(config)
    out = capsys.readouterr().out
    assert results["plain torch reference"]["median"] > 0 and "reference" in out
    assert results["mlp"]["vs_reference"] > 0
    assert results["gru"]["compiled"]["not_compiled"]  # says why it stays eager
    if "not_compiled" not in results["mlp"]["compiled"]:  # no C++ compiler: the line says why
        assert results["mlp"]["compiled"]["vs_reference"] > 0 and "with Agent.compile()" in out
    if "skipped" not in out:  # the export extra is installed
        assert all(results[n]["onnx"]["vs_reference"] > 0 for n in ("mlp", "gru"))
