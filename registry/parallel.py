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

`split_map` cuts the items in two fixed halves (``check``, ``validate``). `queue_map` lets both
processes take items from one queue as they go (a pipe holding the items' positions, filled
before the fork), so the faster one does more and both finish together (``fetch``'s builds of
downloaded files, where the two halves' times differed by 20-50 ms: docs/performance.md).

The answer never depends on the child: if the fork fails, the child raises, dies, or sends
something that does not decode, this process computes the child's part itself. What crosses the
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
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any, Self, TypeAlias, TypeVar

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


class SharedBytes:
    """A shared anonymous mapping, made before the fork, through which large bytes values of
    the child's result reach the parent: the child copies each in (`put`) and sends its place
    through the pipe, the parent copies it out (`take`). A `Codec` of a result with megabytes
    of bytes uses it (registry/index/loader.py: each file's ``.cache`` bytes): through the pipe
    they would cost marshal's dump and load and two copies through the kernel. Pages are
    allocated as they are written, so a generous capacity costs nothing; a `put` past it
    raises ValueError (the child fails, and the parent does its part itself)."""

    def __init__(self, capacity: int) -> None:
        import mmap

        self._map = mmap.mmap(-1, max(1, capacity))  # MAP_SHARED | MAP_ANONYMOUS
        self._end = 0

    @staticmethod
    def bound(total: int, count: int) -> int:
        """A capacity for ``count`` values of ``total`` bytes of input when each value is at
        most twice its input and 64 bytes (a ``.cache`` file: each line's key is shorter than
        the line, plus a header)."""
        return 2 * total + 64 * count

    def put(self, data: bytes) -> tuple[int, int]:
        """Copy ``data`` in (in the child); its place."""
        start = self._end
        end = start + len(data)
        if end > len(self._map):
            raise ValueError(f"{end} bytes is over the shared capacity of {len(self._map)}")
        self._map[start:end] = data
        self._end = end
        return start, len(data)

    def take(self, place: tuple[int, int]) -> bytes:
        """Copy the value at ``place`` out (in the parent); ValueError for a place that is not
        in the mapping."""
        start, size = place
        if type(start) is not int or type(size) is not int or start < 0 or size < 0:
            raise ValueError(f"not a place: {place!r}")
        if start + size > len(self._map):
            raise ValueError(f"{start + size} bytes is over the shared capacity")
        return self._map[start : start + size]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._map.close()


def _child(compute: Callable[[], Any], fd: int) -> None:
    """Run in the forked child: send ``compute()`` (marshal-able) through ``fd``; never returns."""
    import marshal

    code = 1
    try:
        payload = marshal.dumps((compute(),))
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        code = 0
    except BaseException:  # noqa: BLE001 - the parent recomputes; nothing may escape a child
        pass
    finally:
        os._exit(code)


def _fork(compute: Callable[[], Any]) -> tuple[int, int] | None:
    """A forked child sending ``compute()`` back (`_child`): its pid and the read end of its
    pipe (for `_join`), or None when no pipe or child could be made."""
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
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
        return None
    if pid == 0:  # pragma: no cover - the child leaves through os._exit; tested by its result
        gc.disable()
        os.close(read_fd)
        _child(compute, write_fd)
    gc.unfreeze()
    os.close(write_fd)
    return pid, read_fd


def _join(pid: int, read_fd: int) -> Any:
    """What the child computed, unmarshalled (`_FAILED` when it failed: its exit status, or
    bytes that do not unmarshal), the child reaped."""
    import marshal

    try:
        data = _read_all(read_fd)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return _FAILED
    try:
        (value,) = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return _FAILED
    return value


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
    forked = _fork(lambda: _encoded(work(second), codec))
    if forked is None:
        return [work(items)]
    try:
        here = work(first)
    finally:
        sent = _join(*forked)
    decoded = _decoded(sent, codec)
    return [here, work(second) if decoded is _FAILED else decoded]


#: Most items `queue_map` shares: their positions (two bytes each) fill its queue before the fork.
QUEUE_MAX = 1 << 15


def queue_map(
    work: Callable[[Iterable[T]], R],
    items: Sequence[T],
    *,
    min_items: int = 64,
    weight: Callable[[T], int] | None = None,
    codec: Codec | None = None,
) -> list[R]:
    """``work`` run by this process and a forked child at once, each over the items it takes
    from a queue they share, one at a time as it goes (heaviest first with ``weight``): both
    finish within about one item of each other, whatever each one's speed (a child copies each
    page it first writes to, and runs slower for it: `split_map`'s fixed halves wait for the
    slower one). The queue is a pipe holding the items' positions, filled before the fork; each
    process reads one position at a time (two bytes: a pipe read of them is whole).

    Returns this process's result and the child's; if the child failed, the second result is
    for the items the child had taken, done here (as `split_map` redoes a failed half). A
    single ``[work(items)]`` when not parallel (as `split_map`). Over `QUEUE_MAX` items, or
    when the queue cannot be filled, it is `split_map`."""
    count = len(items)
    if not parallel_allowed(count, min_items):
        return [work(items)]
    order: Iterable[int] = range(count)
    if weight is not None:
        weights = [weight(item) for item in items]
        order = sorted(order, key=weights.__getitem__, reverse=True)
    queue = _filled_queue(order) if count <= QUEUE_MAX else None
    if queue is None:
        return split_map(work, items, min_items=min_items, weight=weight, codec=codec)
    mine: list[int] = []
    try:
        theirs: list[int] = []
        forked = _fork(lambda: _encoded(work(_taken(queue, items, theirs)), codec))
        if forked is None:
            return [work(_taken(queue, items, mine))]
        try:
            here = work(_taken(queue, items, mine))
        finally:
            sent = _join(*forked)
    finally:
        os.close(queue)
    decoded = _decoded(sent, codec)
    if decoded is not _FAILED:
        return [here, decoded]
    left = set(range(count)).difference(mine)
    return [here, work([items[i] for i in sorted(left)])]


def _filled_queue(order: Iterable[int]) -> int | None:
    """The read end of a pipe holding ``order`` (two bytes a position), its write end closed
    (reading past the last position is the end); None when the pipe cannot be made or cannot
    hold it all without blocking (nothing reads it yet)."""
    data = b"".join(position.to_bytes(2, "little") for position in order)
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    try:
        os.set_blocking(write_fd, False)
        written = os.write(write_fd, data)
    except OSError:  # BlockingIOError: a pipe smaller than the data
        written = -1
    finally:
        os.close(write_fd)
    if written != len(data):
        os.close(read_fd)
        return None
    return read_fd


def _taken(queue: int, items: Sequence[T], positions: list[int]) -> Iterator[T]:
    """The items this process takes from ``queue``, their positions recorded in ``positions``,
    until it is empty (or unreadable: the parent does what is left at the end)."""
    while True:
        try:
            got = os.read(queue, 2)
        except OSError:
            return
        if len(got) != 2:
            return
        position = int.from_bytes(got, "little")
        positions.append(position)
        yield items[position]


#: `_decoded` of a child that failed.
_FAILED: Any = object()


def _encoded(result: object, codec: Codec | None) -> object:
    return result if codec is None else codec.encode(result)


def _decoded(sent: object, codec: Codec | None) -> Any:
    """The child's result from what `_join` gave, or `_FAILED` when it failed or does not
    decode."""
    if sent is _FAILED or codec is None:
        return sent
    try:
        return codec.decode(sent)
    except (EOFError, ValueError, TypeError, IndexError, KeyError):
        return _FAILED


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
