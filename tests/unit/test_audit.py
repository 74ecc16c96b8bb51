from __future__ import annotations

from dataclasses import replace

from jupyterhub_teams.model import (
    TEAM_PROPERTY,
    DirectoryGroup,
    DirectorySnapshot,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
)
from jupyterhub_teams.plan import Policy, make_plan
from jupyterhub_teams.plan.audit import TeamAudit, audit

from .simulated_hub import simulate

POLICY = Policy()
TEAM_ACCESS = "member of team group {} (use, start and stop)"


def directory(groups: dict[str, list[str]]) -> DirectorySnapshot:
    return DirectorySnapshot(
        groups={name: DirectoryGroup(name, frozenset(m)) for name, m in groups.items()}
    )


DEMO = {"physics": ["alice", "bob"], "chemistry": ["alice", "carol"], "gpu-users": ["erin"]}


def synced(groups: dict[str, list[str]], state: HubState | None = None) -> HubState:
    state = state or HubState()
    return simulate(state, make_plan(directory(groups), state, POLICY).actions)


def with_admin(state: HubState) -> HubState:
    return replace(state, users={**state.users, "root": HubUser("root", admin=True)})


def by_team(state: HubState) -> dict[str, TeamAudit]:
    entries = audit(state, POLICY)
    assert [e.team for e in entries] == sorted(e.team for e in entries)
    return {e.team: e for e in entries}


def add_shares(state: HubState, owner: str, *shares: HubShare) -> HubState:
    return replace(state, shares={**state.shares, owner: (*state.shares.get(owner, ()), *shares)})


def test_one_entry_per_team_sorted() -> None:
    state = synced(DEMO)
    entries = audit(state, POLICY)
    assert [e.team for e in entries] == ["chemistry", "gpu-users", "physics"]


def test_members_reach_their_team_through_the_group_share() -> None:
    physics = by_team(synced(DEMO))["physics"]
    assert physics == TeamAudit(
        team="physics",
        account="collab-physics",
        source_group="physics",
        origin="directory",
        retired=False,
        server_running=False,
        members=["alice", "bob"],
        access={
            "alice": [TEAM_ACCESS.format("physics")],
            "bob": [TEAM_ACCESS.format("physics")],
        },
    )


def test_non_members_have_no_access() -> None:
    entries = by_team(synced(DEMO))
    assert "carol" not in entries["physics"].access
    assert set(entries["chemistry"].access) == {"alice", "carol"}
    assert set(entries["gpu-users"].access) == {"erin"}
    assert all("dave" not in e.access for e in entries.values())


def test_hub_admins_reach_every_team() -> None:
    entries = by_team(with_admin(synced(DEMO)))
    for entry in entries.values():
        assert entry.access["root"] == ["hub admin"]
        assert list(entry.access) == sorted(entry.access)
    assert entries["physics"].access["alice"] == [TEAM_ACCESS.format("physics")]


def test_admin_who_is_a_member_gets_both_reasons() -> None:
    state = synced(DEMO)
    state = replace(
        state, users={**state.users, "alice": replace(state.users["alice"], admin=True)}
    )
    physics = by_team(state)["physics"]
    assert physics.access["alice"] == [TEAM_ACCESS.format("physics"), "hub admin"]


def test_direct_user_share() -> None:
    share = HubShare(
        "collab-physics", "", frozenset({"access:servers!server=collab-physics/"}), user="dave"
    )
    physics = by_team(add_shares(synced(DEMO), "collab-physics", share))["physics"]
    assert physics.access["dave"] == ["the server is shared with them directly (use)"]
    assert "dave" not in physics.members


def test_share_with_another_group() -> None:
    state = synced(DEMO)
    state = replace(
        state, groups={**state.groups, "staff": HubGroup("staff", frozenset({"dave", "bob"}))}
    )
    share = HubShare(
        "collab-physics",
        "",
        frozenset({"access:servers!server=collab-physics/", "servers!server=collab-physics/"}),
        group="staff",
    )
    physics = by_team(add_shares(state, "collab-physics", share))["physics"]
    other = "member of group staff, which the server is shared with (use, start and stop)"
    assert physics.access["dave"] == [other]
    assert physics.access["bob"] == [TEAM_ACCESS.format("physics"), other]


