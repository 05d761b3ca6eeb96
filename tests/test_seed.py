"""Seeding from cargo <= 1.84's index directory (cache/store.py, "Seeding").

A CARGO_HOME that an older cargo filled has ``registry/index/<host>-<old hash>/`` (SipHash-2-4
of the SourceId, cache/dirhash.py; the names are pinned against cargo's own tests in
tests/test_dirhash.py) and nothing under the name cargo >= 1.85 uses. Here that directory is
made the way cargo makes it: ``.cache`` files with no integrity record, and ``config.json``
(from a registry run whose directory is renamed and stripped of what only registry writes; a
test at the end has real cargo fill it). The old directory is compared file by file before and
after every run: nothing there is ever written, renamed or removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache import fingerprint
from cache.dirhash import legacy_source_dir_name, source_dir_name
from cache.integrity import XATTR
from cache.store import SEED_MARKER, IndexStore
from query.names import index_path
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import cache_files
from tests.reliability.support import FIXTURE_INDEX, REPO, CliResult, run_cli

RIPGREP = REPO / "tests" / "fixtures" / "projects" / "ripgrep"
LOCK = RIPGREP / "Cargo.lock"
SERDE = index_path("serde")
LOG = index_path("log")


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    with IndexServer(FIXTURE_INDEX) as srv:
        yield srv


def registry(server: IndexServer, cache: Path, home: Path, *args: str) -> CliResult:
    return run_cli(
        ["--index-url", "sparse+" + server.url, "--cache-dir", str(cache), *args], home=home
    )


@pytest.fixture(scope="module")
def filled(server: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache that ``fetch --lockfile`` (ripgrep) filled, in the >= 1.85 directory."""
    work = tmp_path_factory.mktemp("seed-reference")
    cache = work / "cache"
    result = registry(server, cache, work / "home", "fetch", "--lockfile", str(LOCK))
    assert result.code == 0, result.stderr
    return cache


def new_dir(server: IndexServer, home: Path) -> Path:
    return home / "registry" / "index" / source_dir_name("sparse+" + server.url)


def old_dir(server: IndexServer, home: Path) -> Path:
    return home / "registry" / "index" / legacy_source_dir_name("sparse+" + server.url)


def as_old_cargo_left_it(filled: Path, server: IndexServer, home: Path) -> Path:
    """``home`` as cargo <= 1.84 leaves a CARGO_HOME: only the old directory, holding
    ``.cache`` files without any record and ``config.json``."""
    shutil.copytree(filled, home, symlinks=True)
    shutil.rmtree(home / "registry" / "fingerprints", ignore_errors=True)
    source = new_dir(server, home)
    shutil.rmtree(source / ".registry", ignore_errors=True)
    for dirpath, _dirnames, filenames in os.walk(source):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if XATTR in os.listxattr(path):
                os.removexattr(path, XATTR)
    target = old_dir(server, home)
    source.rename(target)
    return target


