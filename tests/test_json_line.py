"""registry/index/json_line.py, the accelerator, gives exactly what its twin ``orjson.loads``
gives: the same value (same types, same key order, ``-0.0`` kept) or an error from both.

Table-driven edge cases (each place the stdlib ``json`` and orjson differ), every line of the
bundled index, and generated documents and byte strings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.index import json_line

INDEX = Path(__file__).resolve().parent / "fixtures" / "index"


def canonical(value: object) -> list[object]:
    """A flat form in which equal means identical: types, key order and float bits (iterative:
    documents may nest 1000 deep)."""
    out: list[object] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(("dict", len(item)))
            for key, child in reversed(item.items()):
                stack.append(child)
                stack.append(("key", key))
        elif isinstance(item, list):
            out.append(("list", len(item)))
            stack.extend(reversed(item))
        elif isinstance(item, float):
            out.append(("float", item.hex()))
        elif isinstance(item, tuple):
            out.append(item)
        else:
            out.append((type(item).__name__, item))
    return out


def outcome(loads: object, blob: bytes) -> object:
    try:
        return canonical(loads(blob))  # type: ignore[operator]
    except ValueError:
        return "error"


def assert_same(blob: bytes) -> None:
    assert outcome(json_line.loads, blob) == outcome(orjson.loads, blob), blob


CASES = [
    b'{"name":"serde","vers":"1.0.0","deps":[],"cksum":"ab","features":{},"yanked":false}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":1e400}',
    b'{"a":-1e400}',
    b'{"a":1e-400}',
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":1.0}',
    b'{"a":1E5}',
    b'{"a":18446744073709551615}',
    b'{"a":18446744073709551616}',
    b'{"a":-9223372036854775808}',
    b'{"a":-9223372036854775809}',
    b'{"a":123456789012345678901234567890}',
    b'{"a":"\\ud800"}',
    b'{"a":"\\uD800"}',
    b'{"a":"\\udc00x"}',
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":"\\u00e9\\u0000"}',
    b'{"a":"\xff"}',
    b'{"a":"\xed\xa0\x80"}',
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":"\x01"}',
    b'{"a":"\t"}',
    b'{"a":1,"a":2}',
    b'{"a":1} ',
    b' {"a":1}',
    b'{"a":1}x',
    b'{"a":1}{"b":2}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":+1}',
    b'{"a":[1,]}',
    b'{"a":tru}',
    b"{'a':1}",
    b"",
    b"[" * 200 + b"]" * 200,
    b"[" * 1023 + b"]" * 1023,
    b"[" * 1025 + b"]" * 1025,
    b"[" * 5000 + b"]" * 5000,
    b'"just a string"',
    b"null",
    b"12",
]


@pytest.mark.parametrize("blob", CASES)
def test_edge_cases(blob: bytes) -> None:
    assert_same(blob)


def index_lines() -> Iterator[bytes]:
    for path in sorted(INDEX.rglob("*")):
        if path.is_file() and path.name != "config.json":
            yield from path.read_bytes().splitlines()


def test_every_line_of_the_bundled_index() -> None:
    lines = list(index_lines())
    assert len(lines) > 1000
    for blob in lines:
        assert_same(blob)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.booleans())
def test_generated_documents(value: object, ascii_only: bool) -> None:
    assert_same(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


ALPHABET = [*b'{}[]",:0123456789.eE+-\\utrfalsnNI \t\n\x00\xff\xc3\xa9']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=30))
def test_generated_bytes(chars: list[int]) -> None:
    assert_same(bytes(chars))
