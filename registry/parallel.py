"""Two-way parallel judging: half of a CPU-bound job in a forked child process.

Judging a lockfile is pure Python work per package (decode one index line, build the entry,
compare it with the lock) and the GIL keeps threads from sharing it, so on POSIX the second
half runs in a child made by ``os.fork``: it inherits everything already loaded (the cache
bytes, the lockfile model) for free, and sends back only plain data::

    parent                                   child (fork)
    ──────                                   ────────────
    pipe, fork ─────────────────────────────> work(second half)
    work(first half)                          marshal.dumps(result) -> pipe
    read pipe until EOF  <──────────────────  os._exit(0)
    waitpid
    marshal.loads -> result of second half

The answer never depends on the child: if the fork fails, the child raises, dies, or sends
something that does not decode, this process computes the second half itself. What crosses the
pipe is marshal-able (None, bool, int, float, str, bytes, tuple, list, dict, set), which also
keeps pickle's import off the path: work whose results are objects passes a `Codec`, and the
one codec for objects of ``query/`` is `JUDGED`, below (the only place that turns them into
plain data and back). The child leaves through ``os._exit`` (no
atexit handlers, no flushing of the parent's buffered output). Its only I/O besides the pipe
is what its half of the work does (reading cache files; writing downloaded ones, atomically,
under the lock acquisition it shares): if this process is killed, the child finishes that
half and exits, leaving every file old or new, never torn (tests/reliability/test_crash.py).

Serial instead when: no ``os.fork`` (Windows), one usable CPU, fewer than ``min_items`` items,
threads are running (forking a threaded process is unsafe), or ``REGISTRY_JOBS=1``. Used by
``check``, ``validate`` and ``fetch``, where it measured a gain (docs/performance.md: running
serially adds ~4 ms to nushell's check, ~5 ms to its validate, ~150 ms to its cold fetch).
"""

from __future__ import annotations

import gc
import os
import sys

from query import TYPE_CHECKING
from query.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias, TypeVar

    from query.entry import IndexDependency
    from query.nullbuild import FeatureSummary
    from query.verdict import PackageResult

    T = TypeVar("T")
    R = TypeVar("R")

    #: A locked package judged: its position in the lockfile, its result (None: revalidate
    #: and judge again) and the feature summary of its index entry (when asked for).
    Judged: TypeAlias = tuple[int, PackageResult | None, FeatureSummary | None]

JOBS_ENV = "REGISTRY_JOBS"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parallel_allowed(count: int, min_items: int) -> bool:
    """Is forking worth it, and safe, for ``count`` items?"""
    if count < min_items or not hasattr(os, "fork") or os.environ.get(JOBS_ENV) == "1":
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return False
    return _cpus() > 1 and _os_threads() <= 1


def _os_threads() -> int:
    """Threads of this process, those no Python code started included (a library's resolver
    thread, say); 1 where it cannot be told."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


class Codec(Record):
    """How a result crosses the pipe: ``encode`` to marshal-able data, ``decode`` back."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _child(
    work: Callable[[Sequence[T]], R], items: Sequence[T], fd: int, codec: Codec | None
) -> None:
    """Run in the forked child; never returns."""
    import marshal

    code = 1
    try:
        result: Any = work(items)
        payload = marshal.dumps(result if codec is None else codec.encode(result))
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:  # noqa: BLE001 - the parent recomputes; nothing may escape a child
        pass
    finally:
        os._exit(code)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def halves(items: Sequence[T], weight: Callable[[T], int] | None = None) -> tuple[list[T], list[T]]:
    """The first and second half of ``items``; with ``weight``, two parts of near-equal total
    weight instead (heaviest first, each to the lighter part), each keeping the items' order."""
    if weight is None:
        middle = len(items) // 2
        return list(items[:middle]), list(items[middle:])
    weights = [weight(item) for item in items]
    loads = [0, 0]
    second = [False] * len(items)
    for i in sorted(range(len(items)), key=weights.__getitem__, reverse=True):  # stable
        lighter = loads[1] < loads[0]
        second[i] = lighter
        loads[lighter] += weights[i]
    return (
        [item for item, s in zip(items, second, strict=True) if not s],
        [item for item, s in zip(items, second, strict=True) if s],
    )


