"""Apply planned actions inside the hub process, through its database session.

The login hook runs in the hub while a person logs in: it must not wait for the hub's own REST
API (which is busy answering that login). It still writes nothing on its own: it makes the same
:data:`~jupyterhub_teams.plan.Action` values a sync plans, and this applier carries them out
in one transaction, so every change has a description and an origin in the hub's log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from jupyterhub import orm

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


class NotInProcess(RuntimeError):
    """An action that needs the hub application (a server to stop), not only its database."""


class _Objects:
    """The groups and users an action list names, each read from the database once.

    A login joining 50 teams names 50 groups and one person: they are read in two queries, and
    memberships change from the person's side (their own group list, read once), never by
    loading each group's whole member list.
    """

    def __init__(self, db: Any, actions: Sequence[Action]) -> None:
        self.db = db
        names = {action.group for action in actions if hasattr(action, "group")}
        query = db.query(orm.Group).filter(orm.Group.name.in_(names)) if names else ()
        self._groups: dict[str, Any] = {group.name: group for group in query}
        self._users: dict[str, Any] = {}

    # every group an action names was read at the start, and groups created since are added:
    # a name not held here is not in the database
    def group(self, name: str) -> Any:
        group = self._groups.get(name)
        if group is None:
            raise LookupError(f"no group {name!r}")
        return group

    def new_group(self, name: str) -> Any | None:
        """A new group ``name``, or None if it exists."""
        if name in self._groups:
            return None
        group = self._groups[name] = orm.Group(name=name)
        self.db.add(group)
        return group

    def users(self, names: Sequence[str]) -> list[Any]:
        wanted = [name for name in names if name not in self._users]
        if wanted:
            query = self.db.query(orm.User).filter(orm.User.name.in_(wanted))
            self._users.update((user.name, user) for user in query)
        missing = sorted(set(names) - set(self._users))
        if missing:
            raise LookupError(f"no user(s) {missing!r}")
        return [self._users[name] for name in names]

    def default_spawner(self, owner: str) -> Any:
        return self.users([owner])[0].orm_spawners[""]


def _apply_one(objects: _Objects, action: Action) -> None:
    db = objects.db
    match action:
        case CreateUsers(names=names):
            existing = {u.name for u in db.query(orm.User).filter(orm.User.name.in_(names))}
            db.add_all(orm.User(name=name) for name in names if name not in existing)
        case CreateGroup(group=name, members=members):
            group = objects.new_group(name)
            if group is not None:
                group.users = objects.users(members)
        case SetGroupProperties(group=name, properties=properties):
            # a new dict: the hub's JSON column notices replacement, not mutation
            objects.group(name).properties = dict(properties)
        case AddGroupMembers(group=name, users=names):
            group = objects.group(name)
            for user in objects.users(names):
                if group not in user.groups:
                    user.groups.append(group)
        case RemoveGroupMembers(group=name, users=names):
            group = objects.group(name)
            for user in objects.users(names):
                if group in user.groups:
                    user.groups.remove(group)
        case GrantGroupShare(owner=owner, group=name, scopes=scopes):
            spawner = objects.default_spawner(owner)
            orm.Share.grant(db, spawner, objects.group(name), scopes=list(scopes))
        case RevokeGroupShare(owner=owner, group=name):
            orm.Share.revoke(db, objects.default_spawner(owner), objects.group(name))
        case StopServer(user=user):
            raise NotInProcess(f"stopping {user}'s server needs the hub application")
        case _:
            unknown_action(action)


def apply_in_hub(db: Any, actions: Sequence[Action], origin: str, log: logging.Logger) -> None:
    """Apply ``actions`` in order and commit once; on any error nothing is committed (the
    caller rolls back). Each action is logged with ``origin`` (such as ``login of alice``)."""
    objects = _Objects(db, actions)
    for action in actions:
        _apply_one(objects, action)
    db.commit()
    for action in actions:
        log.info("%s: %s", origin, action.describe())
