"""registry.parallel: half the work in a forked child, never an answer that depends on it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from query.names import index_path
from registry import parallel
from registry.parallel import JOBS_ENV, parallel_allowed, split_map
from tests.checkutil import INDEX, PROJECTS, count_forks, lock_packages
from tests.httpserver import IndexServer

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


@pytest.fixture(autouse=True)
def _two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.delenv(JOBS_ENV, raising=False)


def _squares_with_pid(items: Sequence[int]) -> tuple[int, list[int]]:
    return os.getpid(), [i * i for i in items]


def test_halves_run_in_two_processes_and_keep_order() -> None:
    items = list(range(101))
    (pid_a, first), (pid_b, second) = split_map(_squares_with_pid, items, min_items=2)
    assert pid_a == os.getpid()
    assert pid_b != os.getpid()  # computed by the child
    assert first + second == [i * i for i in items]


@pytest.mark.parametrize(
    ("weights", "first", "second"),
    [
        ([], [], []),
        ([5], [5], []),
        ([1, 1, 1, 1], [1, 1], [1, 1]),
        # one large file and many small ones: by count the halves would be 103 vs 3
        ([100, 1, 1, 1, 1, 1, 1], [100], [1, 1, 1, 1, 1, 1]),
        ([3, 9, 4, 8, 5, 7], [9, 4, 5], [3, 8, 7]),  # 18 and 18
    ],
)
def test_halves_by_weight_balance_and_keep_order(
    weights: list[int], first: list[int], second: list[int]
) -> None:
    assert parallel.halves(weights, weight=lambda w: w) == (first, second)


def test_halves_without_weight_split_in_the_middle() -> None:
    assert parallel.halves([1, 2, 3, 4, 5]) == ([1, 2], [3, 4, 5])


def test_weighted_split_map_covers_every_item_once() -> None:
    items = [(i, 1000 if i % 10 == 0 else 1) for i in range(60)]
    (_, a), (pid, b) = split_map(
        lambda part: (os.getpid(), [i for i, _ in part]),
        items,
        min_items=2,
        weight=lambda item: item[1],
    )
    assert pid != os.getpid()
    assert sorted(a + b) == list(range(60))
    assert a == sorted(a) and b == sorted(b)


def test_rich_plain_data_crosses_the_pipe() -> None:
    def work(items: Sequence[int]) -> list[tuple[object, ...]]:
        return [(i, None, True, "é" * i, {"k": (b"\0", 1.5)}) for i in items]

    halves = split_map(work, list(range(2000)), min_items=2)
    assert len(halves) == 2
    assert [row for half in halves for row in half] == work(range(2000))


def test_a_large_result_does_not_deadlock_the_pipe() -> None:
    def work(items: Sequence[int]) -> list[bytes]:
        return [bytes(4096) for _ in items]

    halves = split_map(work, list(range(1000)), min_items=2)
    assert sum(len(half) for half in halves) == 1000


@pytest.mark.parametrize("failure", ["raise", "exit", "unmarshalable"])
def test_a_failing_child_is_recomputed_here(failure: str) -> None:
    parent = os.getpid()

    def work(items: Sequence[int]) -> tuple[int, list[int]] | object:
        if os.getpid() != parent:
            if failure == "raise":
                raise RuntimeError("boom")
            if failure == "exit":
                os._exit(7)
            return object()  # marshal refuses it
        return os.getpid(), list(items)

    halves = split_map(work, list(range(10)), min_items=2)
    assert halves == [(parent, [0, 1, 2, 3, 4]), (parent, [5, 6, 7, 8, 9])]


def test_a_failing_parent_half_still_reaps_the_child() -> None:
    parent = os.getpid()

    def work(items: Sequence[int]) -> list[int]:
        if os.getpid() == parent:
            raise ValueError("parent half")
        return list(items)

    with pytest.raises(ValueError, match="parent half"):
        split_map(work, list(range(10)), min_items=2)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind


@pytest.mark.parametrize(
    ("count", "min_items", "env", "expected"),
    [
        (100, 64, None, True),
        (63, 64, None, False),
        (100, 64, "1", False),
        (100, 64, "2", True),
    ],
)
def test_when_parallel_is_allowed(
    monkeypatch: pytest.MonkeyPatch, count: int, min_items: int, env: str | None, expected: bool
) -> None:
    if env is not None:
        monkeypatch.setenv(JOBS_ENV, env)
    assert parallel_allowed(count, min_items) is expected


def test_serial_with_one_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_cpus", lambda: 1)
    assert split_map(_squares_with_pid, [1, 2, 3], min_items=1) == [(os.getpid(), [1, 4, 9])]


def test_serial_while_threads_run() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert "threading" in sys.modules
        assert not parallel_allowed(1000, 1)
        assert split_map(_squares_with_pid, [2], min_items=1) == [(os.getpid(), [4])]
    finally:
        release.set()
        thread.join()


def test_serial_when_fork_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("fork: Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert split_map(_squares_with_pid, [1, 2], min_items=1) == [(os.getpid(), [1, 4])]


def _registry_names(project: str) -> list[str]:
    packages = lock_packages(PROJECTS / project / "Cargo.lock")
    return sorted({p["name"] for p in packages if "source" in p})


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "fingerprints" not in p.parts
    }


def test_cold_fetch_builds_and_writes_in_two_processes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A cold fetch of nushell's 295 index files: half built and written by a forked child,
    the same bytes and integrity records as a serial fetch, every entry readable."""
    from cache.integrity import VERIFIED, check
    from registry.api import Registry

    names = _registry_names("nushell")
    forks = count_forks(monkeypatch)
    # the test server's thread would make it serial; the child touches nothing of it
    monkeypatch.setattr(parallel, "parallel_allowed", lambda count, least: count >= least)
    with IndexServer(INDEX) as server:
        url = "sparse+" + server.url
        with Registry(url, tmp_path / "forked") as reg:
            report = reg.fetch(names)
        assert forks
        assert report.downloaded == len(names) and not report.errors
        forks.clear()
        monkeypatch.setattr(parallel, "parallel_allowed", lambda count, least: False)
        with Registry(url, tmp_path / "serial") as reg:
            reg.fetch(names)
        assert not forks
    forked, serial = _tree_bytes(tmp_path / "forked"), _tree_bytes(tmp_path / "serial")
    assert forked == serial
    assert sum(".cache" in rel for rel in forked) == len(names)
    with Registry(url, tmp_path / "forked", offline=True) as reg:
        for rel in (index_path(name) for name in names):
            found = reg.store.read_with_record(rel)
            assert found is not None
            assert check(*found) == VERIFIED, rel


def test_a_child_that_dies_while_writing_leaves_a_complete_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The child is killed before it writes anything: this process builds and writes its
    half too, so every entry is there and verified."""
    from cache.integrity import VERIFIED, check
    from cache.store import IndexStore
    from registry.api import Registry

    parent = os.getpid()
    real_write_many = IndexStore.write_many

    def dying_write_many(self: IndexStore, *args: object, **kwargs: object) -> list[str]:
        if os.getpid() != parent:
            os._exit(9)
        return real_write_many(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(IndexStore, "write_many", dying_write_many)
    monkeypatch.setattr(parallel, "parallel_allowed", lambda count, least: count >= least)
    names = _registry_names("ripgrep")
    with IndexServer(INDEX) as server, Registry("sparse+" + server.url, tmp_path) as reg:
        report = reg.fetch(names)
        assert report.downloaded == len(names) and not report.errors
        for name in names:
            found = reg.store.read_with_record(index_path(name))
            assert found is not None and check(*found) == VERIFIED
