from __future__ import annotations

import contextlib
import hashlib
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jupyterhub_teams.naming import (
    DEFAULT_ACCOUNT_PREFIX,
    DEFAULT_MAX_TEAM_NAME_LENGTH,
    MAX_PERSON_NAME_LENGTH,
    InvalidName,
    Refusal,
    account_name,
    person_name,
    reserved_prefix_reason,
    resolve_team_names,
    team_name,
    team_of_account,
)

PREFIXES = {"collab-": "the names of team accounts", "adhoc-": "teams people create in the hub"}

TEAM_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LONG_NAME = ("Department of Theoretical and Computational Physics " * 6)[:300]


# --- team_name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("Data Science/ML", "data-science-ml"),
        ("2024-course", "2024-course"),
        ("Ünïcode", "unicode"),
        ("physics", "physics"),
        ("PHYSICS", "physics"),
        ("  physics  ", "physics"),
        ("--physics--", "physics"),
        ("a___b...c", "a-b-c"),
        ("a - b", "a-b"),
        ("Café Crème", "cafe-creme"),
        ("straße", "strasse"),
        ("ﬁle", "file"),
        ("Ⅻ", "xii"),
        ("①②", "12"),
        ("İstanbul", "istanbul"),
        ("x", "x"),
        ("7", "7"),
        ("GPU users (2024)", "gpu-users-2024"),
        ("team.name@example.org", "team-name-example-org"),
        ("日本 lab", "lab"),
    ],
)
def test_team_name_examples(group: str, expected: str) -> None:
    assert team_name(group) == expected


def test_default_max_length_is_forty() -> None:
    assert DEFAULT_MAX_TEAM_NAME_LENGTH == 40


def test_long_name_is_cut_to_max_length_and_ends_in_hash() -> None:
    name = team_name(LONG_NAME)
    assert len(LONG_NAME) == 300
    assert len(name) == DEFAULT_MAX_TEAM_NAME_LENGTH
    assert re.search(r"-[0-9a-f]{8}$", name)
    assert name.endswith("-" + hashlib.sha256(LONG_NAME.encode()).hexdigest()[:8])
    assert name.startswith("department-of-theoretical")
    assert TEAM_NAME.match(name)


def test_long_name_is_deterministic() -> None:
    assert team_name(LONG_NAME) == team_name(LONG_NAME)
    assert team_name(LONG_NAME) == team_name(str(LONG_NAME))


def test_long_names_with_a_common_start_stay_distinct() -> None:
    first = team_name("a" * 100 + "first")
    second = team_name("a" * 100 + "second")
    assert first != second
    assert first[:31] == second[:31] == "a" * 31


def test_long_name_hash_is_of_the_original_spelling() -> None:
    # Same slug, different spelling: different hash, so the two never merge silently.
    upper = team_name("X" * 60)
    lower = team_name("x" * 60)
    assert upper != lower
    assert upper[:31] == lower[:31]


def test_cut_head_never_ends_in_a_dash() -> None:
    # The 31st character of the slug is a dash: it is dropped, not doubled.
    group = "a" * 30 + " " + "b" * 30
    name = team_name(group)
    digest = hashlib.sha256(group.encode()).hexdigest()[:8]
    assert name == "a" * 30 + "-" + digest
    assert len(name) == 39
    assert "--" not in name


def test_name_exactly_max_length_is_kept() -> None:
    assert team_name("a" * 40) == "a" * 40
    assert team_name("a" * 41) != "a" * 41
    assert len(team_name("a" * 41)) == 40


@pytest.mark.parametrize("max_length", [10, 11, 20, 64])
def test_custom_max_length(max_length: int) -> None:
    name = team_name("z" * 100, max_length)
    assert len(name) == max_length
    assert name.startswith("z" * (max_length - 9) + "-")
    assert TEAM_NAME.match(name)


@pytest.mark.parametrize("max_length", [0, 5, 9])
def test_too_small_max_length_is_a_programming_error(max_length: int) -> None:
    with pytest.raises(ValueError, match="max_length must be at least 10") as info:
        team_name("physics", max_length)
    assert not isinstance(info.value, InvalidName)


@pytest.mark.parametrize("group", ["///", "", "   ", "日本", "---", "!?*", "\u0301\u0301", "漢字"])
def test_names_without_letters_or_digits_are_invalid(group: str) -> None:
    with pytest.raises(InvalidName) as info:
        team_name(group)
    message = str(info.value)
    assert "no letters or digits" in message
    assert repr(group) in message


def test_an_unusable_group_name_is_refused_as_a_value_error_in_words() -> None:
    # callers that catch ValueError catch it, and the message says what is wrong
    with pytest.raises(ValueError) as info:
        team_name("!?*")
    assert type(info.value) is InvalidName
    assert str(info.value) == (
        "group name '!?*' has no letters or digits to build a team name from"
    )


