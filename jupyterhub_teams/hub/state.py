"""Read what the hub holds into a :class:`~jupyterhub_teams.model.HubState`."""

from __future__ import annotations

import asyncio
from typing import Any

from ..model import HubGroup, HubShare, HubState, HubUser
from ..plan import Policy, team_marker
from .client import HubClient


def _user(model: dict[str, Any]) -> HubUser:
    server = (model.get("servers") or {}).get("") or {}
    return HubUser(
        name=model["name"],
        groups=frozenset(model.get("groups") or ()),
        admin=bool(model.get("admin")),
        server_running=bool(server.get("ready") or model.get("server")),
        server_pending=server.get("pending") or model.get("pending"),
    )


def _share(owner: str, model: dict[str, Any]) -> HubShare:
    server = model.get("server") or {}
    return HubShare(
        owner=owner,
        server_name=server.get("name", ""),
        scopes=frozenset(model.get("scopes") or ()),
        user=(model.get("user") or {}).get("name"),
        group=(model.get("group") or {}).get("name"),
    )


async def read_hub_state(
    client: HubClient, policy: Policy, *, share_sample: tuple[int, int] | None = None
) -> HubState:
    """Users, groups and the shares of team accounts' default servers.

    Reading shares costs one request per team. With ``share_sample=(cycle, cycles)`` only the
    accounts whose position modulo ``cycles`` equals ``cycle`` are read (plus every account its
    team's marker does not vouch for); the planner trusts the markers of the others. Called
    with ``cycle`` counting up, every share is read once every ``cycles`` calls. Without it, all
    are read.
    """
    users_models, group_models = await asyncio.gather(client.list_users(), client.list_groups())
    users = {m["name"]: _user(m) for m in users_models}
    groups = {
        g["name"]: HubGroup(
            g["name"], frozenset(g.get("users") or ()), dict(g.get("properties") or {})
        )
        for g in group_models
    }
    accounts_group = groups.get(policy.accounts_group)
    accounts = sorted(accounts_group.users) if accounts_group else []

    async def shares_of(account: str) -> tuple[str, tuple[HubShare, ...]]:
        items = await client.list_server_shares(account)
        return account, tuple(_share(account, s) for s in items)

    known = [a for a in accounts if a in users]
    verified: frozenset[str] | None = None
    if share_sample is not None:
        cycle, cycles = share_sample
        vouched = set()
        for group in groups.values():
            marker = team_marker(group)
            if marker and marker.get("share_scopes") and not marker.get("retired"):
                vouched.add(str(marker.get("account")))
        known = [
            a
            for i, a in enumerate(known)
            if a not in vouched or i % max(cycles, 1) == cycle % cycles
        ]
        verified = frozenset(known)
    shares = dict(await asyncio.gather(*(shares_of(a) for a in known)))
    return HubState(users, groups, shares, verified)
