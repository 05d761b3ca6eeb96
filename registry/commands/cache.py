"""``registry cache dir | stats | clean | prune``: the cache of the selected index, and the whole
cache root (cache/maintenance.py)."""

from __future__ import annotations

from query import TYPE_CHECKING
from registry.commands import Outcome, open_registry

if TYPE_CHECKING:
    from registry.options import RunOptions


def directory(options: RunOptions) -> Outcome:
    """The cache directory of the selected index."""
    with open_registry(options) as reg:
        return Outcome(0, f"{reg.store.dir_path}\n")


def stats(options: RunOptions) -> Outcome:
    """Files and bytes per registry in the cache."""
    from cache.maintenance import stats as tree_stats

    root = options.cache_root
    rows = tree_stats(root)
    if not rows:
        return Outcome(0, f"{root}: empty\n")
    return Outcome(
        0,
        "".join(
            f"{name}: {row['files']} files, {row['bytes']} bytes\n"
            for name, row in sorted(rows.items())
        ),
    )


def clean(options: RunOptions) -> Outcome:
    """Remove every index cache (cargo's lock is respected; cargo's other files are kept)."""
    from cache.maintenance import clean as clean_root

    root = options.cache_root
    report = clean_root(root, on_lock_wait=options.status)
    if options.quiet:
        return Outcome(0)
    text = f"removed {report.freed} bytes from {root}\n"
    if report.kept:
        text += "kept (not an index cache): " + ", ".join(report.kept) + "\n"
    return Outcome(0, text)


def prune(options: RunOptions, older_than: int | None, keep: tuple[str, ...]) -> Outcome:
    """Remove index entries not used for ``older_than`` days and/or not needed by the
    lockfiles ``keep``."""
    from cache.maintenance import prune as prune_root
    from query.errors import UsageError

    if older_than is None and not keep:
        raise UsageError(
            "give --older-than DAYS, --keep LOCKFILE, or both (see registry cache prune --help)"
        )
    root = options.cache_root
    report = prune_root(
        root,
        older_than_days=older_than,
        keep=needed_entries(options, keep) if keep else None,
        on_lock_wait=options.status,
    )
    if options.quiet:
        return Outcome(0)
    return Outcome(
        0,
        f"removed {report.removed} index entries ({report.freed} bytes) from {root}; "
        f"kept {report.kept}\n",
    )


def needed_entries(options: RunOptions, lockfiles: tuple[str, ...]) -> dict[str, set[str]]:
    """Directory name -> index paths of every registry package of the lockfiles (each from the
    index cargo's source mapping names for it), under both the directory name of cargo >= 1.85
    and that of cargo <= 1.84."""
    from cache.dirhash import legacy_source_dir_name
    from query.names import index_path
    from registry.commands.fetch import lockfile_groups
    from registry.config.index_url import SPARSE, parse_index_url

    explicit = parse_index_url(options.index_url).url if options.index_url else None
    needed: dict[str, set[str]] = {}
    for lockfile in lockfiles:
        groups, _sources = lockfile_groups(lockfile, explicit, options.warn, options.config)
        for url, names in groups.items():
            source = parse_index_url(url)
            rels = {index_path(name) for name in names}
            needed.setdefault(source.dir_name, set()).update(rels)
            if source.kind == SPARSE:
                needed.setdefault(legacy_source_dir_name(source.url), set()).update(rels)
    return needed
