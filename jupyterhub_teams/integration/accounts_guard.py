"""The hub-side guard that makes the service role's ``!group=<accounts group>`` filter a boundary.

The sync service's server and share scopes are filtered to the accounts group. A filter on a
group is only as strong as that group's membership, and the same service may change any group's
members (it must: it syncs them) and rename users (``admin:users``). Without this guard its token
could put a person in the accounts group, or rename a person into the account prefix, and then
start and share that person's server.

So the hub's own database layer refuses, whoever asks and through whichever path (REST, admin
panel, ``manage_groups`` at login, a config script):

* a member of the accounts group whose name is not under the account prefix;
* renaming a user into or out of the account prefix.

The refusal is a ``403`` with the reason in words. It is raised in SQLAlchemy's attribute events,
*before* the change reaches the session, so nothing half-done is left to roll back.
"""

from __future__ import annotations

from typing import Any

from jupyterhub import orm
from sqlalchemy import event
from tornado import web

from ..model.policy import Policy

# (prefix, accounts group) pairs already guarded in this process: ``setup(c)`` may run more than
# once (a config loaded twice, tests), and each listener must be registered once.
_guarded: set[tuple[str, str]] = set()


class ReservedForTeamAccounts(web.HTTPError):
    """A change that would let a person pass for a team account."""

    def __init__(self, message: str) -> None:
        super().__init__(403, "%s", message)
        self.message = message


def is_account_name(name: str, policy: Policy) -> bool:
    prefix = policy.account_prefix
    return len(name) > len(prefix) and name.startswith(prefix)


def check_membership(group_name: str, user_name: str, policy: Policy) -> None:
    """Refuse ``user_name`` as a member of ``group_name`` when that would pass it for a team
    account."""
    if group_name == policy.accounts_group and not is_account_name(user_name, policy):
        raise ReservedForTeamAccounts(
            f"The group {group_name!r} holds team accounts only (names starting with "
            f"{policy.account_prefix!r}); {user_name!r} cannot be added to it."
        )


def check_joining(group: Any, user: Any, policy: Policy) -> None:
    """:func:`check_membership` for ORM objects. SQLAlchemy hands an event ``None`` for an owner
    that was garbage-collected before the change (a temporary such as
    ``orm.Group.find(db, name).users.append(user)``); such a change cannot be checked, so it
    is refused (the hub's own code always holds the objects it changes)."""
    if group is None or user is None:
        raise ReservedForTeamAccounts(
            "A group membership change could not be checked against the team accounts' group."
        )
    check_membership(str(group.name), str(user.name), policy)


def check_rename(old: str, new: str, policy: Policy) -> None:
    """Refuse a rename into or out of the account prefix."""
    if is_account_name(old, policy) != is_account_name(new, policy):
        raise ReservedForTeamAccounts(
            f"Names starting with {policy.account_prefix!r} are reserved for team accounts: "
            f"{old!r} cannot be renamed to {new!r}."
        )


def guard_team_accounts(policy: Policy) -> None:
    """Register the guard for ``policy``'s prefix and accounts group (once per process)."""
    key = (policy.account_prefix, policy.accounts_group)
    if key in _guarded:
        return
    _guarded.add(key)

    def group_gains_user(group: Any, user: Any, initiator: Any) -> Any:
        check_joining(group, user, policy)
        return user

    def user_joins_group(user: Any, group: Any, initiator: Any) -> Any:
        check_joining(group, user, policy)
        return group

    def group_named(group: Any, new: Any, old: Any, initiator: Any) -> Any:
        # a group given the accounts group's name after its members (a constructor's keyword
        # order, a rename) is checked against the members it already has
        for user in list(group.users or ()):
            check_membership(str(new), str(user.name), policy)
        return new

    def user_renamed(user: Any, new: Any, old: Any, initiator: Any) -> Any:
        # a new user's first name arrives with ``old`` unset (a symbol, not a string)
        if isinstance(old, str) and isinstance(new, str) and old != new:
            check_rename(old, new, policy)
        return new

    # Both sides of the relationship: JupyterHub appends from either side (groups' REST API
    # appends users; ``User.sync_groups`` at login appends groups), and a list assigned at once
    # (``group.users = [...]``) fires one append per new member.
    event.listen(orm.Group.users, "append", group_gains_user, retval=True)
    event.listen(orm.User.groups, "append", user_joins_group, retval=True)
    event.listen(orm.Group.name, "set", group_named, retval=True)
    event.listen(orm.User.name, "set", user_renamed, retval=True)
