"""Playing games: a whole round of pairings at once on the mock engine, one game at a time on
Dolphin. A pairing's games are split between the two port orders (half with each player on
port 1)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from melee_envs.controller import ACTION_SIZE
from melee_envs.settings import GameSettings


@dataclass(frozen=True)
class MatchSetup:
    """What every game of a tournament is played with: the game, and where."""

    game: GameSettings = field(default_factory=GameSettings)
    dolphin: dict[str, Any] | None = None
    """DolphinConfig fields for backend="dolphin" (paths, ports, headless...)."""


def pairing_seed(seed: int, first: str, second: str) -> int:
    """A seed for the games of ``first`` (port 1) against ``second``, from names, not positions."""
    key = zlib.crc32(f"{first}\x00{second}".encode())
    return int(np.random.SeedSequence([seed, key]).generate_state(1)[0])


def port_orders(games: int) -> list[tuple[int, int]]:
    """``(order, count)``: order 0 plays ``count`` games with the pairing's first agent on port 1,
    order 1 the rest with it on port 2."""
    return [(order, count) for order, count in ((0, (games + 1) // 2), (1, games // 2)) if count]


def _record(a: str, b: str, order: int, seed: int, game: int, winner: int, frames: int) -> dict[str, Any]:
    """One game, scored from ``a``'s side (``a`` on port ``order + 1``; winner -1 is a draw)."""
    score = 0.5 if winner < 0 else float(winner == order)
    return {"a": a, "b": b, "a_port": order + 1, "seed": seed, "game": game, "score": score,
            "winner": int(winner), "frames": int(frames)}  # fmt: skip


def play_round(
    players: list[Any],
    names: list[str],
    pairs: list[tuple[int, int]],
    games: int,
    seed: int,
    settings: MatchSetup,
    record_to: str | None = None,
    record_games: int = 0,
) -> list[list[dict[str, Any]]]:
    """Every game of a round at once, in one batched mock engine: pairing ``(i, j)`` plays
    ``games`` games, half with ``i`` on port 1. Each network makes one forward pass per frame
    over all its unfinished games (both ports); each bot runs as one instance per port (a bot's
    timing counts its own calls). Returns the game records of every pairing, scores from ``i``'s
    side.

    ``record_to``: a folder where each game (the first ``record_games`` of each pairing; 0: all)
    is written as a Slippi replay; each record then names its file under ``replay``."""
    from exphil_agents.actors import BotActor, NetActor
    from melee_envs.backends.mock import MockBackend, MockConfig

    blocks = []  # (pairing, order, first row, count)
    rows = 0
    for p in range(len(pairs)):
        for order, count in port_orders(games):
            blocks.append((p, order, rows, count))
            rows += count
    port_of = np.full((len(players), rows), -1, np.int64)
    for p, order, start, count in blocks:
        i, j = pairs[p]
        first, second = (i, j) if order == 0 else (j, i)
        port_of[first, start : start + count] = 0
        port_of[second, start : start + count] = 1
    backend = MockBackend(
        rows,
        MockConfig(
            characters=settings.game.characters,
            stage=settings.game.stage,
            stocks=settings.game.stocks,
            time_limit_minutes=settings.game.time_limit_minutes,
        ),
    )
    backend.reset(seed)
    actors: list[tuple[Any, np.ndarray, np.ndarray]] = []  # (player, games, ports)
    for e, player in enumerate(players):
        mine = np.flatnonzero(port_of[e] >= 0)
        if not len(mine):
            continue
        if isinstance(player, NetActor):
            player.seed(seed)
            player.reset(len(mine))
            actors.append((player, mine, port_of[e, mine]))
            continue
        for port in (0, 1):
            on_port = mine[port_of[e, mine] == port]
            if len(on_port):
                bot = BotActor(player.name, seed + port) if isinstance(player, BotActor) else player
                bot.seed(seed + port)
                actors.append((bot, on_port, np.full(len(on_port), port)))
    actions = np.broadcast_to(backend.codec.noop().astype(np.int64), (rows, 2, ACTION_SIZE)).copy()
    recorder, recorded = None, np.full(rows, -1, np.int64)
    if record_to is not None:
        from melee_envs.backends.replay.writer import BatchRecorder

        to_record: list[int] = []
        for p in range(len(pairs)):
            in_pairing = [g for q, _, start, count in blocks if q == p for g in range(start, start + count)]
            to_record.extend(in_pairing[: record_games or None])
        recorded[to_record] = np.arange(len(to_record))
        recorder = BatchRecorder(to_record)
        recorder.capture(backend.packed, backend.done)
    while not backend.done.all():
        live = ~backend.done
        for player, mine, ports in actors:
            if not isinstance(player, NetActor):
                actions[mine, ports[0]] = player.act(backend, int(ports[0]))[mine]
                continue
            # Finished games need no forward pass (unless the player's state or held actions
            # are laid out over all its games).
            keep = live[mine] if player.stateless and player.repeat == 1 else slice(None)
            chosen, sides = mine[keep], ports[keep]
            if len(chosen):
                actions[chosen, sides] = player.act_games(backend, chosen, sides)
        backend.step(actions, checked=True)
        if recorder is not None:
            recorder.capture(backend.packed, backend.done)
    winners, frames = backend.winner, backend.state.frame
    out: list[list[dict[str, Any]]] = [[] for _ in pairs]
    for p, order, start, count in blocks:
        i, j = pairs[p]
        for g in range(start, start + count):
            record = _record(names[i], names[j], order, seed, g, int(winners[g]), int(frames[g]))
            if recorder is not None:  # named with port 1's player first
                players = (names[i], names[j]) if order == 0 else (names[j], names[i])
                won = int(winners[g])
                record["replay"] = (
                    ""
                    if recorded[g] < 0
                    else recorder.write(
                        int(recorded[g]), record_to, players, seed, won if won >= 0 else None, f"_game{g}"
                    ).name
                )
            out[p].append(record)
    return out


