"""The accounts group and the account prefix hold team accounts only, enforced in the hub's own
database layer (real JupyterHub ORM on an in-memory database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jupyterhub import orm

from jupyterhub_teams.integration.accounts_guard import (
    ReservedForTeamAccounts,
    guard_team_accounts,
)
from jupyterhub_teams.model.policy import Policy

POLICY = Policy()
ACCOUNTS = POLICY.accounts_group


@pytest.fixture
def db() -> Iterator[Any]:
    guard_team_accounts(POLICY)
    session = orm.new_session_factory("sqlite://")()
    session.add_all([orm.User(name="alice"), orm.User(name="collab-physics")])
    session.add(orm.Group(name=ACCOUNTS))
    session.commit()
    yield session
    session.close()
    _held.clear()


# The objects a test changes are held in a module-level cache, as the hub's handlers hold theirs:
# SQLAlchemy hands events ``None`` for an owner collected mid-statement (see check_joining).
_held: list[Any] = []


def user(db: Any, name: str) -> Any:
    found = orm.User.find(db, name)
    _held.append(found)
    return found


def accounts(db: Any) -> Any:
    found = orm.Group.find(db, ACCOUNTS)
    _held.append(found)
    return found


def test_a_team_account_joins_the_accounts_group(db: Any) -> None:
    accounts(db).users.append(user(db, "collab-physics"))
    db.commit()
    assert [u.name for u in accounts(db).users] == ["collab-physics"]


@pytest.mark.parametrize(
    "how",
    [
        # the groups REST API appends to the group
        lambda db: accounts(db).users.append(user(db, "alice")),
        # manage_groups at login (User.sync_groups) appends to the user
        lambda db: user(db, "alice").groups.append(accounts(db)),
        # a whole member list assigned at once, on either side (User.sync_groups assigns)
        lambda db: setattr(accounts(db), "users", [user(db, "collab-physics"), user(db, "alice")]),
        lambda db: setattr(user(db, "alice"), "groups", [accounts(db)]),
        # a group created with the accounts group's name and a person in it, in either order
        lambda db: orm.Group(users=[user(db, "alice")], name=ACCOUNTS),
    ],
    ids=["group-side", "user-side", "assigned-members", "assigned-groups", "constructor"],
)
def test_no_person_joins_the_accounts_group_by_any_path(db: Any, how: Callable[[Any], Any]) -> None:
    with pytest.raises(ReservedForTeamAccounts) as refused:
        how(db)
    assert refused.value.status_code == 403
    assert "holds team accounts only" in refused.value.message
    assert "'alice'" in refused.value.message
    db.rollback()
    assert "alice" not in {u.name for u in accounts(db).users}


@pytest.mark.parametrize(
    ("old", "new"), [("alice", "collab-alice"), ("collab-physics", "physics-owner")]
)
def test_nobody_is_renamed_into_or_out_of_the_account_prefix(db: Any, old: str, new: str) -> None:
    with pytest.raises(ReservedForTeamAccounts, match="reserved for team accounts"):
        user(db, old).name = new
    db.rollback()
    assert user(db, old) is not None and user(db, new) is None


def test_renames_that_keep_their_side_of_the_prefix_are_left_alone(db: Any) -> None:
    user(db, "alice").name = "alice2"
    user(db, "collab-physics").name = "collab-physics2"
    db.commit()
    assert user(db, "alice2") is not None and user(db, "collab-physics2") is not None


def test_other_groups_take_anyone(db: Any) -> None:
    physics = orm.Group(name="physics")
    db.add(physics)
    physics.users.append(user(db, "alice"))
    db.commit()
    assert [u.name for u in physics.users] == ["alice"]


def test_the_guard_is_registered_once_however_often_setup_runs(db: Any) -> None:
    guard_team_accounts(POLICY)
    guard_team_accounts(POLICY)
    with pytest.raises(ReservedForTeamAccounts):
        accounts(db).users.append(user(db, "alice"))


def test_a_change_whose_group_cannot_be_seen_is_refused(db: Any) -> None:
    # the group object is gone before the append runs: nothing can be checked, nothing passes
    with pytest.raises(ReservedForTeamAccounts, match="could not be checked"):
        orm.Group.find(db, ACCOUNTS).users.append(user(db, "collab-physics"))
