"""The OpenID Connect provider down, with the real provider (tests/e2e/oidc_provider.js), the
real GenericOAuthenticator and the claims source: (a) while people are logged in and the hub
refreshes their authentication, (b) in the middle of a login, and (c) back again.

What JupyterHub and OAuthenticator do is theirs: a refresh that cannot reach the provider
raises inside OAuthenticator, JupyterHub logs "Failed to get current user" and treats the
request as not logged in (a page sends the person to the login page, the API answers 403), and
a login whose code cannot be exchanged fails with the hub's error page. The project's part,
tested here: no team membership is lost and no team retired because of it (neither by the
refresh, which never reaches the claims, nor by the background sync, which never removes anyone
from a claim team), team servers keep working for their members, nothing is created by a failed
login, and once the provider is back the same people log in to the same teams, nothing twice.
The last test does the same with teams from an LDAP directory and logins through the provider.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from .harness import Hub, Person, consent_or_lab, wait_for
from .slapd import READER_PASSWORD, Slapd, generate
from .test_claims import (
    PASSWORD,
    STARTED,
    OIDCProvider,
    claims_pre_config,
    generic_oauth_config,
    groups_of,
    keycloak_groups,
    marker,
    members,
    oauth_login,
    provider_and_hub,
    serving,
    start_as,
    start_hub,
)

REFRESH_AGE = 3
USERS = {
    "alice": ["/lab/physics", "/lab/chem"],
    "bob": ["/lab/physics"],
    "carol": ["/lab/bio"],
}
TEAMS = {"physics": {"alice", "bob"}, "chem": {"alice"}, "bio": {"carol"}}


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, OIDCProvider]]:
    state = tmp_path_factory.mktemp("oidc-faults")
    hub = Hub(state / "hub", sync_interval=2, pre_config=claims_pre_config(path_rule="last"))
    provider = OIDCProvider(state / "oidc", USERS, f"{hub.url}/hub/oauth_callback")
    hub.extra_config = generic_oauth_config(hub, provider, ["openid", "profile", "groups"])
    hub.extra_config += keycloak_groups(REFRESH_AGE)
    with provider_and_hub(hub, provider) as both:
        yield both


def teams_now(hub: Hub) -> dict[str, set[str]]:
    return {team: members(hub, team) for team in TEAMS}


def assert_teams_intact(hub: Hub) -> None:
    """Every team with exactly its members, none retired, each shared once with its group."""
    assert teams_now(hub) == TEAMS
    for team in TEAMS:
        assert marker(hub, team).get("retired") is False, f"{team} was retired"
        items = hub.api("GET", f"shares/collab-{team}/").json()["items"]
        assert [i["group"]["name"] for i in items if i.get("group")] == [team]


def everyone_logged_in(hub: Hub) -> dict[str, Person]:
    people = {name: oauth_login(Person(hub, name)) for name in USERS}
    assert teams_now(hub) == TEAMS
    hub.wait_for_sync(
        lambda: (
            all(serving(hub, f"collab-{team}") for team in TEAMS)
            and all(marker(hub, team).get("share_scopes") for team in TEAMS)
        ),
        what="the team accounts and shares",
    )
    return people


def test_provider_down_while_people_are_logged_in_revokes_nothing(
    oidc: tuple[Hub, OIDCProvider],
) -> None:
    hub, provider = oidc
    people = everyone_logged_in(hub)
    alice = people["alice"]
    assert start_as(alice, "collab-physics") in STARTED
    wait_for(lambda: hub.server_ready("collab-physics"), 60, what="the physics team server")
    assert consent_or_lab(alice.open("/user/collab-physics/lab"))
    mark = len(hub.log_text())

    provider.stop()
    try:
        time.sleep(REFRESH_AGE + 0.5)  # every session's authentication is now due for a refresh
        api = alice.hub_api("GET", "user")
        home = alice.http.get("/hub/home")
        lab = alice.http.get("/user/collab-physics/lab")
        print(
            f"provider down: API {api.status_code}, /hub/home {home.status_code} "
            f"{home.headers.get('location')}, team server {lab.status_code}"
        )
        # JupyterHub's answer to a refresh that cannot reach the provider: not logged in (a
        # clear refusal), or the session goes on; never a server error
        assert api.status_code in (200, 403), api.text
        went_to_login = home.status_code == 302 and home.headers["location"].startswith(
            "/hub/login"
        )
        assert home.status_code == 200 or went_to_login
        assert lab.status_code < 500
        if api.status_code == 403:
            assert "Failed to get current user" in hub.log_text()[mark:]
        # the background sync runs meanwhile: a claim team loses nobody
        time.sleep(3 * hub.sync_interval)
        assert_teams_intact(hub)
        log = hub.log_text()[mark:]
        assert "refresh of alice" not in log, "a failed refresh changed alice's teams"
        assert "left [" not in log
    finally:
        provider.start()


def sign_in_at_the_provider(person: Person) -> str:
    """Go through the OAuth flow up to the hub's callback; return the callback's address
    (with the code the hub has yet to redeem at the provider)."""
    r = person.http.get("/hub/oauth_login")
    for _ in range(15):
        if r.status_code in (301, 302, 303, 307):
            url = urljoin(str(r.url), r.headers["location"])
            if urlsplit(url).path == "/hub/oauth_callback":
                return url
            r = person.http.get(url)
        elif r.status_code == 200 and 'action="/interaction/' in r.text:
            action = r.text.split('action="', 1)[1].split('"', 1)[0]
            form = {"username": person.name, "password": PASSWORD}
            r = person.http.post(urljoin(str(r.url), action), data=form)
        else:
            break
    raise AssertionError(f"the sign-in stopped at {r.url}: {r.status_code} {r.text[:300]}")


def test_a_login_while_the_provider_is_down_fails_clearly_and_changes_nothing(
    oidc: tuple[Hub, OIDCProvider],
) -> None:
    hub, provider = oidc
    provider.set_groups("dave", ["/lab/physics", "/lab/geo"])
    dave = Person(hub, "dave")
    # dave signs in at the provider; it is gone when the hub redeems the code
    callback = sign_in_at_the_provider(dave)
    provider.stop()
    try:
        failed = dave.http.get(callback)
        print(f"the callback with the provider down: {failed.status_code}")
        assert failed.status_code == 500 and "Internal Server Error" in failed.text
        assert dave.cookie("jupyterhub-hub-login", "/hub/") is None
        # and a new attempt is sent to the provider, which is not there
        again = Person(hub, "dave")
        start = again.http.get("/hub/oauth_login")
        assert start.status_code == 302 and start.headers["location"].startswith(provider.url)
        with pytest.raises(httpx.ConnectError):
            again.http.get(start.headers["location"])
        again.close()
        # nothing was made of it: no account, no team, nobody moved
        assert hub.api("GET", "users/dave").status_code == 404
        assert hub.group("geo") is None
        assert_teams_intact(hub)
    finally:
        provider.start()


def test_after_the_provider_is_back_the_same_people_have_the_same_teams(
    oidc: tuple[Hub, OIDCProvider],
) -> None:
    hub, _ = oidc
    for name in USERS:
        person = oauth_login(Person(hub, name))
        assert person.hub_api("GET", "user").status_code == 200
        person.close()
    assert_teams_intact(hub)
    assert {t for t in groups_of(hub, "alice") if t in TEAMS} == {"physics", "chem"}
    # the login that failed halfway left nothing in the way of the next one
    dave = oauth_login(Person(hub, "dave"))
    assert dave.hub_api("GET", "user").status_code == 200
    assert dave.cookie("jupyterhub-hub-login", "/hub/") is not None  # what (b) did not get
    assert members(hub, "physics") == {"alice", "bob", "dave"}
    assert members(hub, "geo") == {"dave"}
    hub.wait_for_sync(lambda: serving(hub, "collab-geo"), what="the geo team account")
    users = [u["name"] for u in hub.api("GET", "users", params={"limit": 200}).json()]
    assert len(users) == len(set(users))
    accounts = {u for u in users if u.startswith("collab-")}
    assert accounts == {f"collab-{team}" for team in [*TEAMS, "geo"]}


# -- the same with teams from an LDAP directory (logins still through the provider) -----------

LDAP_PASSWORD_ENV = "TEAMS_OIDC_FAULTS_LDAP_PASSWORD"


def test_provider_down_with_ldap_teams_revokes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = generate(12, 3, mean_groups=2, heavy_fraction=0, heavy_groups=1, seed=5)
    wanted = {g.name: set(g.members) for g in directory.groups}
    team = next(g for g in directory.groups if len(g.members) >= 2)
    first, second = team.members[:2]
    monkeypatch.setenv(LDAP_PASSWORD_ENV, READER_PASSWORD)
    slapd = Slapd(tmp_path / "slapd").load_directory(directory).start()
    hub = Hub(
        tmp_path / "hub",
        sync_interval=2,
        pre_config=slapd.hub_config(
            directory, LDAP_PASSWORD_ENV, timeout=2.0, snapshot_timeout=20.0
        ),
    )
    # the provider knows no groups: with manage_groups a refresh that reached it would say []
    provider = OIDCProvider(
        tmp_path / "oidc", {first: [], second: []}, f"{hub.url}/hub/oauth_callback"
    )
    hub.extra_config = generic_oauth_config(hub, provider, ["openid", "profile"])
    hub.extra_config += f"""
