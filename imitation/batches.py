"""Training batches for BC: examples cut from the dataset (windows, delay augmentation, noise),
prepared one batch ahead on a thread, and the progress bar."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from imitation.dataset import ReplayDataset
from melee_envs.controller import ACTION_SIZE
from melee_envs.obs import ObservationEncoder

if TYPE_CHECKING:
    from imitation.bc import Trainer


class Batches:
    """Deterministic batches from a subset of a dataset's shards, with optional augmentation:
    Gaussian ``noise`` on continuous features and targets ``delay_min..delay_max`` frames later."""

    def __init__(
        self,
        dataset: ReplayDataset,
        shards: np.ndarray,
        window: int,
        noise: float = 0.0,
        delays: tuple = (0, 0),
        preload_mb: float = 2048.0,
    ) -> None:
        self.dataset, self.window, self.noise, self.delays = dataset, window, noise, delays
        # Shards are memory-mapped; when this split fits in ``preload_mb`` (as float32) it is read
        # into RAM once, so batches are plain gathers: no page faults, no float16 conversion.
        size = sum(dataset.shards[s].obs.size * 4 for s in shards) / 2**20
        self.obs = {int(s): dataset.shards[s].obs for s in shards}
        self.flat: tuple[np.ndarray, np.ndarray, dict[int, int]] | None = None
        if size <= preload_mb:  # one array for the split: a batch is a single gather
            starts = np.cumsum([0] + [len(dataset.shards[s].actions) for s in shards])
            self.flat = (
                np.concatenate([np.asarray(dataset.shards[s].obs, np.float32) for s in shards]),
                np.concatenate([dataset.shards[s].actions for s in shards]).astype(np.int64),
                {int(s): int(starts[i]) for i, s in enumerate(shards)},
            )
        need = window + delays[1]
        self.segments = [
            (int(s), int(a), int(n)) for s in shards for a, n in dataset.shards[s].segments[:, :2] if n >= need
        ]
        if not self.segments:
            raise ValueError(f"{dataset.directory}: no segment of {need} frames in this split")
        self.weights = np.array([n - need + 1 for _, _, n in self.segments], np.float64)
        self.weights /= self.weights.sum()
        self._table = np.array(self.segments, np.int64)
        if self.flat is not None:  # segment starts in the split's single array
            self._global = np.array([self.flat[2][s] + a for s, a, _ in self.segments], np.int64)
        self.continuous = np.ones(dataset.obs_size, bool)
        ids = ObservationEncoder(dataset.config.obs).layout.get("ids")
        if ids is not None:
            self.continuous[ids] = False

    def get(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        chosen = rng.choice(len(self.segments), size=batch, p=self.weights)
        lo, hi = self.delays
        delay = rng.integers(lo, hi + 1, size=batch) if hi > lo else np.full(batch, lo)
        seg = self._table[chosen]  # (shard, start, length) per example
        into = (rng.random(batch) * (seg[:, 2] - self.window - hi + 1)).astype(np.int64)  # offset in segment
        steps = np.arange(self.window)
        if self.flat is not None:
            at = (self._global[chosen] + into)[:, None] + steps
            obs = self.flat[0][at]
            actions = self.flat[1][at + delay[:, None]]
            if self.noise > 0:
                obs[..., self.continuous] += rng.normal(
                    0.0, self.noise, (batch, self.window, int(self.continuous.sum()))
                )
            return obs, actions
        obs = np.empty((batch, self.window, self.dataset.obs_size), np.float32)
        actions = np.empty((batch, self.window, ACTION_SIZE), np.int64)
        for s in np.unique(seg[:, 0]):  # one gather per shard
            rows = np.flatnonzero(seg[:, 0] == s)
            at = (seg[rows, 1] + into[rows])[:, None] + steps
            obs[rows] = np.asarray(self.obs[s][at], np.float32)
            actions[rows] = self.dataset.shards[s].actions[at + delay[rows, None]]
        if self.noise > 0:
            obs[..., self.continuous] += rng.normal(0.0, self.noise, (batch, self.window, int(self.continuous.sum())))
        return obs, actions


class _Prefetch:
    """The batches of each step. When a core is left over after torch's threads, a background
    thread draws them two steps ahead so loading overlaps the model's work; otherwise they are
    drawn in place (a thread would only compete with torch for the cores: measured slower on
    2 cores). Either way batches are a function of ``(seed, step)``."""

    def __init__(self, trainer: Trainer, first: int, end: int, ahead: int = 2, threaded: bool | None = None) -> None:
        import queue
        import threading

        self.trainer, self.queue = trainer, queue.Queue(maxsize=ahead)
        self.halt = threading.Event()
        if threaded is None:
            threaded = (os.cpu_count() or 1) > torch.get_num_threads()
        self.thread = threading.Thread(target=self._run, args=(first, end), daemon=True) if threaded else None
        if self.thread is not None:
            self.thread.start()

    def draw(self, step: int) -> tuple[int, list]:
        cfg = self.trainer.config.optim
        rng = np.random.default_rng([self.trainer.config.runtime.seed, step])
        torch_seed = int(rng.integers(2**62))
        return torch_seed, [self.trainer.train_data.get(cfg.batch_size, rng) for _ in range(cfg.accumulate)]

    def _run(self, first: int, end: int) -> None:
        import queue

        for step in range(first, end):
            item = (step, *self.draw(step))
            while not self.halt.is_set():
                try:
                    self.queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self.halt.is_set():
                return

    def next(self, step: int) -> tuple[int, list]:
        if self.thread is None:
            return self.draw(step)
        got, torch_seed, micro = self.queue.get()
        if got != step:  # cannot happen: one producer, in order
            raise RuntimeError(f"batch for step {got} arrived at step {step}")
        return torch_seed, micro

    def stop(self) -> None:
        self.halt.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def _progress(enabled: bool, done: int, total: int) -> Any:
    """A rich progress bar with ETA and a loss sparkline (field ``trend``; None when disabled)."""
    if not enabled:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), TextColumn("loss {task.fields[trend]}"),
    )  # fmt: skip
    bar.add_task("steps", total=total, completed=done, trend="")
    bar.start()
    return bar
