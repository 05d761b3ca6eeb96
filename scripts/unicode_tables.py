#!/usr/bin/env python3
"""Write ``query/unicode_props.py``: where cargo 1.95's Unicode properties differ from Python's.

cargo 1.95 judges two index-line strings by Unicode properties of Unicode 17.0:

* feature names: ``unicode_ident::is_xid_start`` / ``is_xid_continue`` (unicode-ident 1.0.22,
  ``crates/cargo-util-schemas/src/restricted_names.rs:195-239``);
* target names: Rust's ``char::is_alphanumeric`` (``crates/cargo-platform/src/lib.rs:44-67``).

Python 3.11's own tables (``str.isidentifier``, ``str.isalnum``) are Unicode 14.0, and
``isalnum`` is not Rust's ``is_alphanumeric`` (the ``Alphabetic`` property includes marks such as
U+093E; Python's ``isalpha`` does not). So the module records, as code point ranges, where each
property differs from Python's answer; `query.unicode_props` then corrects Python's answer.

Sources (run from the repository root)::

    python scripts/unicode_tables.py [--ident-repo /work/.mirror/dtolnay+unicode-ident/repo]

* XID: ``src/tables.rs`` of unicode-ident at tag 1.0.22 (read with ``git show``), decoded with
  the crate's own lookup (``src/lib.rs``);
* alphanumeric: a tiny Rust program compiled with the installed ``rustc`` (the same toolchain as
  cargo 1.95) that prints the ranges where ``char::is_alphanumeric`` holds.

The output is deterministic; ``tests/test_unicode_props.py`` regenerates it when rustc and the
mirror are present and compares.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "query" / "unicode_props.py"
IDENT_REPO = "/work/.mirror/dtolnay+unicode-ident/repo"
IDENT_TAG = "1.0.22"

RUST_PROGRAM = r"""
fn main() {
    let (a, b, c) = char::UNICODE_VERSION;
    println!("{}.{}.{}", a, b, c);
    let mut start: Option<u32> = None;
    for cp in 0u32..=0x10FFFF {
        let yes = char::from_u32(cp).map(|c| c.is_alphanumeric()).unwrap_or(false);
        match (yes, start) {
            (true, None) => start = Some(cp),
            (false, Some(s)) => { println!("{} {}", s, cp - 1); start = None; }
            _ => {}
        }
    }
    if let Some(s) = start { println!("{} {}", s, 0x10FFFF); }
}
"""


def _array(text: str, name: str) -> list[int]:
    m = re.search(rf"{name}: Align\d+<\[u8; (\d+)\]> = Align\d+\(\[(.*?)\]\)", text, re.S)
    if m is None:
        raise SystemExit(f"unicode-ident tables: {name} not found")
    values = [int(v, 16) for v in re.findall(r"0x([0-9A-Fa-f]{2})", m.group(2))]
    if len(values) != int(m.group(1)):
        raise SystemExit(f"unicode-ident tables: {name} has {len(values)} values")
    return values


def _const(text: str, name: str) -> int:
    m = re.search(rf"{name}: (?:u128|usize) = (0x[0-9a-f]+|\d+);", text)
    if m is None:
        raise SystemExit(f"unicode-ident tables: {name} not found")
    return int(m.group(1), 0)


def xid_sets(repo: str) -> tuple[str, set[int], set[int]]:
    text = subprocess.run(
        ["git", "-C", repo, "show", f"{IDENT_TAG}:src/tables.rs"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    version = re.search(r"UNICODE_VERSION: \(u8, u8, u8\) = \((\d+), (\d+), (\d+)\)", text)
    assert version is not None
    chunk = _const(text, "CHUNK")
    ascii_start, ascii_continue = _const(text, "ASCII_START"), _const(text, "ASCII_CONTINUE")
    trie_start, trie_continue = _array(text, "TRIE_START"), _array(text, "TRIE_CONTINUE")
    leaf = _array(text, "LEAF")

    def lookup(trie: list[int], ascii_bits: int, cp: int) -> bool:
        if cp < 128:
            return bool(ascii_bits >> cp & 1)
        index = cp // 8 // chunk
        node = trie[index] if index < len(trie) else 0
        return bool(leaf[node * chunk // 2 + cp // 8 % chunk] >> (cp % 8) & 1)

    start = {cp for cp in range(0x110000) if lookup(trie_start, ascii_start, cp)}
    cont = {cp for cp in range(0x110000) if lookup(trie_continue, ascii_continue, cp)}
    return ".".join(version.groups()), start, cont


def alnum_set() -> tuple[str, set[int]]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "alnum.rs"
        src.write_text(RUST_PROGRAM)
        exe = Path(tmp) / "alnum"
        subprocess.run(["rustc", "-O", str(src), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    found: set[int] = set()
    for line in lines[1:]:
        a, b = map(int, line.split())
        found.update(range(a, b + 1))
    return lines[0], found


def _is_char(cp: int) -> bool:
    return not 0xD800 <= cp <= 0xDFFF


def ranges(points: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(points):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def fmt(name: str, rows: list[tuple[int, int]]) -> str:
    if not rows:
        return f"{name}: tuple[tuple[int, int], ...] = ()\n"
    body = "".join(f"    (0x{a:04X}, 0x{b:04X}),\n" for a, b in rows)
    return f"{name}: tuple[tuple[int, int], ...] = (\n{body})\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--ident-repo", default=IDENT_REPO)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    xid_version, start, cont = xid_sets(args.ident_repo)
    rust_version, alnum = alnum_set()
    chars = [cp for cp in range(0x110000) if _is_char(cp)]
    py_start = {cp for cp in chars if chr(cp).isidentifier() and cp != 0x5F}
    py_cont = {cp for cp in chars if ("a" + chr(cp)).isidentifier()}
    py_alnum = {cp for cp in chars if chr(cp).isalnum()}
    tables = {
        "XID_START_ADDED": ranges(start - py_start),
        "XID_START_REMOVED": ranges(py_start - start),
        "XID_CONTINUE_ADDED": ranges(cont - py_cont),
        "XID_CONTINUE_REMOVED": ranges(py_cont - cont),
        "ALPHANUMERIC_ADDED": ranges(alnum - py_alnum),
        "ALPHANUMERIC_REMOVED": ranges(py_alnum - alnum),
    }
    import unicodedata

    head = f'''"""Unicode properties as cargo 1.95 sees them, as corrections to Python's own tables.

