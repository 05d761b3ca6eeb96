"""`Record`: the one way to declare a data class in ``registry``, ``cache`` and ``query``.

::

    class Problem(Record):                    # frozen: assignment raises AttributeError
        code: str
        message: str
        severity: str = "error"
        note: str = field(default="", compare=False)   # not compared (nor hashed)

    class Bag(Record, frozen=False):          # mutable, unhashable
        items: list[int] = field(default_factory=list)

A record class gets ``__slots__`` (one per field), an ``__init__`` taking the fields in
declaration order, positionally or by name, ``__eq__`` (the exact same class only, else
``NotImplemented``), ``__repr__``, ``__match_args__``, copy and pickle support, and, when frozen,
``__hash__``; a method the class body defines itself is kept, as with dataclasses.
:func:`field` excludes a field from comparison, hashing or the repr, gives it a default factory,
or keeps it out of ``__init__`` (``init=False``: set from its default at construction, then by
the class's own code with ``object.__setattr__``, like a cache). A ``__post_init__`` method runs
after the fields are set (to validate them, say). :func:`replace` copies a record with some
fields changed. The type checker sees all of it through ``typing.dataclass_transform`` (on the
metaclass), so ``mypy`` checks every constructor call.

Why not :mod:`dataclasses`: importing it (it pulls in ``inspect``) and building each class from
generated source cost a large share of paths that take 20-60 ms in all (docs/performance.md:
6-10 ms on the warm paths). Here the
metaclass reads the class body's annotations and creates the class once, with its slots; the
methods are shared by every record class (they read the class's few metadata attributes), so
building a class costs little more than a plain class and no code is compiled.

Fields are the annotated names of the class body (``ClassVar`` ones excepted), in order. A
record class derives from `Record` directly; a subclass of a record class is a plain subclass
(it inherits the fields and methods, adds no field).
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, NoReturn, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_options: object) -> object:
        return lambda function: function


__all__ = ["Record", "field", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # "no default": a field is required
_CLASS_VAR = ("ClassVar", "typing.ClassVar")  # annotations are strings (PEP 563)


class Field:
    """How one field behaves; made by :func:`field`, read when the class is built."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "repr")

    def __init__(
        self,
        default: object,
        default_factory: Callable[[], object] | None,
        init: bool,
        repr: bool,  # dataclasses' own names
        compare: bool,
        hash: bool | None,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = compare if hash is None else hash


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: bool = True,
    repr: bool = True,  # dataclasses' own names
    compare: bool = True,
    hash: bool | None = None,
) -> Any:
    """A field with options: ``hash`` defaults to ``compare``."""
    if default is not MISSING and default_factory is not None:
        raise ValueError("a field takes a default or a default_factory, not both")
    return Field(default, default_factory, init, repr, compare, hash)


class _Layout:
    """What the shared methods need to know of one record class (its ``__record__``)."""

    __slots__ = ("compare", "defaults", "fields", "hashed", "later", "shown")

    def __init__(
        self,
        fields: tuple[str, ...],
        defaults: tuple[object, ...],
        later: tuple[tuple[str, Field], ...],
        compare: tuple[str, ...],
        hashed: tuple[str, ...],
        shown: tuple[str, ...],
    ) -> None:
        self.fields = fields  # every field, in order (init=False ones too)
        self.defaults = defaults  # of the __init__ fields: MISSING, a value, or a Field (factory)
        self.later = later  # (name, Field) of each init=False field
        self.compare = compare  # the fields eq compares
        self.hashed = hashed  # the fields hash reads
        self.shown = shown  # the fields repr shows


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class RecordMeta(type):
    """Builds record classes (see the module docstring): reads the class body's annotations,
    then creates the class once, with its ``__slots__``, ``__match_args__`` (the fields
    ``__init__`` takes), ``__record__`` (a `_Layout`) and its ``__init__``. The other methods
    are `Record`'s, shared by every record class; a mutable one (``frozen=False``) gets back
    ``object``'s ``__setattr__`` and ``__delattr__``, and no ``__hash__``."""

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        frozen: bool = True,
    ) -> RecordMeta:
        if not bases or bases[0] is not Record or len(bases) != 1:
            if any(isinstance(base, RecordMeta) and base is not Record for base in bases):
                return super().__new__(mcs, name, bases, namespace)  # a plain subclass
            if bases:
                raise TypeError(f"{name}: a record class derives from Record alone")
            return super().__new__(mcs, name, bases, namespace)  # Record itself
        names: list[str] = []
        defaults: list[object] = []
        init: list[str] = []
        later: list[tuple[str, Field]] = []
        compare: list[str] = []
        hashed: list[str] = []
        shown: list[str] = []
        for field_name, annotation in namespace.get("__annotations__", {}).items():
            if isinstance(annotation, str) and annotation.startswith(_CLASS_VAR):
                continue
            value = namespace.pop(field_name, MISSING)
            names.append(field_name)
            if type(value) is Field:
                spec: Field = value
                if spec.repr:
                    shown.append(field_name)
                if spec.compare:
                    compare.append(field_name)
                if spec.hash:
                    hashed.append(field_name)
                if not spec.init:
                    later.append((field_name, spec))
                    continue
                value = spec.default if spec.default_factory is None else spec
            else:
                shown.append(field_name)
                compare.append(field_name)
                hashed.append(field_name)
            if value is MISSING and defaults and defaults[-1] is not MISSING:
                raise TypeError(f"{name}: field {field_name!r} without a default follows a default")
            init.append(field_name)
            defaults.append(value)
        fields = tuple(names)
        namespace["__slots__"] = fields
        namespace["__match_args__"] = tuple(init)
        namespace["__record__"] = _Layout(
            fields, tuple(defaults), tuple(later), tuple(compare), tuple(hashed), tuple(shown)
        )
        if not frozen:
            namespace.update(__hash__=None, __setattr__=_assign, __delattr__=_delete)

        # __init__ is the one method made per class: a closure over the class's slot setters
        # (known once the class exists) is what makes it nearly as fast as a hand-written one
        count = len(init)
        optional = [d for d in defaults if d is not MISSING]
        # the trailing defaults, for calls that leave them out, when none is a factory
        tail = None if any(type(d) is Field for d in optional) else tuple(optional)
        least = count - len(optional) if tail is not None else count
        setters: tuple[Callable[[object, object], None], ...] = ()
        cls: Any = None

        def __init__(self: object, *args: object, **kwargs: object) -> None:
            if kwargs or len(args) != count:  # the common case: every field, positionally
                if not kwargs and least <= len(args) < count:
                    args += tail[len(args) - count :]  # type: ignore[index]
                else:
                    args = _bind(cls, args, kwargs)
            for set_value, value in zip(setters, args):  # noqa: B905 - as many as setters
                set_value(self, value)

        def __init_and_finish__(self: object, *args: object, **kwargs: object) -> None:
            __init__(self, *args, **kwargs)
            _finish(self)

        __init__.__qualname__ = f"{name}.__init__"
        if "__init__" not in namespace:
            late = later or "__post_init__" in namespace
            namespace["__init__"] = __init_and_finish__ if late else __init__
        cls = super().__new__(mcs, name, bases, namespace)
        slots = cls.__dict__
        setters = tuple([slots[n].__set__ for n in init])
        result: RecordMeta = cls
        return result


