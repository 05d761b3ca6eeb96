"""Record and FrozenRecord: the shared behaviour of the plain slotted classes that stand in for
dataclasses (``dataclasses`` costs ~8 ms of imports, it pulls in ``inspect``, plus ~1 ms per
class; these cost nothing beyond their own class bodies).

A subclass keeps its ``__slots__``, a typed ``__init__`` (a frozen one sets its fields with
``object.__setattr__``), its properties and methods, and names its fields::

    class Point(FrozenRecord):
        _fields = ("x", "y", "label")  # every field, in declaration order (repr, pickling)
        _compare = ("x", "y")  # eq and hash; default: _fields
        _repr = ("x", "y")  # shown by repr; default: _fields
        __slots__ = _fields

``FrozenRecord`` also takes ``_hash`` (default: ``_compare``) for fields that are compared but
not hashed (a mapping, say). Defaults are resolved once, when the subclass is created.

Equality needs the exact same class (else ``NotImplemented``), as a dataclass's does. A
``Record`` is mutable and unhashable; a ``FrozenRecord`` refuses assignment and deletion,
hashes its ``_hash`` values (``TypeError`` when one of them is unhashable) and round-trips
through copy, deepcopy and pickle.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: this module does not import typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, ClassVar, NoReturn, Self, TypeAlias

    _Key: TypeAlias = "attrgetter[Any] | _NoFields"

__all__ = ["FrozenRecord", "Record", "TupleRecord"]


def _values(record: object, names: tuple[str, ...]) -> tuple[object, ...]:
    return tuple([getattr(record, name) for name in names])


class _NoFields:
    """The key function of a record without fields (an instance, not a function: class
    attributes holding it are never bound as methods)."""

    __slots__ = ()

    def __call__(self, record: object) -> tuple[()]:
        return ()


_NO_FIELDS = _NoFields()


def _getter(names: tuple[str, ...]) -> _Key:
    """A C-speed key function over ``names`` (`operator.attrgetter`: a tuple for several
    names, the value itself for one), for eq and hash on hot paths."""
    return attrgetter(*names) if names else _NO_FIELDS


class Record:
    """Base of a mutable slotted record: eq and repr over named fields, unhashable."""

    __slots__ = ()

    _fields: ClassVar[tuple[str, ...]] = ()
    _compare: ClassVar[tuple[str, ...]] = ()
    _repr: ClassVar[tuple[str, ...]] = ()
    _compare_key: ClassVar[_Key] = _NO_FIELDS

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        own = vars(cls)
        if "_fields" in own:
            if "_compare" not in own:
                cls._compare = cls._fields
            if "_repr" not in own:
                cls._repr = cls._fields
        cls._compare_key = _getter(cls._compare)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = self._compare_key
        return key(self) == key(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable

    def __repr__(self) -> str:
        args = ", ".join([f"{name}={getattr(self, name)!r}" for name in self._repr])
        return f"{self.__class__.__qualname__}({args})"


class FrozenRecord(Record):
    """Base of an immutable slotted record: also hashable, copyable and picklable."""

    __slots__ = ()

    _hash: ClassVar[tuple[str, ...]] = ()
    _hash_key: ClassVar[_Key] = _NO_FIELDS

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        own = vars(cls)
        if "_hash" not in own and ("_fields" in own or "_compare" in own):
            cls._hash = cls._compare
        cls._hash_key = _getter(cls._hash)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]  # Record's is None
        return hash(self._hash_key(self))

    def __getstate__(self) -> tuple[object, ...]:
        return _values(self, self._fields)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(self._fields, state, strict=True):
            object.__setattr__(self, name, value)


class TupleRecord(tuple[object, ...]):
    """What ``collections.namedtuple`` gives a class, for run-time stand-ins of ``NamedTuple``s
    written out by hand (a ``namedtuple`` call compiles code: ~0.1 ms each at import). A
    subclass sets ``_fields`` (and ``__match_args__``), ``_field_defaults`` when it has
    defaults, a ``__new__`` and one ``property(itemgetter(i))`` per field."""

    __slots__ = ()

    _fields: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({fields})"

    def __getnewargs__(self) -> tuple[object, ...]:
        return tuple(self)

    @classmethod
    def _make(cls, iterable: Iterable[object]) -> Self:
        result = tuple.__new__(cls, iterable)
        if len(result) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
        return result

    def _replace(self, **changes: object) -> Self:
        result = self._make(map(changes.pop, self._fields, self))
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return result

    def _asdict(self) -> dict[str, object]:
        return dict(zip(self._fields, self, strict=True))
