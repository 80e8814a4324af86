"""Tournaments: known bot ladder, reproducibility, Swiss pairing, outputs, bad agents skipped."""

import csv
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from exphil_agents.actors import ActorError, load_actor
from exphil_agents.league.tournament import TournamentConfig, run, swiss_round

LADDER = ("scripted", "scripted:5", "scripted:1", "idle", "random")  # strongest first, by design


def _run(tmp_path, agents, **kwargs):
    kwargs.setdefault("games", 40)
    return run(TournamentConfig(agents=tuple(agents), out=tmp_path / "out", quiet=True, **kwargs))


def test_bots_are_ranked_in_their_known_order(tmp_path):
    shuffled = ("idle", "scripted:1", "random", "scripted", "scripted:5")
    results = _run(tmp_path, shuffled)
    ranked = [row["agent"] for row in results["ratings"]]
    assert ranked == list(LADDER)
    rows = results["ratings"]
    for upper, lower in zip(rows, rows[1:], strict=False):
        assert upper["ci95"][0] > lower["rating"], (upper, lower)  # each step of the ladder resolved
    assert len(results["games"]) == 10 * 40


def test_tournament_replays_exactly(tmp_path):
    agents = ("scripted:5", "random", "idle")
    first = _run(tmp_path / "a", agents, games=10, seed=3)
    again = _run(tmp_path / "b", agents, games=10, seed=3)
    assert first["games"] == again["games"]
    other = _run(tmp_path / "d", agents, games=10, seed=4)
    assert [g["winner"] for g in other["games"]] != [g["winner"] for g in first["games"]]


def test_swiss_pairs_by_score_without_rematches():
    rng = np.random.default_rng(0)
    pairs = swiss_round(np.array([3.0, 0.0, 2.0, 1.0]), set(), rng)
    assert pairs == [(0, 2), (1, 3)]
    pairs = swiss_round(np.array([3.0, 0.0, 2.0, 1.0]), {(0, 2)}, rng)
    assert (0, 2) not in pairs and len(pairs) == 2
    assert len(swiss_round(np.zeros(5), set(), rng)) == 2  # one sits out


def test_swiss_tournament_writes_every_output(tmp_path):
    results = _run(tmp_path, LADDER, games=6, format="swiss", rounds=3)
    assert {g["round"] for g in results["games"]} == {1, 2, 3}
    out = tmp_path / "out"
    for name in ("results.json", "games.csv", "ratings.csv", "winrate.csv", "winrate.png", "ratings.png"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "ratings.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"rank", "agent", "rating", "ci95", "wins", "draws", "losses"} <= set(rows[0])
    assert Image.open(out / "winrate.png").size[0] > 100
    saved = json.loads((out / "results.json").read_text())
    assert saved["ratings"] == json.loads(json.dumps(results["ratings"]))


def test_bad_agents_are_reported_and_skipped(tmp_path, capsys):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a checkpoint")
    not_sb3 = tmp_path / "model.zip"
    with zipfile.ZipFile(not_sb3, "w") as z:
        z.writestr("hello.txt", "x")
    agents = ("scripted", str(tmp_path / "missing.zip"), str(garbage), str(not_sb3), "cpu:9", "idle", "scripted:12")
    results = _run(tmp_path, agents, games=4)
    assert [r["agent"] for r in results["ratings"]] == ["scripted", "idle"]
    reasons = {s["agent"]: s["reason"] for s in results["skipped"]}
    assert "no such bot or checkpoint" in reasons[str(tmp_path / "missing.zip")]
    assert "cannot load" in reasons[str(garbage)]
    assert "not a stable-baselines3 model archive" in reasons[str(not_sb3)]
    assert "only on Dolphin" in reasons["cpu:9"]
    assert "scripted:12" in reasons
    with pytest.raises(ValueError, match="at least two playable agents"):
        _run(tmp_path, ("scripted", str(garbage)))


def test_incompatible_network_is_skipped(tmp_path):
    gym = pytest.importorskip("gymnasium")
    from stable_baselines3 import PPO

    cartpole = PPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=64, device="cpu")
    cartpole.save(tmp_path / "cartpole.zip")
    with pytest.raises(ActorError, match="cartpole.zip"):
        load_actor(tmp_path / "cartpole.zip")
    results = _run(tmp_path, ("idle", "random", str(tmp_path / "cartpole.zip")), games=2)
    assert len(results["skipped"]) == 1 and "values per frame" in results["skipped"][0]["reason"]


def test_recorded_games_are_the_games_played_and_the_results_page_links_them(tmp_path):
    from melee_envs.backends.replay import read_replay
    from melee_envs.settings import GameSettings

    agents, short = ("scripted:5", "random", "idle"), GameSettings(stocks=1, time_limit_minutes=0.5)
    plain = _run(tmp_path / "plain", agents, games=4, seed=2, game=short)
    folder = tmp_path / "replays"
    recorded = _run(tmp_path / "rec", agents, games=4, seed=2, game=short, record_replays=folder)
    strip = [{k: v for k, v in g.items() if k != "replay"} for g in recorded["games"]]
    assert strip == plain["games"]  # recording changes no game
    assert len(list(folder.glob("*.slp"))) == len(recorded["games"]) == 12
    for game in recorded["games"]:
        meta = read_replay(folder / game["replay"]).meta
        first, second = (game["a"], game["b"]) if game["a_port"] == 1 else (game["b"], game["a"])
        assert [p.netplay_name for p in meta.players] == [first, second]
        assert meta.num_frames == game["frames"] + 1
        won = None if game["winner"] < 0 else game["winner"] + 1
        assert meta.winner_port == won
        assert (folder / game["replay"]).with_suffix(".html").is_file()
    page = (tmp_path / "rec" / "out" / "index.html").read_text()
    assert page.count(">watch</a>") == 12 and "Win rates" in page and "scripted:5" in page
    assert "<script" not in page

    some = _run(tmp_path / "some", agents, games=4, seed=2, game=short, record_replays=tmp_path / "some-replays",
                record_games=1)  # fmt: skip
    assert sum(bool(g["replay"]) for g in some["games"]) == 3  # the first game of each pairing
    with pytest.raises(ValueError, match="--record-replays writes the mock engine's games played here"):
        _run(tmp_path / "ray", agents, record_replays=folder, ray="local", chunk=1)
