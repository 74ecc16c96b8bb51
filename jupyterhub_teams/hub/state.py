"""Read what the hub holds into a :class:`~jupyterhub_teams.model.HubState`."""

from __future__ import annotations

import asyncio
from typing import Any

from ..model import HubGroup, HubShare, HubState, HubUser
from ..plan import Policy
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


async def read_hub_state(client: HubClient, policy: Policy) -> HubState:
    """Users, groups and the shares of every team account's default server."""
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

    shares = dict(await asyncio.gather(*(shares_of(a) for a in accounts if a in users)))
    return HubState(users, groups, shares)
