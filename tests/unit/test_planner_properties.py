"""Property tests of the planner: random directories against random hubs."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, replace

from hypothesis import given, settings
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
    Person,
)
from jupyterhub_teams.naming import InvalidName, person_name, team_name
from jupyterhub_teams.plan import (
    Action,
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    Plan,
    Policy,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
    Team,
    desired_people,
    desired_teams,
    make_plan,
)

from .simulated_hub import simulate

EXAMPLES = settings(max_examples=300, deadline=None)

PEOPLE = [
    "alice",
    "bob",
    "carol",
    "dave",
    "Dave",
    "erin",
    "frank",
    "zoë",
    "collab-x",
    "COLLAB-Y",
    "collab-physics",
    "a b",
    "x/y",
    "",
    "tab\there",
]
GROUPS = [
    "physics",
    "Physics",
    "physics ",
    "chemistry",
    "gpu-users",
    "Data Science/ML",
    "data-science-ml",
    "2024-course",
    "Ünïcode",
    "staff",
    "///",
    "",
    "日本",
    "jupyterhub-teams-accounts",
    "x" * 45 + "1",
    "x" * 45 + "2",
]
# Hub groups nobody manages; some share a name with a directory group (and get adopted).
UNMANAGED = ["staff", "everyone", "lab-admins", "physics", "chemistry", "biology"]
HUB_ONLY_USERS = ["root", "mallory", "alice", "zed", "collab-stray"]
# The large-removal guard is off here (fraction 1.0, and plans made with `confirmed_plan`) so
# that every plan may converge; the guard has its own properties below.
POLICIES = [
    Policy(large_removal_fraction=1.0),
    Policy(create_people=False, large_removal_fraction=1.0),
    Policy(max_team_name_length=12, large_removal_fraction=1.0),
    Policy(account_prefix="team_", accounts_group="team-accounts", large_removal_fraction=1.0),
]
GUARDED = dataclasses.replace(POLICIES[0], large_removal_fraction=0.3, large_removal_minimum=2)
REMOVALS = (RemoveGroupMembers, RevokeGroupShare, StopServer)
KNOWN_ACTIONS = (
    CreateUsers,
    CreateGroup,
    SetGroupProperties,
    AddGroupMembers,
    RemoveGroupMembers,
    GrantGroupShare,
    RevokeGroupShare,
    StopServer,
)


def confirmed_plan(snapshot: DirectorySnapshot, state: HubState, policy: Policy) -> Plan:
    """A plan whose removals an admin confirmed: what the planner does once nothing is held."""
    return make_plan(snapshot, state, policy, allow_large_removal=True)


def pick(items: list[str], mask: int) -> list[str]:
    """The items whose bit is set in ``mask``: few draws, and shrinks towards nothing."""
    return [item for i, item in enumerate(items) if mask >> i & 1]


def masks(items: list[str]) -> st.SearchStrategy[int]:
    return st.integers(0, 2 ** len(items) - 1)


@st.composite
def directories(draw: st.DrawFn, complete: bool | None = None) -> DirectorySnapshot:
    groups = {
        GROUPS[index]: frozenset(pick(PEOPLE, members))
        for index, members in draw(
            st.lists(st.tuples(st.integers(0, len(GROUPS) - 1), masks(PEOPLE)), max_size=7)
        )
    }
    people = pick(PEOPLE, draw(masks(PEOPLE)))
    if complete is None:
        complete = draw(st.sampled_from([True, True, False]))
    return DirectorySnapshot(
        people={p: Person(p, 2000 + i) for i, p in enumerate(people)},
        groups={name: DirectoryGroup(name, members) for name, members in groups.items()},
        source="random",
        complete=complete,
    )


PROPERTIES: list[dict[str, object]] = [
    {},
    {"colour": "blue"},
    {"jupyterhub_teams": "not a mapping"},
    {"n": 1},
]


@st.composite
def hub_states(draw: st.DrawFn, policy: Policy) -> HubState:
    state = HubState()
    # history: the hub as earlier syncs of other directories left it
    for _ in range(draw(st.integers(0, 2))):
        earlier = draw(directories())
        state = simulate(state, confirmed_plan(earlier, state, policy).actions)
    users = dict(state.users)
    groups = dict(state.groups)
    shares = {owner: list(items) for owner, items in state.shares.items()}
    admins = draw(masks(HUB_ONLY_USERS))
    for i, name in enumerate(pick(HUB_ONLY_USERS, draw(masks(HUB_ONLY_USERS)))):
        users.setdefault(name, HubUser(name, admin=bool(admins >> i & 1)))
    known = sorted(users)
    # unmanaged groups, some replacing a team group that was there
    for index, properties, members in draw(
        st.lists(
            st.tuples(
                st.integers(0, len(UNMANAGED) - 1),
                st.integers(0, len(PROPERTIES) - 1),
                masks(known) if known else st.just(0),
            ),
            max_size=3,
        )
    ):
        name = UNMANAGED[index]
        groups[name] = HubGroup(name, frozenset(pick(known, members)), PROPERTIES[properties])
    # hand edits: stray members in some groups
    names = sorted(groups)
    if names and known:
        for group, stray in draw(
            st.lists(
                st.tuples(st.integers(0, len(names) - 1), st.integers(0, len(known) - 1)),
                max_size=3,
            )
        ):
            edited = groups[names[group]]
            groups[names[group]] = replace(edited, users=edited.users | {known[stray]})
    # servers in every state
    if known:
        running = set(pick(known, draw(masks(known))))
        pending = set(pick(known, draw(masks(known)))) - running
        for name in known:
            users[name] = replace(
                users[name],
                server_running=name in running,
                server_pending="spawn" if name in pending else None,
            )
    # unrelated shares of team accounts: direct ones; some accounts lose every share
    owners = sorted(shares)
    if owners and known:
        for index, user in draw(
            st.lists(
                st.tuples(st.integers(0, len(owners) - 1), st.integers(0, len(known) - 1)),
                max_size=3,
            )
        ):
            account = owners[index]
            scopes = frozenset({f"access:servers!server={account}/"})
            shares[account].append(HubShare(account, "", scopes, user=known[user]))
        for owner in pick(owners, draw(masks(owners))):
            if draw(st.integers(0, 3)) == 0:
                shares[owner] = []
    return HubState(users, groups, {o: tuple(s) for o, s in shares.items()})


@dataclass
class Case:
    policy: Policy
    snapshot: DirectorySnapshot
    before: HubState
    plan: Plan
    after: HubState
    teams: dict[str, Team]


@st.composite
def cases(draw: st.DrawFn, complete: bool | None = None) -> Case:
    policy = draw(st.sampled_from(POLICIES))
    before = draw(hub_states(policy))
    snapshot = draw(directories(complete))
    plan = confirmed_plan(snapshot, before, policy)
    after = simulate(before, plan.actions)
    teams, _ = desired_teams(snapshot, policy, before)
    return Case(policy, snapshot, before, plan, after, teams)


def team_marker(group: HubGroup) -> dict[str, object] | None:
    """A group's team record, as the current format writes it (None: not a team)."""
    record = group.record
    return record.to_json() if record is not None else None


