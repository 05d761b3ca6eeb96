"""The single-field rules of index lines (issue 12), each against cargo 1.95's verdict.

Rows marked "probed" come from tests/fixtures/cargo_index_lines.json (the real cargo, through
tests/cargo_probe.py); the others follow cargo 0.96.0's source (cited in each module's
docstring) and are re-checked as whole lines with cargo by tests/test_cargo_probe.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from query.cfg import parse_cfg, platform_error
from query.index_fields import (
    artifact_error,
    feature_name_error,
    pubtime_error,
    rust_version_error,
)
from query.url_syntax import url_error

ROOT = Path(__file__).resolve().parent.parent
TABLE = json.loads((ROOT / "tests" / "fixtures" / "cargo_index_lines.json").read_text())


def probed_targets() -> list[tuple[str, bool]]:
    """(target, accepted) of every fixture row that varies a dependency's target."""
    out = []
    for row in TABLE:
        if not row["why"].startswith("dep target ") or row["cargo"] not in ("usable", "invalid"):
            continue
        line = json.loads(row["line"])
        (dep,) = line["deps"]
        if isinstance(dep["target"], str):  # not the row with a number
            out.append((dep["target"], row["cargo"] == "usable"))
    return out


@pytest.mark.parametrize(("target", "accepted"), probed_targets())
def test_targets_probed_with_cargo(target: str, accepted: bool) -> None:
    assert (platform_error(target) is None) == accepted


@pytest.mark.parametrize(
    ("target", "accepted"),
    [
        ("cfg(unix)", True),
        ('cfg(target_os = "linux")', True),
        ('cfg(all(unix, not(target_os = "macos")))', True),
        ("cfg(any())", True),  # zero arguments
        ("cfg(all(unix,))", True),  # a trailing comma
        ("cfg(not(not(not(unix))))", True),
        ('cfg(a = "b, c (d) \\\\ é")', True),  # a string holds anything but a quote
        ("cfg(r#unix)", True),
        ("cfg(r#true)", True),
        ("cfg(  unix  )", True),
        ("cfg(" + "not(" * 500 + "unix" + ")" * 500 + ")", True),  # any depth
        ("x86_64-unknown-linux-gnu", True),
        ("", True),  # a name with no character
        ("thumbv7em.none-eabihf", True),
        ("ü-target", True),
        ("नाम\u093e", True),  # a vowel sign: Alphabetic for Rust, not isalpha for Python
        ("cfg(", False),
        ("cfg()", False),
        ("cfg(not(unix),)", False),
        ("cfg(any(unix windows))", False),
        ("cfg(unix) ", False),
        ("cfg(r#all(unix))", False),
        ("cfg(a = 'b')", False),
        ('cfg(a == "b")', False),
        ("cfg(1)", False),
        ("cfg(-)", False),
        ("x86 64", False),
        ("a+b", False),
    ],
)
def test_targets_from_the_grammar(target: str, accepted: bool) -> None:
    assert (platform_error(target) is None) == accepted, platform_error(target)


def test_the_2019_snapshot_targets_cargo_refuses() -> None:
    for target in (
        "not(any(cfg(windows),cfg(macos)))",  # font-loader 0.1.2
        'and(cfg(unix), not(target_os = "linux"))',  # notice 0.1.0
        'cfg(target_arch = "wasm32"',  # cddl 0.3.14-0.3.17
    ):
        problem = platform_error(target)
        assert problem is not None and "cfg expressions must start with `cfg(`" in problem


