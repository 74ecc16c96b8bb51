"""Apply a plan to a :class:`HubState` in memory: what the hub will hold after a sync.

Pure; used by property tests (a plan reaches the desired state; the next plan is empty) and by
``plan --after`` style previews.
"""

from __future__ import annotations

from dataclasses import replace

from ..model import HubGroup, HubShare, HubState, HubUser
from .actions import (
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


def simulate(state: HubState, actions: list[Action]) -> HubState:
    users = dict(state.users)
    groups = dict(state.groups)
    shares = {owner: list(items) for owner, items in state.shares.items()}
    for action in actions:
        if isinstance(action, CreateUsers):
            for name in action.names:
                users.setdefault(name, HubUser(name))
        elif isinstance(action, CreateGroup):
            if action.group not in groups:
                groups[action.group] = HubGroup(action.group, frozenset(action.members))
        elif isinstance(action, SetGroupProperties):
            groups[action.group] = replace(groups[action.group], properties=action.properties)
        elif isinstance(action, AddGroupMembers):
            group = groups[action.group]
            groups[action.group] = replace(group, users=group.users | set(action.users))
        elif isinstance(action, RemoveGroupMembers):
            group = groups[action.group]
            groups[action.group] = replace(group, users=group.users - set(action.users))
        elif isinstance(action, GrantGroupShare):
            items = shares.setdefault(action.owner, [])
            existing = [s for s in items if s.group == action.group]
            merged = frozenset(action.scopes).union(*(s.scopes for s in existing))
            items[:] = [s for s in items if s.group != action.group]
            items.append(HubShare(action.owner, "", merged, group=action.group))
        elif isinstance(action, RevokeGroupShare):
            shares[action.owner] = [
                s for s in shares.get(action.owner, []) if s.group != action.group
            ]
        elif isinstance(action, StopServer):
            user = users[action.user]
            users[action.user] = replace(user, server_running=False, server_pending=None)
        else:  # pragma: no cover - a new action must be taught here
            raise TypeError(f"cannot simulate {action!r}")
    # keep users' view of their groups consistent with the groups' view of their users
    membership: dict[str, set[str]] = {}
    for group in groups.values():
        for member in group.users:
            membership.setdefault(member, set()).add(group.name)
    users = {
        name: replace(user, groups=frozenset(membership.get(name, ())))
        for name, user in users.items()
    }
    return HubState(users, groups, {o: tuple(s) for o, s in shares.items()})