def retired(properties: Mapping[str, object]) -> bool:
    marker = team_marker(HubGroup("any", properties=properties))
    return bool(marker and marker.get("retired"))


def frozen_people(case: Case) -> set[str]:
    names = set()
    for refusal in case.plan.refusals:
        if refusal.kind == "person":
            with contextlib.suppress(InvalidName):
                names.add(person_name(refusal.name, case.policy.account_prefix))
    return names


def frozen_team_names(case: Case) -> set[str]:
    """Teams left as they are: those of refused groups, unless their own group was accepted (a
    refused newcomer never freezes a team that follows its source group)."""
    names = set()
    for refusal in case.plan.refusals:
        if refusal.kind == "group":
            with contextlib.suppress(InvalidName):
                names.add(team_name(refusal.name, case.policy.max_team_name_length))
    return names - set(case.teams)


def owned_by_directory(group: HubGroup) -> bool:
    record = group.record
    return record is not None and record.owned_by_directory


@EXAMPLES
@given(st.data())
def test_large_removals_are_held_whole_and_only_held(data: st.DataObject) -> None:
    before = data.draw(hub_states(GUARDED))
    snapshot = data.draw(directories())
    guarded = make_plan(snapshot, before, GUARDED)
    confirmed = make_plan(snapshot, before, GUARDED, allow_large_removal=True)
    # holding never changes what is added, only when removals happen
    assert guarded.actions + guarded.held == confirmed.actions
    assert confirmed.held == [] and confirmed.hold_reason is None
    if not guarded.held:
        assert guarded.hold_reason is None
        return
    assert not any(isinstance(a, REMOVALS) for a in guarded.actions)
    assert guarded.hold_reason in guarded.notes
    assert "allow-large-removal" in str(guarded.hold_reason)
    owned = [g for g in before.groups.values() if owned_by_directory(g)]
    active = {g.name for g in owned if not retired(g.properties)}
    retiring = {a.group for a in guarded.held if isinstance(a, SetGroupProperties)}
    removals = len(retiring) + sum(
        len(a.users) for a in guarded.held if isinstance(a, RemoveGroupMembers)
    )
    total = sum(len(g.users) + (not retired(g.properties)) for g in owned)
    every_team = bool(active) and active <= retiring
    too_many = removals >= 2 and removals > GUARDED.large_removal_fraction * total
    assert every_team or too_many


