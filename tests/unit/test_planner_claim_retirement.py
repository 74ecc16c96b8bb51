"""Claim teams retire: when every member lost the claim, or when no member's login confirmed it
for ``ClaimGroups.retire_after_days``. The decision (sources/claims/retirement.py) and the
planning are pure and tested by value with an injected time; the login hook (restoring a team,
writing down the confirmation time) runs against JupyterHub's own ORM."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyterhub import orm
from traitlets import TraitError
from traitlets.config import Config

from jupyterhub_teams import JupyterHubTeams
from jupyterhub_teams.integration.login_sync import apply_claim_teams
from jupyterhub_teams.model import (
    TEAM_PROPERTY,
    DirectoryGroup,
    DirectorySnapshot,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
    Origin,
    TeamRecord,
    parse_record,
)
from jupyterhub_teams.plan import (
    GrantGroupShare,
    Plan,
    Policy,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
    make_plan,
)
from jupyterhub_teams.sources.claims import (
    ClaimGroups,
    ClaimTeam,
    claim_record,
    snapshot_from_groups,
)
from jupyterhub_teams.sources.claims.retirement import (
    confirmation_due,
    confirmed_at,
    stamp,
    why_over,
    window,
)

from .simulated_hub import simulate

POLICY = Policy()
ACCOUNTS = POLICY.accounts_group
NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
CLAIMS = "jupyterhub_teams.sources.claims.ClaimGroups"


def claim_team(name: str, confirmed: datetime | None = None, **changes: Any) -> TeamRecord:
    record = claim_record(ClaimTeam(f"/lab/{name}", name, name))
    if confirmed is not None:
        changes["claim_confirmed_at"] = stamp(confirmed)
    return TeamRecord(**{**record.__dict__, **changes})


def served(record: TeamRecord) -> TeamRecord:
    """``record`` as the sync leaves it once it has granted the share."""
    return TeamRecord(**{**record.__dict__, "share_scopes": POLICY.share_scopes(record.account)})


def group(name: str, members: set[str], record: TeamRecord | None) -> HubGroup:
    properties = {TEAM_PROPERTY: record.to_json()} if record is not None else {}
    return HubGroup(name, frozenset(members), properties)


def hub_with(*groups: HubGroup, running: frozenset[str] = frozenset()) -> HubState:
    """A hub where every team in ``groups`` is served: account, accounts group, share."""
    accounts = {g.record.account for g in groups if g.record is not None}
    people = {m for g in groups for m in g.users}
    users = {n: HubUser(n) for n in people}
    users |= {a: HubUser(a, frozenset({ACCOUNTS}), server_running=a in running) for a in accounts}
    shares = {
        g.record.account: (
            HubShare(
                g.record.account,
                "",
                frozenset(POLICY.share_scopes(g.record.account)),
                group=g.name,
            ),
        )
        for g in groups
        if g.record is not None and g.record.active
    }
    all_groups = {g.name: g for g in groups}
    all_groups[ACCOUNTS] = HubGroup(ACCOUNTS, frozenset(accounts))
    return HubState(users, all_groups, shares)


def claims_plan(
    hub: HubState, now: datetime = NOW, retire_after: timedelta | None = WINDOW
) -> Plan:
    """What the background sync plans for the claim teams in ``hub`` at ``now``."""
    snapshot, problems = snapshot_from_groups(
        hub.groups.values(), POLICY.max_team_name_length, now=now, retire_after=retire_after
    )
    assert problems == []
    return make_plan(snapshot, hub, POLICY)


# -- the decision ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, None), (None, None), (-3, None), (30, timedelta(days=30)), (0.5, timedelta(hours=12))],
)
def test_the_option_as_a_window(days: float | None, expected: timedelta | None) -> None:
    assert window(days) == expected


def test_the_confirmation_time_is_written_and_read_in_utc_to_the_second() -> None:
    paris = timezone(timedelta(hours=2))
    assert stamp(datetime(2026, 6, 1, 14, 0, 5, 999, tzinfo=paris)) == "2026-06-01T12:00:05Z"
    assert confirmed_at(claim_team("x", NOW)) == NOW
    assert confirmed_at(claim_team("x")) is None
    # an unreadable time is unknown, never "long ago"
    assert confirmed_at(claim_team("x", claim_confirmed_at="last tuesday")) is None


@pytest.mark.parametrize(
    ("members", "confirmed", "retire_after", "over"),
    [
        # every member lost the claim (their logins took them out): over, whatever the times
        (set(), NOW, None, "no member left"),
        (set(), None, WINDOW, "no member left"),
        # confirmed longer ago than the window
        ({"alice"}, NOW - WINDOW - DAY, WINDOW, "for 31.0 days (since 2026-05-01T12:00:00Z)"),
        # within the window, just at its end, or with no time recorded: not over
        ({"alice"}, NOW - WINDOW + DAY, WINDOW, None),
        ({"alice"}, NOW - WINDOW, WINDOW, None),
        ({"alice"}, None, WINDOW, None),
        # shorter spans are said in hours or seconds
        ({"alice"}, NOW - timedelta(hours=5), timedelta(hours=1), "for 5.0 hours"),
        ({"alice"}, NOW - timedelta(seconds=42), timedelta(seconds=30), "for 42 s (since"),
        # retirement by time off
        ({"alice"}, NOW - 1000 * DAY, None, None),
        # a time in the future (a clock set back) only delays
        ({"alice"}, NOW + 1000 * DAY, WINDOW, None),
    ],
)
def test_when_a_claim_team_is_over(
    members: set[str], confirmed: datetime | None, retire_after: timedelta | None, over: str | None
) -> None:
    reason = why_over(
        group("physics", members, claim_team("physics", confirmed)), NOW, retire_after
    )
    if over is None:
        assert reason is None
    else:
        assert reason is not None and over in reason


def test_only_active_claim_teams_are_ever_over() -> None:
    directory = TeamRecord("collab-d", "d")
    hub_made = TeamRecord("collab-h", "h", origin=Origin.HUB)
    retired = claim_team("r", NOW - 100 * DAY, retired=True)
    for record in (directory, hub_made, retired, None):
        assert why_over(group("g", set(), record), NOW, WINDOW) is None


@pytest.mark.parametrize(
    ("confirmed", "retire_after", "due"),
    [
        (None, None, False),  # off: a login never writes
        (NOW - 400 * DAY, None, False),
        (None, WINDOW, True),  # no time yet
        (NOW - 2 * DAY, WINDOW, False),  # younger than a tenth of the window: no churn
        (NOW - 3 * DAY, WINDOW, True),  # a tenth of 30 days
        (NOW + DAY, WINDOW, False),  # in the future: left alone
    ],
)
def test_a_login_writes_the_time_only_when_it_is_getting_old(
    confirmed: datetime | None, retire_after: timedelta | None, due: bool
) -> None:
    assert confirmation_due(claim_team("physics", confirmed), NOW, retire_after) is due


# -- the snapshot ------------------------------------------------------------------------------


def test_the_snapshot_names_the_teams_that_are_over_and_asks_only_for_the_others() -> None:
    groups = [
        group("fresh", {"alice"}, claim_team("fresh", NOW - DAY)),
        group("stale", {"bob"}, claim_team("stale", NOW - 40 * DAY)),
        group("empty", set(), claim_team("empty", NOW)),
        group("unknown-age", {"carol"}, claim_team("unknown-age")),
        group("done", set(), claim_team("done", retired=True)),
        # a name that is a problem is left as it is, never retired
        group("way-too-long-for-the-limit", set(), claim_team("way-too-long-for-the-limit")),
    ]
    snapshot, problems = snapshot_from_groups(groups, 12, now=NOW, retire_after=WINDOW)
    assert snapshot.complete is False
    assert set(snapshot.groups) == {"fresh", "unknown-age"}
    assert set(snapshot.retiring) == {"stale", "empty"}
    assert snapshot.retiring["stale"].startswith("no member's login confirmed its claim for 40.0")
    assert len(problems) == 1


def test_the_source_reads_its_window_from_the_option_and_the_service_gets_it() -> None:
    teams = JupyterHubTeams(
        config=Config(
            {"JupyterHubTeams": {"source_class": CLAIMS}, "ClaimGroups": {"retire_after_days": 30}}
        )
    )
    source = teams.make_source()
    assert isinstance(source, ClaimGroups) and source.retire_after == WINDOW
    again = JupyterHubTeams.from_json(teams.to_json()).make_source()
    assert isinstance(again, ClaimGroups) and again.retire_after == WINDOW
    stale = group("stale", {"bob"}, claim_team("stale", NOW - 40 * DAY))
    assert set(source.snapshot_from_hub({"stale": stale}, NOW).retiring) == {"stale"}
    # off by default
    default = JupyterHubTeams(config=Config({"JupyterHubTeams": {"source_class": CLAIMS}}))
    source = default.make_source()
    assert isinstance(source, ClaimGroups) and source.retire_after is None
    assert source.snapshot_from_hub({"stale": stale}, NOW).retiring == {}
    # a negative window is a mistake, said at start
    with pytest.raises(TraitError, match="retire_after_days"):
        ClaimGroups(retire_after_days=-1)
    assert ClaimGroups(retire_after_days=None).retire_after is None


# -- the plan ----------------------------------------------------------------------------------


def test_a_claim_team_every_member_lost_is_retired_like_a_directory_team() -> None:
    record = served(claim_team("physics", NOW))
    hub = hub_with(group("physics", set(), record), running=frozenset({"collab-physics"}))
    plan = claims_plan(hub)
    retired = record.retire().to_json()
    assert plan.actions == [
        RevokeGroupShare("collab-physics", "physics"),
        StopServer("collab-physics", "team retired"),
        SetGroupProperties(
            "physics",
            {TEAM_PROPERTY: retired},
            "retire team: no member left: every member's login took them out, or they left the hub",
        ),
    ]
    # the account and the group stay; the record keeps its claim and says retired
    assert (retired["retired"], retired["claim"], retired["share_scopes"]) == (
        True,
        "/lab/physics",
        [],
    )
    assert plan.held == [] and plan.refusals == []


def test_a_claim_team_nobody_confirmed_for_the_window_is_retired_and_emptied() -> None:
    record = served(claim_team("physics", NOW - 31 * DAY))
    hub = hub_with(
        group("physics", {"alice", "bob"}, record), running=frozenset({"collab-physics"})
    )
    plan = claims_plan(hub)
    assert [type(a) for a in plan.actions] == [
        RevokeGroupShare,
        RemoveGroupMembers,
        StopServer,
        SetGroupProperties,
    ]
    assert plan.actions[1] == RemoveGroupMembers("physics", ("alice", "bob"))
    reason = plan.actions[3].describe()
    assert "no member's login confirmed its claim for 31.0 days" in reason
    # planned again on the result: nothing more (the team stays retired, its account stays)
    after = simulate(hub, plan.actions)
    assert claims_plan(after).actions == []
    assert "collab-physics" in after.users and "physics" in after.groups
    assert after.groups["physics"].record == record.retire()


def test_a_fresh_claim_team_is_kept_as_it_is() -> None:
    hub = hub_with(
        group("physics", {"alice"}, served(claim_team("physics", NOW - 29 * DAY))),
        group("chem", {"bob"}, served(claim_team("chem"))),  # no time recorded yet
        running=frozenset({"collab-physics"}),
    )
    assert claims_plan(hub).actions == []
    # with retirement by time off, even a very old time keeps a team that has members
    old = hub_with(group("physics", {"alice"}, served(claim_team("physics", NOW - 999 * DAY))))
    assert claims_plan(old, retire_after=None).actions == []


def test_the_incomplete_answer_still_removes_nobody_from_the_teams_it_asks_for() -> None:
    hub = hub_with(
        group("physics", set(), served(claim_team("physics", NOW))),
        group("chem", {"bob"}, served(claim_team("chem", NOW))),
    )
    snapshot, _ = snapshot_from_groups([group("chem", set(), claim_team("chem", NOW))], 40, now=NOW)
    # a snapshot naming chem without bob (made from another read) never takes bob out
    plan = make_plan(
        DirectorySnapshot(
            groups=snapshot.groups, source="claims", complete=False, retiring={"physics": "gone"}
        ),
        hub,
        POLICY,
    )
    assert not any(isinstance(a, RemoveGroupMembers) for a in plan.actions)
    assert [a.group for a in plan.actions if isinstance(a, SetGroupProperties)] == ["physics"]
    assert plan.notes == [
        "the claims answer is incomplete: nobody is removed from a team it names, and only the "
        "teams it says are over are retired"
    ]


def test_only_active_synced_teams_the_snapshot_does_not_ask_for_are_retired() -> None:
    adhoc = TeamRecord("collab-adhoc-x", "", origin=Origin.HUB)
    hub = hub_with(
        group("adhoc-x", set(), adhoc),
        group("done", set(), claim_team("done", retired=True)),
        group("physics", {"alice"}, served(claim_team("physics", NOW))),
    )
    snapshot = DirectorySnapshot(
        groups={"physics": DirectoryGroup("physics", frozenset({"alice"}))},
        complete=False,
        retiring={"adhoc-x": "x", "done": "x", "physics": "x", "missing": "x"},
    )
    assert make_plan(snapshot, hub, POLICY).actions == []


TEAMS = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(["alice", "bob", "carol"]), max_size=3),
        st.none() | st.integers(0, 60),  # days since the claim was confirmed; None: unknown
        st.booleans(),  # the team server runs
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(TEAMS)
def test_a_plan_retires_exactly_the_teams_that_are_over_and_the_next_plan_is_empty(
    teams: list[tuple[frozenset[str], int | None, bool]],
) -> None:
    groups = [
        group(
            f"t{i}", set(members), served(claim_team(f"t{i}", None if d is None else NOW - d * DAY))
        )
        for i, (members, d, _) in enumerate(teams)
    ]
    running = frozenset(f"collab-t{i}" for i, (_, _, up) in enumerate(teams) if up)
    hub = hub_with(*groups, running=running)
    plan = claims_plan(hub)
    assert plan.held == [] and plan.refusals == []
    after = simulate(hub, plan.actions)
    for i, (members, days, _) in enumerate(teams):
        name, account = f"t{i}", f"collab-t{i}"
        over = not members or (days is not None and days > WINDOW.days)
        record = after.groups[name].record
        assert record is not None and record.retired is over
        if over:
            assert after.groups[name].users == frozenset() and not after.shares.get(account)
            assert not after.users[account].server_running
            before = groups[i].record
            assert before is not None and record == before.retire()
        else:
            assert (
                after.groups[name] == hub.groups[name]
                and after.users[account] == hub.users[account]
            )
    assert claims_plan(after).actions == []


# -- the large-removal guard -------------------------------------------------------------------


def directory_team(name: str, members: set[str]) -> HubGroup:
    return group(
        name,
        members,
        TeamRecord(f"collab-{name}", name, share_scopes=POLICY.share_scopes(f"collab-{name}")),
    )


def test_claim_retirements_are_neither_held_nor_counted_by_the_guard() -> None:
    """The guard stands against a directory read gone wrong, counted against what the directory
    owns. Claim retirements come from the hub's own groups (emptied by logins) or from recorded
    times, and a login with the claim undoes them: they go ahead, and they never make a
    directory's ordinary removals look large."""
    claims = [group(f"c{i}", set(), served(claim_team(f"c{i}", NOW))) for i in range(12)]
    directory = [directory_team(f"d{i}", {"alice", "bob"}) for i in range(4)]
    hub = hub_with(*claims, *directory)
    # the directory drops bob from one team: 1 removal of 12 directory memberships and teams
    snapshot = DirectorySnapshot(
        groups={
            g.name: DirectoryGroup(
                g.name, frozenset({"alice"} if g.name == "d0" else {"alice", "bob"})
            )
            for g in directory
        },
        retiring={g.name: "no member left" for g in claims},
    )
    plan = make_plan(snapshot, hub, POLICY)
    assert plan.held == [] and plan.hold_reason is None
    retired = {a.group for a in plan.actions if isinstance(a, SetGroupProperties)}
    assert retired == {g.name for g in claims}
    assert RemoveGroupMembers("d0", ("bob",)) in plan.actions

    # the claims source's own answer retiring all of its 12 teams at once: not held (the guard,
    # counting these against no directory team at all, would hold any 10 of them)
    only_claims = hub_with(*claims)
    plan = claims_plan(only_claims)
    assert plan.held == [] and plan.hold_reason is None
    assert len([a for a in plan.actions if isinstance(a, SetGroupProperties)]) == 12

    # a directory answer retiring every directory team is held; the claim retirements are not
    gone = DirectorySnapshot(retiring={g.name: "no member left" for g in claims})
    plan = make_plan(gone, hub, POLICY)
    assert (
        plan.hold_reason is not None
        and "every one of the 4 active directory team" in plan.hold_reason
    )
    assert {a.group for a in plan.held if isinstance(a, SetGroupProperties)} == {
        g.name for g in directory
    }
    assert {a.group for a in plan.actions if isinstance(a, SetGroupProperties)} == {
        g.name for g in claims
    }
    # kinds stay side by side, in the safety order
    kinds = [type(a) for a in plan.actions]
    assert kinds == sorted(
        kinds, key=[RevokeGroupShare, RemoveGroupMembers, StopServer, SetGroupProperties].index
    )


