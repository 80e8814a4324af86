"""``exphil league train`` (resume reporting what changed; the training itself is
:mod:`exphil_agents.league.train`) and ``exphil league status``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from exphil_agents.league.train import League, LeagueConfig, snapshot_id
from melee_envs.atomic import write_text_atomic


@dataclass(frozen=True)
class StatusConfig:
    """Show a league's ratings and population."""

    dir: Path = Path("runs/league")
    top: int = 30
    """Rows of the ratings table."""


def status(cfg: StatusConfig) -> dict:
    from rich.console import Console
    from rich.table import Table

    from exphil_agents.league.state import LeagueState

    if not (cfg.dir / "events.jsonl").is_file():
        raise FileNotFoundError(f"{cfg.dir}: no league here (no events.jsonl); start one with exphil league train")
    import json

    rating = "elo"
    if (cfg.dir / "league.json").is_file():
        try:
            rating = json.loads((cfg.dir / "league.json").read_text()).get("rating", "elo")
        except (ValueError, UnicodeDecodeError, AttributeError):
            pass  # LeagueState below names the damage
    state = LeagueState(cfg.dir, rating, read_only=True)
    rows = state.table.table()
    table = Table(title=f"{cfg.dir}: {state.num_matches:,} games, {len(state.snapshots)} snapshots ({rating})")
    for col in ("player", "rating", "+-", "games"):
        table.add_column(col, justify="left" if col == "player" else "right")
    for row in rows[: cfg.top]:
        table.add_row(row["player"], f"{row['rating']:.0f}", f"{row['uncertainty']:.0f}", str(row["games"]))
    console = Console(width=120)
    console.print(table)
    for learner, info in state.learners.items():
        console.print(f"{learner} ({info.get('role')}): step {info.get('step', 0):,}, restarts {info.get('resets', 0)}")
    state.close()
    return {"ratings": rows}


def train(cfg: LeagueConfig) -> dict[str, Any]:
    """Train (or resume) the league to ``cfg.steps`` steps per learner; print the ratings."""
    from rich.table import Table

    from exphil_agents.league.remote import RemoteRollouts, driver_env
    from melee_envs.messages import console as at_level
    from melee_envs.threads import training_threads

    # The summary prints at every verbosity; progress not under --quiet.
    console, progress = at_level(0, width=120), at_level(1, width=120)
    progress.print(training_threads("rl" if cfg.ray is None else "learner"), markup=False)
    league = League(cfg)
    previous = cfg.dir / "config.json"
    if previous.is_file():  # say what changed since the last run of this league
        import json

        old, new = _flat(json.loads(previous.read_text())), _flat(json.loads(_config_json(cfg)))
        changed = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
        fixed = {k: change for k, change in changed.items() if k in MODEL_SETTINGS}
        if fixed and any(league.state.learner_dir.glob("*.zip")):  # learners exist: their networks stay
            sides = "; ".join(
                f"--{k.replace('_', '-')}: the league's {was!r}, this run's {now!r}" for k, (was, now) in fixed.items()
            )
            league.state.close()
            raise ValueError(
                f"{cfg.dir}: the league's learners were built with other model settings ({sides}); a league keeps "
                "its networks: resume with its settings, or start a new league in another --dir"
            )
        for key, (was, now) in changed.items():
            console.print(f"  setting changed since the last run: {key}: {was!r} -> {now!r}")
    write_text_atomic(previous, _config_json(cfg))
    remote = None
    if cfg.ray is not None:
        from exphil_agents.league.tournament import connect

        connect(cfg.ray)
        remote = RemoteRollouts(league, cfg.workers)
    stand_in = None if remote is None else driver_env(cfg, league.obs_config)  # the workers play the games
    for learner in league.roles:
        league.load_or_create(learner, env=stand_in)
    if remote is not None:
        remote.start(next(iter(league.models.values())))
        progress.print(f"  on Ray ({cfg.ray}): {cfg.workers} rollout workers, {remote.sizes} games each")
    try:
        trained = _train_loop(cfg, league, remote, console, progress)
    finally:
        if remote is not None:
            remote.close()
    table = Table(title=f"league ratings ({cfg.rating}, {league.state.num_matches:,} games)")
    for col in ("player", "rating", "games"):
        table.add_column(col, justify="left" if col == "player" else "right")
    rows = league.state.table.table()
    for row in rows[:20]:
        table.add_row(row["player"], f"{row['rating']:.0f}", str(row["games"]))
    console.print(table)
    league.state.close()
    out = {"ratings": rows, "snapshots": league.state.snapshot_ids(), "steps_trained": trained}
    if remote is not None:
        out["workers_replaced"] = remote.replaced
    return out


def _train_loop(cfg: LeagueConfig, league: League, remote: Any, console: Any, progress: Any) -> int:
    """Train every learner in turn, one snapshot interval at a time, to ``cfg.steps`` (or the
    budget); returns the steps trained."""
    from exphil_agents.league.callback import LeagueCallback

    resumed = {k: int(m.num_timesteps) for k, m in league.models.items() if m.num_timesteps}
    progress.print(
        f"[bold]league[/bold] {cfg.dir}: learners {list(league.roles)}, {cfg.steps:,} steps each, {cfg.games} games, "
        f"snapshots every {cfg.snapshot_every:,}"
        + (f"; resumed at {resumed}, {league.state.num_matches:,} games on record" if resumed else "")
    )
    start = time.perf_counter()
    trained = 0
    budget = None if cfg.minutes is None else 60.0 * cfg.minutes
    while any(m.num_timesteps < cfg.steps for m in league.models.values()):
        if budget is not None and time.perf_counter() - start >= budget:
            console.print(f"  the {cfg.minutes:g}-minute budget is spent; run again to resume toward {cfg.steps:,}")
            break
        for learner, model in league.models.items():
            remaining = cfg.steps - model.num_timesteps
            if remaining <= 0:
                continue
            chunk = min(cfg.snapshot_every - model.num_timesteps % cfg.snapshot_every, remaining)
            before = model.num_timesteps
            callback = LeagueCallback(league, learner, cfg.snapshot_every)
            if remote is None:
                model.learn(chunk, callback=callback, reset_num_timesteps=False, tb_log_name=learner)
            else:
                remote.learn(model, learner, chunk, callback)
            trained += model.num_timesteps - before
            snap = league.state.learners[learner].get("last_snapshot")
            if snap != snapshot_id(learner, model.num_timesteps):  # the run's last steps
                snap = league.snapshot(learner, model)
            rating = league.state.table.rating(learner)
            progress.print(
                f"  {learner}: step {model.num_timesteps:,}  rating {rating:.0f}  snapshot {snap}  "
                f"({trained / (time.perf_counter() - start):,.0f} steps/s)"
            )
    return trained


#: Settings that shape the learners' networks: a resumed league cannot change them.
MODEL_SETTINGS = ("backbone", "obs")


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    """A saved config with the game settings as ``game.KEY`` (also those saved before they
    were one nested dataclass)."""
    out = {k: v for k, v in config.items() if k != "game"}
    for key in ("character", "opponent_character", "stage", "stocks", "time_limit_minutes"):
        if key in out:
            out[f"game.{key}"] = out.pop(key)
    out.update({f"game.{k}": v for k, v in (config.get("game") or {}).items()})
    return out


def _config_json(cfg: LeagueConfig) -> str:
    import json

    return json.dumps(asdict(cfg), indent=1, default=str)