@EXAMPLES
@given(st.data())
def test_a_plan_retiring_every_directory_team_is_always_held(data: st.DataObject) -> None:
    policy = data.draw(st.sampled_from(POLICIES))  # the fraction check is off in these
    before = data.draw(hub_states(policy))
    active = {
        g.name
        for g in before.groups.values()
        if owned_by_directory(g) and not retired(g.properties)
    }
    plan = make_plan(DirectorySnapshot(source="emptied"), before, policy)
    if active:
        assert plan.held and "retire every one of" in str(plan.hold_reason)
        assert not any(isinstance(a, (*REMOVALS, SetGroupProperties)) for a in plan.actions)
    else:
        assert not plan.held


ADHOC_NAMES = [f"adhoc-{i}" for i in range(20)]


@EXAMPLES
@given(st.data(), st.sampled_from(["hub", "claims"]))
def test_teams_made_in_the_hub_or_by_logins_never_dilute_the_guard(
    data: st.DataObject, made_by: str
) -> None:
    before = data.draw(hub_states(GUARDED))
    snapshot = data.draw(directories())
    people = sorted(before.users) or ["mallory"]
    origin = {"origin": "hub"} if made_by == "hub" else {"origin": "directory", "source": "claims"}
    groups = dict(before.groups)
    for name in pick(ADHOC_NAMES, data.draw(masks(ADHOC_NAMES))):
        marker = {"account": f"collab-{name}", "source_group": name, "retired": False, **origin}
        members = frozenset(pick(people, data.draw(masks(people))))
        groups[name] = HubGroup(name, members, {TEAM_PROPERTY: marker})
    plain = make_plan(snapshot, before, GUARDED)
    crowded = make_plan(snapshot, replace(before, groups=groups), GUARDED)
    if made_by == "hub":
        # teams people make on the pages are never touched, and never count
        assert crowded.held == plain.held and crowded.actions == plain.actions
    else:
        # a claim team a directory sync retires counts as a removal, never as a cushion
        assert not plain.held or crowded.held


@EXAMPLES
@given(cases())
def test_applying_a_plan_reaches_a_fixed_point(case: Case) -> None:
    again = confirmed_plan(case.snapshot, case.after, case.policy)
    assert again.actions == []
    assert again.refusals == case.plan.refusals


@EXAMPLES
@given(cases())
def test_every_team_has_its_members_and_share(case: Case) -> None:
    for team in case.teams.values():
        group = case.after.groups[team.name]
        wanted = team.members
        if not case.policy.create_people:
            wanted = wanted & set(case.before.users)
        if case.snapshot.complete:
            # people refused for a name collision keep the teams they were in
            kept = frozen_people(case)
            before = case.before.groups.get(team.name)
            if before is not None:
                wanted = wanted | (before.users & kept)
            assert group.users == wanted
        else:
            assert group.users >= wanted
        assert team_marker(group) == {
            "version": FORMAT_VERSION,
            "account": team.account,
            "source_group": team.source_group,
            "origin": "directory",
            "retired": False,
            "share_scopes": list(case.policy.share_scopes(team.account)),
        }
        if team.name in case.before.groups:
            # adopting or updating a group keeps whatever else its properties hold
            others = {k: v for k, v in group.properties.items() if k != "jupyterhub_teams"}
            before = case.before.groups[team.name].properties
            assert others == {k: v for k, v in before.items() if k != "jupyterhub_teams"}
        assert team.account in case.after.users
        assert team.account in case.after.groups[case.policy.accounts_group].users
        scopes = set(case.policy.share_scopes(team.account))
        assert any(
            share.group == team.name and scopes <= share.scopes
            for share in case.after.shares[team.account]
        )
        # users see their own groups consistently
        for member in group.users & set(case.after.users):
            assert team.name in case.after.users[member].groups


