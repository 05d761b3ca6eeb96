#!/usr/bin/env python3
"""Measure what each speed trick gains, end to end: the figures of docs/performance.md.

Run with the venv's interpreter, from anywhere::

    .venv/bin/python scripts/trick_gain.py [TRICK ...] [--method callgrind|wall] [--list]

A trick is undone by one edit (``TRICKS`` below: a file, a text, its replacement) or by one
environment variable. For each trick the script copies ``registry``, ``cache`` and ``query``
twice (base: as they are; variant: with the edit), byte-compiles both, and runs the trick's
scenarios with each copy first on ``PYTHONPATH`` (``python -c "from registry.__main__ import
entry; entry()" ...``, cwd: the work dir) against a real nginx serving the 2019 crates.io
snapshot on 127.0.0.1, with warm caches made once per work dir (ripgrep and nushell, from
tests/fixtures/projects).

Methods:

* ``callgrind`` (default): instructions executed by the whole process tree
  (``valgrind --tool=callgrind --trace-children=yes``), the least of two runs each, with
  ``REGISTRY_JOBS=1``: a forked child's count starts from its parent's, so summing the two
  would count the work before the fork twice. Repeatable to a fraction of a percent whatever
  else the machine does, which is why it is the default: this machine is shared. To read it as
  time, ``--calibrate`` measures the CPU time of importing a few modules against their
  instruction counts (the same interpreter, the same machine): instructions per millisecond.
* ``wall``: hyperfine ``-N`` medians, base and variant alternating over 4 rounds (for tricks
  whose gain is waiting, not computing, like the forked helper process: ``fork`` is measured
  this way whatever ``--method`` says).

Needs valgrind and hyperfine (Debian packages), nginx, and the snapshot
(``--snapshot``, default as in scripts/bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.bench import DEFAULT_SNAPSHOT, unpack_snapshot  # noqa: E402
from tests.nginx import Nginx, world_readable  # noqa: E402

PACKAGES = ("registry", "cache", "query")
PROJECTS = REPO / "tests" / "fixtures" / "projects"

#: name: (what it avoids, scenarios, file, text, replacement); file "ENV" sets text=replacement.
TRICKS: dict[str, tuple[str, str, str, str, str]] = {
    "lockfile_fast": (
        "Cargo.lock read by the scanner, not tomllib",
        "check-rg,check-nu,validate-nu",
        "registry/input_files.py",
        "    lock = lockfile_from_cargo_text(text)",
        "    lock = None",
    ),
    "tomlsubset": (
        "Cargo.toml read by the subset parser, not tomli",
        "check-rg,check-nu",
        "registry/input_files.py",
        "        data = parse_subset(text)",
        "        data = None",
    ),
    "entry_plain": (
        "ordinary index lines classified in one pass over the stdlib json's reading",
        "check-nu,query",
        "query/entry.py",
        "    if quotes is not None:\n        try:",
        "    if False:\n        try:",
    ),
    "warm_exact": (
        "an exact query answered from one cache line without the Registry",
        "query",
        "registry/commands/query.py",
        "    if options.refresh or options.verbose or options.config:",
        "    if True:",
    ),
    "version_release": (
        "plain MAJOR.MINOR.PATCH by one regex, not the grammar",
        "cold-nu,check-nu",
        "query/version.py",
        '_RELEASE = re.compile(r"(0|',
        '_RELEASE = re.compile(r"(?!)(0|',
    ),
    "index_file_stdlib": (
        "small downloads parsed by the stdlib json, not orjson",
        "cold-rg",
        "registry/index/index_file.py",
        "STDLIB_JSON_BELOW = 2 << 20",
        "STDLIB_JSON_BELOW = 0",
    ),
    "pathstr": (
        "paths as strings: pathlib not imported",
        "check-rg",
        "cache/pathstr.py",
        "from __future__ import annotations\n",
        "from __future__ import annotations\nimport pathlib\n",
    ),
    "plain_url": (
        "index URLs checked without urllib.parse",
        "query,reval-rg,check-rg",
        "registry/config/index_url.py",
        "def _is_plain_http_url(url: str) -> bool:",
        "def _is_plain_http_url(url: str) -> bool:\n    return False",
    ),
    "pycurl_direct": (
        "pycurl's C module loaded without its Python wrapper",
        "reval-rg",
        "registry/transport/curl.py",
        "if not TYPE_CHECKING:\n    pycurl = _load_pycurl()",
        "import pycurl",
    ),
    "gc_disable": (
        "no cyclic garbage collection during a run",
        "check-nu",
        "registry/__main__.py",
        "    gc.disable()",
        "    pass",
    ),
    "os_exit": (
        "no interpreter teardown after the output is flushed",
        "check-nu",
        "registry/__main__.py",
        "    os._exit(code)",
        "    sys.exit(code)",
    ),
    "marshal_fp": (
        "the fingerprint record read with marshal, not json",
        "fp-nu",
        "cache/fingerprint.py",
        "import marshal\n",
        "import marshal\nimport json\n",
    ),
    "record_vs_dataclasses": (
        "data classes by query.record, not dataclasses",
        "query,fp-nu,check-rg",
        "query/record.py",
        "from query import TYPE_CHECKING\n",
        "from query import TYPE_CHECKING\nimport dataclasses\n",
    ),
    "type_checking": (
        "typing not imported at run time",
        "query,fp-nu,check-rg",
        "query/__init__.py",
        "TYPE_CHECKING = False",
        "from typing import TYPE_CHECKING",
    ),
    "validate_memo": (
        "one judgement per (name, version, source) shared by check and validate",
        "check-nu",
        "query/validate.py",
        "        judged.append(_judge(package, lookup, lock, deny_yanked, memo))",
        "        judged.append(_judge(package, lookup, lock, deny_yanked, {}))",
    ),
    "find_exact_checked": (
        "a cache file's structure checked once, not again per exact lookup",
        "check-nu",
        "registry/api.py",
        "            blob = find_exact(data, version, checked=True)",
        "            blob = find_exact(data, version, checked=False)",
    ),
    "argv_without_click": (
        "argv parsed by the options table, click imported only for help and completion",
        "query,check-rg",
        "registry/cli/argv.py",
        "from query import TYPE_CHECKING\n",
        "from query import TYPE_CHECKING\nimport click\n",
    ),
    "own_flock": (
        "the package-cache lock taken with fcntl.flock, filelock not imported (POSIX)",
        "reval-rg,cold-rg",
        "cache/lock.py",
        "import os\n",
        "import os\nimport filelock\n",
    ),
    "email_utils_lazy": (
        "email.utils imported only for an HTTP-date Retry-After",
        "reval-rg",
        "registry/index/sparse.py",
        "import random\n",
        "import random\nimport email.utils\n",
    ),
    "semver_lazy": (
        "semver imported only by the Python API's version values",
        "query,check-rg",
        "query/version.py",
        "import re\n",
        "import re\nimport semver\n",
    ),
    "marshal_codec": (
        "the forked helper's results cross the pipe by marshal, pickle not imported",
        "check-nu",
        "registry/parallel.py",
        "import gc\n",
        "import gc\nimport pickle\n",
    ),
    "fork": (
        "per-package work split with one forked helper process",
        "check-nu,validate-nu,cold-nu",
        "ENV",
        "REGISTRY_JOBS",
        "1",
    ),
}


#: Tricks that save waiting, not instructions: always timed.
WALL_ONLY = frozenset({"fork"})


class Stage:
    """The work dir: the index served by nginx, project copies and warm caches."""

    def __init__(self, work: Path, snapshot: Path, python: str) -> None:
        self.work = work
        self.python = python
        self.index = unpack_snapshot(snapshot, work)
        world_readable(self.index)
        self.projects = work / "projects"
        for name in ("ripgrep", "nushell"):
            if not (self.projects / name).exists():
                shutil.copytree(PROJECTS / name, self.projects / name)

    def scenarios(self, url: str) -> dict[str, tuple[list[str], Path | None]]:
        cache = {p: self.work / "warm" / p for p in ("ripgrep", "nushell")}
        manifest = {p: str(self.projects / p / "Cargo.toml") for p in ("ripgrep", "nushell")}
        lock = {p: str(self.projects / p / "Cargo.lock") for p in ("ripgrep", "nushell")}
        cold = self.work / "cold"
        offline = ["--offline"]

        def check(p: str, *more: str) -> list[str]:
            return [
                "--cache-dir",
                str(cache[p]),
                *offline,
                "check",
                "--manifest-path",
                manifest[p],
                *more,
            ]

        scenarios: dict[str, tuple[list[str], Path | None]] = {
            "query": (
                ["--cache-dir", str(cache["nushell"]), *offline, "query", "serde==1.0.102"],
                None,
            ),
            "check-rg": (check("ripgrep", "--no-fingerprint"), None),
            "check-nu": (check("nushell", "--no-fingerprint"), None),
            "fp-nu": (check("nushell"), None),
            "validate-nu": (
                ["--cache-dir", str(cache["nushell"]), *offline, "validate", lock["nushell"]],
                None,
            ),
            "reval-rg": (
                [
                    "--cache-dir",
                    str(cache["ripgrep"]),
                    "--refresh",
                    "fetch",
                    "--lockfile",
                    lock["ripgrep"],
                ],
                None,
            ),
            "cold-rg": (["--cache-dir", str(cold), "fetch", "--lockfile", lock["ripgrep"]], cold),
            "cold-nu": (["--cache-dir", str(cold), "fetch", "--lockfile", lock["nushell"]], cold),
        }
        return {k: (["--index-url", url, *argv], empty) for k, (argv, empty) in scenarios.items()}


def copy_packages(dest: Path, python: str) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run([python, "-m", "compileall", "-q", str(dest)], check=True)


def command(python: str, argv: list[str]) -> list[str]:
    """The CLI run from whichever copy is first on PYTHONPATH."""
    return [python, "-c", "from registry.__main__ import entry; entry()", *argv]


def instructions(cmd: list[str], env: dict[str, str], empty: Path | None) -> int:
    if empty is not None:
        shutil.rmtree(empty, ignore_errors=True)
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            "--trace-children=yes",
            *cmd,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    counts = re.findall(r"Collected : ([\d,]+)", done.stderr)
    if not counts:
        raise SystemExit(f"callgrind counted nothing: {done.stderr[-2000:]}")
    return sum(int(c.replace(",", "")) for c in counts)


def wall_ms(
    cmds: dict[str, list[str]], envs: dict[str, dict[str, str]], empty: Path | None, work: Path
) -> dict[str, float]:
    times: dict[str, list[float]] = {label: [] for label in cmds}
    export = work / "hyperfine.json"
    for round_ in range(4):
        order = list(cmds) if round_ % 2 == 0 else list(cmds)[::-1]
        hf = ["hyperfine", "-N", "-w", "2", "-r", "5", "--export-json", str(export)]
        if empty is not None:
            hf += ["--prepare", f"rm -rf {empty}"]
        for label in order:
            env = " ".join(
                f"{k}={v}" for k, v in envs[label].items() if k.startswith(("PYTHON", "REGISTRY"))
            )
            hf += ["-n", label, f"env {env} " + " ".join(map(quote, cmds[label]))]
        subprocess.run(hf, check=True, capture_output=True)
        for result in json.loads(export.read_text())["results"]:
            times[result["command"]] += result["times"]
    return {label: 1000 * statistics.median(t) for label, t in times.items()}


def quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:=+@,-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def calibrate(python: str) -> float:
    """Instructions per millisecond of CPU for this interpreter on this machine, from the import
    of modules that are pure Python work (least CPU of 15 runs each, minus a bare start)."""

    def cpu(code: str) -> float:
        best = []
        for _ in range(15):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([python, "-c", code], check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            best.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return min(best)

    env = dict(os.environ)
    base_i = instructions([python, "-c", "pass"], env, None)
    base_t = cpu("pass")
    rates = []
    for module in ("dataclasses", "tomllib", "click", "httpx"):
        code = f"import {module}"
        extra_i = instructions([python, "-c", code], env, None) - base_i
        extra_t = cpu(code) - base_t
        rates.append(extra_i / (1000 * extra_t))
        print(
            f"calibrate {module}: {extra_i / 1e6:.1f} M instructions, {1000 * extra_t:.1f} ms CPU"
        )
    rate = statistics.median(rates)
    print(f"calibrate: {rate / 1e6:.2f} M instructions per ms")
    return rate


#: Modules kept off the warm paths (docs/performance.md, "Imports kept off the warm paths").
AVOIDED_IMPORTS = (
    "httpx", "filelock", "click", "pycurl", "semver", "orjson", "email.utils", "dataclasses",
    "tomllib", "pathlib", "typing", "urllib.parse", "json",
)  # fmt: skip


def import_costs(python: str) -> None:
    """Instructions to import each module into a bare interpreter, less ``pass``."""
    env = dict(os.environ)
    base = instructions([python, "-c", "pass"], env, None)
    print(f"imports: python -c pass: {base / 1e6:.1f} M instructions")
    for module in AVOIDED_IMPORTS:
        extra = instructions([python, "-c", f"import {module}"], env, None) - base
        print(f"imports: {module}: {extra / 1e6:.1f} M instructions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tricks", nargs="*", help="names from TRICKS (default: all)")
    parser.add_argument("--method", choices=("callgrind", "wall"), default="callgrind")
    parser.add_argument("--work", type=Path, default=Path("/tmp/registry-trick-gain"))
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument(
        "--imports", action="store_true", help="instructions to import each avoided module"
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, scenarios, *_rest) in TRICKS.items():
            print(f"{name:24} {scenarios:28} {what}")
        return 0
    python = sys.executable
    if args.calibrate:
        calibrate(python)
    if args.imports:
        import_costs(python)
    names = args.tricks or ([] if args.calibrate or args.imports else list(TRICKS))
    unknown = [n for n in names if n not in TRICKS]
    if unknown:
        parser.error(f"unknown trick(s): {', '.join(unknown)} (see --list)")
    if not names:
        return 0
    args.work = args.work.resolve()
    args.snapshot = args.snapshot.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    # `python -c` puts the cwd first on sys.path: run every child from the work dir, where
    # there is no package that would shadow the copies on PYTHONPATH.
    os.chdir(args.work)
    stage = Stage(args.work, args.snapshot, python)
    base = args.work / "base"
    copy_packages(base, python)
    with Nginx(args.work / "nginx") as nginx:
        nginx.start(f"server {{ listen 127.0.0.1:{nginx.ports[0]}; root {stage.index}; }}")
        url = "sparse+" + nginx.url(0)
        scenarios = stage.scenarios(url)
        env = {**os.environ, "PYTHONPATH": str(base)}
        env.pop("REGISTRY_JOBS", None)  # timed runs: the user's default (a forked helper)
        for project in ("ripgrep", "nushell"):  # the warm caches
            subprocess.run(
                command(
                    python,
                    [
                        "--index-url",
                        url,
                        "--cache-dir",
                        str(args.work / "warm" / project),
                        "fetch",
                        "--lockfile",
                        str(stage.projects / project / "Cargo.lock"),
                    ],
                ),
                env=env,
                check=True,
                capture_output=True,
            )
        for name in names:
            what, wanted, file, text, replacement = TRICKS[name]
            variant = args.work / f"variant-{name}"
            copy_packages(variant, python)
            base_env = dict(env)
            variant_env = {**env, "PYTHONPATH": str(variant)}
            if file == "ENV":
                variant_env = {**env, "PYTHONPATH": str(base), text: replacement}
            else:
                path = variant / file
                source = path.read_text()
                if text not in source:
                    raise SystemExit(f"{name}: {text!r} is not in {file} any more: update TRICKS")
                path.write_text(source.replace(text, replacement, 1))
                subprocess.run([python, "-m", "compileall", "-q", str(variant)], check=True)
            for scenario in wanted.split(","):
                argv_, empty = scenarios[scenario]
                cmd = command(python, argv_)
                if args.method == "callgrind" and name not in WALL_ONLY:
                    one = {"REGISTRY_JOBS": "1"}
                    b = min(instructions(cmd, {**base_env, **one}, empty) for _ in range(2))
                    v = min(instructions(cmd, {**variant_env, **one}, empty) for _ in range(2))
                    print(
                        f"{name} {scenario}: {b / 1e6:.1f} M instructions; without the trick "
                        f"{v / 1e6:.1f} M ({(v - b) / 1e6:+.1f} M, {100 * (v - b) / b:+.1f}%)",
                        flush=True,
                    )
                else:
                    ms = wall_ms(
                        {"base": cmd, "variant": cmd},
                        {"base": base_env, "variant": variant_env},
                        empty,
                        args.work,
                    )
                    print(
                        f"{name} {scenario}: {ms['base']:.1f} ms median; without the trick "
                        f"{ms['variant']:.1f} ms ({ms['variant'] - ms['base']:+.1f} ms)",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