def test_share_with_a_group_the_hub_does_not_have() -> None:
    share = HubShare(
        "collab-physics", "", frozenset({"access:servers!server=collab-physics/"}), group="gone"
    )
    physics = by_team(add_shares(synced(DEMO), "collab-physics", share))["physics"]
    assert set(physics.access) == {"alice", "bob"}


def test_user_wide_access_scope_counts() -> None:
    share = HubShare(
        "collab-physics", "", frozenset({"access:servers!user=collab-physics"}), user="dave"
    )
    physics = by_team(add_shares(synced(DEMO), "collab-physics", share))["physics"]
    assert physics.access["dave"] == ["the server is shared with them directly (use)"]


def test_share_without_access_scope_gives_no_access() -> None:
    share = HubShare(
        "collab-physics", "", frozenset({"read:servers!server=collab-physics/"}), user="dave"
    )
    other_server = HubShare(
        "collab-physics", "", frozenset({"access:servers!server=collab-chemistry/"}), user="erin"
    )
    state = add_shares(synced(DEMO), "collab-physics", share, other_server)
    physics = by_team(state)["physics"]
    assert set(physics.access) == {"alice", "bob"}


def test_retired_team_has_no_members_and_no_access() -> None:
    state = with_admin(synced(DEMO))
    state = replace(
        state,
        users={**state.users, "collab-physics": HubUser("collab-physics", server_running=True)},
    )
    retired = synced({"chemistry": DEMO["chemistry"], "gpu-users": ["erin"]}, state)
    physics = by_team(retired)["physics"]
    assert physics.retired
    assert physics.members == []
    assert physics.access == {"root": ["hub admin"]}
    assert not physics.server_running
    assert by_team(retired)["chemistry"].retired is False


def test_server_running_is_reported() -> None:
    state = synced(DEMO)
    state = replace(
        state,
        users={
            **state.users,
            "collab-chemistry": replace(state.users["collab-chemistry"], server_running=True),
        },
    )
    entries = by_team(state)
    assert entries["chemistry"].server_running
    assert not entries["physics"].server_running


def test_unmanaged_groups_are_not_teams() -> None:
    state = synced(DEMO)
    state = replace(
        state,
        groups={
            **state.groups,
            "staff": HubGroup("staff", frozenset({"alice"})),
            "odd": HubGroup("odd", properties={TEAM_PROPERTY: "text"}),
        },
    )
    assert set(by_team(state)) == {"chemistry", "gpu-users", "physics"}


def test_marker_fields_and_defaults() -> None:
    state = HubState(
        groups={
            "data-science-ml": HubGroup(
                "data-science-ml",
                properties={
                    TEAM_PROPERTY: {
                        "account": "collab-data-science-ml",
                        "source_group": "Data Science/ML",
                        "origin": "directory",
                        "retired": False,
                    }
                },
            ),
            "bare": HubGroup("bare", frozenset({"x"}), properties={TEAM_PROPERTY: {}}),
        }
    )
    entries = by_team(state)
    science = entries["data-science-ml"]
    assert science.source_group == "Data Science/ML"
    assert science.account == "collab-data-science-ml"
    assert (science.origin, science.retired) == ("directory", False)
    # a record naming no account is no team (no version ever wrote one)
    assert "bare" not in entries


def test_to_json() -> None:
    physics = by_team(with_admin(synced(DEMO)))["physics"]
    assert physics.to_json("https://hub.example.org/") == {
        "team": "physics",
        "account": "collab-physics",
        "server_url": "https://hub.example.org/user/collab-physics/",
        "source_group": "physics",
        "origin": "directory",
        "retired": False,
        "server_running": False,
        "members": ["alice", "bob"],
        "access": {
            "alice": [TEAM_ACCESS.format("physics")],
            "bob": [TEAM_ACCESS.format("physics")],
            "root": ["hub admin"],
        },
    }
    assert physics.to_json()["server_url"] == "/user/collab-physics/"
    assert physics.to_json("/jhub")["server_url"] == "/jhub/user/collab-physics/"
