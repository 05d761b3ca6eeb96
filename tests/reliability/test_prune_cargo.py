"""``registry cache prune`` and ``cache clean`` while cargo uses the same CARGO_HOME.

cargo ``update --workspace --locked`` (source replacement to the test server) runs again and
again while ``registry cache prune`` (every entry is old: ``--older-than 0``) and, in the last
rounds, ``cache clean`` run in other processes: cargo never fails or warns (it reads and writes
index caches under the package-cache lock that prune and clean take to remove, and refetches
what they removed), registry exits 0 (saying at most that it waits for the lock cargo holds),
and every `.cache` file left parses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.httpserver import IndexServer
from tests.reliability.cachecheck import (
    WAITING,
    assert_parses,
    cache_files,
    finish,
    start,
    temp_files,
)
from tests.reliability.support import FIXTURE_INDEX
from tests.reliability.test_cargo_interop import (
    cargo_binary,
    cargo_home,
    copy_project,
    start_cargo,
)

ROUNDS = 6


@pytest.mark.cargo
def test_prune_and_clean_while_cargo_runs(tmp_path: Path) -> None:
    cargo = cargo_binary()
    with IndexServer(FIXTURE_INDEX) as server:
        home = cargo_home(tmp_path / "cargo-home", server.url)
        project = copy_project(tmp_path / "ripgrep")
        lock_before = (project / "Cargo.lock").read_bytes()
        registry = [sys.executable, "-m", "registry", "--cache-dir", str(home)]
        prunes = removed = 0
        for round_no in range(ROUNDS):
            cargo_proc = start_cargo(cargo, project, home)
            ours = []
            while cargo_proc.poll() is None:
                command = ["cache", "prune", "--older-than", "0"]
                if round_no >= ROUNDS - 2 and prunes % 2:
                    command = ["cache", "clean"]
                ours.append(finish(start([*registry, *command], tmp_path / "user")))
                prunes += 1
            _out, err = cargo_proc.communicate()
            assert cargo_proc.returncode == 0, err
            assert "error" not in err.lower() and "warning" not in err.lower(), err
            # nothing on stderr but, maybe, that it waited for the lock cargo held (cargo's words)
            bad = [
                r
                for r in ours
                if r.code != 0 or any(not x.startswith(WAITING) for x in r.stderr.splitlines())
            ]
            assert not bad, bad[0].describe()
            removed += sum(
                int(r.stdout.split()[1])
                for r in ours
                if r.stdout.startswith("removed ") and "index entries" in r.stdout
            )
            assert (project / "Cargo.lock").read_bytes() == lock_before
            files = cache_files(home)
            assert_parses(files)
        assert prunes >= ROUNDS
        assert removed > 0  # prune did remove entries cargo had written or read
        assert not temp_files(home / "registry" / "index")
        # cargo's own files are all still there
        assert (home / "config.toml").exists()
        assert (home / ".package-cache").exists()
