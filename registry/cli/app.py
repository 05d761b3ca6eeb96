"""What click does for the command line: the help pages, shell completion and the fetch progress
bar. The click commands are built from the same table as the parser (:mod:`registry.options`),
so help and completion always show the options the parser takes; they never run a command
(registry/cli/argv.py parses every command line).

Shell completion (bash, zsh, fish), click's own::

    eval "$(_REGISTRY_COMPLETE=bash_source registry)"     # in ~/.bashrc
    eval "$(_REGISTRY_COMPLETE=zsh_source registry)"      # in ~/.zshrc
    _REGISTRY_COMPLETE=fish_source registry | source      # in ~/.config/fish/completions/
"""

from __future__ import annotations

import sys

import click

from cache.lock import LOCK_TIMEOUT
from query import TYPE_CHECKING
from registry.options import (
    COMMANDS,
    COUNT,
    DEFAULT_TIMEOUT,
    EACH,
    FLAG,
    GLOBAL_OPTIONS,
    GROUPS,
    MANY,
    MAX_BODY_BYTES,
    MAX_INPUT_BYTES,
    TOTAL_TIMEOUT_FACTOR,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from registry.options import Argument, Option

_DEFAULT_DEADLINE_MINUTES = TOTAL_TIMEOUT_FACTOR * DEFAULT_TIMEOUT / 60
#: After the commands: exit codes, and every limit (the README's "Limits" says the same).
EPILOG = f"""\b
Exit codes:
  0  answered (validate/check: sound, up to date)
  1  not found (validate/check: problems found)
  2  bad usage or input
  3  could not answer (network, auth, offline and not cached)

\b
Limits:
  input files  Cargo.lock, Cargo.toml, cargo configuration: at most {MAX_INPUT_BYTES >> 20} MiB
               each (a pipe or a device is read up to that, then refused)
  requests     each ends within {TOTAL_TIMEOUT_FACTOR} x --timeout in total \
({_DEFAULT_DEADLINE_MINUTES:g} minutes by default), however
               slowly the server sends (exit 3, not retried); a response body or local
               index file: at most {MAX_BODY_BYTES >> 20} MiB
  cache lock   waits up to {LOCK_TIMEOUT:g} s for the package-cache lock while cargo or another
               registry holds it (says so at once), then answers without caching
"""

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _option(option: Option) -> click.Option:
    kwargs: dict[str, object] = {"help": option.help}
    if option.env:
        kwargs.update(envvar=option.env, show_envvar=True)
    if option.kind == FLAG:
        kwargs["is_flag"] = True
    elif option.kind == COUNT:
        kwargs["count"] = True
    elif option.kind == EACH:
        kwargs.update(multiple=True, metavar=option.metavar or None)
    else:
        kwargs["metavar"] = option.metavar or None
        if option.choices:
            kwargs["type"] = click.Choice(option.choices)
        elif option.metavar in ("PATH", "DIR", "LOCKFILE"):
            kwargs["type"] = click.Path(dir_okay=option.metavar == "DIR")
        if option.kind == MANY:
            kwargs["multiple"] = True
        elif option.default is not None:
            kwargs.update(default=option.default, show_default=True)
    return click.Option([*option.flags, option.name], **kwargs)  # type: ignore[arg-type]


def _argument(argument: Argument) -> click.Argument:
    return click.Argument(
        [argument.name],
        required=argument.required,
        nargs=-1 if argument.many else 1,
        default=argument.default,
        type=click.Path(dir_okay=False) if argument.parse is not None else None,
    )


def build() -> click.Group:
    """The click form of the whole command line (no callbacks run a command)."""
    group = click.Group(
        "registry",
        help="Query a cargo sparse registry index through cargo's own summaries cache.",
        epilog=EPILOG,
        params=[_option(o) for o in GLOBAL_OPTIONS],
        context_settings=_CONTEXT,
    )
    group.params.append(
        click.Option(["--version"], is_flag=True, help="Show the version and exit.")
    )
    groups = {
        name: click.Group(name, help=text, context_settings=_CONTEXT)
        for name, text in GROUPS.items()
    }
    for command in COMMANDS:
        params: list[click.Parameter] = [_argument(a) for a in command.arguments]
        params += [_option(o) for o in command.options]
        made = click.Command(
            command.name, help=command.help, params=params, context_settings=_CONTEXT
        )
        (groups[command.group] if command.group else group).add_command(made)
    for made_group in groups.values():
        group.add_command(made_group)
    return group


def show_help(path: str, exit_code: int) -> int:
    """Print the help of ``path`` ("" for the whole tool, a group or a command) to stdout."""
    command: click.Command = build()
    context = click.Context(command, info_name="registry")
    for name in path.split():
        assert isinstance(command, click.Group)
        found = command.get_command(context, name)
        assert found is not None, name
        command = found
        context = click.Context(command, info_name=name, parent=context)
    sys.stdout.write(command.get_help(context) + "\n")
    return exit_code


def complete() -> int:
    """Answer the shell's completion request (``_REGISTRY_COMPLETE`` is set)."""
    app = build()
    try:
        app.main(prog_name="registry", complete_var="_REGISTRY_COMPLETE")
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 1
    except (KeyError, ValueError):  # no COMP_WORDS / COMP_CWORD, or not a number: no shell
        from query.errors import UsageError

        raise UsageError(
            "_REGISTRY_COMPLETE asks for completions, but COMP_WORDS and COMP_CWORD are not "
            "set: that is the completion script's job (see the README)"
        ) from None
    return 0


def progress_bar(total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance by n, finish) of a progress bar on stderr for ``total`` index files."""
    bar = click.progressbar(length=total, label="Fetching index files", file=sys.stderr)

    def advance(count: int) -> None:
        bar.update(min(count, total - bar.pos))

    return advance, bar.render_finish
