from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import jupyterhub_teams
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
from jupyterhub_teams.sources import parse_directory

from .simulated_hub import simulate

DEMO = Path(jupyterhub_teams.__file__).parent / "demo" / "directory.yaml"
POLICY = Policy()
ACCOUNTS = "jupyterhub-teams-accounts"
KNOWN_ACTIONS = {
    CreateUsers,
    CreateGroup,
    SetGroupProperties,
    AddGroupMembers,
    RemoveGroupMembers,
    GrantGroupShare,
    RevokeGroupShare,
    StopServer,
}
KNOWN_KINDS = {
    "create-users",
    "create-group",
    "set-group-properties",
    "add-members",
    "remove-members",
    "grant-share",
    "revoke-share",
    "stop-server",
}
GRANTING = (CreateUsers, CreateGroup, AddGroupMembers, GrantGroupShare)
TAKING = (RevokeGroupShare, RemoveGroupMembers, StopServer)


def scopes(account: str) -> tuple[str, ...]:
    return (f"access:servers!server={account}/", f"servers!server={account}/")


def marker(
    team: str, source: str | None = None, *, retired: bool = False, gid: int | None = None
) -> dict[str, object]:
    made: dict[str, object] = {
        "version": FORMAT_VERSION,
        "account": f"collab-{team}",
        "source_group": source if source is not None else team,
        "origin": "directory",
        "retired": retired,
        # the share the marker vouches for: none once retired
        "share_scopes": [] if retired else list(scopes(f"collab-{team}")),
    }
    if gid is not None:
        made["gid"] = gid
    return made


def directory(
    groups: dict[str, list[str]], people: Iterable[str] = (), *, complete: bool = True
) -> DirectorySnapshot:
    return DirectorySnapshot(
        people={name: Person(name) for name in people},
        groups={name: DirectoryGroup(name, frozenset(members)) for name, members in groups.items()},
        source="test",
        complete=complete,
    )


def demo(*, with_gids: bool = False) -> DirectorySnapshot:
    """The bundled demo directory; without its gids unless asked, so markers stay short."""
    snapshot = parse_directory(yaml.safe_load(DEMO.read_text()), origin="demo")
    if with_gids:
        return snapshot
    groups = {name: replace(group, gid=None) for name, group in snapshot.groups.items()}
    return replace(snapshot, groups=groups)


def demo_groups() -> dict[str, list[str]]:
    return {"physics": ["alice", "bob"], "chemistry": ["alice", "carol"], "gpu-users": ["erin"]}


DEMO_PEOPLE = ["alice", "bob", "carol", "dave", "erin"]


def plan_for(snapshot: DirectorySnapshot, state: HubState, policy: Policy = POLICY) -> Plan:
    plan = make_plan(snapshot, state, policy)
    check_shape(plan)
    return plan


def sync(snapshot: DirectorySnapshot, state: HubState, policy: Policy = POLICY) -> HubState:
    return simulate(state, plan_for(snapshot, state, policy).actions)


def check_shape(plan: Plan) -> None:
    """Every plan: known action types only, grants before any taking away."""
    assert {type(a) for a in plan.actions} <= KNOWN_ACTIONS
    assert {a["action"] for a in plan.to_json()["actions"]} <= KNOWN_KINDS
    granting = [i for i, a in enumerate(plan.actions) if isinstance(a, GRANTING)]
    taking = [i for i, a in enumerate(plan.actions) if isinstance(a, TAKING)]
    if granting and taking:
        assert max(granting) < min(taking)


def demo_state() -> HubState:
    return sync(demo(), HubState())


def running(state: HubState, user: str, *, pending: str | None = None) -> HubState:
    users = dict(state.users)
    users[user] = replace(users[user], server_running=pending is None, server_pending=pending)
    return replace(state, users=users)


def actions_mentioning(plan: Plan, word: str) -> list[Action]:
    return [a for a in plan.actions if word in json.dumps(a.to_json())]


# --- the demo directory ------------------------------------------------------------------------


def test_demo_directory_is_what_the_tests_assume() -> None:
    snapshot = demo()
    assert {name: sorted(g.members) for name, g in snapshot.groups.items()} == demo_groups()
    assert sorted(snapshot.people) == DEMO_PEOPLE
    assert snapshot.complete


def test_demo_from_empty_hub() -> None:
    plan = plan_for(demo(with_gids=True), HubState())
    assert plan.actions == [
        CreateUsers(
            (
                "alice",
                "bob",
                "carol",
                "collab-chemistry",
                "collab-gpu-users",
                "collab-physics",
                "dave",
                "erin",
            )
        ),
        CreateGroup(ACCOUNTS, ("collab-chemistry", "collab-gpu-users", "collab-physics")),
        CreateGroup("chemistry", ("alice", "carol")),
        CreateGroup("gpu-users", ("erin",)),
        CreateGroup("physics", ("alice", "bob")),
        GrantGroupShare("collab-chemistry", "chemistry", scopes("collab-chemistry")),
        GrantGroupShare("collab-gpu-users", "gpu-users", scopes("collab-gpu-users")),
        GrantGroupShare("collab-physics", "physics", scopes("collab-physics")),
        SetGroupProperties("chemistry", {TEAM_PROPERTY: marker("chemistry", gid=3002)}, "new team"),
        SetGroupProperties("gpu-users", {TEAM_PROPERTY: marker("gpu-users", gid=3003)}, "new team"),
        SetGroupProperties("physics", {TEAM_PROPERTY: marker("physics", gid=3001)}, "new team"),
    ]
    assert plan.refusals == []
    assert plan.notes == []
    assert not plan.empty


