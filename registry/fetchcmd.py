"""The ``fetch`` command's work, shared by the click command and the fast path.

``fetch --lockfile`` in CI (warm a cache, or revalidate one with ``--refresh``) is mostly
start-up: 65 conditional requests to a nearby server take ~8 ms, click alone ~20 ms to import.
So the plain shape runs from ``registry.fastpath`` without click, through this same code.
"""

from __future__ import annotations

import sys

from query import TYPE_CHECKING
from registry.options import RunOptions

if TYPE_CHECKING:
    from collections.abc import Callable

    from registry.client import FetchReport
    from registry.sources import SourceMap

    #: Given the number of crates, (advance by n, finish) for a progress bar.
    ProgressFactory = Callable[[int], tuple[Callable[[int], None], Callable[[], None]]]


class FetchRequest(RunOptions):
    """The options of one ``fetch`` run. ``explicit_index_url`` is the ``--index-url`` source
    URL only when it was given (flag or env): only then does it replace crates.io for lockfile
    entries, as in ``check``."""

    def __init__(
        self,
        names: tuple[str, ...],
        lockfile: str | None,
        *,
        index_url: str,
        explicit_index_url: str | None = None,
        cache_dir: str | None = None,
        offline: bool = False,
        refresh: bool = False,
        token: str | None = None,
        quiet: bool = False,
        verbose: int = 0,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(index_url, cache_dir, offline, refresh, token, quiet, verbose, timeout)
        self.names = names
        self.lockfile = lockfile
        self.explicit_index_url = explicit_index_url


def lockfile_groups(
    path: str, explicit_index_url: str | None, warn: Callable[[str], None]
) -> tuple[dict[str, list[str]], SourceMap]:
    """The lockfile's registry packages by the index that serves them (cargo's source mapping)."""
    from cache.pathstr import parent, spelled
    from registry.lockload import load_lockfile
    from registry.sources import SourceMap, Unresolved

    lock = load_lockfile(spelled(path))  # as str(Path(path)) spells it, without pathlib
    sources = SourceMap.discover(parent(path), index_url=explicit_index_url)
    groups: dict[str, list[str]] = {}
    for package in lock.registry_packages():
        target = sources.resolve(package.source or "")
        if isinstance(target, Unresolved):
            warn(f"{package.name} {package.version}: {target.reason}; not fetched")
            continue
        groups.setdefault(target, []).append(package.name)
    return groups, sources


def execute(request: FetchRequest, progress: ProgressFactory | None = None) -> int:
    """Fetch, print the summary (and one line per error or missing crate); the exit code.

    The caller checks that names or a lockfile were given.
    """
    import time

    from query.names import validate_crate_name
    from registry.source import parse_index_url

    default_url = parse_index_url(request.index_url).url
    groups: dict[str, list[str]] = {}
    sources: SourceMap | None = None
    if request.names:
        groups[default_url] = [validate_crate_name(n) for n in request.names]
    if request.lockfile:
        lock_groups, sources = lockfile_groups(
            request.lockfile, request.explicit_index_url, request.warn
        )
        for url, group in lock_groups.items():
            groups.setdefault(url, []).extend(group)
    total = sum(len(set(g)) for g in groups.values())
    started = time.perf_counter()
    reports: list[FetchReport] = []
    advance, finish = progress(total) if progress is not None and total else (None, None)
    try:
        for url, group in groups.items():
            token = sources.token_for(url, None) if sources is not None else None
            with request.registry(None if url == default_url else url, token) as reg:
                if advance is not None:
                    reg.progress = advance
                reports.append(reg.fetch(group))
                request.report(reg)
    finally:
        if finish is not None:
            finish()
    elapsed = time.perf_counter() - started
    errors = {k: v for r in reports for k, v in r.errors.items()}
    not_found = [n for r in reports for n in r.not_found]
    err = sys.stderr
    for _name, error in sorted(errors.items()):
        err.write(f"error: {error}\n")
    for name in not_found:
        err.write(f"not found: {name}\n")
    if not request.quiet:
        sys.stdout.write(
            f"{total} crates: {sum(r.downloaded for r in reports)} downloaded, "
            f"{sum(r.unchanged for r in reports)} unchanged, "
            f"{sum(r.cached for r in reports)} from cache, "
            f"{len(not_found)} not found, {len(errors)} failed ({elapsed:.2f} s)\n"
        )
    if errors:
        return max(e.exit_code for e in errors.values())
    return 1 if not_found else 0
