"""``@record``: the one way to declare a data class in ``registry``, ``cache`` and ``query``.

::

    @record                                   # frozen: assignment raises AttributeError
    class Problem:
        code: str
        message: str
        severity: str = "error"
        note: str = field(default="", compare=False)   # not compared, hashed or shown? see field

    @record(frozen=False)                     # mutable, unhashable
    class Bag:
        items: list[int] = field(default_factory=list)

A record gets ``__slots__`` (one per field), an ``__init__`` taking the fields in declaration
order, positionally or by name, ``__eq__`` (the exact same class only, else ``NotImplemented``),
``__repr__``, ``__match_args__``, copy and pickle support, and, when frozen, ``__hash__``;
a method the class body defines itself is kept, as with dataclasses.
:func:`field` excludes a field from comparison, hashing or the repr, gives it a default factory,
or keeps it out of ``__init__`` (``init=False``: set from its default at construction, then
by the class's own code with ``object.__setattr__``, like a cache). A ``__post_init__`` method
runs after the fields are set (to validate them, say). :func:`replace` copies a
record with some fields changed. The type checker sees all of it through
``typing.dataclass_transform``, so ``mypy`` checks every constructor call.

Why not :mod:`dataclasses`: importing it costs ~15 ms here (it pulls in ``inspect``) and each
class ~0.3 ms to build, on paths that take 25-60 ms in all (``docs/performance.md``). This
builds a class in ~15 µs and compiles no code: ``__init__`` is one generic function per class
whose common case (every field given positionally) is a loop over the slots' own setters.

The class body is read from its namespace: fields are the annotated names (``ClassVar`` ones
excepted), in order; a record's base may not itself be a record (no field inheritance).
"""

from __future__ import annotations

from itertools import pairwise
from operator import attrgetter

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_options: object) -> object:
        return lambda function: function


__all__ = ["field", "record", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # "no default": a field is required


class Field:
    """How one field behaves; made by :func:`field`, read by :func:`record`."""

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


def _values_key(names: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """The tuple of ``names``' values of a record, at C speed where there are several."""
    if len(names) > 1:
        getter: Callable[[object], tuple[object, ...]] = attrgetter(*names)
        return getter
    if names:
        one = attrgetter(names[0])
        return lambda item: (one(item),)
    return lambda _item: ()


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return str(text).startswith(("ClassVar", "typing.ClassVar"))


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T] | None = None, /, *, frozen: bool = True) -> Any:
    """Make ``cls`` a record (see the module docstring); ``@record(frozen=False)`` for a
    mutable one."""

    def wrap(target: type[_T]) -> type[_T]:
        return _build(target, frozen)

    return wrap if cls is None else wrap(cls)