def test_demo_state_after_first_sync() -> None:
    state = demo_state()
    assert set(state.users) == {
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "collab-chemistry",
        "collab-gpu-users",
        "collab-physics",
    }
    assert state.users["alice"].groups == {"physics", "chemistry"}
    assert state.users["dave"].groups == frozenset()
    assert state.users["collab-physics"].groups == {ACCOUNTS}
    assert state.groups["physics"].users == {"alice", "bob"}
    assert state.groups["physics"].properties == {TEAM_PROPERTY: marker("physics")}
    assert state.shares["collab-physics"] == (
        HubShare("collab-physics", "", frozenset(scopes("collab-physics")), group="physics"),
    )


def test_second_plan_is_empty() -> None:
    state = demo_state()
    plan = plan_for(demo(), state)
    assert plan.actions == []
    assert plan.empty
    assert plan.describe() == "nothing to change"


def test_removing_a_member_removes_exactly_them() -> None:
    state = demo_state()
    groups = demo_groups()
    groups["physics"] = ["alice"]
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [RemoveGroupMembers("physics", ("bob",))]
    after = simulate(state, plan.actions)
    assert "bob" in after.users
    assert after.users["bob"].groups == frozenset()
    assert after.groups["physics"].users == {"alice"}


def test_removing_a_person_from_the_directory_keeps_their_user() -> None:
    state = demo_state()
    groups = demo_groups()
    groups["physics"] = ["alice"]
    people = [p for p in DEMO_PEOPLE if p != "bob"]
    plan = plan_for(directory(groups, people), state)
    assert plan.actions == [RemoveGroupMembers("physics", ("bob",))]


def test_adding_a_member_adds_exactly_them() -> None:
    state = demo_state()
    groups = demo_groups()
    groups["gpu-users"] = ["erin", "dave", "frank"]
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [
        CreateUsers(("frank",)),
        AddGroupMembers("gpu-users", ("dave", "frank")),
    ]


def test_new_team_next_to_existing_ones() -> None:
    state = demo_state()
    groups = {**demo_groups(), "Data Science/ML": ["dave"]}
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [
        CreateUsers(("collab-data-science-ml",)),
        CreateGroup("data-science-ml", ("dave",)),
        AddGroupMembers(ACCOUNTS, ("collab-data-science-ml",)),
        GrantGroupShare(
            "collab-data-science-ml", "data-science-ml", scopes("collab-data-science-ml")
        ),
        SetGroupProperties(
            "data-science-ml",
            {TEAM_PROPERTY: marker("data-science-ml", "Data Science/ML")},
            "new team",
        ),
    ]


# --- retiring and restoring --------------------------------------------------------------------


def retire_physics_plan(state: HubState) -> Plan:
    groups = demo_groups()
    del groups["physics"]
    return plan_for(directory(groups, DEMO_PEOPLE), state)


RETIRED_PHYSICS = SetGroupProperties(
    "physics",
    {TEAM_PROPERTY: marker("physics", retired=True)},
    "retire team: its group left the directory",
)


def test_deleting_a_group_retires_its_team_with_running_server() -> None:
    state = running(demo_state(), "collab-physics")
    plan = retire_physics_plan(state)
    assert plan.actions == [
        RevokeGroupShare("collab-physics", "physics"),
        RemoveGroupMembers("physics", ("alice", "bob")),
        StopServer("collab-physics", "team retired"),
        RETIRED_PHYSICS,
    ]


def test_deleting_a_group_retires_its_team_with_pending_server() -> None:
    state = running(demo_state(), "collab-physics", pending="spawn")
    plan = retire_physics_plan(state)
    assert StopServer("collab-physics", "team retired") in plan.actions


def test_deleting_a_group_does_not_stop_a_stopped_server() -> None:
    state = demo_state()
    plan = retire_physics_plan(state)
    assert plan.actions == [
        RevokeGroupShare("collab-physics", "physics"),
        RemoveGroupMembers("physics", ("alice", "bob")),
        RETIRED_PHYSICS,
    ]


def test_retired_team_keeps_account_group_and_files() -> None:
    state = running(demo_state(), "collab-physics")
    after = simulate(state, retire_physics_plan(state).actions)
    assert set(after.users) == set(state.users)
    assert set(after.groups) == set(state.groups)
    assert after.groups["physics"].users == frozenset()
    assert after.groups["physics"].properties.get(TEAM_PROPERTY) == marker("physics", retired=True)
    assert after.shares["collab-physics"] == ()
    assert not after.users["collab-physics"].server_running
    assert "collab-physics" in after.groups[ACCOUNTS].users
    # the other teams are untouched
    assert after.groups["chemistry"] == state.groups["chemistry"]
    assert after.shares["collab-chemistry"] == state.shares["collab-chemistry"]


def test_retired_team_plan_is_stable() -> None:
    state = running(demo_state(), "collab-physics")
    after = simulate(state, retire_physics_plan(state).actions)
    assert retire_physics_plan(after).actions == []


def test_retired_team_gets_no_new_members_from_hub_edits() -> None:
    state = demo_state()
    after = simulate(state, retire_physics_plan(state).actions)
    # somebody adds a member to the retired team group by hand
    groups = dict(after.groups)
    groups["physics"] = replace(groups["physics"], users=frozenset({"mallory"}))
    edited = replace(after, groups=groups)
    assert retire_physics_plan(edited).actions == [RemoveGroupMembers("physics", ("mallory",))]


