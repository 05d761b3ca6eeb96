"""How long a cached index file may be used without revalidation.

Cargo itself never skips revalidation on its own (it revalidates every file once per updating
invocation, §4.8); we additionally honour the server's ``Cache-Control: max-age`` so repeated
queries within that window need no network. The max-age is kept in a sidecar file,
``<index-dir>/.registry/fresh/<index path>``, never inside ``.cache/`` (which stays byte-identical
to cargo's). The sidecar's content is the max-age in whole seconds as decimal text; its mtime
is the time the response was received (or last revalidated with a 304).
"""

from __future__ import annotations

import os

from cache.atomic import write_atomic
from query import TYPE_CHECKING

if TYPE_CHECKING:
    from cache.atomic import StrPath

__all__ = ["CLOCK_SKEW", "is_fresh", "read_max_age", "write_max_age"]

#: A fetch time up to this many seconds in the future is tolerated (clock adjustments,
#: file systems with coarse or skewed timestamps); beyond it the record is not trusted.
CLOCK_SKEW = 5.0

# Longest sidecar content we accept (20 digits already exceed any sane max-age).
_MAX_SIDECAR_BYTES = 32


def is_fresh(fetched_at: float, max_age: float | None, now: float) -> bool:
    """Whether a response fetched at ``fetched_at`` with ``max_age`` seconds is still fresh.

    None, zero or negative max-age: never fresh. A ``fetched_at`` more than `CLOCK_SKEW`
    seconds after ``now``: not fresh. NaN anywhere: not fresh.
    """
    if not max_age or max_age <= 0:
        return False
    age = now - fetched_at
    return -CLOCK_SKEW <= age < max_age


def read_max_age(sidecar_path: StrPath) -> tuple[float, float] | None:
    """Return (fetched_at, max_age) from a sidecar, or None if missing, unreadable or garbage."""
    try:
        with open(sidecar_path, "rb") as f:
            raw = f.read(_MAX_SIDECAR_BYTES + 1)
            fetched_at = os.fstat(f.fileno()).st_mtime
    except OSError:
        return None
    text = raw.strip()
    if len(raw) > _MAX_SIDECAR_BYTES or not text.isdigit():  # bytes.isdigit: ASCII only
        return None
    return fetched_at, float(int(text))


def write_max_age(sidecar_path: StrPath, max_age: int) -> None:
    """Atomically (re)write the sidecar; its mtime becomes the new fetch time.

    Raises ValueError for a negative or non-integer max-age and OSError on I/O failure.
    """
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(f"max-age must be a non-negative integer, not {max_age!r}")
    write_atomic(sidecar_path, b"%d\n" % max_age)
