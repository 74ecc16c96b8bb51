"""System names: the documented rule, case by case, and its properties."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_teams.posix.names import (
    DEFAULT_DIGIT_PREFIX,
    DEFAULT_MAX_LENGTH,
    InvalidSystemName,
    is_safe_system_name,
    system_name,
)

EXAMPLES = settings(max_examples=100, deadline=None)
SAFE = re.compile(r"[a-z_][a-z0-9_-]*")


def digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def test_defaults() -> None:
    assert DEFAULT_MAX_LENGTH == 32
    assert DEFAULT_DIGIT_PREFIX == "u"


@pytest.mark.parametrize(
    "name",
    ["alice", "bob_1", "_svc", "collab-physics", "a", "x-", "a--b", "z" * 32, "jo_anne-2"],
)
def test_safe_names_are_used_as_they_are(name: str) -> None:
    assert is_safe_system_name(name)
    assert system_name(name) == name


@pytest.mark.parametrize(
    ("hub_name", "expected"),
    [
        ("Alice", "alice"),
        ("ALICE", "alice"),
        ("alice@example.org", "alice-example-org"),
        ("eve.example@org", "eve-example-org"),
        ("a.b", "a-b"),
        ("first.last", "first-last"),
        ("alice+test", "alice-test"),
        ("alice+test@example.org", "alice-test-example-org"),
        ("Anna Maria", "anna-maria"),
        ("  padded  ", "padded"),
        ("a . b", "a-b"),
        ("José", "jose"),
        ("Zoë", "zoe"),
        ("Ünïcode", "unicode"),
        ("Renée Çelik", "renee-celik"),
        ("straße", "strasse"),
        ("İlker", "ilker"),
        ("ﬁle", "file"),
        ("日本 lab", "lab"),
        ("--alice--", "alice"),
        ("@alice", "alice"),
        ("alice!", "alice"),
        ("A_B", "a_b"),
        ("_Admin", "_admin"),
    ],
)
def test_unsafe_names_are_mapped(hub_name: str, expected: str) -> None:
    assert system_name(hub_name) == expected


@pytest.mark.parametrize(
    ("hub_name", "expected"),
    [
        ("2024-student", "u2024-student"),
        ("2024student", "u2024student"),
        ("007", "u007"),
        ("1.5", "u1-5"),
        ("@2024", "u2024"),
        ("Ⅻ", "xii"),
        ("①②", "u12"),
    ],
)
def test_digit_first_gets_the_prefix(hub_name: str, expected: str) -> None:
    assert system_name(hub_name) == expected


def test_digit_prefix_is_configurable() -> None:
    assert system_name("2024-student", digit_prefix="s_") == "s_2024-student"
    assert system_name("2024-student", digit_prefix="_") == "_2024-student"
    # a safe name is never touched by the prefix
    assert system_name("alice", digit_prefix="s") == "alice"


@pytest.mark.parametrize("hub_name", ["", "@", "...", "---", " ", "日本", "🙂🙂", "@.+ !"])
def test_names_with_nothing_usable_are_refused(hub_name: str) -> None:
    with pytest.raises(InvalidSystemName) as raised:
        system_name(hub_name)
    assert str(raised.value) == (
        f"the JupyterHub name {hub_name!r} has no letters or digits to build a system "
        "account name from"
    )
    assert isinstance(raised.value, ValueError)


def test_long_name_is_cut_and_ends_with_the_hash() -> None:
    hub_name = "Department.Of.Theoretical.And.Computational.Physics@example.org"
    name = system_name(hub_name)
    assert name == "department-of-theoretic-" + digest(hub_name)
    assert len(name) == 32


def test_long_safe_name_is_cut_too() -> None:
    hub_name = "a" * 40
    assert system_name(hub_name) == "a" * 23 + "-" + digest(hub_name)


def test_cut_drops_a_dash_before_the_hash() -> None:
    # the 23rd character is a "-": it is dropped, not doubled
    hub_name = "abcdefghijklmnopqrstuv.wxyz.abcdefghij"
    assert system_name(hub_name) == "abcdefghijklmnopqrstuv-" + digest(hub_name)
    hub_name = "abcdefghijklmnopqrstuvw.xyz.abcdefghij"
    assert system_name(hub_name) == "abcdefghijklmnopqrstuvw-" + digest(hub_name)


def test_exactly_max_length_is_not_cut() -> None:
    assert system_name("A" * 32) == "a" * 32
    assert system_name("A" * 33) == "a" * 23 + "-" + digest("A" * 33)


def test_max_length_is_honoured() -> None:
    assert system_name("alice@example.org", max_length=10) == "a-" + digest("alice@example.org")
    assert system_name("abcdefghijk", max_length=10) == "a-" + digest("abcdefghijk")
    assert system_name("abcdefghij", max_length=10) == "abcdefghij"
    assert system_name("Abcdefghij", max_length=10) == "abcdefghij"
    hub_name = "alice.example.org"
    assert system_name(hub_name, max_length=16) == "alice-e-" + digest(hub_name)
    assert system_name(hub_name, max_length=17) == "alice-example-org"


def test_prefix_counts_towards_the_length() -> None:
    hub_name = "1" * 32
    assert system_name(hub_name) == "u" + "1" * 22 + "-" + digest(hub_name)


def test_names_mapping_alike_stay_alike_and_long_ones_differ_by_hash() -> None:
    # documented: a.b and a-b map to the same name; the registry refuses the second
    assert system_name("a.b") == system_name("a-b") == "a-b"
    first, second = "x" * 40 + ".first", "x" * 40 + ".second"
    assert system_name(first) != system_name(second)
    assert system_name(first)[:23] == system_name(second)[:23]


@pytest.mark.parametrize("prefix", ["", "1", "1u", "U", "-u", "u.", "a b", "x" * 33])
def test_bad_digit_prefix(prefix: str) -> None:
    with pytest.raises(ValueError) as raised:
        system_name("2024", digit_prefix=prefix)
    assert not isinstance(raised.value, InvalidSystemName)
    assert str(raised.value) == f"digit_prefix must be a safe system name, got {prefix!r}"


def test_digit_prefix_longer_than_max_length() -> None:
    with pytest.raises(ValueError) as raised:
        system_name("alice", digit_prefix="x" * 11, max_length=10)
    assert str(raised.value) == "digit_prefix 'xxxxxxxxxxx' must be shorter than max_length (10)"


@pytest.mark.parametrize(
    "length",
    [9, 5, 0, -1],
)
def test_bad_max_length(length: int) -> None:
    with pytest.raises(ValueError) as raised:
        system_name("alice", max_length=length)
    assert str(raised.value) == f"max_length must be at least 10, got {length}"


@pytest.mark.parametrize(
    ("name", "max_length", "safe"),
    [
        ("alice", 32, True),
        ("_", 32, True),
        ("a-", 32, True),
        ("", 32, False),
        ("-a", 32, False),
        ("1a", 32, False),
        ("Alice", 32, False),
        ("a.b", 32, False),
        ("a b", 32, False),
        ("zoë", 32, False),
        ("a" * 33, 32, False),
        ("a" * 10, 10, True),
        ("a" * 11, 10, False),
        ("a\n", 32, False),
    ],
)
def test_is_safe_system_name(name: str, max_length: int, safe: bool) -> None:
    assert is_safe_system_name(name, max_length) is safe


# --- properties ------------------------------------------------------------------------------

NAMES = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="abcXYZ019_-.@+ éÜß", max_size=60),
    st.from_regex(SAFE, fullmatch=True).filter(lambda s: len(s) <= 60),
)
LENGTHS = st.integers(10, 40)
PREFIXES = st.sampled_from(["u", "s_", "_", "user", "x-"])


def mapped(name: str, prefix: str, length: int) -> str | None:
    try:
        return system_name(name, digit_prefix=prefix, max_length=length)
    except InvalidSystemName:
        return None


@EXAMPLES
@given(NAMES, PREFIXES, LENGTHS)
def test_result_is_always_a_safe_system_name(name: str, prefix: str, length: int) -> None:
    result = mapped(name, prefix, length)
    if result is None:
        # only a name without a single ASCII letter, digit or "_" has nothing usable
        assert not re.search(r"[A-Za-z0-9_]", name)
        return
    assert is_safe_system_name(result, length)
    assert len(result) <= length
    assert SAFE.fullmatch(result)


@EXAMPLES
@given(NAMES, PREFIXES, LENGTHS)
def test_result_is_deterministic(name: str, prefix: str, length: int) -> None:
    assert mapped(name, prefix, length) == mapped(str(name), prefix, length)
    assert mapped(name, prefix, length) == mapped(name, prefix, length)


@EXAMPLES
@given(st.from_regex(SAFE, fullmatch=True), LENGTHS)
def test_identity_on_safe_names(name: str, length: int) -> None:
    if len(name) <= length:
        assert system_name(name, max_length=length) == name
    else:
        assert len(system_name(name, max_length=length)) <= length


@EXAMPLES
@given(NAMES, LENGTHS)
def test_mapping_is_idempotent(name: str, length: int) -> None:
    result = mapped(name, "u", length)
    if result is not None:
        assert system_name(result, max_length=length) == result


@EXAMPLES
@given(st.text(alphabet="abc.@", min_size=1, max_size=20).filter(lambda s: "a" in s))
def test_ascii_letters_survive_in_order(name: str) -> None:
    result = system_name(name)
    assert result.replace("-", "") == re.sub(r"[^a-z]", "", name)
