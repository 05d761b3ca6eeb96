#!/usr/bin/env python3
"""cargo 1.95's verdict on every line of the 2019 crates.io index snapshot (issue 12).

Run from the repository root (it imports ``tests.httpserver``)::

    python scripts/cargo_snapshot_verdicts.py [--snapshot TAR.XZ] [--work DIR] \
        [--out tests/fixtures/cargo_refused_2019.json]

How cargo judges all 184,437 lines in 80 runs of about 0.1 s each:

1. The snapshot is unpacked into ``<work>/index`` and served by nginx on 127.0.0.1 (``Nginx``
   of ``scripts/bench.py``). A fresh ``CARGO_HOME`` replaces crates.io by it (source
   replacement).
2. A project depends on a batch of crates of the snapshot (``--batch``, 400 by default) at
   ``=0.0.0-never.1`` (a version no crate has); one cargo run per batch, all on one CARGO_HOME.
   (One run for all 31,839 crates is not feasible: cargo queues every download at once in one
   curl multi handle limited to 2 connections per host, and transfers time out after 30 s with
   only ~450-490 files fetched.) cargo's resolver queries all direct dependencies of the root
   before it activates anything (``RegistryQueryer::build_deps``), and a pending query makes it
   ``block_until_ready`` (download every index file) and restart; so cargo loads every index
   file through ``Summaries::parse``'s slow path, which runs ``IndexSummary::parse`` on *every*
   line of the file (``src/cargo/sources/registry/index/mod.rs:525-553``), whatever version is
   asked for. Then resolution fails on the first dependency (no such version) and cargo exits.
3. With ``CARGO_LOG=cargo::sources::registry::index=debug`` cargo logs, per file, ``slow path
   for "PATH"`` (debug), and per line it could not use: ``recoverying from failed parse of
   registry package NAME@VERS: ERR`` (info, the line became ``IndexSummary::Invalid``) or
   ``failed to parse "PATH" registry package: ERR`` (info, the line was dropped).
4. cargo writes each file's ``.cache`` (``index/<host>/.cache/PATH``): every line it kept
   (valid or invalid) with its version, never a dropped line. So per raw line: not in the cache
   -> dropped; in the cache and named by a "recoverying" log -> invalid; else valid (yanked when
   its ``yanked`` is true; unsupported when its ``v`` exceeds 2, which no 2019 line has).

The fixture lists every refused line (invalid or dropped) with cargo's reason, plus counts and
how long the run took, and a cross-check: every refused line and ``--cross-check`` random kept
lines probed one by one (``tests/cargo_probe.py``), which must give the same verdicts. The
script also checks that cargo loaded every file (``slow path`` count) and that the log and the
``.cache`` files agree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Nginx, unpack_snapshot

from tests.cargo_probe import CargoProbe, cargo_env, write_home

SNAPSHOT = Path("/work/shared/data/crates-io-index-2019-11-10.tar.xz")
NEVER = "=0.0.0-never.1"
LOG_FILTER = "cargo::sources::registry::index=debug"

_RECOVER = re.compile(r"recoverying from failed parse of registry package (.*?)@(\S*?): (.*)$")
_FAILED = re.compile(r'failed to parse "([^"]*)" registry package: (.*)$')
_SLOW = re.compile(r'slow path for "([^"]*)"')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

CACHE_VERSION = 3
INDEX_V_MAX = 2


def crate_files(root: Path) -> dict[str, Path]:
    """{relative path: file} for every crate file (config.json and dot files left out)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != "config.json" and not rel.startswith("."):
            out[rel] = path
    return out


def parse_cache(data: bytes) -> list[tuple[str, bytes]]:
    """(version, line) pairs of a cargo `.cache` file (format 3, index v 2)."""
    if not data or data[0] != CACHE_VERSION:
        raise ValueError("not a version-3 cache file")
    if int.from_bytes(data[1:5], "little") != INDEX_V_MAX:
        raise ValueError("unexpected index schema version in cache")
    parts = data[5:].split(b"\0")
    # parts: index_version, (version, line)*, "" (trailing NUL)
    body = parts[1:-1] if parts and parts[-1] == b"" else parts[1:]
    if len(body) % 2:
        raise ValueError("odd number of cache fields")
    return [(body[i].decode(), body[i + 1]) for i in range(0, len(body), 2)]


