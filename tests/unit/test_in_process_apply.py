"""The in-hub applier carries out the same actions a sync plans, against JupyterHub's own ORM."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from jupyterhub import orm
from sqlalchemy import event

from jupyterhub_teams.hub.in_process import NotInProcess, apply_in_hub
from jupyterhub_teams.plan import (
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
)

LOG = logging.getLogger("test.in_process")
SCOPES = ("access:servers!server=collab-physics/", "servers!server=collab-physics/")


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    yield session
    session.close()


def members(db: Any, group: str) -> list[str]:
    return sorted(u.name for u in orm.Group.find(db, name=group).users)


def test_a_team_is_made_shared_changed_and_unshared(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, LOG.name):
        apply_in_hub(
            db,
            [
                CreateUsers(("alice", "bob", "collab-physics")),
                CreateGroup("physics", ("alice",)),
                AddGroupMembers("physics", ("bob", "alice")),
                SetGroupProperties("physics", {"jupyterhub_teams": {"account": "collab-physics"}}),
            ],
            "login of alice",
            LOG,
        )
    assert members(db, "physics") == ["alice", "bob"]
    assert orm.Group.find(db, name="physics").properties == {
        "jupyterhub_teams": {"account": "collab-physics"}
    }
    assert "login of alice: create group physics with 1 member(s)" in caplog.messages
    # creating again changes nothing
    apply_in_hub(db, [CreateUsers(("alice",)), CreateGroup("physics")], "again", LOG)
    assert members(db, "physics") == ["alice", "bob"]

    owner = orm.User.find(db, "collab-physics")
    spawner = orm.Spawner(user=owner, name="")
    db.add(spawner)
    db.commit()
    apply_in_hub(db, [GrantGroupShare("collab-physics", "physics", SCOPES)], "sync", LOG)
    (share,) = db.query(orm.Share).all()
    assert share.group.name == "physics" and set(share.scopes) == set(SCOPES)
    apply_in_hub(
        db,
        [
            RemoveGroupMembers("physics", ("bob",)),
            RevokeGroupShare("collab-physics", "physics"),
        ],
        "page",
        LOG,
    )
    assert members(db, "physics") == ["alice"]
    assert db.query(orm.Share).all() == []


def test_nothing_is_committed_when_an_action_cannot_be_applied(db: Any) -> None:
    apply_in_hub(db, [CreateUsers(("alice",)), CreateGroup("physics")], "setup", LOG)
    with pytest.raises(LookupError, match="no user"):
        apply_in_hub(db, [AddGroupMembers("physics", ("alice", "nobody"))], "login", LOG)
    db.rollback()
    with pytest.raises(LookupError, match="no group 'chemistry'"):
        apply_in_hub(db, [AddGroupMembers("chemistry", ("alice",))], "login", LOG)
    db.rollback()
    assert members(db, "physics") == []


def test_stopping_a_server_is_refused_in_process(db: Any) -> None:
    with pytest.raises(NotInProcess, match="needs the hub application"):
        apply_in_hub(db, [StopServer("collab-physics")], "login", LOG)


def test_a_login_joining_many_teams_reads_each_group_and_person_once(db: Any) -> None:
    """Joining 50 teams must not load each team's members: the statements issued do not grow
    with the number of teams (a join used to cost a group lookup and a member-list load)."""
    people = [f"p{i}" for i in range(30)]
    teams = [f"team-{i}" for i in range(50)]
    apply_in_hub(
        db,
        [CreateUsers(("alice", *people)), *(CreateGroup(t, tuple(people)) for t in teams)],
        "sync",
        LOG,
    )
    db.expire_all()  # a login starts from what the database holds
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        apply_in_hub(db, [AddGroupMembers(t, ("alice",)) for t in teams], "login of alice", LOG)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 8, reads
    assert all(members(db, t) == sorted(["alice", *people]) for t in teams)
    # and leaving them all, from the same side
    apply_in_hub(db, [RemoveGroupMembers(t, ("alice",)) for t in teams], "sync", LOG)
    assert all(members(db, t) == sorted(people) for t in teams)
