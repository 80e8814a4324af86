"""The league's state on disk: history replayed exactly, cut-off lines, pending snapshots."""

import json

import pytest

from exphil_agents.league.ratings import INITIAL_RATING
from exphil_agents.league.state import LeagueState


def _fill(state):
    state.table.add("bot:idle")
    for step, (opp, score) in enumerate([("bot:idle", 1.0), ("bot:idle", 0.5), ("bot:idle", 0.0)] * 5):
        state.record_match("main-0", opp, score, step)
    state.record_snapshot("main-0@000000015", "main-0", 15)
    for step in range(5):
        state.record_match("main-0", "main-0@000000015", float(step % 2), 16 + step)
    state.record_match("main-0", "main-0", 1.0, 30)  # against its live self: kept, not rated
    state.learners["main-0"] = {"role": "main", "step": 30}
    state.rng.random(7)
    state.save()


@pytest.mark.parametrize("rating", ["elo", "openskill"])
def test_history_replays_to_the_same_ratings(tmp_path, rating):
    state = LeagueState(tmp_path, rating)
    _fill(state)
    ratings, wins, draws = dict(state.table.ratings), dict(state.wins), state.rng.random()
    state.close()
    again = LeagueState(tmp_path, rating)
    assert again.table.ratings == ratings
    assert dict(again.wins) == wins
    assert again.rng.random() == draws  # the sampler continues where the saved state left it
    assert again.learners == {"main-0": {"role": "main", "step": 30}}
    assert len(again.matches()) == 21 and again.snapshot_ids() == ["main-0@000000015"]
    assert again.table.games["main-0"] == 20  # the self game is on record but unrated
    assert again.table.rating("main-0@000000015") != INITIAL_RATING  # inherited from the learner


def test_a_cut_off_last_line_is_dropped_and_the_file_repaired(tmp_path, capsys):
    state = LeagueState(tmp_path)
    _fill(state)
    state.close()
    events = tmp_path / "events.jsonl"
    good = events.read_bytes()
    with open(events, "ab") as fh:
        fh.write(b'{"type": "match", "learner": "main-0", "opp')
    again = LeagueState(tmp_path)
    assert "line 23: cut off" in capsys.readouterr().err
    assert len(again.matches()) == 21
    again.record_match("main-0", "bot:idle", 1.0, 40)
    again.close()
    lines = events.read_bytes().splitlines()
    assert events.read_bytes().startswith(good) and len(lines) == len(good.splitlines()) + 1
    assert json.loads(lines[-1])["step"] == 40


def test_a_damaged_line_in_the_middle_loses_nothing_else(tmp_path, capsys):
    state = LeagueState(tmp_path)
    _fill(state)
    ratings = dict(state.table.ratings)
    state.close()
    events = tmp_path / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    damaged = [*lines[:4], b'{"type": "match", "learner": "main-0", "opp\x00\xff\n', *lines[4:]]
    damaged[10] = b'{"type": "match", "learner": "main-0", "opponent": "bot:idle", "score": NaN, "step": 9}\n'
    events.write_bytes(b"".join(damaged))
    again = LeagueState(tmp_path)
    err = capsys.readouterr().err
    assert "2 invalid lines (line 5: not JSON" in err and "line 11: match score nan" in err, err
    assert "kept the other 21 events" in err
    assert len(again.matches()) == 20 and again.snapshot_ids() == ["main-0@000000015"]  # only line 11's game lost
    assert events.read_bytes() == b"".join(damaged[:4] + damaged[5:10] + damaged[11:])
    aside = [json.loads(line) for line in (tmp_path / "events.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in aside] == [5, 11] and '"score": NaN' in aside[1]["text"]
    again.record_match("main-0", "bot:idle", 1.0, 40)
    again.close()
    assert len(LeagueState(tmp_path, read_only=True).matches()) == 21
    assert set(ratings) == set(LeagueState(tmp_path, read_only=True).table.ratings)


def test_a_reader_skips_damaged_lines_and_says_so(tmp_path, capsys):
    state = LeagueState(tmp_path)
    _fill(state)
    state.close()
    events = tmp_path / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    events.write_bytes(b"".join([*lines[:3], b"[1, 2]\n", *lines[3:], b'{"type": "ma']))
    reader = LeagueState(tmp_path, read_only=True)
    err = capsys.readouterr().err
    assert "skipping 1 invalid line (line 4: not a JSON object)" in err, err  # the cut last line: being written
    assert len(reader.matches()) == 21
    assert events.read_bytes().endswith(b'{"type": "ma')  # a reader repairs nothing


def test_a_snapshot_written_just_before_a_kill_is_recorded_on_restart(tmp_path):
    folder = tmp_path / "snapshots" / "main-0@000000100"
    folder.mkdir(parents=True)
    (folder / "snapshot.json").write_text(
        json.dumps({"format": "exphil-league-snapshot-1", "id": folder.name, "learner": "main-0", "step": 100})
    )
    state = LeagueState(tmp_path)
    assert state.snapshot_ids() == ["main-0@000000100"]
    state.close()
    assert json.loads((tmp_path / "events.jsonl").read_text().splitlines()[0])["type"] == "snapshot"
    assert LeagueState(tmp_path).snapshot_ids() == ["main-0@000000100"]


def test_one_writer_at_a_time_and_read_only_readers(tmp_path):
    state = LeagueState(tmp_path)
    _fill(state)
    with pytest.raises(RuntimeError, match="open in another process"):
        LeagueState(tmp_path)  # a second writer (the lock is per open file, as between processes)
    reader = LeagueState(tmp_path, read_only=True)
    assert reader.table.ratings == state.table.ratings
    with pytest.raises(RuntimeError, match="read-only"):
        reader.record_match("main-0", "bot:idle", 1.0, 99)
    state.close()
    LeagueState(tmp_path).close()  # free again once the writer closed


def test_damaged_league_json_or_a_file_for_a_folder_is_a_clear_error(tmp_path):
    state = LeagueState(tmp_path / "league")
    _fill(state)
    state.close()
    meta = tmp_path / "league" / "league.json"
    meta.write_text(meta.read_text()[:30])  # cut short
    with pytest.raises(ValueError, match=r"league.json is damaged .*events.jsonl\) and snapshots are intact"):
        LeagueState(tmp_path / "league")
    LeagueState(tmp_path / "other").close()  # the lock of the refused open was released
    (tmp_path / "afile").write_text("")
    with pytest.raises(NotADirectoryError, match="afile: a file, not a league folder"):
        LeagueState(tmp_path / "afile")