def test_readding_a_group_restores_its_team() -> None:
    original = demo_state()
    retired = simulate(original, retire_physics_plan(original).actions)
    plan = plan_for(demo(), retired)
    assert plan.actions == [
        AddGroupMembers("physics", ("alice", "bob")),
        GrantGroupShare("collab-physics", "physics", scopes("collab-physics")),
        SetGroupProperties("physics", {TEAM_PROPERTY: marker("physics")}, "restore retired team"),
    ]
    restored = simulate(retired, plan.actions)
    assert restored.groups == original.groups
    assert restored.shares == original.shares
    assert restored.users == original.users
    assert plan_for(demo(), restored).actions == []


def test_empty_directory_is_held_then_retires_every_team_and_deletes_nothing() -> None:
    state = demo_state()
    held = plan_for(directory({}, []), state)
    # 5 memberships and 3 teams: below the fraction's minimum, held for retiring every team
    assert held.actions == [] and len(held.held) == 9
    assert held.hold_reason == (
        "holding back 5 membership removal(s) and 3 retirement(s): they would retire every one "
        "of the 3 active directory team(s). If the directory is right, confirm with "
        "`jupyterhub-teams sync --allow-large-removal`"
    )
    assert held.notes == [held.hold_reason]
    plan = make_plan(directory({}, []), state, POLICY, allow_large_removal=True)
    check_shape(plan)
    kinds = [type(a) for a in plan.actions]
    assert kinds == [RevokeGroupShare] * 3 + [RemoveGroupMembers] * 3 + [SetGroupProperties] * 3
    after = simulate(state, plan.actions)
    assert set(after.users) == set(state.users)
    assert set(after.groups) == set(state.groups)
    assert after.groups[ACCOUNTS] == state.groups[ACCOUNTS]
    for team in ("physics", "chemistry", "gpu-users"):
        assert after.groups[team].properties.get(TEAM_PROPERTY) == marker(team, retired=True)
        assert after.groups[team].users == frozenset()


# --- incomplete snapshots ----------------------------------------------------------------------


def test_incomplete_snapshot_never_takes_anything_away() -> None:
    state = running(demo_state(), "collab-physics")
    groups = {"chemistry": ["alice"], "gpu-users": ["erin", "dave"]}
    snapshot = directory(groups, DEMO_PEOPLE, complete=False)
    plan = plan_for(snapshot, state)
    assert plan.actions == [AddGroupMembers("gpu-users", ("dave",))]
    assert plan.notes == ["the test answer is incomplete: nothing is removed or retired this time"]
    after = simulate(state, plan.actions)
    assert after.groups["physics"] == state.groups["physics"]
    assert after.groups["chemistry"] == state.groups["chemistry"]
    assert after.users["collab-physics"].server_running


def test_incomplete_empty_snapshot_changes_nothing() -> None:
    state = running(demo_state(), "collab-physics")
    plan = plan_for(directory({}, [], complete=False), state)
    assert plan.actions == []
    assert len(plan.notes) == 1


def test_incomplete_snapshot_still_creates_new_teams() -> None:
    plan = plan_for(directory({"physics": ["alice"]}, complete=False), HubState())
    assert [type(a) for a in plan.actions] == [
        CreateUsers,
        CreateGroup,
        CreateGroup,
        GrantGroupShare,
        SetGroupProperties,
    ]


# --- refusals ----------------------------------------------------------------------------------


def test_a_newcomer_colliding_with_a_teams_own_group_is_refused_alone() -> None:
    # the reported case: bob leaves physics while a group 'Physics' appears
    state = running(demo_state(), "collab-physics")
    groups = {**demo_groups(), "Physics": ["dave"]}
    groups["physics"] = ["alice"]
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [RemoveGroupMembers("physics", ("bob",))]
    assert [str(r) for r in plan.refusals] == [
        "group 'Physics' refused: its team name 'physics' belongs to the group 'physics', which "
        "is already that team's source; rename this group in the directory (groups are never "
        "merged)"
    ]
    after = simulate(state, plan.actions)
    assert after.groups["physics"].users == {"alice"}
    assert plan_for(directory(groups, DEMO_PEOPLE), after).actions == []


def test_a_team_whose_own_group_is_the_newcomer_keeps_following_it() -> None:
    # the team was made from 'Physics'; a later group 'physics' is the newcomer
    groups = {"Physics": ["alice", "bob"]}
    state = sync(directory(groups, DEMO_PEOPLE), HubState())
    plan = plan_for(directory({"Physics": ["alice", "carol"], "physics": ["dave"]}), state)
    assert [r.name for r in plan.refusals] == ["physics"]
    assert AddGroupMembers("physics", ("carol",)) in plan.actions
    assert RemoveGroupMembers("physics", ("bob",)) in plan.actions
    assert actions_mentioning(plan, "dave") == []


def test_colliding_groups_without_the_teams_own_group_are_refused_and_freeze_it() -> None:
    state = running(demo_state(), "collab-physics")
    groups = {**demo_groups(), "Physics": ["dave"], "physics ": ["carol"]}
    del groups["physics"]
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == []
    assert sorted((r.kind, r.name) for r in plan.refusals) == [
        ("group", "Physics"),
        ("group", "physics "),
    ]
    assert "is also the team name of" in plan.refusals[0].reason


