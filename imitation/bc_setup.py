"""``exphil bc setup``: a question-and-answer start for a BC run.

It asks what a first run needs (the replay folder, whose play to imitate, how big a run, which
backbone, where checkpoints go), checks each answer as it is given (the folder holds replays, the
names are characters and stages, numbers are in range) and asks again with the reason when one
is wrong. It then writes the answers as a config file for ``exphil bc train --config FILE``
(only what differs from the defaults), prints that command, checks it parses as ``bc train``
would, and offers to start it. Every question has a default (Enter takes it), shown in brackets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from melee_envs import envvars

T = TypeVar("T")

#: What each size means, shown beside the choice (the presets of ``exphil bc train``).
SIZES = {
    "quick": "300 steps of a 64-wide network: a minute on a laptop, to check the data and the set-up",
    "standard": "5,000 steps of a 256-wide network: a first real model (minutes to an hour on CPU)",
    "full": "50,000 steps of a 512-wide, 3-layer network: hours on CPU, meant for a GPU",
}
#: What each backbone is, and its window (frames of context) when it reads several.
BACKBONES = {
    "mlp": ("one frame at a time; fastest to train and to play", 1),
    "gru": ("recurrent, carries its state from frame to frame", 30),
    "lstm": ("recurrent, like gru with a separate memory cell", 30),
    "mamba": ("state-space model over the window; constant cost per frame in play", 30),
    "attention": ("attends over the last frames; the best validation loss on the shared replays", 30),
    "jamba": ("Mamba layers with an attention layer", 30),
}


@dataclass(frozen=True)
class SetupCommand:
    """Answer a few questions; get a config file and the exphil bc train command that uses it."""

    out: Path = Path("bc.yaml")
    """default for the config file's path (asked)."""


class Asker:
    """Questions on a rich console, each re-asked with the reason until its answer is valid."""

    def __init__(self, console: Any, read: Callable[[str], str] = input) -> None:
        self.console = console
        self.read = read

    def ask(self, question: str, default: str, check: Callable[[str], T]) -> T:
        """``check(answer)`` turns the answer into its value or raises ``ValueError`` saying why."""
        while True:
            self.console.print(f"[bold]{question}[/bold] [cyan]\\[{default}][/cyan]: ", end="")
            try:
                answer = self.read("").strip()
            except EOFError:
                raise RuntimeError(
                    "exphil bc setup asks questions and its input ended; run it in a terminal, or write a "
                    "config file by hand (docs/bc.md) for exphil bc train --config"
                ) from None
            try:
                return check(answer or default)
            except ValueError as exc:
                self.console.print(f"[red]{exc}[/red]; try again")

    def choose(self, question: str, options: dict[str, str], default: str) -> str:
        for name, what in options.items():
            self.console.print(f"  [green]{name}[/green]: {what}", highlight=False)

        def check(answer: str) -> str:
            if answer not in options:
                raise ValueError(f"{answer!r} is not one of {', '.join(options)}")
            return answer

        return self.ask(question, default, check)


def _replays(answer: str) -> Path:
    folder = Path(answer).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    count = sum(1 for _ in folder.rglob("*.slp"))
    if not count:
        raise ValueError(f"{folder} holds no .slp files (searched with its subfolders)")
    return folder


def _names(kind: str) -> Callable[[str], tuple[str, ...]]:
    from melee_envs.data import characters, stages

    lookup = characters.get if kind == "character" else stages.get

    def check(answer: str) -> tuple[str, ...]:
        if answer.lower() in ("all", "any", ""):
            return ()
        names = tuple(part.strip() for part in answer.replace(",", " ").split() if part.strip())
        return tuple(lookup(name).name for name in names)  # an unknown one raises ValueError listing the valid

    return check


def _positive(answer: str) -> int:
    try:
        value = int(answer)
    except ValueError:
        raise ValueError(f"{answer!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{value} is not at least 1")
    return value


def _yes(answer: str) -> bool:
    if answer.lower() in ("y", "yes"):
        return True
    if answer.lower() in ("n", "no"):
        return False
    raise ValueError(f"{answer!r}: answer y or n")


