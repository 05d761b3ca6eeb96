#!/usr/bin/env python3
"""Rebuild the test fixtures in ``tests/fixtures/`` from ``/work/shared/data``.

Steps (each a subcommand; ``all`` runs the first three, then ``lockfiles`` when cargo is on PATH;
``lockfiles`` and ``verify`` need cargo):

``projects``
    Copy the seven projects from ``<data>/projects`` to ``tests/fixtures/projects/<name>/``
    (manifests, ``Cargo.lock``, stub files; layout kept; files made writable).
``index``
    Extract from ``<data>/crates-io-index-2019-11-10.tar.xz`` only the index files that the
    projects need, in the sparse layout (``1/``, ``2/``, ``3/x/``, ``ab/cd/``), plus
    ``config.json``, into ``tests/fixtures/index/``. Needed = every crate named in a lockfile,
    every crate a workspace manifest depends on (real name, after ``package =`` renames), their
    ``-``/``_`` alternates when the snapshot has them, and the ``--extra`` names.
``lockfiles``
    Serve the reduced index on 127.0.0.1 and run ``cargo update --workspace`` on a temporary
    copy of each project whose v1 ``Cargo.lock`` got one extra trailing blank line: cargo keeps
    an unchanged lockfile in its old format, but any textual difference makes it rewrite the
    file, and a rewrite upgrades it to the default format (v4) while the old lockfile still pins
    every version. The (name, version, source, checksum) set must equal the v1 one; the result is
    saved as ``Cargo.lock.v4`` and, with ``version = 4`` edited to ``3``, as ``Cargo.lock.v3``
    (v3 and v4 differ only in URL-encoding git sources; ``verify`` checks cargo keeps both).
``verify``
    For each project (and each saved lockfile format) run, against the served reduced index,
    ``cargo update --workspace --locked`` and then the same with ``--offline``; print a table.

Usage::

    /work/venv/bin/python scripts/make_fixtures.py all
    /work/venv/bin/python scripts/make_fixtures.py lockfiles
    /work/venv/bin/python scripts/make_fixtures.py verify
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path("/work/shared/data")
TARBALL_NAME = "crates-io-index-2019-11-10.tar.xz"
FIXTURES = REPO / "tests" / "fixtures"
PROJECTS = ("ripgrep", "fd", "bat", "starship", "mdbook", "alacritty", "nushell")
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
DEP_TABLES = (
    "dependencies",
    "dev-dependencies",
    "dev_dependencies",
    "build-dependencies",
    "build_dependencies",
)


def index_path(name: str) -> str:
    """cargo's ``make_dep_path`` on the lowercased name (spec §1.1)."""
    name = name.lower()
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[0:2]}/{name[2:4]}/{name}"


# ---------------------------------------------------------------------------------------------
# projects


def copy_projects(src: Path, dest: Path) -> None:
    for name in PROJECTS:
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(src / name, target)
        for path in [target, *target.rglob("*")]:
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    print(f"copied {len(PROJECTS)} projects to {dest}")


# ---------------------------------------------------------------------------------------------
# index


def _dep_names(table: object) -> set[str]:
    names: set[str] = set()
    if not isinstance(table, dict):
        return names
    for key, value in table.items():
        if isinstance(value, dict) and isinstance(value.get("package"), str):
            names.add(value["package"])
        else:
            names.add(key)
    return names


def manifest_dep_names(doc: dict[str, object]) -> set[str]:
    names: set[str] = set()
    for key in DEP_TABLES:
        names |= _dep_names(doc.get(key))
    targets = doc.get("target")
    if isinstance(targets, dict):
        for spec in targets.values():
            if isinstance(spec, dict):
                for key in DEP_TABLES:
                    names |= _dep_names(spec.get(key))
    workspace = doc.get("workspace")
    if isinstance(workspace, dict):
        names |= _dep_names(workspace.get("dependencies"))
    patch = doc.get("patch")
    if isinstance(patch, dict):
        for table in patch.values():
            names |= _dep_names(table)
    return names


def needed_names(projects_dir: Path) -> set[str]:
    names: set[str] = set()
    for name in PROJECTS:
        root = projects_dir / name
        lock = tomllib.loads((root / "Cargo.lock").read_text())
        for pkg in lock.get("package", []):
            if pkg.get("source", "").startswith(("registry+", "sparse+")):
                names.add(pkg["name"])
        for manifest in root.rglob("Cargo.toml"):
            names |= manifest_dep_names(tomllib.loads(manifest.read_text()))
    return {n.lower() for n in names}