class Record(metaclass=RecordMeta):
    """The base of every record class (see the module docstring): the methods they share."""

    __slots__ = ()
    __record__: ClassVar[_Layout]

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = self.__record__.compare
        return _key(self, names) == _key(other, names)

    def __hash__(self) -> int:
        return hash(_key(self, self.__record__.hashed))

    def __repr__(self) -> str:
        args = ", ".join([f"{name}={getattr(self, name)!r}" for name in self.__record__.shown])
        return f"{self.__class__.__qualname__}({args})"

    def __getstate__(self) -> tuple[object, ...]:
        return _key(self, self.__record__.fields)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        for name, value in zip(self.__record__.fields, state, strict=True):
            object.__setattr__(self, name, value)  # past a frozen record's __setattr__

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}")


_assign = object.__setattr__  # a mutable record's
_delete = object.__delattr__


def _finish(self: Any) -> None:
    """Set the init=False fields from their defaults, then run ``__post_init__``."""
    for name, spec in self.__record__.later:
        object.__setattr__(self, name, _default(spec))
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _bind(cls: Any, args: tuple[object, ...], kwargs: dict[str, object]) -> tuple[object, ...]:
    """The __init__ fields' values, bound as Python binds arguments to parameters."""
    names: tuple[str, ...] = cls.__match_args__
    defaults: tuple[object, ...] = cls.__record__.defaults
    count = len(names)
    given = len(args)
    if given > count:
        raise TypeError(
            f"{cls.__qualname__}() takes {count} positional arguments but {given} were given"
        )
    values = list(args) + [MISSING] * (count - given)
    for key, value in kwargs.items():
        try:
            slot = names.index(key)
        except ValueError:
            raise TypeError(
                f"{cls.__qualname__}() got an unexpected keyword argument {key!r}"
            ) from None
        if slot < given:
            raise TypeError(f"{cls.__qualname__}() got multiple values for argument {key!r}")
        values[slot] = value
    missing = []
    for slot in range(given, count):
        if values[slot] is MISSING:
            default = defaults[slot]
            if default is MISSING:
                missing.append(names[slot])
            else:
                values[slot] = _default(default) if type(default) is Field else default
    if missing:
        raise TypeError(f"{cls.__qualname__}() missing required arguments: {', '.join(missing)}")
    return tuple(values)


def _default(spec: Field) -> object:
    return spec.default_factory() if spec.default_factory is not None else spec.default


def _key(self: object, names: tuple[str, ...]) -> tuple[object, ...]:
    return tuple([getattr(self, name) for name in names])


def replace(item: _T, /, **changes: object) -> _T:
    """A copy of the record ``item`` with ``changes`` applied (``dataclasses.replace``)."""
    cls = type(item)
    fields: tuple[str, ...] = cls.__match_args__  # type: ignore[attr-defined]
    for key in changes:
        if key not in fields:
            raise TypeError(f"{cls.__qualname__} has no field {key!r}")
    return cls(*[changes[name] if name in changes else getattr(item, name) for name in fields])
