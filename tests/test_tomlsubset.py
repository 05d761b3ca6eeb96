"""The fast reader for hand-written TOML returns exactly what tomllib returns, or None (then the
callers run tomllib, which decides)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query.tomlsubset import parse_subset
from registry.config.cargo_config import read_config_file as read_cargo_config
from registry.errors import InputError
from registry.input_files import read_toml

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
MANIFESTS = sorted(PROJECTS.rglob("Cargo.toml"))


def same(fast: dict[str, Any] | None, text: str) -> bool:
    """``fast`` is tomllib's mapping for ``text``: same keys in the same order, same types
    (``True`` is not ``1``), same values."""
    return repr(fast) == repr(tomllib.loads(text))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(PROJECTS)))
def test_every_fixture_manifest_takes_the_fast_path(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = parse_subset(text)
    assert fast is not None
    assert same(fast, text)
    crlf = text.replace("\n", "\r\n")
    assert same(parse_subset(crlf), crlf)


CARGO_CONFIGS = {
    "source replacement": """\
[source.crates-io]
replace-with = "mirror"

[source.mirror]
registry = "sparse+https://mirror.example/index/"
""",
    "cargo vendor": """\
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
""",
    "registries and settings": """\
# Company settings
[registries.internal]
index = "sparse+https://cargo.internal/index/"  # sparse
token = "secret"

[registry]
default = "internal"

[net]
git-fetch-with-cli = true
retry = 3

[http]
timeout = 30
check-revoke = false
""",
    "build and targets": """\
[build]
jobs = 4
rustflags = ["-C", "target-cpu=native"]

[target.x86_64-unknown-linux-gnu]
linker = "clang"
rustflags = [
    "-C", "link-arg=-fuse-ld=lld",  # faster links
]

[target.'cfg(windows)']
rustflags = ["-C", "link-arg=/STACK:8000000"]

[target."x86_64-pc-windows-gnu"]
linker = "x86_64-w64-mingw32-gcc"
""",
    "alias and env": """\
[alias]
b = "build"
xtask = ["run", "--package", "xtask", "--"]

[env]
FOO = { value = "bar", relative = true }
OPENSSL_DIR = { value = "/opt/openssl", force = true }
TMPDIR = 'C:\\Temp'
""",
    "dotted keys": """\
source.crates-io.replace-with = "mirror"
source.mirror.registry = "sparse+https://mirror.example/index/"
term.verbose = true
""",
    "credentials": """\
