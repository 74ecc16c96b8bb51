"""A team server lets in only tokens issued for it: a member's token from elsewhere, replayed by
someone else, opens nothing (regressions of an attack on the demo hub)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import psutil
import pytest

from .harness import Hub, Person, _FormParser, consent_or_lab, wait_for

TEAM = "collab-chemistry"  # alice and carol; bob is not a member


def server_environment(hub: Hub, user: str) -> dict[str, str]:
    """The environment of ``user``'s running single-user server (its owner can read it)."""
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            environ = child.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if environ.get("JUPYTERHUB_USER") == user and "JUPYTERHUB_API_TOKEN" in environ:
            return environ
    raise AssertionError(f"{user}'s server is not running")


def replay(hub: Hub, token: str) -> dict[str, int]:
    """What a token in an ``Authorization`` header, or in the URL, opens on the team server."""
    base = f"{hub.url}/user/{TEAM}"
    header = {"Authorization": f"token {token}"}
    with httpx.Client(timeout=30) as client:
        return {
            "read": client.get(f"{base}/api/contents/", headers=header).status_code,
            "write": client.put(
                f"{base}/api/contents/planted.txt",
                headers=header,
                json={"type": "file", "format": "text", "content": "x"},
            ).status_code,
            "terminal": client.post(f"{base}/api/terminals", headers=header).status_code,
            "url": client.get(f"{base}/api/contents/", params={"token": token}).status_code,
        }


def start(hub: Hub, person: Person, account: str) -> None:
    assert person.hub_api("POST", f"users/{account}/server").status_code in (201, 202, 400)
    wait_for(lambda: hub.server_ready(account), 90, what=f"{account} to start")


def oauth_token_for_another_server(hub: Hub, visitor: Person, owner: str) -> str:
    """``visitor``'s OAuth token issued to ``owner``'s server, as that server (which ``owner``
    controls: its client id and secret are in its environment) receives it."""
    environ = server_environment(hub, owner)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = environ["JUPYTERHUB_OAUTH_CALLBACK_URL"]
    response = visitor.http.get(
        "/hub/api/oauth2/authorize",
        params={
            "client_id": environ["JUPYTERHUB_CLIENT_ID"],
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    if response.status_code == 200:  # the consent page: the visitor authorises
        form = _FormParser()
        form.feed(response.text)
        data: dict[str, list[str]] = {}
        for key, value in form.fields:
            data.setdefault(key, []).append(value)
        response = visitor.http.post(urljoin(str(response.url), form.action or ""), data=data)
    assert response.status_code in (302, 303), response.text[:300]
    location = response.headers["location"]
    assert "oauth_callback" in location, location
    code = parse_qs(urlparse(location).query)["code"][0]
    exchanged = httpx.post(
        f"{hub.api_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": environ["JUPYTERHUB_CLIENT_ID"],
            "client_secret": environ["JUPYTERHUB_API_TOKEN"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    assert exchanged.status_code == 200, (exchanged.text, location, redirect_uri)
    return str(exchanged.json()["access_token"])


@pytest.fixture(scope="module")
def team_running(demo_hub: Hub) -> Iterator[None]:
    alice = Person(demo_hub, "alice").logged_in()
    start(demo_hub, alice, TEAM)
    alice.close()
    yield
    demo_hub.stop_server(TEAM)


REFUSED = {"read": 403, "write": 403, "terminal": 403, "url": 403}


def test_a_members_token_for_another_server_is_refused_by_the_team_server(
    demo_hub: Hub, people: dict[str, Person], team_running: None
) -> None:
    alice, bob = people["alice"], people["bob"]
    # bob shares his own server with alice, and receives her token when she opens it
    shared = bob.hub_api("POST", "shares/bob/", json={"user": "alice"})
    assert shared.status_code in (200, 201), shared.text
    start(demo_hub, bob, "bob")
    stolen = oauth_token_for_another_server(demo_hub, alice, "bob")
    # the token is alice's, and good on bob's server...
    whoami = httpx.get(
        f"{demo_hub.api_url}/user", headers={"Authorization": f"token {stolen}"}, timeout=30
    ).json()
    assert whoami["name"] == "alice" and "chemistry" in whoami["groups"]
    # ...but bob replaying it opens nothing on alice's team server
    assert replay(demo_hub, stolen) == REFUSED
    demo_hub.stop_server("bob")


def test_a_members_api_token_with_other_scopes_is_refused_by_the_team_server(
    demo_hub: Hub, people: dict[str, Person], team_running: None
) -> None:
    made = people["alice"].hub_api(
        "POST", "users/alice/tokens", json={"scopes": ["read:users:groups!user"], "note": "x"}
    )
    assert made.status_code == 201, made.text
    assert replay(demo_hub, made.json()["token"]) == REFUSED


def test_the_team_servers_own_token_is_no_key_to_it(demo_hub: Hub, team_running: None) -> None:
    # what a member reads as $JUPYTERHUB_API_TOKEN in a team-server terminal
    own = server_environment(demo_hub, TEAM)["JUPYTERHUB_API_TOKEN"]
    assert replay(demo_hub, own) == REFUSED


def test_members_still_get_in_through_the_team_servers_own_login(
    demo_hub: Hub, people: dict[str, Person], team_running: None
) -> None:
    for name in ("alice", "carol"):
        assert consent_or_lab(people[name].open(f"/user/{TEAM}/lab")), name
        listed = people[name].server_api(TEAM, "GET", "api/contents/")
        assert listed.status_code == 200, (name, listed.status_code)
    assert people["bob"].open(f"/user/{TEAM}/lab").status_code == 403


def test_a_token_with_real_access_scopes_still_works(demo_hub: Hub, team_running: None) -> None:
    # the test hub's admin service token holds access to every server, as stock servers honour
    assert replay(demo_hub, demo_hub.admin_token)["read"] == 200
