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