# --- accounts ----------------------------------------------------------------------------------


def test_account_name_uses_prefix() -> None:
    assert DEFAULT_ACCOUNT_PREFIX == "collab-"
    assert account_name("physics") == "collab-physics"
    assert account_name("physics", "team_") == "team_physics"


@pytest.mark.parametrize(
    ("account", "prefix", "expected"),
    [
        ("collab-physics", "collab-", "physics"),
        ("collab-collab-x", "collab-", "collab-x"),
        ("collab-", "collab-", None),
        ("alice", "collab-", None),
        ("collabphysics", "collab-", None),
        ("team_physics", "team_", "physics"),
        ("collab-physics", "team_", None),
    ],
)
def test_team_of_account(account: str, prefix: str, expected: str | None) -> None:
    assert team_of_account(account, prefix) == expected


def test_team_of_account_inverts_account_name() -> None:
    assert team_of_account(account_name("data-science-ml")) == "data-science-ml"


# --- person_name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice", "alice"),
        ("Alice", "alice"),
        ("BOB", "bob"),
        ("  carol ", "carol"),
        ("dave.smith", "dave.smith"),
        ("erin@example.org", "erin@example.org"),
        ("zoë", "zoë"),
        ("collab", "collab"),
        ("collabx", "collabx"),
        ("x-collab-y", "x-collab-y"),
        ("2001", "2001"),
    ],
)
def test_person_name_accepted(name: str, expected: str) -> None:
    assert person_name(name) == expected


@pytest.mark.parametrize("name", ["collab-x", "COLLAB-X", "Collab-Physics", "collab-", " collab-y"])
def test_person_name_with_reserved_prefix_refused(name: str) -> None:
    with pytest.raises(InvalidName) as info:
        person_name(name)
    assert "reserved" in str(info.value)
    assert "'collab-'" in str(info.value)


def test_person_name_reserved_prefix_follows_policy() -> None:
    assert person_name("collab-x", "team_") == "collab-x"
    with pytest.raises(InvalidName, match="reserved"):
        person_name("team_x", "team_")


@pytest.mark.parametrize(
    "name",
    ["a/b", "/alice", "a b", "a\tb", "a\nb", "a\x00b", "a\x1fb", "a\x7fb", "a\u3000b", "a\x85b"],
)
def test_person_name_with_slash_space_or_control_refused(name: str) -> None:
    with pytest.raises(InvalidName) as info:
        person_name(name)
    assert "'/', white space or a control character" in str(info.value)


@pytest.mark.parametrize("name", ["", " ", "\t\n", "   "])
def test_empty_person_name_refused(name: str) -> None:
    with pytest.raises(InvalidName, match="empty name"):
        person_name(name)


def test_person_name_length_limit() -> None:
    assert MAX_PERSON_NAME_LENGTH == 255
    assert person_name("a" * 255) == "a" * 255
    with pytest.raises(InvalidName) as info:
        person_name("a" * 256)
    assert "longer than 255 characters" in str(info.value)
    assert len(str(info.value)) < 100


# --- resolve_team_names ------------------------------------------------------------------------


def test_resolve_maps_valid_groups() -> None:
    accepted, refusals = resolve_team_names(["physics", "Data Science/ML", "Ünïcode"])
    assert accepted == {
        "physics": "physics",
        "Data Science/ML": "data-science-ml",
        "Ünïcode": "unicode",
    }
    assert refusals == []


def test_groups_that_normalise_alike_are_both_refused() -> None:
    accepted, refusals = resolve_team_names(["Physics", "physics ", "chemistry"])
    assert accepted == {"chemistry": "chemistry"}
    assert [(r.kind, r.name) for r in refusals] == [("group", "Physics"), ("group", "physics ")]
    by_name = {r.name: r.reason for r in refusals}
    assert "'physics '" in by_name["Physics"]
    assert "'Physics'" not in by_name["Physics"]
    assert "'Physics'" in by_name["physics "]
    assert "'physics '" not in by_name["physics "]
    for reason in by_name.values():
        assert "'physics'" in reason
        assert "never merged" in reason


def test_three_way_collision_names_both_others() -> None:
    accepted, refusals = resolve_team_names(["a-b", "A B", "a/b"])
    assert accepted == {}
    assert len(refusals) == 3
    by_name = {r.name: r.reason for r in refusals}
    assert "'A B', 'a/b'" in by_name["a-b"]
    assert "'A B', 'a-b'" in by_name["a/b"]
    assert "'a-b', 'a/b'" in by_name["A B"]


def test_same_group_listed_twice_is_one_group() -> None:
    accepted, refusals = resolve_team_names(["physics", "physics"])
    assert accepted == {"physics": "physics"}
    assert refusals == []


