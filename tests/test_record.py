"""query.record: Record and FrozenRecord, the bases of the slotted classes replacing dataclasses."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

from query.record import FrozenRecord, Record


class Point(FrozenRecord):
    _fields = ("x", "y", "label", "cache")
    _compare = ("x", "y", "label")  # not cache
    _repr = ("x", "y", "label")  # not cache
    _hash = ("x", "y")  # label is compared, not hashed
    __slots__ = _fields

    x: int
    y: int
    label: object
    cache: object

    def __init__(self, x: int, y: int, label: object = "", cache: object = None) -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "cache", cache)


class OtherPoint(FrozenRecord):
    """Same fields and values as Point: still never equal to one."""

    _fields = ("x", "y", "label", "cache")
    __slots__ = _fields

    def __init__(self, x: int, y: int, label: object = "", cache: object = None) -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "cache", cache)


class SubPoint(Point):
    """Inherits Point's field tuples (declares none of its own)."""

    __slots__ = ()


class Empty(FrozenRecord):
    _fields = ()
    __slots__ = _fields


class Bag(Record):
    _fields = ("items", "size")
    __slots__ = _fields

    items: list[int]
    size: int

    def __init__(self, items: list[int] | None = None, size: int = 0) -> None:
        self.items = [] if items is None else items
        self.size = size


def test_defaults_resolved_per_class() -> None:
    assert Point._hash == ("x", "y")
    assert OtherPoint._compare == OtherPoint._repr == OtherPoint._hash == OtherPoint._fields
    assert SubPoint._compare == Point._compare and SubPoint._hash == Point._hash
    assert Bag._compare == Bag._repr == ("items", "size")


# (a, b, a == b): only the exact same class compares equal; skipped fields do not count
EQUALITY: list[tuple[object, object, bool]] = [
    (Point(1, 2, "a"), Point(1, 2, "a"), True),
    (Point(1, 2, "a", cache=1), Point(1, 2, "a", cache=2), True),
    (Point(1, 2, "a"), Point(1, 2, "b"), False),
    (Point(1, 2), Point(1, 3), False),
    (Point(1, 2), OtherPoint(1, 2), False),
    (Point(1, 2), SubPoint(1, 2), False),
    (SubPoint(1, 2), SubPoint(1, 2, cache=5), True),
    (Point(1, 2), (1, 2, ""), False),
    (Empty(), Empty(), True),
    (Empty(), Point(0, 0), False),
    (Bag([1], 1), Bag([1], 1), True),
    (Bag([1], 1), Bag([2], 1), False),
    (Bag(), Empty(), False),
]


@pytest.mark.parametrize(("a", "b", "equal"), EQUALITY)
def test_equality(a: object, b: object, equal: bool) -> None:
    assert (a == b) is equal
    assert (b == a) is equal
    assert (a != b) is not equal


def test_eq_returns_notimplemented_across_classes() -> None:
    assert Point(1, 2).__eq__(OtherPoint(1, 2)) is NotImplemented
    assert Bag().__eq__(object()) is NotImplemented


# (record, hash value or the exception hashing raises)
HASHES: list[tuple[object, int | type[Exception]]] = [
    (Point(1, 2, "a", cache=[]), hash((1, 2))),  # label and cache are not hashed
    (Point(1, 2, "b"), hash((1, 2))),
    (OtherPoint(1, 2), hash((1, 2, "", None))),
    (Empty(), hash(())),
    (OtherPoint(1, 2, label=[]), TypeError),  # an unhashable field value
    (Bag(), TypeError),  # mutable records are unhashable
]


@pytest.mark.parametrize(("record", "expected"), HASHES)
def test_hash(record: object, expected: int | type[Exception]) -> None:
    if isinstance(expected, int):
        assert hash(record) == expected
    else:
        with pytest.raises(expected):
            hash(record)


def _assign(r: object) -> None:
    r.x = 5  # type: ignore[attr-defined]


def _assign_new(r: object) -> None:
    r.z = 5  # type: ignore[attr-defined]


def _delete(r: object) -> None:
    del r.x  # type: ignore[attr-defined]


