"""``registry fetch [NAMES] [--lockfile PATH]``: warm the cache, each crate from its own index.

Names go to the run's index; a lockfile's registry packages go to the index cargo's source
mapping names for each (:mod:`registry.config.source_replacement`). One concurrent batch per index;
a cold or --refresh fetch of a lockfile opens each index's connections before the lockfile is
parsed, from a guess at its crates (`_open_early`).
The outcome is a summary line (unless -q), one ``error:`` line per failed crate and one
``not found:`` line per missing one; the exit code is the worst error's, else 1 when a crate
was not found.
"""

from __future__ import annotations

import time

from query import TYPE_CHECKING
from query.errors import UsageError
from registry.commands import Outcome, open_registry, report, run_sources

if TYPE_CHECKING:
    from collections.abc import Callable

    from registry.api import FetchReport, Registry
    from registry.config.settings import Settings
    from registry.config.source_replacement import SourceMap
    from registry.options import RunOptions

    #: Given the number of crates, (advance by n, finish) for a progress bar.
    ProgressFactory = Callable[[int], tuple[Callable[[int], None], Callable[[], None]]]


def lockfile_groups(
    path: str,
    index_url: str | None,
    warn: Callable[[str], None],
    cli: tuple[str, ...] = (),
    before_parsing: Callable[[str, SourceMap], None] | None = None,
) -> tuple[dict[str, list[str]], SourceMap]:
    """The lockfile's registry packages by the index that serves them (cargo's source mapping,
    from the configuration of the lockfile's directory and the --config arguments ``cli``);
    ``index_url``, the run's --index-url when given, replaces crates.io. ``before_parsing``
    gets the lockfile's text and the mapping before the text is parsed."""
    from cache.pathstr import parent, spelled
    from registry.config.source_replacement import SourceMap, Unresolved
    from registry.input_files import load_lockfile, lockfile_text

    text = lockfile_text(spelled(path))  # as str(Path(path)) spells it, without pathlib
    sources = SourceMap.discover(parent(path), index_url=index_url, cli=cli)
    if before_parsing is not None:
        before_parsing(text, sources)
    lock = load_lockfile(spelled(path), text=text)
    groups: dict[str, list[str]] = {}
    for package in lock.registry_packages():
        target = sources.resolve(package.source or "")
        if isinstance(target, Unresolved):
            warn(f"{package.name} {package.version}: {target.reason}; not fetched")
            continue
        groups.setdefault(target, []).append(package.name)
    return groups, sources


def _open_early(options: RunOptions, text: str, sources: SourceMap) -> dict[str, Registry]:
    """A registry for each index the lockfile's text seems to name (`registry_names_by_source`,
    before the text is parsed), told how many crates to expect: a cold or --refresh fetch opens
    their connections now, while the lockfile is parsed and the cache looked at
    (`Registry.expect`; docs/performance.md)."""
    from query.lockfile_fast import registry_names_by_source
    from registry.config.settings import run_settings

    counts: dict[str, int] = {}
    for source, names in registry_names_by_source(text).items():
        target = sources.resolve(source)
        if isinstance(target, str):
            counts[target] = counts.get(target, 0) + len(names)
    if not counts:
        return {}
    settings = run_settings(options, sources.config)
    opened: dict[str, Registry] = {}
    try:
        for url, count in counts.items():
            token = sources.token_for(url, options.token)
            opened[url] = open_registry(options, url, token, settings)
            opened[url].expect(count)
    except BaseException:
        for reg in opened.values():
            reg.close()
        raise
    return opened


def run(
    options: RunOptions,
    names: tuple[str, ...],
    lockfile: str | None,
    progress: ProgressFactory | None = None,
) -> Outcome:
    """Fetch; ``progress`` draws a bar (the CLI passes one when stderr is a terminal)."""
    from query.names import validate_crate_name
    from registry.config.settings import run_settings

    if not names and not lockfile:
        raise UsageError("give crate names or --lockfile (see registry fetch --help)")
    # each index once: (url, token, settings) by url, the names' (the run's own index, cargo's
    # configuration of the current directory) first
    groups: dict[str, list[str]] = {}
    opened: dict[str, tuple[str | None, Settings]] = {}
    if names:
        wanted = [validate_crate_name(n) for n in names]
        own = run_sources(options)
        url = own.own_index()
        groups[url] = wanted
        opened[url] = (own.token_for(url, options.token), run_settings(options, own.config))
    # registries opened before their lockfile is parsed (`_open_early`), by url
    early: dict[str, Registry] = {}

    def open_early(text: str, sources: SourceMap) -> None:
        if not names:  # else the names' own index may be one of them, with other settings
            early.update(_open_early(options, text, sources))

    try:
        if lockfile:
            from registry.config.index_url import parse_index_url

            explicit = parse_index_url(options.index_url).url if options.index_url else None
            lock_groups, sources = lockfile_groups(
                lockfile, explicit, options.warn, options.config, open_early
            )
            lock_settings = run_settings(options, sources.config) if lock_groups else None
            for url, group in lock_groups.items():
                groups.setdefault(url, []).extend(group)
                if url not in opened and lock_settings is not None:
                    opened[url] = (sources.token_for(url, options.token), lock_settings)
        total = sum(len(set(g)) for g in groups.values())
        started = time.perf_counter()
        reports: list[FetchReport] = []
        advance, finish = progress(total) if progress is not None and total else (None, None)
        try:
            for url, group in groups.items():
                reg = early.pop(url, None)
                if reg is None:
                    token, settings = opened[url]
                    reg = open_registry(options, url, token, settings)
                with reg:
                    if advance is not None:
                        reg.progress = advance
                    reports.append(reg.fetch(group))
                    report(options, reg)
        finally:
            if finish is not None:
                finish()
    finally:
        for reg in early.values():  # an index the guess named that no package went to
            reg.close()
    elapsed = time.perf_counter() - started
    errors = {k: v for r in reports for k, v in r.errors.items()}
    not_found = [n for r in reports for n in r.not_found]
    stderr = "".join(f"error: {error}\n" for _name, error in sorted(errors.items()))
    stderr += "".join(f"not found: {name}\n" for name in not_found)
    summary = ""
    if not options.quiet:
        summary = (
            f"{total} crates: {sum(r.downloaded for r in reports)} downloaded, "
            f"{sum(r.unchanged for r in reports)} unchanged, "
            f"{sum(r.cached for r in reports)} from cache, "
            f"{len(not_found)} not found, {len(errors)} failed ({elapsed:.2f} s)\n"
        )
    code = max(e.exit_code for e in errors.values()) if errors else int(bool(not_found))
    return Outcome(code, summary, stderr)
