"""BC loader benchmark (``exphil bc bench``): training samples/s with the real loader (memory-
mapped shards, background prefetch) next to the same model fed batches already in memory, in
one run, for the MLP and one temporal backbone. The loader's cost is ``1 - real / in-memory``."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from imitation.cache import DEFAULT_CACHE
from melee_envs.envvars import cache_dir, replays_dir


@dataclass(frozen=True)
class BCBenchConfig:
    replays: str = field(default_factory=lambda: replays_dir("../shared/replays"))
    """replay folder (default: $EXPHIL_REPLAYS_DIR, else ../shared/replays)."""
    cache: str = field(default_factory=lambda: cache_dir(DEFAULT_CACHE))
    """dataset cache (default: $EXPHIL_CACHE_DIR, else .exphil-cache)."""
    steps: int = 40
    """Timed optimizer steps per measurement (after 5 warm-up steps)."""
    batch_size: int = 256
    threads: int = 0
    """torch threads (0: torch's default)."""
    repeats: int = 3
    """Alternating measurements of each; the best of each is reported."""


CASES = (("mlp", 1, {"hidden": 256}), ("gru", 16, {"hidden": 256}))


def _loop(trainer, batches_for, steps: int) -> float:
    from imitation.losses import total_loss

    net, opt, cfg = trainer.network, trainer.optimizer, trainer.config.optim
    for warm in range(5):
        for obs, actions in batches_for(warm):
            opt.zero_grad()
            total_loss(trainer._forward(net, obs, actions), cfg).backward()
            opt.step()
    start = time.perf_counter()
    for step in range(5, 5 + steps):
        for obs, actions in batches_for(step):
            opt.zero_grad()
            total_loss(trainer._forward(net, obs, actions), cfg).backward()
            opt.step()
    return steps * cfg.batch_size * trainer.config.data.window / (time.perf_counter() - start)


def run(config: BCBenchConfig) -> list[dict]:
    from imitation.batches import _Prefetch
    from imitation.bc import Trainer
    from imitation.build import build_dataset
    from imitation.config import BCConfig

    if config.threads:
        torch.set_num_threads(config.threads)
    report = build_dataset(Path(config.replays), config.cache, workers=0, progress=False)
    if not report.built and not report.cached:
        raise ValueError(f"no usable replays under {config.replays}")
    rows = []
    for backbone, window, bb_config in CASES:
        with tempfile.TemporaryDirectory() as out:
            cfg = BCConfig.from_dict(
                {
                    "data": {"window": window},
                    "model": {"backbone": backbone, **bb_config},
                    "optim": {"batch_size": config.batch_size, "steps": 10**9},
                    "runtime": {"tensorboard": False},
                }
            )
            trainer = Trainer(report.directory, out, cfg)
            total = 5 + config.steps
            real = memory = 0.0
            for _ in range(config.repeats):  # alternate, best of each: this machine's speed drifts
                loader = _Prefetch(trainer, 0, total)
                real = max(real, _loop(trainer, lambda step, lo=loader: lo.next(step)[1], config.steps))
                loader.stop()
                held = [loader.draw(step)[1] for step in range(total)]  # the same batches, in memory
                memory = max(memory, _loop(trainer, lambda step, h=held: h[step], config.steps))
            rows.append(
                {
                    "backbone": backbone, "window": window, "samples/s real loader": real,
                    "samples/s in memory": memory, "loader cost": 1.0 - real / memory,
                }
            )  # fmt: skip
    return rows


def main(config: BCBenchConfig) -> list[dict]:
    from rich.console import Console
    from rich.table import Table

    rows = run(config)
    table = Table(
        title=f"BC training samples/s (frames), batch {config.batch_size}, torch threads {torch.get_num_threads()}"
    )
    for col in rows[0]:
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(
            *(
                f"{v:,.0f}" if isinstance(v, float) and v > 10 else f"{v:.1%}" if isinstance(v, float) else str(v)
                for v in row.values()
            )
        )
    Console(width=140).print(table)
    return rows


if __name__ == "__main__":  # pragma: no cover
    main(BCBenchConfig())
