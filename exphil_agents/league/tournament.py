"""``exphil tournament``: round-robin or Swiss matches between any agents, with ratings.

Agents are bot names (``scripted``, ``jumper``, ``idle``, ``random``), ``cpu:LEVEL`` (Dolphin),
league snapshot folders, SB3 ``.zip`` models or BC checkpoints. An agent that cannot be loaded is
reported with its reason and left out; the rest play. Every pairing plays ``games`` games, half
with each agent on port 1. On the mock engine all the games of a round are played at once in
one batched engine (each network makes one forward pass per frame over all its games); on
Dolphin one after another. The same agents and ``seed`` replay the same tournament exactly.

Writes to ``out``: ``results.json`` (everything), ``games.csv``, ``ratings.csv``,
``winrate.csv``, ``winrate.png`` (heatmap) and ``ratings.png`` (league snapshots' ratings over
training steps, with 95% intervals, beside the other agents).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import tyro

from exphil_agents.league.matches import MatchSetup, play_pairing, play_round
from exphil_agents.league.ratings import expected_score, fit_ratings, make_table
from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class TournamentConfig:
    """Play agents against each other and rate them."""

    agents: Annotated[tuple[str, ...], tyro.conf.Positional] = (
        "scripted",
        "scripted:5",
        "scripted:1",
        "idle",
        "random",
    )
    """Bots, cpu:LEVEL (Dolphin), league snapshot folders, SB3 .zip or BC checkpoints."""
    games: int = 20
    """Games per pairing (split between the two port orders)."""
    format: Literal["round-robin", "swiss"] = "round-robin"
    rounds: int = 0
    """Swiss rounds (0: ceil(log2(agents)) + 1)."""
    seed: int = 0
    out: Path = Path("runs/tournament")
    rating: Literal["bradley-terry", "openskill"] = "bradley-terry"
    """bradley-terry: all games fitted at once, 95% intervals from the fit; openskill: sequential
    Weng-Lin updates, interval +-1.96 sigma."""
    deterministic: bool = False
    """Networks play their most likely action instead of sampling."""
    allow_pickle: bool = False
    """Load SB3 .zip agents whose pickled settings cannot be rebuilt safely, by unpickling them
    (runs code from the files: only for files from a source you trust)."""
    game: GameSettings = field(default_factory=GameSettings)
    """characters, stage, stocks and timer of every game (--game.stage, --game.stocks, ...)."""
    backend: Literal["mock", "dolphin"] = "mock"
    dolphin_path: str | None = None
    """Slippi Dolphin executable for --backend dolphin (default $EXPHIL_DOLPHIN_PATH)."""
    iso_path: str | None = None
    """Melee 1.02 image for --backend dolphin (default $EXPHIL_ISO_PATH)."""
    slippi_port: int = 51441
    headless: bool = True
    plots: bool = True
    """Write winrate.png and ratings.png (needs matplotlib)."""
    quiet: bool = False
    chunk: int = 0
    """Pairings played together in one batched engine (mock backend; 0: the whole round, fastest on
    one machine): the unit of work sent to a --ray worker, and of seeding (chunk k of round r plays
    with a seed from (seed, r, k)), so results depend on it, never on where the chunks run."""
    ray: str | None = None
    """Spread the chunks over a Ray cluster: its address (HOST:PORT, or auto for the cluster this
    machine belongs to), or local to start Ray here (mock backend; the scale extra). Agents are
    loaded on the workers by their names and paths, so paths must be readable there."""
    record_replays: Path | None = None
    """Write each game as a Slippi replay (.slp) in this folder, with a viewer page beside it
    that OUT/index.html links (mock backend, played here)."""
    record_games: int = 0
    """--record-replays: only the first N games of each pairing (0: every game; each recorded
    game holds about 600 bytes per frame until its round ends)."""


@dataclass
class Entry:
    name: str
    spec: str
    kind: str
    step: int | None = None
    learner: str | None = None
    player: Any = field(default=None, repr=False)


def _kind(player: Any) -> str:
    return type(player).__name__.replace("Player", "").lower()


def load_entries(cfg: TournamentConfig) -> tuple[list[Entry], list[dict[str, str]]]:
    """Load every agent; those that fail are returned as ``{"agent", "reason"}``."""
    from exphil_agents.actors import ActorError, load_actor

    entries: list[Entry] = []
    skipped: list[dict[str, str]] = []
    names: set[str] = set()
    for spec in cfg.agents:
        try:
            player = load_actor(spec, cfg.deterministic, cfg.seed, cfg.allow_pickle)
            if cfg.backend == "mock" and getattr(player, "cpu_level", None):
                raise ActorError(f"{spec}: the game's CPU plays only on Dolphin (--backend dolphin)")
        except ActorError as exc:
            skipped.append({"agent": spec, "reason": str(exc)})
            continue
        name = _display_name(spec)
        while name in names:
            name += "'"
        names.add(name)
        step, learner = _snapshot_meta(spec)
        entries.append(Entry(name, spec, _kind(player), step, learner, player))
    return entries, skipped


def _display_name(spec: str) -> str:
    path = Path(spec)
    if path.exists():
        if path.name in ("model.safetensors", "best", "last"):
            return f"{path.parent.name}/{path.name}"
        return path.stem if path.suffix in (".zip", ".safetensors") else path.name
    return spec


def _snapshot_meta(spec: str) -> tuple[int | None, str | None]:
    folder = Path(spec)
    folder = folder if folder.is_dir() else folder.parent
    if (folder / "snapshot.json").is_file():
        from exphil_agents.league.population import read_snapshot

        info = read_snapshot(folder)
        return int(info.get("step", 0)), info.get("learner")
    return None, None


def round_robin(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def swiss_round(points: np.ndarray, played: set[tuple[int, int]], rng: np.random.Generator) -> list[tuple[int, int]]:
    """Pair players with similar points (random among equals), avoiding rematches where possible;
    with an odd count the lowest unpaired player sits out."""
    order = sorted(range(len(points)), key=lambda i: (-points[i], rng.random()))
    pairs: list[tuple[int, int]] = []
    free = list(order)
    while len(free) > 1:
        i = free.pop(0)
        j = next((k for k in free if (min(i, k), max(i, k)) not in played), free[0])
        free.remove(j)
        pairs.append((min(i, j), max(i, j)))
    return pairs


def _settings(cfg: TournamentConfig) -> MatchSetup:
    dolphin = None
    if cfg.backend == "dolphin":
        dolphin = {
            "dolphin_path": cfg.dolphin_path,
            "iso_path": cfg.iso_path,
            "slippi_port": cfg.slippi_port,
            "headless": cfg.headless,
        }
    return MatchSetup(cfg.game, dolphin)


def run(cfg: TournamentConfig) -> dict[str, Any]:
    """Play the tournament, rate the agents, write the outputs; returns the results dict."""
    if cfg.games < 1:
        raise ValueError(f"--games must be >= 1; got {cfg.games}")
    if cfg.chunk < 0:
        raise ValueError(f"--chunk must be >= 0; got {cfg.chunk}")
    if cfg.ray is not None and cfg.chunk == 0:
        raise ValueError(
            "--ray sends chunks of --chunk pairings to its workers: set --chunk (8, say; the games depend on it, "
            "so a local run with the same --chunk plays the same games)"
        )
    if cfg.ray is not None and cfg.backend != "mock":
        raise ValueError("--ray spreads mock-engine games over a cluster; Dolphin games run where their Dolphin is")
    if cfg.record_replays is not None and (cfg.backend != "mock" or cfg.ray is not None):
        raise ValueError(
            "--record-replays writes the mock engine's games played here: not with --ray (the games are played on "
            "other machines) or --backend dolphin (Slippi Dolphin records its own replays)"
        )
    if cfg.record_games < 0:
        raise ValueError(f"--record-games must be >= 0; got {cfg.record_games}")
    entries, skipped = load_entries(cfg)
    for item in skipped:
        _say(cfg, f"[yellow]skipped[/yellow] {item['reason']}")
    if len(entries) < 2:
        raise ValueError(f"a tournament needs at least two playable agents; {len(entries)} loaded")
    rng = np.random.default_rng(cfg.seed)
    games: list[dict[str, Any]] = []
    played: set[tuple[int, int]] = set()
    points = np.zeros(len(entries))
    num_rounds = 1 if cfg.format == "round-robin" else (cfg.rounds or math.ceil(math.log2(len(entries))) + 1)
    for r in range(num_rounds):
        pairs = round_robin(len(entries)) if cfg.format == "round-robin" else swiss_round(points, played, rng)
        round_seed = int(np.random.SeedSequence([cfg.seed, r]).generate_state(1)[0])
        for (i, j), records in zip(pairs, _play(entries, pairs, round_seed, cfg), strict=True):
            played.add((i, j))
            _say(cfg, f"  round {r + 1}: {entries[i].name} vs {entries[j].name}: "
                      f"{sum(g['score'] for g in records):g}/{len(records)}")  # fmt: skip
            for rec in records:
                rec["round"] = r + 1
                points[i] += rec["score"]
                points[j] += 1.0 - rec["score"]
            games.extend(records)
    results = summarise(cfg, entries, skipped, games)
    write_outputs(cfg, results)
    return results


def chunks(pairs: list[tuple[int, int]], size: int, seed: int) -> list[tuple[list[tuple[int, int]], int]]:
    """The round's pairings in chunks of ``size``, each with its own seed from ``(seed, k)``; the
    whole round in one chunk plays with ``seed`` itself."""
    if size >= len(pairs):
        return [(pairs, seed)]
    return [
        (pairs[k : k + size], int(np.random.SeedSequence([seed, k // size]).generate_state(1)[0]))
        for k in range(0, len(pairs), size)
    ]


def play_chunk(
    specs: list[str], names: list[str], pairs: list[tuple[int, int]], games: int, seed: int, settings: MatchSetup,
    deterministic: bool, allow_pickle: bool,
) -> list[list[dict[str, Any]]]:  # fmt: skip
    """One chunk of a round, with its agents loaded here from their specs (a Ray worker's task)."""
    from exphil_agents.actors import load_actor

    needed = sorted({i for pair in pairs for i in pair})
    players: list[Any] = [None] * len(specs)
    for i in needed:
        players[i] = load_actor(specs[i], deterministic, seed, allow_pickle)
    return play_round(players, names, pairs, games, seed, settings)


def _play(entries: list[Entry], pairs: list[tuple[int, int]], seed: int, cfg: TournamentConfig) -> list[Any]:
    settings = _settings(cfg)
    if cfg.backend == "mock":
        players, names = [e.player for e in entries], [e.name for e in entries]
        parts = chunks(pairs, cfg.chunk or len(pairs), seed)
        if cfg.ray is not None:
            played = _play_on_ray(entries, parts, cfg, settings)
        else:
            record = None if cfg.record_replays is None else str(cfg.record_replays)
            played = [
                play_round(players, names, part, cfg.games, part_seed, settings, record, cfg.record_games)
                for part, part_seed in parts
            ]
        return [records for chunk in played for records in chunk]
    return [
        play_pairing(
            entries[i].player, entries[j].player, (entries[i].name, entries[j].name), cfg.games, seed, settings
        )
        for i, j in pairs
    ]


def _play_on_ray(
    entries: list[Entry], parts: list[tuple[list[tuple[int, int]], int]], cfg: TournamentConfig, settings: MatchSetup
) -> list[list[list[dict[str, Any]]]]:
    """Every chunk as a Ray task (retried on another worker if its worker dies; the driver keeps
    exactly one result per chunk, in order)."""
    import ray

    connect(cfg.ray)
    task = ray.remote(max_retries=5, num_cpus=1)(play_chunk)
    specs, names = [e.spec for e in entries], [e.name for e in entries]
    refs = [task.remote(specs, names, part, cfg.games, part_seed, settings, cfg.deterministic, cfg.allow_pickle)
            for part, part_seed in parts]  # fmt: skip
    return ray.get(refs)


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` (``auto``, ``HOST:PORT``) or start one here (``local``)."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("--ray needs Ray: pip install -e '.[scale]' (docs/scaling.md)") from exc
    if ray.is_initialized():
        return
    if address == "local":
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def summarise(
    cfg: TournamentConfig, entries: list[Entry], skipped: list[dict[str, str]], games: list[dict[str, Any]]
) -> dict[str, Any]:
    names = [e.name for e in entries]
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    score, count = np.zeros((n, n)), np.zeros((n, n))
    wdl: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in games:
        i, j = index[g["a"]], index[g["b"]]
        score[i, j] += g["score"]
        score[j, i] += 1.0 - g["score"]
        count[i, j] += 1
        count[j, i] += 1
        col = 1 if g["score"] == 0.5 else (0 if g["score"] == 1.0 else 2)
        wdl[g["a"]][col] += 1
        wdl[g["b"]][2 - col] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(count > 0, score / np.maximum(count, 1), np.nan)
    pairs = [(g["a"], g["b"], g["score"]) for g in games]
    if cfg.rating == "openskill":
        table = make_table("openskill")
        for a, b, s in pairs:
            table.record(a, b, s)
        ratings = np.array([table.rating(x) for x in names])
        stderr = np.array([table.uncertainty(x) for x in names])
    else:
        fit = fit_ratings(names, pairs)
        ratings, stderr = fit.ratings, fit.stderr
    order = np.argsort(-ratings, kind="stable")
    rows = []
    for rank, i in enumerate(order):
        e = entries[i]
        w, d, lo = wdl[e.name]
        rows.append({
            "rank": rank + 1, "agent": e.name, "spec": e.spec, "kind": e.kind, "step": e.step, "learner": e.learner,
            "rating": round(float(ratings[i]), 1), "stderr": round(float(stderr[i]), 1),
            "ci95": [round(float(ratings[i] - 1.96 * stderr[i]), 1), round(float(ratings[i] + 1.96 * stderr[i]), 1)],
            "wins": w, "draws": d, "losses": lo, "score": round((w + 0.5 * d) / max(w + d + lo, 1), 4),
        })  # fmt: skip
    return {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "agents": names,
        "skipped": skipped,
        "ratings": rows,
        "winrate": {"agents": names, "matrix": [[None if math.isnan(v) else round(v, 4) for v in r] for r in matrix]},
        "win_probability": {  # predicted from the ratings (draws counting half)
            "agents": names,
            "matrix": [[round(expected_score(float(ra), float(rb)), 4) for rb in ratings] for ra in ratings],
        },
        "games": games,
    }


def write_outputs(cfg: TournamentConfig, results: dict[str, Any]) -> None:
    from melee_envs.atomic import write_text_atomic

    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "results.json", json.dumps(results, indent=1))
    _csv(out / "games.csv", results["games"])
    _csv(out / "ratings.csv", [{**r, "ci95": f"{r['ci95'][0]}..{r['ci95'][1]}"} for r in results["ratings"]])
    names = results["winrate"]["agents"]
    matrix = results["winrate"]["matrix"]
    _csv(
        out / "winrate.csv",
        [{"agent": a, **dict(zip(names, row, strict=True))} for a, row in zip(names, matrix, strict=True)],
    )
    if cfg.plots:
        from exphil_agents.league.plots import rating_plot, winrate_heatmap

        try:
            winrate_heatmap(names, matrix, out / "winrate.png")
            rating_plot(results["ratings"], out / "ratings.png")
        except ImportError as exc:  # the results are written; only the pictures are missing
            _say(cfg, f"[yellow]no plots[/yellow]: {exc}")
    write_text_atomic(out / "index.html", results_page(cfg, results))
    _print_table(cfg, results)


def results_page(cfg: TournamentConfig, results: dict[str, Any]) -> str:
    """``OUT/index.html``: the ratings, the win-rate heatmap and every game, each recorded one
    linked to its viewer page (written beside its replay here). Self-contained, no scripts."""
    import html

    esc = html.escape
    rows = "".join(
        f"<tr><td>{r['rank']}</td><td>{esc(r['agent'])}</td><td>{r['rating']:.0f}</td>"
        f"<td>{r['ci95'][0]:.0f} .. {r['ci95'][1]:.0f}</td><td>{r['wins']}-{r['draws']}-{r['losses']}</td>"
        f"<td>{100 * r['score']:.0f}%</td></tr>"
        for r in results["ratings"]
    )
    names, matrix = results["winrate"]["agents"], results["winrate"]["matrix"]

    def cell(v: float | None) -> str:
        if v is None:
            return "<td></td>"
        red, green = int(220 * (1 - v)), int(190 * v)
        return f'<td style="background:rgb({red},{green},70)">{100 * v:.0f}%</td>'

    heat = "".join(
        f"<tr><th>{esc(a)}</th>{''.join(cell(v) for v in row)}</tr>" for a, row in zip(names, matrix, strict=True)
    )
    head = "".join(f"<th>{esc(b)}</th>" for b in names)
    pages = _game_pages(cfg, results["games"])
    games = "".join(
        f"<tr><td>{g.get('round', 1)}</td><td>{esc(g['a'])}</td><td>{esc(g['b'])}</td><td>P{g['a_port']}</td>"
        f"<td>{g['score']:g}</td><td>{g['frames']}</td><td>{pages.get(k, '')}</td></tr>"
        for k, g in enumerate(results["games"])
    )
    title = f"{cfg.format} tournament, {len(results['games'])} games (seed {cfg.seed})"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}"
        "td:nth-child(2),td:nth-child(3){text-align:left}</style></head><body>"
        f"<h1>{esc(title)}</h1><h2>Ratings ({esc(cfg.rating)})</h2><table><tr><th>#</th><th>agent</th><th>rating</th>"
        f"<th>95% interval</th><th>W-D-L</th><th>score</th></tr>{rows}</table>"
        f"<h2>Win rates (row against column)</h2><table><tr><th></th>{head}</tr>{heat}</table>"
        f"<h2>Games</h2><table><tr><th>round</th><th>a</th><th>b</th><th>a's port</th><th>a's score</th>"
        f"<th>frames</th><th>replay</th></tr>{games}</table></body></html>"
    )


def _game_pages(cfg: TournamentConfig, games: list[dict[str, Any]]) -> dict[int, str]:
    """The viewer page of every recorded game (written beside its replay), as links from OUT."""
    import html
    import os

    if cfg.record_replays is None:
        return {}
    from melee_envs.atomic import write_text_atomic
    from melee_envs.backends.replay import ReplayError, read_replay
    from melee_envs.viewer import game_data, page

    links = {}
    for k, g in enumerate(games):
        if not g.get("replay"):
            continue
        replay = cfg.record_replays / g["replay"]
        target = replay.with_suffix(".html")
        try:
            write_text_atomic(target, page(game_data(read_replay(replay))))
        except ReplayError as exc:
            links[k] = f"unreadable: {html.escape(exc.reason)}"
            continue
        view = html.escape(os.path.relpath(target, cfg.out))
        slp = html.escape(os.path.relpath(replay, cfg.out))
        links[k] = f'<a href="{view}">watch</a> <a href="{slp}">.slp</a>'
    return links


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _say(cfg: TournamentConfig, text: str) -> None:
    """A progress line (not with ``quiet`` or ``exphil --quiet``; the final table still prints)."""
    if not cfg.quiet:
        from melee_envs.messages import console

        console(width=120, stderr=True).print(text)


def _print_table(cfg: TournamentConfig, results: dict[str, Any]) -> None:
    if cfg.quiet:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{cfg.format} tournament, {len(results['games'])} games ({cfg.backend}, seed {cfg.seed})")
    for col in ("rank", "agent", "rating", "95% interval", "W-D-L", "score", "P(beats next)"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    rows = results["ratings"]
    for r, below in zip(rows, [*rows[1:], None], strict=True):
        chance = "" if below is None else f"{expected_score(r['rating'], below['rating']):.2f}"
        table.add_row(
            str(r["rank"]), r["agent"], f"{r['rating']:.0f}", f"{r['ci95'][0]:.0f} .. {r['ci95'][1]:.0f}",
            f"{r['wins']}-{r['draws']}-{r['losses']}", f"{100 * r['score']:.0f}%", chance,
        )  # fmt: skip
    console = Console(width=120)
    console.print(table)
    for item in results["skipped"]:
        console.print(f"skipped: {item['reason']}")
    console.print(f"results in {cfg.out}/")


def main(cfg: TournamentConfig) -> dict[str, Any]:
    from melee_envs.threads import training_threads

    # Networks and the engine take turns: torch's default 2 threads on 2 cores beside a busy
    # process made a 5-agent tournament 67x slower (182 s against 2.7 s, measured 2026-12-04).
    _say(cfg, training_threads("rl"))
    return run(cfg)
