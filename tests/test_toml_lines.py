"""query/toml_lines.py: the line each key of a TOML document is defined on, and the line of each
table of an array of tables."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

from query.toml_lines import array_table_lines, key_lines

PROJECTS = Path(__file__).parent / "fixtures" / "projects"

DOC = """\
# a comment
[package]
name = "x"   # trailing
description = \"\"\"
[dependencies]
not = "a key"
\"\"\"

[dependencies]

serde = { version = "1",
  features = ["derive"],   # TOML 1.1: a multi-line inline table
}
'quoted.name' = "2"
"esc\\u0041ped" = "3"
log.workspace = true
log.features = ["std"]

[dependencies.clap]
version = "2"

[target.'cfg(unix)'.dev-dependencies]
libc = "0.2"
arr = [
  "a", # comment ]
  "b",
]
when = 1979-05-27 07:32:00Z
after = 1
"""


def test_lines_of_a_document() -> None:
    lines = key_lines(DOC)
    expected = {
        ("package",): 2,
        ("package", "name"): 3,
        ("package", "description"): 4,
        ("dependencies",): 9,
        ("dependencies", "serde"): 11,
        ("dependencies", "quoted.name"): 14,
        ("dependencies", "escAped"): 15,
        ("dependencies", "log"): 16,
        ("dependencies", "log", "workspace"): 16,
        ("dependencies", "log", "features"): 17,
        ("dependencies", "clap"): 19,
        ("dependencies", "clap", "version"): 20,
        ("target",): 22,
        ("target", "cfg(unix)"): 22,
        ("target", "cfg(unix)", "dev-dependencies"): 22,
        ("target", "cfg(unix)", "dev-dependencies", "libc"): 23,
        ("target", "cfg(unix)", "dev-dependencies", "arr"): 24,
        ("target", "cfg(unix)", "dev-dependencies", "when"): 28,
        ("target", "cfg(unix)", "dev-dependencies", "after"): 29,
    }
    assert lines == expected
    assert ("dependencies", "not") not in lines  # inside a multi-line string


def test_bom_and_crlf() -> None:
    text = '\ufeff[dependencies]\r\n\r\nserde = "1"\r\n'
    assert key_lines(text) == {("dependencies",): 1, ("dependencies", "serde"): 3}


def test_text_that_is_not_toml_gives_what_was_found() -> None:
    assert key_lines('[a]\nb = 1\nc = "unterminated\n') == {("a",): 1, ("a", "b"): 2, ("a", "c"): 3}


@pytest.mark.parametrize("manifest", sorted(PROJECTS.rglob("Cargo.toml")), ids=str)
def test_every_dependency_of_the_fixtures_is_located(manifest: Path) -> None:
    text = manifest.read_text()
    data = tomli.loads(text)
    lines = key_lines(text)
    source = text.splitlines()
    tables = [("dependencies",), ("dev-dependencies",), ("build-dependencies",)]
    tables += [("target", t, k) for t, v in data.get("target", {}).items() for k in v]
    for table in tables:
        holder: object = data
        for part in table:
            holder = holder.get(part, {}) if isinstance(holder, dict) else {}
        for name in holder if isinstance(holder, dict) else ():
            line = lines[(*table, name)]
            assert name in source[line - 1], (table, name, line)


_NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            _NAME, st.integers(0, 2), st.sampled_from(["inline", "dotted", "header", "plain"])
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_generated_dependency_tables(entries: list[tuple[str, int, str]]) -> None:
    """Each entry's line is the one that first names it, whatever the style and the blank
    lines before it."""
    body: list[str] = ["[dependencies]"]
    headers: list[str] = []
    expected: dict[str, int] = {}
    for name, blanks, style in entries:
        if style == "header":
            headers += ["", f"[dependencies.{name}]", 'version = "1"']
            continue
        body += [""] * blanks
        expected[name] = len(body) + 1
        body.append(
            {
                "inline": f'{name} = {{ version = "1" }}',
                "dotted": f"{name}.workspace = true",
                "plain": f'{name} = "1"',
            }[style]
        )
    lines_text = body + headers
    for i, line in enumerate(lines_text, 1):
        if line.startswith("[dependencies.") and line.endswith("]"):
            expected[line[len("[dependencies.") : -1]] = i
    text = "\n".join(lines_text) + "\n"
    tomli.loads(text)  # valid TOML
    found = key_lines(text)
    assert {name: found[("dependencies", name)] for name in expected} == expected


ARRAY_TABLES = [
    # (document, lines of the [[package]] tables)
    ('[[package]]\nname = "a"\n\n[[package]]\nname = "b"\n', [1, 4]),
    ('x = """\n[[package]]\n"""\n# [[package]]\n[[package]]\n', [5]),
    ('[[ "package" ]]\n[[ \'package\' ]]\n[["p\\u0061ckage"]]\n', [1, 2, 3]),
    ("[[package.dep]]\n[[packages]]\n[package2]\n", []),
    (
        'package = [\n  {name = "a"},\n  # {name = "no"}\n  {name = "b"}, {name = "c"},\n]\n',
        [2, 4, 4],
    ),
    ('package = [[{name = "nested: not a table of package"}]]\n', []),
    ('[meta]\npackage = [{name = "not top level"}]\n', []),
    ('version = 3\r\n\r\n[[package]]\r\nname = "crlf"\r\n', [3]),
    ('\ufeff[[package]]\nname = "bom"\n', [1]),
    ('[[package]]\nname = "a"\n[[package]]\nname = "unterminated\n[[package]]\n', [1, 3]),
]


@pytest.mark.parametrize(("text", "lines"), ARRAY_TABLES)
def test_array_table_lines(text: str, lines: list[int]) -> None:
    assert array_table_lines(text, "package") == lines
