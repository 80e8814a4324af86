"""The ``exphil`` command: ``train`` (the default job), ``bench``, ``replays``."""

from __future__ import annotations

import sys

import tyro

USAGE = """usage: exphil COMMAND [--help] [options]

commands:
  train         short PPO run in Melee-v0 vs the scripted bot (level 1), then an evaluation
  bench         Melee-v0 steps/s next to CartPole-v1, and raw mock-engine frames/s
  bench-vector  the batched vector env's agent-steps/s vs a write-only ceiling and CartPole-v1
  bench-threads the vector env's thread policy: alone, beside a torch step, beside a busy process
  compile      compile (and cache) every engine kernel once, e.g. when building an image
  bench-fidelity the mock engine's next-frame position error against real replays
  bench-agents  every backbone: live-play latency, training throughput, PPO training speed
  bench-dolphin the Dolphin backend's per-frame work, against a stand-in Dolphin
  bench-league  self-play env steps/s as the population grows; tournament rounds batched vs one by one
  play          an agent checkpoint on Slippi Dolphin vs the game's CPU or a human
  bc            behavioural cloning from replays: bc train (presets, config files, resume)
  league        self-play league: league train (population, PFSP, ratings; resumes), league status
  tournament    round-robin or Swiss matches between agents and bots: ratings, win rates, plots
  replays       Slippi replay tools: stats, validate, filter, dupes, quality, build (datasets), bench"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return
    name = args[0]
    try:
        if name == "replays":
            # The replay tools live with the datasets they build (imitation/).
            from imitation.cli import main as replays_main

            status = replays_main(args[1:])
            if status:
                raise SystemExit(status)
            return
        if name == "bc":
            from imitation.bc_cli import main as bc_main

            status = bc_main(args[1:])
            if status:
                raise SystemExit(status)
            return
        if name == "league":
            from exphil_agents.league.cli import main as league_main

            league_main(args[1:])
            return
        if name == "tournament":
            from exphil_agents.league.tournament import TournamentConfig, main as run  # type: ignore[assignment]

            config_cls = TournamentConfig  # type: ignore[assignment]
        elif name == "train":
            from exphil_agents.train import TrainConfig, main as run

            config_cls = TrainConfig
        elif name == "bench":
            from melee_envs.bench import BenchConfig, main as run  # type: ignore[assignment]

            config_cls = BenchConfig  # type: ignore[assignment]
        elif name == "bench-vector":
            from melee_envs.bench_vector import VectorBenchConfig, main as run  # type: ignore[assignment]

            config_cls = VectorBenchConfig  # type: ignore[assignment]
        elif name == "bench-threads":
            from melee_envs.bench_threads import ThreadBenchConfig, main as run  # type: ignore[assignment]

            config_cls = ThreadBenchConfig  # type: ignore[assignment]
        elif name == "compile":
            from melee_envs.compile_all import CompileConfig, main as run  # type: ignore[assignment]

            config_cls = CompileConfig  # type: ignore[assignment]
        elif name == "bench-fidelity":
            from melee_envs.fidelity import FidelityConfig, main as run  # type: ignore[assignment]

            config_cls = FidelityConfig  # type: ignore[assignment]
        elif name == "bench-dolphin":
            from melee_envs.backends.dolphin.bench import DolphinBenchConfig, main as run  # type: ignore[assignment]

            config_cls = DolphinBenchConfig  # type: ignore[assignment]
        elif name == "bench-league":
            from exphil_agents.league.bench import LeagueBenchConfig, main as run  # type: ignore[assignment]

            config_cls = LeagueBenchConfig  # type: ignore[assignment]
        elif name == "play":
            from exphil_agents.play import PlayConfig, main as run  # type: ignore[assignment]

            config_cls = PlayConfig  # type: ignore[assignment]
        elif name == "bench-agents":
            from exphil_agents.bench import AgentBenchConfig, main as run  # type: ignore[assignment]

            config_cls = AgentBenchConfig  # type: ignore[assignment]
        else:
            commands = [
                "bench",
                "bench-vector",
                "bench-fidelity",
                "bench-agents",
                "bench-dolphin",
                "bench-league",
                "bc",
                "league",
                "play",
                "replays",
                "tournament",
                "train",
            ]
            raise SystemExit(f"exphil: unknown command {name!r}; choose one of {commands}")
        run(tyro.cli(config_cls, args=args[1:], prog=f"exphil {name}"))  # type: ignore[arg-type]
    except (ValueError, OSError, RuntimeError, ImportError) as exc:  # OSError names its path
        raise SystemExit(f"exphil {name}: {exc}") from None


if __name__ == "__main__":
    main()
