"""``registry query SPEC [--json] [--all]``: NAME (newest), NAME==VERSION (exact), NAME@REQ.

`run` tries `warm_exact` first, then the general path, `answer`.
"""

from __future__ import annotations

import os
import time

from query import TYPE_CHECKING
from registry.commands import Outcome

if TYPE_CHECKING:
    from query.entry import IndexEntry
    from registry.options import RunOptions


def run(options: RunOptions, spec: str, as_json: bool, all_versions: bool) -> Outcome:
    outcome = None
    if not all_versions:
        outcome = warm_exact(options, spec, as_json)
    return outcome if outcome is not None else answer(options, spec, as_json, all_versions)


def answer(options: RunOptions, spec: str, as_json: bool, all_versions: bool) -> Outcome:
    """The general path: a `Registry` makes the entry current and parses its line."""
    from registry.render.entry import render_entry, render_versions

    entries = _entries(options, spec, all_versions)
    if as_json:
        return Outcome(0, b"".join(entry.raw.rstrip(b"\r") + b"\n" for entry in entries))
    if all_versions:
        rows = ((e.vers, e.yanked, e.status) for e in entries)
        return Outcome(0, render_versions(rows) + "\n")
    return Outcome(0, render_entry(entries[0]) + "\n")


def _entries(options: RunOptions, spec: str, all_versions: bool) -> list[IndexEntry]:
    """The entries ``spec`` asks for. The registry, and the cache bytes it holds, are gone
    when this returns: rendering a huge line then costs the line, not the line and its file."""
    from query.spec import parse_query_spec
    from registry.commands import open_registry, report

    parsed = parse_query_spec(spec)
    with open_registry(options) as reg:
        if parsed.exact is not None:  # the exact key (build metadata counts), --all or not
            entries = [reg.get(parsed.name, parsed.exact)]
        elif all_versions:
            entries = reg.query_all(parsed.name, parsed.requirement)
        else:
            entries = [reg.query(parsed.name, parsed.requirement)]
        report(options, reg)
    return entries


# -- accelerator: the warm exact query ------------------------------------------------------------
#
# Twin: `answer` above. A null build asks exact questions of a warm cache, and `answer` costs
# the Registry's imports (the loader, the transport's module): this finds ``\0<version>\0`` in
# one cache file and classifies that single line with the same function as the general path
# (query.entry.entry_from_line, which reads it with the stdlib ``json`` when it can), so what
# is printed, ``yanked`` included, comes from parsed fields. It answers only when `answer`
# could not answer otherwise: an exact query of a sparse index (--index-url, else crates.io or
# its replacement in cargo's configuration), no -v, no --config, and either offline
# (--offline, REGISTRY_OFFLINE, CARGO_NET_OFFLINE) or a cache entry still fresh by the
# server's max-age; anything else (a miss, a corrupt or foreign entry, a line that is not
# exactly NAME VERSION, an error in cargo's configuration) returns None and `answer` runs.
# Gain, end to end: undoing it adds ~11 ms to a ~20 ms exact query (docs/performance.md;
# scripts/bench.py's "exact query" row times it). Pinned to `answer` by tests/test_cli.py
# (test_fast_path_and_full_cli_print_the_same_bytes and the tests after it).


#: cache.lastuse.RESOLUTION, without importing it on the fast path (tests/test_cache_maintenance.py
#: pins the two).
_ATIME_RESOLUTION = 86400.0


def _used(fd: int) -> None:
    """A use of the open cache entry: its access time brought up to date once a day, as
    `cache.store.IndexStore` does when it reads one (cache/lastuse.py)."""
    st = os.fstat(fd)
    if st.st_atime < time.time() - _ATIME_RESOLUTION:
        from cache.lastuse import touch

        touch(fd, st)


def warm_exact(options: RunOptions, spec_text: str, as_json: bool) -> Outcome | None:
    """The outcome of an exact query answered from a warm cache entry, or None to defer."""
    if options.refresh or options.verbose or options.config:
        return None  # a revalidation, a -v report line, --config arguments: the general path
    from query.spec import QuerySpecError, parse_query_spec

    try:
        spec = parse_query_spec(spec_text)
    except QuerySpecError:
        return None
    if spec.exact is None:
        return None

    from cache.format import CacheFormatError, find_exact
    from query.errors import UsageError
    from query.names import index_path
    from registry.config.index_url import SPARSE, parse_index_url

    try:
        if options.index_url is not None:
            source = parse_index_url(options.index_url)
        else:  # crates.io, or what cargo's source replacement makes of it (as `answer` does)
            from registry.commands import run_sources

            source = parse_index_url(run_sources(options).own_index())
    except UsageError:
        return None
    if source.kind != SPARSE:
        return None
    index_dir = os.path.join(options.cache_root, "registry", "index", source.dir_name)
    rel = index_path(spec.name)
    offline = options.offline_hint(os.environ)
    if not offline:
        from cache.freshness import is_fresh, read_max_age

        fresh = read_max_age(os.path.join(index_dir, ".registry", "fresh", rel))
        if fresh is None or not is_fresh(fresh[0], fresh[1], time.time()):
            return None
    from cache.integrity import FOREIGN, INTACT, VERIFIED, check_file

    try:
        with open(os.path.join(index_dir, ".cache", rel), "rb", buffering=0) as handle:
            data = handle.readall()
            # Bytes we wrote that changed since are never trusted (the general path refetches
            # or says so); a file cargo rewrote is used offline, as the general path does.
            state = check_file(data, handle.fileno(), index_dir, rel)
            _used(handle.fileno())
        blob = find_exact(data, spec.exact)
    except (OSError, CacheFormatError):
        return None
    if blob is None:
        return None
    del data  # the answer of a huge line then costs the line twice, not thrice
    if state not in (VERIFIED, INTACT) and not (offline and state == FOREIGN):
        return None

    from query.entry import EntryError, entry_from_line

    try:
        entry = entry_from_line(blob)
    except EntryError:
        return None  # not a line cargo keeps: a foreign cache, the general path says so
    if entry.name != spec.name or entry.vers != spec.exact:
        return None
    if as_json:
        return Outcome(0, blob.rstrip(b"\r") + b"\n")
    from registry.render.entry import render_entry

    return Outcome(0, render_entry(entry) + "\n")
