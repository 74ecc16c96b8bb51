"""Login-time membership update against JupyterHub's own ORM (an in-memory database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jupyterhub import orm

from jupyterhub_teams import JupyterHubTeams
from jupyterhub_teams.integration.login_sync import apply_team_memberships, person_groups
from jupyterhub_teams.model import DirectoryGroup, DirectorySnapshot
from jupyterhub_teams.plan import TEAM_PROPERTY


def marker(team: str, **extra: Any) -> dict[str, Any]:
    return {TEAM_PROPERTY: {"account": f"collab-{team}", "origin": "directory", **extra}}


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    session.add_all(
        [
            orm.Group(name="physics", properties=marker("physics", retired=False)),
            orm.Group(name="chemistry", properties=marker("chemistry", retired=False)),
            orm.Group(name="old", properties=marker("old", retired=True)),
            orm.Group(name="mine", properties={TEAM_PROPERTY: {"origin": "hub"}}),
            orm.Group(name="staff", properties={}),
        ]
    )
    session.commit()
    yield session
    session.close()


def user_in(db: Any, *groups: str) -> Any:
    user = orm.User(name="alice")
    user.groups = [orm.Group.find(db, g) for g in groups]
    db.add(user)
    db.commit()
    return user


def test_joins_active_teams_and_leaves_only_directory_teams(db: Any) -> None:
    user = user_in(db, "chemistry", "mine", "staff")
    joined, left = apply_team_memberships(
        db, user, {"Physics", "Old", "Unknown"}, JupyterHubTeams()
    )
    assert (joined, left) == (["physics"], ["chemistry"])
    # the retired team, the hub-made team and the unmanaged group are untouched
    assert sorted(g.name for g in user.groups) == ["mine", "physics", "staff"]


def test_nothing_to_do_changes_nothing(db: Any) -> None:
    user = user_in(db, "physics")
    assert apply_team_memberships(db, user, {"physics"}, JupyterHubTeams()) == ([], [])


class OnePersonSource:
    async def snapshot(self) -> DirectorySnapshot:  # pragma: no cover - not called
        raise AssertionError("a source that looks people up is never read whole at login")

    async def person_groups(self, name: str) -> set[str]:
        return {"physics"} if name == "alice" else set()


class FileLike:
    async def snapshot(self) -> DirectorySnapshot:
        return DirectorySnapshot(
            groups={
                "physics": DirectoryGroup("physics", frozenset({"Alice", "bob"})),
                "chemistry": DirectoryGroup("chemistry", frozenset({"carol"})),
                "bad": DirectoryGroup("bad", frozenset({"collab-alice", "x/y"})),
            }
        )


async def test_person_groups_asks_for_one_person_when_it_can() -> None:
    assert await person_groups(OnePersonSource(), "alice", "collab-") == {"physics"}


async def test_person_groups_reads_the_whole_directory_otherwise() -> None:
    assert await person_groups(FileLike(), "alice", "collab-") == {"physics"}
    assert await person_groups(FileLike(), "carol", "collab-") == {"chemistry"}
    assert await person_groups(FileLike(), "nobody", "collab-") == set()