def tree(root: Path) -> dict[str, tuple[bytes, int, tuple[str, ...]]]:
    """Every file under ``root``: bytes, mtime_ns and extended attributes (and every
    directory, as its name)."""
    found: dict[str, tuple[bytes, int, tuple[str, ...]]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = (b"", 0, ())
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            found[os.path.relpath(path, root)] = (
                Path(path).read_bytes(),
                st.st_mtime_ns,
                tuple(sorted(os.listxattr(path))),
            )
    return found


def project_copy(dest: Path) -> Path:
    shutil.copytree(RIPGREP, dest, ignore=shutil.ignore_patterns("Cargo.lock.*"))
    return dest


# --- the store --------------------------------------------------------------------------------


def test_store_reads_a_missing_entry_from_the_old_directory(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    url = "sparse+" + server.url
    store = IndexStore(home, source_dir_name(url), source_url=url)
    assert store.seed_dir() == str(old)
    found = store.read_with_record(SERDE)
    assert found is not None
    data, record = found
    assert data == (old / ".cache" / SERDE).read_bytes()
    assert record is None  # cargo's file: no integrity record
    assert store.is_seeded(SERDE)
    assert store.entry_path(SERDE) == str(old / ".cache" / SERDE)
    assert store.is_seed_path(store.entry_path(SERDE))
    assert store.read_with_record("no/ne/nonesuch") is None
    # a store without its source URL never looks there
    assert IndexStore(home, source_dir_name(url)).read(SERDE) is None


def test_no_seed_once_the_new_directory_has_entries_of_its_own(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    as_old_cargo_left_it(filled, server, home)
    url = "sparse+" + server.url
    # cargo >= 1.85 filled the new directory itself (no marker): that one is current
    own = IndexStore(home, source_dir_name(url))
    log = filled / "registry" / "index" / source_dir_name(url) / ".cache" / LOG
    assert own.write_many({LOG: log.read_bytes()}) == []
    store = IndexStore(home, source_dir_name(url), source_url=url)
    assert store.seed_dir() is None
    assert store.read(SERDE) is None
    # a marker says this directory started from the seed: it keeps being read
    marker = Path(store.dir_path) / ".registry" / SEED_MARKER
    marker.parent.mkdir(parents=True)
    marker.write_text(legacy_source_dir_name(url) + "\n")
    again = IndexStore(home, source_dir_name(url), source_url=url)
    assert again.seed_dir() is not None
    assert again.read(SERDE) is not None


def test_writes_while_seeding_go_to_the_new_directory_with_the_marker(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    before = tree(old)
    url = "sparse+" + server.url
    store = IndexStore(home, source_dir_name(url), source_url=url)
    data = store.read(SERDE)
    assert data is not None and store.is_seeded(SERDE)
    assert store.write_many({SERDE: data}, record_sums=True) == []
    assert not store.is_seeded(SERDE)
    assert Path(store.cache_path(SERDE)).read_bytes() == data
    assert (Path(store.dir_path) / ".registry" / SEED_MARKER).read_text() == old.name + "\n"
    assert store.entry_path(SERDE) == store.cache_path(SERDE)
    assert tree(old) == before


# --- the command line, offline: warm answers from the old directory alone ------------------------


def test_query_validate_check_offline_from_the_old_directory(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    before = tree(old)
    user = tmp_path / "user"
    project = project_copy(tmp_path / "ripgrep")
    reference_home = tmp_path / "reference"
    shutil.copytree(filled, reference_home, symlinks=True)
    commands = [
        ("query", "serde==1.0.98"),
        ("query", "log@^0.4", "--json"),
        ("versions", "memchr"),
        ("validate", str(LOCK)),
        ("check", "--manifest-path", str(project / "Cargo.toml")),
    ]
    for args in commands:
        expected = registry(server, reference_home, user, "--offline", *args)
        got = registry(server, home, user, "--offline", *args)
        assert expected.code == 0, expected.stderr
        assert (got.code, got.stdout, got.stderr) == (0, expected.stdout, ""), args
    # the second check answers from its fingerprint, which names the old directory's files
    again = registry(
        server,
        home,
        user,
        "--offline",
        "-v",
        "check",
        "--manifest-path",
        str(project / "Cargo.toml"),
    )
    assert again.code == 0, again.stderr
    assert "answered from the null-build fingerprint" in again.stderr
    (record_file,) = (home / "registry" / "fingerprints").iterdir()
    record = fingerprint.decode(record_file.read_bytes())
    assert isinstance(record, dict)
    seeded = record["seeded"]
    assert seeded and all(p.startswith(str(old) + "/") for p in seeded)
    assert {row[0] for row in record["cache"]} >= set(seeded)
    assert tree(old) == before
    assert not (new_dir(server, home) / ".cache").exists()  # offline: nothing written anywhere


def test_fingerprint_replay_never_touches_the_old_directory(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    """A replay refreshes the access times of the files it depends on (cache/lastuse.py), but
    never of a seed's."""
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    project = project_copy(tmp_path / "ripgrep")
    args = ("--offline", "check", "--manifest-path", str(project / "Cargo.toml"))
    assert registry(server, home, tmp_path / "user", *args).code == 0
    long_ago = 1_000_000_000
    files = [Path(p) for p in cache_files(home)]
    for rel in files:
        st = (home / rel).stat()
        os.utime(home / rel, ns=(long_ago * 10**9, st.st_mtime_ns))
    assert files and all(str(home / rel).startswith(str(old)) for rel in files)
    again = registry(server, home, tmp_path / "user", "-v", *args)
    assert "answered from the null-build fingerprint" in again.stderr
    assert all((home / rel).stat().st_atime == long_ago for rel in files)


# --- online: revalidated like any other entry, then stored in the new directory ----------------


def test_online_seed_is_revalidated_and_copied(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    before = tree(old)
    seeded = (old / ".cache" / SERDE).read_bytes()
    seen = len(server.requests)
    result = registry(server, home, tmp_path / "user", "-v", "query", "serde==1.0.98")
    assert result.code == 0, result.stderr
    assert "0 downloaded, 1 not modified" in result.stderr
    (request,) = [r for r in server.requests[seen:] if r.path.endswith("/serde")]
    assert request.header("If-None-Match") or request.header("If-Modified-Since")
    copied = new_dir(server, home) / ".cache" / SERDE
    assert copied.read_bytes() == seeded
    assert XATTR in os.listxattr(copied)  # stored like any entry we write
    marker = new_dir(server, home) / ".registry" / SEED_MARKER
    assert marker.read_text() == old.name + "\n"
    # the new directory now holds a file, and the marker keeps the seed in use
    result = registry(server, home, tmp_path / "user", "--offline", "query", "log@^0.4")
    assert result.code == 0, result.stderr
    assert tree(old) == before


def test_a_damaged_seed_entry_is_not_trusted(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    old = as_old_cargo_left_it(filled, server, home)
    damaged = old / ".cache" / SERDE
    damaged.write_bytes(damaged.read_bytes()[:-7])  # cut inside the last entry
    before = tree(old)
    offline = registry(server, home, tmp_path / "user", "--offline", "query", "serde==1.0.98")
    assert offline.code == 3
    assert offline.stderr.startswith("error: cache entry for serde is unreadable (")
    assert str(damaged) in offline.stderr
    online = registry(server, home, tmp_path / "user", "-v", "query", "serde==1.0.98")
    assert online.code == 0, online.stderr
    assert "1 downloaded" in online.stderr
    reference = filled / "registry" / "index" / new_dir(server, home).name / ".cache" / SERDE
    assert (new_dir(server, home) / ".cache" / SERDE).read_bytes() == reference.read_bytes()
    assert tree(old) == before


# --- real cargo fills the CARGO_HOME ------------------------------------------------------------


def cargo_binary() -> str:
    path = shutil.which("cargo")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set")
        pytest.skip("cargo is not installed (set CI=1 to make this a failure)")
    return path


@pytest.mark.cargo
def test_a_cargo_home_cargo_filled_answers_offline_once_renamed_to_the_old_hash(
    filled: Path, server: IndexServer, tmp_path: Path
) -> None:
    """cargo 1.95 writes the same `.cache` bytes cargo 1.84 did (cache format 3, index
    version 2 in both: cargo src/cargo/sources/registry/index/cache.rs:86 at 0.85.0 and
    0.96.0); renamed to the old hash, its directory is what a 1.84 CARGO_HOME holds."""
    cargo = cargo_binary()
    home = tmp_path / "cargo-home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[source.crates-io]\n"
        'replace-with = "local-sparse"\n'
        "[source.local-sparse]\n"
        f'registry = "sparse+{server.url}"\n'
    )
    project = project_copy(tmp_path / "ripgrep")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "REGISTRY_"))}
    env.update(CARGO_HOME=str(home), CARGO_TERM_COLOR="never")
    done = subprocess.run(
        [cargo, "update", "--workspace", "--locked"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cargo_dir = new_dir(server, home)
    assert (cargo_dir / ".cache" / SERDE).is_file()
    old = old_dir(server, home)
    cargo_dir.rename(old)
    before = tree(old)
    user = tmp_path / "user"
    reference_home = tmp_path / "reference"
    shutil.copytree(filled, reference_home, symlinks=True)
    for args in (
        ("validate", str(LOCK)),
        ("check", "--manifest-path", str(project / "Cargo.toml")),
    ):
        expected = registry(server, reference_home, user, "--offline", *args)
        got = registry(server, home, user, "--offline", *args)
        assert (got.code, got.stdout) == (0, expected.stdout), got.stderr
    assert tree(old) == before
