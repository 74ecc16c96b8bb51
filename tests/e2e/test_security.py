"""The sync service's token is least-privilege: team accounts only, never the admin role."""

from __future__ import annotations

import httpx
import psutil

from .harness import Hub


def service_token(hub: Hub) -> str:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        cmdline = child.cmdline()
        if "jupyterhub_teams" in cmdline and "service" in cmdline:
            return str(child.environ()["JUPYTERHUB_API_TOKEN"])
    raise AssertionError("the sync service is not running")


def test_service_token_reaches_team_servers_only(demo_hub: Hub) -> None:
    token = service_token(demo_hub)

    def call(method: str, path: str) -> httpx.Response:
        return httpx.request(
            method,
            f"{demo_hub.api_url}/{path}",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )

    me = call("GET", "user").json()
    assert me["kind"] == "service" and me["name"] == "jupyterhub-teams"
    assert "admin" not in me.get("roles", [])
    scopes = set(me["scopes"])
    assert "admin-ui" not in scopes and "servers" not in scopes and "access:servers" not in scopes
    assert "servers!group=jupyterhub-teams-accounts" in scopes
    # it may not start, stop or share a person's server...
    assert call("POST", "users/alice/server").status_code in (403, 404)
    assert call("DELETE", "users/alice/server").status_code in (403, 404)
    assert call("POST", "shares/alice/").status_code in (403, 404)
    # ...nor mint tokens for anyone
    assert call("POST", "users/alice/tokens").status_code in (403, 404)
    # while it does manage the team accounts' servers
    assert call("GET", "shares/collab-physics/").status_code == 200


def as_service(hub: Hub) -> httpx.Client:
    return httpx.Client(
        base_url=f"{hub.api_url}/",
        headers={"Authorization": f"token {service_token(hub)}"},
        timeout=30,
    )


def test_service_token_cannot_pass_a_person_off_as_a_team_account(demo_hub: Hub) -> None:
    """The role's ``!group=<accounts group>`` filter is a boundary: the same token may change
    group members and rename users, but never into the accounts group or the prefix."""
    with as_service(demo_hub) as service:
        added = service.post("groups/jupyterhub-teams-accounts/users", json={"users": ["alice"]})
        assert added.status_code == 403, added.text
        assert "holds team accounts only" in added.json()["message"]
        renamed = service.patch("users/alice", json={"name": "collab-alice"})
        assert renamed.status_code == 403, renamed.text
        assert "reserved for team accounts" in renamed.json()["message"]
        # nothing changed, so the filtered scopes still do not reach alice's server
        assert "alice" not in demo_hub.group("jupyterhub-teams-accounts")["users"]  # type: ignore[index]
        assert demo_hub.user("alice")["name"] == "alice"
        assert service.post("users/alice/server").status_code in (403, 404)
        assert service.post("shares/alice/", json={"user": "dave"}).status_code in (403, 404)
        assert demo_hub.server_stopped("alice")


def test_not_even_a_hub_admin_puts_a_person_in_the_accounts_group(demo_hub: Hub) -> None:
    response = demo_hub.api(
        "POST", "groups/jupyterhub-teams-accounts/users", json={"users": ["bob"]}
    )
    assert response.status_code == 403
    assert "bob" not in demo_hub.group("jupyterhub-teams-accounts")["users"]  # type: ignore[index]


def test_service_token_reach_is_what_the_security_page_says(demo_hub: Hub) -> None:
    """docs/security.md says the token can create, change and delete any user, read anyone's
    authentication state and change any group's members; these hold, so the page is true."""
    with as_service(demo_hub) as service:
        scopes = set(service.get("user").json()["scopes"])
    for scope in ("admin:users", "admin:auth_state", "delete:users", "admin:groups", "groups"):
        assert scope in scopes, scope
    for scope in ("admin:servers", "servers", "access:servers", "shares", "tokens", "admin-ui"):
        assert scope not in scopes, scope
