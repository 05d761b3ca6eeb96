#!/usr/bin/env python3
"""Make ``scripts/workspace800/``: a workspace whose Cargo.lock locks ~800 packages of the 2019
crates.io snapshot, for the benchmarks (``scripts/bench.py --projects workspace800``).

No real project of ``/work/shared/data/projects`` is that large (nushell locks 314), so this one is
made from them, deterministically:

1. Every registry package locked by one of the seven projects' ``Cargo.lock`` files, grouped by
   name and semver-compatible range (``1.x``, ``0.3.x``, ``0.0.4``); one dependency per group on
   the newest locked version of the group (a caret requirement). Several majors of one crate
   (``rand`` 0.4, 0.5, 0.6, 0.7) stay several packages, as in a real large graph.
2. Then the crates most depended on in the snapshot (counted over each crate's newest version's
   normal dependencies, ties by name), newest version, until ``--extra`` more names.
3. The dependencies, sorted by name, are dealt to ``--members`` member crates
   (``members/m00`` ...), round robin; the root is a virtual workspace.
4. The snapshot is served on 127.0.0.1 and ``cargo generate-lockfile`` resolves the workspace
   against it (a fresh CARGO_HOME with source replacement). When cargo refuses a dependency (two
   majors linking the same native library, a crate whose requirements the snapshot cannot meet),
   the dependency it names is dropped and cargo runs again; each drop is printed.

The result, committed: ``Cargo.toml``, ``members/*/Cargo.toml``, stub ``src/lib.rs`` files and
``Cargo.lock`` (format v4). Rerunning with the same snapshot, cargo and arguments gives the same
files. Usage::

    /work/venv/bin/python scripts/make_workspace.py [--workdir /tmp/registry-bench]

(the snapshot is unpacked into ``<workdir>/index``, shared with bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import DEFAULT_SNAPSHOT, DEFAULT_WORKDIR, unpack_snapshot
from make_fixtures import DATA, PROJECTS, cargo_env, run_cargo, serve

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "scripts" / "workspace800"
NAME = "workspace800"


def parse_version(text: str) -> tuple[int, int, int, str]:
    core, _, pre = text.partition("+")[0].partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch, pre


def compat_key(version: str) -> str:
    """The semver-compatible range a version belongs to (cargo's caret rule)."""
    major, minor, patch, _ = parse_version(version)
    if major:
        return f"{major}"
    if minor:
        return f"0.{minor}"
    return f"0.0.{patch}"


def sort_key(version: str) -> tuple[int, int, int, int, str]:
    major, minor, patch, pre = parse_version(version)
    return major, minor, patch, 0 if pre else 1, pre


def locked_groups() -> dict[tuple[str, str], str]:
    """(name, compat range) -> newest locked version, over the seven projects."""
    groups: dict[tuple[str, str], str] = {}
    for project in PROJECTS:
        lock = tomllib.loads((DATA / "projects" / project / "Cargo.lock").read_text())
        for package in lock.get("package", []):
            if not str(package.get("source", "")).startswith("registry+"):
                continue
            name, version = package["name"], package["version"]
            key = (name, compat_key(version))
            if key not in groups or sort_key(version) > sort_key(groups[key]):
                groups[key] = version
    return groups


def newest(path: Path) -> tuple[str, str, list[str]] | None:
    """(name, newest non-yanked release, its normal dependencies' names) of an index file."""
    best: tuple[str, str, list[str]] | None = None
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if entry.get("yanked") or "-" in entry["vers"]:
            continue
        if best is None or sort_key(entry["vers"]) > sort_key(best[1]):
            deps = [
                d.get("package", d["name"]).lower()
                for d in entry.get("deps", [])
                if d.get("kind", "normal") == "normal"
            ]
            best = (entry["name"], entry["vers"], deps)
    return best


def popular(index: Path) -> list[tuple[str, str]]:
    """Every crate of the snapshot with its newest version, most depended on first."""
    counts: Counter[str] = Counter()
    versions: dict[str, tuple[str, str]] = {}
    for dirpath, _dirs, files in os.walk(index):
        for file in files:
            if file == "config.json" or file.startswith("."):
                continue
            found = newest(Path(dirpath) / file)
            if found is None:
                continue
            versions[file] = (found[0], found[1])
            counts.update(set(found[2]))
    ranked = sorted(versions, key=lambda n: (-counts[n], n))
    return [versions[n] for n in ranked]


def rename(name: str, version: str) -> str:
    """The manifest key of a second major of ``name`` in one member."""
    return f"{name}-{compat_key(version).replace('.', '_')}"


def write_workspace(out: Path, deps: list[tuple[str, str]], members: int) -> None:
    shutil.rmtree(out, ignore_errors=True)
    names = [f"m{i:02d}" for i in range(members)]
    out.mkdir(parents=True)
    (out / "Cargo.toml").write_text(
        "# Made by scripts/make_workspace.py: do not edit by hand.\n"
        "[workspace]\n"
        "members = [" + ", ".join(f'"members/{m}"' for m in names) + "]\n"
        'resolver = "2"\n'
    )
    dealt: list[list[tuple[str, str]]] = [[] for _ in names]
    for i, dep in enumerate(sorted(deps)):
        dealt[i % members].append(dep)
    for member, mine in zip(names, dealt, strict=True):
        root = out / "members" / member
        (root / "src").mkdir(parents=True)
        (root / "src" / "lib.rs").write_text("")
        lines = [
            "[package]",
            f'name = "{NAME}-{member}"',
            'version = "0.1.0"',
            'edition = "2018"',
            "publish = false",
            "",
            "[dependencies]",
        ]
        # Two majors of one crate in one manifest need two keys: rename all but the first.
        seen: Counter[str] = Counter()
        for name, version in mine:
            seen[name] += 1
            key = name if seen[name] == 1 else rename(name, version)
            if key == name:
                lines.append(f'{name} = "{version}"')
            else:
                lines.append(f'{key} = {{ package = "{name}", version = "{version}" }}')
        (root / "Cargo.toml").write_text("\n".join(lines) + "\n")


# In a resolution failure: the workspace's own dependencies involved, and the crate cargo failed on.
_INVOLVED = re.compile(r'dependency `([^ `]+) = "\^?([^"]+)"` of package `' + NAME + "-m")
_FAILED = (
    re.compile(r"failed to select a version for `([^`]+)`"),
    re.compile(r"failed to select a version for the requirement `([^ `=]+)"),
    re.compile(r"no matching package named `([^`]+)` found"),
)


def culprit(stderr: str, deps: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The dependency to drop: the oldest of the workspace's own dependencies cargo names in the
    conflict, else the oldest on the crate it failed to select."""
    involved = []
    for key, version in _INVOLVED.findall(stderr):
        involved += [d for d in deps if key in (d[0], rename(*d)) and d[1] == version]
    if not involved:
        failed = next((m[1] for p in _FAILED if (m := p.search(stderr))), None)
        involved = [d for d in deps if d[0] == failed]
    return min(involved, key=lambda d: sort_key(d[1])) if involved else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--members", type=int, default=40)
    ap.add_argument("--extra", type=int, default=60, help="popular crates added (step 2)")
    args = ap.parse_args(argv)

    index = unpack_snapshot(args.snapshot, args.workdir.resolve())
    groups = locked_groups()
    deps = sorted((name, version) for (name, _), version in groups.items())
    have = {name for name, _ in deps}
    added = 0
    for name, version in popular(index):
        if added >= args.extra:
            break
        if name not in have:
            deps.append((name, version))
            have.add(name)
            added += 1
    print(f"{len(groups)} locked groups + {added} popular crates = {len(deps)} dependencies")

    dropped: list[str] = []
    with serve(index) as port, tempfile.TemporaryDirectory() as tmp:
        env = cargo_env(Path(tmp) / "cargo-home", port)
        while True:
            write_workspace(args.out, deps, args.members)
            done = run_cargo(["generate-lockfile"], args.out, env)
            if done.returncode == 0:
                break
            drop = culprit(done.stderr, deps)
            if drop is None:
                print(done.stderr, file=sys.stderr)
                return 1
            deps.remove(drop)
            dropped.append(f"{drop[0]} {drop[1]}")
            reason = next(
                (x for x in done.stderr.splitlines() if x.startswith("error:")), "cargo failed"
            )
            print(f"dropped {drop[0]} {drop[1]} ({reason})")
    lock = tomllib.loads((args.out / "Cargo.lock").read_text())
    packages = [p for p in lock["package"] if "source" in p]
    files = {p["name"].lower() for p in packages}
    print(
        f"{args.out}: {len(packages)} registry packages in {len(files)} index files, "
        f"{len(lock['package'])} packages in all; dropped {len(dropped)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
