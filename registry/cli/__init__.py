"""The ``registry`` command line: from argv to an exit code.

::

    argv ──> cli/argv.py parse ──> Invocation ──> commands/<command>.py run ──> Outcome
                  │ (the table: registry/options.py)                                │
                  └─ --help, no command: cli/app.py (click) prints the help          v
                                                           stderr, stdout, exit code

Every error is one line on stderr, ``error: <what>: <what to do>``, and the exit code of its
class in the one exception tree (:mod:`registry.errors`); no tracebacks::

    0  answered (validate/check: sound, up to date)
    1  not found (validate/check: problems found)
    2  bad usage or input
    3  could not answer (network, auth, offline and not cached)
"""

from __future__ import annotations

import os
import sys

from query import TYPE_CHECKING
from query.errors import EXIT_UNAVAILABLE, RegistryError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from registry.commands import Outcome
    from registry.options import RunOptions


def error_line(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def guarded(action: Callable[[], int]) -> int:
    """Run ``action``; our errors (and an OSError that reaches this edge) become one line and
    their exit code."""
    try:
        return action()
    except RegistryError as exc:
        error_line(str(exc))
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        error_line(f"{where}{exc.strerror or exc}")
        return EXIT_UNAVAILABLE


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) in this process."""
    args = list(sys.argv[1:] if argv is None else argv)
    return guarded(lambda: _run(args))


def _run(args: list[str]) -> int:
    from registry.cli.argv import parse

    if "_REGISTRY_COMPLETE" in os.environ:  # the shell asks for completions
        from registry.cli.app import complete

        return complete()
    invocation = parse(args, os.environ)
    if invocation.version:
        from registry import __version__

        sys.stdout.write(f"registry, version {__version__}\n")
        return 0
    if invocation.help is not None or invocation.command is None:
        from registry.cli.app import show_help

        return show_help(invocation.help or "", invocation.help_exit_code)
    outcome = _dispatch(invocation.command.path, invocation.options, invocation.arguments)
    if outcome.stderr:
        sys.stderr.write(outcome.stderr)
        sys.stderr.flush()
    if isinstance(outcome.stdout, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(outcome.stdout)
    else:
        sys.stdout.write(outcome.stdout)
    sys.stdout.flush()
    return outcome.exit_code


def _dispatch(path: str, options: RunOptions, arguments: Mapping[str, object]) -> Outcome:
    """Run the command at ``path`` (``query``, ``cache dir``...) with its parsed arguments."""
    args: dict[str, Any] = dict(arguments)  # the types the table's parsers give
    if path == "query":
        from registry.commands import query

        return query.run(options, **args)
    if path == "versions":
        from registry.commands import versions

        return versions.run(options, **args)
    if path == "fetch":
        from registry.commands import fetch

        if sys.stderr.isatty() and not options.quiet:
            from registry.cli.app import progress_bar

            return fetch.run(options, progress=progress_bar, **args)
        return fetch.run(options, **args)
    if path == "validate":
        from registry.commands import validate

        return validate.run(options, **args)
    if path == "check":
        from registry.commands import check

        return check.run(options, **args)
    from registry.commands import cache

    if path == "cache dir":
        return cache.directory(options)
    if path == "cache stats":
        return cache.stats(options)
    if path == "cache prune":
        return cache.prune(options, **args)
    assert path == "cache clean", path
    return cache.clean(options)
