"""The ``exphil`` command tree, built from each package's registry of commands.

Every package declares its commands once (``melee_envs.commands``, ``imitation.commands``,
``exphil_agents.commands``: a path of words, a one-line help, the function to run and the
dataclass of its options); this module only assembles them. ``exphil WORDS... [options]`` finds
the command named by the words, lets tyro turn the options into its dataclass (so
``--help`` on any command lists its options with their help text) and runs it. Errors a user
can fix (a bad value, a missing file) end the command with one line naming the command and
the problem.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

from melee_envs.commands import GROUPS, Command

#: Where the registries are, lowest package first.
REGISTRIES = ("melee_envs.commands", "imitation.commands", "exphil_agents.commands")
#: Names of earlier releases, still accepted (with a note on stderr).
RENAMED = {
    "bench-vector": ("bench", "vector"),
    "bench-threads": ("bench", "threads"),
    "bench-fidelity": ("bench", "fidelity"),
    "bench-agents": ("bench", "agents"),
    "bench-dolphin": ("bench", "dolphin"),
    "bench-league": ("bench", "league"),
}


def commands() -> list[Command]:
    """Every registered command, in registry order."""
    found: list[Command] = []
    for module in REGISTRIES:
        found.extend(importlib.import_module(module).COMMANDS)
    paths = [c.path for c in found]
    duplicated = {p for p in paths if paths.count(p) > 1}
    if duplicated:
        raise RuntimeError(f"commands registered twice: {sorted(duplicated)}")
    return found


def _target(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def usage(cmds: list[Command], group: tuple[str, ...] = ()) -> str:
    """The help text of the whole tree (commands first, then each group), or of one group."""
    shown = sorted(
        (c for c in cmds if c.path[: len(group)] == group),
        key=lambda c: (len(c.path) > len(group) + 1, c.path[len(group)] if len(c.path) > len(group) + 1 else ""),
    )
    width = max(len(" ".join(c.path[len(group) :])) for c in shown) + 2
    title = " ".join(("exphil", *group))
    lines = [f"usage: {title} COMMAND [--help] [--quiet | --verbose] [options]", ""]
    if group:
        lines.insert(1, GROUPS.get(group[0], ""))
    lines.append("commands:")
    lines += [f"  {' '.join(c.path[len(group) :]):<{width}}{c.help}" for c in shown]
    return "\n".join(lines)


def find(cmds: list[Command], args: list[str]) -> tuple[Command | None, list[str]]:
    """The command the leading words of ``args`` name, and the rest of ``args``."""
    for command in sorted(cmds, key=lambda c: -len(c.path)):
        if tuple(args[: len(command.path)]) == command.path:
            return command, args[len(command.path) :]
    return None, args


def renamed(args: list[str]) -> list[str]:
    """``args`` with a command name of an earlier release replaced (and a note on stderr)."""
    if args and args[0] in RENAMED:
        new = RENAMED[args[0]]
        print(f"note: `exphil {args[0]}` is now `exphil {' '.join(new)}`", file=sys.stderr)
        return [*new, *args[1:]]
    if args[:1] == ["bench"] and len(args) > 1 and args[1].startswith("-") and args[1] not in ("-h", "--help"):
        print("note: `exphil bench OPTIONS` is now `exphil bench env OPTIONS`", file=sys.stderr)
        return ["bench", "env", *args[1:]]
    return args


def run(args: list[str], cmds: list[Command] | None = None) -> int:
    """Run the command ``args`` names in this process; returns its exit status. Errors propagate
    as raised (:func:`main` turns them into one line)."""
    import tyro

    cmds = commands() if cmds is None else cmds
    command, rest = find(cmds, list(args))
    if command is None:
        raise LookupError(_unknown(cmds, list(args)))
    prog = " ".join(("exphil", *command.path))
    if command.parse is not None:
        config = _target(command.parse)(rest, prog)
    else:
        config = tyro.cli(_target(command.config), args=rest, prog=prog)
    status = _target(command.run)(config)
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


def _unknown(cmds: list[Command], args: list[str]) -> str:
    groups = {c.path[0] for c in cmds if len(c.path) > 1}
    if args and args[0] in groups and len(args) > 1:
        names = sorted(c.path[1] for c in cmds if c.path[0] == args[0])
        return f"exphil {args[0]}: unknown command {args[1]!r}; choose one of {names}"
    return f"exphil: unknown command {args[0] if args else ''!r}; choose one of {sorted({c.path[0] for c in cmds})}"


def _fail(message: str) -> NoReturn:
    """End the command with ``message`` on stderr, in red on a terminal, as one line; status 1."""
    from melee_envs.messages import error

    error(message)
    raise SystemExit(1)


#: Flags every command takes, wherever they stand among its arguments (not after ``--``).
VERBOSITY_FLAGS = {"-q": 0, "--quiet": 0, "-v": 2, "--verbose": 2}


def verbosity_flags(args: list[str]) -> tuple[list[str], int]:
    """``args`` without ``--quiet`` / ``--verbose`` (``-q`` / ``-v``), and the level they ask for."""
    end = args.index("--") if "--" in args else len(args)
    levels = {VERBOSITY_FLAGS[a] for a in args[:end] if a in VERBOSITY_FLAGS}
    if len(levels) > 1:
        raise ValueError("--quiet and --verbose together; choose one")
    rest = [a for a in args[:end] if a not in VERBOSITY_FLAGS] + args[end:]
    return rest, levels.pop() if levels else 1


def main(argv: list[str] | None = None) -> None:
    """The ``exphil`` console command."""
    from melee_envs.messages import set_verbosity

    args = renamed(sys.argv[1:] if argv is None else list(argv))
    try:
        args, level = verbosity_flags(args)
    except ValueError as exc:
        _fail(f"exphil: {exc}")
    set_verbosity(level)
    cmds = commands()
    if not args or args[0] in ("-h", "--help"):
        print(usage(cmds))
        return
    groups = {c.path[0] for c in cmds if len(c.path) > 1}
    if args[0] in groups and (len(args) == 1 or args[1] in ("-h", "--help")):
        print(usage(cmds, (args[0],)))
        return
    command, _ = find(cmds, args)
    if command is None:
        _fail(_unknown(cmds, args))
    try:
        status = run(args, cmds)
    except (ValueError, OSError, RuntimeError, ImportError) as exc:  # OSError names its path
        _fail(f"{' '.join(('exphil', *command.path))}: {exc}")
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    main()
