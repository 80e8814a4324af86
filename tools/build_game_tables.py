"""Regenerate the project's game-data tables in ``melee_envs/data/``.

Two public sources feed them; neither is shipped with the project, so this script is run by a
developer when a source changes, and its output is committed:

* FightCore frame data (public repository ``FightCore/frame-data``, values from
  meleeframedata.com): per-character weight, jump squat, initial dash, run speed, dash frames,
  and per-move damage, angle, knockback, shieldstun, timing and landing lag.
  Pass its ``data`` folder with ``--fightcore`` (default: ``../shared/melee-data/fightcore``).
* Ground-jump initial vertical velocities (full hop, short hop), which libmelee does not ship,
  measured from real Slippi replays: on the first airborne frame after ``KNEE_BEND`` the vertical
  displacement equals the jump's initial velocity. Whether the jump input was still held on the
  last jump-squat frame tells a full hop from a short hop. Characters absent from the replays get
  an estimate (see ``jump_source``). Pass a replay folder with ``--replays``.
* The height at which each character hangs from a ledge (``EDGE_HANGING``), also measured from
  the replays: the median ``y`` of its hanging frames on stages whose ledge is at ``y = 0``
  (every legal stage but Yoshi's Story, whose ledges are 3.5 units lower). Characters absent
  from the replays get the height their quick ledge getup rises through in libmelee's frame data
  (summed ``locomotion_y`` of ``EDGE_GETUP_QUICK``), which equals the replays' height within 0.05
  for six of the nine characters seen and within 2.8 for the rest (see ``ledge_source``).

Usage::

    python tools/build_game_tables.py --fightcore ../shared/melee-data/fightcore \
        --replays ../shared/replays
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from melee_envs.data import libmelee_source  # noqa: E402
from melee_envs.data.ledge import GETUP as LEDGE_GETUP, ledge_table  # noqa: E402

# FightCore names characters in prose; the project keys them by libmelee Character names.
FIGHTCORE_TO_LIBMELEE = {
    "captainfalcon": "CPTFALCON",
    "roy": "ROY",
    "pichu": "PICHU",
    "ness": "NESS",
    "mrgame&watch": "GAMEANDWATCH",
    "mewtwo": "MEWTWO",
    "link": "LINK",
    "bowser": "BOWSER",
    "kirby": "KIRBY",
    "ganondorf": "GANONDORF",
    "donkeykong": "DK",
    "mario": "MARIO",
    "drmario": "DOC",
    "luigi": "LUIGI",
    "yoshi": "YOSHI",
    "iceclimbers": "POPO",
    "pikachu": "PIKACHU",
    "peach": "PEACH",
    "sheik": "SHEIK",
    "samus": "SAMUS",
    "jigglypuff": "JIGGLYPUFF",
    "marth": "MARTH",
    "fox": "FOX",
    "falco": "FALCO",
    "younglink": "YLINK",
    "zelda": "ZELDA",
}
MOVES = (
    "jab1",
    "dattack",
    "ftilt",
    "utilt",
    "dtilt",
    "fsmash",
    "usmash",
    "dsmash",
    "nair",
    "fair",
    "bair",
    "uair",
    "dair",
    "neutralb",
    "sideb",
    "upb",
    "downb",
    "edge",
    "grab",
    "fthrow",
    "bthrow",
    "uthrow",
    "dthrow",
)
#: Moves without hitboxes whose timing the engine uses (intangible frames as start/end).
DODGES = ("spotdodge", "rollforward", "rollbackwards", "airdodge")
KNEE_BEND, JUMP_F, JUMP_B = 0x18, 0x19, 0x1A
JUMP_BUTTONS = 0x0400 | 0x0800  # X | Y in Slippi's processed button bitfield
TAP_JUMP_Y = 0.6


def measure_jumps(replays: Path) -> dict[int, dict[str, collections.Counter]]:
    import numpy as np
    import peppi_py

    found: dict[int, dict[str, collections.Counter]] = collections.defaultdict(
        lambda: {"full": collections.Counter(), "short": collections.Counter()}
    )
    for path in sorted(replays.rglob("*.slp")):
        try:
            game = peppi_py.read_slippi(str(path))
        except Exception as exc:  # a broken replay is skipped, not fatal
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        frame_id = np.asarray(game.frames.id)
        for port in game.frames.ports:
            post, pre = port.leader.post, port.leader.pre
            state = np.asarray(post.state)
            char = np.asarray(post.character)
            y = np.asarray(post.position.y)
            buttons = np.nan_to_num(np.asarray(pre.buttons, dtype=np.float64)).astype(np.int64)
            stick_y = np.asarray(pre.joystick.y)
            starts = np.flatnonzero(
                (state[:-1] == KNEE_BEND) & np.isin(state[1:], (JUMP_F, JUMP_B)) & (frame_id[1:] == frame_id[:-1] + 1)
            )
            for i in starts:
                held = bool(buttons[i] & JUMP_BUTTONS) or stick_y[i] > TAP_JUMP_Y
                velocity = round(float(y[i + 1] - y[i]), 3)
                found[int(char[i + 1])]["full" if held else "short"][velocity] += 1
    return found


EDGE_HANGING = 0xFD


def measure_ledge_hang(replays: Path) -> dict[int, float]:
    """Internal character id -> median height of its ``EDGE_HANGING`` frames (ledge at y = 0)."""
    import numpy as np

    from melee_envs.backends.replay import ReplayError, read_replay
    from melee_envs.data import stages

    uneven = stages.get("YOSHIS_STORY").internal_id
    heights: dict[int, list[float]] = collections.defaultdict(list)
    for path in sorted(replays.rglob("*.slp")):
        try:
            state = read_replay(path).state
        except (ReplayError, ValueError) as exc:  # a broken replay is skipped, not fatal
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        if int(state.stage[0]) == uneven:
            continue
        p = state.players
        hanging = p.action == EDGE_HANGING
        for char, y in zip(p.character[hanging], p.y[hanging], strict=True):
            heights[int(char)].append(float(y))
    return {char: round(float(np.median(ys)), 2) for char, ys in heights.items()}


def build(fightcore: Path, replays: Path, out_dir: Path) -> None:
    internal = libmelee_source.enum_members("Character")
    lm_rows = {int(r["CharacterIndex"]): r for r in libmelee_source.read_csv("characterdata.csv")}
    jumps = measure_jumps(replays)
    hangs = measure_ledge_hang(replays)

    measured = {}
    for cid, kinds in jumps.items():
        full = kinds["full"].most_common(1)[0][0] if kinds["full"] else None
        short = kinds["short"].most_common(1)[0][0] if kinds["short"] else None
        measured[cid] = (full, short)
    both = [(f, s) for f, s in measured.values() if f and s]
    short_ratio = statistics.median(s / f for f, s in both)
    dj_ratio = statistics.median(
        float(lm_rows[c]["InitDJSpeed"]) / f for c, (f, _) in measured.items() if f and c in lm_rows
    )

    chars = json.loads((fightcore / "characters.json").read_text())
    stats_rows, move_rows, hitbox_rows = [], [], []
    for entry in chars:
        name = FIGHTCORE_TO_LIBMELEE.get(entry["normalizedName"])
        if name is None:
            continue
        names = [name] + (["NANA"] if name == "POPO" else [])
        for lm_name in names:
            cid = internal[lm_name]
            full, short = measured.get(cid, (None, None))
            if lm_name == "NANA":
                full, short = measured.get(internal["POPO"], (None, None))
            source = "replays"
            if full is None:
                full = round(float(lm_rows[cid]["InitDJSpeed"]) / dj_ratio, 2)
                source = "estimated"
            if short is None:
                short = round(full * short_ratio, 2)
                source = "replays+estimated" if source == "replays" else source
            hang = hangs.get(internal["POPO"] if lm_name == "NANA" else cid)
            ledge_source = "replays"
            if hang is None:
                rise = ledge_table().motion[cid, LEDGE_GETUP + 1, :, 1].sum()  # the quick getup
                hang, ledge_source = -round(float(rise), 2), "libmelee getup"
            s = entry["characterStatistics"]
            stats_rows.append(
                {
                    "character": lm_name,
                    "weight": s["weight"],
                    "jump_squat": s["jumpSquat"],
                    "initial_dash": s["initialDash"],
                    "run_speed": s["runSpeed"],
                    "dash_frames": s["dashFrames"],
                    "full_hop_velocity": full,
                    "short_hop_velocity": short,
                    "jump_source": source,
                    "ledge_hang_y": hang,
                    "ledge_source": ledge_source,
                }
            )
        for move in entry["moves"]:
            name_ = move["normalizedName"]
            if name_ in DODGES:
                hitbox = dict.fromkeys(
                    ("damage", "angle", "baseKnockback", "knockbackGrowth", "setKnockback", "shieldstun"), 0
                )
                hitbox["hitlagDefender"] = 0
            elif name_ not in MOVES or not move["hits"] or not move["hits"][0]["hitboxes"]:
                continue
            else:
                hitbox = move["hits"][0]["hitboxes"][0]
                for h, hit in enumerate(move["hits"]):
                    for box in hit["hitboxes"]:
                        if not box["name"].startswith("id") or not box["name"][2:].isdigit():
                            continue
                        hitbox_rows.append(
                            {
                                "character": name,
                                "move": move["normalizedName"],
                                "hit": h,
                                "slot": int(box["name"][2:]),
                                "start": hit["start"],
                                "end": hit["end"],
                                "damage": box["damage"],
                                "angle": box["angle"],
                                "base_knockback": box["baseKnockback"],
                                "knockback_growth": box["knockbackGrowth"],
                                "set_knockback": box["setKnockback"],
                                "shieldstun": box["shieldstun"],
                                "hitlag": box["hitlagDefender"],
                            }
                        )
            move_rows.append(
                {
                    "character": name,
                    "move": move["normalizedName"],
                    "start": move.get("start") or 0,
                    "end": move.get("end") or 0,
                    "total_frames": move.get("totalFrames") or 0,
                    "iasa": move.get("iasa") or 0,
                    "landing_lag": move.get("landLag") or 0,
                    "lcancel_lag": move.get("lCanceledLandLag") or 0,
                    "damage": hitbox["damage"],
                    "angle": hitbox["angle"],
                    "base_knockback": hitbox["baseKnockback"],
                    "knockback_growth": hitbox["knockbackGrowth"],
                    "set_knockback": hitbox["setKnockback"],
                    "shieldstun": hitbox["shieldstun"],
                    "hitlag": hitbox["hitlagDefender"],
                }
            )
    header = (
        "# Generated by tools/build_game_tables.py; do not edit by hand.\n"
        "# weight, jump_squat, initial_dash, run_speed, dash_frames: FightCore frame data "
        "(github.com/FightCore/frame-data, values from meleeframedata.com).\n"
        "# full_hop_velocity, short_hop_velocity: measured from public Slippi replays "
        f"(short/full median ratio {short_ratio:.3f}, double-jump/full ratio {dj_ratio:.3f} "
        "used where a character was not seen; see jump_source).\n"
        "# ledge_hang_y: median height of EDGE_HANGING frames in public Slippi replays, ledge at y = 0 "
        "(where a character was not seen, the rise of its quick ledge getup in libmelee's framedata.csv; "
        "see ledge_source).\n"
    )
    _write(out_dir / "character_stats.csv", header, stats_rows)
    _write(
        out_dir / "moves.csv",
        "# Generated by tools/build_game_tables.py; do not edit by hand.\n"
        "# Per-move facts of the first hitbox of the first hit (dodges: intangible frames as start/end, "
        "no hitbox): FightCore frame data "
        "(github.com/FightCore/frame-data, values from meleeframedata.com).\n",
        move_rows,
    )
    _write(
        out_dir / "hitboxes.csv",
        "# Generated by tools/build_game_tables.py; do not edit by hand.\n"
        "# Every hitbox of every hit of each move (slot = the game's hitbox id, as libmelee's "
        "hitbox_1..4 columns number them from 1): FightCore frame data "
        "(github.com/FightCore/frame-data, values from meleeframedata.com).\n",
        hitbox_rows,
    )
    print(f"wrote {len(stats_rows)} characters, {len(move_rows)} moves and {len(hitbox_rows)} hitboxes to {out_dir}")


def _write(path: Path, header: str, rows: list[dict]) -> None:
    rows.sort(key=lambda r: (r["character"], r.get("move", "")))
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        f.write(header)
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = ROOT.parent / "shared"
    parser.add_argument("--fightcore", type=Path, default=shared / "melee-data" / "fightcore")
    parser.add_argument("--replays", type=Path, default=shared / "replays")
    parser.add_argument("--out", type=Path, default=ROOT / "melee_envs" / "data")
    args = parser.parse_args()
    build(args.fightcore, args.replays, args.out)


if __name__ == "__main__":
    main()
