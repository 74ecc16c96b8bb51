from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_teams.model import (
    TEAM_PROPERTY,
    DirectoryGroup,
    DirectorySnapshot,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
)
from jupyterhub_teams.model.team_record import TeamRecord
from jupyterhub_teams.plan import Policy, make_plan
from jupyterhub_teams.plan.audit import (
    TeamAudit,
    audit,
    audit_person,
    find_team,
    person_view,
    team_audit,
)

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
        "shares_checked": True,
    }
    assert physics.to_json()["server_url"] == "/user/collab-physics/"
    assert physics.to_json("/jhub")["server_url"] == "/jhub/user/collab-physics/"


# -- one server, one person, and how they agree with the whole hub ------------------------------


def test_find_team_by_name_or_account() -> None:
    groups = synced(DEMO).groups.values()
    physics = find_team(groups, team="physics")
    assert physics is not None and physics.name == "physics"
    by_account = find_team(groups, account="collab-physics")
    assert by_account is not None and by_account.name == "physics"
    assert find_team(groups, team="collab-physics") is None
    assert find_team(groups, account="physics") is None
    assert find_team(groups, team="nobody") is None


def test_find_team_prefers_the_active_team_of_an_account() -> None:
    def team(name: str, retired: bool) -> HubGroup:
        record = TeamRecord("collab-x", name, retired=retired)
        return HubGroup(name, properties={TEAM_PROPERTY: record.to_json()})

    found = find_team([team("a-old", True), team("b-new", False)], account="collab-x")
    assert found is not None and found.name == "b-new"


def test_team_audit_refuses_a_group_that_is_no_team() -> None:
    try:
        team_audit(HubGroup("staff"), shares=(), members_of={})
    except ValueError as exc:
        assert "staff" in str(exc)
    else:
        raise AssertionError("a group without a team marker was audited")


def test_team_audit_records_whether_shares_were_read() -> None:
    group = synced(DEMO).groups["physics"]
    entry = team_audit(group, shares=(), members_of={}, shares_checked=False)
    assert entry.shares_checked is False
    assert entry.to_json()["shares_checked"] is False
    assert entry.access == {}  # a member without the team's share has no way in


def test_person_view_narrows_an_entry() -> None:
    physics = by_team(with_admin(synced(DEMO)))["physics"]
    alice = person_view(physics, "alice")
    assert alice is not None
    assert (alice.members, alice.access) == (["alice"], {"alice": [TEAM_ACCESS.format("physics")]})
    root = person_view(physics, "root")
    assert root is not None and (root.members, root.access) == ([], {"root": ["hub admin"]})
    assert person_view(physics, "carol") is None
    # the team group names them but the share is gone: listed, with no way in
    state = replace(synced(DEMO), shares={})
    lost = person_view(by_team(state)["physics"], "bob")
    assert lost is not None and (lost.members, lost.access) == (["bob"], {})


def test_audit_person_examples() -> None:
    state = with_admin(synced(DEMO))
    share = HubShare(
        "collab-physics", "", frozenset({"access:servers!server=collab-physics/"}), user="erin"
    )
    state = add_shares(state, "collab-physics", share)
    erin = audit_person(state, POLICY, "erin")
    assert [(e.team, e.access) for e in erin] == [
        ("gpu-users", {"erin": [TEAM_ACCESS.format("gpu-users")]}),
        ("physics", {"erin": ["the server is shared with them directly (use)"]}),
    ]
    assert [e.team for e in audit_person(state, POLICY, "root")] == [
        "chemistry",
        "gpu-users",
        "physics",
    ]
    assert audit_person(state, POLICY, "nobody") == []


# Small hubs, every case: three people (one may be an admin), two teams, one other group, and
# each team server shared or not with each group and each person, with or without the
# "start and stop" right. Every answer is checked against the rule written out plainly.

PEOPLE = ("ann", "ben", "cy")
TEAMS = ("t1", "t2")
GROUPS_ALL = (*TEAMS, "staff")


def _hub(
    members: dict[str, frozenset[str]],
    shares: dict[str, tuple[HubShare, ...]],
    admin: str | None,
    retired: frozenset[str] = frozenset(),
) -> HubState:
    groups = {}
    for name in GROUPS_ALL:
        props = {}
        if name in TEAMS:
            record = TeamRecord(f"collab-{name}", name, retired=name in retired)
            props = {TEAM_PROPERTY: record.to_json()}
        groups[name] = HubGroup(name, members[name], props)
    users = {p: HubUser(p, admin=p == admin) for p in PEOPLE}
    users.update({f"collab-{t}": HubUser(f"collab-{t}") for t in TEAMS})
    return HubState(users, groups, shares)


def _share(
    owner: str, scopes_kind: int, *, group: str | None = None, user: str | None = None
) -> HubShare:
    scopes = {
        0: {f"read:servers!server={owner}/"},  # no access
        1: {f"access:servers!server={owner}/"},
        2: {f"access:servers!server={owner}/", f"servers!server={owner}/"},
    }[scopes_kind]
    return HubShare(owner, "", frozenset(scopes), group=group, user=user)


