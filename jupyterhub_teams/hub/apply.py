"""Carry out a plan's actions against the hub, in order.

Consecutive actions of one kind touch different objects, so they run concurrently (bounded by
the client); a new kind waits for the previous one to finish, which keeps the plan's ordering
guarantees (users before groups, grants before removals).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable

from ..plan import (
    Action,
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
)
from .client import HubClient

log = logging.getLogger("jupyterhub_teams.sync")


def _call(client: HubClient, action: Action) -> Awaitable[None]:
    if isinstance(action, CreateUsers):
        return client.create_users(action.names)
    if isinstance(action, CreateGroup):
        return client.create_group(action.group, action.members)
    if isinstance(action, SetGroupProperties):
        return client.set_group_properties(action.group, dict(action.properties))
    if isinstance(action, AddGroupMembers):
        return client.add_group_members(action.group, action.users)
    if isinstance(action, RemoveGroupMembers):
        return client.remove_group_members(action.group, action.users)
    if isinstance(action, GrantGroupShare):
        return client.share_with_group(action.owner, action.group, action.scopes)
    if isinstance(action, RevokeGroupShare):
        return client.revoke_group_share(action.owner, action.group)
    if isinstance(action, StopServer):
        return client.stop_server(action.user)
    raise TypeError(f"no hub call for {action!r}")  # pragma: no cover


async def apply_actions(client: HubClient, actions: list[Action]) -> None:
    """Apply ``actions``; raises the first :class:`HubAPIError` after its batch settles."""
    for _kind, batch in itertools.groupby(actions, key=lambda a: a.kind):
        batch_list = list(batch)
        results = await asyncio.gather(
            *(_call(client, a) for a in batch_list), return_exceptions=True
        )
        for action, result in zip(batch_list, results, strict=True):
            if isinstance(result, BaseException):
                log.error("could not %s: %s", action.describe(), result)
                raise result
            log.info("%s", action.describe())
