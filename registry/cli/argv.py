"""The command line's one parser: argv and the environment in, an `Invocation` out.

Driven by the table in :mod:`registry.options`; standard library only (importing click would
cost as much as a warm query takes in all: docs/performance.md). What it accepts::

    registry [GLOBAL OPTIONS] COMMAND [ARGUMENTS and OPTIONS, global ones too]
    registry cache dir|stats|clean [...]
    --opt VALUE, --opt=VALUE, -qv (short flags together), -vv (counted), -- (only arguments after)
    --keep A B (an option taking many values takes the words up to the next option)
    -h/--help anywhere: that command's help;  --version;  no command: the help (exit 2)

A value given on the command line wins over the option's environment variable, which wins over
its default; the last of repeated options wins (all of them are kept for --config). Every error
is a `UsageError` (exit 2) whose message names the option or argument and ends with a pointer
to the help.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.errors import UsageError
from query.record import Record, field
from registry.options import (
    COMMANDS,
    COUNT,
    EACH,
    FLAG,
    GLOBAL_OPTIONS,
    GROUPS,
    MANY,
    RunOptions,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from registry.options import Argument, Command, Option

HINT = " (see registry --help)"


class Invocation(Record):
    """What a command line asks for: a command with its options and arguments, or help (for
    ``help`` = "" (the whole tool), a group or a command path), or the version."""

    command: Command | None
    options: RunOptions
    arguments: Mapping[str, object] = field(default_factory=dict)
    help: str | None = None
    help_exit_code: int = 0
    version: bool = False


def _usage(message: str) -> UsageError:
    return UsageError(message + HINT)


def _by_flag(options: Sequence[Option]) -> dict[str, Option]:
    return {flag: option for option in options for flag in option.flags}


def _find_command(head: Sequence[str]) -> Command:
    """The command the leading words name (one word, or a group's two); UsageError if none."""
    for command in COMMANDS:
        if command.group is None and command.name == head[0]:
            return command
        if command.group == head[0] and len(head) > 1 and command.name == head[1]:
            return command
    raise _usage(f"no such command '{' '.join(head)}'")


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> Invocation:
    """Read ``argv`` (without the program name) and ``environ``; raise `UsageError`."""
    globals_by_flag = _by_flag(GLOBAL_OPTIONS)
    command: Command | None = None
    command_flags: dict[str, Option] = {}
    given: dict[str, tuple[Option, str, list[str]]] = {}  # name -> (option, spelling, values)
    head: list[str] = []
    words: list[str] = []
    wants_help = version = False
    only_words = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if only_words or arg == "-" or not arg.startswith("-"):
            if command is not None:
                words.append(arg)
                continue
            head.append(arg)  # the command's own words: `query`, `cache dir`
            if head[0] not in GROUPS or len(head) == 2:
                command = _find_command(head)
                command_flags = _by_flag(command.options)
            continue
        if arg == "--":
            only_words = True
            continue
        if arg in ("-h", "--help"):
            wants_help = True
            continue
        if arg == "--version" and command is None:
            version = True
            continue
        if arg.startswith("--"):
            spelling, eq, inline = arg.partition("=")
            option = command_flags.get(spelling) or globals_by_flag.get(spelling)
            if option is None:
                raise _usage(f"no such option: {spelling}")
            if option.kind in (FLAG, COUNT):
                if eq:
                    raise _usage(f"option {spelling} does not take a value")
                value = ""
            elif eq:
                value = inline
            elif i < len(argv):
                value = argv[i]
                i += 1
            else:
                raise _usage(f"option {spelling} requires an argument")
            _remember(given, option, spelling, value)
            while option.kind == MANY and i < len(argv) and not argv[i].startswith("-"):
                _remember(given, option, spelling, argv[i])
                i += 1
            continue
        for letter in arg[1:]:  # -qv: short flags together
            spelling = "-" + letter
            option = command_flags.get(spelling) or globals_by_flag.get(spelling)
            if option is None:
                raise _usage(f"no such option: {spelling}")
            if option.kind not in (FLAG, COUNT):  # pragma: no cover - every short one is a flag
                raise _usage(f"option {spelling} requires an argument")
            _remember(given, option, spelling, "")

    if version and command is None and not wants_help:
        return Invocation(None, RunOptions.defaults(), version=True)
    if command is None:
        # bare `registry` or `registry cache`: the help, and exit 2 (nothing was run) unless
        # the help was asked for
        path = head[0] if head else ""
        code = 0 if wants_help else 2
        return Invocation(None, RunOptions.defaults(), help=path, help_exit_code=code)
    if wants_help:
        return Invocation(command, RunOptions.defaults(), help=command.path)

    values = {o.name: _value(o, given, environ) for o in GLOBAL_OPTIONS}
    origins: dict[str, str] = {}
    for option in GLOBAL_OPTIONS:
        if option.name in given:
            origins[option.name] = given[option.name][1]
        elif option.env and environ.get(option.env):
            origins[option.name] = option.env
    options = RunOptions(**values, origins=origins)
    if options.offline and options.refresh:
        raise _usage("--offline and --refresh contradict each other")
    arguments: dict[str, object] = {o.name: _value(o, given, environ) for o in command.options}
    arguments.update(_arguments(command.arguments, words))
    return Invocation(command, options, arguments)


def _remember(
    given: dict[str, tuple[Option, str, list[str]]], option: Option, spelling: str, value: str
) -> None:
    _, _, values = given.setdefault(option.name, (option, spelling, []))
    values.append(value)
    given[option.name] = (option, spelling, values)


def _value(
    option: Option, given: Mapping[str, tuple[Option, str, list[str]]], environ: Mapping[str, str]
) -> Any:
    """The option's value: from the command line, else its environment variable (when set and
    not empty), else its default."""
    if option.name in given:
        _, spelling, values = given[option.name]
        if option.kind == COUNT:
            return len(values)
        if option.kind == FLAG:
            return True
        if option.kind in (MANY, EACH):
            return tuple(_converted(option, value, spelling) for value in values)
        return _converted(option, values[-1], spelling)
    raw = environ.get(option.env) if option.env else None
    if raw:
        return _converted(option, raw, f"{option.flags[-1]} / {option.env}")
    return option.default


def _converted(option: Option, raw: str, where: str) -> Any:
    if option.choices and raw not in option.choices:
        raise _usage(
            f"invalid value for {where}: {raw!r} is not one of {', '.join(option.choices)}"
        )
    return _parsed(option.parse, raw, where)


def _arguments(arguments: Sequence[Argument], words: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    rest = list(words)
    for argument in arguments:
        if argument.many:
            out[argument.name] = tuple(_argument(argument, w) for w in rest)
            rest = []
        elif rest:
            out[argument.name] = _argument(argument, rest.pop(0))
        elif argument.required:
            raise _usage(f"missing argument {argument.name.upper()}")
        else:
            out[argument.name] = argument.default
    if rest:
        raise _usage(f"unexpected extra argument{'s' if len(rest) > 1 else ''} ({' '.join(rest)})")
    return out


def _argument(argument: Argument, raw: str) -> object:
    return _parsed(argument.parse, raw, argument.name.upper())


def _parsed(parse: Callable[[str], Any] | None, raw: str, where: str) -> Any:
    """``raw`` through an option's or argument's parser; its ValueError as a usage error."""
    if parse is None:
        return raw
    try:
        return parse(raw)
    except ValueError as exc:
        raise _usage(f"invalid value for {where}: {exc}") from None
