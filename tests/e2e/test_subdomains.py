"""Team servers under JupyterHub's ``subdomain_host``: each server on its own host name, so
content planted on one team server runs in no other server's origin, nor the hub's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from .browser import chromium, log_in, open_server, screenshot
from .harness import Hub, wait_for

TEAM = "collab-chemistry"  # alice and carol


@pytest.fixture(scope="module")
def subdomain_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with Hub(
        tmp_path_factory.mktemp("subdomains"),
        # Chromium resolves every *.localhost name to the loopback address by itself
        extra_config="c.JupyterHub.subdomain_host = f'http://localhost:{c.JupyterHub.port}'\n",
    ).synced("chemistry") as hub:
        yield hub


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def origin(hub: Hub, user: str | None = None) -> str:
    host = f"{user}.localhost" if user else "localhost"
    return f"http://{host}:{hub.port}"


def test_members_open_a_team_server_on_its_own_host_and_others_are_refused(
    subdomain_hub: Hub, browser: Browser
) -> None:
    assert subdomain_hub.api("POST", f"users/{TEAM}/server").status_code in (201, 202)
    wait_for(lambda: subdomain_hub.server_ready(TEAM), 90, what=f"{TEAM} to start")
    team_url = f"{origin(subdomain_hub, TEAM)}/user/{TEAM}/lab"

    alice = log_in(browser, origin(subdomain_hub), "alice")
    open_server(alice, team_url)
    assert alice.url.startswith(origin(subdomain_hub, TEAM))
    screenshot(alice, "subdomain-team-server")
    # the team server's login cookie belongs to its own host only
    team_cookies = alice.context.cookies(team_url)
    hub_cookies = alice.context.cookies(f"{origin(subdomain_hub)}/hub/")
    assert f"jupyterhub-user-{TEAM}" in {c["name"] for c in team_cookies}, team_cookies
    # ...and the hub's login cookie is not sent to the team server's host
    assert "jupyterhub-hub-login" in {c["name"] for c in hub_cookies}, hub_cookies
    assert "jupyterhub-hub-login" not in {c["name"] for c in team_cookies}
    # a page on the team server cannot read the hub's API as alice: another origin
    status = alice.evaluate(
        """async (url) => {
            try { const r = await fetch(url, {credentials: "include"}); return r.status; }
            catch (e) { return "blocked"; }
        }""",
        f"{origin(subdomain_hub)}/hub/api/user",
    )
    assert status in ("blocked", 403), status

    dave = log_in(browser, origin(subdomain_hub), "dave")
    response = dave.goto(team_url)
    if response is not None and "oauth2/authorize" in dave.url:
        response = dave.reload()
    assert response is not None and response.status == 403, dave.url
    for page in (alice, dave):
        page.context.close()
    subdomain_hub.stop_server(TEAM)
