"""Agent benchmarks, on CPU: live-play latency, training throughput, PPO training speed.

(a) ``Agent.act`` latency per frame at batch 1 (median, 99th percentile) against the 16.7 ms
    frame budget, and for every backbone the median after ``long_game`` frames next to the first
    frames (flat = the cost does not grow with the game); beside them, in the same run, a plain
    torch reference: an ``nn.Sequential`` MLP with as many parameters as the default MLP policy,
    called on the same observations and reduced to the action by one argmax per component, so
    each backbone's ``act`` is also given as a multiple of what torch itself takes;
(b) training throughput: forward + backward of the policy network (independent head, BC loss) at
    ``batch`` x ``window`` frames, in samples (frames) per second;
(c) PPO training steps/s in Melee-v0 per policy, next to SB3's stock ``MlpPolicy`` and
    sb3-contrib's stock ``RecurrentPPO`` LSTM policy at matched sizes, in the same run.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from exphil_agents.agent import Agent
from exphil_agents.backbones import BACKBONES, describe
from exphil_agents.network import PolicyNetwork
from melee_envs.obs import ObsConfig

FRAME_BUDGET_MS = 1000 / 60


@dataclass(frozen=True)
class AgentBenchConfig:
    """Benchmark every backbone's live-play latency, training throughput and PPO speed."""

    backbones: tuple[str, ...] = tuple(BACKBONES)
    act_frames: int = 2000
    """timed ``act`` calls per backbone (after warm-up)."""
    long_game: int = 5000
    """frames played before the late-game latency sample."""
    batch: int = 256
    window: int = 60
    train_iters: int = 3
    ppo_steps: int = 4096
    """PPO steps per policy for (c); 0 skips (c)."""
    ppo_window: int = 8
    """frame window of the windowed PPO policies in (c)."""
    threads: int = 1
    """torch threads (1: the per-core figure)."""
    compiled: bool = True
    """also time each backbone's ``act`` after ``Agent.compile()`` (torch.compile)."""
    onnx: bool = True
    """also time ``act`` through the backbone exported by ``exphil export`` and run by
    onnxruntime (skipped, with a note, without the export extra)."""


def _onnx_agent(net: PolicyNetwork) -> Agent:
    """``net`` exported by ``exphil export`` to a temporary file, played by onnxruntime."""
    import contextlib
    import io
    import tempfile
    from pathlib import Path

    from exphil_agents.export import ExportConfig, export, load_onnx_actor
    from exphil_agents.network import save_checkpoint

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        checkpoint = save_checkpoint(net, Path(tmp) / "net.safetensors")
        export(ExportConfig(str(checkpoint), Path(tmp) / "net.onnx", verify_frames=0))
        return Agent(load_onnx_actor(Path(tmp) / "net.onnx"))


def _act_latency(net: PolicyNetwork, frames: int, long_game: int, mode: str = "eager") -> dict[str, Any]:
    """``act`` latency of ``net`` as an :class:`Agent`: ``eager``, ``compiled`` or ``onnx``."""
    if mode == "onnx":
        agent = _onnx_agent(net)
    else:
        agent = Agent.from_network(net)
    if mode == "compiled" and (why := agent.compile()):
        return {"not_compiled": why}
    agent.warmup()
    rng = np.random.default_rng(0)
    obs = rng.random((64, net.encoder.obs_size), dtype=np.float32)
    obs[:, net.encoder.n_continuous :] = rng.integers(0, 30, (64, len(net.encoder.id_names)))
    times = np.empty(frames)
    for k in range(frames):
        start = time.perf_counter()
        agent.act(obs[k % 64])
        times[k] = time.perf_counter() - start
    for k in range(max(long_game - frames, 0)):
        agent.act(obs[k % 64])
    late = np.empty(200)
    for k in range(200):
        start = time.perf_counter()
        agent.act(obs[k % 64])
        late[k] = time.perf_counter() - start
    ms = times * 1e3
    return {"median": float(np.median(ms)), "p99": float(np.percentile(ms, 99)), "late": float(np.median(late) * 1e3)}


