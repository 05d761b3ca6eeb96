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
    from registry.config.settings import Settings
    from registry.config.source_replacement import SourceMap
    from registry.options import RunOptions


class Outcome(Record):
    """What a command printed: ``stdout`` (text, or the raw bytes of index lines), ``stderr``
    (whole lines), and the exit code."""

    exit_code: int
    stdout: str | bytes = ""
    stderr: str = ""


def open_registry(
    options: RunOptions,
    index_url: str | None = None,
    token: str | None = None,
    settings: Settings | None = None,
) -> Registry:
    """A `Registry` for ``index_url`` with ``token`` and ``settings``; by default the run's own
    index (`run_sources`: --index-url, else what cargo's source replacement makes of crates.io,
    else crates.io) with the run's --token (or its registry's token from cargo's credentials),
    and the settings of cargo's configuration in the current directory."""
    from registry.api import Registry

    if index_url is None or settings is None:
        from registry.config.settings import run_settings

        sources = run_sources(options)
        if index_url is None:
            index_url = sources.own_index()
            token = sources.token_for(index_url, options.token)
        if settings is None:
            settings = run_settings(options, sources.config)
    return Registry(
        index_url,
        options.cache_root,
        offline=settings.offline,
        refresh=options.refresh,
        token=token,
        warn=options.warn,
        settings=settings,
        status=options.status,
    )


def run_sources(options: RunOptions, start: str = ".") -> SourceMap:
    """Cargo's configuration for a run in ``start`` (its files and the --config arguments) as
    a source mapping, with --index-url (when given) replacing crates.io."""
    from registry.config.cargo_config import CargoConfig
    from registry.config.index_url import parse_index_url
    from registry.config.source_replacement import SourceMap

    explicit = parse_index_url(options.index_url).url if options.index_url else None
    return SourceMap.from_config(CargoConfig.discover(start, options.config), index_url=explicit)


def report(options: RunOptions, reg: Registry) -> None:
    """With -v: which index and cache answered, and what it cost on the network."""
    if options.verbose:
        options.info(
            f"{reg.source.url}: cache {reg.store.dir_path}; {reg.requests_made} requests, "
            f"{reg.downloaded} downloaded, {reg.unchanged} not modified"
        )


def use_color(fmt: str, settings: Settings) -> bool:
    """Colours: human text, and --color / term.color / CARGO_TERM_COLOR say so (auto: on a
    terminal, unless NO_COLOR...: `registry.options.wants_color`)."""
    import os
    import sys

    from registry.options import wants_color

    return fmt == "human" and wants_color(settings.color, sys.stdout.isatty(), os.environ)


def verdict_text(verdict: Verdict, fmt: str, quiet: bool, color: bool) -> str:
    """What ``validate`` and ``check`` print for ``verdict``."""
    from registry import __version__
    from registry.render.verdict import render

    text = render(verdict, fmt, color=color, quiet=quiet, tool_version=__version__)
    return text + "\n" if text else ""