[registries.internal]
token = "Bearer abc.def"
""",
}


@pytest.mark.parametrize("text", CARGO_CONFIGS.values(), ids=CARGO_CONFIGS.keys())
def test_cargo_configs_take_the_fast_path(text: str) -> None:
    fast = parse_subset(text)
    assert fast is not None
    assert same(fast, text)


# Each feature of the subset, alone.
INSIDE = {
    "empty": "",
    "blank lines and comments": "\n# a\n\n  # b\n\t\n",
    "no final line end": "a = 1",
    "CRLF": "a = 1\r\n[b]\r\nc = [\r\n  1,\r\n]\r\n",
    "tabs and spaces": "\ta\t=\t1\t#\tc\n  [ b . c ]  # d\n",
    "bare keys": "a-b_C9 = 1\n1 = 2\ntrue = 3\n- = 4\n",
    "quoted keys": '"a b" = 1\n\'c"d\' = 2\n"" = 3\n"e.f" = 4\n\'#\' = 5\n',
    "dotted keys": "a.b.c = 1\na . b . d = 2\n\"x\".'y'.z = 3\n",
    "headers": "[a]\n[a.b]\n[\"c\".'d'.e]\n[target.'cfg(unix)'.dependencies]\nx = 1\n",
    "implicit table declared later": "[a.b]\nx = 1\n[a]\ny = 2\n",
    "arrays of tables": "[[bin]]\nname = 'a'\n[bin.x]\ny = 1\n[[bin]]\n[bin.x]\ny = 2\n",
    "nested arrays of tables": "[[a]]\n[[a.b]]\nc = 1\n[[a.b]]\n[[a]]\n[[a.b]]\n",
    "strings": 'a = "x # y = [z]"\nb = ""\nc = "é\u00a0\u2028€"\nd = "tab\there"\n',
    "escapes": 'a = "q\\"q b\\\\s n\\n t\\t b\\b f\\f r\\r"\n',
    "literal strings": "a = 'C:\\path\\\"x\"'\nb = ''\n",
    "multi-line strings": 'a = """\nx\n  y"""\nb = \'\'\'\n\\n "x" \'\'\'\n'
    'c = """ab \\\n\n   cd"""\n',
    "integers": "a = 0\nb = -0\nc = +1\nd = 1_000\ne = -123456789012345678\n",
    "booleans": "a = true\nb = false\n",
    "arrays": 'a = []\nb = [ ]\nc = [1, "x", [2, [3]], {a = 1}]\nd = ["a", "b",]\n',
    "multi-line arrays": "a = [\n  # c\n  1, # d\n\n  2,\n  # e\n]\nb = [\n[\n1\n]\n]\n",
    "inline tables": 'a = {}\nb = { }\nc = { x = 1, y = "z", w = [1, 2], v = { u = true } }\n',
    "arrays in inline tables": 'a = { b = [], c = [ ], d = ["x", ], e = [ "]" ], f = [[]] }\n',
    "dotted keys in inline tables": 'a = { x.y = 1, x.z = 2, "q".r = 3 }\n',
    "trailing comments": 'a = "x" # "y"\nb = [1] # ]\nc = { d = 1 } # }\n[e] # [f]\n',
}


@pytest.mark.parametrize("text", INSIDE.values(), ids=INSIDE.keys())
def test_the_subset_matches_tomllib(text: str) -> None:
    fast = parse_subset(text)
    assert fast is not None
    assert same(fast, text)


# (text, whether tomllib accepts it): outside the subset, or not TOML at all.
OUTSIDE: dict[str, tuple[str, bool]] = {
    "float": ("a = 1.5\n", True),
    "exponent": ("a = 1e3\n", True),
    "inf": ("a = inf\n", True),
    "nan": ("a = -nan\n", True),
    "hex integer": ("a = 0x1F\n", True),
    "octal integer": ("a = 0o17\n", True),
    "binary integer": ("a = 0b11\n", True),
    "19-digit integer": ("a = 1234567890123456789\n", True),
    "date": ("a = 1979-05-27\n", True),
    "date-time": ("a = 1979-05-27T07:32:00Z\n", True),
    "time": ("a = 07:32:00\n", True),
    "unicode escape": ('a = "\\u00e9"\n', True),
    "long unicode escape": ('a = "\\U0001F600"\n', True),
    "escape in a quoted key": ('"a\\tb" = 1\n', True),
    "escape in a multi-line string": ('a = """x\\ty"""\n', True),
    "quote before a closing delimiter": ('a = """x""""\n', True),
    "header inside a dotted-key table": ("a.b = 1\n[a.c]\n", True),
    "dotted key through an implicit table": ("[a.b.c]\n[a]\nb.d = 1\n", True),
    "duplicate key": ("a = 1\na = 2\n", False),
    "duplicate key, quoted": ('a = 1\n"a" = 2\n', False),
    "duplicate key in an inline table": ("a = { b = 1, b = 2 }\n", False),
    "table redefined": ("[a]\n[a]\n", False),
    "table redefined after a subtable": ("[a]\n[a.b]\n[a]\n", False),
    "header after dotted keys": ("a.b = 1\n[a]\n", False),
    "dotted keys into a declared table": ("[a.b]\n[a]\nb.c = 1\n", False),
    "key then table": ("a = 1\n[a]\n", False),
    "key then dotted key": ("a = 1\na.b = 2\n", False),
    "dotted key then key": ("a.b = 1\na = 2\n", False),
    "inline table extended by a header": ("a = {}\n[a.b]\n", False),
    "inline table under a reopened table extended": ("[a.b]\n[a]\nc = {}\n[a.c.d]\n", False),
    "inline table extended by a dotted key": ("a = { b = 1 }\na.c = 2\n", False),
    "inline table key extended in itself": ("a = { b = {}, b.c = 1 }\n", False),
    "array extended by [[header]]": ("a = [1]\n[[a]]\n", False),
    "table then array of tables": ("[a]\n[[a]]\n", False),
    "array of tables then table": ("[[a]]\n[a]\n", False),
    "bad escape": ('a = "\\x"\n', False),
    "leading zero": ("a = 01\n", False),
    "double underscore": ("a = 1__0\n", False),
    "leading underscore": ("a = _1\n", False),
    "trailing underscore": ("a = 1_\n", False),
    "unterminated array": ("a = [1,\n", False),
    "unterminated string": ('a = "x\n', False),
    "unterminated multi-line string": ('a = """x\n', False),
    "key without value": ("a =\n", False),
    "key without equals": ("a\n", False),
    "value without key": ("= 1\n", False),
    "two values": ("a = 1 2\n", False),
    "text after a string": ('a = "x" y\n', False),
    "text after a literal string": ("a = 'x' y\n", False),
    "text after an array": ('a = ["x"] ]\n', False),
    "text after an inline table": ("a = { b = 1 } x\n", False),
    "line end in a string in an array": ('a = ["x\ny"]\n', False),
    "line end in a literal string": ("a = 'x\ny'\n", False),
    "trailing comma in an inline table": ("a = { b = 1, }\n", False),
    "comma in an empty array in an inline table": ("a = { b = [,] }\n", False),
    "trailing comma after an array in an inline table": ('a = { b = ["x"], }\n', False),
    "text after an array in an inline table": ('a = { b = ["x"] c = 1 }\n', False),
    "line end in an inline table": ("a = {\nb = 1 }\n", False),
    "empty array with a comma": ("a = [,]\n", False),
    "missing comma": ('a = ["x" "y"]\n', False),
    "header with ]]": ("[a]]\n", False),
    "array header with ]": ("[[a]\n", False),
    "space in [[": ("[ [a]]\n", False),
    "text after a header": ("[a] b\n", False),
    "empty header": ("[]\n", False),
    "control character": ("a = 1 # \x01\n", False),
    "lone CR": ("a = 1\rb = 2\n", False),
    "no-break space as whitespace": ("a =\u00a01\n", False),
    "capitalised boolean": ("a = True\n", False),
    "byte order mark": ("\ufeffa = 1\n", False),
}