def _onnx_rows(config: AgentBenchConfig, obs: dict[str, Any], ref: dict[str, float], results: dict) -> None:
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        print("act through onnxruntime: skipped (pip install 'exphil[export]')")
        return
    print("act through onnxruntime (exphil export, one intra-op thread):")
    for name in config.backbones:
        torch.manual_seed(0)
        lat = _act_latency(PolicyNetwork(name, obs_config=obs), config.act_frames, config.long_game, "onnx")
        lat["vs_reference"] = lat["median"] / ref["median"]
        results[name]["onnx"] = lat
        print(f"  {name:10s} {lat['median']:7.3f}ms {lat['p99']:7.3f}ms  {lat['vs_reference']:5.2f}x")


def _reference_latency(obs_size: int, nvec: list[int], params: int, frames: int) -> dict[str, float]:
    """``act``-like latency of a plain torch MLP (two hidden layers, ``params`` parameters)."""
    out = sum(nvec)
    hidden = int((-(obs_size + out + 2) + ((obs_size + out + 2) ** 2 + 4 * (params - out)) ** 0.5) / 2)
    net = torch.nn.Sequential(
        torch.nn.Linear(obs_size, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, out),
    ).eval()
    obs = np.random.default_rng(0).random((64, obs_size), dtype=np.float32)
    times = np.empty(frames)
    with torch.inference_mode():
        for k in range(-50, frames):  # 50 warm-up calls
            start = time.perf_counter()
            logits = net(torch.as_tensor(obs[k % 64 : k % 64 + 1]))
            np.array([part.argmax(-1).item() for part in logits.split(nvec, -1)])
            if k >= 0:
                times[k] = time.perf_counter() - start
    ms = times * 1e3
    return {
        "median": float(np.median(ms)),
        "p99": float(np.percentile(ms, 99)),
        "params": sum(p.numel() for p in net.parameters()),
    }


def _train_throughput(net: PolicyNetwork, batch: int, window: int, iters: int) -> float:
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    obs = torch.rand(batch, window, net.encoder.obs_size)
    obs[..., net.encoder.n_continuous :] = torch.randint(0, 30, (batch, window, len(net.encoder.id_names))).float()
    actions = torch.stack([torch.randint(0, n, (batch, window)) for n in net.nvec], -1)

    def one() -> None:
        latent, _ = net(obs)
        loss = -net.head.log_prob(latent, actions).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    one()  # warm-up
    start = time.perf_counter()
    for _ in range(iters):
        one()
    return batch * window * iters / (time.perf_counter() - start)


def _ppo_fps(config: AgentBenchConfig) -> dict[str, float]:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from exphil_agents.policies import BackbonePolicy, RecurrentBackbonePolicy, frame_window

    env = {"opponent": "idle", "render_mode": None, "stocks": 1, "time_limit_minutes": 0.5}
    common = {"n_steps": 256, "batch_size": 256, "n_epochs": 2, "seed": 0, "device": "cpu"}
    hidden = 64
    runs = {
        "stock MlpPolicy (PPO)": ("ppo", "MlpPolicy", 1, {"net_arch": [hidden, hidden]}),
        "stock RecurrentPPO LSTM": ("rppo", "MlpLstmPolicy", 1, {"lstm_hidden_size": hidden, "net_arch": []}),
        "RecurrentBackbonePolicy gru": (
            "rppo",
            RecurrentBackbonePolicy,
            1,
            {"cell": "gru", "lstm_hidden_size": hidden, "net_arch": []},
        ),
    }
    sizes = {
        "mlp": {"hidden": hidden},
        "lstm": {"hidden": hidden},
        "gru": {"hidden": hidden},
        "mamba": {"d_model": hidden, "layers": 1},
        "attention": {"d_model": hidden, "layers": 1, "window": config.ppo_window},
        "jamba": {"d_model": hidden, "layers": 2, "attention_every": 2, "window": config.ppo_window},
    }
    for name in config.backbones:
        window = 1 if name == "mlp" else config.ppo_window
        runs[f"BackbonePolicy {name} (window {window})"] = (
            "ppo", BackbonePolicy, window, {"backbone": name, "backbone_config": sizes[name]},
        )  # fmt: skip
    out = {}
    for label, (algo, policy, window, kwargs) in runs.items():
        wrapper = {"wrapper_class": frame_window, "wrapper_kwargs": {"window": window}} if window > 1 else {}
        venv = make_vec_env("Melee-v0", n_envs=4, seed=0, env_kwargs=env, **wrapper)
        cls = PPO if algo == "ppo" else RecurrentPPO
        model = cls(policy, venv, policy_kwargs=kwargs, **common)
        model.learn(512)  # warm-up
        start = time.perf_counter()
        model.learn(config.ppo_steps, reset_num_timesteps=False)
        out[label] = config.ppo_steps / (time.perf_counter() - start)
    return out