# -- at login: restored, and the confirmation time ---------------------------------------------


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    for name in ("alice", "bob", "collab-physics"):
        session.add(orm.User(name=name))
    session.commit()
    yield session
    session.close()


def source(**options: Any) -> ClaimGroups:
    teams = JupyterHubTeams(
        config=Config(
            {
                "JupyterHubTeams": {"source_class": CLAIMS},
                "ClaimGroups": {"path_rule": "last", **options},
            }
        )
    )
    made = teams.make_source()
    assert isinstance(made, ClaimGroups)
    return made


def record_of(db: Any, name: str) -> dict[str, Any]:
    return dict(orm.Group.find(db, name).properties[TEAM_PROPERTY])


def login(
    db: Any, name: str, paths: set[str], claims: ClaimGroups, now: datetime
) -> tuple[list[str], list[str]]:
    user = orm.User.find(db, name)
    return apply_claim_teams(db, user, paths, claims, logging.getLogger("test"), now=now)


def test_a_retired_claim_team_is_restored_by_a_login_with_its_claim(db: Any) -> None:
    claims = source(retire_after_days=30)
    assert login(db, "alice", {"/lab/physics"}, claims, NOW - 40 * DAY) == (["physics"], [])
    # the sync served it, then retired it (members out, share revoked, record retired)
    physics = orm.Group.find(db, "physics")
    old = parse_record(physics.properties[TEAM_PROPERTY])
    physics.properties = {TEAM_PROPERTY: served(old).retire().to_json(), "note": "kept"}
    physics.users = []
    db.commit()
    # bob's login with another path of the same team name is refused, as for an active team
    assert login(db, "bob", {"/other/physics"}, claims, NOW) == ([], [])
    assert record_of(db, "physics")["retired"] is True
    # alice's login with the owning path restores it: active, no share vouched for until the
    # sync grants it again, the claim confirmed now, other properties kept
    assert login(db, "alice", {"/lab/physics"}, claims, NOW) == (["physics"], [])
    physics = orm.Group.find(db, "physics")
    assert physics.properties["note"] == "kept"
    restored = parse_record(physics.properties[TEAM_PROPERTY])
    assert restored == TeamRecord(**{**old.__dict__, "claim_confirmed_at": stamp(NOW)})
    assert [u.name for u in physics.users] == ["alice"]

    # the sync then gives the share back and vouches for it; nothing is retired
    hub = HubState(
        users={
            n: HubUser(n, frozenset({ACCOUNTS}) if n.startswith("collab-") else frozenset())
            for n in ("alice", "collab-physics")
        },
        groups={
            "physics": HubGroup("physics", frozenset({"alice"}), dict(physics.properties)),
            ACCOUNTS: HubGroup(ACCOUNTS, frozenset({"collab-physics"})),
        },
    )
    plan = claims_plan(hub)
    assert plan.actions == [
        GrantGroupShare("collab-physics", "physics", POLICY.share_scopes("collab-physics")),
        SetGroupProperties(
            "physics",
            {"note": "kept", TEAM_PROPERTY: served(restored).to_json()},
            "team",
        ),
    ]


