"""D. A cache that cannot be written (read-only file system, full disk, not a directory): every
command still answers from the network, exits 0, and warns exactly once.

Root ignores file modes, so read-only and full disk are simulated in-process by making the cache
writes fail (``os.replace`` / ``write_atomic`` raising EROFS, ``os.write`` raising ENOSPC, the
package-cache lock file not creatable); the real variant runs the CLI as a subprocess with a cache
directory whose parent is a regular file, so every ``mkdir`` / ``open`` fails with ENOTDIR.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import cache.atomic
import cache.freshness
import cache.lock
import cache.store
from registry.__main__ import main as registry_main
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import (
    RIPGREP,
    RIPGREP_LOCK,
    assert_parses,
    cache_files,
    registry_argv,
    run_one,
    temp_files,
)
from tests.reliability.support import FIXTURE_INDEX

COMMANDS: dict[str, tuple[str, ...]] = {
    "query-exact": ("query", "serde==1.0.102"),
    "query-req": ("query", "serde@^1.0"),
    "versions": ("versions", "fnv"),
    "fetch": ("fetch", "--lockfile", str(RIPGREP_LOCK)),
    "validate": ("validate", str(RIPGREP_LOCK)),
    "check": ("check", "--manifest-path", str(RIPGREP / "Cargo.toml")),
}

_TIMING = re.compile(r"\(\d+\.\d+ s\)")


def normalized(stdout: str) -> str:
    return _TIMING.sub("(T s)", stdout)


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    with IndexServer(FIXTURE_INDEX) as srv:
        yield srv


def in_process(
    server: IndexServer, cache: Path, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = registry_main(["--index-url", "sparse+" + server.url, "--cache-dir", str(cache), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def expected(server: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """stdout of each command on a writable cache (subprocess, fresh cache each)."""
    work = tmp_path_factory.mktemp("expected")
    out = {}
    for key, args in COMMANDS.items():
        result = run_one(registry_argv(server.url, work / key, *args), work / "home")
        assert result.code == 0 and not result.stderr, result.describe()
        out[key] = normalized(result.stdout)
    return out


def _raiser(code: int) -> Callable[..., Any]:
    def fail(*_args: object, **_kwargs: object) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


def _os_with(**overrides: Callable[..., Any]) -> SimpleNamespace:
    """The ``os`` module as cache/atomic.py sees it, with some functions failing."""
    namespace = SimpleNamespace(**{name: getattr(os, name) for name in dir(os)})
    for name, fn in overrides.items():
        setattr(namespace, name, fn)
    return namespace


def fault_replace_erofs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache.atomic, "os", _os_with(replace=_raiser(errno.EROFS)))


def fault_write_atomic_erofs(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = _raiser(errno.EROFS)
    for module in (cache.atomic, cache.store, cache.freshness):
        monkeypatch.setattr(module, "write_atomic", failing)


def fault_write_enospc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache.atomic, "os", _os_with(write=_raiser(errno.ENOSPC)))


def fault_lock_erofs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only file system: the lock file cannot be created, nor anything else."""
    monkeypatch.setattr(cache.lock.PackageCacheLock, "__enter__", _raiser(errno.EROFS))
    fault_write_atomic_erofs(monkeypatch)


FAULTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "replace-EROFS": (fault_replace_erofs, os.strerror(errno.EROFS)),
    "write_atomic-EROFS": (fault_write_atomic_erofs, os.strerror(errno.EROFS)),
    "write-ENOSPC": (fault_write_enospc, os.strerror(errno.ENOSPC)),
    "lock-EROFS": (fault_lock_erofs, os.strerror(errno.EROFS)),
}


def assert_one_warning(stderr: str, reason: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one warning line, got:\n{stderr}"
    assert lines[0].startswith("warning: "), lines[0]
    assert reason in lines[0], lines[0]


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_unwritable_cache_still_answers_and_warns_once(
    server: IndexServer,
    expected: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    command: str,
) -> None:
    for name in [n for n in os.environ if n.startswith("REGISTRY_")]:
        monkeypatch.delenv(name)
    inject, reason = FAULTS[fault]
    inject(monkeypatch)
    cache = tmp_path / "cache"
    code, out, err = in_process(server, cache, COMMANDS[command], capsys)
    assert code == 0, err
    assert normalized(out) == expected[command]
    assert_one_warning(err, reason)
    # Nothing half-written is left behind.
    assert not temp_files(cache)
    assert_parses(cache_files(cache))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cache_dir_under_a_file_answers_from_the_network(
    server: IndexServer, expected: dict[str, str], tmp_path: Path, command: str
) -> None:
    """Real failures, in a subprocess: the cache dir's parent is a regular file (ENOTDIR)."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache's parent directory should be\n")
    result = run_one(
        registry_argv(server.url, blocker / "cache", *COMMANDS[command]), tmp_path / "home"
    )
    assert result.code == 0, result.describe()
    assert normalized(result.stdout) == expected[command]
    assert_one_warning(result.stderr, os.strerror(errno.ENOTDIR))
    assert blocker.read_text().startswith("a file")