def run(config: AgentBenchConfig) -> dict[str, dict[str, float]]:
    torch.set_num_threads(config.threads)
    obs = dataclasses.asdict(ObsConfig.learned())
    results: dict[str, dict[str, float]] = {}
    print(
        f"CPU, {config.threads} torch thread(s); ObsConfig.learned() observations; "
        f"frame budget {FRAME_BUDGET_MS:.1f} ms"
    )
    print(
        f"{'backbone':10s} {'params':>9s} {'act med':>8s} {'act p99':>8s} {'late med':>9s} "
        f"{'train samples/s':>16s} {'x ref':>6s}" + ("  compiled: med      p99  x ref" if config.compiled else "")
    )
    mlp = PolicyNetwork("mlp", obs_config=obs)
    ref = _reference_latency(
        mlp.encoder.obs_size, list(mlp.nvec), sum(p.numel() for p in mlp.parameters()), config.act_frames
    )
    results["plain torch reference"] = ref
    print(
        f"{'reference':10s} {ref['params']:9,d} {ref['median']:7.3f}ms {ref['p99']:7.3f}ms  (plain torch MLP, argmax)"
    )
    for name in config.backbones:
        torch.manual_seed(0)
        net = PolicyNetwork(name, obs_config=obs)
        params = sum(p.numel() for p in net.parameters())
        lat = _act_latency(net, config.act_frames, config.long_game)
        train = _train_throughput(net, config.batch, config.window, config.train_iters)
        ratio = lat["median"] / ref["median"]
        results[name] = {**lat, "train_samples_per_s": train, "params": params, "vs_reference": ratio}
        line = (
            f"{name:10s} {params:9,d} {lat['median']:7.3f}ms {lat['p99']:7.3f}ms {lat['late']:8.3f}ms "
            f"{train:16,.0f} {ratio:5.2f}x"
        )
        if config.compiled:
            fast = _act_latency(net, config.act_frames, config.long_game, "compiled")
            results[name]["compiled"] = fast
            if "not_compiled" in fast:
                line += f"  not compiled ({fast['not_compiled'][:60]})"
            else:
                fast["vs_reference"] = fast["median"] / ref["median"]
                line += f"  {fast['median']:7.3f}ms {fast['p99']:7.3f}ms {fast['vs_reference']:5.2f}x"
        print(line)
    if "mamba" in results and "gru" in results:
        print(f"mamba / gru act median: {results['mamba']['median'] / results['gru']['median']:.2f} (target <= 2)")
    nets = [results[n] for n in config.backbones]
    worst = max(r["p99"] for r in nets)
    print(f"worst p99 act: {worst:.3f} ms (target < 2 ms; frame budget {FRAME_BUDGET_MS:.1f} ms)")
    print(f"worst act median / plain torch reference: {max(r['vs_reference'] for r in nets):.2f}x (target <= 3)")
    if config.onnx:
        _onnx_rows(config, obs, ref, results)
    if config.compiled:  # an agent that cannot compile plays eager: its eager figures count
        best = [r["compiled"] if "vs_reference" in r["compiled"] else r for r in nets]
        print(
            f"with Agent.compile(): worst p99 {max(r['p99'] for r in best):.3f} ms, "
            f"worst median / reference {max(r['vs_reference'] for r in best):.2f}x"
        )
    print("default sizes:\n" + "\n".join(describe(PolicyNetwork(n, obs_config=obs).backbone) for n in config.backbones))
    if config.ppo_steps:
        fps = _ppo_fps(config)
        base = fps["stock MlpPolicy (PPO)"]
        print(f"\nPPO training in Melee-v0 (4 envs, {config.ppo_steps} steps, hidden 64):")
        for label, value in fps.items():
            print(f"  {label:40s} {value:9,.0f} steps/s  {base / value:5.2f}x slower than stock MLP")
        results["ppo_fps"] = fps
    return results


def main(config: AgentBenchConfig) -> None:
    run(config)