def test_group_refused_for_collision_does_not_create_a_team() -> None:
    plan = plan_for(directory({"Physics": ["alice"], "physics ": ["bob"]}), HubState())
    assert plan.actions == [
        CreateUsers(("alice", "bob")),
        CreateGroup(ACCOUNTS, ()),
    ]
    assert len(plan.refusals) == 2


def test_group_with_reserved_name_refused_and_accounts_group_untouched() -> None:
    state = demo_state()
    groups = {**demo_groups(), "JupyterHub Teams Accounts": ["dave"]}
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == []
    assert [(r.name, "reserved" in r.reason) for r in plan.refusals] == [
        ("JupyterHub Teams Accounts", True)
    ]


def test_group_without_letters_refused() -> None:
    plan = plan_for(directory({"///": ["alice"]}), HubState())
    assert [r.name for r in plan.refusals] == ["///"]
    assert actions_mentioning(plan, "///") == []


def test_person_with_reserved_prefix_refused_and_in_no_action() -> None:
    snapshot = directory({"physics": ["alice", "collab-x"]}, ["collab-x", "bob"])
    plan = plan_for(snapshot, HubState())
    assert [(r.kind, r.name) for r in plan.refusals] == [("person", "collab-x")]
    assert "reserved" in plan.refusals[0].reason
    assert actions_mentioning(plan, "collab-x") == []
    assert CreateGroup("physics", ("alice",)) in plan.actions
    assert plan.actions[0] == CreateUsers(("alice", "bob", "collab-physics"))


def test_persons_that_are_one_hub_user_are_both_refused() -> None:
    snapshot = directory({"physics": ["Alice", "alice", "bob"]})
    plan = plan_for(snapshot, HubState())
    refusals = {r.name: r.reason for r in plan.refusals}
    assert set(refusals) == {"Alice", "alice"}
    assert "'Alice', 'alice' are all the JupyterHub user 'alice'" in refusals["alice"]
    assert CreateGroup("physics", ("bob",)) in plan.actions
    assert plan.actions[0] == CreateUsers(("bob", "collab-physics"))


@pytest.mark.parametrize("bad", ["a b", "x/y", "", "\x00"])
def test_hostile_person_names_refused(bad: str) -> None:
    plan = plan_for(directory({"physics": [bad, "alice"]}), HubState())
    assert [r.name for r in plan.refusals] == [bad]
    assert CreateGroup("physics", ("alice",)) in plan.actions


def test_upper_case_person_becomes_lower_case_user() -> None:
    plan = plan_for(directory({"physics": ["ALICE"]}), HubState())
    assert CreateGroup("physics", ("alice",)) in plan.actions
    assert plan.actions[0] == CreateUsers(("alice", "collab-physics"))


def test_refusals_are_sorted_and_in_json() -> None:
    snapshot = directory({"b": ["collab-z"], "B": [], "///": ["x y"]})
    plan = plan_for(snapshot, HubState())
    keys = [(r.kind, r.name) for r in plan.refusals]
    assert keys == sorted(keys)
    assert keys == [
        ("group", "///"),
        ("group", "B"),
        ("group", "b"),
        ("person", "collab-z"),
        (
            "person",
            "x y",
        ),
    ]
    assert [r["name"] for r in plan.to_json()["refusals"]] == ["///", "B", "b", "collab-z", "x y"]


# --- what is not ours --------------------------------------------------------------------------


def with_groups(state: HubState, *groups: HubGroup) -> HubState:
    return replace(state, groups={**state.groups, **{g.name: g for g in groups}})


def test_unmanaged_groups_are_never_touched() -> None:
    staff = HubGroup("staff", frozenset({"alice", "dave", "root"}), {"colour": "blue"})
    weird = HubGroup("weird", frozenset({"bob"}), {TEAM_PROPERTY: "not a mapping"})
    state = with_groups(demo_state(), staff, weird)
    for snapshot in (demo(), directory({}, []), directory({"physics": ["dave"]})):
        plan = plan_for(snapshot, state)
        assert actions_mentioning(plan, "staff") == []
        assert actions_mentioning(plan, "weird") == []
        after = simulate(state, plan.actions)
        assert after.groups["staff"] == staff
        assert after.groups["weird"] == weird


def test_teams_of_other_origin_are_not_retired() -> None:
    manual = HubGroup(
        "hand-made",
        frozenset({"alice"}),
        {TEAM_PROPERTY: {**marker("hand-made"), "origin": "manual"}},
    )
    state = with_groups(running(demo_state(), "collab-physics"), manual)
    plan = make_plan(directory({}, []), state, POLICY, allow_large_removal=True)
    assert actions_mentioning(plan, "hand-made") == []
    assert actions_mentioning(plan, "physics")


def test_unmanaged_group_with_a_team_name_is_adopted() -> None:
    state = demo_state()
    groups = dict(state.groups)
    del groups["physics"]
    state = replace(state, groups=groups, shares={**state.shares, "collab-physics": ()})
    state = with_groups(
        state, HubGroup("physics", frozenset({"alice", "mallory"}), {"colour": "blue"})
    )
    plan = plan_for(demo(), state)
    assert plan.actions == [
        AddGroupMembers("physics", ("bob",)),
        GrantGroupShare("collab-physics", "physics", scopes("collab-physics")),
        SetGroupProperties("physics", {"colour": "blue", TEAM_PROPERTY: marker("physics")}, "team"),
        RemoveGroupMembers("physics", ("mallory",)),
    ]
    assert plan.notes == ["adopting the existing hub group 'physics' as a team"]
    after = simulate(state, plan.actions)
    assert after.groups["physics"].properties["colour"] == "blue"
    assert after.groups["physics"].users == {"alice", "bob"}
    assert plan_for(demo(), after).actions == []


