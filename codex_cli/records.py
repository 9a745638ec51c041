"""Record classes: the typed value classes of the whole package, cheap to define at import time.

`class Usage(Record)` with annotated fields behaves like a frozen `@dataclass`: a keyword/positional
`__init__` with defaults (`field(default_factory=...)` for mutable ones), a `__repr__` that leaves out
`field(repr=False)` fields (secrets), `__eq__` between instances of the same class over the compared fields,
a `__hash__` over them, and assignment refused. `class TurnState(Record, frozen=False)` is the mutable form
(unhashable, like a plain dataclass); `eq=False` keeps identity equality. `replace(record, **changes)` copies one.

Why not `dataclasses`: it compiles every generated method of every class (about 0.07 ms each, six for a frozen
class) and imports `inspect`. The CLI defines over a hundred such classes before its first model request, which
cost ~40 ms of a ~160 ms start. A Record subclass is set up by reading its annotations once; its methods are
shared and generic. Type checkers see the classes as dataclasses through `dataclass_transform`.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    try:
        from typing import dataclass_transform
    except ImportError:  # Python 3.10: only typing_extensions has it, and it is not a dependency

        def dataclass_transform(**_kwargs: object) -> Callable[[type], type]:
            return lambda cls: cls


__all__ = ["FrozenRecordError", "Record", "field", "replace"]

_T = TypeVar("_T")
_R = TypeVar("_R", bound="Record")
_MISSING: Any = object()


class FrozenRecordError(AttributeError):
    """An assignment to a field of a frozen record."""


class _Field:
    """What `field()` returns in a class body; replaced by the default value when the class is set up."""

    __slots__ = ("compare", "default", "default_factory", "hash", "repr")

    def __init__(
        self, default: Any, default_factory: Any, repr: bool, compare: bool, hash: bool | None
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.hash = hash


@overload
def field(*, default: _T, repr: bool = True, compare: bool = True, hash: bool | None = None) -> _T: ...
@overload
def field(
    *, default_factory: Callable[[], _T], repr: bool = True, compare: bool = True, hash: bool | None = None
) -> _T: ...
@overload
def field(*, repr: bool = True, compare: bool = True, hash: bool | None = None) -> Any: ...
def field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> Any:
    """A field with options: a default or a default factory, left out of repr, of comparison or of the hash."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, repr, compare, hash)


class _Factory:
    """A default made fresh for every instance."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _no_values(_record: object) -> tuple[()]:
    return ()


class _Spec:
    """The fields of one record class, worked out once when the class is defined."""

    __slots__ = ("compared", "defaults", "fields", "hashed", "index", "names", "post_init", "shown")

    def __init__(self, fields: dict[str, _Field], post_init: bool) -> None:
        self.fields = fields
        self.names = tuple(fields)
        self.index = frozenset(fields)
        self.defaults: dict[str, Any] = {}
        for name, spec in fields.items():
            if spec.default_factory is not _MISSING:
                self.defaults[name] = _Factory(spec.default_factory)
            elif spec.default is not _MISSING:
                self.defaults[name] = spec.default
        self.shown = tuple(name for name, spec in fields.items() if spec.repr)
        compared = [name for name, spec in fields.items() if spec.compare]
        hashed = [name for name, spec in fields.items() if (spec.compare if spec.hash is None else spec.hash)]
        # attrgetter of several names returns a tuple; of one, the value itself; of none, it cannot be made.
        self.compared: Callable[[object], Any] = attrgetter(*compared) if compared else _no_values
        self.hashed: Callable[[object], Any] = attrgetter(*hashed) if hashed else _no_values
        self.post_init = post_init


def _is_class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__qualname__", "")
    return isinstance(text, str) and text.split("[", 1)[0] in ("ClassVar", "typing.ClassVar")


def _own_annotations(cls: type) -> dict[str, Any]:
    """The annotations written in the class body itself (not a base's), without importing `inspect`."""
    if "__annotations__" in cls.__dict__:
        return dict(cls.__dict__["__annotations__"])  # noqa: RUF063 - inspect.get_annotations costs an import
    if "__annotate__" in cls.__dict__:  # Python 3.14 evaluates annotations lazily
        return dict(cls.__annotations__)
    return {}


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record:
    """Base of a record class; see the module's docstring."""

    _record_spec: ClassVar[_Spec]
    _record_frozen: ClassVar[bool] = True

    def __init_subclass__(cls, *, frozen: bool = True, eq: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = getattr(cls, "_record_spec", None)
        fields: dict[str, _Field] = dict(inherited.fields) if inherited is not None else {}
        for name, annotation in _own_annotations(cls).items():
            if _is_class_var(annotation):
                continue
            value = cls.__dict__.get(name, _MISSING)
            spec = value if isinstance(value, _Field) else _Field(value, _MISSING, True, True, None)
            fields[name] = spec
            if spec.default is _MISSING:
                if value is not _MISSING:
                    delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
        seen_default = ""
        for name, spec in fields.items():
            if spec.default is not _MISSING or spec.default_factory is not _MISSING:
                seen_default = name
            elif seen_default:
                raise TypeError(f"{cls.__name__}: field {name!r} without a default follows {seen_default!r}")
        cls._record_spec = _Spec(fields, post_init=hasattr(cls, "__post_init__"))
        cls._record_frozen = frozen
        if not frozen:
            cls.__setattr__ = object.__setattr__  # type: ignore[method-assign,assignment]
            cls.__delattr__ = object.__delattr__  # type: ignore[method-assign]
        if not eq:
            cls.__eq__ = object.__eq__  # type: ignore[method-assign]
            cls.__hash__ = object.__hash__  # type: ignore[method-assign]
        elif not frozen:
            cls.__hash__ = None  # type: ignore[method-assign,assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec = self._record_spec
        if args:
            if len(args) > len(spec.names):
                raise TypeError(
                    f"{type(self).__name__}() takes {len(spec.names)} positional arguments but {len(args)} were given"
                )
            for name, value in zip(spec.names, args, strict=False):  # fewer args than fields is normal
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
        if len(kwargs) != len(spec.names):
            for name, default in spec.defaults.items():
                if name not in kwargs:
                    kwargs[name] = default.make() if isinstance(default, _Factory) else default
        if len(kwargs) != len(spec.names) or not spec.index.issuperset(kwargs):
            unknown = [name for name in kwargs if name not in spec.index]
            if unknown:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}")
            missing = ", ".join(repr(name) for name in spec.names if name not in kwargs)
            raise TypeError(f"{type(self).__name__}() missing required arguments: {missing}")
        # Fields are kept in the order they were declared, as vars() of a dataclass shows them.
        self.__dict__.update((name, kwargs[name]) for name in spec.names)
        if spec.post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_spec.shown)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = self._record_spec.compared
        return bool(compared(self) == compared(other))

    def __hash__(self) -> int:
        return hash(self._record_spec.hashed(self))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")


def replace(record: _R, /, **changes: Any) -> _R:
    """A copy of `record` with some fields changed (its `__post_init__`, if any, runs again)."""
    values = {name: getattr(record, name) for name in record._record_spec.names}
    values.update(changes)
    return type(record)(**values)
