"""Login-time membership update against JupyterHub's own ORM (an in-memory database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jupyterhub import orm

from jupyterhub_teams import JupyterHubTeams
from jupyterhub_teams.integration.login_sync import (
    apply_claim_teams,
    apply_team_memberships,
    person_groups,
    update_person,
)
from jupyterhub_teams.model import TEAM_PROPERTY, DirectoryGroup, DirectorySnapshot
from jupyterhub_teams.sources.claims import ClaimGroups, claim_record, map_claims


def marker(team: str, source_group: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        TEAM_PROPERTY: {
            "account": f"collab-{team}",
            "source_group": team if source_group is None else source_group,
            "origin": "directory",
            **extra,
        }
    }


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    session.add_all(
        [
            orm.Group(name="physics", properties=marker("physics", retired=False)),
            orm.Group(name="chemistry", properties=marker("chemistry", retired=False)),
            orm.Group(name="old", properties=marker("old", retired=True)),
            orm.Group(name="mine", properties=marker("mine", origin="hub")),
            orm.Group(name="staff", properties={}),
            # teams the sync leaves as they are: names under a reserved prefix
            orm.Group(name="adhoc-notes", properties=marker("adhoc-notes", retired=False)),
            orm.Group(name="collab-x", properties=marker("collab-x", retired=False)),
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


def test_a_login_joins_active_directory_teams_and_never_leaves_one(db: Any) -> None:
    user = user_in(db, "chemistry", "mine", "staff")
    joined, left = apply_team_memberships(
        db, user, {"physics", "old", "Unknown"}, JupyterHubTeams()
    )
    # chemistry is no longer among alice's groups: leaving it is the background sync's job,
    # under its large-removal guard, so a directory answering "in no group" strips nobody
    assert (joined, left) == (["physics"], [])
    # the retired team, the hub-made team and the unmanaged group are untouched
    assert sorted(g.name for g in user.groups) == ["chemistry", "mine", "physics", "staff"]


def test_a_login_in_no_group_at_all_keeps_every_team(db: Any) -> None:
    user = user_in(db, "physics", "chemistry")
    assert apply_team_memberships(db, user, set(), JupyterHubTeams()) == ([], [])
    assert sorted(g.name for g in user.groups) == ["chemistry", "physics"]


def test_a_login_joins_only_the_team_whose_source_is_the_persons_group(db: Any) -> None:
    # 'Physics' has the team name of the team 'physics', whose source is the group 'physics':
    # the sync refuses the newcomer, and so does a login
    user = user_in(db)
    assert apply_team_memberships(db, user, {"Physics"}, JupyterHubTeams()) == ([], [])
    assert apply_team_memberships(db, user, {"Physics", "physics"}, JupyterHubTeams()) == (
        ["physics"],
        [],
    )


def test_a_login_never_joins_a_team_under_a_reserved_prefix(db: Any) -> None:
    user = user_in(db)
    groups = {"adhoc-notes", "collab-x"}
    assert apply_team_memberships(db, user, groups, JupyterHubTeams()) == ([], [])
    assert user.groups == []


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


class CountingLog:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)

    def info(self, message: str, *args: Any) -> None:
        pass

    error = warning


def claim_team(db: Any, team: str, path: str) -> Any:
    mapped = map_claims([path], kind="generic", rule="full", max_length=40).teams[team]
    group = orm.Group(name=team, properties={TEAM_PROPERTY: claim_record(mapped).to_json()})
    db.add(group)
    db.commit()
    return group


@pytest.mark.parametrize(
    "authentication",
    [
        {"name": "alice"},  # no auth_state at all (enable_auth_state is off)
        {"name": "alice", "auth_state": {}},
        {"name": "alice", "auth_state": {"oauth_user": {"name": "alice"}}},
    ],
)
async def test_a_claim_login_without_a_groups_claim_removes_nothing(
    db: Any, authentication: dict[str, Any]
) -> None:
    user = user_in(db, "staff")
    user.groups.append(claim_team(db, "lab", "lab"))
    db.commit()
    teams = JupyterHubTeams()
    source = ClaimGroups(parent=teams)
    hub_log = CountingLog()
    await update_person(source, teams, db, user, authentication, occasion="login", hub_log=hub_log)
    assert sorted(g.name for g in user.groups) == ["lab", "staff"]
    assert hub_log.warnings and "could not be read" in hub_log.warnings[0]
    # an empty claim is an answer: the person's own login says they left every group
    gone = {"name": "alice", "auth_state": {"oauth_user": {"groups": []}}}
    await update_person(source, teams, db, user, gone, occasion="login", hub_log=hub_log)
    assert sorted(g.name for g in user.groups) == ["staff"]


def test_a_claim_under_a_reserved_prefix_never_becomes_a_team(db: Any) -> None:
    user = user_in(db)
    source = ClaimGroups(parent=JupyterHubTeams())
    hub_log = CountingLog()
    paths = {"/lab/x", "adhoc-notes-2", "collab-y"}
    assert apply_claim_teams(db, user, paths, source, hub_log) == (["lab-x"], [])
    assert orm.Group.find(db, "adhoc-notes-2") is None and orm.Group.find(db, "collab-y") is None
    assert sorted(hub_log.warnings) == [
        "alice: claim group 'adhoc-notes-2' refused: its team name 'adhoc-notes-2' starts with "
        "'adhoc-', which is reserved for teams people create in the hub; rename the group in "
        "the directory",
        "alice: claim group 'collab-y' refused: its team name 'collab-y' starts with 'collab-', "
        "which is reserved for the names of team accounts; rename the group in the directory",
    ]


async def test_person_groups_reads_the_whole_directory_otherwise() -> None:
    assert await person_groups(FileLike(), "alice", "collab-") == {"physics"}
    assert await person_groups(FileLike(), "carol", "collab-") == {"chemistry"}
    assert await person_groups(FileLike(), "nobody", "collab-") == set()
