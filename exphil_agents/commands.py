"""The ``exphil`` commands of the agents and the league (see :mod:`melee_envs.commands`)."""

from __future__ import annotations

from melee_envs.commands import Command

COMMANDS = (
    Command(("train",), "short PPO run in Melee-v0 vs the scripted bot (level 1), then an evaluation",
            "exphil_agents.train:main", "exphil_agents.train:TrainConfig"),
    Command(("play",), "an agent or bot on Slippi Dolphin vs the game's CPU or a human", "exphil_agents.play:main",
            "exphil_agents.play:PlayConfig"),
    Command(("tournament",), "round-robin or Swiss matches between agents and bots: ratings, win rates, plots",
            "exphil_agents.league.tournament:main", "exphil_agents.league.tournament:TournamentConfig"),
    Command(("league", "train"), "PPO self-play against a population of snapshots and bots (resumes from --dir)",
            "exphil_agents.league.cli:train", "exphil_agents.league.train:LeagueConfig"),
    Command(("league", "status"), "a league folder's ratings, snapshots and games (no training)",
            "exphil_agents.league.cli:status", "exphil_agents.league.cli:StatusConfig"),
    Command(("ladder",), "an agent against every built-in bot (scripted:9..1, idle, jumper, random), 95% intervals",
            "exphil_agents.ladder:main", "exphil_agents.ladder:LadderConfig"),
    Command(("baselines",), "the baselines table and learning curves of a folder of ladder results",
            "exphil_agents.baselines:main", "exphil_agents.baselines:BaselinesConfig"),
    Command(("champion", "train"), "train the shipped champion by its recipe, measure it against every bot",
            "exphil_agents.champion:train", "exphil_agents.champion:ChampionConfig"),
    Command(("export",), "a trained agent as an ONNX file (one decision: obs and state in, logits and action out)",
            "exphil_agents.export:main", "exphil_agents.export:ExportConfig"),
    Command(("bench", "agents"), "every backbone: live-play latency, training throughput, PPO speed",
            "exphil_agents.bench:main", "exphil_agents.bench:AgentBenchConfig"),
    Command(("bench", "train"), "PPO training steps/s on the batched env: env / inference / learning, vs SB3 and torch",
            "exphil_agents.bench_train:main", "exphil_agents.bench_train:TrainBenchConfig"),
    Command(("bench", "league"), "self-play steps/s as the population grows; batched tournament rounds",
            "exphil_agents.league.bench:main", "exphil_agents.league.bench:LeagueBenchConfig"),
)  # fmt: skip
