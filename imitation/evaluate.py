"""Evaluate a BC checkpoint on held-out replays (``exphil bc eval``).

Each segment (one player's run of frames in one replay) goes through the network as a sequence,
so recurrent and windowed backbones see the history they would see when playing. Predictions are
the most likely value of each controller component. The report holds overall, per-part,
per-button and per-stick-axis accuracy, the most frequent main-stick confusions, predicted vs
true button press rates, loss per part, the network's confidence per part (and how often it is
right at each confidence), single-frame inference latency, and accuracy against the
input ``d`` frames later for ``d`` in ``0..max_delay`` (how much an online delay would cost).
Predictions are written to Parquet (CSV when pyarrow is missing) and the main-stick confusion
matrices to PNG.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imitation.config import OptimConfig
from imitation.losses import component_losses
from melee_envs.controller import ACTION_PARTS, ACTION_SIZE, MAIN_STICK, MAIN_X, STICK_AXES
from melee_envs.state import BUTTONS

PLAIN = OptimConfig()  # no label smoothing or focal weighting: the plain cross-entropy
AXES = STICK_AXES


@dataclass(frozen=True)
class EvalResult:
    report: dict[str, Any]
    predictions: np.ndarray  # (N, ACTION_SIZE)
    targets: np.ndarray  # (N, ACTION_SIZE)


def predict_dataset(network: Any, dataset: Any, shards: list[int] | None = None, max_examples: int = 0):
    """Predictions, targets, per-component losses (summed), segment ids and the network's
    confidence in each prediction (the probability it gives the predicted value of each
    component; NaN for an autoregressive head, whose components depend on earlier choices)."""
    preds, targets, seg_ids, confidence = [], [], [], []
    loss_sum = torch.zeros(ACTION_SIZE)
    count = 0
    network.eval()
    seg_counter = 0
    with torch.no_grad():
        for s in shards if shards is not None else range(len(dataset.shards)):
            shard = dataset.shards[s]
            for start, length in shard.segments[:, :2]:
                obs = torch.from_numpy(np.asarray(shard.obs[start : start + length], np.float32))[None]
                act = torch.from_numpy(np.asarray(shard.actions[start : start + length], np.int64))
                latent, _ = network(obs)
                loss_sum += component_losses(network, latent[0], act, PLAIN) * int(length)
                preds.append(network.head.sample(latent[0], deterministic=True).numpy())
                confidence.append(_confidence(network, latent[0]))
                targets.append(act.numpy())
                seg_ids.append(np.full(int(length), seg_counter))
                seg_counter += 1
                count += int(length)
                if max_examples and count >= max_examples:
                    break
            if max_examples and count >= max_examples:
                break
    if not preds:
        raise ValueError("no examples to evaluate")
    return (
        np.concatenate(preds),
        np.concatenate(targets),
        loss_sum / max(count, 1),
        np.concatenate(seg_ids),
        np.concatenate(confidence),
    )


def _confidence(network: Any, latent: torch.Tensor) -> np.ndarray:
    """``(frames, ACTION_SIZE)``: the largest probability of each component (independent head)."""
    if network.head_kind != "independent":
        return np.full((len(latent), ACTION_SIZE), np.nan, np.float32)
    parts = network.head.logits(latent).split(list(network.nvec), -1)
    return torch.stack([torch.softmax(p, -1).amax(-1) for p in parts], -1).numpy()


#: Confidence bands of the report: the share of predictions in each, and their accuracy.
BANDS = ((0.0, 0.5), (0.5, 0.9), (0.9, 1.01))


def confidence_report(pred: np.ndarray, target: np.ndarray, confidence: np.ndarray) -> dict[str, Any]:
    """Per controller part: the mean confidence, and per confidence band the share of
    predictions in it and how often they are right (a calibrated network is right about as often
    as it is confident)."""
    if np.isnan(confidence).all():
        return {}
    correct = pred == target
    out: dict[str, Any] = {}
    for name, s in ACTION_PARTS:
        conf, ok = confidence[:, s].ravel(), correct[:, s].ravel()
        bands = {}
        for low, high in BANDS:
            inside = (conf >= low) & (conf < high)
            label = f"{low:.1f}-{min(high, 1.0):.1f}"
            bands[label] = {
                "share": float(inside.mean()),
                "accuracy": float(ok[inside].mean()) if inside.any() else None,
            }
        out[name] = {"mean": float(conf.mean()), "bands": bands}
    return out


def report_for(pred: np.ndarray, target: np.ndarray, losses: torch.Tensor, segments: np.ndarray, max_delay: int):
    correct = pred == target
    report: dict[str, Any] = {"examples": int(len(pred)), "accuracy_all_components": float(correct.all(1).mean())}
    report["accuracy"] = {name: float(correct[:, s].mean()) for name, s in ACTION_PARTS}
    report["loss"] = {name: float(losses[s].sum()) for name, s in ACTION_PARTS}
    report["loss"]["total"] = float(losses.sum())
    report["button_accuracy"] = {b: float(correct[:, i].mean()) for i, b in enumerate(BUTTONS)}
    report["button_rate"] = {
        b: {"predicted": float(pred[:, i].mean()), "true": float(target[:, i].mean())} for i, b in enumerate(BUTTONS)
    }
    report["stick_axis_accuracy"] = {a: float(correct[:, MAIN_X + i].mean()) for i, a in enumerate(AXES)}
    report["stick_axis_within_one_bucket"] = {
        a: float((np.abs(pred[:, MAIN_X + i] - target[:, MAIN_X + i]) <= 1).mean()) for i, a in enumerate(AXES)
    }
    wrong = ~(correct[:, 8] & correct[:, 9])
    pairs: dict[tuple, int] = {}
    for t, p in zip(map(tuple, target[wrong, MAIN_STICK]), map(tuple, pred[wrong, MAIN_STICK]), strict=True):
        pairs[(t, p)] = pairs.get((t, p), 0) + 1
    top = sorted(pairs.items(), key=lambda kv: -kv[1])[:10]
    report["top_main_stick_confusions"] = [
        {"true": [int(v) for v in t], "predicted": [int(v) for v in p], "count": c} for (t, p), c in top
    ]
    delays = {}
    for d in range(max_delay + 1):
        same = segments[d:] == segments[: len(segments) - d] if d else np.ones(len(segments), bool)
        shifted = (pred[: len(pred) - d] == target[d:]) if d else correct
        delays[str(d)] = float(shifted[same].mean()) if same.any() else float("nan")
    report["accuracy_vs_input_d_frames_later"] = delays
    return report


def latency(network: Any, obs_size: int, frames: int = 300) -> dict[str, float]:
    """Per-frame inference time of ``network.step`` (batch 1, state carried), milliseconds."""
    network.eval()
    state = None
    x = torch.zeros(1, obs_size)
    times = []
    with torch.no_grad():
        for _ in range(frames):
            start = time.perf_counter()
            latent, state = network.step(x, state)
            network.head.sample(latent, deterministic=True)
            times.append((time.perf_counter() - start) * 1e3)
    t = np.array(times[20:])
    return {"p50_ms": float(np.percentile(t, 50)), "p99_ms": float(np.percentile(t, 99))}


def write_outputs(out: Path, result: EvalResult) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    report_path = out / "report.json"
    tmp = report_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.report, indent=1))
    tmp.replace(report_path)
    written.append(report_path)
    names = [f"{k}_{c}" for k in ("pred", "true") for c in (*BUTTONS, *AXES, "shoulder")]
    table = np.concatenate([result.predictions, result.targets], axis=1)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = out / "predictions.parquet"
        pq.write_table(pa.table({n: table[:, i] for i, n in enumerate(names)}), path)
    except ImportError:
        path = out / "predictions.csv"
        np.savetxt(path, table, fmt="%d", delimiter=",", header=",".join(names), comments="")
    written.append(path)
    for axis, k in (("main_x", 8), ("main_y", 9)):
        path = out / f"confusion_{axis}.png"
        _confusion_png(result.targets[:, k], result.predictions[:, k], 17, path)
        written.append(path)
    return written


def _confusion_png(true: np.ndarray, pred: np.ndarray, n: int, path: Path, cell: int = 16) -> None:
    """Row-normalised confusion matrix (rows: true bucket, columns: predicted) as a heatmap."""
    from melee_envs.render import save_png

    matrix = np.zeros((n, n), np.float64)
    np.add.at(matrix, (true.clip(0, n - 1), pred.clip(0, n - 1)), 1)
    matrix /= np.maximum(matrix.sum(1, keepdims=True), 1)
    heat = (np.sqrt(matrix) * 255).astype(np.uint8)
    image = np.zeros((n * cell, n * cell, 3), np.uint8)
    image[..., 0] = np.kron(heat, np.ones((cell, cell), np.uint8))
    image[..., 1] = image[..., 0] // 2
    image[::cell, :, :] = 40
    image[:, ::cell, :] = 40
    save_png(image, str(path))
