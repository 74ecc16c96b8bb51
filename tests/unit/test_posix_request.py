"""The spawn step's first half: what the hub knows about a server's owner (JupyterHub's own ORM
in memory, a real YAML source), and the refusal when the directory cannot be asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyterhub import orm

from jupyterhub_teams.model import TEAM_PROPERTY, Person, Policy
from jupyterhub_teams.posix import PosixIdentity
from jupyterhub_teams.posix.hook import PosixHook
from jupyterhub_teams.posix.identity import IdentityRefused, Request, TeamRef
from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.yaml_file import YAMLDirectory

ACCOUNTS = "jupyterhub-teams-accounts"


def marker(team: str, **extra: Any) -> dict[str, Any]:
    return {TEAM_PROPERTY: {"account": f"collab-{team}", "origin": "directory", **extra}}


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    session.add_all(
        [
            orm.Group(name="physics", properties=marker("physics", retired=False, gid=3001)),
            orm.Group(name="chemistry", properties=marker("chemistry", retired=False)),
            orm.Group(name="old", properties=marker("old", retired=True, gid=3009)),
            orm.Group(name="staff", properties={}),
            orm.Group(name=ACCOUNTS, properties={}),
        ]
    )
    session.commit()
    yield session
    session.close()


class Owner:
    """The parts of JupyterHub's ``User`` wrapper the spawn step uses."""

    def __init__(self, db: Any, name: str, groups: list[str], auth_state: Any = None) -> None:
        self.db = db
        self.orm = orm.User(name=name)
        self.orm.groups = [orm.Group.find(db, g) for g in groups]
        db.add(self.orm)
        db.commit()
        self.auth_state = auth_state

    @property
    def name(self) -> str:
        return str(self.orm.name)

    @property
    def groups(self) -> list[Any]:
        return list(self.orm.groups)

    async def get_auth_state(self) -> Any:
        return self.auth_state


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "users": {"Alice": {"uid": 2001}, "bob": {}},
                "groups": {"physics": {"gid": 3001, "members": ["Alice", "bob"]}},
            }
        )
    )
    return path


def hook(tmp_path: Path, source: Any = None, **options: Any) -> PosixHook:
    settings = PosixIdentity(
        registry_path=str(tmp_path / "ids.sqlite"),
        home_root=str(tmp_path / "home"),
        team_directory_root=str(tmp_path / "teams"),
        create_accounts=False,
        team_directories=False,
        **options,
    )
    policy = Policy(account_prefix="collab-", accounts_group=ACCOUNTS)
    return PosixHook(settings, policy, (lambda: source) if source else None)


PHYSICS = TeamRef("physics", "collab-physics", 3001)
CHEMISTRY = TeamRef("chemistry", "collab-chemistry", None)


def test_a_person_gets_their_active_teams_and_the_directory_uid(
    db: Any, tmp_path: Path, directory: Path
) -> None:
    owner = Owner(db, "alice", ["physics", "chemistry", "old", "staff"])
    request, problem = asyncio.run(hook(tmp_path, YAMLDirectory(directory)).request(owner))
    assert problem is None
    assert request == Request(
        "alice", teams=(PHYSICS, CHEMISTRY), declared_uid=2001, uid_origin="directory"
    )


def test_the_claim_wins_over_the_directory(db: Any, tmp_path: Path, directory: Path) -> None:
    owner = Owner(db, "alice", ["physics"], {"oauth_user": {"uidNumber": ["47001"]}})
    posix = hook(tmp_path, YAMLDirectory(directory), uid_claim="oauth_user.uidNumber")
    request, problem = asyncio.run(posix.request(owner))
    assert (request.declared_uid, request.uid_origin, problem) == (47001, "claim", None)


def test_a_missing_claim_falls_back_to_the_directory(
    db: Any, tmp_path: Path, directory: Path
) -> None:
    owner = Owner(db, "alice", [], {"oauth_user": {}})
    posix = hook(tmp_path, YAMLDirectory(directory), uid_claim="oauth_user.uidNumber")
    request, _ = asyncio.run(posix.request(owner))
    assert (request.declared_uid, request.uid_origin) == (2001, "directory")


def test_a_claim_that_is_not_a_number_is_refused(db: Any, tmp_path: Path) -> None:
    owner = Owner(db, "alice", [], {"oauth_user": {"uidNumber": "0; rm -rf"}})
    with pytest.raises(IdentityRefused, match="is not a number"):
        asyncio.run(hook(tmp_path, uid_claim="oauth_user.uidNumber").request(owner))


def test_a_person_without_a_uid_anywhere_gets_none_declared(
    db: Any, tmp_path: Path, directory: Path
) -> None:
    owner = Owner(db, "bob", ["physics"])
    request, problem = asyncio.run(hook(tmp_path, YAMLDirectory(directory)).request(owner))
    assert (request.declared_uid, problem) == (None, None)


def test_a_team_account_serves_its_team(db: Any, tmp_path: Path) -> None:
    owner = Owner(db, "collab-physics", [ACCOUNTS])
    request, _ = asyncio.run(hook(tmp_path).request(owner))
    assert request == Request("collab-physics", team=PHYSICS)


def test_a_prefixed_name_outside_the_accounts_group_is_a_person(db: Any, tmp_path: Path) -> None:
    owner = Owner(db, "collab-physics", [])
    request, _ = asyncio.run(hook(tmp_path).request(owner))
    assert request.team is None


class DownDirectory:
    async def snapshot(self) -> Any:
        raise SourceError("the LDAP directory did not answer within 5 s")

    async def person(self, name: str) -> Person | None:
        raise SourceError("the LDAP directory did not answer within 5 s")


def test_directory_down_without_a_record_refuses(db: Any, tmp_path: Path) -> None:
    posix = hook(tmp_path, DownDirectory())
    request, problem = asyncio.run(posix.request(Owner(db, "alice", ["physics"])))
    assert problem == "the LDAP directory did not answer within 5 s"
    with pytest.raises(IdentityRefused, match="none is on record"):
        posix._resolve_and_prepare(request, problem)


def test_directory_down_with_a_record_uses_it(db: Any, tmp_path: Path, directory: Path) -> None:
    up = hook(tmp_path, YAMLDirectory(directory))
    owner = Owner(db, "alice", ["physics"])
    first = up._resolve_and_prepare(*asyncio.run(up.request(owner)))
    assert first.uid == 2001

    down = hook(tmp_path, DownDirectory())  # same record file
    again = down._resolve_and_prepare(*asyncio.run(down.request(owner)))
    assert (again.uid, again.gid, again.supplementary_gids) == (2001, 2001, (3001,))