def play_dolphin(first: Any, second: Any, num_games: int, seed: int, settings: MatchSetup) -> dict[str, np.ndarray]:
    """``num_games`` games on Slippi Dolphin, one after another (rematches on one Dolphin).

    A ``cpu:LEVEL`` player is the game's own CPU at that level on its port; other players drive
    their port through the controller pipe.
    """
    from melee_envs.backends.dolphin import DolphinBackend, DolphinConfig

    controls = tuple("cpu" if getattr(p, "cpu_level", None) else "bot" for p in (first, second))
    levels = tuple(getattr(p, "cpu_level", None) or 9 for p in (first, second))
    config = DolphinConfig(
        **(settings.dolphin or {}),
        controls=controls,
        cpu_levels=levels,
        characters=settings.game.characters,
        stage=settings.game.stage,
    )
    backend = DolphinBackend(config)
    winners, frames = np.full(num_games, -1, np.int32), np.zeros(num_games, np.int32)
    try:
        for game in range(num_games):
            backend.reset()
            for player in (first, second):
                player.seed(seed + game)
                player.reset(1)
            count = 0
            while not backend.done[0]:
                actions = np.stack([first.act(backend, 0), second.act(backend, 1)], axis=1)
                backend.step(actions, checked=True)
                count += 1
            winners[game], frames[game] = int(backend.winner[0]), count
    finally:
        backend.close()
    return {"winner": winners, "frames": frames}


def play_pairing(
    a: Any, b: Any, names: tuple[str, str], games: int, seed: int, settings: MatchSetup
) -> list[dict[str, Any]]:
    """``games`` Dolphin games between ``a`` and ``b``, half with each on port 1; one record per
    game with the score from ``a``'s side."""
    records: list[dict[str, Any]] = []
    for order, count in port_orders(games):
        first, second = (a, b) if order == 0 else (b, a)
        port1, port2 = names if order == 0 else names[::-1]
        game_seed = pairing_seed(seed, port1, port2)
        result = play_dolphin(first, second, count, game_seed, settings)
        for g, (winner, frames) in enumerate(zip(result["winner"], result["frames"], strict=True)):
            records.append(_record(names[0], names[1], order, game_seed, g, int(winner), int(frames)))
    return records
