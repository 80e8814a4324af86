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


#: Overrides the torch thread count every training command picks (:func:`training_threads`).
TORCH_THREADS_ENV = "EXPHIL_TORCH_THREADS"


def training_threads(kind: str) -> str:
    """Set torch's intra-op threads for a training command and say what was chosen (each command
    prints this line once).

    ``kind`` is ``"rl"`` (an env and a network take turns in one process: ``exphil train``, the
    league), ``"bc"`` (torch alone, fed by a loader thread) or ``"learner"`` (a league's driver on
    Ray: only PPO's updates run here, the games on rollout workers). On 2 cores, measured with the
    README's main job and ``exphil bench bc`` (docs/benchmarks.md): torch's default of 2 threads
    busy-waits, and beside one other busy process the main job trained 4.8x slower (153 s against
    32 s) and BC 3.2x slower; with 1 thread the main job is as fast on a quiet machine (33.5 s
    against 35.6 s) and BC keeps 2/3 of its quiet speed. So: RL loops use 1 thread; BC uses half
    the cores this process may use (1 on 2 cores), and so does a learner (the other half for the
    workers a node usually runs beside it). ``$EXPHIL_TORCH_THREADS`` overrides all three;
    a user's ``$OMP_NUM_THREADS`` is kept.
    """
    import torch

    if kind not in ("rl", "bc", "learner"):
        raise ValueError(f"kind must be 'rl', 'bc' or 'learner'; got {kind!r}")
    cores = available_cores()
    text = os.environ.get(TORCH_THREADS_ENV, "")
    if text:
        try:
            threads = int(text)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"${TORCH_THREADS_ENV} must be a positive integer; got {text!r}")
        why = f"${TORCH_THREADS_ENV}"
    elif os.environ.get("OMP_NUM_THREADS"):
        threads, why = torch.get_num_threads(), "$OMP_NUM_THREADS"
    elif kind == "rl":
        threads, why = 1, "the env and the network take turns; more threads only wait"
    elif kind == "bc":
        threads, why = max(1, cores // 2), f"half of {cores} cores: spare cores for the loader and other work"
    else:
        why = f"half of {cores} cores: the games are played elsewhere, the rest for workers"
        threads = max(1, cores // 2)
    torch.set_num_threads(threads)
    if cores < PARALLEL_MIN_CORES:
        env = f"env steps on 1 thread ({cores} cores: below {PARALLEL_MIN_CORES} the parallel kernel loses)"
    else:
        env = f"env steps on 1 thread below {PARALLEL_MIN_ROWS:,} games, {pick_threads(PARALLEL_MIN_ROWS)} from there"
    return f"threads: torch {threads} ({why}; ${TORCH_THREADS_ENV} to change), Numba {choose_layer()} layer, {env}"
