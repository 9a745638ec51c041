"""Record classes behave like the dataclasses they replace, and the CLI's start path no longer imports dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from codex_cli.records import FrozenRecordError, Record, field, replace

ROOT = Path(__file__).resolve().parents[1]


class Point(Record):
    """A frozen record with every kind of field."""

    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", compare=False)
    token: str = field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class PointTwin:
    """The same fields as a frozen dataclass, to compare against."""

    x: int
    y: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str = dataclasses.field(default="", compare=False)
    token: str = dataclasses.field(default="", repr=False)


class Counter(Record, frozen=False):
    """A mutable record."""

    count: int = 0
    seen: list[str] = field(default_factory=list)


class Checked(Record):
    """A record that normalises a field after init."""

    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(sorted(self.names)))


class Identity(Record, frozen=False, eq=False):
    """A mutable record compared by identity."""

    value: int = 0


def test_init_positional_keyword_and_defaults_like_a_dataclass() -> None:
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((), {"x": 3, "y": 4}), ((5,), {"tags": ["a"], "note": "n"})]:
        ours, twin = Point(*args, **kwargs), PointTwin(*args, **kwargs)
        assert repr(ours).replace("Point(", "PointTwin(") == repr(twin)
        assert vars(ours) == vars(twin)
        assert list(vars(ours)) == ["x", "y", "tags", "note", "token"]


def test_default_factory_makes_a_fresh_value_per_instance() -> None:
    first, second = Point(1), Point(2)
    first.tags.append("a")
    assert second.tags == []
    assert Counter().seen is not Counter().seen


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing required arguments: 'x'"),
        ((1, 2, [], "", "", 6), {}, "takes 5 positional arguments but 6 were given"),
        ((1,), {"x": 2}, "got multiple values for argument 'x'"),
        ((1,), {"z": 2}, "got an unexpected keyword argument 'z'"),
    ],
)
def test_bad_arguments_raise_type_error(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_frozen_refuses_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenRecordError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen Point"):
        del point.y  # type: ignore[misc]
    assert point.x == 1


def test_equality_and_hash_follow_compared_fields() -> None:
    assert Point(1, note="a") == Point(1, note="b")
    assert hash(Point(1, tags=(), note="a")) == hash(Point(1, tags=(), note="b"))  # type: ignore[arg-type]
    assert Point(1) != Point(2)
    assert Point(1) != PointTwin(1)  # another class with the same fields is never equal
    assert {Point(1, tags=()), Point(1, tags=())} == {Point(1, tags=())}  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unhashable"):
        hash(Point(1))  # its default list is unhashable, as in a dataclass
    with pytest.raises(TypeError, match="unhashable"):
        hash(Counter())


def test_hash_false_field_is_left_out_of_the_hash_only() -> None:
    class Keyed(Record):
        key: str
        cache: dict[str, str] = field(default_factory=dict, hash=False)

    assert hash(Keyed("k")) == hash(Keyed("k", {"a": "b"}))
    assert Keyed("k") != Keyed("k", {"a": "b"})


def test_repr_never_shows_a_repr_false_field() -> None:
    text = repr(Point(1, token="sk-secret-value"))
    assert "sk-secret-value" not in text
    assert text == "Point(x=1, y=0, tags=[], note='')"


def test_mutable_record_assigns_and_identity_record_compares_by_identity() -> None:
    counter = Counter()
    counter.count += 1
    counter.seen.append("a")
    assert counter == Counter(1, ["a"])
    first, second = Identity(1), Identity(1)
    assert first != second and first == first
    assert len({first, second}) == 2


def test_replace_copies_with_changes_and_reruns_post_init() -> None:
    point = Point(1, tags=["a"], token="t")
    moved = replace(point, y=5)
    assert (moved.x, moved.y, moved.tags, moved.token) == (1, 5, ["a"], "t")
    assert point.y == 0
    assert replace(Checked(("b", "a")), names=("d", "c")).names == ("c", "d")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(point, nope=1)


def test_post_init_runs() -> None:
    assert Checked(("b", "a")).names == ("a", "b")


def test_field_without_default_after_one_with_default_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="field 'b' without a default follows 'a'"):

        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]


def test_copy_and_pickle_round_trip() -> None:
    point = Point(1, tags=["a"], token="t")
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point


def test_subclass_keeps_the_fields_of_its_base() -> None:
    class Point3(Point):
        z: int = 0

    point = Point3(1, 2, z=3)
    assert (point.x, point.y, point.z) == (1, 2, 3)
    assert repr(point).startswith("test_subclass_keeps_the_fields_of_its_base.<locals>.Point3(x=1, y=2,")


def test_the_exec_path_imports_neither_dataclasses_nor_inspect() -> None:
    # The point of records: defining the ~100 classes the CLI needs before its first request compiles nothing.
    code = (
        "import sys; import codex_cli.cli, codex_cli.exec_cli, codex_cli.bootstrap, codex_cli.exec_output; "
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
