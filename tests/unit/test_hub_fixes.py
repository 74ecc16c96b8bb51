"""The hub-side fixes, on a real JupyterHub database (in memory) and the hub's own scope code.

``test_the_upstream_bug_is_still_there`` is the minimal reproduction of the upstream bug: when
it fails, JupyterHub has fixed it and :mod:`jupyterhub_teams.integration.hub_fixes` can go.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jupyterhub
import pytest
from jupyterhub import orm, roles, scopes
from packaging.version import Version

from jupyterhub_teams.integration import hub_fixes

TEAM_ACCESS = "access:servers!server=collab-physics/"


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite:///:memory:")()
    for role in roles.get_default_roles():
        roles.create_role(session, role)
    yield session
    session.close()


def user(db: Any, name: str) -> Any:
    person = orm.User(name=name)
    db.add(person)
    db.commit()
    roles.assign_default_roles(db, person)
    return person


@pytest.fixture
def hub(db: Any) -> dict[str, Any]:
    """alice in physics; physics's team server (collab-physics's default server) shared with
    the group physics; bob in no group; alice's own server."""
    alice, bob, account = user(db, "alice"), user(db, "bob"), user(db, "collab-physics")
    physics = orm.Group(name="physics")
    physics.users.append(alice)
    db.add(physics)
    team_server = orm.Spawner(user=account, name="")
    team_client = orm.OAuthClient(identifier="jupyterhub-user-collab-physics")
    team_server.oauth_client = team_client
    own_server = orm.Spawner(user=alice, name="")
    own_client = orm.OAuthClient(identifier="jupyterhub-user-alice")
    own_server.oauth_client = own_client
    hub_client = orm.OAuthClient(identifier="jupyterhub")  # the hub's own (API tokens)
    db.add_all([team_server, own_server, team_client, own_client, hub_client])
    db.commit()
    orm.Share.grant(db, team_server, physics, [TEAM_ACCESS])
    return {
        "alice": alice,
        "bob": bob,
        "physics": physics,
        "team_client": team_client,
        "own_client": own_client,
    }


def oauth_token(db: Any, person: Any, client: Any) -> Any:
    """The token a server's OAuth login gives ``person``: the server's access scope."""
    token = orm.APIToken.new(
        user=person,
        client_id=client.identifier,
        scopes=list(scopes.access_scopes(client)),
    )
    return db.query(orm.APIToken).filter_by(prefix=token[:4]).first()


def original_get_scopes_for() -> Any:
    current = scopes.get_scopes_for
    return getattr(current, "__wrapped__", current)


def test_this_jupyterhub_release_was_checked() -> None:
    assert jupyterhub.__version__ in hub_fixes.CHECKED_VERSIONS, (
        f"JupyterHub {jupyterhub.__version__} has not been checked: read get_scopes_for in "
        "jupyterhub/scopes.py again, run the team-server tests, then add the version to "
        "CHECKED_VERSIONS (or drop the fix if group shares now reach tokens)"
    )
    assert hub_fixes.is_affected(Version(jupyterhub.__version__))


def test_the_upstream_bug_is_still_there(db: Any, hub: dict[str, Any]) -> None:
    token = oauth_token(db, hub["alice"], hub["team_client"])
    # alice herself may reach the team server through her group ...
    assert TEAM_ACCESS in original_get_scopes_for()(hub["alice"])
    # ... and the token the team server's login gave her asks for exactly that, yet lacks it
    assert TEAM_ACCESS not in original_get_scopes_for()(token)


def test_with_the_fix_a_members_token_reaches_the_team_server(db: Any, hub: dict[str, Any]) -> None:
    assert hub_fixes.fix_group_share_tokens()
    token = oauth_token(db, hub["alice"], hub["team_client"])
    assert TEAM_ACCESS in scopes.get_scopes_for(token)
    # leaving the group ends it, for the same token
    hub["physics"].users.remove(hub["alice"])
    db.commit()
    assert TEAM_ACCESS not in scopes.get_scopes_for(token)


def test_a_token_gets_no_more_than_it_asks_for(db: Any, hub: dict[str, Any]) -> None:
    assert hub_fixes.fix_group_share_tokens()
    # a token alice's own server got: it asks for her own server only
    own = oauth_token(db, hub["alice"], hub["own_client"])
    assert TEAM_ACCESS not in scopes.get_scopes_for(own)
    # an API token with other scopes
    raw = orm.APIToken.new(user=hub["alice"], scopes=["read:users:name!user=alice"])
    api = db.query(orm.APIToken).filter_by(prefix=raw[:4]).first()
    assert TEAM_ACCESS not in scopes.get_scopes_for(api)
    # an API token that inherits all of alice's permissions carries the group's share
    raw = orm.APIToken.new(user=hub["alice"], scopes=["inherit"])
    inherit = db.query(orm.APIToken).filter_by(prefix=raw[:4]).first()
    assert TEAM_ACCESS in scopes.get_scopes_for(inherit)


def test_a_non_member_and_a_revoked_share_get_nothing(db: Any, hub: dict[str, Any]) -> None:
    assert hub_fixes.fix_group_share_tokens()
    with pytest.raises(ValueError, match="not held by User bob"):
        oauth_token(db, hub["bob"], hub["team_client"])  # the hub issues him none
    alice = oauth_token(db, hub["alice"], hub["team_client"])
    for share in list(hub["physics"].shared_with_me):
        db.delete(share)
    db.commit()
    db.expire_all()
    assert TEAM_ACCESS not in scopes.get_scopes_for(alice)


def test_the_fix_is_applied_once() -> None:
    assert hub_fixes.fix_group_share_tokens()
    first = scopes.get_scopes_for
    assert hub_fixes.fix_group_share_tokens()
    assert scopes.get_scopes_for is first
    from jupyterhub.apihandlers import base as api_base

    assert api_base.get_scopes_for is first  # the token model's "scopes" field too


@pytest.mark.parametrize(
    ("version", "affected"),
    [("4.1.6", False), ("5.0.0", True), ("6.1.1", True), ("6.9.0", True), ("7.0.0", False)],
)
def test_which_releases_are_affected(version: str, affected: bool) -> None:
    assert hub_fixes.is_affected(Version(version)) is affected


def test_only_a_teams_members_skip_the_consent_page(db: Any, hub: dict[str, Any]) -> None:
    def team_served_by(account: Any) -> str | None:
        return account.name.removeprefix("collab-") if account.name.startswith("collab-") else None

    assert hub_fixes.is_teammate(hub["alice"], hub["team_client"], team_served_by)
    assert not hub_fixes.is_teammate(hub["bob"], hub["team_client"], team_served_by)
    # a person's own server is not a team server: the hub's own rule applies there
    assert not hub_fixes.is_teammate(hub["alice"], hub["own_client"], team_served_by)
    # a service's client (no spawner)
    service_client = orm.OAuthClient(identifier="service-x")
    db.add(service_client)
    db.commit()
    assert not hub_fixes.is_teammate(hub["alice"], service_client, team_served_by)
