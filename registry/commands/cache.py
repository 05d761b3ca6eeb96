"""``registry cache dir | stats | clean``: the cache of the selected index."""

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
    with open_registry(options) as reg:
        rows = reg.store.stats()
        if not rows:
            return Outcome(0, f"{reg.store.root_path}: empty\n")
    return Outcome(
        0,
        "".join(
            f"{name}: {row['files']} files, {row['bytes']} bytes\n"
            for name, row in sorted(rows.items())
        ),
    )


def clean(options: RunOptions) -> Outcome:
    """Remove every cached index (cargo's lock is respected)."""
    with open_registry(options) as reg:
        freed = reg.store.clean()
    if options.quiet:
        return Outcome(0)
    return Outcome(0, f"removed {freed} bytes from {reg.store.root_path}\n")