def test_logins_write_the_confirmation_time_only_when_it_is_getting_old(db: Any) -> None:
    claims = source(retire_after_days=30)
    login(db, "alice", {"/lab/physics"}, claims, NOW)
    assert record_of(db, "physics")["claim_confirmed_at"] == "2026-06-01T12:00:00Z"
    before = record_of(db, "physics")
    # two days later (under a tenth of 30 days): nothing written
    login(db, "alice", {"/lab/physics"}, claims, NOW + 2 * DAY)
    login(db, "bob", {"/lab/physics"}, claims, NOW + 2 * DAY)
    assert record_of(db, "physics") == before
    # four days later: written once
    login(db, "bob", {"/lab/physics"}, claims, NOW + 4 * DAY)
    assert record_of(db, "physics") == {**before, "claim_confirmed_at": "2026-06-05T12:00:00Z"}


def test_with_retirement_by_time_off_logins_write_no_time(db: Any) -> None:
    claims = source()
    login(db, "alice", {"/lab/physics"}, claims, NOW)
    first = record_of(db, "physics")
    assert "claim_confirmed_at" not in first
    login(db, "alice", {"/lab/physics"}, claims, NOW + 400 * DAY)
    assert record_of(db, "physics") == first


def test_a_team_without_a_time_gets_one_at_its_next_login_once_the_option_is_on(db: Any) -> None:
    login(db, "alice", {"/lab/physics"}, source(), NOW)
    login(db, "alice", {"/lab/physics"}, source(retire_after_days=30), NOW + DAY)
    assert record_of(db, "physics")["claim_confirmed_at"] == stamp(NOW + DAY)