def test_changed_marker_keeps_other_properties() -> None:
    state = demo_state()
    physics = state.groups["physics"]
    props = {"colour": "red", TEAM_PROPERTY: marker("physics", "old spelling")}
    state = with_groups(state, replace(physics, properties=props))
    plan = plan_for(demo(), state)
    assert plan.actions == [
        SetGroupProperties("physics", {"colour": "red", TEAM_PROPERTY: marker("physics")}, "team")
    ]
    assert plan.notes == []


def test_renamed_group_with_same_team_name_updates_marker_only() -> None:
    state = demo_state()
    groups = demo_groups()
    groups["Physics"] = groups.pop("physics")
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [
        SetGroupProperties("physics", {TEAM_PROPERTY: marker("physics", "Physics")}, "team")
    ]


def test_existing_share_with_more_scopes_is_kept() -> None:
    state = demo_state()
    wide = frozenset({*scopes("collab-physics"), "read:servers!server=collab-physics/"})
    share = HubShare("collab-physics", "", wide, group="physics")
    state = replace(state, shares={**state.shares, "collab-physics": (share,)})
    assert plan_for(demo(), state).actions == []


def test_existing_share_with_fewer_scopes_is_widened() -> None:
    state = demo_state()
    narrow = HubShare(
        "collab-physics", "", frozenset({"access:servers!server=collab-physics/"}), group="physics"
    )
    state = replace(state, shares={**state.shares, "collab-physics": (narrow,)})
    plan = plan_for(demo(), state)
    assert plan.actions == [GrantGroupShare("collab-physics", "physics", scopes("collab-physics"))]
    assert plan_for(demo(), simulate(state, plan.actions)).actions == []


def test_direct_user_share_does_not_count_as_team_share() -> None:
    state = demo_state()
    direct = HubShare("collab-physics", "", frozenset(scopes("collab-physics")), user="alice")
    state = replace(state, shares={**state.shares, "collab-physics": (direct,)})
    plan = plan_for(demo(), state)
    assert plan.actions == [GrantGroupShare("collab-physics", "physics", scopes("collab-physics"))]


def test_existing_users_are_not_created_again() -> None:
    state = HubState(users={"alice": HubUser("alice", admin=True)})
    plan = plan_for(directory({"physics": ["alice", "bob"]}), state)
    assert plan.actions[0] == CreateUsers(("bob", "collab-physics"))


def test_missing_team_account_is_created_again() -> None:
    state = demo_state()
    users = dict(state.users)
    del users["collab-physics"]
    plan = plan_for(demo(), replace(state, users=users))
    assert plan.actions == [CreateUsers(("collab-physics",))]


def test_team_account_missing_from_accounts_group_is_added() -> None:
    state = demo_state()
    accounts = replace(state.groups[ACCOUNTS], users=frozenset({"collab-physics", "someone"}))
    plan = plan_for(demo(), with_groups(state, accounts))
    assert plan.actions == [
        AddGroupMembers(ACCOUNTS, ("collab-chemistry", "collab-gpu-users")),
    ]


# --- ordering ----------------------------------------------------------------------------------


def test_grants_come_before_any_removal() -> None:
    state = running(demo_state(), "collab-gpu-users")
    groups = {
        "physics": ["alice", "dave"],  # bob out, dave in
        "chemistry": ["carol"],  # alice out
        "biology": ["bob"],  # new team
    }  # gpu-users gone
    plan = plan_for(directory(groups, DEMO_PEOPLE), state)
    assert plan.actions == [
        CreateUsers(("collab-biology",)),
        CreateGroup("biology", ("bob",)),
        AddGroupMembers(ACCOUNTS, ("collab-biology",)),
        AddGroupMembers("physics", ("dave",)),
        GrantGroupShare("collab-biology", "biology", scopes("collab-biology")),
        SetGroupProperties("biology", {TEAM_PROPERTY: marker("biology")}, "new team"),
        RevokeGroupShare("collab-gpu-users", "gpu-users"),
        RemoveGroupMembers("chemistry", ("alice",)),
        RemoveGroupMembers("physics", ("bob",)),
        RemoveGroupMembers("gpu-users", ("erin",)),
        StopServer("collab-gpu-users", "team retired"),
        SetGroupProperties(
            "gpu-users",
            {TEAM_PROPERTY: marker("gpu-users", retired=True)},
            "retire team: its group left the directory",
        ),
    ]
    kinds = [a.kind for a in plan.actions]
    first_taking = min(i for i, a in enumerate(plan.actions) if isinstance(a, TAKING))
    last_granting = max(i for i, a in enumerate(plan.actions) if isinstance(a, GRANTING))
    assert last_granting < first_taking
    # retirement is marked last, after the group is emptied and the server stopped
    assert plan.actions[-1] == SetGroupProperties(
        "gpu-users",
        {TEAM_PROPERTY: marker("gpu-users", retired=True)},
        "retire team: its group left the directory",
    )
    # same kinds side by side
    seen: list[str] = []
    for kind in kinds:
        if not seen or seen[-1] != kind:
            seen.append(kind)
    assert seen == [
        "create-users",
        "create-group",
        "add-members",
        "grant-share",
        "set-group-properties",
        "revoke-share",
        "remove-members",
        "stop-server",
        "set-group-properties",
    ]
    after = simulate(state, plan.actions)
    assert plan_for(directory(groups, DEMO_PEOPLE), after).actions == []


