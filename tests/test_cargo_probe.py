"""The cargo probe (`tests/cargo_probe.py`) still gets cargo's recorded verdicts.

A sample of `tests/fixtures/cargo_index_lines.json` (one line per verdict and a few rules) is
probed again with the real cargo; each must get the verdict recorded in the fixture. Skipped
when cargo is absent, unless `CI` is set.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cargo_probe import CargoProbe

pytestmark = pytest.mark.cargo

FIXTURE = Path(__file__).parent / "fixtures" / "cargo_index_lines.json"

#: Notes of the sampled fixture rows (a prefix of each row's `why`).
SAMPLE = (
    "baseline valid line",
    "yanked true: yanked",
    "v 3: unsupported",
    "no cksum",
    "trailing characters after the object",
    "line name differs in case",
    "dep target 'not(any(cfg(windows),cfg(macos)))'",
    "rust_version ' 1.70'",
    "pubtime '2025-02-30T00:00:00Z'",
    "duplicate yanked via \\u escape",
    "dep name empty: Dependency::new_override",
)


def rows() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    return data


@pytest.fixture(scope="module")
def probe() -> Iterator[CargoProbe]:
    if shutil.which("cargo") is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: the probe tests must run")
        pytest.skip("cargo is not installed (set CI=1 to make this a failure)")
    with CargoProbe() as running:
        yield running


def test_fixture_covers_every_verdict() -> None:
    verdicts = {row["cargo"] for row in rows()}
    assert {"usable", "yanked", "invalid", "unsupported", "dropped", "name-mismatch"} <= verdicts
    assert len(rows()) >= 200


@pytest.mark.parametrize("note", SAMPLE)
def test_probe_reproduces_the_fixture(probe: CargoProbe, note: str) -> None:
    matches = [row for row in rows() if row["why"].startswith(note)]
    assert matches, f"no fixture row starts with {note!r}"
    row = matches[0]
    line = base64.b64decode(row["line_b64"]) if "line_b64" in row else row["line"].encode()
    extra = [x.encode() for x in row.get("extra_lines", [])]
    result = probe.probe(
        line,
        crate=row.get("crate", "probe"),
        dep_name=row.get("dep"),
        version=row.get("version", "1.0.0"),
        locked=True,
        extra_lines=extra,
    )
    assert (result.verdict, result.locked) == (row["cargo"], row["locked"]), result.message
    if not row.get("extra_lines") and not row.get("dep") and row["cargo"] != "name-mismatch":
        from tests.test_index_lines import ours

        assert ours(line) == result.verdict


# --- lines the table does not hold: generated, then judged by cargo and by registry -----------

#: How many generated lines one run probes (each costs one `cargo generate-lockfile`, ~50 ms).
GENERATED = 48


def _cfg(rng: random.Random, depth: int = 0) -> str:
    """A random cfg expression, often valid, sometimes broken in one place."""
    atoms = ["unix", "windows", 'target_os = "linux"', "r#unix", 'feature = "a b"', "test"]
    broken = ["", "1x", "a =", 'a = "b', "ü", "(unix)", "unix windows", "not", "all"]
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        return rng.choice(atoms if rng.random() < 0.85 else broken)
    op = rng.choice(["all", "any", "not"])
    args = [_cfg(rng, depth + 1) for _ in range(1 if op == "not" else rng.randrange(0, 3))]
    sep = rng.choice([", ", ",", " ,"])
    trail = rng.choice(["", "", ","]) if args and op != "not" else ""
    return f"{op}({sep.join(args)}{trail})"


def _generated_line(rng: random.Random) -> bytes:
    pkg: dict[str, object] = {
        "name": "probe",
        "vers": "1.0.0",
        "deps": [],
        "cksum": "a" * 64,
        "features": {},
        "yanked": False,
    }
    dep: dict[str, object] = {
        "name": "helper",
        "req": "^1",
        "features": [],
        "optional": True,
        "default_features": True,
        "target": None,
        "kind": "normal",
    }
    extra = ""
    for _ in range(rng.randrange(1, 3)):
        choice = rng.randrange(9)
        if choice == 0:
            dep["target"] = rng.choice(["cfg(", "", " "]) + _cfg(rng) + rng.choice([")", ")", ""])
            if rng.random() < 0.3:
                dep["target"] = rng.choice(["x86_64-pc-windows-msvc", "a b", "wasm32.json", "é"])
        elif choice == 1:
            name = "".join(rng.choice("ab_-+.:/1é² ") for _ in range(rng.randrange(0, 4)))
            pkg["features"] = {name: [], "helper": ["dep:helper"]}
        elif choice == 2:
            y, m, d = rng.randrange(0, 10000), rng.randrange(0, 14), rng.randrange(0, 33)
            h, mi, s = rng.randrange(0, 25), rng.randrange(0, 61), rng.randrange(0, 62)
            pkg["pubtime"] = f"{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"
        elif choice == 3:
            pkg["rust_version"] = rng.choice(
                ["1.70", " 1.70", "1.70.0", "1.70-beta", "=1.70", "1.x", "1..0", "2", "1.70,"]
            )
        elif choice == 4:
            dep["registry"] = rng.choice(
                ["https://a.b/c", "foo:bar", "x", "http://[::1]/", "file:x", "http://1.2.3.999/"]
            )
        elif choice == 5:
            key = rng.choice(["yanked", "cksum", "deps", "features", "v", "links", "x"])
            extra += f',"{key}":' + rng.choice(["true", "null", '"s"', "[]", "{}", "3"])
        elif choice == 6:
            pkg["v"] = rng.choice([0, 1, 2, 3, -1, 2.0, "2", None])
        elif choice == 7:
            dep["artifact"] = rng.sample(
                ["bin", "bin:x", "cdylib", "lib", "bin:"], rng.randrange(3)
            )
        else:
            pkg["features"] = {
                "f": rng.sample(["helper?/hf", "helper/hf", "dep:helper", "helper", "g"], 2),
                "g": [],
            }
            dep["optional"] = rng.random() < 0.7
    if "helper" not in json.dumps(pkg["features"]) and dep["optional"]:
        pkg["features"] = {**pkg["features"], "h": ["dep:helper"]}  # type: ignore[dict-item]
    pkg["deps"] = [dep]
    text = json.dumps(pkg, separators=(",", ":"), ensure_ascii=False)
    return (text[:-1] + extra + "}").encode()


def test_generated_lines_get_cargos_verdict(probe: CargoProbe) -> None:
    """Lines cargo has not judged before: its verdict now, and registry's, agree."""
    from tests.test_index_lines import ours

    rng = random.Random(int(os.environ.get("REGISTRY_PROBE_SEED", "12")))
    disagree = []
    for _ in range(GENERATED):
        line = _generated_line(rng)
        cargo = probe.probe(line).verdict
        if cargo != ours(line):
            disagree.append((line.decode(errors="replace"), cargo, ours(line)))
    assert disagree == []


def test_a_crash_line_anywhere_makes_the_crate_unusable(probe: CargoProbe) -> None:
    """The good line of 1.0.0, and after it a line of 1.0.1 with an empty dependency name:
    cargo 1.95 crashes whichever version is asked for (registry: UnusableCrateError)."""
    good = rows()[0]["line"].encode()
    crash = json.dumps(
        {
            "name": "probe",
            "vers": "1.0.1",
            "deps": [{"name": "", "req": "^1", "features": [], "optional": False}],
            "cksum": "a" * 64,
            "features": {},
            "yanked": False,
        }
    ).encode()
    assert probe.probe(good, extra_lines=[crash], locked=True).verdict == "panic"