def _expected_reasons(state: HubState, team: str, person: str) -> list[str]:
    """The rule, plainly: each share that gives access and reaches the person, then admin."""
    account = f"collab-{team}"
    reasons = []
    for share in state.shares.get(account, ()):
        if f"access:servers!server={account}/" not in share.scopes:
            continue
        rights = "use, start and stop" if f"servers!server={account}/" in share.scopes else "use"
        if share.user == person:
            reasons.append(f"the server is shared with them directly ({rights})")
        elif (group := state.groups.get(share.group or "")) is not None and person in group.users:
            reasons.append(
                f"member of team group {team} ({rights})"
                if share.group == team
                else f"member of group {share.group}, which the server is shared with ({rights})"
            )
    if state.users[person].admin:
        reasons.append("hub admin")
    return reasons


def _check_agreement(state: HubState) -> None:
    whole = audit(state, POLICY)
    for entry in whole:
        for person in PEOPLE:
            reasons = _expected_reasons(state, entry.team, person)
            assert entry.access.get(person, []) == reasons, (entry.team, person)
        # one server: the whole-hub entry of that server
        group = find_team(state.groups.values(), account=entry.account)
        assert group is not None
        owner = state.users.get(entry.account)
        alone = team_audit(
            group,
            shares=state.shares.get(entry.account, ()),
            members_of={n: g.users for n, g in state.groups.items()},
            admins=[u.name for u in state.users.values() if u.admin],
            server_running=bool(owner and owner.server_running),
        )
        assert alone == entry
    for person in PEOPLE:
        expected = [v for e in whole if (v := person_view(e, person)) is not None]
        assert audit_person(state, POLICY, person) == expected, person


def test_every_small_hub_agrees_with_the_rule() -> None:
    checked = 0
    # shares of t1's server: to t1 (0: none, 1: use, 2: use+start), to staff, to cy directly
    for t1_share, staff_share, direct, admin, staff in product(
        range(3), range(3), range(3), (None, "cy", "ann"), (frozenset(), frozenset({"ben", "cy"}))
    ):
        shares: list[HubShare] = []
        if t1_share:
            shares.append(_share("collab-t1", t1_share, group="t1"))
        if staff_share:
            shares.append(_share("collab-t1", staff_share - 1, group="staff"))
        if direct:
            shares.append(_share("collab-t1", direct, user="cy"))
        members = {"t1": frozenset({"ann", "ben"}), "t2": frozenset({"ben"}), "staff": staff}
        t2 = (_share("collab-t2", 2, group="t2"), _share("collab-t2", 1, group="t1"))
        state = _hub(members, {"collab-t1": tuple(shares), "collab-t2": t2}, admin)
        _check_agreement(state)
        checked += 1
    assert checked == 3 * 3 * 3 * 3 * 2


@st.composite
def small_hubs(draw: st.DrawFn) -> HubState:
    members = {name: frozenset(p for p in PEOPLE if draw(st.booleans())) for name in GROUPS_ALL}
    shares: dict[str, tuple[HubShare, ...]] = {}
    for team in TEAMS:
        owner = f"collab-{team}"
        items = []
        for holder in (*GROUPS_ALL, *PEOPLE, "gone"):
            kind = draw(st.integers(-1, 2))
            if kind < 0:
                continue
            if holder in PEOPLE:
                items.append(_share(owner, kind, user=holder))
            else:
                items.append(_share(owner, kind, group=holder))
        shares[owner] = tuple(items)
    admin = draw(st.sampled_from((None, *PEOPLE)))
    retired = frozenset(t for t in TEAMS if draw(st.booleans()))
    return _hub(members, shares, admin, retired)


@settings(max_examples=300, deadline=None)
@given(small_hubs())
def test_per_server_and_per_person_answers_agree_with_the_whole_hub(state: HubState) -> None:
    # shares to "gone", a group the hub does not have, reach nobody; retired teams included
    _check_agreement(state)


# -- the command's output: each entry flushed as it is written ----------------------------------


class _Recorder(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def _written(form: str, entries: list[TeamAudit], person: str | None = None) -> _Recorder:
    from jupyterhub_teams.cli.audit import _Writer

    args = argparse.Namespace(json=form == "json", jsonl=form == "jsonl")
    out = _Recorder()
    writer = _Writer(out, "http://hub", args, person=person)
    for entry in entries:
        writer.write(entry)
    writer.close()
    return out


def test_jsonl_is_one_flushed_line_per_entry() -> None:
    entries = audit(synced(DEMO), POLICY)
    out = _written("jsonl", entries)
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [e.to_json("http://hub") for e in entries]
    # after the n-th entry, exactly n whole lines had been handed on
    assert [len(text.splitlines()) for text in out.flushed[:3]] == [1, 2, 3]


def test_json_is_one_document_written_entry_by_entry() -> None:
    entries = audit(synced(DEMO), POLICY)
    out = _written("json", entries)
    assert json.loads(out.getvalue()) == [e.to_json("http://hub") for e in entries]
    assert len(out.flushed) == len(entries) + 1
    assert json.loads(_written("json", []).getvalue()) == []


def test_text_for_a_person() -> None:
    state = replace(synced(DEMO), shares={})
    entries = [v for e in audit(state, POLICY) if (v := person_view(e, "bob"))]
    text = _written("text", entries, person="bob").getvalue()
    assert "physics  (collab-physics, stopped)" in text
    assert "bob: named by the team group, but cannot reach the server" in text
    assert _written("text", [], person="zed").getvalue() == "no team server for zed\n"