def _build(cls: type[_T], frozen: bool) -> type[_T]:
    if any("__record_fields__" in vars(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: a record's base may not be a record")
    own = cls.__dict__
    names: list[str] = []
    specs: list[Field] = []
    for name, annotation in own.get("__annotations__", {}).items():
        if _is_class_var(annotation):
            continue
        value = own.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(value, None, True, True, True, None)
        names.append(name)
        specs.append(spec)
    qualname = cls.__qualname__
    post_init = own.get("__post_init__")
    fields = tuple(names)
    init = [i for i, spec in enumerate(specs) if spec.init]
    init_names = tuple(names[i] for i in init)
    later = [i for i, spec in enumerate(specs) if not spec.init]
    required = {names[i] for i in init if _has_no_default(specs[i])}
    for first, second in pairwise(init):
        if _has_no_default(specs[second]) and not _has_no_default(specs[first]):
            raise TypeError(f"{qualname}: non-default field {names[second]!r} follows a default")
    count = len(init)
    least = count - sum(1 for i in init if not _has_no_default(specs[i]))
    # the defaults of the trailing optional fields, when none is a factory (a fresh value each)
    optional = [specs[i] for i in init[least:]]
    tail = (
        tuple(s.default for s in optional)
        if all(s.default_factory is None for s in optional)
        else None
    )
    positions = {name: slot for slot, name in enumerate(init_names)}
    compare = _values_key(tuple(n for n, s in zip(names, specs, strict=True) if s.compare))
    hashed = _values_key(tuple(n for n, s in zip(names, specs, strict=True) if s.hash))
    shown = tuple(n for n, s in zip(names, specs, strict=True) if s.repr)
    # The slots' own setters (faster than setattr, and past a frozen record's __setattr__),
    # known once the class exists: the methods below read them when called.
    setters: tuple[Callable[[object, object], None], ...] = ()
    init_setters: tuple[Callable[[object, object], None], ...] = ()

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        if kwargs or len(args) != count:  # the common case: every field, positionally
            args = _bind(args, kwargs)
        for set_value, value in zip(init_setters, args):  # noqa: B905 - same length
            set_value(self, value)

    def __init_and_finish__(self: object, *args: object, **kwargs: object) -> None:
        __init__(self, *args, **kwargs)
        for i in later:
            setters[i](self, _default(specs[i]))
        if post_init is not None:
            post_init(self)

    def _bind(args: tuple[object, ...], kwargs: dict[str, object]) -> tuple[object, ...]:
        """The init fields' values, bound as Python binds arguments to parameters."""
        given = len(args)
        if not kwargs and tail is not None and least <= given < count:
            return args + tail[given - least :]
        if given > count:
            raise TypeError(
                f"{qualname}() takes {count} positional arguments but {given} were given"
            )
        values: list[object] = [*args, *([MISSING] * (count - given))]
        for key, value in kwargs.items():
            slot = positions.get(key)
            if slot is None:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {key!r}")
            if slot < given:
                raise TypeError(f"{qualname}() got multiple values for argument {key!r}")
            values[slot] = value
        absent = [n for n, v in zip(init_names, values, strict=True) if v is MISSING]
        absent = [n for n in absent if n in required]
        if absent:
            raise TypeError(f"{qualname}() missing required arguments: {', '.join(absent)}")
        return tuple(
            _default(specs[i]) if value is MISSING else value
            for i, value in zip(init, values, strict=True)
        )

    def __eq__(self: object, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(self) == compare(other)

    def __hash__(self: object) -> int:
        return hash(hashed(self))

    def __repr__(self: object) -> str:
        args = ", ".join([f"{name}={getattr(self, name)!r}" for name in shown])
        return f"{self.__class__.__qualname__}({args})"

    def __getstate__(self: object) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in fields])

    def __setstate__(self: object, state: tuple[object, ...]) -> None:
        for set_value, value in zip(setters, state, strict=True):
            set_value(self, value)

    namespace = {k: v for k, v in own.items() if k not in fields}
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    constructor = __init_and_finish__ if later or post_init is not None else __init__
    constructor.__name__ = "__init__"
    constructor.__qualname__ = f"{qualname}.__init__"
    generated: dict[str, object] = {
        "__init__": constructor,
        "__eq__": __eq__,
        "__repr__": __repr__,
        "__getstate__": __getstate__,
        "__setstate__": __setstate__,
    }
    if frozen:
        generated.update(
            __hash__=__hash__, __setattr__=_refuse_assignment, __delattr__=_refuse_deletion
        )
    else:
        generated["__hash__"] = None
    # like dataclasses: a method the class body defines itself is kept
    namespace.update({k: v for k, v in generated.items() if k not in own})
    namespace.update(
        __slots__=fields,
        __record_fields__=fields,
        __qualname__=qualname,
        __match_args__=init_names,
    )
    metaclass: Any = type(cls)
    new: type[_T] = metaclass(cls.__name__, cls.__bases__, namespace)
    setters = tuple(new.__dict__[name].__set__ for name in fields)
    init_setters = tuple(setters[i] for i in init)
    return new


def _refuse_assignment(self: object, name: str, value: object) -> NoReturn:
    raise AttributeError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: object, name: str) -> NoReturn:
    raise AttributeError(f"cannot delete field {name!r}")


def _has_no_default(spec: Field) -> bool:
    return spec.default is MISSING and spec.default_factory is None


def _default(spec: Field) -> object:
    return spec.default_factory() if spec.default_factory is not None else spec.default


def replace(item: _T, /, **changes: object) -> _T:
    """A copy of the record ``item`` with ``changes`` applied (``dataclasses.replace``)."""
    cls = type(item)
    fields: tuple[str, ...] = cls.__match_args__  # type: ignore[attr-defined]
    for key in changes:
        if key not in fields:
            raise TypeError(f"{cls.__qualname__} has no field {key!r}")
    return cls(*[changes[name] if name in changes else getattr(item, name) for name in fields])