@pytest.mark.parametrize(("text", "valid"), OUTSIDE.values(), ids=OUTSIDE.keys())
def test_texts_outside_the_subset_return_none(text: str, valid: bool) -> None:
    assert parse_subset(text) is None
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        accepted = False
    else:
        accepted = True
    assert accepted is valid


@pytest.mark.parametrize(("text", "valid"), OUTSIDE.values(), ids=OUTSIDE.keys())
def test_readers_fall_back_to_toml11(text: str, valid: bool, tmp_path: Path) -> None:
    """read_toml and the cargo config reader give tomli's mapping (TOML 1.1, which cargo 1.95
    reads: newlines and trailing commas in inline tables are valid there), or its located
    error. A leading byte order mark is skipped, as cargo's lexer skips it."""
    import tomli

    path = tmp_path / "Cargo.toml"
    path.write_bytes(text.encode())
    body = text.removeprefix("\ufeff")
    try:
        expected = repr(tomli.loads(body))  # repr: nan != nan
    except tomli.TOMLDecodeError:
        expected = None
    if valid:
        assert expected is not None  # TOML 1.1 accepts whatever TOML 1.0 accepts
    if expected is not None:
        data, read_text = read_toml(path)
        assert (repr(data), read_text) == (expected, body)
        assert repr(read_cargo_config(path)) == expected
    else:
        with pytest.raises(InputError, match=r"invalid TOML: .*\(at (line \d+, column \d+|end)"):
            read_toml(path)
        with pytest.raises(InputError, match="invalid cargo configuration"):
            read_cargo_config(path)