def test_parse_cfg_gives_the_expression() -> None:
    expr = parse_cfg('all(unix, not(target_os = "macos"), any())')
    assert str(expr.op) == "all"  # type: ignore[union-attr]
    unix, negated, empty = expr.args  # type: ignore[union-attr]
    assert (unix.name, unix.value) == ("unix", None)
    assert negated.op == "not" and negated.args[0].value == "macos"
    assert empty.args == ()


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://github.com/rust-lang/crates.io-index", True),
        ("sparse+https://index.crates.io/", True),
        ("file:///tmp/nowhere", True),
        ("  https://example.com/  ", True),
        ("https://exämple.com/", True),
        ("http://127.0.0.1:9/", True),
        ("http://[::1]:8080/x", True),
        ("http://[::ffff:1.2.3.4]/", True),
        ("http:example.com", True),  # a special scheme needs no slashes
        ("HTTP://EXAMPLE.COM", True),
        ("foo://user@host/x", True),
        ("foo:/just/a/path", True),
        ("https://xn--exmple-cua.com/", True),  # exämple in punycode
        ("", False),
        ("not a url", False),
        ("/relative/path", False),
        ("foo:bar", False),  # cannot-be-a-base
        ("mailto:a@b.c", False),
        ("git@github.com:foo/bar", False),
        ("http://[::1", False),
        ("http://exa mple.com/", False),
        ("http://", False),
        ("http://host:65536/", False),
        ("http://host:12a/", False),
        ("http://1.2.3.256/", False),
        ("http://0x100000000/", False),
        ("http://a%2Fb/", False),  # a percent-decoded slash in the host
        ("https://xn--/", False),
        ("foo://a b/", False),
        ("foo://user@/x", False),
    ],
)
def test_registry_urls(url: str, accepted: bool) -> None:
    assert (url_error(url) is None) == accepted, url_error(url)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("1.70", True),
        ("1", True),
        ("1.70.0", True),
        (" 1.70", True),  # probed: VersionReq skips spaces
        ("1.70 ", True),
        ("  1.70.0  ", True),
        ("18446744073709551615", True),  # u64::MAX
        ("18446744073709551616", False),  # probed: overflow
        ("1.18446744073709551616", False),
        ("\t1.70", False),
        ("", False),
        ("1.70.0-nightly", False),
        ("1.70-nightly", False),
        ("1.70.0+b", False),
        ("=1.70", False),
        ("^1.70", False),
        ("~1.70", False),
        ("1.x", False),
        ("*", False),
        ("1.70, 1.71", False),
        ("v1.70", False),
        ("01.70", False),
        ("1.70.0.0", False),
    ],
)
def test_rust_versions(text: str, accepted: bool) -> None:
    assert (rust_version_error(text) is None) == accepted


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2025-11-12T19:30:12Z", True),
        ("2024-02-29T00:00:00Z", True),  # a leap day
        ("2025-01-01T00:00:60Z", True),  # second 60 is read as 59
        ("2025-01-01T 1:00:00Z", True),  # probed: jiff skips the blank
        (" 2025-01-01T00:00:0Z", True),
        ("+025-01-01T00:00:00Z", True),
        ("-025-01-01T00:00:00Z", True),
        ("0000-01-01T00:00:00Z", True),
        ("9999-12-30T00:00:00Z", True),
        ("9999-12-31T23:59:59Z", False),  # past jiff's Timestamp::MAX
        ("2023-02-29T00:00:00Z", False),
        ("2025-02-30T00:00:00Z", False),
        ("2025-04-31T00:00:00Z", False),
        ("2025-13-01T00:00:00Z", False),
        ("2025-00-01T00:00:00Z", False),
        ("2025-01-00T00:00:00Z", False),
        ("2025-01-01T24:00:00Z", False),
        ("2025-01-01T00:60:00Z", False),
        ("2025-01-01T00:00:61Z", False),
        ("2025-11-12T19:30:12-04", False),
        ("2025-11-12 19:30:12Z", False),
        ("2025-11-12T9:30:12Z", False),  # 19 bytes: padding required
        ("2025-11-12T19:30:12Z ", False),
        ("", False),
    ],
)
def test_pubtimes(text: str, accepted: bool) -> None:
    assert (pubtime_error(text) is None) == accepted


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        ("default", True),
        ("c++17", True),
        ("1a", True),
        ("a+b.c-d_e", True),
        ("été", True),
        ("_x", True),
        ("", False),
        ("dep:x", False),
        ("a/b", False),
        ("-a", False),
        ("+a", False),
        (".a", False),
        ("a b", False),
        ("a:b", False),
        ("a?", False),
        ("²", False),  # probed: not XID_Start, not an ASCII digit
        ("٣", False),  # probed: char::is_digit(10) is ASCII only
        ("\u088f", True),  # XID_Start since Unicode 17 (cargo's tables), unassigned in 14
    ],
)
def test_feature_names(name: str, accepted: bool) -> None:
    assert (feature_name_error(name) is None) == accepted


@pytest.mark.parametrize(
    ("kinds", "target", "accepted"),
    [
        (["bin"], None, True),
        (["cdylib", "staticlib", "bin:a", "bin:b"], None, True),
        (["bin:"], None, True),
        ([], None, True),
        (["bin"], "target", True),
        (["bin"], "x86_64-unknown-linux-gnu", True),
        (["bin", "bin:foo"], None, False),
        (["bin", "bin"], None, False),
        (["bin:a", "bin:a"], None, False),
        (["lib"], None, False),
        (["BIN"], None, False),
        (["dylib"], None, False),
        (["bin"], "", False),
        (["bin"], " \u3000 ", False),
        (["bin"], "custom.json", False),
    ],
)
def test_artifacts(kinds: list[str], target: str | None, accepted: bool) -> None:
    assert (artifact_error(kinds, target) is None) == accepted


def test_unicode_tables_are_current(tmp_path: Path) -> None:
    """query/unicode_props.py is what scripts/unicode_tables.py makes from unicode-ident 1.0.22
    and the installed rustc (cargo 1.95's Rust): regenerated and compared when both exist."""
    repo = Path("/work/.mirror/dtolnay+unicode-ident/repo")
    if shutil.which("rustc") is None or not repo.exists():
        pytest.skip("needs rustc and the unicode-ident mirror")
    out = tmp_path / "unicode_props.py"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unicode_tables.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "query" / "unicode_props.py").read_text()
