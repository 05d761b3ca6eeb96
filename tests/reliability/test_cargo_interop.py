"""B. cargo and `registry` on the same CARGO_HOME at the same time.

* ``cargo update --workspace --locked`` (source replacement to the test server) runs while
  ``registry --cache-dir $CARGO_HOME fetch --lockfile`` and ``validate`` run: all exit 0, and the
  `.cache` files are byte-identical to the reference (which cargo alone and registry alone both
  produce), several rounds, cold and warm.
* A cargo-like holder of ``$CARGO_HOME/.package-cache`` (``flock(LOCK_EX)`` from this process)
  makes a registry write wait: the file is not written while the lock is held, and is once it is
  released. To know *when* the registry process has reached its write without sleeping, it runs
  with a tiny hook that prints one line to stderr right before it asks for the lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.format import parse
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import (
    HANG_LIMIT,
    RIPGREP,
    WAITING,
    HeldLock,
    LineWaiter,
    assert_parses,
    assert_quiet_success,
    cache_files,
    finish,
    reference_cache,
    registry_argv,
    start,
    temp_files,
)
from tests.reliability.support import FIXTURE_INDEX, cli_env

LOCK_ARGS = ("--lockfile", str(RIPGREP / "Cargo.lock"))
ROUNDS = 4  # rounds 0-2 on a fresh CARGO_HOME, round 3 on round 2's (warm: revalidation)
SERDE = "se/rd/serde"

#: Runs the CLI like ``python -m registry``, announcing each package-cache lock request.
HOOK = """\
import sys
import cache.lock

_enter = cache.lock.PackageCacheLock.__enter__

def _announced(self):
    print("hook: taking the package cache lock", file=sys.stderr, flush=True)
    return _enter(self)

cache.lock.PackageCacheLock.__enter__ = _announced
from registry.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def cargo_binary() -> str:
    path = shutil.which("cargo")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: the interop tests must run")
        pytest.skip("cargo is not installed (set CI=1 to make this a failure)")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    with IndexServer(FIXTURE_INDEX) as srv:
        yield srv


