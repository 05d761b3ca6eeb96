"""Helpers shared by the validate/check test modules (test_validate, test_nullbuild,
test_check_cargo, test_fingerprint, test_cli_check): fixture paths, running the CLI in-process
and as a subprocess, and editing lockfile/manifest text."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
INDEX = FIXTURES / "index"
PROJECTS = FIXTURES / "projects"
PROJECT_NAMES = ("ripgrep", "fd", "bat", "starship", "mdbook", "alacritty", "nushell")
LOCKFILES = ("Cargo.lock", "Cargo.lock.v3", "Cargo.lock.v4")
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"

#: Environment variables that would change what a run does; cleared for every test.
REGISTRY_ENV = (
    "REGISTRY_INDEX_URL",
    "REGISTRY_CACHE_DIR",
    "REGISTRY_OFFLINE",
    "REGISTRY_TOKEN",
    "REGISTRY_RETRY_SLEEP_MS",
    "REGISTRY_JOBS",
)


def isolate(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> Path:
    """Clear REGISTRY_* variables and point CARGO_HOME at an empty directory; returns it."""
    for name in REGISTRY_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("CARGO_REGISTRIES_") or name.startswith("CARGO_SOURCE_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp / "cargo-home-empty"
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CARGO_HOME", str(home))
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data = json.loads(self.out)
        assert isinstance(data, dict)
        return data


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    """``registry.cli.run(argv)`` in-process; stdout/stderr captured."""
    from registry.cli import run

    capsys.readouterr()
    code = run(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return Result(code, out, err)


def run_sub(
    *argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Result:
    """``python -m registry argv`` in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "registry", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


# ---------------------------------------------------------------------------------------------
# text editing


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced (fails if not exactly one)."""
    count = text.count(old)
    assert count == 1, f"expected exactly one {old!r}, found {count}"
    return text.replace(old, new)


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(replace_once(path.read_text(), old, new))


_HEADER = re.compile(r"^\[\[package\]\]\s*$", re.M)


def package_span(text: str, name: str, version: str | None = None) -> tuple[int, int, int]:
    """(start, end, 1-based line) of the ``[[package]]`` block of ``name`` (``version``)."""
    starts = [m.start() for m in _HEADER.finditer(text)]
    found = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        block = text[start:end]
        if re.search(rf'^name = "{re.escape(name)}"$', block, re.M) and (
            version is None or re.search(rf'^version = "{re.escape(version)}"$', block, re.M)
        ):
            # a block ends before the next [[package]] or any other table header
            first_line = block.index("\n") + 1
            other = re.search(r"^\[", block[first_line:], re.M)
            if other is not None:
                end = start + first_line + other.start()
            found.append((start, end, text.count("\n", 0, start) + 1))
    assert len(found) == 1, f"{name} {version}: {len(found)} blocks"
    return found[0]


def package_line(text: str, name: str, version: str | None = None) -> int:
    return package_span(text, name, version)[2]


def edit_package(text: str, name: str, version: str | None, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` once, inside the block of package ``name`` ``version``."""
    start, end, _ = package_span(text, name, version)
    return text[:start] + replace_once(text[start:end], old, new) + text[end:]


def lock_packages(path: Path) -> list[dict[str, Any]]:
    data = tomllib.loads(path.read_text())
    packages = data.get("package", [])
    assert isinstance(packages, list)
    return packages


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (relative), for before/after comparisons."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def problem_packages(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in report["packages"] if p["problems"]]


# -- index lines for hand-made registries ---------------------------------------------------


def cksum(name: str, vers: str) -> str:
    return hashlib.sha256(f"{name}-{vers}".encode()).hexdigest()


def line(name: str, vers: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "vers": vers,
        "deps": [],
        "cksum": cksum(name, vers),
        "features": {},
        "yanked": False,
    }
    entry.update(fields)
    return entry


def count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch ``os.fork`` to record each call (registry/parallel.py forks through it)."""
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    return forks
