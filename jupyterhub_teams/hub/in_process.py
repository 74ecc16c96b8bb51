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


def _group(db: Any, name: str) -> Any:
    group = orm.Group.find(db, name=name)
    if group is None:
        raise LookupError(f"no group {name!r}")
    return group


def _users(db: Any, names: Sequence[str]) -> list[Any]:
    found = db.query(orm.User).filter(orm.User.name.in_(list(names))).all()
    missing = set(names) - {u.name for u in found}
    if missing:
        raise LookupError(f"no user(s) {sorted(missing)!r}")
    return list(found)


def _default_spawner(db: Any, owner: str) -> Any:
    return _users(db, [owner])[0].orm_spawners[""]


def _apply_one(db: Any, action: Action) -> None:
    match action:
        case CreateUsers(names=names):
            existing = {u.name for u in db.query(orm.User).filter(orm.User.name.in_(names))}
            db.add_all(orm.User(name=name) for name in names if name not in existing)
        case CreateGroup(group=name, members=members):
            if orm.Group.find(db, name=name) is None:
                group = orm.Group(name=name)
                db.add(group)
                group.users = _users(db, members)
        case SetGroupProperties(group=name, properties=properties):
            # a new dict: the hub's JSON column notices replacement, not mutation
            _group(db, name).properties = dict(properties)
        case AddGroupMembers(group=name, users=names):
            group = _group(db, name)
            present = {u.name for u in group.users}
            group.users.extend(u for u in _users(db, names) if u.name not in present)
        case RemoveGroupMembers(group=name, users=names):
            group = _group(db, name)
            group.users = [u for u in group.users if u.name not in set(names)]
        case GrantGroupShare(owner=owner, group=name, scopes=scopes):
            orm.Share.grant(db, _default_spawner(db, owner), _group(db, name), scopes=list(scopes))
        case RevokeGroupShare(owner=owner, group=name):
            orm.Share.revoke(db, _default_spawner(db, owner), _group(db, name))
        case StopServer(user=user):
            raise NotInProcess(f"stopping {user}'s server needs the hub application")
        case _:
            unknown_action(action)


def apply_in_hub(db: Any, actions: Sequence[Action], origin: str, log: logging.Logger) -> None:
    """Apply ``actions`` in order and commit once; on any error nothing is committed (the
    caller rolls back). Each action is logged with ``origin`` (such as ``login of alice``)."""
    for action in actions:
        _apply_one(db, action)
    db.commit()
    for action in actions:
        log.info("%s: %s", origin, action.describe())