def cargo_home(path: Path, index_url: str) -> Path:
    """A CARGO_HOME whose config replaces crates.io with the sparse index at ``index_url``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(
        "[source.crates-io]\n"
        'replace-with = "local-sparse"\n'
        "[source.local-sparse]\n"
        f'registry = "sparse+{index_url}"\n'
    )
    return path


def cargo_update_locked(index_url: str, home: Path, project: Path) -> dict[str, bytes]:
    """``cargo update --workspace --locked`` of ``project`` with crates.io replaced by the
    sparse index at ``index_url`` (`cargo_home`); the cache cargo wrote."""
    done = subprocess.run(
        [cargo_binary(), "update", "--workspace", "--locked"],
        check=False,
        cwd=project,
        env=cargo_env(cargo_home(home, index_url)),
        capture_output=True,
        text=True,
        timeout=HANG_LIMIT,
    )
    assert done.returncode == 0, done.stderr
    return cache_files(home)


def cargo_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARGO_", "REGISTRY_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(CARGO_HOME=str(home), CARGO_TERM_COLOR="never", CARGO_HTTP_MULTIPLEXING="false")
    return env


def start_cargo(cargo: str, project: Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [cargo, "update", "--workspace", "--locked"],
        cwd=project,
        env=cargo_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def copy_project(dest: Path) -> Path:
    shutil.copytree(RIPGREP, dest, ignore=shutil.ignore_patterns("Cargo.lock.*"))
    return dest


@pytest.fixture(scope="module")
def registry_reference(
    server: IndexServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """The `.cache` files of ``registry fetch --lockfile`` alone on a fresh cache."""
    work = tmp_path_factory.mktemp("registry-reference")
    return reference_cache(server.url, [("fetch", *LOCK_ARGS)], work)


@pytest.fixture(scope="module")
def reference(
    server: IndexServer,
    registry_reference: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, bytes]:
    """cargo alone on a fresh CARGO_HOME makes the same files as registry alone."""
    cargo = cargo_binary()
    work = tmp_path_factory.mktemp("interop-reference")
    ours = registry_reference
    home = cargo_home(work / "cargo-home", server.url)
    project = copy_project(work / "ripgrep")
    proc = start_cargo(cargo, project, home)
    _out, err = proc.communicate(timeout=HANG_LIMIT)
    assert proc.returncode == 0, err
    assert cache_files(home) == ours, "cargo alone and registry alone cache different bytes"
    return ours


@pytest.mark.cargo
def test_cargo_and_registry_at_once_on_one_cargo_home(
    server: IndexServer, reference: dict[str, bytes], tmp_path: Path
) -> None:
    cargo = cargo_binary()
    config = (FIXTURE_INDEX / "config.json").read_bytes()
    lock_before = (RIPGREP / "Cargo.lock").read_bytes()
    home = tmp_path / "home-0"
    for round_no in range(ROUNDS):
        if round_no < 3:
            home = cargo_home(tmp_path / f"home-{round_no}", server.url)
        project = copy_project(tmp_path / f"ripgrep-{round_no}")
        procs = [
            start_cargo(cargo, project, home),
            start(registry_argv(server.url, home, "fetch", *LOCK_ARGS), tmp_path / "user"),
            start(registry_argv(server.url, home, "validate", *LOCK_ARGS[1:]), tmp_path / "user"),
        ]
        cargo_done, *ours = [finish(proc) for proc in procs]
        assert cargo_done.code == 0, cargo_done.stderr
        assert "error" not in cargo_done.stderr.lower(), cargo_done.stderr
        assert "warning" not in cargo_done.stderr.lower(), cargo_done.stderr
        assert_quiet_success(ours)
        assert "sound" in ours[1].stdout, ours[1].stdout
        assert (project / "Cargo.lock").read_bytes() == lock_before
        files = cache_files(home)
        assert_parses(files)
        assert files.keys() == reference.keys(), sorted(files.keys() ^ reference.keys())[:5]
        differ = sorted(path for path in files if files[path] != reference[path])
        assert not differ, f"round {round_no}: differ from the reference: {differ[:5]}"
        (index_dir,) = {Path(path).parts[2] for path in files}
        assert (home / "registry" / "index" / index_dir / "config.json").read_bytes() == config
        assert not temp_files(home)


# --- a held package-cache lock makes registry writes wait -------------------------------------


def start_hooked(
    server: IndexServer, cache: Path, home: Path, *args: str
) -> tuple[subprocess.Popen[str], LineWaiter, Path]:
    """The hooked CLI; its stderr is read line by line, its stdout goes to a file."""
    argv = registry_argv(server.url, cache, *args)
    argv[1:3] = ["-c", HOOK]  # python -c HOOK <registry arguments>
    home.mkdir(parents=True, exist_ok=True)
    stdout = home / "stdout.txt"
    with stdout.open("w") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            env=cli_env(home),
            text=True,
        )
    assert proc.stderr is not None
    return proc, LineWaiter(proc.stderr), stdout


def wait_exit(proc: subprocess.Popen[str]) -> int:
    try:
        return proc.wait(timeout=HANG_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def serde_file(cache: Path) -> Path:
    (index_dir,) = (cache / "registry" / "index").iterdir()
    return index_dir / ".cache" / SERDE


def test_missing_entry_waits_for_the_lock_without_downloading(
    server: IndexServer, registry_reference: dict[str, bytes], tmp_path: Path
) -> None:
    """Missing entries are fetched under the lock: nothing is downloaded or written until the
    holder lets go (then one download). config.json is cached beforehand, so the first lock
    request is the one for serde (without coalescing it would come after the download)."""
    cache = tmp_path / "cargo-home"
    warm = finish(start(registry_argv(server.url, cache, "fetch", "fnv"), tmp_path / "user"))
    assert_quiet_success([warm])
    server.clear_requests()
    held = HeldLock(cache)
    try:
        proc, stderr, stdout = start_hooked(server, cache, tmp_path / "user", "fetch", "serde")
        reached = stderr.wait_for("hook: taking the package cache lock")
        written = list((cache / "registry" / "index").rglob("serde"))
        requested = server.requests_for(SERDE)
    finally:
        held.release()
    assert reached, f"registry never asked for the lock: {stderr.rest()}"
    assert written == [], f"written while cargo held the lock: {written}"
    assert requested == [], "downloaded a missing entry without holding the lock"
    code = wait_exit(proc)
    rest = stderr.rest()
    assert code == 0, rest
    # the hook's line, and (unless the lock was free by then) that it waited, in cargo's words
    assert "hook: taking the package cache lock" in rest.splitlines(), rest
    assert all(
        line == "hook: taking the package cache lock" or line.startswith(WAITING)
        for line in rest.splitlines()
    ), rest
    assert "1 downloaded" in stdout.read_text(), stdout.read_text()
    assert len(server.requests_for(SERDE)) == 1
    data = serde_file(cache).read_bytes()
    assert_parses({SERDE: data})
    assert data == registry_reference[next(p for p in registry_reference if p.endswith(SERDE))]


def test_revalidated_entry_is_not_replaced_while_the_lock_is_held(
    tmp_path: Path,
) -> None:
    """A revalidation goes out unlocked (cargo may hold the lock for a whole resolution); the
    new copy is written only once the holder lets go."""
    root = tmp_path / "index"
    (root / "se" / "rd").mkdir(parents=True)
    shutil.copyfile(FIXTURE_INDEX / "config.json", root / "config.json")
    full = (FIXTURE_INDEX / SERDE).read_bytes()
    older = full[: full.rstrip(b"\n").rfind(b"\n") + 1]  # the same file, one version less
    (root / SERDE).write_bytes(older)
    cache = tmp_path / "cargo-home"
    with IndexServer(root) as server:
        first = finish(start(registry_argv(server.url, cache, "fetch", "serde"), tmp_path / "u"))
        assert_quiet_success([first])
        old_bytes = serde_file(cache).read_bytes()
        (root / SERDE).write_bytes(full)
        server.clear_requests()
        held = HeldLock(cache)
        try:
            proc, stderr, stdout = start_hooked(server, cache, tmp_path / "user", "fetch", "serde")
            reached = stderr.wait_for("hook: taking the package cache lock")
            during = serde_file(cache).read_bytes()
            requests = server.requests_for(SERDE)
        finally:
            held.release()
        assert reached, f"registry never asked for the lock: {stderr.rest()}"
        assert during == old_bytes, "replaced while cargo held the lock"
        assert len(requests) == 1 and requests[0].header("If-None-Match") is not None
        code = wait_exit(proc)
        assert code == 0, stderr.rest()
        assert "1 downloaded" in stdout.read_text(), stdout.read_text()
        new_bytes = serde_file(cache).read_bytes()
    old, new = parse(old_bytes), parse(new_bytes)
    assert new.index_version != old.index_version
    assert (
        new.entries[: len(old.entries)] == old.entries and len(new.entries) == len(old.entries) + 1
    )
