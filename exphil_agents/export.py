"""Trained agents as ONNX files, and ONNX files as players.

``exphil export MODEL --onnx agent.onnx`` writes the network behind any network actor (an SB3
``.zip`` of this package's policies or SB3's own, a RecurrentPPO model, a BC checkpoint, a league
snapshot, ``champion``) as one ONNX graph of a single decision:

* inputs ``obs`` (``(batch, F)`` own-view observations, or ``(batch, window, F)`` for a policy
  trained over a frame window) and, for networks with memory, ``state_in_K`` (the recurrent,
  Mamba or attention state, zeros at the start of a game);
* outputs ``logits`` (every action component's logits, concatenated), ``action`` (the controller
  action of the most likely choice, ``(batch, 13)`` int64, as the envs take it) and
  ``state_out_K`` (feed it back next frame).

The batch size is free. The file's metadata (``exphil`` key, JSON) records the observation
layout, the frame window and frame skip, the action components, the controller's stick buckets
and the state's shapes: enough to play it without this package. Here ``load_actor`` plays an
``.onnx`` file like any checkpoint (tournaments, ladder, ``exphil play``), with onnxruntime.

After writing, the export plays ``verify_frames`` frames of a mock game with the torch actor,
records its observations, and checks that onnxruntime picks the same action on every one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import tyro

from exphil_agents.actors import ENV_CODEC, ActorError, FrameNetwork, LogitSampler, NetActor, load_actor
from melee_envs.atomic import atomic_path
from melee_envs.controller import ACTION_SIZE, ControllerCodec
from melee_envs.messages import console, success
from melee_envs.obs import ObsConfig

#: Version of the metadata this module writes and reads.
FORMAT = 1
EXTRA = "pip install 'exphil[export]'"


@dataclass(frozen=True)
class ExportConfig:
    """Write a trained agent's network as an ONNX file, checked against torch."""

    model: Annotated[str, tyro.conf.Positional]
    """an SB3 .zip, a BC checkpoint, a league snapshot folder, or champion."""
    onnx: Path
    """the .onnx file to write (atomically)."""
    verify_frames: int = 1000
    """frames of a recorded mock game on which onnxruntime must choose torch's actions (0: skip)."""
    opponent: str = "scripted"
    """the bot the recorded game is played against."""
    seed: int = 0
    """the recorded game's seed."""
    allow_pickle: bool = False
    """load an SB3 .zip whose settings need unpickling (runs code from the file: trusted files only)."""


