"""Helpers shared by the reliability tests: running the CLI as a subprocess, checking its one-line
errors, snapshotting a directory tree, and locating cache files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cache.dirhash import source_dir_name
from query.names import index_path
from registry.config.index_url import parse_index_url

REPO = Path(__file__).resolve().parents[2]
FIXTURE_INDEX = REPO / "tests" / "fixtures" / "index"

#: Variables that would change what the CLI does; the subprocess never inherits them.
_SCRUBBED_PREFIXES = ("REGISTRY_", "CARGO_", "__CARGO")
_SCRUBBED = frozenset(
    {
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
        "XDG_CACHE_HOME",
        "HOME",
        # what cargo's configuration reads (registry/config/settings.py)
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_TIMEOUT",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
    }
)


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes
    stderr_bytes: bytes
    maxrss_kib: int

    @property
    def output(self) -> bytes:
        return self.stdout_bytes + self.stderr_bytes


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no proxy, no REGISTRY_*/CARGO_* from the machine, HOME and
    CARGO_HOME under ``home``, XDG cache under ``home``, retry sleeps of 0 ms."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)
    }
    env["HOME"] = str(home)
    env["CARGO_HOME"] = str(home / ".cargo")
    env["XDG_CACHE_HOME"] = str(home / ".xdg-cache")
    env["REGISTRY_RETRY_SLEEP_MS"] = "0"
    env["PYTHONPATH"] = str(REPO)
    env.pop("PYTHONWARNINGS", None)
    if extra:
        env.update(extra)
    return env


def run_cli(
    args: Iterable[str],
    *,
    home: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    stdin: int | None = None,
) -> CliResult:
    """``python -m registry ARGS`` in a clean environment; exit code, output and peak RSS.
    ``stdin``: a file descriptor for its standard input (default: /dev/null).

    Peak RSS (KiB): Linux carries a process's RSS high-water mark across fork+exec, so a child
    of this (possibly large) pytest process would report at least pytest's own size. The CLI is
    therefore started by a small wrapper process that reaps it with ``os.wait4`` and reports
    the CLI's own ``ru_maxrss``.
    """
    home.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as rss,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-c", _RSS_WRAPPER, str(rss.fileno()), *args],
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=out,
            stderr=err,
            cwd=str(cwd or home),
            env=cli_env(home, env),
            pass_fds=(rss.fileno(),),
            start_new_session=True,
        )

        def kill() -> None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)

        # A safety net, not a wait: a hung child is killed and the test then fails on its code.
        killer = threading.Timer(timeout, kill)
        killer.start()
        try:
            proc.wait()
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            killer.cancel()
        out.seek(0)
        err.seek(0)
        rss.seek(0)
        stdout_bytes, stderr_bytes = out.read(), err.read()
        maxrss = int(rss.read() or b"-1")
    return CliResult(
        proc.returncode,
        stdout_bytes.decode("utf-8", "replace"),
        stderr_bytes.decode("utf-8", "replace"),
        stdout_bytes,
        stderr_bytes,
        maxrss,
    )


def start_cli(
    args: Iterable[str], *, home: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """``python -m registry ARGS`` started in a clean environment (see `cli_env`), its stdout
    and stderr as text pipes: for tests that react to what it prints while it runs."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "registry", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(home),
        env=cli_env(home, env),
        start_new_session=True,
    )


#: What cargo does with the package-cache lock: flock(LOCK_EX), then hold it until stdin closes.
_HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def lock_held_elsewhere(cache: Path) -> Iterator[Callable[[], None]]:
    """Another process (as cargo would) holds ``<cache>/.package-cache`` until the yielded
    ``release()`` is called, or the block ends."""
    cache.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(cache / ".package-cache")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "locked\n"

    def release() -> None:
        if holder.stdin is not None and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait()

    try:
        yield release
    finally:
        if holder.poll() is None:
            holder.kill()
        release()


#: ``python -c`` body: run ``python -m registry ARGS`` (posix_spawn, from this small process),
#: reap it, write its peak RSS to the fd in argv[1], exit with its exit code.
_RSS_WRAPPER = """
import os, sys
fd = int(sys.argv[1])
argv = [sys.executable, "-m", "registry", *sys.argv[2:]]
pid = os.posix_spawn(sys.executable, argv, os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def assert_one_error_line(result: CliResult, *needles: str, code: int | None = None) -> str:
    """stderr is exactly one line, ``error: ...``, containing every needle; no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{result.stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    if code is not None:
        assert result.code == code, (result.code, result.stderr)
    return line


def cache_dir_of(cache: Path, index_url: str) -> Path:
    """``<cache>/registry/index/<host>-<hash>`` of an index URL (sparse or local)."""
    source = parse_index_url(index_url)
    return cache / "registry" / "index" / source.dir_name


def cache_file_of(cache: Path, index_url: str, name: str) -> Path:
    return cache_dir_of(cache, index_url) / ".cache" / index_path(name)


def sparse_dir_name(server_url: str) -> str:
    return source_dir_name("sparse+" + server_url)


Snapshot = dict[str, tuple[str, int, int]]


def snapshot(root: Path, *, exclude: Iterable[Path] = ()) -> Snapshot:
    """Every path under ``root`` (``exclude``d subtrees aside): kind, size and mtime_ns."""
    skipped = {os.path.normpath(p) for p in exclude}
    found: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if os.path.normpath(os.path.join(dirpath, d)) not in skipped
        ]
        for name in (*dirnames, *filenames):
            path = os.path.join(dirpath, name)
            if os.path.normpath(path) in skipped:
                continue
            st = os.lstat(path)
            kind = "d" if os.path.isdir(path) else "f"
            # A directory's size and mtime change when an entry is added or removed in it.
            found[os.path.relpath(path, root)] = (kind, st.st_size, st.st_mtime_ns)
    return found


def assert_same_tree(before: Snapshot, after: Snapshot) -> None:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    assert not (added or removed or changed), (
        f"written outside the cache dir: added={added} removed={removed} changed={changed}"
    )


def all_bytes_under(root: Path) -> Iterable[tuple[Path, bytes]]:
    """(path, content) of every regular file under ``root``, plus each path's own name."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            yield path, os.fsencode(path)
            if name in filenames and path.is_file() and not path.is_symlink():
                yield path, path.read_bytes()