def extract_index(tarball: Path, dest: Path, names: set[str]) -> tuple[int, list[str]]:
    """Extract the index files of ``names`` (and their -/_ alternates) plus config.json."""
    wanted = set()
    for name in names:
        wanted.add(index_path(name))
        wanted.add(index_path(name.replace("-", "_")))
        wanted.add(index_path(name.replace("_", "-")))
    wanted.add("config.json")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    found: set[str] = set()
    with tarfile.open(tarball, "r:xz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if rel not in wanted:
                continue
            fileobj = tar.extractfile(member)
            assert fileobj is not None
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(fileobj.read())
            found.add(rel)
    missing = sorted(index_path(n) for n in names if index_path(n) not in found)
    return len(found), missing


# ---------------------------------------------------------------------------------------------
# cargo


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[int]:
    """Serve ``directory`` on 127.0.0.1 (free port) in a thread; yields the port."""

    def handler(*args: object, **kwargs: object) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(directory), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def cargo_env(cargo_home: Path, port: int) -> dict[str, str]:
    cargo_home.mkdir(parents=True, exist_ok=True)
    (cargo_home / "config.toml").write_text(
        "[source.crates-io]\n"
        'replace-with = "local-sparse"\n'
        "[source.local-sparse]\n"
        f'registry = "sparse+http://127.0.0.1:{port}/"\n'
    )
    env = dict(os.environ)
    env["CARGO_HOME"] = str(cargo_home)
    env.setdefault("RUSTUP_HOME", str(Path.home() / ".rustup"))
    env["CARGO_TERM_COLOR"] = "never"
    env.pop("CARGO_NET_OFFLINE", None)
    return env


def run_cargo(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cargo", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def lock_ids(text: str) -> set[tuple[str, str, str | None, str | None]]:
    """(name, version, source, checksum) of every package; v1 ``[metadata]`` checksums applied."""
    doc = tomllib.loads(text)
    sums = {}
    for key, value in doc.get("metadata", {}).items():
        if key.startswith("checksum "):
            name, version, source = key[len("checksum ") :].split(" ", 2)
            sums[(name, version, source[1:-1])] = None if value == "<none>" else value
    return {
        (
            p["name"],
            p["version"],
            p.get("source"),
            p.get("checksum", sums.get((p["name"], p["version"], p.get("source")))),
        )
        for p in doc.get("package", [])
    }


def check_project(project: Path, lockfile: Path, env: dict[str, str]) -> list[str]:
    """Copy ``project`` with ``lockfile`` as Cargo.lock; run the two locked updates."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / project.name
        shutil.copytree(project, work, ignore=shutil.ignore_patterns("Cargo.lock*"))
        shutil.copyfile(lockfile, work / "Cargo.lock")
        for extra in ([], ["--offline"]):
            res = run_cargo(["update", "--workspace", "--locked", *extra], work, env)
            if res.returncode != 0:
                problems.append(f"{' '.join(['--locked', *extra])}: {res.stderr.strip()}")
        if (work / "Cargo.lock").read_bytes() != lockfile.read_bytes():
            problems.append("Cargo.lock changed")
    return problems


def make_lockfiles(projects_dir: Path, index_dir: Path) -> None:
    with serve(index_dir) as port, tempfile.TemporaryDirectory() as tmp:
        env = cargo_env(Path(tmp) / "cargo-home", port)
        for name in PROJECTS:
            project = projects_dir / name
            work = Path(tmp) / "work" / name
            shutil.copytree(project, work, ignore=shutil.ignore_patterns("Cargo.lock.*"))
            before = (work / "Cargo.lock").read_text()
            # cargo keeps an existing lockfile's format as long as the serialized text is
            # unchanged (compared line by line); one extra trailing blank line makes it rewrite
            # the file, and a rewrite upgrades the format to the default (v4). The resolution
            # itself stays locked by the previous lockfile.
            (work / "Cargo.lock").write_text(before + "\n")
            res = run_cargo(["update", "--workspace"], work, env)
            if res.returncode != 0:
                print(f"{name}: cargo update --workspace failed:\n{res.stderr}")
                continue
            v4 = (work / "Cargo.lock").read_text()
            if lock_ids(v4) != lock_ids(before):
                print(f"{name}: cargo changed the resolution; not saved")
                continue
            if "\nversion = 4\n" not in v4:
                print(f"{name}: cargo did not write a v4 lockfile; not saved")
                continue
            (project / "Cargo.lock.v4").write_text(v4)
            (project / "Cargo.lock.v3").write_text(
                v4.replace("\nversion = 4\n", "\nversion = 3\n", 1)
            )
            print(f"{name}: wrote Cargo.lock.v4 and Cargo.lock.v3")


def verify(projects_dir: Path, index_dir: Path) -> bool:
    ok = True
    with serve(index_dir) as port, tempfile.TemporaryDirectory() as tmp:
        for name in PROJECTS:
            project = projects_dir / name
            for lock in sorted(project.glob("Cargo.lock*")):
                # a fresh CARGO_HOME per check: the online run must fetch everything it needs
                env = cargo_env(Path(tmp) / f"home-{name}-{lock.name}", port)
                problems = check_project(project, lock, env)
                ok = ok and not problems
                status = "ok" if not problems else "FAIL: " + " | ".join(problems)
                print(f"{name:10} {lock.name:15} {status}")
    return ok


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("all", "projects", "index", "lockfiles", "verify"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=FIXTURES)
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="additional crate names to include in the index",
    )
    args = parser.parse_args(argv)
    projects_dir = args.out / "projects"
    index_dir = args.out / "index"
    if args.step in ("all", "projects"):
        copy_projects(args.data / "projects", projects_dir)
    if args.step in ("all", "index"):
        names = needed_names(projects_dir) | {n.lower() for n in args.extra}
        count, missing = extract_index(args.data / TARBALL_NAME, index_dir, names)
        print(f"extracted {count} files ({len(names)} names) to {index_dir}")
        if missing:
            print(f"not in the snapshot: {', '.join(missing)}")
    if args.step == "lockfiles" or (args.step == "all" and shutil.which("cargo")):
        make_lockfiles(projects_dir, index_dir)
    elif args.step == "all":
        print("cargo not found: Cargo.lock.v3/.v4 not regenerated (run the lockfiles step)")
    if args.step == "verify":
        return 0 if verify(projects_dir, index_dir) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
