"""``exphil view FILE_OR_DIR``: a replay (a Slippi ``.slp``, real or written by the envs) as one
self-contained HTML page that animates it in the browser, with no network and no Melee needed.

The page draws the stage (ground, ledges, platforms), each character as a box in its
port's colour with its facing, its action's name and its active hitbox where the move data knows
it, projectiles, each player's percent and stocks, and the frame number; a timeline scrubber,
play/pause (or the space bar) and frame stepping (the arrow keys). The game's data is embedded in
the page as JSON (about 30 bytes per player per frame).

For testing and scripting, the page reads ``#frame=N`` (start paused at frame ``N``) and
``#advance=K`` (then step ``K`` frames with the player's own step function), and writes the frame
shown, a checksum of the canvas and each player's percent into ``data-`` attributes of ``body``.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import tyro

#: Ports' colours (P1 red, P2 blue, P3 yellow, P4 green), as the game's HUD.
PORT_COLOURS = ("#e8474f", "#4a7de8", "#e8c547", "#4ac27a")


@dataclass(frozen=True)
class ViewConfig:
    """Write a replay (or every replay under a folder) as a self-contained HTML page that plays it."""

    paths: Annotated[tuple[Path, ...], tyro.conf.Positional]
    """.slp files and folders (searched recursively)."""
    out: Path | None = None
    """Folder for the pages (default: beside each replay, FILE.html); a folder also gets an
    index.html linking every page."""
    serve: bool = False
    """Serve the page (or the index) on localhost and open it in the browser; Ctrl-C stops."""
    port: int = 0
    """--serve's port (0: any free one)."""


def game_data(replay: Any) -> dict[str, Any]:
    """What the page draws, from a :class:`~melee_envs.backends.replay.reader.Replay`."""
    from melee_envs.backends.replay.meta import character_name
    from melee_envs.data import stages
    from melee_envs.data.actions import name_of
    from melee_envs.render import active_hitbox, drawn_size

    state, meta = replay.state, replay.meta
    info = stages.get(int(state.stage[0]))
    p = state.players
    action_names = {int(a): name_of(int(a)) for a in np.unique(p.action)}
    players = []
    for i in range(state.num_players):
        info_i = meta.players[i] if i < len(meta.players) else None
        character = np.asarray(p.character[:, i]).astype(np.int64)
        action = np.asarray(p.action[:, i]).astype(np.int64)
        face = np.where(np.asarray(p.facing[:, i]) < 0, -1, 1)
        x, y = np.asarray(p.x[:, i], np.float64), np.asarray(p.y[:, i], np.float64)
        # The active hitbox of the move being played, where the move data knows one.
        hx, hy, radius, out = active_hitbox(character, action, p.action_frame[:, i], x, y, face)
        boxes = np.round(np.stack([hx, hy, radius], axis=1), 1).tolist()
        hit = [box if on else None for box, on in zip(boxes, out, strict=True)]
        size = drawn_size(character)
        players.append(
            {
                "port": info_i.port if info_i else i + 1,
                "name": (info_i.netplay_name or info_i.tag or "") if info_i else "",
                "character": character_name(int(character[0])),
                "colour": PORT_COLOURS[((info_i.port if info_i else i + 1) - 1) % 4],
                "x": np.round(x, 2).tolist(),
                "y": np.round(y, 2).tolist(),
                "facing": face.tolist(),
                "action": action.tolist(),
                "percent": np.round(np.asarray(p.percent[:, i], np.float64), 2).tolist(),
                "stocks": np.asarray(p.stocks[:, i]).astype(int).tolist(),
                "exists": np.asarray(p.exists[:, i]).astype(int).tolist(),
                "size": np.round(size, 1).tolist(),
                "hitstun": (np.asarray(p.hitstun[:, i]) > 0).astype(int).tolist(),
                "hit": hit,
            }
        )
    proj = state.projectiles
    projectiles = [
        [[round(float(proj.x[t, k]), 1), round(float(proj.y[t, k]), 1)] for k in np.flatnonzero(proj.exists[t])]
        for t in range(len(state.frame))
    ]
    return {
        "file": Path(meta.path).name,
        "frames": len(state.frame),
        "frame": np.asarray(state.frame).astype(int).tolist(),
        "stage": {
            "name": info.name,
            "ground_x": info.ground_x,
            "ledge_x": info.ledge_x,
            "platforms": [list(pl) for pl in info.platforms],
            "blast": [info.blast_left, info.blast_right, info.blast_bottom, info.blast_top],
        },
        "actions": {str(a): n for a, n in action_names.items()},
        "players": players,
        "projectiles": projectiles,
        "end": meta.end_method,
        "winner": meta.winner_port,
        "version": ".".join(map(str, meta.slippi_version)),
        "played_on": meta.played_on,
    }


