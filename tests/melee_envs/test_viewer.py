"""``exphil view``: a replay as a self-contained HTML page that plays it, checked in headless
Chromium (the canvas changes over 60 frames and the percent shown is the state's)."""

import json
import shutil
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from melee_envs.backends.replay import read_replay


@pytest.fixture(scope="module")
def game(tmp_path_factory, record_game):
    """A seeded 1-stock mock game recorded by Melee-v0 (a real .slp file)."""
    return record_game(tmp_path_factory.mktemp("replays"))[0]


def _page_data(page):
    text = page.read_text()
    start = text.index("const G = ") + len("const G = ")
    return json.loads(text[start : text.index(";\n", start)])


def test_view_writes_a_self_contained_page_per_replay(game, tmp_path, replays_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(game, folder / "mock.slp")
    shutil.copy(replays_dir / "slippi-js" / "itemExport.slp", folder / "items.slp")
    (folder / "broken.slp").write_bytes(game.read_bytes()[:5000])  # cut short: skipped and named
    proc = subprocess.run(
        [sys.executable, "-m", "exphil", "view", str(folder), "--out", str(tmp_path / "pages")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "broken.slp: truncated" in proc.stderr, proc.stderr
    pages = tmp_path / "pages"
    assert sorted(p.name for p in pages.iterdir()) == ["index.html", "items.html", "mock.html"]
    assert 'href="mock.html"' in (pages / "index.html").read_text()
    html = (pages / "mock.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script src" not in html  # no network
    data = _page_data(pages / "mock.html")
    state = read_replay(game).state
    assert data["frames"] == len(state.frame) and data["stage"]["name"] == "BATTLEFIELD"
    assert [p["character"] for p in data["players"]] == ["FALCO", "MARTH"]
    assert np.allclose(data["players"][1]["x"], state.players.x[:, 1], atol=0.01)
    assert any(h is not None for p in data["players"] for h in p["hit"])  # hitboxes where the move data knows them
    items = _page_data(pages / "items.html")
    assert any(items["projectiles"])  # a real replay's items are drawn


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_a_headless_browser_plays_60_frames_of_the_page(game, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    from melee_envs.viewer import ViewConfig, main

    assert main(ViewConfig((game,), out=tmp_path)) == 0
    page = tmp_path / f"{game.stem}.html"
    state = read_replay(game).state
    start = int(np.argmax(state.players.percent[:, 1] > 0)) - 30  # 60 frames around the first hit
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
         f"{page.as_uri()}#frame={start}&advance=60"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    body = proc.stdout[proc.stdout.index("<body") : proc.stdout.index(">", proc.stdout.index("<body"))]
    attrs = dict(part.split("=", 1) for part in body.replace('"', "").split()[1:])
    assert int(attrs["data-frame"]) == start + 60
    assert attrs["data-canvas"] != attrs["data-start-canvas"]  # the picture moved
    shown = [int(v) for v in attrs["data-percent"].split(",")]
    assert shown == [round(float(p)) for p in state.players.percent[start + 60]] and shown[1] > 0


def test_serve_answers_on_localhost(game, tmp_path, monkeypatch):
    import webbrowser

    from melee_envs.viewer import ViewConfig, main, serve

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    main(ViewConfig((game,), out=tmp_path))
    server = serve(tmp_path / f"{game.stem}.html", block=False)
    try:
        with urllib.request.urlopen(server.url, timeout=10) as response:
            assert response.status == 200 and b"const G = " in response.read()
        assert opened == [server.url] and server.url.startswith("http://127.0.0.1:")
    finally:
        server.shutdown()
        server.server_close()
