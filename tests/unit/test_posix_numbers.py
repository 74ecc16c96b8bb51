"""uid and gid numbers: ranges, refusals and deterministic allocation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_teams.posix.numbers import (
    DEFAULT_MINIMUM,
    NumberRange,
    NumberRefused,
    RangeExhausted,
    allocate,
    check_number,
    first_candidate,
)

EXAMPLES = settings(max_examples=100, deadline=None)
RESERVED = (65534, 65535, 2**32 - 1)


# --- NumberRange -----------------------------------------------------------------------------


def test_range_basics() -> None:
    numbers = NumberRange(30000, 30009)
    assert len(numbers) == 10
    assert str(numbers) == "30000..30009"
    assert 30000 in numbers
    assert 30009 in numbers
    assert 29999 not in numbers
    assert 30010 not in numbers
    assert "30000" not in numbers
    assert 30000.0 not in numbers
    assert len(NumberRange(5, 5)) == 1
    assert len(NumberRange(1, 2**32 - 2)) == 2**32 - 2


@pytest.mark.parametrize(
    ("first", "last"), [(0, 10), (-5, 10), (10, 9), (1, 2**32 - 1), (2**32 - 1, 2**32 - 1)]
)
def test_range_refuses_unusable_bounds(first: int, last: int) -> None:
    with pytest.raises(ValueError) as raised:
        NumberRange(first, last)
    assert str(raised.value) == f"not a usable id range: {first}..{last}"


def test_range_is_frozen_and_compares_by_value() -> None:
    assert NumberRange(1, 2) == NumberRange(1, 2)
    with pytest.raises(AttributeError):
        NumberRange(1, 2).first = 3  # type: ignore[misc]


# --- check_number ----------------------------------------------------------------------------


def test_default_minimum() -> None:
    assert DEFAULT_MINIMUM == 1000


@pytest.mark.parametrize("number", [1000, 1001, 30000, 65533, 65536, 2**32 - 2])
def test_acceptable_numbers(number: int) -> None:
    assert check_number(number, "uid", "alice") == number


@pytest.mark.parametrize("number", [True, False])
def test_bool_is_not_a_number(number: bool) -> None:
    with pytest.raises(NumberRefused) as raised:
        check_number(number, "uid", "alice")
    assert str(raised.value) == f"the uid given for 'alice' is not a whole number: {number!r}"


@pytest.mark.parametrize("number", ["1000", 1000.0, None])
def test_non_int_is_not_a_number(number: object) -> None:
    with pytest.raises(NumberRefused) as raised:
        check_number(number, "gid", "physics")  # type: ignore[arg-type]
    assert str(raised.value) == f"the gid given for 'physics' is not a whole number: {number!r}"


@pytest.mark.parametrize("number", [-1, 0, 1, 999])
def test_below_minimum(number: int) -> None:
    with pytest.raises(NumberRefused) as raised:
        check_number(number, "uid", "alice")
    assert str(raised.value) == (
        f"the uid {number} given for 'alice' is below 1000, the lowest a jupyterhub-teams "
        "account may have (lower numbers belong to the system)"
    )


def test_custom_minimum() -> None:
    assert check_number(500, "uid", "alice", minimum=500) == 500
    with pytest.raises(NumberRefused, match="is below 5000"):
        check_number(4999, "uid", "alice", minimum=5000)


@pytest.mark.parametrize("number", [*RESERVED, 2**32, 2**40])
def test_reserved(number: int) -> None:
    with pytest.raises(NumberRefused) as raised:
        check_number(number, "gid", "physics")
    assert str(raised.value) == f"the gid {number} given for 'physics' is reserved"


def test_a_system_number_is_refused_as_a_value_error_in_words() -> None:
    # callers that catch ValueError catch it, and the message says what is wrong
    with pytest.raises(ValueError) as raised:
        check_number(100, "gid", "physics")
    assert type(raised.value) is NumberRefused
    assert str(raised.value) == (
        "the gid 100 given for 'physics' is below 1000, the lowest a jupyterhub-teams "
        "account may have (lower numbers belong to the system)"
    )


# --- first_candidate -------------------------------------------------------------------------


def test_first_candidate_is_stable_and_in_range() -> None:
    numbers = NumberRange(30000, 44999)
    first = first_candidate("alice", numbers)
    assert first in numbers
    assert all(first_candidate("alice", numbers) == first for _ in range(5))
    assert first_candidate("alice", NumberRange(30000, 44999)) == first
    # a fresh string object with the same text
    assert first_candidate("".join(["al", "ice"]), numbers) == first


def test_first_candidate_depends_on_the_name_and_spreads() -> None:
    numbers = NumberRange(30000, 44999)
    names = [f"user{i}" for i in range(200)]
    candidates = [first_candidate(n, numbers) for n in names]
    assert all(c in numbers for c in candidates)
    # 200 names over 15000 numbers: nearly all distinct, and spread over the range
    assert len(set(candidates)) >= 195
    assert min(candidates) < 31500
    assert max(candidates) > 43500
    low = sum(c < 37500 for c in candidates)
    assert 60 < low < 140


def test_first_candidate_of_a_one_number_range() -> None:
    assert first_candidate("anything", NumberRange(4000, 4000)) == 4000


def test_first_candidate_moves_with_the_range() -> None:
    # the offset in the range depends only on the name and the range's size
    offset = first_candidate("alice", NumberRange(30000, 30999)) - 30000
    assert first_candidate("alice", NumberRange(50000, 50999)) == 50000 + offset


# --- allocate --------------------------------------------------------------------------------


def test_allocate_takes_the_first_candidate_when_free() -> None:
    numbers = NumberRange(30000, 30099)
    assert allocate("alice", numbers, lambda n: False) == first_candidate("alice", numbers)


def test_allocate_skips_taken_numbers() -> None:
    numbers = NumberRange(30000, 30099)
    start = first_candidate("alice", numbers)
    taken = {start, start + 1, start + 2} & set(range(30000, 30100))
    expected = next(
        30000 + (start - 30000 + step) % 100
        for step in range(100)
        if 30000 + (start - 30000 + step) % 100 not in taken
    )
    assert allocate("alice", numbers, taken.__contains__) == expected
    assert expected not in taken


def test_allocate_wraps_around() -> None:
    numbers = NumberRange(30000, 30009)
    name = next(f"user{i}" for i in range(100) if first_candidate(f"user{i}", numbers) >= 30005)
    start = first_candidate(name, numbers)
    # everything from the first candidate to the end, and the range's first number, is taken
    taken = {*range(start, 30010), 30000}
    assert allocate(name, numbers, taken.__contains__) == 30001


@pytest.mark.parametrize("name", ["alice", "bob", "carol", "dave", "erin"])
def test_allocate_wraps_to_the_only_free_number(name: str) -> None:
    numbers = NumberRange(30000, 30009)
    for free in range(30000, 30010):
        assert allocate(name, numbers, lambda n, free=free: n != free) == free


def test_allocate_skips_reserved_numbers() -> None:
    numbers = NumberRange(65534, 65536)
    assert allocate("alice", numbers, lambda n: False) == 65536
    with pytest.raises(RangeExhausted):
        allocate("alice", NumberRange(65534, 65535), lambda n: False)
    # the reserved numbers are skipped without even asking
    asked: list[int] = []
    allocate("alice", numbers, lambda n: asked.append(n) or False)
    assert asked == [65536]


def test_allocate_raises_when_the_range_is_full() -> None:
    numbers = NumberRange(30000, 30004)
    asked: list[int] = []

    def taken(n: int) -> bool:
        asked.append(n)
        return True

    with pytest.raises(RangeExhausted) as raised:
        allocate("alice", numbers, taken)
    assert str(raised.value) == "every number in 30000..30004 is taken; widen the range"
    # every number was tried exactly once
    assert sorted(asked) == [30000, 30001, 30002, 30003, 30004]
    assert asked[0] == first_candidate("alice", numbers)


@EXAMPLES
@given(
    st.text(max_size=20),
    st.integers(1000, 70000),
    st.integers(0, 40),
    st.sets(st.integers(0, 40), max_size=40),
)
def test_allocation_is_in_range_and_not_taken(
    name: str, first: int, extra: int, taken_offsets: set[int]
) -> None:
    numbers = NumberRange(first, first + extra)
    taken = {first + o for o in taken_offsets}
    try:
        number = allocate(name, numbers, taken.__contains__)
    except RangeExhausted:
        assert all(n in taken or n in RESERVED for n in range(first, first + extra + 1))
        return
    assert number in numbers
    assert number not in taken
    assert number not in RESERVED
    assert allocate(name, numbers, taken.__contains__) == number
