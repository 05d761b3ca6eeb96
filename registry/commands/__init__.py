"""The commands: one module each, click-free. A command takes the run's `RunOptions` and its own
arguments and returns an `Outcome`: what to print and the exit code. Warnings and ``-v`` detail
go to stderr as they happen (through `RunOptions.warn` and `RunOptions.info`).

::

    query.py     registry query SPEC [--json] [--all]
    versions.py  registry versions NAME
    fetch.py     registry fetch [NAMES] [--lockfile PATH]
    validate.py  registry validate [LOCKFILE] [report options]
    check.py     registry check [--manifest-path PATH] [report options] [--no-fingerprint]
    cache.py     registry cache dir | stats | clean

Each module imports what it needs when it runs: the warm paths (an exact query, a check that
its fingerprint answers) load nothing beyond what they use.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.record import Record

if TYPE_CHECKING:
    from query.verdict import Verdict
    from registry.api import Registry
    from registry.options import RunOptions


class Outcome(Record):
    """What a command printed: ``stdout`` (text, or the raw bytes of index lines), ``stderr``
    (whole lines), and the exit code."""

    exit_code: int
    stdout: str | bytes = ""
    stderr: str = ""


def open_registry(
    options: RunOptions, index_url: str | None = None, token: str | None = None
) -> Registry:
    """A `Registry` for ``index_url`` (default: the run's index). The run's --token goes only to
    the run's own index; another one gets ``token`` (from cargo's credentials) or none."""
    from query.cargo_facts import CRATES_IO_SPARSE
    from registry.api import Registry
    from registry.config.index_url import parse_index_url

    own = parse_index_url(options.index_url).url if options.index_url else CRATES_IO_SPARSE
    url = index_url or own
    return Registry(
        url,
        options.cache_root,
        offline=options.offline,
        refresh=options.refresh,
        token=options.token if url == own else token,
        timeout=options.timeout,
        warn=options.warn,
    )


def report(options: RunOptions, reg: Registry) -> None:
    """With -v: which index and cache answered, and what it cost on the network."""
    if options.verbose:
        options.info(
            f"{reg.source.url}: cache {reg.store.dir_path}; {reg.requests_made} requests, "
            f"{reg.downloaded} downloaded, {reg.unchanged} not modified"
        )


def use_color(fmt: str) -> bool:
    """Colours: human text on a terminal only."""
    import sys

    return fmt == "human" and sys.stdout.isatty()


def verdict_text(verdict: Verdict, fmt: str, quiet: bool) -> str:
    """What ``validate`` and ``check`` print for ``verdict`` (colours on a terminal only)."""
    from registry import __version__
    from registry.render.verdict import render

    text = render(verdict, fmt, color=use_color(fmt), quiet=quiet, tool_version=__version__)
    return text + "\n" if text else ""


def verdict_outcome(verdict: Verdict, fmt: str, quiet: bool) -> Outcome:
    return Outcome(verdict.exit_code, verdict_text(verdict, fmt, quiet))
