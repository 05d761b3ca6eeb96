"""scripts/floor.py, the benchmark's floor, does the same work as registry: the same `.cache`
bytes on a cold fetch and all-304 answers on a revalidation (else its figures mean nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from query.names import index_path
from registry.api import Registry
from tests.checkutil import INDEX, PROJECTS, lock_packages
from tests.httpserver import IndexServer

FLOOR = Path(__file__).resolve().parent.parent / "scripts" / "floor.py"
LOCK = PROJECTS / "ripgrep" / "Cargo.lock"


def _floor(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(FLOOR), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the floor forks")
def test_floor_writes_what_registry_writes_and_revalidates(tmp_path: Path) -> None:
    names = sorted({p["name"] for p in lock_packages(LOCK) if "source" in p})
    with IndexServer(INDEX) as server:
        url = "sparse+" + server.url
        with Registry(url, tmp_path / "ours") as reg:
            report = reg.fetch(names)
            ours = reg.store.dir_path
        assert report.downloaded == len(names)
        assert _floor("cold", url, str(tmp_path / "floor"), str(LOCK)) == f"200:{len(names) + 1}\n"
        floor = tmp_path / "floor" / "registry" / "index" / "floor"
        for name in names:
            rel = index_path(name)
            assert (floor / ".cache" / rel).read_bytes() == Path(ours, ".cache", rel).read_bytes()
        assert (floor / "config.json").read_bytes() == Path(ours, "config.json").read_bytes()
        # config.json is requested unconditionally, every index file conditionally
        revalidated = _floor("revalidate", url, str(tmp_path / "ours"), str(LOCK))
        assert revalidated == f"200:1 304:{len(names)}\n"
