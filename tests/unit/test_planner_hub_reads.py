"""What the sync reads from the hub for a plan (``read_plan_state``), against an in-memory hub.

The fake hub answers the REST calls the reader makes and records them, so the tests can say
both what the state holds and which requests it cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from jupyterhub_teams.hub import HubClient, read_plan_state
from jupyterhub_teams.model import (
    TEAM_PROPERTY,
    DirectoryGroup,
    DirectorySnapshot,
    HubState,
    Person,
)
from jupyterhub_teams.plan import (
    CreateUsers,
    GrantGroupShare,
    Policy,
    RevokeGroupShare,
    make_plan,
    wanted_users,
)

POLICY = Policy()
SERVICE_SCOPES = ["read:groups:shares", "list:users", "read:groups"]


def marker(account: str, *, retired: bool = False) -> dict[str, Any]:
    return {
        TEAM_PROPERTY: {
            "account": account,
            "source_group": account.removeprefix("collab-"),
            "origin": "directory",
            "retired": retired,
            "share_scopes": [] if retired else list(POLICY.share_scopes(account)),
        }
    }


@dataclass
class FakeHub:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (owner, group) → scopes
    shares: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=lambda: list(SERVICE_SCOPES))
    requests: list[str] = field(default_factory=list)
    page_size: int = 2

    def add_user(self, name: str, *, running: bool = False) -> None:
        self.users[name] = {"name": name, "admin": False, "groups": [], "server": None}
        if running:
            self.users[name]["servers"] = {"": {"name": "", "ready": True}}

    def add_group(
        self, name: str, members: Iterable[str], properties: dict[str, Any] | None = None
    ) -> None:
        self.groups[name] = {"name": name, "users": sorted(members), "properties": properties or {}}

    def add_team(self, team: str, members: Iterable[str], *, shared: bool = True) -> None:
        account = f"collab-{team}"
        self.add_user(account)
        accounts = self.groups.setdefault(
            POLICY.accounts_group, {"name": POLICY.accounts_group, "users": [], "properties": {}}
        )
        accounts["users"] = sorted({*accounts["users"], account})
        self.add_group(team, members, marker(account))
        if shared:
            self.shares[(account, team)] = list(POLICY.share_scopes(account))

    def _user_model(self, name: str) -> dict[str, Any]:
        groups = sorted(g for g, m in self.groups.items() if name in m["users"])
        return {**self.users[name], "groups": groups}

    def _share_model(self, owner: str, group: str) -> dict[str, Any]:
        return {
            "server": {"user": {"name": owner}, "name": ""},
            "scopes": self.shares[(owner, group)],
            "user": None,
            "group": {"name": group},
            "kind": "group",
        }

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        limit = min(int(request.url.params.get("limit", self.page_size)), self.page_size)
        following = offset + limit
        body = {
            "items": items[offset:following],
            "_pagination": {
                "offset": offset,
                "limit": limit,
                "total": len(items),
                "next": {"offset": following} if following < len(items) else None,
            },
        }
        return httpx.Response(200, json=body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", "a read must not write"
        path = request.url.path.removeprefix("/hub/api/")
        state = request.url.params.get("state")
        self.requests.append(path + (f"?state={state}" if state else ""))
        parts = [unquote(p) for p in path.split("/")]
        if parts == ["user"]:
            return httpx.Response(200, json={"name": "svc", "scopes": self.scopes})
        if parts == ["users"]:
            names = sorted(self.users)
            if state == "active":
                names = [n for n in names if self.users[n].get("servers")]
            return self._page(request, [self._user_model(n) for n in names])
        if parts[0] == "users" and len(parts) == 2:
            if parts[1] not in self.users:
                return httpx.Response(404, json={"message": "no such user"})
            return httpx.Response(200, json=self._user_model(parts[1]))
        if parts == ["groups"]:
            return self._page(request, [self.groups[g] for g in sorted(self.groups)])
        if parts[0] == "groups" and parts[2:3] == ["shared"] and len(parts) == 5:
            group, owner = parts[1], parts[3]
            if "read:groups:shares" not in self.scopes or (owner, group) not in self.shares:
                return httpx.Response(404, json={"message": "no such share"})
            return httpx.Response(200, json=self._share_model(owner, group))
        if parts[0] == "shares" and len(parts) == 3:
            owner = parts[1]
            items = [self._share_model(o, g) for (o, g) in sorted(self.shares) if o == owner]
            return self._page(request, items)
        raise AssertionError(f"unexpected request {request.method} {path}")

    def read(
        self, wanted: Collection[str], share_sample: tuple[int, int] | None = None
    ) -> HubState:
        async def go() -> HubState:
            transport = httpx.MockTransport(self.handle)
            async with HubClient("http://hub/hub/api", "t", transport=transport) as client:
                client.page_size = self.page_size
                return await read_plan_state(client, POLICY, wanted, share_sample=share_sample)

        return asyncio.run(go())


def small_hub(teams: int = 4) -> FakeHub:
    hub = FakeHub()
    for i in range(teams):
        for person in (f"p{i}", f"q{i}"):
            hub.add_user(person)
        hub.add_team(f"t{i}", [f"p{i}", f"q{i}"])
    return hub


def snapshot_of(hub: FakeHub, teams: int = 4) -> DirectorySnapshot:
    groups = {f"t{i}": DirectoryGroup(f"t{i}", frozenset({f"p{i}", f"q{i}"})) for i in range(teams)}
    return DirectorySnapshot(groups=groups, source="test")


def test_a_full_read_checks_every_team_share_with_cheap_requests() -> None:
    hub = small_hub()
    state = hub.read(wanted_users(snapshot_of(hub), POLICY))
    # every group member and every team account is known, with their groups
    assert sorted(state.users) == sorted(hub.users)
    assert state.users["p1"].groups == {"t1"}
    assert state.users["collab-t1"].groups == {POLICY.accounts_group}
    assert state.verified_shares is None
    assert {o: [s.group for s in items] for o, items in state.shares.items()} == {
        f"collab-t{i}": [f"t{i}"] for i in range(4)
    }
    assert state.shares["collab-t2"][0].scopes == set(POLICY.share_scopes("collab-t2"))
    # no listing of every user, no listing of a server's shares (both costly on big hubs)
    assert "users" not in hub.requests
    assert not [r for r in hub.requests if r.startswith("shares/")]
    assert "users?state=active" in hub.requests
    assert sorted(r for r in hub.requests if "/shared/" in r) == [
        f"groups/t{i}/shared/collab-t{i}/" for i in range(4)
    ]
    assert make_plan(snapshot_of(hub), state, POLICY).empty


def test_a_share_removed_by_hand_is_granted_again_on_a_full_read() -> None:
    hub = small_hub()
    del hub.shares[("collab-t3", "t3")]
    plan = make_plan(snapshot_of(hub), hub.read(wanted_users(snapshot_of(hub), POLICY)), POLICY)
    assert plan.actions == [GrantGroupShare("collab-t3", "t3", POLICY.share_scopes("collab-t3"))]


@pytest.mark.parametrize("cycles", [1, 3, 10])
def test_sampled_reads_notice_a_removed_share_within_cycles_syncs(cycles: int) -> None:
    hub = small_hub(teams=7)
    snapshot = snapshot_of(hub, teams=7)
    del hub.shares[("collab-t5", "t5")]
    plans = []
    read_per_sync = []
    for cycle in range(cycles):
        hub.requests.clear()
        state = hub.read(wanted_users(snapshot, POLICY), share_sample=(cycle, cycles))
        read_per_sync.append(sum("/shared/" in r for r in hub.requests))
        assert state.verified_shares is not None
        assert state.verified_shares >= set(state.shares)
        plans.append(make_plan(snapshot, state, POLICY))
    grants = [p.actions for p in plans if p.actions]
    assert grants == [[GrantGroupShare("collab-t5", "t5", POLICY.share_scopes("collab-t5"))]]
    # the reads are spread over the cycles: together each share once
    assert sum(read_per_sync) == 7
    assert max(read_per_sync) == -(-7 // cycles)


def test_shares_markers_do_not_vouch_for_are_read_every_sync() -> None:
    hub = small_hub()
    # t0 is retired: its marker vouches for nothing, and its share (left by hand) must go
    hub.groups["t0"]["properties"] = marker("collab-t0", retired=True)
    hub.groups["t0"]["users"] = []
    snapshot = snapshot_of(hub)
    snapshot = DirectorySnapshot(
        groups={n: g for n, g in snapshot.groups.items() if n != "t0"}, source="test"
    )
    for cycle in range(3):
        hub.requests.clear()
        state = hub.read(wanted_users(snapshot, POLICY), share_sample=(cycle, 10))
        assert "groups/t0/shared/collab-t0/" in hub.requests
        assert state.verified_shares is not None and "collab-t0" in state.verified_shares
        plan = make_plan(snapshot, state, POLICY)
        assert RevokeGroupShare("collab-t0", "t0") in plan.actions


def test_people_in_no_group_are_looked_up_and_missing_ones_created() -> None:
    hub = small_hub(teams=10)
    hub.add_user("loner")  # in the hub, in no group
    wanted = {*wanted_users(snapshot_of(hub, 10), POLICY), "loner", "newcomer"}
    state = hub.read(wanted)
    assert "loner" in state.users and "newcomer" not in state.users
    assert {"users/loner", "users/newcomer"} <= set(hub.requests)
    assert "users" not in hub.requests
    snapshot = DirectorySnapshot(
        people={n: Person(n) for n in ("loner", "newcomer")},
        groups=snapshot_of(hub, 10).groups,
        source="test",
    )
    assert make_plan(snapshot, state, POLICY).actions == [CreateUsers(("newcomer",))]


def test_many_unknown_people_are_read_with_one_listing() -> None:
    hub = small_hub(teams=2)
    for i in range(20):
        hub.add_user(f"loner{i}")
    wanted = {*wanted_users(snapshot_of(hub, 2), POLICY), *(f"loner{i}" for i in range(20))}
    state = hub.read(wanted)
    assert "users" in hub.requests
    assert not [r for r in hub.requests if r.startswith("users/")]
    assert all(f"loner{i}" in state.users for i in range(20))


def test_server_state_of_team_accounts_comes_from_the_active_list() -> None:
    hub = small_hub()
    hub.add_user("collab-t2", running=True)
    state = hub.read(wanted_users(snapshot_of(hub), POLICY))
    assert state.users["collab-t2"].server_running
    assert not state.users["collab-t1"].server_running


def test_without_the_group_shares_scope_the_server_shares_are_listed() -> None:
    hub = small_hub()
    hub.scopes = ["list:users"]
    # a share of a team server with someone else is not what a plan is about
    hub.shares[("collab-t1", "other")] = ["access:servers!server=collab-t1/"]
    del hub.shares[("collab-t2", "t2")]
    state = hub.read(wanted_users(snapshot_of(hub), POLICY))
    assert not [r for r in hub.requests if "/shared/" in r]
    assert sorted(r for r in hub.requests if r.startswith("shares/")) == [
        f"shares/collab-t{i}/" for i in range(4)
    ]
    assert [s.group for s in state.shares["collab-t1"]] == ["t1"]
    assert state.shares["collab-t2"] == ()
    plan = make_plan(snapshot_of(hub), state, POLICY)
    assert plan.actions == [GrantGroupShare("collab-t2", "t2", POLICY.share_scopes("collab-t2"))]