# --- policy switches ---------------------------------------------------------------------------


def test_create_people_off_only_uses_people_the_hub_knows() -> None:
    policy = Policy(create_people=False)
    state = HubState(users={"alice": HubUser("alice")})
    plan = plan_for(directory({"physics": ["alice", "bob"]}), state, policy)
    assert plan.actions[0] == CreateUsers(("collab-physics",))
    assert CreateGroup("physics", ("alice",)) in plan.actions
    after = simulate(state, plan.actions)
    assert "bob" not in after.users
    assert plan_for(directory({"physics": ["alice", "bob"]}), after, policy).actions == []
    # bob logs in: the next sync adds him
    later = replace(after, users={**after.users, "bob": HubUser("bob")})
    assert plan_for(directory({"physics": ["alice", "bob"]}), later, policy).actions == [
        AddGroupMembers("physics", ("bob",))
    ]


def test_custom_prefix_and_accounts_group() -> None:
    policy = Policy(account_prefix="team_", accounts_group="team-accounts")
    snapshot = directory({"physics": ["alice", "collab-x", "team_y"]})
    plan = plan_for(snapshot, HubState(), policy)
    assert plan.actions[:2] == [
        CreateUsers(("alice", "collab-x", "team_physics")),
        CreateGroup("team-accounts", ("team_physics",)),
    ]
    assert [r.name for r in plan.refusals] == ["team_y"]
    assert (
        GrantGroupShare(
            "team_physics",
            "physics",
            ("access:servers!server=team_physics/", "servers!server=team_physics/"),
        )
        in plan.actions
    )


def test_custom_max_team_name_length() -> None:
    policy = Policy(max_team_name_length=12)
    plan = plan_for(directory({"a very long group name": ["alice"]}), HubState(), policy)
    teams = [a.group for a in plan.actions if isinstance(a, CreateGroup) and a.group != ACCOUNTS]
    assert len(teams) == 1
    assert len(teams[0]) == 12


def test_policy_share_scopes() -> None:
    assert Policy().share_scopes("collab-x") == (
        "access:servers!server=collab-x/",
        "servers!server=collab-x/",
    )


def test_make_plan_defaults_to_default_policy() -> None:
    assert (
        make_plan(demo(), HubState()).to_json() == make_plan(demo(), HubState(), Policy()).to_json()
    )


# --- helpers and output ------------------------------------------------------------------------


def test_desired_people_includes_listed_and_members() -> None:
    snapshot = directory({"physics": ["Bob", "collab-q"]}, ["alice"])
    people, refusals = desired_people(snapshot, POLICY)
    assert people == {"alice": "alice", "Bob": "bob"}
    assert [r.name for r in refusals] == ["collab-q"]


def test_desired_teams() -> None:
    teams, plan = desired_teams(demo(), POLICY)
    assert teams == {
        "physics": Team("physics", "physics", "collab-physics", frozenset({"alice", "bob"})),
        "chemistry": Team(
            "chemistry", "chemistry", "collab-chemistry", frozenset({"alice", "carol"})
        ),
        "gpu-users": Team("gpu-users", "gpu-users", "collab-gpu-users", frozenset({"erin"})),
    }
    assert plan.actions == []
    assert plan.refusals == []


def test_plan_json_and_description() -> None:
    plan = plan_for(directory({"physics": ["alice"], "///": []}), HubState())
    data = plan.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["actions"][0] == {"action": "create-users", "names": ["alice", "collab-physics"]}
    assert data["actions"][-2] == {
        "action": "grant-share",
        "owner": "collab-physics",
        "group": "physics",
        "scopes": sorted(scopes("collab-physics")),
    }
    props = [a for a in data["actions"] if a["action"] == "set-group-properties"]
    assert props == [
        {
            "action": "set-group-properties",
            "group": "physics",
            "properties": {TEAM_PROPERTY: marker("physics")},
            "reason": "new team",
        }
    ]
    text = plan.describe()
    lines = text.splitlines()
    assert lines[0] == "- create 2 user(s): alice, collab-physics"
    assert "- share the server of collab-physics with group physics" in lines
    assert "- set properties of group physics (new team)" in lines
    assert lines[-1].startswith("! group '///' refused: ")


def test_describe_lists_notes_and_long_name_lists() -> None:
    names = [f"user{i:02d}" for i in range(12)]
    plan = plan_for(directory({"big": names}, complete=False), HubState())
    text = plan.describe()
    assert "user08 and 3 more" in text
    assert text.splitlines()[-1] == (
        "* the test answer is incomplete: nothing is removed or retired this time"
    )


@pytest.mark.parametrize(
    ("action", "text"),
    [
        (CreateGroup("g", ("a", "b")), "create group g with 2 member(s)"),
        (AddGroupMembers("g", ("a",)), "add a to group g"),
        (RemoveGroupMembers("g", ("a", "b")), "remove a, b from group g"),
        (RevokeGroupShare("o", "g"), "revoke the share of o's server with group g"),
        (StopServer("o", "why"), "stop the server of o (why)"),
        (StopServer("o"), "stop the server of o"),
        (SetGroupProperties("g", {}), "set properties of group g"),
    ],
)
def test_action_descriptions(action: Action, text: str) -> None:
    assert action.describe() == text