class _Decision(torch.nn.Module):
    """One decision of a :class:`FrameNetwork`, with the argmax action, as a module to export."""

    def __init__(self, frame: FrameNetwork) -> None:
        super().__init__()
        self.network = frame.module
        self._call = frame.call
        self._sampler = LogitSampler(frame.nvec)
        table = frame.table if frame.table is not None else np.zeros((0, ACTION_SIZE), np.int64)
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.long))
        self.lookup = frame.table is not None

    def forward(self, obs: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, state = self._call(obs, tuple(state))
        choice = self._sampler.pad(logits).argmax(-1)
        action = self.table[choice[:, 0]] if self.lookup else choice
        return (logits, action, *state)


def _frame_network(actor: Any, spec: str) -> FrameNetwork:
    if not isinstance(actor, NetActor):
        raise ActorError(f"{spec}: a bot, not a network: nothing to export")
    if actor.frame_network is None:
        raise ActorError(
            f"{spec}: an autoregressive head samples one component after another; export takes independent heads"
        )
    return actor.frame_network


def metadata(actor: NetActor, frame: FrameNetwork, spec: str) -> dict[str, Any]:
    """What a player of the file needs besides the graph."""
    state = frame.initial_state(1)
    return {
        "format": FORMAT,
        "source": spec,
        "obs_config": asdict(actor.obs_config),
        "obs_size": actor.encoder.size,
        "window": actor.window,
        "frame_skip": actor.repeat,
        "nvec": [int(n) for n in frame.nvec],
        "action_table": frame.table is not None,
        "stick_centres": [float(v) for v in actor.codec.stick_centres],
        "shoulder_levels": [float(v) for v in actor.codec.shoulder_levels],
        "state": [list(s.shape[1:]) for s in state],
    }


def export(config: ExportConfig) -> dict[str, Any]:
    """Write ``config.onnx`` and verify it; returns its metadata and the verification counts."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"ONNX export needs onnx, onnxscript and onnxruntime: {EXTRA}") from None
    if config.verify_frames < 0:
        raise ValueError(f"--verify-frames must be >= 0; got {config.verify_frames}")
    if config.onnx.suffix != ".onnx":
        raise ValueError(f"--onnx {config.onnx}: expected a .onnx file name")
    from melee_envs.threads import training_threads

    console().print(training_threads("rl"), markup=False)  # the engine and the network take turns
    spec = str(config.model)
    actor = load_actor(spec, deterministic=True, allow_pickle=config.allow_pickle, env_controller=False)
    frame = _frame_network(actor, spec)
    meta = metadata(actor, frame, spec)
    module = _Decision(frame).eval()
    shape = (2, actor.window, actor.encoder.size) if actor.window > 1 else (2, actor.encoder.size)
    example = (torch.zeros(shape), *frame.initial_state(2))
    names = ["obs"] + [f"state_in_{k}" for k in range(len(example) - 1)]
    outputs = ["logits", "action"] + [f"state_out_{k}" for k in range(len(example) - 1)]
    batch = torch.export.Dim("batch", min=1)
    dynamic: tuple = ({0: batch},)  # forward(obs, *state): the state is one tuple input
    if len(example) > 1:
        dynamic += (tuple({0: batch} for _ in example[1:]),)
    import logging
    import warnings

    quiet = logging.getLogger("torch.onnx")  # notes on torchvision ops this graph does not use
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                module, example, input_names=names, output_names=outputs, dynamic_shapes=dynamic, dynamo=True,
                verbose=False,
            )  # fmt: skip
        finally:
            quiet.setLevel(level)
    model = program.model_proto
    onnx.helper.set_model_props(model, {"exphil": json.dumps(meta)})
    config.onnx.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(config.onnx) as tmp:
        onnx.save(model, str(tmp))
    size = config.onnx.stat().st_size
    print(f"{config.onnx}: {spec} as ONNX ({size / 1e6:.2f} MB; inputs {', '.join(names)})")
    result = {"metadata": meta, "bytes": size}
    if config.verify_frames:
        obs, starts = record_observations(actor, config.verify_frames, config.opponent, config.seed)
        check = verify(frame, actor.window, config.onnx, obs, starts)
        result["verified"] = check
        success(
            f"verified: onnxruntime and torch choose the same action on {check['same']}/{check['frames']} "
            f"recorded frames"
            + (f" ({check['ties']} more are ties of torch's own logits)" if check["ties"] else "")
            + f"; largest logit difference {check['max_logit_diff']:.1e}"
        )
    return result


def main(config: ExportConfig) -> None:
    export(config)


# -- recording and comparing -----------------------------------------------------------------------


def record_observations(actor: NetActor, frames: int, opponent: str = "scripted", seed: int = 0):
    """``frames`` own-view observations of ``actor`` playing port 1 against ``opponent`` in the
    mock engine (deciding every frame), and the frames where a new game starts (``(frames, F)``,
    ``(frames,)`` bool)."""
    from melee_envs.backends.mock import MockBackend, MockConfig

    backend = MockBackend(1, MockConfig())
    bot = load_actor(opponent, seed=seed)
    if isinstance(bot, NetActor):
        raise ActorError(f"--opponent {opponent}: the recorded game needs a bot")
    backend.reset(seed)
    actor.reset(1)
    one, zero, flat = np.array([0]), np.array([0]), np.array([False])
    obs = np.empty((frames, actor.encoder.size), np.float32)
    starts = np.zeros(frames, bool)
    starts[0] = True
    actions = np.zeros((1, 2, ACTION_SIZE), np.int64)
    for t in range(frames):
        if backend.done[0]:
            backend.reset(seed + t)
            actor.reset(1)
            starts[t] = True
        obs[t] = actor.encoder.encode_games(backend.packed, one, zero, flat)[0]
        action = actor.act_obs(obs[t : t + 1])[0]
        if not np.array_equal(actor.codec.stick_centres, ENV_CODEC.stick_centres):  # its own buckets: the env's nearest
            action = ENV_CODEC.encode(actor.codec.decode(action))
        actions[0, 0] = action
        actions[0, 1] = bot.act(backend, 1)[0]
        backend.step(actions, checked=True)
    return obs, starts


def verify(frame: FrameNetwork, window: int, path: str | Path, obs: np.ndarray, starts: np.ndarray,
           tie: float = 1e-4) -> dict[str, Any]:  # fmt: skip
    """Replay recorded frames (a new game where ``starts``) through the torch network and the
    exported file, each carrying its own state (and frame window), and compare their choices.

    A choice that differs counts as a tie when torch's logits of the two choices are within
    ``tie`` of each other (float rounding can order them either way).

    Returns:
        ``frames``, ``same`` (frames with every component chosen alike), ``ties`` (the others,
        all ties), ``max_logit_diff``.

    Raises:
        RuntimeError: a frame where the two choose differently and it is not a tie.
    """
    session = _session(path)
    sampler = LogitSampler(frame.nvec)
    rows = np.arange(len(frame.nvec))

    def choices(logits: np.ndarray) -> np.ndarray:
        return sampler(torch.as_tensor(logits), deterministic=True)[0]

    frames = np.zeros((1, window, obs.shape[1]), np.float32)
    state_t: tuple = ()
    state_o: list[np.ndarray] = []
    same = ties = 0
    worst = 0.0
    for t in range(len(obs)):
        if starts[t]:
            state_t = frame.initial_state(1)
            state_o = [s.numpy() for s in state_t]
            frames[:] = 0
        frames[:, :-1], frames[:, -1] = frames[:, 1:].copy(), obs[t]
        x = frames if window > 1 else obs[t : t + 1]
        with torch.inference_mode():
            logits_t, state_t = frame.call(torch.as_tensor(x), state_t)
        logits_t = logits_t.numpy()
        feed = {"obs": x, **{f"state_in_{k}": s for k, s in enumerate(state_o)}}
        logits_o, _, *state_o = session.run(None, feed)
        worst = max(worst, float(np.abs(logits_t - logits_o).max()))
        mine, theirs = choices(logits_t), choices(logits_o)
        if np.array_equal(mine, theirs):
            same += 1
            continue
        padded = sampler.pad(torch.as_tensor(logits_t))[0].numpy()
        gaps = padded[rows, mine] - padded[rows, theirs]
        if gaps.max() > tie:
            raise RuntimeError(
                f"{path}: frame {t}: onnxruntime chose {theirs.tolist()}, torch {mine.tolist()} "
                f"(torch's logits {gaps.max():.2g} apart; largest logit difference {worst:.2g})"
            )
        ties += 1
    return {"frames": len(obs), "same": same, "ties": ties, "max_logit_diff": worst}


def _session(path: str | Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# -- playing an ONNX file --------------------------------------------------------------------------


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``exphil`` metadata of an exported file (raises ActorError naming the file)."""
    try:
        import onnx
    except ImportError:
        raise ActorError(f"{path}: playing an ONNX file needs onnxruntime and onnx: {EXTRA}") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 -- onnx raises several kinds for a corrupt file
        raise ActorError(f"{path}: not a readable ONNX file ({type(exc).__name__})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if "exphil" not in props:
        raise ActorError(f"{path}: an ONNX file without exphil metadata (written by `exphil export`?)")
    meta = json.loads(props["exphil"])
    if meta.get("format") != FORMAT:
        raise ActorError(f"{path}: exphil ONNX format {meta.get('format')}; this version reads {FORMAT}")
    return meta


def load_onnx_actor(path: str | Path, deterministic: bool = False, delay: int = 0, threads: int = 1) -> NetActor:
    """An exported file as a :class:`~exphil_agents.actors.NetActor` run by onnxruntime
    (``threads`` intra-op threads: 1 keeps a busy machine from oversubscribing)."""
    meta = read_metadata(path)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ActorError(f"{path}: playing an ONNX file needs onnxruntime: {EXTRA}") from None
    session = _session(path, threads)
    shapes = [tuple(s) for s in meta["state"]]
    sampler = None if deterministic else LogitSampler(meta["nvec"])
    from melee_envs.controller import discrete_table

    codec = ControllerCodec(np.array(meta["stick_centres"], np.float32), np.array(meta["shoulder_levels"], np.float32))
    table = discrete_table(codec).astype(np.int64) if meta["action_table"] else None

    def act(obs: np.ndarray, state: Any, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        rows = len(obs)
        if state is None:
            state = [np.zeros((rows, *s), np.float32) for s in shapes]
        elif starts.any():
            state = [s * ~starts.reshape((-1,) + (1,) * (s.ndim - 1)) for s in state]
        feed = {"obs": np.ascontiguousarray(obs, np.float32)}
        feed.update({f"state_in_{k}": s for k, s in enumerate(state)})
        logits, action, *state = session.run(None, feed)
        if sampler is not None:
            choice = sampler(torch.from_numpy(logits))
            action = table[choice[:, 0]] if table is not None else choice
        return action, state

    actor = NetActor(str(path), act, ObsConfig.from_dict(meta["obs_config"]), window=meta["window"],
                     stateless=not shapes, delay=delay, codec=codec)  # fmt: skip
    actor.repeat = max(int(meta["frame_skip"]), 1)
    return actor
