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
    unknown_action,
)
from .client import HubClient

log = logging.getLogger("jupyterhub_teams.sync")


def _call(client: HubClient, action: Action) -> Awaitable[None]:
    match action:
        case CreateUsers(names=names):
            return client.create_users(names)
        case CreateGroup(group=group, members=members):
            return client.create_group(group, members)
        case SetGroupProperties(group=group, properties=properties):
            return client.set_group_properties(group, dict(properties))
        case AddGroupMembers(group=group, users=users):
            return client.add_group_members(group, users)
        case RemoveGroupMembers(group=group, users=users):
            return client.remove_group_members(group, users)
        case GrantGroupShare(owner=owner, group=group, scopes=scopes):
            return client.share_with_group(owner, group, scopes)
        case RevokeGroupShare(owner=owner, group=group):
            return client.revoke_group_share(owner, group)
        case StopServer(user=user):
            return client.stop_server(user)
        case _:
            unknown_action(action)


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
