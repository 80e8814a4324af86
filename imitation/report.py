"""The HTML report of ``exphil bench backbones``: one self-contained page (no scripts, no files
beside it, nothing fetched) with the machine, the settings, the results table, charts drawn by
matplotlib as SVG and embedded in the page, and notes on what the numbers say.

Each backbone keeps one colour in every chart. The page is meant to be opened in any browser,
attached to an issue or mailed as it is.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

#: Colours of the backbones, in BACKBONE_NAMES order (matplotlib's tab10, colour-blind distinguishable).
COLOURS = {
    "mlp": "#1f77b4",
    "lstm": "#ff7f0e",
    "gru": "#2ca02c",
    "mamba": "#d62728",
    "attention": "#9467bd",
    "jamba": "#8c564b",
}


def check_report_deps() -> None:
    """Raise ``ImportError`` with the install line when matplotlib (the charts) is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "the HTML report's charts need matplotlib: pip install 'exphil[league]' (or pass --no-html)"
        ) from exc


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "exphil", "font.size": 10})
    return plt


def _svg(fig: Any) -> str:
    """The figure's SVG as a data URI (an ``<img>`` of it keeps each figure's ids to itself)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    fig.clf()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{data}"


def charts(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(title, caption, SVG data URI)`` of every chart of a run's results."""
    from imitation.bench_backbones import ranked
    from melee_envs.controller import ACTION_PARTS

    plt = _pyplot()
    rows = ranked(doc)
    names = [name for name, _ in rows]
    colours = [COLOURS.get(name, "#7f7f7f") for name in names]
    out = []

    def bars(title: str, caption: str, key: str, fmt: str, xlabel: str) -> None:
        fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
        values = [row[key] for _, row in rows]
        ax.barh(names, values, color=colours)
        ax.invert_yaxis()
        ax.bar_label(ax.containers[0], [format(v, fmt) for v in values], padding=3, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.margins(x=0.18)
        out.append((title, caption, _svg(fig)))
        plt.close(fig)

    bars("Validation loss", "best validation loss on the held-out replays (lower is better)", "best_val_loss",
         ".4f", "cross-entropy, summed over the controller's components")  # fmt: skip

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, row), colour in zip(rows, colours, strict=True):
        curve = row["curve"]
        ax.plot([p["step"] for p in curve], [p["val_loss"] for p in curve], marker="o", ms=3, label=name, color=colour)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation loss (log scale)")
    ax.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    out.append(("Learning curves", "validation loss at every evaluation (the first point is the untrained network)",
                _svg(fig)))  # fmt: skip
    plt.close(fig)

    parts = [name for name, _ in ACTION_PARTS]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    width = 0.8 / max(len(rows), 1)
    lowest = 1.0
    for k, ((name, row), colour) in enumerate(zip(rows, colours, strict=True)):
        xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(parts))]
        values = [row["val_accuracy"].get(p, 0.0) for p in parts]
        lowest = min(lowest, *values)
        ax.bar(xs, values, width, label=name, color=colour)
    ax.set_xticks(range(len(parts)), [p.replace("_", " ") for p in parts])
    ax.set_ylabel("accuracy")
    ax.set_ylim(max(0.0, math.floor((lowest - 0.05) * 10) / 10), 1)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, ncol=min(len(rows), 6), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    out.append(("Validation accuracy", "share of held-out frames whose input each network predicts exactly, by "
                "component (most likely choice)", _svg(fig)))  # fmt: skip
    plt.close(fig)

    bars("Training speed", "training frames per second (examples x window; higher is better)",
         "train_frames_per_s", ",.0f", "frames / s")  # fmt: skip

    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1.2))
    medians = [row["act_ms"] for _, row in rows]
    p99 = [row["act_p99_ms"] for _, row in rows]
    ax.barh(names, medians, color=colours, xerr=[[0] * len(rows), [b - a for a, b in zip(medians, p99, strict=True)]])
    ax.invert_yaxis()
    ref = doc["reference"]["median"]
    ax.axvline(ref, color="black", linestyle="--", linewidth=1, label=f"plain torch MLP {ref:.3f} ms")
    ax.set_xlabel("ms per frame at batch 1 (bar: median, whisker: 99th percentile)")
    ax.legend(fontsize=8, loc="lower right")
    out.append(("Act latency", "one frame of live play through Agent.act (lower is better; a frame lasts 16.7 ms)",
                _svg(fig)))  # fmt: skip
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, row), colour in zip(rows, colours, strict=True):
        ax.scatter(row["act_ms"], row["best_val_loss"], s=40 + row["params"] / 2000, color=colour, label=name)
        ax.annotate(name, (row["act_ms"], row["best_val_loss"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("act ms per frame")
    ax.set_ylabel("best validation loss")
    ax.grid(alpha=0.3)
    out.append(("Loss against latency", "down and left is better; a marker's area grows with the parameter count",
                _svg(fig)))  # fmt: skip
    plt.close(fig)
    return out


def notes(doc: dict[str, Any]) -> list[str]:
    """Plain sentences on what the results say (best, fastest, cheapest, failures)."""
    from imitation.bench_backbones import ranked

    rows = ranked(doc)
    said = []
    if rows:
        best, worst = rows[0], rows[-1]
        said.append(
            f"Lowest validation loss: {best[0]} ({best[1]['best_val_loss']:.4f}); highest: {worst[0]} "
            f"({worst[1]['best_val_loss']:.4f})."
        )
        fastest = max(rows, key=lambda r: r[1]["train_frames_per_s"])
        slowest = min(rows, key=lambda r: r[1]["train_frames_per_s"])
        said.append(
            f"Fastest to train: {fastest[0]} ({fastest[1]['train_frames_per_s']:,.0f} frames/s), "
            f"{fastest[1]['train_frames_per_s'] / slowest[1]['train_frames_per_s']:.1f}x the slowest, {slowest[0]}."
        )
        quickest = min(rows, key=lambda r: r[1]["act_ms"])
        said.append(
            f"Quickest to act: {quickest[0]} ({quickest[1]['act_ms']:.3f} ms per frame, "
            f"{quickest[1]['act_vs_reference']:.2f}x a plain torch MLP of the same size)."
        )
        settings = doc["settings"]
        said.append(
            f"Every backbone saw the same {settings['steps'] * settings['batch_size']:,} training windows of "
            f"{settings['window']} frames and was validated on the same {len(rows[0][1]['val_files'])} replays; "
            "with a small budget the ranking favours the networks that learn fastest, not those that end best."
        )
    reused = [name for name, row in doc["results"].items() if row.get("reused")]
    if reused:
        said.append(f"Reused from an earlier run with the same settings: {', '.join(reused)}.")
    for name, row in doc["results"].items():
        if "error" in row:
            said.append(f"{name} failed: {row['error']}")
    return said


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1.2em; }
figure { margin: 0; border: 1px solid #eee; padding: 0.6em; }
figure img { width: 100%; height: auto; } figcaption { font-size: 0.85em; color: #555; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; }
.failed { color: #b00; }
"""


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    head = "".join(f"<th{' class=name' if i < left else ''}>{html.escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=name' if i < left else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(doc: dict[str, Any]) -> str:
    """The report page of a run's results (``backbones.json``) as HTML."""
    from imitation.bench_backbones import ranked

    esc = html.escape
    settings, machine, dataset = doc["settings"], doc["machine"], doc["dataset"]
    results = []
    for rank, (name, row) in enumerate(ranked(doc), 1):
        swatch = f'<span class=swatch style="background:{COLOURS.get(name, "#7f7f7f")}"></span>'
        accuracy = " / ".join(f"{v:.3f}" for v in row["val_accuracy"].values())
        results.append([
            f"{rank}. {swatch}{esc(name)}", f"{row['params']:,}", f"{row['best_val_loss']:.4f}",
            f"{row['final_val_loss']:.4f}", accuracy, f"{row['train_frames_per_s']:,.0f}",
            f"{row['act_ms']:.3f} / {row['act_p99_ms']:.3f}", f"{row['act_vs_reference']:.2f}x",
            esc(row["complexity_train"]), esc(row["complexity_play"]),
            f"{row['load_before']:.2f} / {row['load_after']:.2f}",
        ])  # fmt: skip
    failed = [[esc(name), f"<span class=failed>{esc(row['error'])}</span>"]
              for name, row in doc["results"].items() if "error" in row]  # fmt: skip
    parts = " / ".join(["buttons", "main stick", "c-stick", "shoulder"])
    figures = "".join(
        f'<figure><img src="{uri}" alt="{esc(title)}">'
        f"<figcaption><b>{esc(title)}</b>: {esc(caption)}</figcaption></figure>"
        for title, caption, uri in (charts(doc) if results else [])
    )
    machine_rows = [[esc(k.replace("_", " ")), esc(str(v))] for k, v in machine.items()]
    loads = f"{doc.get('load_start', '-')} / {doc.get('load_end', '-')}"
    machine_rows.append(["load average (1 min), start / end", loads])
    setting_rows = [[esc(k.replace("_", " ")), esc(str(v))] for k, v in settings.items()]
    setting_rows.append(["dataset", esc(f"{dataset['files']} files, {dataset['examples']:,} examples")])
    if dataset["failed"]:
        setting_rows.append(["unreadable replays", esc(", ".join(Path(f["file"]).name for f in dataset["failed"]))])
    sections = [
        f"<h1>Backbones on replays: behavioural cloning, {settings['steps']} steps each</h1>",
        f"<p>{esc(doc['benchmark'])}, {esc(doc['date'])}. Every backbone trained on the same examples "
        "and validated on the same held-out replays.</p>",
        "<h2>Results</h2>",
        _table(
            [
                "backbone",
                "parameters",
                "best val loss",
                "final val loss",
                f"accuracy ({parts})",
                "train frames/s",
                "act ms (median / p99)",
                "act vs plain torch",
                "cost in window L (train)",
                "per frame in play",
                "load before / after",
            ],
            results,
        ),  # fmt: skip
        f"<p>Reference: a plain torch MLP with the MLP network's parameter count, {doc['reference']['median']:.3f} ms "
        "per frame (median), measured in the same run.</p>",
    ]
    if failed:
        sections += ["<h2>Failed</h2>", _table(["backbone", "error"], failed)]
    sections += [
        "<h2>Charts</h2>",
        f'<div class="charts">{figures}</div>',
        "<h2>Notes</h2>",
        "<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes(doc)) + "</ul>",
        "<h2>Machine</h2>",
        _table(["", ""], machine_rows, left=2),
        "<h2>Settings</h2>",
        _table(["", ""], setting_rows, left=2),
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>exphil bench backbones, {esc(doc['date'])}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(doc: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`render`'s page to ``path`` atomically; returns the path."""
    from melee_envs.atomic import write_text_atomic

    path = Path(path)
    write_text_atomic(path, render(doc))
    return path