def write_project(project: Path, names: list[str]) -> None:
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "src" / "lib.rs").write_text("")
    deps = "".join(f'{json.dumps(n)} = "{NEVER}"\n' for n in names)
    (project / "Cargo.toml").write_text(
        '[package]\nname = "snapshot-root"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f"[dependencies]\n{deps}"
    )


def line_identity(line: bytes) -> tuple[str, str]:
    """(name, vers) as far as Python's json can tell, for the report."""
    try:
        obj = json.loads(line)
    except ValueError:
        return "", ""
    if not isinstance(obj, dict):
        return "", ""
    name, vers = obj.get("name"), obj.get("vers")
    return (name if isinstance(name, str) else "", vers if isinstance(vers, str) else "")


def cross_check(
    root: Path, files: dict[str, Path], refused: list[dict[str, object]], sample: int
) -> dict[str, object]:
    """Probe each refused line and `sample` random kept lines alone (one cargo per line): the
    probe's verdict must equal the bulk run's. A kept line whose own dependencies cannot be
    resolved in the probe's tiny index still counts as usable (see `classify`)."""
    by_line = {(str(r["path"]), int(str(r["line_no"]))): str(r["cargo"]) for r in refused}
    picks: list[tuple[str, int, bytes, str]] = []
    for (rel, number), verdict in sorted(by_line.items()):
        picks.append((rel, number, files[rel].read_bytes().split(b"\n")[number - 1], verdict))
    rng = random.Random(12)
    for rel in rng.sample(sorted(files), min(sample, len(files))):
        lines = files[rel].read_bytes().split(b"\n")
        number = rng.randrange(len([x for x in lines if x])) + 1
        if (rel, number) in by_line:
            continue
        obj = json.loads(lines[number - 1])
        picks.append(
            (rel, number, lines[number - 1], "yanked" if obj.get("yanked") is True else "usable")
        )
    agree = 0
    disagree: list[str] = []
    started = time.monotonic()
    with CargoProbe() as probe:
        for rel, number, line, expected in picks:
            name, vers = line_identity(line)
            crate = rel.rsplit("/", 1)[1]
            got = probe.probe(line, crate=crate, dep_name=name or crate, version=vers or "0.0.0")
            if got.verdict == expected:
                agree += 1
            else:
                disagree.append(f"{rel}:{number}: bulk {expected}, probe {got.verdict}")
    return {
        "lines": len(picks),
        "agree": agree,
        "disagree": disagree,
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    ap.add_argument("--work", type=Path, default=Path("/tmp/i12-snapshot-verdicts"))
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/cargo_refused_2019.json"))
    ap.add_argument("--cargo", default=shutil.which("cargo") or "cargo")
    ap.add_argument("--batch", type=int, default=400, help="crates per cargo run")
    ap.add_argument(
        "--cross-check",
        type=int,
        default=150,
        metavar="N",
        help="probe every refused line and N random kept lines one by one (tests/cargo_probe.py)",
    )
    args = ap.parse_args(argv)

    work: Path = args.work
    root = unpack_snapshot(args.snapshot, work)
    files = crate_files(root)
    print(f"{len(files)} crate files", file=sys.stderr)
    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    home = run / "home"
    rels = list(files)
    batches = [rels[i : i + args.batch] for i in range(0, len(rels), args.batch)]
    logs: list[Path] = []
    seconds = 0.0
    nginx = Nginx(work, root)
    nginx.start()
    try:
        write_home(home, f"http://127.0.0.1:{nginx.http1}/")
        env = cargo_env(home)
        env["CARGO_LOG"] = LOG_FILTER
        for number, batch in enumerate(batches):
            project = run / f"project{number}"
            write_project(project, [rel.rsplit("/", 1)[1] for rel in batch])
            log_path = run / f"cargo{number}.log"
            started = time.monotonic()
            with log_path.open("wb") as log:
                proc = subprocess.run(
                    [args.cargo, "generate-lockfile"],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    check=False,
                )
            took = time.monotonic() - started
            seconds += took
            logs.append(log_path)
            print(
                f"batch {number + 1}/{len(batches)}: {len(batch)} crates, cargo exited "
                f"{proc.returncode} after {took:.1f}s",
                file=sys.stderr,
            )
    finally:
        nginx.stop()

    invalid: dict[tuple[str, str], str] = {}
    dropped_logs: dict[str, list[str]] = {}
    slow: set[str] = set()
    tail: list[str] = []
    for log_path in logs:
        with log_path.open("rb") as log:
            for raw in log:
                text = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\n")
                if m := _RECOVER.search(text):
                    invalid[(m.group(1), m.group(2))] = m.group(3)
                elif m := _FAILED.search(text):
                    dropped_logs.setdefault(m.group(1), []).append(m.group(2))
                elif m := _SLOW.search(text):
                    slow.add(m.group(1))
                elif text.startswith("error:") and len(tail) < 3:
                    tail.append(text)
    missing = sorted(set(files) - slow)
    print(f"slow path for {len(slow)} files, missing {len(missing)}", file=sys.stderr)

    cache_dirs = list((home / "registry" / "index").glob("*/.cache"))
    if len(cache_dirs) != 1:
        raise SystemExit(f"expected one index cache dir, found {cache_dirs}")
    cache_root = cache_dirs[0]

    refused: list[dict[str, object]] = []
    counts = {"lines": 0, "usable": 0, "yanked": 0, "invalid": 0, "dropped": 0}
    unmatched_invalid = dict(invalid)
    for rel, path in files.items():
        lines = [ln for ln in path.read_bytes().split(b"\n")]
        if lines and lines[-1] == b"":
            lines.pop()
        cache_file = cache_root / rel
        kept = parse_cache(cache_file.read_bytes()) if cache_file.is_file() else []
        kept_lines: dict[bytes, str] = {}
        for version, line in kept:
            kept_lines[line] = version
        for number, line in enumerate(lines, 1):
            counts["lines"] += 1
            name, vers = line_identity(line)
            crate = rel.rsplit("/", 1)[1]
            if line not in kept_lines:
                counts["dropped"] += 1
                reasons = dropped_logs.get(rel, [])
                refused.append(
                    {
                        "crate": crate,
                        "path": rel,
                        "line_no": number,
                        "name": name,
                        "version": vers,
                        "cargo": "dropped",
                        "reason": "; ".join(reasons) if reasons else "(no log line)",
                    }
                )
                continue
            version = kept_lines[line]
            key = (name or crate, version)
            reason = invalid.get(key)
            if reason is None:
                # the log names the line's own `name`; fall back to a scan by version
                cands = [k for k in invalid if k[1] == version and k[0].lower() == crate]
                reason = invalid.get(cands[0]) if cands else None
                key = cands[0] if cands else key
            if reason is not None:
                unmatched_invalid.pop(key, None)
                counts["invalid"] += 1
                refused.append(
                    {
                        "crate": crate,
                        "path": rel,
                        "line_no": number,
                        "name": name,
                        "version": version,
                        "cargo": "invalid",
                        "reason": reason,
                    }
                )
            else:
                obj = json.loads(line)
                if obj.get("yanked") is True:
                    counts["yanked"] += 1
                else:
                    counts["usable"] += 1

    out = {
        "about": (
            "cargo 1.95's verdict on the lines of crates-io-index-2019-11-10 that it refuses; "
            "made by scripts/cargo_snapshot_verdicts.py (see its docstring)"
        ),
        "cargo": subprocess.run(
            [args.cargo, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "files": len(files),
        "files_loaded_by_cargo": len(slow & set(files)),
        "counts": counts,
        "log_invalid_not_matched": sorted(f"{n}@{v}" for n, v in unmatched_invalid),
        "cargo_runs": len(batches),
        "cargo_seconds": round(seconds, 1),
        "cross_check": cross_check(root, files, refused, args.cross_check),
        "refused": refused,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(counts), file=sys.stderr)
    print("\n".join(tail[:5]), file=sys.stderr)
    checked = out["cross_check"]
    assert isinstance(checked, dict)
    return 0 if not missing and not unmatched_invalid and not checked["disagree"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
