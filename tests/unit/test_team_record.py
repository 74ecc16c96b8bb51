"""Team records: one parser and serializer, tolerant of what earlier versions wrote."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_teams.model import (
    FORMAT_VERSION,
    TEAM_PROPERTY,
    DirectoryGroup,
    DirectorySnapshot,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
    Origin,
    Policy,
    RecordError,
    TeamRecord,
    parse_record,
    record_in,
    with_record,
)
from jupyterhub_teams.plan import SetGroupProperties, make_plan

POLICY = Policy()


def scopes(account: str) -> list[str]:
    return list(POLICY.share_scopes(account))


# Records exactly as version 0.3 (format 1, no "version" key) wrote them, one per kind of team.
FORMAT_1 = {
    "physics": {
        "account": "collab-physics",
        "source_group": "Physics",
        "origin": "directory",
        "retired": False,
        "share_scopes": scopes("collab-physics"),
        "gid": 3001,
    },
    "lab-chem": {
        "origin": "directory",
        "source_group": "lab/chem",
        "claim": "/lab/chem",
        "account": "collab-lab-chem",
        "retired": False,
        "source": "claims",
        "share_scopes": scopes("collab-lab-chem"),
    },
    "adhoc-reading": {
        "account": "collab-adhoc-reading",
        "source_group": "Reading club",
        "origin": "hub",
        "retired": False,
        "admins": ["carol"],
        "created_by": "carol",
        "created_at": "2026-11-02T10:00:00Z",
    },
    "adhoc-gone": {
        "account": "collab-adhoc-gone",
        "source_group": "Gone",
        "origin": "hub",
        "retired": True,
        "admins": [],
        "share_scopes": [],
        "deleted_by": "carol",
        "deleted_at": "2026-11-03T10:00:00Z",
    },
    "biology": {
        "account": "collab-biology",
        "source_group": "biology",
        "origin": "directory",
        "retired": True,
        "share_scopes": [],
    },
}


def test_format_1_records_read_as_what_they_meant() -> None:
    physics = parse_record(FORMAT_1["physics"])
    assert physics == TeamRecord(
        "collab-physics",
        "Physics",
        Origin.DIRECTORY,
        share_scopes=tuple(scopes("collab-physics")),
        gid=3001,
    )
    assert physics.owned_by_directory and physics.synced and physics.active
    chem = parse_record(FORMAT_1["lab-chem"])
    # "origin": "directory" with "source": "claims" was a claim team
    assert (chem.origin, chem.claim, chem.owned_by_directory, chem.synced) == (
        Origin.CLAIMS,
        "/lab/chem",
        False,
        True,
    )
    reading = parse_record(FORMAT_1["adhoc-reading"])
    assert (reading.origin, reading.admins, reading.created_by) == (Origin.HUB, ("carol",), "carol")
    assert not reading.synced
    gone = parse_record(FORMAT_1["adhoc-gone"])
    assert gone.retired and gone.deleted_by == "carol" and gone.admins == ()
    assert all(not parse_record(r).extra for r in FORMAT_1.values())
    # a missing origin meant a directory team
    assert parse_record({"account": "collab-x"}).origin is Origin.DIRECTORY


def hub_with_format_1_records() -> HubState:
    members = {"physics": {"alice", "bob"}, "lab-chem": {"carol"}, "adhoc-reading": {"carol"}}
    groups = {
        name: HubGroup(name, frozenset(members.get(name, ())), {TEAM_PROPERTY: record})
        for name, record in FORMAT_1.items()
    }
    accounts = sorted(str(r["account"]) for r in FORMAT_1.values())
    groups[POLICY.accounts_group] = HubGroup(POLICY.accounts_group, frozenset(accounts))
    people = {"alice", "bob", "carol"}
    users = {name: HubUser(name) for name in [*people, *accounts]}
    shares = {
        account: (HubShare(account, "", frozenset(scopes(account)), group=name),)
        for name, record in FORMAT_1.items()
        if not record["retired"]
        for account in [str(record["account"])]
    }
    return HubState(users, groups, shares)


def test_a_hub_holding_format_1_records_gets_no_change_from_the_directory_it_matches() -> None:
    snapshot = DirectorySnapshot(
        groups={
            "Physics": DirectoryGroup("Physics", frozenset({"alice", "bob"}), gid=3001),
            # the claims source reports a claim team under its group name
            "lab/chem": DirectoryGroup("lab/chem", frozenset({"carol"})),
        },
        # (the claim source's snapshot is incomplete: nothing is retired on its strength; here
        # the directory is complete and `biology` is already retired)
    )
    plan = make_plan(snapshot, hub_with_format_1_records(), POLICY)
    assert plan.actions == [], plan.describe()
    assert plan.refusals == [] and plan.held == []


def test_a_changed_team_is_written_in_the_current_format_with_what_the_planner_keeps() -> None:
    snapshot = DirectorySnapshot(
        groups={
            "Physics": DirectoryGroup("Physics", frozenset({"alice"})),  # bob leaves, gid unsent
            "lab/chem": DirectoryGroup("lab/chem", frozenset({"carol"})),
        }
    )
    plan = make_plan(snapshot, hub_with_format_1_records(), POLICY)
    assert [a.describe() for a in plan.actions] == ["remove bob from group physics"]
    # a retirement rewrites the record in the current format, claim and gid kept
    gone = DirectorySnapshot(groups={"Physics": DirectoryGroup("Physics", frozenset({"alice"}))})
    plan = make_plan(gone, hub_with_format_1_records(), POLICY, allow_large_removal=True)
    (chem,) = [
        a for a in plan.actions if isinstance(a, SetGroupProperties) and a.group == "lab-chem"
    ]
    assert chem.properties[TEAM_PROPERTY] == {
        "version": FORMAT_VERSION,
        "account": "collab-lab-chem",
        "source_group": "lab/chem",
        "origin": "claims",
        "claim": "/lab/chem",
        "retired": True,
        "share_scopes": [],
    }


def test_keys_and_origins_of_a_newer_version_are_kept_as_they_are() -> None:
    newer = {
        "version": 7,
        "account": "collab-x",
        "source_group": "x",
        "origin": "scim",
        "retired": False,
        "colour": "blue",
    }
    record = parse_record(newer)
    assert record.origin is Origin.OTHER and not record.synced and not record.owned_by_directory
    assert record.extra == {"origin": "scim", "colour": "blue"}
    written = record.retire().to_json()
    assert (written["origin"], written["colour"], written["retired"]) == ("scim", "blue", True)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("text", "a team record is a JSON object, not str"),
        (["x"], "a team record is a JSON object, not list"),
        ({}, "a team record names its account"),
        ({"account": ""}, "a team record names its account"),
        ({"account": 12}, "a team record names its account"),
    ],
)
def test_what_is_not_a_record_is_said_in_words(value: Any, said: str) -> None:
    with pytest.raises(RecordError) as raised:
        parse_record(value)
    assert str(raised.value) == said
    # and a group holding it is simply not a team
    assert record_in({TEAM_PROPERTY: value}) is None


def test_odd_field_types_fall_back_to_the_defaults() -> None:
    record = parse_record(
        {"account": "collab-x", "gid": True, "admins": "carol", "share_scopes": None}
    )
    assert (record.gid, record.admins, record.share_scopes) == (None, (), ())
    assert record_in(None) is None and record_in({}) is None


def test_with_record_keeps_the_groups_other_properties() -> None:
    record = TeamRecord("collab-x", "x")
    assert with_record({"colour": "blue"}, record) == {
        "colour": "blue",
        TEAM_PROPERTY: record.to_json(),
    }


names = st.text(min_size=1, max_size=12)
texts = st.none() | names


@st.composite
def records(draw: st.DrawFn) -> TeamRecord:
    origin = draw(st.sampled_from(list(Origin)))
    return TeamRecord(
        account=draw(names),
        source_group=draw(st.text(max_size=12)),
        origin=origin,
        retired=draw(st.booleans()),
        share_scopes=tuple(draw(st.lists(names, max_size=3))),
        gid=draw(st.none() | st.integers(0, 2**31)),
        claim=draw(texts),
        claim_confirmed_at=draw(texts),
        admins=tuple(draw(st.lists(names, max_size=3))),
        created_by=draw(texts),
        created_at=draw(texts),
        deleted_by=draw(texts),
        deleted_at=draw(texts),
        # an unknown origin travels in `extra`, as the parser puts it there
        extra={"origin": "scim"} if origin is Origin.OTHER else {},
    )


@given(records())
def test_every_record_reads_back_as_itself(record: TeamRecord) -> None:
    assert parse_record(record.to_json()) == record
    assert record.to_json()["version"] == FORMAT_VERSION


def test_a_claim_team_s_confirmation_time_is_optional_and_kept_by_every_writer() -> None:
    older = {
        "version": 2,
        "account": "collab-physics",
        "source_group": "physics",
        "origin": "claims",
        "claim": "/a/physics",
        "retired": False,
        "share_scopes": [],
    }
    # a record written before the time existed reads as "not known" and writes back unchanged
    record = parse_record(older)
    assert record.claim_confirmed_at is None and record.to_json() == older
    stamped = parse_record({**older, "claim_confirmed_at": "2026-06-01T12:00:00Z"})
    assert stamped.claim_confirmed_at == "2026-06-01T12:00:00Z" and stamped.extra == {}
    # retiring and restoring keep it; restoring vouches for no share
    assert stamped.retire().claim_confirmed_at == "2026-06-01T12:00:00Z"
    scoped = parse_record({**older, "share_scopes": ["x"], "retired": True})
    assert scoped.unretire() == parse_record(older)
    # the sync's rewrite of a claim team (granting its share) keeps it as well
    snapshot = DirectorySnapshot(
        groups={"physics": DirectoryGroup("physics", frozenset({"alice"}))}, complete=False
    )
    hub = HubState(
        users={"alice": HubUser("alice")},
        groups={"physics": HubGroup("physics", frozenset({"alice"}), with_record({}, stamped))},
    )
    (update,) = [
        a for a in make_plan(snapshot, hub, POLICY).actions if isinstance(a, SetGroupProperties)
    ]
    assert update.properties[TEAM_PROPERTY]["claim_confirmed_at"] == "2026-06-01T12:00:00Z"
