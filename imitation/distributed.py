"""BC on several processes: what ``torchrun`` (or ``exphil bc train --nproc N``) tells each process,
and the few collective steps training needs.

``torchrun --nproc_per_node N -m exphil bc train ...`` starts N copies of the command with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous address in the environment. Each copy
draws the same global batch for a step (batches are a function of ``(seed, step)``), takes its
``1/N`` slice of it, and DistributedDataParallel averages the gradients, so the update is the one
a single process makes on the whole batch. Rank 0 alone builds the dataset cache, writes
checkpoints and prints; the others wait for it where they must. gloo on CPU, NCCL on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes checkpoints, caches and output."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """From torchrun's environment variables; a single process without them."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"torchrun's RANK / WORLD_SIZE / LOCAL_RANK are not integers: {exc}") from None
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"RANK {rank} of WORLD_SIZE {size} is not a process of the group")
    return World(rank, size, local)


def device_kind(setting: str) -> str:
    """``"cuda"`` or ``"cpu"`` for an ``optim.device`` setting (``auto``: cuda when torch sees one)."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def start(device: str) -> World:
    """Join the process group (once) when there are several processes: NCCL for ``cuda``,
    gloo otherwise. Returns this process's :class:`World`."""
    import torch.distributed as dist

    here = world()
    if here.distributed:
        # torchrun starts each process in a session of its own, so a SIGKILL of torchrun (or of
        # the --nproc command above it) would leave the training processes running, orphaned.
        from imitation.build import die_with_parent

        die_with_parent(os.getppid())
    if here.distributed and not dist.is_initialized():
        if device == "cuda":
            dist.init_process_group("nccl", device_id=_own_gpu(here))
        else:
            dist.init_process_group("gloo")
    return here


def _own_gpu(here: World) -> object:
    """This process's GPU (``cuda:LOCAL_RANK``), made current: NCCL runs one process per GPU and
    refuses two on one device, so a process without a GPU of its own stops here, saying why."""
    import torch

    count = torch.cuda.device_count()
    if here.local_rank >= count:
        raise ValueError(
            f"process {here.rank} (LOCAL_RANK {here.local_rank}) has no GPU of its own: this machine has {count}, and "
            "NCCL runs one process per GPU; use --nproc (or torchrun's --nproc_per_node) at most the GPU count, or "
            "--optim.device cpu"
        )
    torch.cuda.set_device(here.local_rank)
    return torch.device("cuda", here.local_rank)


def barrier() -> None:
    """Wait until every process gets here (nothing to wait for in one process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def mean(value: float) -> float:
    """``value`` averaged over the processes (itself in one process)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor[0]) / dist.get_world_size()


def stop() -> None:
    """Leave the process group (at the end of a run)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