def test_readers_take_the_fast_path_without_tomllib(tmp_path: Path) -> None:
    """Reading manifests and cargo configs in the subset never imports tomllib (~5 ms), nor
    does importing the reader import anything."""
    manifest = tmp_path / "Cargo.toml"
    manifest.write_text('[package]\nname = "a"\n')
    config = tmp_path / "config.toml"
    config.write_text(CARGO_CONFIGS["source replacement"])
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import query.tomlsubset\n"
        "print(sorted(set(sys.modules) - before - {'__future__', 'query', 'query.tomlsubset'}))\n"
        "from pathlib import Path\n"
        "from registry.input_files import read_toml\n"
        "from registry.config.cargo_config import read_config_file as _read\n"
        f"assert read_toml(Path({str(manifest)!r}))[0] == {{'package': {{'name': 'a'}}}}\n"
        f"assert _read(Path({str(config)!r}))['source']['mirror']\n"
        "print('tomllib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["[]", "False"]


# A small grammar of the subset's pieces. Each piece also has its mistakes and near misses
# (invalid TOML, or valid but outside the subset): a noisy line takes exactly one, at a place
# drawn at random, so that the rest of the line still reaches the code around it.
_NOISE = {"at": -1, "count": 0}  # the noisy piece's number in the line being drawn, and a count


def _pick(valid: list[str], noise: list[str]) -> st.SearchStrategy[str]:
    valid_pieces, noisy_pieces = st.sampled_from(valid), st.sampled_from(noise)

    @st.composite
    def piece(draw: st.DrawFn) -> str:
        _NOISE["count"] += 1
        return draw(noisy_pieces if _NOISE["count"] == _NOISE["at"] else valid_pieces)

    return piece()