c.GenericOAuthenticator.manage_groups = True
c.Authenticator.auth_refresh_age = {REFRESH_AGE}
"""

    def teams() -> dict[str, set[str]]:
        return {name: members(hub, name) for name in wanted}

    try:
        provider.start()
        start_hub(hub)
        hub.wait_for_sync(lambda: teams() == wanted, what="the first sync from LDAP")
        person = oauth_login(Person(hub, first))
        assert {g for g in groups_of(hub, first) if g in wanted} == {
            g for g, m in wanted.items() if first in m
        }
        cut_off = Person(hub, second)
        callback = sign_in_at_the_provider(cut_off)
        mark = len(hub.log_text())

        provider.stop()
        time.sleep(REFRESH_AGE + 0.5)
        assert person.hub_api("GET", "user").status_code in (200, 403)
        failed = cut_off.http.get(callback)
        assert failed.status_code == 500
        assert cut_off.cookie("jupyterhub-hub-login", "/hub/") is None
        time.sleep(3 * hub.sync_interval)
        assert teams() == wanted, "a membership was lost while the provider was down"
        assert not any(marker(hub, name).get("retired") for name in wanted)
        assert "sync applied" not in hub.log_text()[mark:]  # nothing to do: nothing done

        provider.start()
        for name in (first, second):
            oauth_login(Person(hub, name))
        assert teams() == wanted
        for name in (first, second):
            mine = {g for g, m in wanted.items() if name in m}
            assert {g for g in groups_of(hub, name) if g in wanted} == mine
    finally:
        hub.stop()
        provider.stop()
        slapd.stop()