@EXAMPLES
@given(cases())
def test_unmanaged_groups_and_refused_teams_are_unchanged(case: Case) -> None:
    frozen = frozen_team_names(case)
    for name, group in case.before.groups.items():
        unmanaged = team_marker(group) is None and name not in case.teams
        if name == case.policy.accounts_group:
            continue
        if unmanaged or name in frozen:
            assert case.after.groups[name] == group
            touched = {
                getattr(a, "group", None)
                for a in case.plan.actions
                if not isinstance(a, CreateUsers)
            }
            assert name not in touched
    for name in frozen:
        if name in case.before.groups:
            marker = team_marker(case.before.groups[name])
            account = str(marker.get("account", "")) if marker else ""
            if account:
                assert case.after.shares.get(account) == case.before.shares.get(account)
                assert case.after.users[account] == replace(
                    case.before.users[account], groups=case.after.users[account].groups
                )


def touches(action: Action, team: str, account: str) -> bool:
    return (
        getattr(action, "group", None) == team
        or getattr(action, "owner", None) == account
        or getattr(action, "user", None) == account
    )


@EXAMPLES
@given(cases(complete=True), st.integers(0, 2**16 - 1))
def test_a_colliding_newcomer_never_changes_what_happens_to_a_team(case: Case, mask: int) -> None:
    active = sorted(
        name
        for name, group in case.before.groups.items()
        if (team_marker(group) or {}).get("retired") is False
    )
    # two new spellings of each picked team's name: they collide with each other and with the
    # team's own group, if the directory still has it
    rivals = {}
    for name in pick(active, mask):
        rivals[name.upper() + " "] = name
        rivals["_" + name.upper()] = name
    groups = {**case.snapshot.groups}
    for rival in rivals:
        groups[rival] = DirectoryGroup(rival, frozenset({"mallory"}))
    snapshot = replace(case.snapshot, groups=groups)
    plan = confirmed_plan(snapshot, case.before, case.policy)
    after = simulate(case.before, plan.actions)
    refused = {r.name for r in plan.refusals if r.kind == "group"}
    for rival, team in rivals.items():
        assert rival in refused
        marker = team_marker(case.before.groups[team])
        assert marker is not None
        account = str(marker["account"])
        if marker.get("source_group") in case.snapshot.groups:
            # the team's own group is still there: the team follows it, as without the rivals
            assert [a for a in plan.actions if touches(a, team, account)] == [
                a for a in case.plan.actions if touches(a, team, account)
            ]
            assert "already that team's source" in next(
                r.reason for r in plan.refusals if r.name == rival
            )
        else:
            # nobody owns the name in the directory: the team stays exactly as it is
            assert after.groups[team] == case.before.groups[team]
            assert after.shares.get(account) == case.before.shares.get(account)
            assert not any(touches(a, team, account) for a in plan.actions)
        assert "mallory" not in after.groups[team].users - case.before.groups[team].users
    assert confirmed_plan(snapshot, after, case.policy).actions == []


@EXAMPLES
@given(cases())
def test_nothing_is_ever_deleted(case: Case) -> None:
    assert all(isinstance(a, KNOWN_ACTIONS) for a in case.plan.actions)
    assert set(case.before.users) <= set(case.after.users)
    assert set(case.before.groups) <= set(case.after.groups)
    for name, user in case.before.users.items():
        assert case.after.users[name].admin == user.admin
    # nobody is added who is not a wanted person or a team account
    people, _ = desired_people(case.snapshot, case.policy)
    accounts = {t.account for t in case.teams.values()}
    for action in case.plan.actions:
        if isinstance(action, CreateUsers):
            assert set(action.names) <= set(people.values()) | accounts
        elif isinstance(action, (CreateGroup, AddGroupMembers)):
            added = set(action.members if isinstance(action, CreateGroup) else action.users)
            if action.group == case.policy.accounts_group:
                assert added <= accounts
            else:
                assert added <= case.teams[action.group].members


