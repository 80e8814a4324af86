"""How many threads the batched kernels use, and which Numba threading layer runs them.

Training loops run torch in the same process as these kernels, often on a machine where other
work holds cores too. Two rules keep the env fast there:

* **A layer that never spins.** Numba's OpenMP layer keeps its idle workers busy-waiting, and so
  does torch's; two spinning pools on two cores starve each other (a PPO loop on 64 games ran
  at a tenth of its speed). Unless ``NUMBA_THREADING_LAYER`` is set, the envs select Numba's
  ``workqueue`` layer, whose idle workers sleep, before the first parallel kernel runs.
* **Threads only where they pay.** Below :data:`PARALLEL_MIN_ROWS` rows, or with fewer than
  :data:`PARALLEL_MIN_CORES` cores, a step runs on the calling thread alone, in a serial kernel
  that never touches a thread pool (waking one costs more than a small batch takes); otherwise
  on every core this process may use (``os.sched_getaffinity``), in :func:`chunk_games` chunks
  handed to whichever thread is free, so that a core shared with another process slows only
  the chunks it takes.

``threads=N`` on an env overrides the count; ``melee_envs.threads.describe()`` says what is in use.
``exphil bench-threads`` measures the policy alone, beside torch work in the same process and
beside a CPU-bound process.
"""

from __future__ import annotations

import os

import numba

#: Rows below which a step runs single-threaded (measured by ``exphil bench-threads``: on 2
#: cores the parallel kernel loses below about 2,000 games).
PARALLEL_MIN_ROWS = 2048
#: Cores below which every step is single-threaded: on 2 cores the parallel kernel was slower
#: than one thread even alone (``exphil bench-threads``, docs/benchmarks.md), and much slower
#: beside a busy process.
PARALLEL_MIN_CORES = 4
#: Work chunks per thread in a parallel step: several, so that a thread on a core that another
#: process holds gives its share away; few, so that scheduling stays a small cost.
CHUNKS_PER_THREAD = 4
#: The layer chosen when the user has not chosen one.
QUIET_LAYER = "workqueue"


def _pool_started() -> bool:
    from numba.np.ufunc import parallel

    return bool(getattr(parallel, "_is_initialized", False))


def choose_layer() -> str:
    """Select the quiet layer if nobody has chosen one and Numba's pool has not started yet;
    returns the layer that will run (or runs) the kernels."""
    if "NUMBA_THREADING_LAYER" not in os.environ and not _pool_started():
        numba.config.THREADING_LAYER = QUIET_LAYER
    if _pool_started():
        return numba.threading_layer()
    return numba.config.THREADING_LAYER


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pick_threads(rows: int, threads: int | None = None) -> int:
    """Threads for a kernel over ``rows`` rows: ``threads`` if given (checked), else the rule in
    the module docstring."""
    limit = numba.config.NUMBA_NUM_THREADS
    if threads is not None:
        if isinstance(threads, bool) or int(threads) != threads or not 1 <= threads <= limit:
            raise ValueError(f"threads must be an integer in [1, {limit}] (NUMBA_NUM_THREADS); got {threads!r}")
        return int(threads)
    cores = available_cores()
    if rows < PARALLEL_MIN_ROWS or cores < PARALLEL_MIN_CORES:
        return 1
    return max(1, min(limit, cores))


def chunk_games(num_games: int, threads: int) -> int:
    """Games per chunk of a parallel step."""
    return max(1, -(-num_games // (threads * CHUNKS_PER_THREAD)))


def describe() -> dict[str, object]:
    """The threading settings in force (for logs and bug reports)."""
    return {
        "layer": choose_layer(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "cores_available": available_cores(),
        "parallel_min_rows": PARALLEL_MIN_ROWS,
        "parallel_min_cores": PARALLEL_MIN_CORES,
        "chunks_per_thread": CHUNKS_PER_THREAD,
    }
