"""The ``exphil`` command: ``exphil train`` (the default job), ``exphil bench``."""

from __future__ import annotations

import sys

import tyro

from exphil_agents.train import TrainConfig, main as train_main
from melee_envs.bench import BenchConfig, main as bench_main


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    commands = {"train": (TrainConfig, train_main), "bench": (BenchConfig, bench_main)}
    if not args or args[0] in ("-h", "--help"):
        print(
            "usage: exphil {train,bench} [--help] [options]\n\n"
            "  train  short PPO run in Melee-v0 vs the scripted bot, then an evaluation\n"
            "  bench  Melee-v0 steps/s next to CartPole-v1, and raw mock-engine frames/s"
        )
        return
    name = args[0]
    if name not in commands:
        raise SystemExit(f"exphil: unknown command {name!r}; choose one of {sorted(commands)}")
    config_cls, run = commands[name]
    try:
        config = tyro.cli(config_cls, args=args[1:], prog=f"exphil {name}")
        run(config)
    except ValueError as exc:
        raise SystemExit(f"exphil {name}: {exc}") from None


if __name__ == "__main__":
    main()
