"""query.names: crate-name validation and the index path (spec §1.1-1.3)."""

from __future__ import annotations

import pytest

from query.names import CrateNameError, index_path, validate_crate_name

# (name, index path): §1.1 vectors after lowering, plus §1.2 observed examples
INDEX_PATHS = [
    ("a", "1/a"),
    ("ab", "2/ab"),
    ("abc", "3/a/abc"),
    ("Abc", "3/a/abc"),
    ("AbCd", "ab/cd/abcd"),
    ("aBcDe", "ab/cd/abcde"),
    ("A", "1/a"),
    ("_", "1/_"),
    ("a-", "2/a-"),
    ("a-b", "3/a/a-b"),
    ("serde", "se/rd/serde"),
    ("serde_json", "se/rd/serde_json"),
    ("my_Crate", "my/_c/my_crate"),
    ("my-crate", "my/-c/my-crate"),
    ("FooBar", "fo/ob/foobar"),
    ("_x_y", "_x/_y/_x_y"),
    ("a1", "2/a1"),
    ("x" * 64, f"xx/xx/{'x' * 64}"),
]


@pytest.mark.parametrize(("name", "path"), INDEX_PATHS)
def test_index_path(name: str, path: str) -> None:
    assert index_path(name) == path
    assert validate_crate_name(name) == name


HOSTILE = [
    "",
    "../x",
    "..",
    ".",
    "a/b",
    "/abs",
    "a\\b",
    "a\x00b",
    "a\nb",
    "serde\n",
    "-x",
    "1abc",
    "9",
    "x" * 65,
    "\u017fer\u017fde",  # LATIN SMALL LETTER LONG S: lowercases/casefolds to "s"
    "\u212aelvin",  # KELVIN SIGN: looks like "K"
    "caf\u00e9",
    "\u0441erde",  # CYRILLIC SMALL LETTER ES
    "serde ",
    " serde",
    "ser de",
    "ser\tde",
    "a.b",
    "a+b",
    "a@b",
    "a==b",
    "a%2fb",
    "serde\u200b",  # ZERO WIDTH SPACE
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names(name: str) -> None:
    with pytest.raises(CrateNameError) as info:
        validate_crate_name(name)
    message = str(info.value)
    assert repr(name) in message
    assert "\n" not in message
    assert "\x00" not in message
    assert "a letter or '_' first" in message
    assert isinstance(info.value, ValueError)
    assert info.value.name == name
    with pytest.raises(CrateNameError):
        index_path(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "the name is empty"),
        ("x" * 65, "65 characters long"),
        ("-x", "it starts with '-'"),
        ("1abc", "it starts with '1'"),
        ("a/b", "it contains '/' at position 1"),
        ("a\x00b", "it contains '\\x00' at position 1"),
        ("\u017ferde", "it starts with '\u017f'"),
    ],
)
def test_reason_says_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(CrateNameError, match="invalid crate name") as info:
        validate_crate_name(name)
    assert reason in str(info.value)


def test_very_long_name_is_shortened_in_message() -> None:
    name = "a" * 10_000
    with pytest.raises(CrateNameError) as info:
        validate_crate_name(name)
    message = str(info.value)
    assert len(message) < 400
    assert "10000 characters long" in message