def _synced(snapshot: DirectorySnapshot, policy: Policy = POLICY) -> HubState:
    return simulate(HubState(), make_plan(snapshot, HubState(), policy).actions)


def test_a_large_removal_is_held_back_until_confirmed() -> None:
    groups = {f"g{i}": DirectoryGroup(f"g{i}", frozenset({"alice", "bob"})) for i in range(6)}
    state = _synced(DirectorySnapshot(groups=groups))
    emptied = DirectorySnapshot(groups={})
    held = make_plan(emptied, state, POLICY)
    assert held.actions == []
    assert {type(a) for a in held.held} == {
        RevokeGroupShare,
        RemoveGroupMembers,
        SetGroupProperties,
    }
    assert any("holding back 12 membership removal(s) and 6 retirement(s)" in n for n in held.notes)
    assert "held: " in held.describe()
    confirmed = make_plan(emptied, state, POLICY, allow_large_removal=True)
    assert confirmed.actions == held.held and confirmed.held == []


FIVE = frozenset({"alice", "bob", "carol", "dave", "erin"})


def big_directory(*names: str) -> DirectorySnapshot:
    """Teams of five: with three of them, 15 memberships."""
    groups = {name: DirectoryGroup(name, FIVE) for name in names}
    return DirectorySnapshot(people={p: Person(p) for p in FIVE}, groups=groups)


def made_in_the_hub(state: HubState, count: int, *, claims: bool = False) -> HubState:
    """``count`` one-member teams someone made: ad-hoc teams (pages) or claim teams (logins)."""
    teams = []
    for i in range(count):
        name = f"adhoc-dave-{i}"
        origin = {"origin": "directory", "source": "claims"} if claims else {"origin": "hub"}
        marker = {"account": f"collab-{name}", "source_group": name, "retired": False, **origin}
        teams.append(HubGroup(name, frozenset({"dave"}), {TEAM_PROPERTY: marker}))
    return with_groups(state, *teams)


def test_teams_people_make_in_the_hub_do_not_dilute_the_large_removal_guard() -> None:
    # 20 memberships and 4 teams; dave makes 18 teams of his own (36 memberships and teams)
    state = _synced(big_directory("physics", "chemistry", "biology", "gpu-users"))
    state = made_in_the_hub(state, 18)
    kept = DirectorySnapshot(
        people=big_directory().people, groups={"gpu-users": DirectoryGroup("gpu-users", FIVE)}
    )
    plan = make_plan(kept, state, POLICY)
    assert plan.held and not any(isinstance(a, RemoveGroupMembers) for a in plan.actions)
    assert plan.hold_reason == (
        "holding back 15 membership removal(s) and 3 retirement(s): together 18 of the "
        "directory's 24 memberships and teams, more than 50%. If the directory is right, "
        "confirm with `jupyterhub-teams sync --allow-large-removal`"
    )
    assert actions_mentioning(replace(plan, actions=plan.actions + plan.held), "adhoc-") == []


def test_claim_teams_a_directory_sync_would_retire_count_as_removals_only() -> None:
    state = made_in_the_hub(_synced(big_directory("physics", "gpu-users")), 18, claims=True)
    kept = DirectorySnapshot(
        people=big_directory().people, groups={"gpu-users": DirectoryGroup("gpu-users", FIVE)}
    )
    plan = make_plan(kept, state, POLICY)
    assert plan.hold_reason is not None
    assert "of the directory's 12 memberships and teams" in plan.hold_reason


def test_a_plan_retiring_every_directory_team_is_held_whatever_its_size() -> None:
    state = _synced(directory({"physics": ["alice"]}))
    for policy in (POLICY, Policy(large_removal_fraction=1.0), Policy(large_removal_minimum=99)):
        plan = make_plan(directory({}), state, policy)
        assert plan.actions == [] and plan.held
        assert "retire every one of the 1 active directory team(s)" in str(plan.hold_reason)
        confirmed = make_plan(directory({}), state, policy, allow_large_removal=True)
        assert confirmed.actions == plan.held and confirmed.hold_reason is None


def test_retiring_every_directory_team_is_held_next_to_teams_made_in_the_hub() -> None:
    state = made_in_the_hub(_synced(demo()), 3)
    plan = make_plan(directory({}, DEMO_PEOPLE), state, POLICY)
    assert plan.held and "every one of the 3 active directory team(s)" in str(plan.hold_reason)


def test_retiring_some_teams_of_a_small_hub_is_not_held() -> None:
    state = _synced(demo())
    groups = demo_groups()
    del groups["physics"], groups["chemistry"]
    plan = make_plan(directory(groups, DEMO_PEOPLE), state, POLICY)
    assert plan.held == [] and plan.hold_reason is None
    assert RETIRED_PHYSICS in plan.actions


@pytest.mark.parametrize(
    ("group", "team", "reserved_for"),
    [
        ("collab-x", "collab-x", "the names of team accounts"),
        ("Collab X", "collab-x", "the names of team accounts"),
        ("adhoc-reading", "adhoc-reading", "teams people create in the hub"),
        ("Adhoc Reading", "adhoc-reading", "teams people create in the hub"),
    ],
)
def test_a_group_under_a_reserved_prefix_is_refused(
    group: str, team: str, reserved_for: str
) -> None:
    plan = plan_for(directory({group: ["alice"], "physics": ["bob"]}), HubState())
    assert [str(r) for r in plan.refusals] == [
        f"group {group!r} refused: its team name {team!r} starts with "
        f"{team.split('-')[0] + '-'!r}, which is reserved for {reserved_for}; rename the group "
        "in the directory"
    ]
    assert actions_mentioning(plan, team) == []
    assert CreateGroup("physics", ("bob",)) in plan.actions