def _grammar() -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """Strategies for lines and for values."""
    pick = _pick
    names = st.sampled_from(["a", "b", "c", "d", "e", "a-b", "1", "true", "_", "Z9"])
    part = st.one_of(
        names,
        names,
        names.map(lambda n: f'"{n}"'),
        names.map(lambda n: f"'{n}'"),
        pick(
            ['""', "''", '"a.b"', "'a.b'", '"a b"', "'c\"d'", '"é"', '"a=b"', "'#'", '"]"', "'\\'"],
            ["a b", "é", "", '"a\\tb"', '"\\u0041"', '"a', "'a", '"""a"""'],
        ),
    )
    dot = pick([".", ".", ".", " . ", "\t.", ". "], ["..", " ", ""])

    @st.composite
    def keys(draw: st.DrawFn) -> str:
        parts = draw(st.lists(part, min_size=1, max_size=3))
        return "".join(p if i == 0 else draw(dot) + p for i, p in enumerate(parts))

    basic_char = pick(
        [*"ab #'=[]{},.\té€\u00a0\u2028", '\\"', "\\\\", "\\n", "\\t", "\\b", "\\f", "\\r"],
        ["\\u00e9", "\\x", '"', "\\", "\x01", "\x7f", "\r", "\n", "\\\n"],
    )
    literal_char = pick([*'ab #"=[]{},.\t\\é\u2028'], ["'", "\x01", "\n", "\r"])
    multiline_piece = pick(
        ["a", " ", "\n", '"', "'", '""', "''", "\\\n", "\\  \n  ", "\\ \t\n\n  b", "#", "\t"],
        ["\\n", "\\", "\\ x", "\r\n", "é", "\\\\", '\\"', "\x01", "\r", "\\u00e9"],
    )

    @st.composite
    def strings(draw: st.DrawFn) -> str:
        kind = draw(st.integers(0, 3))
        if kind <= 1:
            return '"' + "".join(draw(st.lists(basic_char, max_size=5))) + '"'
        if kind == 2:
            return "'" + "".join(draw(st.lists(literal_char, max_size=5))) + "'"
        quotes = draw(st.sampled_from(['"""', "'''"]))
        body = "".join(draw(st.lists(multiline_piece, max_size=6)))
        return quotes + body + draw(pick([quotes], [quotes + quotes[0], quotes + quotes[:2], ""]))

    words = pick(
        ["0", "-0", "+0", "1", "-1", "+1", "42", "1_000", "-1_2_3", "true", "false", "-999"],
        [
            *("1__0", "_1", "1_", "01", "00", "0x1F", "0o7", "0b1", "1e3", "1.5", "-1.5", "inf"),
            *("nan", "True", "tru", "truex", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z"),
            *("1 2", "1,", "123456789012345678", "1234567890123456789", "+", "-", "", "\uff11"),
            *("+_1", "0_0"),
        ],
    )
    array_space = pick(
        ["", "", " ", "\n", "  ", "\n  ", " # c\n", "\n# c\n", "\t", "\n\n", "\r\n"],
        ["#c", "\u00a0", "\x0b", "]", ","],
    )
    inline_space = pick(["", " ", " ", "\t"], ["\n", "\r\n", ","])

    def values(depth: int) -> st.SearchStrategy[str]:
        scalar = st.one_of(strings(), words)
        if depth == 0:
            return scalar
        return st.one_of(scalar, scalar, arrays(values(depth - 1)), tables(values(depth - 1)))

    @st.composite
    def arrays(draw: st.DrawFn, items: st.SearchStrategy[str]) -> str:
        chosen = draw(st.lists(items, max_size=4))
        out = "[" + draw(array_space)
        for i, item in enumerate(chosen):
            out += item + draw(array_space)
            if i < len(chosen) - 1 or draw(st.booleans()):
                out += draw(pick([",", ", ", ",\n"], [",,", ""])) + draw(array_space)
        return out + draw(pick(["]"], ["", ",]", "]]"]))

    @st.composite
    def tables(draw: st.DrawFn, items: st.SearchStrategy[str]) -> str:
        pairs = draw(st.lists(st.tuples(keys(), items), max_size=3))
        out = "{" + draw(inline_space)
        for i, (key, value) in enumerate(pairs):
            out += key + draw(pick([" = ", "=", " =", "\t=\t"], ["", " == ", ","])) + value
            out += draw(inline_space)
            if i < len(pairs) - 1:
                out += "," + draw(inline_space)
        return out + draw(pick(["}"], ["", ",}", ", }", "}}"]))

    comment = pick(
        ["", "", "", " # c", "# c", "\t#x y", " #", " # é", " # a = 1", " # ]", ' # "x"'],
        [" # \x01", " garbage", " # \r", " ]", " }", " ,", ' "x"', "x"],
    )
    indent = pick(["", "", "", " ", "\t", "  "], ["\u00a0", "\x0c"])
    header = pick(
        ["[{}]", "[{}]", "[[{}]]"], ["[{}", "[[{}]", "[{}]]", "[ [{}]]", "[[{}] ]", "[{}]x"]
    )
    equals = pick([" = ", " = ", "=", " =", "= ", "\t=  "], [" == ", "  ", " = = ", ""])
    blank = pick(
        ["# comment", "#", "", "  # x = 1"],
        ["=", "a", "a =", "= 1", "\ufeffa = 1", "a = 1 b = 2", "[]", "[[]]", "a = 1\rb = 2"],
    )
    value = values(2)

    @st.composite
    def lines(draw: st.DrawFn) -> str:
        kind = draw(st.integers(0, 8))
        if kind <= 5:
            return draw(indent) + draw(keys()) + draw(equals) + draw(value) + draw(comment)
        if kind <= 7:
            key = (
                draw(st.sampled_from(["", " ", "\t"]))
                + draw(keys())
                + draw(st.sampled_from(["", " "]))
            )
            return draw(indent) + draw(header).format(key) + draw(comment)
        return draw(indent) + draw(blank)

    return lines(), value


_LINES, _VALUES = _grammar()


def _cargo_values() -> st.SearchStrategy[str]:
    """Values as manifests write them (the shapes the reader has shortcuts for): strings,
    booleans and integers, arrays of strings, one-line inline tables of those."""
    pick = _pick
    text = st.lists(pick([*"ab-.=,:#/[]{}' ", "é"], ['"', "\\", "\n", "\x01"]), max_size=4)
    string = text.map(lambda chars: '"' + "".join(chars) + '"')
    word = pick(["true", "false", "0", "1", "-2", "1_000"], ["01", "1.0", "tru", "", "1 1"])
    space = pick(["", " ", " ", "  ", "\t"], ["\n", ",", "#", "x", "]", "}"])

    @st.composite
    def array(draw: st.DrawFn) -> str:
        items = draw(st.lists(string, max_size=3))
        out = "[" + draw(space)
        for i, item in enumerate(items):
            out += item + draw(space)
            if i < len(items) - 1:
                out += draw(pick([","], ["", ",,"])) + draw(space)
        if draw(st.booleans()) and items:
            out += "," + draw(space)
        return out + draw(pick(["]"], ["", ",]", "]]", "],"]))

    scalar = st.one_of(string, word, array())
    key = pick(["a", "b", "version", "features", "default-features"], ["", "a b", "a.", "="])

    @st.composite
    def table(draw: st.DrawFn) -> str:
        pairs = draw(st.lists(st.tuples(key, scalar), max_size=3))
        out = "{" + draw(space)
        for i, (name, value) in enumerate(pairs):
            out += name + draw(space) + draw(pick(["="], ["", "=="])) + draw(space) + value
            out += draw(space)
            if i < len(pairs) - 1:
                out += draw(pick([","], ["", ",,"])) + draw(space)
        return out + draw(pick(["}"], ["", ",}", "}}", "},"]))

    return st.one_of(scalar, array(), table(), table())


@st.composite
def _noisy(draw: st.DrawFn, strategy: st.SearchStrategy[str]) -> str:
    _NOISE["at"], _NOISE["count"] = draw(st.integers(1, 15)), 0
    try:
        return draw(strategy)
    finally:
        _NOISE["at"] = -1


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """Clean lines, each kept only if tomllib accepts the document with it (so documents grow
    long); in half the documents, one noisy line somewhere."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        line = draw(_LINES)
        if _accepted([*out, line]):
            out.append(line)
    if draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), draw(_noisy(_LINES)))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = newline.join(out)
    return text + newline if draw(st.booleans()) else text


_NAMES = ["a", "b", "c"]
_CONTAINERS = ["1", "{}", "{ a = 1 }", "{ a.b = 1 }", "{ b = { a = 1 } }", "[]", "[{}]", "[1]"]


def _accepted(lines: list[str]) -> bool:
    try:
        tomllib.loads("\n".join(lines))
    except tomllib.TOMLDecodeError:
        return False
    return True


@st.composite
def _structures(draw: st.DrawFn) -> str:
    """Headers, dotted keys and container values over three names, each header most often a
    prefix of an earlier path, extended: TOML's table rules. Lines tomllib rejects are dropped
    (so the documents grow long) but for, sometimes, a last one."""
    paths: list[list[str]] = [[]]  # every table header and key so far, from the root
    section: list[str] = []
    out: list[str] = []
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.integers(0, 4))
        if kind <= 1:
            relative = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3))
            path = section + relative
        else:
            base = draw(st.sampled_from(paths))
            path = base[: draw(st.integers(0, len(base)))]
            path += draw(st.lists(st.sampled_from(_NAMES), min_size=0 if path else 1, max_size=2))
            relative = path
        quoted = [draw(st.sampled_from([n, n, n, f'"{n}"', f"'{n}'"])) for n in relative]
        key = draw(st.sampled_from([".", ".", " . "])).join(quoted)
        if kind <= 1:
            line = f"{key} = {draw(st.sampled_from(_CONTAINERS))}"
        elif kind <= 3:
            line = f"[{key}]"
        else:
            line = f"[[{key}]]"
        if _accepted([*out, line]):
            paths.append(path)
            out.append(line)
            if kind > 1:
                section = path
        elif draw(st.integers(0, 9)) == 0:
            out.append(line)
            break
    return "\n".join(out) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        _documents(),
        _structures(),
        _noisy(_VALUES).map("x = {}\n".format),
        _noisy(_cargo_values()).map("x = {}\n".format),
    )
)
def test_generated_documents_match_tomllib_or_return_none(text: str) -> None:
    fast = parse_subset(text)
    if fast is not None:
        try:
            expected = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise AssertionError(f"accepted invalid TOML ({exc}): {text!r}") from None
        assert repr(fast) == repr(expected), text