def interview(asker: Asker, out_default: Path) -> tuple[dict[str, Any], Path]:
    """Ask every question; returns the settings (nested as in a config file) and the file's path."""
    import torch

    from imitation.bc_cli import PRESETS

    say = asker.console.print
    replays = asker.ask("Folder of Slippi replays (.slp)", envvars.replays_dir("replays"), _replays)
    say(f"  {sum(1 for _ in replays.rglob('*.slp'))} .slp files under {replays}", highlight=False)
    characters = asker.ask("Imitate which characters' players (names, or all)", "all", _names("character"))
    stage_names = asker.ask("On which stages (names, or all)", "all", _names("stage"))
    size = asker.choose("How big a run", SIZES, "quick")
    backbone = asker.choose("Which network", {k: v[0] for k, v in BACKBONES.items()}, "mlp")
    window = BACKBONES[backbone][1]
    if window > 1:
        window = asker.ask("Frames of context per example (window)", str(window), _positive)
    mirror = asker.ask("Add left-right mirrored copies of every game (twice the data) (y/n)", "n", _yes)
    devices = {"auto": "a GPU when torch sees one, else the CPU", "cpu": "the CPU"}
    if torch.cuda.is_available():
        devices["cuda"] = f"the GPU ({torch.cuda.get_device_name(0)})"
    device = asker.choose("Train on", devices, "auto")
    checkpoints = asker.ask("Folder for checkpoints", envvars.checkpoints_dir("checkpoints"), str)
    name = asker.ask("Run name (checkpoints go to FOLDER/NAME; an existing run resumes)", "bc", _run_name)
    path = asker.ask("Write the settings to", str(out_default), _config_path)

    settings: dict[str, dict[str, Any]] = {section: dict(values) for section, values in PRESETS[size].items()}
    data = {"replays": str(replays), "characters": list(characters), "stages": list(stage_names),
            "mirror": mirror, "window": window}  # fmt: skip
    settings.setdefault("data", {}).update(data)
    settings.setdefault("model", {})["backbone"] = backbone
    settings.setdefault("optim", {})["device"] = device
    settings.setdefault("runtime", {}).update({"checkpoints": checkpoints, "name": name})
    return _changed(settings), path


def _run_name(answer: str) -> str:
    if "/" in answer or answer in (".", ".."):
        raise ValueError(f"{answer!r}: a run name is one folder name (no '/')")
    return answer


def _config_path(answer: str) -> Path:
    path = Path(answer).expanduser()
    if path.suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(f"{path}: name a .yaml or .json file")
    if path.is_dir():
        raise ValueError(f"{path} is a folder")
    return path


def _changed(settings: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only the settings that differ from ``exphil bc train``'s defaults."""
    from dataclasses import asdict

    from imitation.config import BCConfig

    defaults = asdict(BCConfig())
    out: dict[str, dict[str, Any]] = {}
    for section, values in settings.items():
        for key, value in values.items():
            default = defaults[section][key]
            if (list(default) if isinstance(default, tuple) else default) != value:
                out.setdefault(section, {})[key] = value
    return out


def _over_environment(settings: dict[str, dict[str, Any]]) -> list[str]:
    """Flags for the answers that an ``EXPHIL_*`` variable would override in the file (the
    environment comes before a config file, the command line after both)."""
    from imitation.bc_cli import ENV_DEFAULTS

    flags = []
    for (section, key), var in ENV_DEFAULTS.items():
        value = settings.get(section, {}).get(key)
        if value is not None and envvars.value(var) and envvars.value(var) != value:
            flags += [f"--{section}.{key}", str(value)]
    return flags


def write_settings(settings: dict[str, Any], path: Path) -> None:
    """The settings as YAML (or JSON for a ``.json`` path), written atomically."""
    import json

    from melee_envs.atomic import write_text_atomic

    if path.suffix == ".json":
        text = json.dumps(settings, indent=1) + "\n"
    else:
        import yaml

        text = "# exphil bc train --config " + str(path) + "\n" + yaml.safe_dump(settings, sort_keys=False)
    write_text_atomic(path, text)


def setup(cmd: SetupCommand) -> int:
    """``exphil bc setup``."""
    import shlex

    from imitation.bc_cli import resolve, train
    from melee_envs.messages import console

    out = console(0, highlight=False, soft_wrap=True)  # the terminal wraps; copied commands stay whole
    asker = Asker(out)
    out.print("[bold]exphil bc setup[/bold]: a few questions for a behavioural-cloning run (Enter takes the default)")
    settings, path = interview(asker, cmd.out)
    if path.exists() and not asker.ask(f"{path} exists; replace it (y/n)", "n", _yes):
        raise FileExistsError(f"{path} exists and was kept; run exphil bc setup again with another file name")
    write_settings(settings, path)
    args = ["train", "--config", str(path), *_over_environment(settings)]
    command = resolve(args[1:])  # parses exactly as exphil bc train will
    command.bc.validate()
    out.print(f"\nwrote {path}:", style="green")
    out.print(path.read_text(), markup=False)
    out.print("train with:\n  exphil bc " + shlex.join(args), markup=False)
    out.print("  (add --dry-run to check the data and see the plan first; any flag overrides the file)")
    if asker.ask("Start training now (y/n)", "n", _yes):
        return train(command)
    return 0
