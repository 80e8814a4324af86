"""A small self-play league in your own SB3 loop, then a tournament of its snapshots against the
built-in bots (copy and adapt; about a minute on 2 cores after the engine's one-time compile).

    python examples/league_selfplay.py [STEPS]
"""

import sys
from pathlib import Path

from exphil_agents.league.callback import LeagueCallback
from exphil_agents.league.tournament import TournamentConfig, run
from exphil_agents.league.train import League, LeagueConfig

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
folder = Path("runs/example-league")

league = League(LeagueConfig(dir=folder, games=32, bots=("idle", "scripted:1", "scripted")))
model = league.load_or_create("main-0")  # PPO on a LeagueVecEnv; picks up where a previous run stopped
remaining = steps - model.num_timesteps
if remaining > 0:
    model.learn(
        remaining,
        callback=LeagueCallback(league, "main-0", snapshot_every=min(25_000, steps)),
        reset_num_timesteps=False,
    )
league.state.close()

snapshots = sorted(str(p) for p in (folder / "snapshots").iterdir() if not p.name.startswith("."))
results = run(
    TournamentConfig(agents=("random", "idle", "scripted:1", *snapshots), games=20, out=folder / "tournament")
)
for row in results["ratings"]:
    print(f"{row['agent']:>22}  {row['rating']:6.0f}  [{row['ci95'][0]:.0f}, {row['ci95'][1]:.0f}]")