@EXAMPLES
@given(cases(complete=False))
def test_incomplete_snapshot_never_removes(case: Case) -> None:
    assert not any(
        isinstance(a, (RemoveGroupMembers, RevokeGroupShare, StopServer)) for a in case.plan.actions
    )
    for name, group in case.before.groups.items():
        assert case.after.groups[name].users >= group.users
        marker = team_marker(group)
        if marker is not None and not marker.get("retired"):
            assert not retired(case.after.groups[name].properties)
    for owner, shares in case.before.shares.items():
        assert set(shares) <= set(case.after.shares[owner])
    for name, user in case.before.users.items():
        assert case.after.users[name].server_running == user.server_running
        assert case.after.users[name].server_pending == user.server_pending
    assert case.plan.notes[0].endswith("nothing is removed or retired this time")


@EXAMPLES
@given(cases(complete=True))
def test_teams_that_left_the_directory_are_retired(case: Case) -> None:
    frozen = frozen_team_names(case)
    for name, group in case.before.groups.items():
        marker = team_marker(group)
        if marker is None or name in case.teams or name in frozen:
            continue
        if marker.get("origin") not in ("directory", "claims"):
            continue
        after = case.after.groups[name]
        assert after.users == frozenset()
        # a retired marker vouches for no share
        expected = (
            marker if marker.get("retired") else {**marker, "retired": True, "share_scopes": []}
        )
        assert team_marker(after) == expected
        account = str(marker["account"])
        assert not any(s.group == name for s in case.after.shares.get(account, ()))
        if account in case.after.users:
            assert not case.after.users[account].server_running
            assert case.after.users[account].server_pending is None


@EXAMPLES
@given(cases())
def test_grants_come_before_removals(case: Case) -> None:
    early = (CreateUsers, CreateGroup, AddGroupMembers, GrantGroupShare)
    late = (RevokeGroupShare, RemoveGroupMembers, StopServer)
    actions = case.plan.actions
    granting = [i for i, a in enumerate(actions) if isinstance(a, early)]
    taking = [i for i, a in enumerate(actions) if isinstance(a, late)]
    if granting and taking:
        assert max(granting) < min(taking)
    retiring = [
        i
        for i, a in enumerate(actions)
        if isinstance(a, SetGroupProperties) and retired(a.properties)
    ]
    if retiring and taking:
        assert min(retiring) > max(taking)


def reordered(snapshot: DirectorySnapshot, state: HubState) -> tuple[DirectorySnapshot, HubState]:
    snapshot = replace(
        snapshot,
        people=dict(reversed(list(snapshot.people.items()))),
        groups={
            name: replace(group, members=frozenset(sorted(group.members, reverse=True)))
            for name, group in reversed(list(snapshot.groups.items()))
        },
    )
    state = HubState(
        dict(reversed(list(state.users.items()))),
        dict(reversed(list(state.groups.items()))),
        {o: s for o, s in reversed(list(state.shares.items()))},
    )
    return snapshot, state


@EXAMPLES
@given(cases())
def test_make_plan_is_deterministic(case: Case) -> None:
    same = confirmed_plan(case.snapshot, case.before, case.policy)
    assert same.actions == case.plan.actions
    assert same.to_json() == case.plan.to_json()
    snapshot, state = reordered(case.snapshot, case.before)
    shuffled = confirmed_plan(snapshot, state, case.policy)
    assert shuffled.to_json() == case.plan.to_json()


@EXAMPLES
@given(cases())
def test_after_a_sync_markers_alone_vouch_for_every_share(case: Case) -> None:
    # a later sync that re-reads none of the shares plans nothing more
    unread = dataclasses.replace(case.after, shares={}, verified_shares=frozenset())
    assert confirmed_plan(case.snapshot, unread, case.policy).actions == []
