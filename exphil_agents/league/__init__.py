"""Self-play league: ratings, population snapshots, the self-play env, training and tournaments.

Modules load lazily (torch and SB3 are imported only by those that need them):
:mod:`~exphil_agents.league.ratings` (Elo, OpenSkill, batch fit with intervals),
:mod:`~exphil_agents.league.population` (snapshots, sampling),
:mod:`~exphil_agents.actors` (bots and networks playing batched games),
:mod:`~exphil_agents.league.selfplay` (the SB3 self-play vector env),
:mod:`~exphil_agents.league.state` (persistent league state),
:mod:`~exphil_agents.league.train` (``exphil league train``),
:mod:`~exphil_agents.league.tournament` (``exphil tournament``).
"""
