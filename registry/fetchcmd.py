"""The ``fetch`` command's work, shared by the click command and the fast path.

``fetch --lockfile`` in CI (warm a cache, or revalidate one with ``--refresh``) is mostly
start-up: 65 conditional requests to a nearby server take ~8 ms, click alone ~20 ms to import.
So the plain shape runs from ``registry.fastpath`` without click, through this same code.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from registry.client import FetchReport, Registry
    from registry.sources import SourceMap

    #: Given the number of crates, (advance by n, finish) for a progress bar.
    ProgressFactory = Callable[[int], tuple[Callable[[int], None], Callable[[], None]]]


class FetchRequest:
    """The options of one ``fetch`` run. ``explicit_index_url`` is the ``--index-url`` source
    URL only when it was given (flag or env): only then does it replace crates.io for lockfile
    entries, as in ``check``."""

    __slots__ = (
        "cache_dir",
        "explicit_index_url",
        "index_url",
        "lockfile",
        "names",
        "offline",
        "quiet",
        "refresh",
        "timeout",
        "token",
        "verbose",
    )

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
        self.names = names
        self.lockfile = lockfile
        self.index_url = index_url
        self.explicit_index_url = explicit_index_url
        self.cache_dir = cache_dir
        self.offline = offline
        self.refresh = refresh
        self.token = token
        self.quiet = quiet
        self.verbose = verbose
        self.timeout = timeout

    def warn(self, message: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"warning: {message}\n")

    def registry(self, index_url: str | None = None, token: str | None = None) -> Registry:
        """A Registry for ``index_url`` (default: --index-url). --token goes only to the
        --index-url registry; another one gets ``token`` (from cargo's credentials) or none."""
        from registry.client import Registry

        own = index_url is None or index_url == self.index_url
        return Registry(
            index_url or self.index_url,
            self.cache_dir,
            offline=self.offline,
            refresh=self.refresh,
            token=self.token if own else token,
            timeout=self.timeout,
            warn=self.warn,
        )

    def report(self, reg: Registry) -> None:
        """With -v: which index and cache answered, and what it cost on the network."""
        if self.verbose:
            sys.stderr.write(
                f"{reg.source.url}: cache {reg.store.dir}; {reg.requests_made} requests, "
                f"{reg.downloaded} downloaded, {reg.unchanged} not modified\n"
            )


def lockfile_groups(
    path: str, explicit_index_url: str | None, warn: Callable[[str], None]
) -> tuple[dict[str, list[str]], SourceMap]:
    """The lockfile's registry packages by the index that serves them (cargo's source mapping)."""
    from pathlib import Path

    from registry.lockload import load_lockfile
    from registry.sources import SourceMap, Unresolved

    lock = load_lockfile(Path(path))
    sources = SourceMap.discover(Path(path).parent, index_url=explicit_index_url)
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
