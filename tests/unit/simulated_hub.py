"""An in-memory hub for the planner's tests: a plan's actions applied to a :class:`HubState`.

The property tests use it to check that a plan reaches the state the directory asks for and
that the next plan is empty; the end-to-end tests check the same against a real hub.
"""

from __future__ import annotations

from dataclasses import replace

from jupyterhub_teams.model import HubGroup, HubShare, HubState, HubUser
from jupyterhub_teams.plan.actions import (
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


def simulate(state: HubState, actions: list[Action]) -> HubState:
    users = dict(state.users)
    groups = dict(state.groups)
    shares = {owner: list(items) for owner, items in state.shares.items()}
    for action in actions:
        match action:
            case CreateUsers(names=names):
                for name in names:
                    users.setdefault(name, HubUser(name))
            case CreateGroup(group=name, members=members):
                if name not in groups:
                    groups[name] = HubGroup(name, frozenset(members))
            case SetGroupProperties(group=name, properties=properties):
                groups[name] = replace(groups[name], properties=properties)
            case AddGroupMembers(group=name, users=added):
                groups[name] = replace(groups[name], users=groups[name].users | set(added))
            case RemoveGroupMembers(group=name, users=removed):
                groups[name] = replace(groups[name], users=groups[name].users - set(removed))
            case GrantGroupShare(owner=owner, group=name, scopes=scopes):
                items = shares.setdefault(owner, [])
                existing = [s for s in items if s.group == name]
                merged = frozenset(scopes).union(*(s.scopes for s in existing))
                items[:] = [s for s in items if s.group != name]
                items.append(HubShare(owner, "", merged, group=name))
            case RevokeGroupShare(owner=owner, group=name):
                shares[owner] = [s for s in shares.get(owner, []) if s.group != name]
            case StopServer(user=name):
                users[name] = replace(users[name], server_running=False, server_pending=None)
            case _:
                unknown_action(action)
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
