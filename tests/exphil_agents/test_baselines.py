import json
import subprocess
import sys

import pytest

from exphil_agents.baselines import collect, markdown
from exphil_agents.curves import LearningCurve, smooth
from exphil_agents.ladder import LADDER, evaluate_ladder
from melee_envs.settings import GameSettings


def _ladder_file(folder, name, results):
    (folder / f"{name}.ladder.json").write_text(json.dumps({"agent": name, "seed": 20_000, "results": results}))


def test_the_table_reads_real_ladder_results_and_curves(tmp_path):
    from exphil_agents.actors import load_actor

    # a real (small) ladder run of a bot, as `exphil ladder random --games 2 --out` writes it
    results = evaluate_ladder(load_actor("random", seed=0), 2, 20_000, GameSettings(time_limit_minutes=0.05))
    _ladder_file(tmp_path, "random", results)
    _ladder_file(tmp_path, "alpha", results)
    curve = LearningCurve(label="alpha")
    curve.add(16_384, 30.0, 10, 0.2, -0.5)
    curve.add(32_768, 90.0, 25, float("nan"), float("nan"))  # no game ended: stored as null
    curve.save(tmp_path / "alpha.json")
    rows = collect(tmp_path)
    assert [r["name"] for r in rows] == ["alpha", "random"]
    assert rows[0]["steps"] == 32_768 and rows[0]["minutes"] == 1.5 and rows[1]["steps"] is None
    table = markdown(rows).splitlines()
    assert table[0].startswith("| run | agent-steps | minutes | scripted:9 | :8 |") and len(table) == 4
    assert table[2].startswith("| alpha | 0.0 M | 1.5 | ") and table[3].startswith("| random | - | - | ")
    wins = [float(x) for x in table[3].strip("| ").split(" | ")[3:]]
    assert wins == [results[b]["win"] for b in LADDER]

    out = subprocess.run([sys.executable, "-m", "exphil", "baselines", str(tmp_path), "--out", str(tmp_path / "t.md")],
                         capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t.md").read_text().splitlines() == table
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_bad_folders_and_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="no \\*.ladder.json files"):
        collect(tmp_path)
    (tmp_path / "x.ladder.json").write_text('{"results": {"idle": {}}}')
    with pytest.raises(ValueError, match="x.ladder.json: not an exphil ladder --out file .*no results for scripted:9"):
        collect(tmp_path)
    (tmp_path / "x.ladder.json").unlink()
    (tmp_path / "c.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="c.json: not a learning curve"):
        LearningCurve.load(tmp_path / "c.json")


def test_smoothing_skips_games_that_did_not_end():
    assert smooth([None, 1.0, None, 0.0, 0.5], 2)[1:] == [1.0, 1.0, 0.5, 0.25]
