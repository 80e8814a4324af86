"""The ``exphil`` commands of behavioural cloning and the replay tools (see :mod:`melee_envs.commands`)."""

from __future__ import annotations

from melee_envs.commands import Command

_REPLAYS = "imitation.cli"
COMMANDS = (
    Command(("replays", "stats"), "tables of characters, stages, versions, durations and game ends",
            f"{_REPLAYS}:run", f"{_REPLAYS}:Stats"),
    Command(("replays", "validate"), "check every file reads (exit 1 when some do not)", f"{_REPLAYS}:run",
            f"{_REPLAYS}:Validate"),
    Command(("replays", "filter"), "print the files whose games match", f"{_REPLAYS}:run", f"{_REPLAYS}:Filter"),
    Command(("replays", "dupes"), "identical files and recordings of the same game", f"{_REPLAYS}:run",
            f"{_REPLAYS}:Dupes"),
    Command(("replays", "quality"), "score every game 0-100 and say why", f"{_REPLAYS}:run", f"{_REPLAYS}:Quality"),
    Command(("replays", "build"), "encode replays into a cached, sharded BC dataset", f"{_REPLAYS}:run",
            f"{_REPLAYS}:Build"),
    Command(("bench", "replays"), "replay reading and dataset building speed", "imitation.bench:main",
            "imitation.bench:BenchConfig"),
    Command(("bc", "train"), "train a network on replays (presets, config files, resume)", "imitation.bc_cli:train",
            parse="imitation.bc_cli:resolve"),
    Command(("bc", "setup"), "answer a few questions; get a config file and the bc train command",
            "imitation.bc_setup:setup", "imitation.bc_setup:SetupCommand"),
    Command(("bc", "eval"), "evaluate a checkpoint on held-out replays", "imitation.bc_tools:evaluate",
            "imitation.bc_tools:EvalCommand"),
    Command(("bc", "kmeans"), "fit stick bucket centres on replays", "imitation.bc_tools:kmeans",
            "imitation.bc_tools:KmeansCommand"),
    Command(("bc", "list"), "the checkpoints under a folder", "imitation.bc_tools:list_checkpoints",
            "imitation.bc_tools:ListCommand"),
    Command(("bc", "info"), "one checkpoint's settings and metrics", "imitation.bc_tools:info",
            "imitation.bc_tools:InfoCommand"),
    Command(("bc", "compare"), "two checkpoints' settings side by side", "imitation.bc_tools:compare",
            "imitation.bc_tools:CompareCommand"),
    Command(("bench", "bc"), "BC training steps/s per backbone", "imitation.bc_bench:main",
            "imitation.bc_bench:BCBenchConfig"),
    Command(("bench", "scale"), "BC samples/s on 1 and N processes; Ray's cost per step and per weight broadcast",
            "imitation.bench_scale:main", "imitation.bench_scale:ScaleBenchConfig"),
    Command(("bench", "backbones"), "every backbone trained by BC on the same replays: loss, accuracy, speed, "
            "latency; JSON and an HTML report", "imitation.bench_backbones:main",
            "imitation.bench_backbones:BackboneBenchConfig"),
)  # fmt: skip