def test_reserved_team_name_refused() -> None:
    accepted, refusals = resolve_team_names(
        ["jupyterhub-teams-accounts", "JupyterHub Teams Accounts", "physics"],
        reserved=["jupyterhub-teams-accounts"],
    )
    assert accepted == {"physics": "physics"}
    assert sorted(r.name for r in refusals) == [
        "JupyterHub Teams Accounts",
        "jupyterhub-teams-accounts",
    ]
    for refusal in refusals:
        assert refusal.kind == "group"
        assert "'jupyterhub-teams-accounts' is reserved" in refusal.reason


def test_invalid_group_names_become_refusals() -> None:
    accepted, refusals = resolve_team_names(["///", "physics", ""])
    assert accepted == {"physics": "physics"}
    assert [r.name for r in refusals] == ["", "///"]
    assert all("no letters or digits" in r.reason for r in refusals)


def test_resolve_passes_max_length() -> None:
    accepted, _ = resolve_team_names(["y" * 50], max_length=12)
    assert len(accepted["y" * 50]) == 12


def test_long_names_cut_alike_still_distinct_teams() -> None:
    groups = ["q" * 60 + "1", "q" * 60 + "2"]
    accepted, refusals = resolve_team_names(groups)
    assert refusals == []
    assert len(set(accepted.values())) == 2


def test_refusals_are_sorted_by_name() -> None:
    _, refusals = resolve_team_names(["zzz", "ZZZ", "///", "Aaa", "aaa", "!!!"])
    names = [r.name for r in refusals]
    assert names == sorted(names)
    assert set(names) == {"zzz", "ZZZ", "///", "Aaa", "aaa", "!!!"}


def test_a_newcomer_colliding_with_the_teams_own_group_is_refused_alone() -> None:
    accepted, refusals = resolve_team_names(
        ["physics", "Physics", "chemistry"], owners={"physics": "physics"}
    )
    assert accepted == {"physics": "physics", "chemistry": "chemistry"}
    assert [str(r) for r in refusals] == [
        "group 'Physics' refused: its team name 'physics' belongs to the group 'physics', which "
        "is already that team's source; rename this group in the directory (groups are never "
        "merged)"
    ]


def test_the_teams_own_group_may_be_any_spelling_and_wins_against_several() -> None:
    accepted, refusals = resolve_team_names(
        ["physics", "Physics", "PHYSICS!"], owners={"physics": "Physics"}
    )
    assert accepted == {"Physics": "physics"}
    assert [r.name for r in refusals] == ["PHYSICS!", "physics"]
    assert all("belongs to the group 'Physics'" in r.reason for r in refusals)


def test_colliding_groups_are_both_refused_when_the_teams_own_group_is_gone() -> None:
    accepted, refusals = resolve_team_names(
        ["Physics", "physics "], owners={"physics": "physics", "other": "Physics"}
    )
    assert accepted == {}
    assert [r.name for r in refusals] == ["Physics", "physics "]
    assert all("never merged" in r.reason for r in refusals)


@pytest.mark.parametrize(
    ("group", "prefix"),
    [
        ("collab-x", "collab-"),
        ("Collab X", "collab-"),
        ("adhoc-reading", "adhoc-"),
        ("ADHOC Reading Group", "adhoc-"),
    ],
)
def test_a_team_name_under_a_reserved_prefix_is_refused(group: str, prefix: str) -> None:
    accepted, refusals = resolve_team_names([group, "physics"], reserved_prefixes=PREFIXES)
    assert accepted == {"physics": "physics"}
    assert [r.name for r in refusals] == [group]
    team = team_name(group)
    assert refusals[0].reason == (
        f"its team name {team!r} starts with {prefix!r}, which is reserved for "
        f"{PREFIXES[prefix]}; rename the group in the directory"
    )


@pytest.mark.parametrize("group", ["collab", "adhoc", "my-adhoc-x", "collabs-x", "adhocx"])
def test_names_that_only_contain_a_reserved_word_are_fine(group: str) -> None:
    accepted, refusals = resolve_team_names([group], reserved_prefixes=PREFIXES)
    assert accepted == {group: group} and refusals == []


def test_a_reserved_prefix_wins_over_ownership_and_collisions() -> None:
    accepted, refusals = resolve_team_names(
        ["adhoc-x", "Adhoc X"], reserved_prefixes=PREFIXES, owners={"adhoc-x": "adhoc-x"}
    )
    assert accepted == {}
    assert all("starts with 'adhoc-'" in r.reason for r in refusals) and len(refusals) == 2


