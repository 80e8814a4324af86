"""Behavioural cloning: train a :class:`~exphil_agents.network.PolicyNetwork` on a built replay
dataset, with checkpoints that resume exactly.

Batches are a pure function of ``(seed, step)``: the examples of step ``k`` are drawn from
``numpy.random.default_rng([seed, k])`` and torch's generator is reseeded from the same pair, so
a run resumed from a checkpoint at step ``k`` sees exactly the batches (and dropout masks) the
uninterrupted run saw, and ends with the same weights. The validation split is by replay file:
no frame of a validation replay is ever trained on.

A checkpoint is a directory: ``model.safetensors`` (weights + the network's JSON spec, readable by
:func:`~exphil_agents.network.load_checkpoint`), ``trainer.pt`` (optimizer, scheduler, EMA
weights, step, best validation loss), ``meta.json`` (config, metrics) and ``checksums.json``
(SHA-256 of the other three). It is written to a temporary directory and renamed into place; an
existing one is kept as ``NAME.bak`` (older backups shift to ``.bak.1``, ``.bak.2``, ...), never
silently overwritten. A resume checks the sums and falls back to the newest intact backup,
saying which it skipped and why.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from exphil_agents.network import PolicyNetwork, save_checkpoint, weights_snapshot
from imitation import distributed
from imitation.batches import Batches, _Prefetch, _progress
from imitation.config import BCConfig
from imitation.dataset import ReplayDataset
from imitation.losses import _lr_lambda, component_losses, total_loss
from imitation.runs import CHECKSUMS, _rotate_backups, lock_run, resume_source, split_as_saved, split_by_file
from melee_envs.atomic import file_sha256
from melee_envs.controller import ACTION_PARTS, ACTION_SIZE
from melee_envs.messages import warning
from melee_envs.sparkline import binned, sparkline

#: Used share of a GPU's memory above which training warns once (at an evaluation).
GPU_MEMORY_WARN = 0.9
#: Checkpoint writes in flight at most; a save beyond waits for the oldest (a disk slower than training).
MAX_PENDING_WRITES = 2
#: A checkpoint folder above this many bytes is reported once per run (it may hold state nobody needs).
LARGE_CHECKPOINT = 500e6
#: The progress bar's loss sparkline: the last TREND_STEPS step losses in TREND_WIDTH bars.
TREND_STEPS, TREND_WIDTH = 1000, 24


def gpu_memory_note(device: torch.device) -> str | None:
    """A warning when the CUDA device ``device`` has less than 1 - GPU_MEMORY_WARN of its memory
    free (the next larger batch or activation would run out), else None (and on CPU)."""
    if device.type != "cuda":
        return None
    free, total = torch.cuda.mem_get_info(device)
    used = (total - free) / max(total, 1)
    if used < GPU_MEMORY_WARN:
        return None
    return (
        f"warning: {device} has {used:.0%} of its {total / 2**30:.1f} GiB in use; training is close to running "
        "out of GPU memory: a smaller --optim.batch-size (with --optim.accumulate to keep the batch) or "
        "--optim.precision bf16 makes room"
    )


class Trainer:
    """Train (or resume) one BC run in ``out_dir`` on the dataset at ``dataset_dir``."""

    def __init__(self, dataset_dir: str | Path, out_dir: str | Path, config: BCConfig) -> None:
        config.validate()
        self.out = Path(out_dir)
        self._saver: ThreadPoolExecutor | None = None  # the checkpoint writer thread
        self._pending: list[Future] = []
        # One process, or this one's rank under torchrun.
        self.world = distributed.start(distributed.device_kind(config.optim.device))
        # One writer per run folder: the main process holds the lock until train() returns (or close()).
        self._lock = lock_run(self.out) if self.world.main else None
        try:
            self._setup(dataset_dir, config)
        except BaseException:
            self.close()
            raise

    def _setup(self, dataset_dir: str | Path, config: BCConfig) -> None:
        self.config = config
        data, optim, seed = config.data, config.optim, config.runtime.seed
        self.dataset = ReplayDataset(dataset_dir)
        source = resume_source(self.out)
        if source is None:
            train_shards, val_shards = split_by_file(self.dataset, data.val_fraction, seed)
        else:  # the run's validation replays stay its validation replays, whatever was added since
            saved = json.loads((source / "meta.json").read_text()).get("val_files", [])
            train_shards, val_shards = split_as_saved(self.dataset, saved, source)
        self.train_shards, self.val_shards = train_shards, val_shards
        self.train_data = Batches(self.dataset, train_shards, data.window, data.noise, (data.delay_min, data.delay_max))
        self.val_data = Batches(self.dataset, val_shards, data.window)
        self.val_files = [str(Path(self.dataset.shards[s].info["source"]).resolve()) for s in val_shards]
        torch.manual_seed(seed)
        codec = self.dataset.config.codec()
        self.network = PolicyNetwork(
            config.model.backbone, config.model.backbone_config, self.dataset.config.obs, nvec=codec.nvec.tolist(),
            stick_centres=codec.stick_centres.tolist(),
        )  # fmt: skip
        want = distributed.device_kind(optim.device)
        if want == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but torch sees no CUDA device; use --optim.device cpu or auto")
        one_gpu_each = want == "cuda" and self.world.distributed
        self.device = torch.device(f"cuda:{self.world.local_rank}" if one_gpu_each else want)
        self.network.to(self.device)
        if self.world.distributed and optim.batch_size % self.world.size:
            raise ValueError(
                f"optim.batch_size {optim.batch_size} does not split over {self.world.size} processes; use a multiple "
                f"of {self.world.size} (it is the global batch: each process takes batch_size / {self.world.size})"
            )
        self.model: Any = self.network  # what training calls: DistributedDataParallel over it on several processes
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.network, device_ids=ids)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(optim.precision)
        self.autocast_dtype = dtype
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=optim.precision == "fp16")
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _lr_lambda(optim))
        self.ema = (
            torch.optim.swa_utils.AveragedModel(
                self.network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(optim.ema)
            )
            if optim.ema
            else None
        )
        self.step = 0
        self.best = math.inf
        self.stale = 0
        self.history: list[dict[str, float]] = []
        self._warned_size = self._warned_memory = False
        if source is not None:
            self._resume(source)

    def close(self) -> None:
        """Finish the checkpoint writes in flight, then release the run folder (also done when
        the process ends)."""
        try:
            self.flush()
        finally:
            if self._saver is not None:
                self._saver.shutdown(wait=True)
                self._saver = None
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- checkpoints ------------------------------------------------------------------------------

    def _resume(self, path: Path) -> None:
        from exphil_agents.network import load_weights, read_spec

        spec, mine = read_spec(path / "model.safetensors"), self.network.spec
        keys = ("backbone", "backbone_config", "obs_config", "head", "nvec", "stick_centres")
        diff = [k for k in keys if spec.get(k, mine[k] if k == "stick_centres" else None) != mine[k]]
        if diff:
            sides = "; ".join(f"{k}: checkpoint {spec.get(k)!r} vs this run {mine[k]!r}" for k in diff)
            raise ValueError(f"{path}: cannot resume, the run was started with another model ({sides})")
        state = torch.load(path / "trainer.pt", weights_only=True, map_location=self.device)
        self.network.load_state_dict(load_weights(path / "model.safetensors", device=str(self.device)))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.best, self.stale = int(state["step"]), float(state["best"]), int(state["stale"])
        self.history = json.loads((path / "meta.json").read_text())["history"]

    def save(self, name: str) -> Path:
        """Checkpoint ``name`` of the run as it is now, written in the background.

        The weights, the optimizer, scheduler, EMA and scaler states and the history are copied
        here (a training step later changes none of it); one writer thread then writes them to a
        temporary folder, with checksums, and renames it into place (an existing checkpoint is
        rotated into ``.bak`` folders first), so a checkpoint is whole or absent, never partial.
        Writes happen in the order of the calls. :meth:`flush` waits for them (``train`` does
        before it returns); a write that failed raises there, or at the next ``save``.

        Returns:
            The checkpoint's folder (complete once :meth:`flush` returns); on a process other
            than the main one of a multi-process run, nothing is written (rank 0 writes).
        """
        if not self.world.main:
            return self.out / name
        self._raise_failed()
        while len(self._pending) >= MAX_PENDING_WRITES:  # the disk is slower than training: wait
            self._pending.pop(0).result()
        trainer_state = copy.deepcopy(
            {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "scaler": self.scaler.state_dict(),
                "step": self.step,
                "best": self.best,
                "stale": self.stale,
            }
        )
        meta = {"config": asdict(self.config), "step": self.step, "best_val_loss": self.best}
        meta.update({"history": copy.deepcopy(self.history), "val_files": list(self.val_files)})
        snapshot = (weights_snapshot(self.network), trainer_state, json.dumps(meta, indent=1), self.step)
        if self._saver is None:
            self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-writer")
        self._pending.append(self._saver.submit(self._write, name, snapshot))
        return self.out / name

    def flush(self) -> None:
        """Wait until every checkpoint :meth:`save` started is written; raise the first failure."""
        while self._pending:
            self._pending.pop(0).result()

    def _raise_failed(self) -> None:
        while self._pending and self._pending[0].done():
            self._pending.pop(0).result()

    def _write(self, name: str, snapshot: tuple[dict[str, torch.Tensor], dict[str, Any], str, int]) -> Path:
        weights, trainer_state, meta, step = snapshot
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.out, prefix=f".{name}."))
        try:
            save_checkpoint(self.network, tmp / "model.safetensors", {"step": step}, tensors=weights)
            torch.save(trainer_state, tmp / "trainer.pt")
            (tmp / "meta.json").write_text(meta)
            sums = {f.name: file_sha256(f) for f in sorted(tmp.iterdir())}
            (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=1))
            size = sum(f.stat().st_size for f in tmp.iterdir())
            target = self.out / name
            if target.exists():
                _rotate_backups(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if size > LARGE_CHECKPOINT and not self._warned_size:
            self._warned_size = True
            warning(
                f"warning: checkpoint {target} is {size / 1e6:,.0f} MB (over {LARGE_CHECKPOINT / 1e6:,.0f} MB; the "
                "network's weights and the optimizer's state, written at every evaluation): a smaller "
                "--model.hidden / --model.layers, or fewer --runtime.save-every copies, saves disk and time"
            )
        return target

    # -- training -------------------------------------------------------------------------------

    def _latent(self, network: Any, obs: np.ndarray) -> torch.Tensor:
        """The backbone's output for a batch, under the configured autocast, as float32."""
        x = torch.from_numpy(obs).to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
            latent, _ = network(x)
        return latent.float()

    def _forward(self, network: Any, obs: np.ndarray, actions: np.ndarray) -> torch.Tensor:
        y = torch.from_numpy(actions).to(self.device, non_blocking=True)
        return component_losses(self._net(network), self._latent(network, obs), y, self.config.optim)

    @staticmethod
    def _net(network: Any) -> PolicyNetwork:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = isinstance(network, (torch.optim.swa_utils.AveragedModel, DistributedDataParallel))
        return network.module if wrapped else network

    def evaluate(self) -> dict[str, float]:
        """Validation loss per component (EMA weights when enabled) on fixed batches."""
        network = self.ema if self.ema is not None else self.network
        network.eval()
        totals = torch.zeros(ACTION_SIZE)
        correct = torch.zeros(ACTION_SIZE)
        count = 0
        with torch.no_grad():
            for k in range(self.config.runtime.eval_batches):
                rng = np.random.default_rng([self.config.runtime.seed, 2**31, k])  # the same batches every time
                obs, actions = self.val_data.get(self.config.optim.batch_size, rng)
                target = torch.from_numpy(actions).to(self.device)
                latent = self._latent(network, obs)
                totals += component_losses(self._net(network), latent, target, self.config.optim).cpu()
                pred = self._net(network).head.sample(latent, deterministic=True)
                correct += (pred == target).reshape(-1, ACTION_SIZE).float().sum(0).cpu()
                count += target.reshape(-1, ACTION_SIZE).shape[0]
        network.train()
        per = totals / self.config.runtime.eval_batches
        acc = correct / max(count, 1)
        out = {f"val/{name}": float(per[s].sum()) for name, s in ACTION_PARTS}
        out.update({f"val_acc/{name}": float(acc[s].mean()) for name, s in ACTION_PARTS})
        out["val/loss"] = float(total_loss(per, self.config.optim))
        return out

    def train(self, stop_after: int | None = None, progress: bool = False) -> dict[str, Any]:
        """Run to ``config.optim.steps`` (or ``stop_after`` more steps); returns the final metrics."""
        if self._lock is None and self.world.main:
            self._lock = lock_run(self.out)
        try:
            return self._train(stop_after, progress and self.world.main)
        finally:
            self.close()

    def _train(self, stop_after: int | None, progress: bool) -> dict[str, Any]:
        cfg, runtime = self.config.optim, self.config.runtime
        start = time.perf_counter()
        end = cfg.steps if stop_after is None else min(cfg.steps, self.step + stop_after)
        writer = self._writer() if self.world.main else None
        if not self.history:
            self.history.append({"step": 0, **self.evaluate()})
        bar = _progress(progress, self.step, cfg.steps)
        window_start, window_step = time.perf_counter(), self.step
        loader = _Prefetch(self, self.step, end)
        losses: deque[float] = deque(maxlen=TREND_STEPS)  # the progress bar's sparkline
        while self.step < end:
            torch_seed, micro = loader.next(self.step)
            torch.manual_seed(torch_seed)
            self.optimizer.zero_grad(set_to_none=True)
            loss_sum = 0.0
            for obs, actions in self._my_share(micro):
                loss = total_loss(self._forward(self.model, obs, actions), cfg) / cfg.accumulate
                self.scaler.scale(loss).backward()
                loss_sum += float(loss.detach())
            loss_sum = distributed.mean(loss_sum) if self.world.distributed else loss_sum
            self.scaler.unscale_(self.optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.network.parameters(), cfg.grad_clip or math.inf))
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.network)
            self.step += 1
            losses.append(loss_sum)
            if bar is not None and self.step % 10 == 0:
                bar.update(bar.task_ids[0], trend=sparkline(binned(list(losses), TREND_WIDTH), TREND_WIDTH))
            if self.step % runtime.eval_every == 0 or self.step == cfg.steps:
                now = time.perf_counter()
                rate = (self.step - window_step) * cfg.batch_size * cfg.accumulate / max(now - window_start, 1e-9)
                metrics = {"step": self.step, "train/loss": loss_sum, "grad_norm": grad_norm, **self.evaluate()}
                metrics["lr"] = self.scheduler.get_last_lr()[0]
                metrics["samples_per_s"] = rate
                metrics["epoch"] = self.epochs
                window_start, window_step = time.perf_counter(), self.step
                self.history.append(metrics)
                if writer is not None:
                    for key, value in metrics.items():
                        if key != "step":
                            writer.add_scalar(key, value, self.step)
                    writer.flush()
                if progress:
                    line = (
                        f"step {self.step}/{cfg.steps} (epoch {self.epochs:.2f})  train {loss_sum:.4f}  "
                        f"val {metrics['val/loss']:.4f}  "
                        f"buttons acc {metrics['val_acc/buttons']:.3f}  main stick acc "
                        f"{metrics['val_acc/main_stick']:.3f}  {rate:,.0f} samples/s  "
                        f"train loss {sparkline([h['train/loss'] for h in self.history if 'train/loss' in h])}"
                    )
                    (bar.console.print if bar is not None else print)(line)
                if not self._warned_memory and (note := gpu_memory_note(self.device)):
                    self._warned_memory = True
                    warning(note)
                if metrics["val/loss"] < self.best:
                    self.best, self.stale = metrics["val/loss"], 0
                    self.save("best")
                else:
                    self.stale += 1
                self.save("last")
                if runtime.patience and self.stale >= runtime.patience:
                    break
            if runtime.save_every and self.step % runtime.save_every == 0:
                self.save(f"step_{self.step:08d}")
            if bar is not None:
                bar.update(bar.task_ids[0], completed=self.step)
        loader.stop()
        self.flush()  # the run is done once its checkpoints are on disk
        if bar is not None:
            bar.stop()
        if writer is not None:
            settings = self.config.settings().items()
            hparams = {k: (v if isinstance(v, (int, float, str, bool)) else json.dumps(v)) for k, v in settings}
            writer.add_hparams(hparams, {"hparam/best_val_loss": self.best}, run_name="hparams")
            writer.close()
        return {
            "step": self.step,
            "epochs": self.epochs,
            "best_val_loss": self.best,
            "seconds": time.perf_counter() - start,
        }

    def _my_share(self, micro: list) -> list:
        """This process's slice of every micro-batch (all of it in one process): rank ``r`` of
        ``n`` takes examples ``[r*B/n, (r+1)*B/n)``, so the processes together train on exactly
        the batch one process would."""
        if not self.world.distributed:
            return micro
        part = self.config.optim.batch_size // self.world.size
        lo = self.world.rank * part
        return [(obs[lo : lo + part], actions[lo : lo + part]) for obs, actions in micro]

    @property
    def epochs(self) -> float:
        """Training examples drawn so far over the training split's size."""
        examples = sum(n for _, _, n in self.train_data.segments)
        return self.step * self.config.optim.batch_size * self.config.optim.accumulate / max(examples, 1)

    def _writer(self) -> Any:
        if not self.config.runtime.tensorboard:
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.out / "tb"))
