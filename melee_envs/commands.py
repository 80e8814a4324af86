"""The ``exphil`` commands this package provides, and the :class:`Command` type every package's
registry uses (the root ``exphil`` command builds its tree from the registries; see
:mod:`exphil.cli`). Targets are ``"module:name"`` strings, imported only when that command runs,
so ``exphil --help`` starts at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One leaf of the ``exphil`` tree.

    Args:
        path: the words that name it (``("bench", "vector")`` is ``exphil bench vector``).
        help: one line for ``exphil --help``.
        run: ``"module:function"`` called with the parsed config; an ``int`` it returns is the
            exit status.
        config: ``"module:Class"``, a dataclass tyro turns into the command's options.
        parse: ``"module:function(args, prog) -> config"``, for a command whose settings also
            come from presets or files (instead of plain tyro over ``config``).
    """

    path: tuple[str, ...]
    help: str
    run: str
    config: str | None = None
    parse: str | None = None


#: Groups of commands and what they hold (``exphil GROUP --help``).
GROUPS = {
    "bench": "benchmarks: each prints its figures beside a reference measured in the same run",
    "bc": "behavioural cloning from replays",
    "champion": "the agent shipped with the package",
    "league": "self-play league",
    "replays": "Slippi replay tools",
}

COMMANDS = (
    Command(("compile",), "compile (and cache) every engine kernel once, e.g. when building an image",
            "melee_envs.compile_all:main", "melee_envs.compile_all:CompileConfig"),
    Command(("view",), "a replay (.slp) or a folder of them as self-contained HTML pages that play them",
            "melee_envs.viewer:main", "melee_envs.viewer:ViewConfig"),
    Command(("bench", "env"), "Melee-v0 steps/s next to CartPole-v1, and raw mock-engine frames/s",
            "melee_envs.bench:main", "melee_envs.bench:BenchConfig"),
    Command(("bench", "vector"), "the batched vector env's agent-steps/s vs a write-only ceiling and CartPole-v1",
            "melee_envs.bench_vector:main", "melee_envs.bench_vector:VectorBenchConfig"),
    Command(("bench", "threads"), "the vector env's thread policy: alone, beside torch, beside a busy process",
            "melee_envs.bench_threads:main", "melee_envs.bench_threads:ThreadBenchConfig"),
    Command(("bench", "fidelity"), "the mock engine's next-frame position error against real replays",
            "melee_envs.fidelity:main", "melee_envs.fidelity:FidelityConfig"),
    Command(("bench", "dolphin"), "the Dolphin backend's per-frame work, against a stand-in Dolphin",
            "melee_envs.backends.dolphin.bench:main", "melee_envs.backends.dolphin.bench:DolphinBenchConfig"),
)  # fmt: skip
