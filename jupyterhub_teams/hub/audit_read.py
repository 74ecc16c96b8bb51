"""Read the hub for an audit — one team server, one person, or every team — and stream it.

:func:`audit_stream` is the one entry point (the ``audit`` command uses it; so can any admin
view). It yields :class:`~jupyterhub_teams.plan.audit.TeamAudit` entries sorted by team name,
each as soon as what it needs has been read. Who can reach what, and why, is decided by the
pure :mod:`jupyterhub_teams.plan.audit`; this module only chooses the cheapest requests.

What each request costs, measured on a hub of 10,000 people and 2,000 teams (SQLite, two busy
cores; see BENCHMARKS.md): the group listing about 0.5 s in all; the list of every user about
7 s (pages read concurrently) — it is the only way to learn who the hub admins are; the users
with a running server some milliseconds; one user 7 ms; one server's shares, or the shares
granted to one group, 0.3 to 0.5 s each (the hub joins every group membership into that query);
the one share of a server granted to a group 20 ms; the shares a person holds, 0.3 s.

Hence the reads:

* **one server** (``server=`` an account or a team name): the groups, the users (admins) and,
  while the users are read, that server's full share list — every share, whoever granted it;
* **one person** (``person=``): the groups, that person (admin or not), the running servers,
  and the shares that reach them: one request when the token may read a person's shares
  (``read:users:shares``), else the shares granted to each of their groups (shares granted to
  the person alone are then not seen);
* **the whole hub**: the groups, the users; each team's share as its team marker records it
  (the sync writes the marker only after granting the share, and re-reads every share in
  rotation). With ``check_shares=True`` every team server's share list is read instead, as
  for one server: exact, including shares an admin granted by hand, and slow on big hubs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from ..model import HubGroup, HubShare, HubUser
from ..plan import Policy
from ..plan.audit import TeamAudit, find_team, person_view, team_audit, team_groups
from .client import HubAPIError, HubClient
from .state import _share, _user, read_groups

_PAGINATION = "application/jupyterhub-pagination+json"
# a person's shares in one request; without it, each of their groups' shares are listed
PERSON_SHARES_SCOPE = "read:users:shares"


class AuditTargetError(LookupError):
    """The team server or person asked about is not in the hub (said in words)."""


async def audit_stream(
    client: HubClient,
    policy: Policy,
    *,
    server: str | None = None,
    person: str | None = None,
    check_shares: bool = False,
) -> AsyncIterator[TeamAudit]:
    """Who can reach which team server and why, one entry per team server, sorted by team.

    ``server``: only that team server (a team account's name, or a team's name). ``person``:
    every team server that person can reach or whose team group names them, each entry
    narrowed to them (see :func:`~jupyterhub_teams.plan.audit.person_view`). Neither: every
    team, retired ones included; ``check_shares`` then reads every share of every team server
    instead of trusting the team markers (see the module's notes for the costs).

    Raises :class:`AuditTargetError` when ``server`` or ``person`` is not in the hub, before
    yielding anything.
    """
    if server is not None and person is not None:
        raise ValueError("ask about one server or one person, not both")
    if person is not None:
        async for entry in _person_entries(client, await read_groups(client), person):
            yield entry
        return
    # The user list (for the admins) is the longest read: the groups, and one server's shares,
    # are read while it runs.
    users_read = asyncio.ensure_future(_every_user(client))
    reads: list[asyncio.Future[tuple[HubShare, ...]]] = []
    try:
        groups = await read_groups(client)
        if server is not None:
            target = find_team(groups.values(), account=server) or find_team(
                groups.values(), team=server
            )
            if target is None:
                raise AuditTargetError(
                    f"no team server {server!r} in the hub (neither a team account nor a team name)"
                )
            teams = [target]
            check_shares = True
        else:
            teams = team_groups(groups.values())
        accounts = [_account(g) for g in teams]
        reads = [
            _started(_server_shares(client, a) if check_shares else _marker_shares(g))
            for g, a in zip(teams, accounts, strict=True)
        ]
        users = await users_read
        admins = sorted(name for name, user in users.items() if user.admin)
        members_of = {name: g.users for name, g in groups.items()}
        for group, account, read in zip(teams, accounts, reads, strict=True):
            owner = users.get(account)
            yield team_audit(
                group,
                shares=await read,
                members_of=members_of,
                admins=admins,
                server_running=bool(owner and owner.server_running),
                shares_checked=check_shares,
            )
    finally:  # a reader that stops early, or an error, leaves no read running
        users_read.cancel()
        for read in reads:
            read.cancel()


def _account(group: HubGroup) -> str:
    record = group.record
    assert record is not None  # only team groups get here
    return record.account


def _started(coroutine: Awaitable[tuple[HubShare, ...]]) -> asyncio.Future[tuple[HubShare, ...]]:
    """Start a read now (the client bounds how many run at once); await it in team order."""
    return asyncio.ensure_future(coroutine)


async def _marker_shares(group: HubGroup) -> tuple[HubShare, ...]:
    """The team's share as its marker records it (none once the team is retired)."""
    record = group.record
    if record is None or not record.active or not record.share_scopes:
        return ()
    return (HubShare(record.account, "", frozenset(record.share_scopes), group=group.name),)


async def _server_shares(client: HubClient, account: str) -> tuple[HubShare, ...]:
    try:
        models = await client.list_server_shares(account)
    except HubAPIError as exc:
        if exc.status == 404:  # a marker naming an account the hub lacks: no server, no share
            return ()
        raise
    return tuple(_share(account, s) for s in models)


async def _every_user(client: HubClient) -> dict[str, HubUser]:
    """Every hub user, the pages after the first read concurrently (the list's total is known
    from the first page), which saves about a third of the time on a big hub."""
    size = client.page_size
    first = await _users_page(client, 0, size)
    if isinstance(first, list):  # a hub without pagination answers everything at once
        return {m["name"]: _user(m) for m in first}
    total = int((first.get("_pagination") or {}).get("total") or 0)
    rest = await asyncio.gather(
        *(_users_page(client, offset, size) for offset in range(size, total, size))
    )
    models: list[dict[str, Any]] = list(first["items"])
    for page in rest:
        models.extend(page["items"] if isinstance(page, dict) else page)
    # a user created while paging may shift a page; a final sequential pass is not worth it:
    # the list is a snapshot either way
    return {m["name"]: _user(m) for m in models}


async def _users_page(client: HubClient, offset: int, limit: int) -> Any:
    response = await client.request(
        "GET", "users", params={"offset": offset, "limit": limit}, headers={"Accept": _PAGINATION}
    )
    return response.json()


async def _person_entries(
    client: HubClient, groups: Mapping[str, HubGroup], person: str
) -> AsyncIterator[TeamAudit]:
    model, active = await asyncio.gather(client.get_user(person), client.list_users(state="active"))
    if model is None:
        raise AuditTargetError(f"no person {person!r} in the hub")
    me = _user(model)
    running = {m["name"] for m in active if _user(m).server_running}
    # the group listing shows memberships even to a token that cannot read a user's groups
    my_groups = sorted(
        {name for name, g in groups.items() if person in g.users} | (me.groups & groups.keys())
    )
    by_owner: dict[str, list[HubShare]] = {}
    for share in await _person_shares(client, person, my_groups):
        by_owner.setdefault(share.owner, []).append(share)
    members_of = {name: {person} for name in my_groups}
    for group in team_groups(groups.values()):
        account = _account(group)
        entry = team_audit(
            group,
            shares=by_owner.get(account, ()),
            members_of=members_of,
            admins=[person] if me.admin else [],
            server_running=account in running,
            shares_checked=True,
        )
        view = person_view(entry, person)
        if view is not None:
            yield view


async def _person_shares(
    client: HubClient, person: str, group_names: Iterable[str]
) -> list[HubShare]:
    """The shares that reach ``person``: granted to them or to one of their groups."""
    if PERSON_SHARES_SCOPE in await client.scopes():
        path = f"users/{_quoted(person)}/shared"
        return [_owned_share(m) async for m in client.paginate(path)]

    async def of_group(name: str) -> list[HubShare]:
        return [_owned_share(m) async for m in client.paginate(f"groups/{_quoted(name)}/shared")]

    found = await asyncio.gather(*(of_group(name) for name in group_names))
    return [share for shares in found for share in shares]


def _owned_share(model: dict[str, Any]) -> HubShare:
    owner = ((model.get("server") or {}).get("user") or {}).get("name", "")
    return _share(str(owner), model)


def _quoted(name: str) -> str:
    return quote(name, safe="")