# (action, message)
FROZEN: list[tuple[Callable[[object], None], str]] = [
    (_assign, "cannot assign to field 'x'"),
    (_assign_new, "cannot assign to field 'z'"),
    (_delete, "cannot delete field 'x'"),
]


@pytest.mark.parametrize(("action", "message"), FROZEN)
def test_frozen(action: Callable[[object], None], message: str) -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError) as caught:
        action(point)
    assert str(caught.value) == message
    assert point.x == 1


def test_record_is_mutable() -> None:
    bag = Bag()
    bag.items.append(1)
    bag.size = 1
    assert bag == Bag([1], 1)
    with pytest.raises(AttributeError):
        bag.other = 1  # type: ignore[attr-defined]  # slotted: no new attributes


# (record, repr)
REPRS: list[tuple[object, str]] = [
    (Point(1, 2, "a", cache=object()), "Point(x=1, y=2, label='a')"),
    (OtherPoint(1, 2), "OtherPoint(x=1, y=2, label='', cache=None)"),
    (SubPoint(1, 2), "SubPoint(x=1, y=2, label='')"),
    (Empty(), "Empty()"),
    (Bag([1, 2], 2), "Bag(items=[1, 2], size=2)"),
]


@pytest.mark.parametrize(("record", "text"), REPRS)
def test_repr(record: object, text: str) -> None:
    assert repr(record) == text


# the field not compared (cache) must survive too
ROUND_TRIPS: list[Callable[[object], object]] = [
    copy.copy,
    copy.deepcopy,
    lambda r: pickle.loads(pickle.dumps(r)),
    lambda r: pickle.loads(pickle.dumps(r, protocol=2)),
]


@pytest.mark.parametrize("round_trip", ROUND_TRIPS)
@pytest.mark.parametrize(
    "record", [Point(1, 2, ("a", ["b"]), cache={"k": 1}), SubPoint(3, 4), Empty(), Bag([1], 1)]
)
def test_copy_and_pickle(round_trip: Callable[[object], object], record: object) -> None:
    clone = round_trip(record)
    assert type(clone) is type(record)
    assert clone == record
    assert repr(clone) == repr(record)
    if isinstance(record, Point):
        assert isinstance(clone, Point)
        assert clone.cache == record.cache


def test_deepcopy_copies_mutable_fields() -> None:
    point = Point(1, 2, ["a"], cache={"k": 1})
    clone = copy.deepcopy(point)
    assert clone.label == ["a"] and clone.label is not point.label
    assert clone.cache == {"k": 1} and clone.cache is not point.cache


def test_tuple_records_behave_like_namedtuples() -> None:
    """The run-time stand-ins for NamedTuples (query/record.TupleRecord) against the
    ``collections.namedtuple`` they replace."""
    from collections import namedtuple

    from query.manifest import GitSource, PathSource, RegistrySource

    cases = [
        (RegistrySource, ("registry", "my-reg", None), ("kind", "registry", "index_url")),
        (PathSource, ("path", "../x"), ("kind", "path")),
        (GitSource, ("git", "https://g/x", "main"), ("kind", "url", "ref")),
    ]
    for cls, values, fields in cases:
        model = namedtuple(cls.__name__, fields)  # type: ignore[misc]
        ours, theirs = cls(*values), model(*values)
        assert cls._fields == fields
        assert repr(ours) == repr(theirs)
        assert tuple(ours) == tuple(theirs) and ours == values
        assert ours._asdict() == theirs._asdict()
        assert cls._make(values) == ours
        assert ours._replace(kind="other") == ("other", *values[1:])
        assert pickle.loads(pickle.dumps(ours)) == ours
        assert [getattr(ours, name) for name in fields] == list(values)
        with pytest.raises(TypeError, match="Expected"):
            cls._make(values[:-1])
        with pytest.raises(ValueError, match="unexpected field names"):
            ours._replace(nope=1)
        match ours:
            case cls(kind=kind):
                assert kind == values[0]
            case _:
                raise AssertionError("no match")
    assert RegistrySource() == ("registry", None, None)
    assert PathSource() == ("path", ".")
    assert GitSource() == ("git", "", None)