def test_reserved_prefix_reason() -> None:
    assert reserved_prefix_reason("physics", PREFIXES) is None
    assert reserved_prefix_reason("collab-x", {}) is None
    assert reserved_prefix_reason("x", {"": "nothing"}) is None
    assert "'collab-'" in str(reserved_prefix_reason("collab-x", PREFIXES))


def test_refusal_str() -> None:
    refusal = Refusal("group", "///", "no letters")
    assert str(refusal) == "group '///' refused: no letters"


# --- properties --------------------------------------------------------------------------------

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=80
)
ascii_names = st.text(alphabet="aAbB09 -_/.Üé", min_size=0, max_size=60)
any_name = st.one_of(names, ascii_names)
lengths = st.integers(min_value=10, max_value=60)


@settings(max_examples=400, deadline=None)
@given(any_name, lengths)
def test_team_name_is_always_a_clean_slug(group: str, max_length: int) -> None:
    try:
        name = team_name(group, max_length)
    except InvalidName as exc:
        assert "no letters or digits" in str(exc)
        assert not re.search(r"[A-Za-z0-9]", group)
        return
    assert TEAM_NAME.match(name)
    assert len(name) <= max_length


@settings(max_examples=300, deadline=None)
@given(any_name, lengths)
def test_team_name_is_deterministic_and_idempotent(group: str, max_length: int) -> None:
    try:
        name = team_name(group, max_length)
    except InvalidName:
        return
    assert team_name(group, max_length) == name
    assert team_name(name, max_length) == name
    assert team_name(name) == name or len(name) > DEFAULT_MAX_TEAM_NAME_LENGTH


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc019-", min_size=1, max_size=40))
def test_clean_short_names_map_to_themselves(group: str) -> None:
    assume(TEAM_NAME.match(group))
    assert team_name(group) == group


group_lists = st.lists(any_name, max_size=12, unique=True)
collision_prone = st.lists(
    st.text(alphabet="aA -/b1", min_size=0, max_size=6), max_size=15, unique=True
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(group_lists, collision_prone), st.sets(st.sampled_from(["a", "b", "a-b", "x"])))
def test_resolve_never_merges_and_decides_every_group(
    groups: list[str], reserved: set[str]
) -> None:
    accepted, refusals = resolve_team_names(groups, reserved=reserved)
    refused = [r.name for r in refusals]
    # one team per group, never two groups on one team
    assert len(set(accepted.values())) == len(accepted)
    # accepted or refused, never both, never neither, each once
    assert len(refused) == len(set(refused))
    assert set(accepted).isdisjoint(refused)
    assert set(accepted) | set(refused) == set(groups)
    assert not set(accepted.values()) & reserved
    for group, team in accepted.items():
        assert team == team_name(group)
    assert refused == sorted(refused)
    assert all(r.kind == "group" and r.reason for r in refusals)


@settings(max_examples=400, deadline=None)
@given(collision_prone, st.data())
def test_a_teams_own_group_keeps_it_and_only_newcomers_are_refused(
    groups: list[str], data: st.DataObject
) -> None:
    teams: dict[str, list[str]] = {}
    for group in groups:
        with contextlib.suppress(InvalidName):
            teams.setdefault(team_name(group), []).append(group)
    # some teams have a source group, in the directory or not
    owners = {
        team: data.draw(st.sampled_from([*members, "gone"]))
        for team, members in sorted(teams.items())
        if data.draw(st.booleans())
    }
    accepted, refusals = resolve_team_names(groups, owners=owners)
    assert len(set(accepted.values())) == len(accepted)  # never merged
    assert set(accepted) | {r.name for r in refusals} == set(groups)
    for team, members in teams.items():
        owner = owners.get(team)
        if owner in members:
            assert accepted[owner] == team  # the team's own group is never refused for a name
        elif len(members) > 1:
            assert not set(members) & set(accepted)


@settings(max_examples=300, deadline=None)
@given(collision_prone)
def test_resolve_refuses_exactly_the_colliding_groups(groups: list[str]) -> None:
    accepted, _ = resolve_team_names(groups)
    teams: dict[str, list[str]] = {}
    for group in groups:
        with contextlib.suppress(InvalidName):
            teams.setdefault(team_name(group), []).append(group)
    expected = {members[0]: team for team, members in teams.items() if len(members) == 1}
    assert accepted == expected


@settings(max_examples=300, deadline=None)
@given(names)
def test_person_name_is_lower_case_or_refused(name: str) -> None:
    try:
        hub_name = person_name(name)
    except InvalidName as exc:
        assert str(exc)
        return
    assert hub_name == name.strip().lower()
    assert hub_name
    assert not hub_name.startswith(DEFAULT_ACCOUNT_PREFIX)
    assert "/" not in hub_name
    assert not any(c.isspace() for c in hub_name)
    assert len(hub_name) <= MAX_PERSON_NAME_LENGTH