Generated by ``scripts/unicode_tables.py`` (do not edit). cargo 1.95 checks feature names
with unicode-ident {IDENT_TAG} (XID_Start / XID_Continue, Unicode {xid_version}) and target
names with Rust's ``char::is_alphanumeric`` (Unicode {rust_version}). Python answers from
Unicode {unicodedata.unidata_version}, and its ``isalnum`` is not Rust's (the ``Alphabetic``
property includes some marks). Each table lists the code point ranges (inclusive) where
cargo's answer is yes (``_ADDED``) or no (``_REMOVED``) although Python's is the opposite.
Only non-ASCII characters reach these tables.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["is_alphanumeric", "is_xid_continue", "is_xid_start"]

'''
    tail = '''

def _in(table: tuple[tuple[int, int], ...], cp: int) -> bool:
    i = bisect_right(table, (cp, 0x10FFFF))
    return i > 0 and table[i - 1][0] <= cp <= table[i - 1][1]


_Table = tuple[tuple[int, int], ...]


def _corrected(python: bool, cp: int, added: _Table, removed: _Table) -> bool:
    if python:
        return not _in(removed, cp)
    return _in(added, cp)


def is_xid_start(c: str) -> bool:
    """unicode-ident's ``is_xid_start``."""
    return _corrected(c.isidentifier() and c != "_", ord(c), XID_START_ADDED, XID_START_REMOVED)


def is_xid_continue(c: str) -> bool:
    """unicode-ident's ``is_xid_continue``."""
    python = ("a" + c).isidentifier()
    return _corrected(python, ord(c), XID_CONTINUE_ADDED, XID_CONTINUE_REMOVED)


def is_alphanumeric(c: str) -> bool:
    """Rust's ``char::is_alphanumeric``."""
    return _corrected(c.isalnum(), ord(c), ALPHANUMERIC_ADDED, ALPHANUMERIC_REMOVED)
'''
    body = "\n".join(fmt(name, rows) for name, rows in tables.items())
    args.out.write_text(head + body + tail)
    for name, rows in tables.items():
        print(f"{name}: {len(rows)} ranges, {sum(b - a + 1 for a, b in rows)} code points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