def split_map(
    work: Callable[[Sequence[T]], R],
    items: Sequence[T],
    *,
    min_items: int = 64,
    weight: Callable[[T], int] | None = None,
    codec: Codec | None = None,
) -> list[R]:
    """``[work(one half), work(the other half)]``, the halves in parallel when allowed (see the
    module docstring); a single ``[work(items)]`` when not. The halves are as `halves` makes
    them: pass ``weight`` when the items' costs differ much (files of very different sizes), and
    ``codec`` when the results are not plain data."""
    if not parallel_allowed(len(items), min_items):
        return [work(items)]
    first, second = halves(items, weight)
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return [work(items)]
    # Objects the child's garbage collector walks get their pages copied (and the walk costs
    # time): the child never collects; the parent's existing objects are hidden from its
    # collector only for the instant of the fork.
    gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        os.close(read_fd)
        os.close(write_fd)
        return [work(items)]
    if pid == 0:  # pragma: no cover - the child leaves through os._exit; tested by its result
        gc.disable()
        os.close(read_fd)
        _child(work, second, write_fd, codec)
    gc.unfreeze()
    os.close(write_fd)
    try:
        here = work(first)
    finally:
        try:
            data = _read_all(read_fd)
        finally:
            os.close(read_fd)
            _, status = os.waitpid(pid, 0)
    return [here, _decode(data, status, work, second, codec)]


def _decode(
    data: bytes,
    status: int,
    work: Callable[[Sequence[T]], R],
    items: Sequence[T],
    codec: Codec | None,
) -> R:
    import marshal

    if os.waitstatus_to_exitcode(status) == 0:
        try:
            value = marshal.loads(data)
            result: R = value if codec is None else codec.decode(value)
            return result
        except (EOFError, ValueError, TypeError, IndexError):
            pass
    return work(items)


# -- the plain-data adapter ------------------------------------------------------------------------


def _encode_judged(rows: list[Judged]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for index, result, summary in rows:
        plain_result = None
        if result is not None:
            problems = tuple((p.code, p.message, p.severity) for p in result.problems)
            plain_result = (
                result.source,
                result.name,
                result.version,
                result.line,
                result.status,
                problems,
            )
        plain_summary = None
        if summary is not None:
            deps = tuple(
                (d.name, d.package_name, d.req, d.optional, d.features, d.default_features)
                for d in summary.deps
            )
            plain_summary = (dict(summary.features), deps)
        out.append((index, plain_result, plain_summary))
    return out


def _decode_judged(rows: list[tuple[Any, Any, Any]]) -> list[Judged]:
    from query.nullbuild import FeatureSummary
    from query.verdict import PackageResult, Problem

    out: list[Judged] = []
    for index, plain_result, plain_summary in rows:
        result = None
        if plain_result is not None:
            source, name, version, line, status, problems = plain_result
            result = PackageResult(
                source, name, version, line, status, tuple(Problem(*p) for p in problems)
            )
        summary = None
        if plain_summary is not None:
            features, deps = plain_summary
            summary = FeatureSummary(features, tuple(_dependency(*d) for d in deps))
        out.append((index, result, summary))
    return out


def _dependency(
    name: str,
    package: str,
    req: str,
    optional: bool,
    features: tuple[str, ...],
    default_features: bool,
) -> IndexDependency:
    """What feature resolution reads of an index dependency, as one again."""
    from query.entry import IndexDependency

    renamed = package if package != name else None
    return IndexDependency(name, req, features, optional, default_features, package=renamed)


#: Judged locked packages (registry/commands/validate.py) across the pipe.
JUDGED = Codec(_encode_judged, _decode_judged)
