"""query.record: `Record`, the one way to declare a data class."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

from query.record import Record, field, replace


class Point(Record):
    x: int
    y: int
    label: object = field(default="", hash=False)  # compared, not hashed
    cache: object = field(default=None, compare=False, repr=False)


class OtherPoint(Record):
    """Same fields and values as Point: still never equal to one."""

    x: int
    y: int
    label: object = ""
    cache: object = None


class SubPoint(Point):
    """A plain subclass: Point's fields and methods, never equal to a Point."""

    __slots__ = ()


class Empty(Record):
    pass


class Bag(Record, frozen=False):
    items: list[int] = field(default_factory=list)
    size: int = 0


def test_fields_in_declaration_order() -> None:
    assert Point.__match_args__ == ("x", "y", "label", "cache")
    assert Bag.__match_args__ == ("items", "size")
    assert Empty.__match_args__ == ()


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


def test_constructor_binds_like_a_function() -> None:
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2, label="")
    assert Bag() == Bag([], 0) and Bag().items is not Bag().items  # a fresh default each
    for call, message in (
        (lambda: Point(1), "missing required arguments: y"),
        (lambda: Point(1, 2, "a", None, 5), "takes 4 positional arguments but 5 were given"),
        (lambda: Point(1, 2, z=3), "unexpected keyword argument 'z'"),
        (lambda: Point(1, 2, x=3), "multiple values for argument 'x'"),
    ):
        with pytest.raises(TypeError, match=message):
            call()


def test_a_subclass_of_a_record_adds_no_field() -> None:
    class Sub(Point):
        __slots__ = ()
        extra: int = 0  # not a field: Point's fields and methods

    assert Sub.__match_args__ == Point.__match_args__
    assert Sub(1, 2).extra == 0

    class Mixin:
        __slots__ = ()

    with pytest.raises(TypeError, match="derives from Record alone"):

        class Both(Record, Mixin):
            pass


def test_replace_copies_with_changes() -> None:
    point = Point(1, 2, "a")
    assert replace(point, y=5) == Point(1, 5, "a")
    assert point == Point(1, 2, "a")
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(point, z=1)


def test_match_by_position_and_name() -> None:
    match Point(1, 2, "a"):
        case Point(1, y, label="a"):
            assert y == 2
        case _:
            raise AssertionError("no match")
