"""Read what the hub holds into a :class:`~jupyterhub_teams.model.HubState`.

Two reads:

* :func:`read_hub_state` reads everything (every user, every share of every team account's
  server); ``audit`` needs that.
* :func:`read_plan_state` reads what a plan needs, with the hub's cheap requests. On a hub of
  10,000 people and 2,000 teams (SQLite) listing every user costs about 12 s and listing the
  shares of one server about 0.5 s (the hub joins every group membership into that query),
  while listing the groups costs 0.5 s in all and looking up one group's share 15 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..model import HubGroup, HubShare, HubState, HubUser
from ..naming import account_name
from ..plan import Policy
from .client import HubClient

# A lookup of one user costs the hub about as much as listing this many users in a page.
_LOOKUP_COST = 12
# Scope that lets the team shares be read one indexed lookup each (see read_plan_state).
GROUP_SHARES_SCOPE = "read:groups:shares"


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


def _group(model: dict[str, Any]) -> HubGroup:
    return HubGroup(
        model["name"], frozenset(model.get("users") or ()), dict(model.get("properties") or {})
    )


async def read_hub_state(client: HubClient, policy: Policy) -> HubState:
    """Every user, every group and every share of the team accounts' default servers."""
    users_models, group_models = await asyncio.gather(client.list_users(), client.list_groups())
    users = {m["name"]: _user(m) for m in users_models}
    groups = {g["name"]: _group(g) for g in group_models}
    accounts_group = groups.get(policy.accounts_group)
    accounts = [a for a in sorted(accounts_group.users if accounts_group else ()) if a in users]

    async def shares_of(account: str) -> tuple[str, tuple[HubShare, ...]]:
        items = await client.list_server_shares(account)
        return account, tuple(_share(account, s) for s in items)

    shares = dict(await asyncio.gather(*(shares_of(a) for a in accounts)))
    return HubState(users, groups, shares)


def team_share_pairs(groups: Iterable[HubGroup], policy: Policy) -> dict[str, set[str]]:
    """Team account → the hub groups a plan may ask about a share of its server to.

    A plan asks whether the group ``<team>`` holds a share of ``<prefix><team>``'s server (a
    wanted team) and whether a team group holds a share of its marker's account (a retired
    team). Nothing else about shares enters a plan.
    """
    pairs: dict[str, set[str]] = {}
    for group in groups:
        if group.name == policy.accounts_group:
            continue
        pairs.setdefault(account_name(group.name, policy.account_prefix), set()).add(group.name)
        record = group.record
        if record is not None:
            pairs.setdefault(record.account, set()).add(group.name)
    return pairs


def _vouched(group: HubGroup, owner: str) -> bool:
    """Whether ``group``'s team marker vouches for a share of ``owner``'s server."""
    record = group.record
    return bool(
        record is not None and record.account == owner and record.share_scopes and record.active
    )


async def _users_for_plan(
    client: HubClient, groups: dict[str, HubGroup], wanted: Collection[str]
) -> dict[str, HubUser]:
    """The hub users among group members and ``wanted``, without listing every user when the
    groups already show most of them.

    Group members exist (the hub deletes a user's memberships with the user). The other wanted
    names are looked up one by one when that is cheaper than listing everyone. Servers come
    from the list of users with an active server. ``admin`` is only known for users read
    through a lookup or that list.
    """
    membership: dict[str, set[str]] = {}
    for group in groups.values():
        for member in group.users:
            membership.setdefault(member, set()).add(group.name)
    unknown = sorted(set(wanted) - membership.keys())
    users = {name: HubUser(name, frozenset(names)) for name, names in sorted(membership.items())}
    if len(unknown) * _LOOKUP_COST > len(membership) + len(unknown):
        everyone = await client.list_users()
        users.update((m["name"], _user(m)) for m in everyone)
        return users
    active, looked_up = await asyncio.gather(
        client.list_users(state="active"), asyncio.gather(*(client.get_user(n) for n in unknown))
    )
    for model in [*(m for m in looked_up if m is not None), *active]:
        users[model["name"]] = _user(model)
    return users


async def read_groups(client: HubClient) -> dict[str, HubGroup]:
    """Every hub group with its members and properties (one paginated read)."""
    return {g["name"]: _group(g) for g in await client.list_groups()}


async def read_plan_state(
    client: HubClient,
    policy: Policy,
    wanted_users: Collection[str],
    *,
    share_sample: tuple[int, int] | None = None,
    groups: Mapping[str, HubGroup] | None = None,
) -> HubState:
    """What :func:`~jupyterhub_teams.plan.make_plan` needs to know, read cheaply.

    ``wanted_users`` are the hub names the directory asks for (people and team accounts); the
    state holds those of them that exist, every group member, and every team account. Shares
    hold the team shares a plan asks about (see :func:`team_share_pairs`), not the other shares
    of team servers.

    With ``share_sample=(cycle, cycles)`` only the accounts whose position modulo ``cycles``
    equals ``cycle`` are read, plus every account a team marker does not vouch for; the planner
    trusts the markers of the others (``HubState.verified_shares``). Called with ``cycle``
    counting up, every share is read once every ``cycles`` calls. Without it, all are read.

    ``groups``, when the caller already read them (:func:`read_groups`), are not read again.
    """
    groups = dict(groups) if groups is not None else await read_groups(client)
    pairs = team_share_pairs(groups.values(), policy)
    marker_accounts = {r.account for g in groups.values() if (r := g.record) is not None}
    users = await _users_for_plan(client, groups, {*wanted_users, *marker_accounts})
    # A share's owner exists; for a name that is no user, "no share" is known without asking.
    owners = sorted(pairs)
    to_read = [o for o in owners if o in users]
    verified: frozenset[str] | None = None
    if share_sample is not None:
        cycle, cycles = share_sample
        cycles = max(cycles, 1)
        to_read = [
            owner
            for i, owner in enumerate(to_read)
            if i % cycles == cycle % cycles
            or not all(_vouched(groups[g], owner) for g in pairs[owner])
        ]
        verified = frozenset(to_read) | {o for o in owners if o not in users}
    shares = await _read_team_shares(client, {o: pairs[o] for o in to_read})
    return HubState(users, groups, shares, verified)


async def _read_team_shares(
    client: HubClient, pairs: dict[str, set[str]]
) -> dict[str, tuple[HubShare, ...]]:
    """For each owner, its server's shares to the given groups."""
    if GROUP_SHARES_SCOPE in await client.scopes():

        async def one(owner: str, group: str) -> tuple[str, HubShare | None]:
            model = await client.get_group_share(group, owner)
            return owner, None if model is None else _share(owner, model)

        found = await asyncio.gather(
            *(one(owner, group) for owner, groups in pairs.items() for group in sorted(groups))
        )
        shares: dict[str, list[HubShare]] = {owner: [] for owner in pairs}
        for owner, share in found:
            if share is not None:
                shares[owner].append(share)
        return {owner: tuple(items) for owner, items in shares.items()}

    # A token without that scope (an older role) lists each server's shares instead.
    async def listed(owner: str) -> tuple[str, tuple[HubShare, ...]]:
        items = await client.list_server_shares(owner)
        return owner, tuple(
            share for share in (_share(owner, s) for s in items) if share.group in pairs[owner]
        )

    return dict(await asyncio.gather(*(listed(owner) for owner in pairs)))