def test_an_existing_team_under_a_reserved_prefix_stays_exactly_as_it_is() -> None:
    # made before the prefix was reserved: neither followed nor retired
    state = _synced(demo(), Policy(adhoc_prefix="old-"))
    earlier = directory({**demo_groups(), "adhoc-notes": ["alice"]}, DEMO_PEOPLE)
    state = sync(earlier, state, Policy(adhoc_prefix="old-"))
    assert state.groups["adhoc-notes"].users == {"alice"}
    state = running(state, "collab-adhoc-notes")
    plan = plan_for(directory({**demo_groups(), "adhoc-notes": ["bob"]}, DEMO_PEOPLE), state)
    assert [r.name for r in plan.refusals] == ["adhoc-notes"]
    assert plan.actions == [] and plan.held == []
    after = simulate(state, plan.actions)
    assert after.groups["adhoc-notes"] == state.groups["adhoc-notes"]
    assert after.users["collab-adhoc-notes"].server_running


def test_a_custom_adhoc_prefix_is_the_one_reserved() -> None:
    plan = plan_for(
        directory({"adhoc-x": ["alice"], "lab-y": ["bob"]}), HubState(), Policy(adhoc_prefix="lab-")
    )
    assert [r.name for r in plan.refusals] == ["lab-y"]
    assert CreateGroup("adhoc-x", ("alice",)) in plan.actions


def test_small_removals_are_never_held() -> None:
    state = _synced(demo())
    data = {name: g for name, g in demo().groups.items() if name != "chemistry"}
    plan = make_plan(DirectorySnapshot(people=demo().people, groups=data), state, POLICY)
    assert plan.held == [] and any(isinstance(a, RevokeGroupShare) for a in plan.actions)


def test_people_refused_for_a_collision_keep_their_teams() -> None:
    state = _synced(demo())
    groups = dict(demo().groups)
    groups["physics"] = DirectoryGroup("physics", frozenset({"alice", "bob", "Bob"}))
    plan = make_plan(DirectorySnapshot(people=demo().people, groups=groups), state, POLICY)
    assert {(r.kind, r.name) for r in plan.refusals} == {("person", "Bob"), ("person", "bob")}
    assert not any(isinstance(a, RemoveGroupMembers) for a in plan.actions)


def test_a_directory_group_never_takes_over_a_team_created_in_the_hub() -> None:
    marker = {"account": "collab-physics", "origin": "hub", "retired": False, "admins": ["carol"]}
    hub_team = HubGroup("physics", frozenset({"carol"}), {TEAM_PROPERTY: marker})
    state = HubState(groups={"physics": hub_team})
    plan = make_plan(demo(), state, POLICY)
    assert [(r.kind, r.name) for r in plan.refusals] == [("group", "physics")]
    assert "created in the hub" in plan.refusals[0].reason
    touched = {getattr(a, "group", None) for a in plan.actions} | {
        getattr(a, "owner", None) for a in plan.actions
    }
    assert "physics" not in touched and "collab-physics" not in touched


def test_a_share_revoked_behind_the_syncs_back_is_restored_once_read() -> None:
    state = demo_state()
    shares = {k: v for k, v in state.shares.items() if k != "collab-physics"}
    # not re-read this time: the marker vouches for it, nothing to do
    trusted = replace(state, shares=shares, verified_shares=frozenset({"collab-chemistry"}))
    assert plan_for(demo(), trusted).actions == []
    # read: the missing share is granted again
    read = replace(state, shares=shares, verified_shares=frozenset({"collab-physics"}))
    assert plan_for(demo(), read).actions == [
        GrantGroupShare("collab-physics", "physics", scopes("collab-physics"))
    ]


# --- POSIX gids in markers ---------------------------------------------------------------------


def test_a_gid_the_directory_stops_sending_stays_in_the_marker() -> None:
    state = sync(demo(with_gids=True), HubState())
    assert state.groups["physics"].properties.get(TEAM_PROPERTY) == marker("physics", gid=3001)
    # the same groups without gids: files on disk still carry 3001, so nothing changes
    assert plan_for(demo(), state).empty


def test_a_changed_gid_rewrites_the_marker() -> None:
    state = sync(demo(with_gids=True), HubState())
    changed = demo(with_gids=True)
    groups = dict(changed.groups)
    groups["physics"] = replace(groups["physics"], gid=3999)
    plan = plan_for(replace(changed, groups=groups), state)
    assert plan.actions == [
        SetGroupProperties("physics", {TEAM_PROPERTY: marker("physics", gid=3999)}, "team")
    ]


@pytest.mark.parametrize(
    ("name", "groups", "team"),
    [
        ("collab-physics", {ACCOUNTS}, "physics"),
        ("collab-physics", {"physics"}, None),  # the name alone is not enough
        ("collab-", {ACCOUNTS}, None),
        ("alice", {ACCOUNTS}, None),
        ("physics-collab-x", {ACCOUNTS}, None),
    ],
)
def test_the_team_a_user_serves(name: str, groups: set[str], team: str | None) -> None:
    assert POLICY.team_served_by(name, groups) == team