def page(data: dict[str, Any]) -> str:
    """The HTML page for :func:`game_data`'s data."""
    names = " vs ".join(f"{p['name'] or 'P' + str(p['port'])} ({p['character']})" for p in data["players"])
    hud = "".join(
        f'<div class="hud" style="border-color:{p["colour"]}"><b>P{p["port"]} {html.escape(p["name"])}</b> '
        f'{html.escape(p["character"])}<br><span class="pct" id="percent-{i}">0%</span> '
        f'<span class="stocks" id="stocks-{i}"></span></div>'
        for i, p in enumerate(data["players"])
    )
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        PAGE.replace("__TITLE__", html.escape(f"{data['file']}: {names}"))
        .replace("__HUD__", hud)
        .replace("__DATA__", payload)
    )


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;background:#15171c;color:#e6e6e6;margin:16px}
h1{font-size:16px;font-weight:600;margin:0 0 8px}
canvas{background:#20242c;border-radius:6px;display:block}
#bar{display:flex;gap:8px;align-items:center;margin:8px 0;width:960px}
#scrub{flex:1}
button{background:#313847;color:#e6e6e6;border:1px solid #4a5263;border-radius:4px;padding:4px 10px}
.huds{display:flex;gap:12px}
.hud{border-left:5px solid;padding:4px 10px;background:#20242c;border-radius:4px;min-width:180px}
.pct{font-size:24px;font-weight:700}
.stocks{letter-spacing:2px}
small{color:#9aa3b2}
</style></head>
<body data-frame="0">
<h1>__TITLE__</h1>
<canvas id="view" width="960" height="540"></canvas>
<div id="bar"><button id="play">Play</button><button id="back">&lt;</button><button id="next">&gt;</button>
<input id="scrub" type="range" min="0" value="0"><span id="clock"></span></div>
<div class="huds">__HUD__</div>
<p><small id="about"></small></p>
<script>
"use strict";
(() => {
const G = __DATA__;
const cv = document.getElementById("view"), cx = cv.getContext("2d");
const scrub = document.getElementById("scrub"), playButton = document.getElementById("play");
scrub.max = G.frames - 1;
let t = 0, playing = false, last = 0;
const S = G.stage, top = Math.max(40, ...S.platforms.map(p => p[0])) + 60;
const left = -1.45 * S.ground_x, right = 1.45 * S.ground_x, bottom = -50;
const scale = Math.min(cv.width / (right - left), cv.height / (top - bottom));
const X = x => (x - left) * scale + (cv.width - (right - left) * scale) / 2;
const Y = y => cv.height - (y - bottom) * scale;
document.getElementById("about").textContent =
  `${G.stage.name}, ${G.frames} frames, Slippi ${G.version}` + (G.played_on ? `, played on ${G.played_on}` : "") +
  `; ended: ${G.end}` + (G.winner ? `, winner P${G.winner}` : "") + ". Space: play/pause; arrows: step.";
function draw() {
  cx.clearRect(0, 0, cv.width, cv.height);
  cx.fillStyle = "#3b4252"; cx.fillRect(X(-S.ground_x), Y(0), (2 * S.ground_x) * scale, 14 * scale);
  cx.fillStyle = "#e6e6e6";
  for (const e of [-S.ledge_x, S.ledge_x]) cx.fillRect(X(e) - 2, Y(0), 4, 4);
  cx.fillStyle = "#6b7587";
  for (const [h, l, r] of S.platforms) cx.fillRect(X(l), Y(h), (r - l) * scale, 3);
  cx.fillStyle = "#f2f2a0";
  for (const [px, py] of G.projectiles[t]) { cx.beginPath(); cx.arc(X(px), Y(py), 4, 0, 7); cx.fill(); }
  G.players.forEach((p, i) => {
    if (!p.exists[t] || p.stocks[t] <= 0) return;
    const x = p.x[t], y = p.y[t], f = p.facing[t], s = p.size[t], w = 0.35 * s, h = 1.2 * s;
    cx.globalAlpha = p.hitstun[t] ? 0.55 : 1;
    cx.fillStyle = p.colour; cx.fillRect(X(x - w), Y(y + h), 2 * w * scale, h * scale);
    cx.fillStyle = "#ffffff";  // the nose: which way the character faces
    const nose = f > 0 ? X(x + w * 0.2) : X(x - w - 0.3 * s);
    cx.fillRect(nose, Y(y + 0.8 * h), (w * 0.8 + 0.3 * s) * scale, 0.15 * h * scale);
    cx.globalAlpha = 1;
    if (p.hit[t]) {
      const [hx, hy, r] = p.hit[t];
      cx.fillStyle = "rgba(255,80,80,0.55)"; cx.beginPath(); cx.arc(X(hx), Y(hy), r * scale, 0, 7); cx.fill();
    }
    cx.fillStyle = "#e6e6e6"; cx.font = "12px system-ui"; cx.textAlign = "center";
    cx.fillText(G.actions[p.action[t]] || String(p.action[t]), X(x), Y(y + h) - 6);
  });
  G.players.forEach((p, i) => {
    document.getElementById("percent-" + i).textContent = Math.round(p.percent[t]) + "%";
    document.getElementById("stocks-" + i).textContent = "\\u25cf".repeat(Math.max(0, p.stocks[t]));
  });
  scrub.value = t;
  document.getElementById("clock").textContent = `frame ${G.frame[t]} (${t + 1}/${G.frames})`;
  const pixels = cx.getImageData(0, 0, cv.width, cv.height).data;
  let sum = 0; for (let k = 0; k < pixels.length; k += 7) sum = (sum * 31 + pixels[k]) % 1000000007;
  document.body.dataset.frame = t; document.body.dataset.canvas = sum;
  document.body.dataset.percent = G.players.map(p => Math.round(p.percent[t])).join(",");
}
function step(k) { t = Math.min(G.frames - 1, Math.max(0, t + k)); draw(); }
function loop(now) {
  if (!playing) return;
  if (now - last >= 1000 / 60) { last = now; step(1); if (t >= G.frames - 1) toggle(); }
  requestAnimationFrame(loop);
}
function toggle() {
  playing = !playing; playButton.textContent = playing ? "Pause" : "Play";
  if (playing) requestAnimationFrame(loop);
}
playButton.onclick = toggle;
document.getElementById("back").onclick = () => step(-1);
document.getElementById("next").onclick = () => step(1);
scrub.oninput = () => { t = Number(scrub.value); draw(); };
document.addEventListener("keydown", e => {
  if (e.key === " ") { e.preventDefault(); toggle(); }
  else if (e.key === "ArrowRight") step(1);
  else if (e.key === "ArrowLeft") step(-1);
});
const hash = new URLSearchParams(location.hash.slice(1));
t = Math.min(G.frames - 1, Number(hash.get("frame") || 0)); draw();
if (hash.has("advance")) {
  document.body.dataset.startCanvas = document.body.dataset.canvas;
  for (let k = 0; k < Number(hash.get("advance")); k++) step(1);
}
})();
</script></body></html>
"""


def main(cfg: ViewConfig) -> int:
    """Write the pages; with ``--serve`` serve them and open the browser. Exit status 1 when some
    file could not be read (each named with why; the others still get their page)."""
    from melee_envs.atomic import write_text_atomic
    from melee_envs.backends.replay import ReplayError, read_replay
    from melee_envs.backends.replay.files import find_replays

    failed: list[tuple[Any, str]] = []  # folders that cannot be listed, files that cannot be read
    files = find_replays(cfg.paths, failed)
    if not files and not failed:
        raise FileNotFoundError(f"no .slp files in {', '.join(map(str, cfg.paths))}")
    written: list[Path] = []
    for path in files:
        try:
            replay = read_replay(path)
        except ReplayError as exc:
            failed.append((path, exc.reason))
            continue
        folder = cfg.out if cfg.out is not None else path.parent
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{path.stem}.html"
        write_text_atomic(target, page(game_data(replay)))
        written.append(target)
        print(f"wrote {target}")
    index = None
    if len(written) > 1 or any(p.is_dir() for p in cfg.paths):
        index = (cfg.out or (cfg.paths[0] if cfg.paths[0].is_dir() else cfg.paths[0].parent)) / "index.html"
        links = "".join(
            f'<li><a href="{html.escape(_relative(w, index.parent))}">{html.escape(w.stem)}</a></li>' for w in written
        )
        write_text_atomic(index, f"<!doctype html><meta charset='utf-8'><title>replays</title><ul>{links}</ul>")
        print(f"wrote {index}")
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if cfg.serve and written:
        serve(index or written[0], cfg.port)
    return 1 if failed else 0


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def serve(page_path: Path, port: int = 0, block: bool = True) -> Any:
    """Serve ``page_path``'s folder on localhost (only) and open the page in the browser, until
    Ctrl-C; with ``block=False`` return the running server (its ``url`` attribute; ``shutdown()``
    stops it)."""
    import functools
    import http.server
    import threading
    import webbrowser

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(page_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.url = f"http://127.0.0.1:{server.server_address[1]}/{page_path.name}"  # type: ignore[attr-defined]
    print(f"serving {server.url} (Ctrl-C stops)")  # type: ignore[attr-defined]
    webbrowser.open(server.url)  # type: ignore[attr-defined]
    if not block:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return None
