"""cache/lock.py: our lock and cargo's ``flock(LOCK_EX)`` on ``.package-cache`` exclude each
other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cache.lock import LOCK_FILE_NAME, CacheLockTimeout, package_cache_lock

if TYPE_CHECKING:
    from collections.abc import Iterator

# What cargo does: open (create) the file and flock it exclusively.
CARGO_LIKE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
if sys.argv[2] == "hold":
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.read()  # hold until the parent closes our stdin
else:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("busy")
    else:
        print("acquired")
"""


@pytest.fixture
def cargo_holding(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding flock(LOCK_EX) on <tmp_path>/.package-cache."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CARGO_LIKE, str(tmp_path / LOCK_FILE_NAME), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "locked\n"
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


def cargo_try(path: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CARGO_LIKE, str(path), "try"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


@pytest.mark.parametrize("timeout", [0, 0.2])
def test_cargo_holding_makes_us_time_out(
    tmp_path: Path, cargo_holding: subprocess.Popen[str], timeout: float
) -> None:
    with pytest.raises(CacheLockTimeout) as info, package_cache_lock(tmp_path, timeout=timeout):
        pytest.fail("acquired a lock cargo holds")
    assert str(tmp_path / LOCK_FILE_NAME) in str(info.value)
    assert isinstance(info.value, OSError)


def test_we_wait_for_cargo(tmp_path: Path, cargo_holding: subprocess.Popen[str]) -> None:
    acquired = threading.Event()
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            with package_cache_lock(tmp_path, timeout=60):
                acquired.set()
        except OSError as exc:  # reported to the main thread
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not acquired.wait(0.3)  # still blocked while cargo holds the lock
    release(cargo_holding)
    thread.join(60)
    assert not errors
    assert acquired.is_set()


def test_a_wait_is_said_at_once(tmp_path: Path, cargo_holding: subprocess.Popen[str]) -> None:
    """Like cargo: one line as soon as the lock is found held, before the wait (the waiter
    gets it while cargo still holds the lock), then the lock once cargo lets go."""
    said: list[str] = []
    told = threading.Event()
    acquired = threading.Event()

    def on_wait(message: str) -> None:
        said.append(message)
        told.set()

    def waiter() -> None:
        with package_cache_lock(tmp_path, timeout=60, on_wait=on_wait):
            acquired.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    try:
        assert told.wait(60)
        assert not acquired.is_set()  # still waiting: cargo holds it
    finally:
        release(cargo_holding)
        thread.join(60)
    assert acquired.is_set()
    [message] = said
    assert message.startswith("Blocking waiting for file lock on package cache ")
    assert str(tmp_path / LOCK_FILE_NAME) in message
    assert "up to 60 s" in message


def test_a_free_lock_says_nothing(tmp_path: Path) -> None:
    said: list[str] = []
    with package_cache_lock(tmp_path, timeout=60, on_wait=said.append):
        pass
    assert said == []


def test_cargo_cannot_lock_while_we_hold(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE_NAME
    with package_cache_lock(tmp_path) as held:
        assert held == str(path)
        assert cargo_try(path) == "busy"
    assert cargo_try(path) == "acquired"


def test_lock_file_is_kept_and_root_created(tmp_path: Path) -> None:
    root = tmp_path / "new" / "cache"
    with package_cache_lock(root):
        inode = (root / LOCK_FILE_NAME).stat().st_ino
    assert (root / LOCK_FILE_NAME).stat().st_ino == inode
    with package_cache_lock(root):
        assert (root / LOCK_FILE_NAME).stat().st_ino == inode


def test_released_after_exception(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), package_cache_lock(tmp_path):
        raise RuntimeError("boom")
    assert cargo_try(tmp_path / LOCK_FILE_NAME) == "acquired"


def test_same_object_is_not_reentrant(tmp_path: Path) -> None:
    lock = package_cache_lock(tmp_path)
    with lock, pytest.raises(RuntimeError, match="already held"), lock:
        pass


def test_filelock_is_imported_lazily() -> None:
    code = (
        "import sys, cache.lock, cache.store, cache.format, cache.dirhash, cache.freshness\n"
        "assert 'filelock' not in sys.modules, 'filelock imported eagerly'\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
