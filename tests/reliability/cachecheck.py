"""Helpers for the concurrency, cargo, crash and unwritable-cache tests: starting the CLI as a
subprocess (many at once), reading every `.cache` file of a cache root, finding temp files, and
building known-good reference caches with a clean sequential run."""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cache.atomic import is_temp_name
from cache.format import CacheFormatError, parse
from tests.reliability.support import REPO, cli_env

RIPGREP = REPO / "tests" / "fixtures" / "projects" / "ripgrep"
RIPGREP_LOCK = RIPGREP / "Cargo.lock"

#: Every subprocess is killed after this long: a safety net against hangs, never a wait.
HANG_LIMIT = 120.0


def registry_argv(server_url: str, cache_dir: Path, *args: str) -> list[str]:
    """``python -m registry --index-url sparse+URL --cache-dir DIR ARGS``."""
    return [
        sys.executable,
        "-m",
        "registry",
        "--index-url",
        "sparse+" + server_url,
        "--cache-dir",
        str(cache_dir),
        *args,
    ]


@dataclass(frozen=True)
class Finished:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"{' '.join(self.argv[3:])}\n  exit {self.code}\n  stderr: {self.stderr!r}"


Popen = subprocess.Popen[str]


def start(argv: Sequence[str], home: Path, *, stdin: int | None = subprocess.DEVNULL) -> Popen:
    """Start ``argv`` (stdout/stderr piped) in a clean environment (tests/reliability/support)."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(REPO),
        env=cli_env(home),
        text=True,
    )


def finish(proc: Popen) -> Finished:
    """Wait for ``proc`` (killed after `HANG_LIMIT`) and collect its output."""
    try:
        out, err = proc.communicate(timeout=HANG_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += f"\n[killed: still running after {HANG_LIMIT:g} s]"
    return Finished(tuple(str(a) for a in proc.args), proc.returncode, out, err)  # type: ignore[union-attr]


def run_all(argvs: Iterable[Sequence[str]], home: Path) -> list[Finished]:
    """Start every command at once, then wait for all of them."""
    procs = [start(argv, home) for argv in argvs]
    return [finish(proc) for proc in procs]


def run_one(argv: Sequence[str], home: Path) -> Finished:
    return finish(start(argv, home))


def cache_files(cache_root: Path) -> dict[str, bytes]:
    """Every regular file under ``<cache_root>/registry/index/*/.cache`` (temp files aside),
    by path relative to ``cache_root``."""
    found: dict[str, bytes] = {}
    index = cache_root / "registry" / "index"
    for dirpath, _dirnames, filenames in os.walk(index):
        if f"{os.sep}.cache" not in dirpath:
            continue
        for name in filenames:
            if is_temp_name(name):
                continue
            path = Path(dirpath) / name
            try:
                found[str(path.relative_to(cache_root))] = path.read_bytes()
            except FileNotFoundError:  # only while another process cleans; callers don't race
                continue
    return found


def temp_files(cache_root: Path) -> list[Path]:
    """Leftover temp files (cache/atomic.py naming) anywhere under ``cache_root``."""
    return sorted(
        Path(dirpath) / name
        for dirpath, _dirnames, filenames in os.walk(cache_root)
        for name in filenames
        if is_temp_name(name)
    )


def assert_parses(files: dict[str, bytes]) -> None:
    for path, data in files.items():
        try:
            parse(data)
        except CacheFormatError as exc:
            raise AssertionError(f"{path} does not parse: {exc}") from None


#: What a run prints when it finds the package-cache lock held (cargo's own words): the only
#: stderr line a successful run may have while others use the cache.
WAITING = "Blocking waiting for file lock on package cache "


def assert_quiet_success(results: Iterable[Finished]) -> None:
    """Exit 0, and nothing on stderr (no traceback, no warning, no error) for each, but the
    line saying it waited for the package-cache lock."""
    bad = [
        r
        for r in results
        if r.code != 0
        or any(not line.startswith(WAITING) for line in r.stderr.strip().splitlines())
    ]
    assert not bad, "\n".join(r.describe() for r in bad)


def reference_cache(
    server_url: str, commands: Iterable[Sequence[str]], work: Path
) -> dict[str, bytes]:
    """The `.cache` files after running ``commands`` one after the other on a fresh cache."""
    cache = work / "reference-cache"
    shutil.rmtree(cache, ignore_errors=True)
    for args in commands:
        result = run_one(registry_argv(server_url, cache, *args), work / "home")
        assert result.code == 0 and not result.stderr, result.describe()
    files = cache_files(cache)
    assert files, "the reference run cached nothing"
    assert_parses(files)
    return files


class LineWaiter:
    """Reads a pipe in a thread so that a test can wait for a given line with a deadline."""

    def __init__(self, stream: object) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, needle: str, deadline: float = 60.0) -> bool:
        """True once a line containing ``needle`` arrives; False at EOF or after ``deadline``."""
        while True:
            try:
                line = self._lines.get(timeout=deadline)
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
            if needle in line:
                return True

    def rest(self) -> str:
        self._thread.join(timeout=HANG_LIMIT)
        while not self._lines.empty():
            line = self._lines.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


def poll_until(condition: Callable[[], bool], deadline: float = 60.0) -> bool:
    """Check ``condition`` until it holds (True) or ``deadline`` seconds pass (False).

    A condition wait, not a sleep: it returns as soon as the condition is observed.
    """
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


class HeldLock:
    """``flock(LOCK_EX)`` on ``<cache_root>/.package-cache`` from the test process, like cargo."""

    def __init__(self, cache_root: Path) -> None:
        cache_root.mkdir(parents=True, exist_ok=True)
        self.path = os.path.realpath(cache_root / ".package-cache")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1
