"""The pages' pure rules: invitation codes (hashing, expiry, single use) and who may change an
ad-hoc team, and sharing rights levels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from jupyterhub_teams.model import parse_record
from jupyterhub_teams.pages.invites import (
    INVITES_PROPERTY,
    KEEP_AFTER_EXPIRY,
    Invite,
    code_hash,
    find_invite,
    lifetime_from_seconds,
    load_invites,
    new_invite,
    prune,
    record_use,
    single_use_from_json,
    store_invites,
    team_of_code,
)
from jupyterhub_teams.pages.rules import (
    Actor,
    Refused,
    TeamFacts,
    check_add_member,
    check_delete,
    check_invite,
    check_join,
    check_remove_member,
    check_set_admin,
    check_team_name_prefix,
    create_refusal,
    created_team,
    creator_of,
    rights_label,
    rights_of,
    share_scopes,
    typed_team_name,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def invite(single_use: bool = True, lifetime: timedelta = DAY) -> tuple[str, Invite]:
    return new_invite("lab", created_by="carol", lifetime=lifetime, single_use=single_use, now=NOW)


def test_a_code_names_its_team_and_only_its_hash_is_stored() -> None:
    code, record = new_invite("lab", created_by="carol", lifetime=DAY, single_use=True, now=NOW)
    assert team_of_code(code) == "lab"
    secret = code.split(".", 1)[1]
    assert len(secret) >= 32
    stored = store_invites({"other": 1}, [record])
    assert stored["other"] == 1
    assert secret not in repr(stored) and code not in repr(stored)
    assert stored[INVITES_PROPERTY][0]["sha256"] == code_hash(code)
    assert load_invites(stored) == [record]


def test_codes_are_unique() -> None:
    codes = {invite()[0] for _ in range(50)}
    assert len(codes) == 50


def test_a_valid_code_is_found_and_surrounding_white_space_ignored() -> None:
    code, record = invite()
    assert find_invite([record], f"  {code}\n", NOW + timedelta(hours=1)) == record


def test_an_expired_code_is_refused_with_its_expiry() -> None:
    code, record = invite()
    with pytest.raises(Refused) as refused:
        find_invite([record], code, NOW + DAY)
    assert refused.value.status == 410
    assert "expired on 2025-03-02 12:00 UTC" in refused.value.message


def test_a_single_use_code_works_once() -> None:
    code, record = invite(single_use=True)
    used = record_use([record], record)
    with pytest.raises(Refused, match="already been used"):
        find_invite(used, code, NOW)


def test_a_multi_use_code_works_until_it_expires() -> None:
    code, record = invite(single_use=False)
    invites = [record]
    for _ in range(3):
        found = find_invite(invites, code, NOW)
        invites = record_use(invites, found)
    assert invites[0].uses == 3


def test_unknown_and_malformed_codes_are_refused_in_words() -> None:
    _, record = invite()
    other, _ = invite()
    with pytest.raises(Refused, match="not valid") as refused:
        find_invite([record], other, NOW)
    assert refused.value.status == 404
    with pytest.raises(Refused, match="not an invitation code"):
        team_of_code("no-separator")


@pytest.mark.parametrize("lifetime", [timedelta(seconds=59), timedelta(days=31)])
def test_lifetimes_are_bounded(lifetime: timedelta) -> None:
    with pytest.raises(Refused, match="between 1 minute and 30 days"):
        invite(lifetime=lifetime)


def test_pruning_keeps_recently_expired_invitations_for_a_clear_message() -> None:
    _, record = invite()
    assert prune([record], NOW + DAY + KEEP_AFTER_EXPIRY - timedelta(seconds=1)) == [record]
    assert prune([record], NOW + DAY + KEEP_AFTER_EXPIRY) == []


def test_malformed_stored_invitations_are_ignored() -> None:
    _, record = invite()
    properties = {INVITES_PROPERTY: [{"id": "x"}, "junk", record.to_json()]}
    assert load_invites(properties) == [record]
    assert load_invites({INVITES_PROPERTY: "junk"}) == []


# -- permissions ------------------------------------------------------------------------------

TEAM = TeamFacts(
    name="lab",
    origin="hub",
    retired=False,
    admins=frozenset({"carol"}),
    members=frozenset({"carol", "dave"}),
)
CAROL = Actor("carol")
DAVE = Actor("dave")
HUB_ADMIN = Actor("admin", manages_groups=True)


def refused(check: Callable[..., object], *args: object) -> Refused:
    with pytest.raises(Refused) as info:
        check(*args)
    return info.value


def test_only_team_admins_invite_add_and_name_admins() -> None:
    check_invite(TEAM, CAROL)
    check_invite(TEAM, HUB_ADMIN)
    check_add_member(TEAM, CAROL, "erin")
    check_set_admin(TEAM, CAROL, "dave", True)
    assert refused(check_invite, TEAM, DAVE).status == 403
    assert refused(check_add_member, TEAM, DAVE, "erin").status == 403
    assert refused(check_set_admin, TEAM, DAVE, "dave", True).status == 403


def test_a_member_who_is_not_admin_cannot_remove_others_but_may_leave() -> None:
    refusal = refused(check_remove_member, TEAM, DAVE, "carol")
    assert refusal.status == 403
    assert refusal.message == "Only the admins of team 'lab' can remove other members."
    check_remove_member(TEAM, DAVE, "dave")
    check_remove_member(TEAM, CAROL, "dave")


def test_the_last_admin_cannot_leave_others_behind_without_an_admin() -> None:
    assert "name another admin first" in refused(check_remove_member, TEAM, CAROL, "carol").message
    assert refused(check_set_admin, TEAM, CAROL, "carol", False).status == 409
    alone = TeamFacts("lab", "hub", False, frozenset({"carol"}), frozenset({"carol"}))
    check_remove_member(alone, CAROL, "carol")
    # a hub admin may still clean up
    check_remove_member(TEAM, HUB_ADMIN, "carol")


def test_directory_and_retired_teams_are_not_changed_from_the_pages() -> None:
    directory = TeamFacts("physics", "directory", False, frozenset(), frozenset({"alice"}))
    assert "come from the directory" in refused(check_invite, directory, HUB_ADMIN).message
    assert refused(check_remove_member, directory, Actor("alice"), "alice").status == 403
    retired = TeamFacts("lab", "hub", True, frozenset({"carol"}), frozenset({"carol"}))
    assert refused(check_join, retired, "erin").status == 409


def test_joining_twice_and_unknown_members_are_refused() -> None:
    check_join(TEAM, "erin")
    assert "already a member" in refused(check_join, TEAM, "dave").message
    assert refused(check_remove_member, TEAM, CAROL, "erin").status == 404
    assert refused(check_set_admin, TEAM, CAROL, "erin", True).status == 404
    assert refused(check_add_member, TEAM, CAROL, "dave").status == 409


# -- sharing rights -----------------------------------------------------------------------------


def test_rights_levels_are_cumulative_scopes_on_one_server() -> None:
    assert share_scopes("use", "bob") == ["access:servers!server=bob/"]
    assert share_scopes("startstop", "bob", "gpu") == [
        "access:servers!server=bob/gpu",
        "servers!server=bob/gpu",
    ]
    assert len(share_scopes("reshare", "bob")) == 3
    assert refused(share_scopes, "admin", "bob").status == 400


@pytest.mark.parametrize("level", ["use", "startstop", "reshare"])
def test_rights_of_a_share_round_trip(level: str) -> None:
    assert rights_of(share_scopes(level, "bob")) == level


def test_rights_labels_read_as_words() -> None:
    assert rights_label(share_scopes("startstop", "bob")) == "Use, start and stop"
    assert rights_label(["read:shares!server=bob/"]).startswith("Other: ")


# -- the values of a request, checked exactly ----------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (1e308, "not a number with a fraction or exponent"),
        (3600.0, "not a number with a fraction or exponent"),
        (float("nan"), "not NaN"),
        (float("inf"), "not a number with a fraction or exponent"),
        (True, "not a boolean"),
        ("3600", "not a string"),
        (None, "not null"),
        ([3600], "not a list"),
    ],
)
def test_expires_in_must_be_a_json_integer(value: object, says: str) -> None:
    refusal = refused(lifetime_from_seconds, value)
    assert refusal.status == 400
    assert "whole number of seconds" in refusal.message and says in refusal.message


@pytest.mark.parametrize("value", [0, 59, -1, 30 * 86400 + 1, 10**400])
def test_expires_in_out_of_range_is_refused_with_the_range(value: int) -> None:
    refusal = refused(lifetime_from_seconds, value)
    assert refusal.status == 400
    assert "between 60 and 2592000 seconds" in refusal.message


def test_expires_in_within_range_is_a_lifetime() -> None:
    assert lifetime_from_seconds(3600) == timedelta(hours=1)
    assert lifetime_from_seconds(60) == timedelta(minutes=1)
    assert lifetime_from_seconds(30 * 86400) == timedelta(days=30)


@pytest.mark.parametrize("value", [1, 0, "true", "false", None, "1"])
def test_single_use_must_be_a_json_boolean(value: object) -> None:
    refusal = refused(single_use_from_json, value)
    assert refusal.status == 400 and "JSON boolean" in refusal.message


def test_single_use_booleans_pass() -> None:
    assert single_use_from_json(True) is True
    assert single_use_from_json(False) is False


@pytest.mark.parametrize("value", [None, 42, ["biology"], {"name": "x"}, True])
def test_a_team_name_must_be_a_json_string(value: object) -> None:
    refusal = refused(typed_team_name, value)
    assert refusal.status == 400 and "must be a JSON string" in refusal.message


def test_a_typed_team_name_has_at_most_100_characters() -> None:
    assert typed_team_name("  " + "x" * 100 + " ") == "x" * 100
    refusal = refused(typed_team_name, "x" * 101)
    assert refusal.status == 400 and "at most 100 characters" in refusal.message
    assert refused(typed_team_name, "   ").message == "Give the team a name."


def test_a_team_name_reading_like_a_team_account_is_refused() -> None:
    refusal = refused(check_team_name_prefix, "collab-x", "collab-")
    assert refusal.status == 400 and "reserved for team accounts" in refusal.message
    check_team_name_prefix("collaborators", "collab-")


# -- who may create an ad-hoc team ---------------------------------------------------------


def made(by: str, minutes_ago: int | None = None, retired: bool = False) -> dict[str, object]:
    # as the pages wrote records before format 2
    marker: dict[str, object] = {
        "account": "collab-adhoc-x",
        "origin": "hub",
        "admins": [by],
        "retired": retired,
    }
    if minutes_ago is not None:
        marker["created_by"] = by
        marker["created_at"] = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return marker


def may_create(
    person: str = "dave",
    *,
    markers: list[dict[str, object]] | None = None,
    hub_admin: bool = False,
    groups: tuple[str, ...] = (),
    creators: tuple[str, ...] = (),
    per_person: int = 3,
    per_hour: int = 2,
) -> Refused | None:
    return create_refusal(
        person,
        hub_admin=hub_admin,
        groups=groups,
        creators=creators,
        teams=[created_team(parse_record(m)) for m in markers or []],
        per_person=per_person,
        per_hour=per_hour,
        now=NOW,
    )


def test_anyone_may_create_when_no_creator_groups_are_set() -> None:
    assert may_create() is None


def test_creator_groups_restrict_who_may_create_but_not_hub_admins() -> None:
    refusal = may_create(creators=("staff",), groups=("physics",))
    assert refusal is not None and refusal.status == 403 and "'staff'" in refusal.message
    assert may_create(creators=("staff",), groups=("staff",)) is None
    assert may_create(creators=("staff",), hub_admin=True) is None


def test_at_most_per_person_active_teams_retired_ones_do_not_count() -> None:
    three = [made("dave", 600), made("dave", 700), made("dave", 800)]
    refusal = may_create(markers=three)
    assert refusal is not None and refusal.status == 403 and "already created 3" in refusal.message
    assert may_create(markers=[*three[:2], made("dave", 900, retired=True)]) is None
    assert may_create(markers=three, hub_admin=True) is None
    # other people's teams do not count
    assert may_create(markers=[made("erin", 600)] * 5) is None


def test_legacy_teams_count_for_their_first_admin() -> None:
    legacy = {"account": "c-x", "origin": "hub", "admins": ["dave", "erin"], "retired": False}
    assert creator_of(parse_record(legacy)) == "dave"
    assert creator_of(parse_record({"account": "c-x", "admins": []})) == ""
    refusal = may_create(markers=[legacy] * 3)
    assert refusal is not None and refusal.status == 403
    assert may_create("erin", markers=[legacy] * 3) is None


def test_at_most_per_hour_new_teams_retired_ones_count_too() -> None:
    recent = [made("dave", 10, retired=True), made("dave", 50, retired=True)]
    refusal = may_create(markers=recent)
    assert refusal is not None and refusal.status == 429 and "last hour" in refusal.message
    assert may_create(markers=[made("dave", 10), made("dave", 61)]) is None


def test_a_limit_of_zero_leaves_creating_to_hub_admins() -> None:
    refusal = may_create(per_person=0)
    assert refusal is not None and refusal.status == 403 and "hub admins" in refusal.message
    assert may_create(per_person=0, hub_admin=True) is None


def test_a_team_made_here_is_deleted_by_its_admins_and_hub_admins_only() -> None:
    team = TeamFacts("adhoc-lab", "hub", False, frozenset({"carol"}), frozenset({"carol", "dave"}))
    check_delete(team, Actor("carol"))
    check_delete(team, Actor("admin", manages_groups=True))
    with pytest.raises(Refused) as refused:
        check_delete(team, Actor("dave"))
    assert refused.value.status == 403 and "Only the admins" in refused.value.message


def test_directory_and_already_deleted_teams_are_not_deleted_from_the_pages() -> None:
    directory = TeamFacts("physics", "directory", False, frozenset(), frozenset({"alice"}))
    with pytest.raises(Refused) as refused:
        check_delete(directory, Actor("admin", manages_groups=True))
    assert refused.value.status == 403 and "comes from the directory" in refused.value.message
    gone = TeamFacts("adhoc-lab", "hub", True, frozenset({"carol"}), frozenset())
    with pytest.raises(Refused) as refused:
        check_delete(gone, Actor("carol"))
    assert refused.value.status == 409
