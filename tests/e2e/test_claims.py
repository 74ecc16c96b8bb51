"""Groups from OAuth claims, end to end: a real OpenID Connect provider (node-oidc-provider)
with Keycloak-style group paths in front of the real GenericOAuthenticator, and the real
GitHubOAuthenticator and GitLabOAuthenticator against a loopback fake of GitHub and GitLab.

People log in through the browser-like OAuth flow; their claim teams appear at login and the
background sync gives them accounts and shares, after which members reach exactly their team
servers.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import pytest

from jupyterhub_teams.demo.hub import free_port

from .forge_fake import Forge
from .harness import REPO, Hub, Person, consent_or_lab, wait_for

NODE_DIR = REPO / ".node"
PROVIDER_SCRIPT = Path(__file__).with_name("oidc_provider.js")
CLIENT_SECRET = secrets.token_hex(16)
PASSWORD = "let-me-in"
STARTED = (201, 202)
REFUSED = (403, 404)
REFRESH_AGE = 4


def ensure_oidc_provider() -> Path:
    """The node_modules folder holding oidc-provider, installed there when missing."""
    modules = NODE_DIR / "node_modules"
    if not (modules / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install oidc-provider (apt-get install npm)")
        subprocess.run(
            [
                npm,
                "install",
                "-q",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(NODE_DIR),
                "oidc-provider@^9",
            ],
            check=True,
        )
    return modules


class OIDCProvider:
    """tests/e2e/oidc_provider.js on a free loopback port, stopped by PID."""

    def __init__(self, state_dir: Path, users: dict[str, Any], redirect_uri: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.users_file = state_dir / "users.json"
        self.users = dict(users)
        self._write_users()
        self.settings = state_dir / "settings.json"
        self.settings.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "node_modules": str(ensure_oidc_provider()),
                    "client_id": "jupyterhub",
                    "client_secret": CLIENT_SECRET,
                    "redirect_uri": redirect_uri,
                    "password": PASSWORD,
                    "users_file": str(self.users_file),
                }
            )
        )
        self.log_path = state_dir / "provider.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _write_users(self) -> None:
        tmp = self.users_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.users))
        tmp.replace(self.users_file)  # never a half-written file under a reading provider

    def set_groups(self, name: str, groups: list[str]) -> None:
        self.users[name] = groups
        self._write_users()

    def start(self) -> OIDCProvider:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["node", str(PROVIDER_SCRIPT), str(self.settings)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the provider exited: {self.log_path.read_text()}")
            url = f"{self.url}/.well-known/openid-configuration"
            return httpx.get(url, timeout=2).status_code == 200

        wait_for(ready, 30, what=f"the OIDC provider on {self.url}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def generic_oauth_config(hub: Hub, provider: OIDCProvider, scope: list[str]) -> str:
    """``jupyterhub_config.py`` lines logging in through ``provider`` with GenericOAuthenticator."""
    return f"""
c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator"
c.GenericOAuthenticator.client_id = "jupyterhub"
c.GenericOAuthenticator.client_secret = {CLIENT_SECRET!r}
c.GenericOAuthenticator.oauth_callback_url = {hub.url + "/hub/oauth_callback"!r}
c.GenericOAuthenticator.authorize_url = {provider.url + "/auth"!r}
c.GenericOAuthenticator.token_url = {provider.url + "/token"!r}
c.GenericOAuthenticator.userdata_url = {provider.url + "/me"!r}
c.GenericOAuthenticator.scope = {scope!r}
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.allow_all = True
c.Authenticator.enable_auth_state = True
"""


def claims_pre_config(**options: Any) -> str:
    """Config that ``setup(c)`` must see: the claim source and its options."""
    lines = ['c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.claims.ClaimGroups"']
    lines += [f"c.ClaimGroups.{key} = {value!r}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def oauth_login(person: Person, *, choose_account: bool = False) -> Person:
    """Log in through the hub's OAuth flow as a browser would, signing in at the provider."""
    r = person.http.get("/hub/oauth_login")
    for _ in range(15):
        if r.status_code in (301, 302, 303, 307):
            if urlsplit(str(r.url)).path == "/hub/oauth_callback":
                return person  # the hub accepted the login and set its cookie
            url = urljoin(str(r.url), r.headers["location"])
            if choose_account and "/oauth/authorize" in url:
                url += "&" + urlencode({"login": person.name})
            r = person.http.get(url)
        elif r.status_code == 200 and 'action="/interaction/' in r.text:
            action = r.text.split('action="', 1)[1].split('"', 1)[0]
            form = {"username": person.name, "password": PASSWORD}
            r = person.http.post(urljoin(str(r.url), action), data=form)
        else:
            break
    raise AssertionError(
        f"login of {person.name} stopped at {r.url}: {r.status_code} {r.text[:400]}"
    )


def start_as(person: Person, account: str) -> int:
    return person.hub_api("POST", f"users/{account}/server").status_code


def groups_of(hub: Hub, name: str) -> set[str]:
    return set(hub.user(name)["groups"])


def members(hub: Hub, group: str) -> set[str]:
    return set((hub.group(group) or {}).get("users", []))


def marker(hub: Hub, group: str) -> dict[str, Any]:
    return dict(((hub.group(group) or {}).get("properties") or {}).get("jupyterhub_teams") or {})


def serving(hub: Hub, account: str) -> bool:
    """The sync has made ``account`` a team account (it is in the accounts group)."""
    return account in members(hub, "jupyterhub-teams-accounts")


def start_hub(hub: Hub) -> Hub:
    # auth_state is encrypted with this key; only the hub's process needs it
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTERHUB_CRYPT_KEY", secrets.token_hex(32))
        return hub.start()


@contextlib.contextmanager
def provider_and_hub(hub: Hub, provider: OIDCProvider) -> Iterator[tuple[Hub, OIDCProvider]]:
    """The provider, then the hub started; both stopped afterwards whatever happened."""
    try:
        provider.start()
        start_hub(hub)
        yield hub, provider
    finally:
        hub.stop()
        provider.stop()


def keycloak_groups(refresh_age: int) -> str:
    """What a Keycloak hub typically has already: the provider's groups as JupyterHub groups,
    refreshed every ``refresh_age`` seconds."""
    return f"""
c.GenericOAuthenticator.manage_groups = True
c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
c.Authenticator.auth_refresh_age = {refresh_age}
"""


# -- OpenID Connect (Keycloak-style paths) ----------------------------------------------------

USERS = {
    "alice": ["/a/physics", "/lab/chem"],
    # "/b/physics" ends like alice's "/a/physics": under path_rule "last" both would be
    # "physics", and the first one seen owns it
    "bob": ["/b/physics", "/b/bio"],
}


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, OIDCProvider]]:
    state = tmp_path_factory.mktemp("claims-oidc")
    hub = Hub(state / "hub", sync_interval=2, pre_config=claims_pre_config(path_rule="last"))
    provider = OIDCProvider(state / "oidc", USERS, f"{hub.url}/hub/oauth_callback")
    hub.extra_config = generic_oauth_config(hub, provider, ["openid", "profile", "groups"])
    hub.extra_config += keycloak_groups(REFRESH_AGE)
    with provider_and_hub(hub, provider) as both:
        yield both


def test_a_provider_login_creates_claim_teams_that_the_sync_serves(
    oidc: tuple[Hub, OIDCProvider],
) -> None:
    hub, _ = oidc
    alice = oauth_login(Person(hub, "alice"))
    # at login, before any sync: the teams' groups, with alice, and the claim that owns each
    assert members(hub, "physics") == {"alice"} and members(hub, "chem") == {"alice"}
    assert marker(hub, "physics") == {
        "version": 2,
        "origin": "claims",
        "source_group": "physics",
        "claim": "/a/physics",
        "account": "collab-physics",
        "retired": False,
        "share_scopes": [],  # until the sync has granted the share
    }
    # manage_groups keeps the provider's own groups next to the teams
    assert groups_of(hub, "alice") == {"/a/physics", "/lab/chem", "physics", "chem"}

    hub.wait_for_sync(lambda: serving(hub, "collab-physics"), what="the physics team account")
    assert wait_for(lambda: start_as(alice, "collab-physics") in STARTED, 30, what="a start")
    wait_for(lambda: hub.server_ready("collab-physics"), 60, what="the physics team server")
    assert consent_or_lab(alice.open("/user/collab-physics/lab"))
    # the sync kept what the login recorded
    assert marker(hub, "physics")["claim"] == "/a/physics"
    assert marker(hub, "physics")["origin"] == "claims"
    hub.stop_server("collab-physics")


def test_two_paths_with_one_team_name_are_never_merged(oidc: tuple[Hub, OIDCProvider]) -> None:
    hub, _ = oidc
    oauth_login(Person(hub, "alice"))  # alice's "/a/physics" owns "physics" (first seen)
    bob = oauth_login(Person(hub, "bob"))
    assert "physics" not in groups_of(hub, "bob") and members(hub, "physics") == {"alice"}
    assert members(hub, "bio") == {"bob"}
    assert (
        "bob: claim group '/b/physics' refused: its team 'physics' belongs to the claim group "
        "'/a/physics'; never merged" in hub.log_text()
    )
    hub.wait_for_sync(lambda: serving(hub, "collab-bio"), what="the bio team account")
    assert start_as(bob, "collab-physics") in REFUSED
    alice = oauth_login(Person(hub, "alice"))
    assert start_as(alice, "collab-bio") in REFUSED


def test_a_refresh_applies_changed_claims(oidc: tuple[Hub, OIDCProvider]) -> None:
    hub, provider = oidc
    alice = oauth_login(Person(hub, "alice"))
    assert "chem" in groups_of(hub, "alice")
    provider.set_groups("alice", ["/a/physics"])  # an admin took alice out of /lab/chem
    time.sleep(REFRESH_AGE + 0.5)
    # her next request is older than auth_refresh_age: the hub refreshes her authentication
    assert alice.hub_api("GET", "user").status_code == 200
    assert wait_for(lambda: "chem" not in groups_of(hub, "alice"), 10, what="alice leaving chem")
    assert groups_of(hub, "alice") == {"/a/physics", "physics"}
    # manage_groups keeps her teams (she is never out of physics, not even within the
    # request); then the claims take her out of the team she lost
    assert "refresh of alice: joined none, left ['chem']" in hub.log_text()
    assert members(hub, "physics") == {"alice"}
    provider.set_groups("alice", USERS["alice"])


# -- GitHub and GitLab, through a loopback fake -----------------------------------------------


@pytest.fixture(scope="module")
def forge() -> Iterator[Forge]:
    fake = Forge().start()
    try:
        yield fake
    finally:
        fake.stop()


def forge_hub(
    state: Path, pre_config: str, authenticator: str, settings: str, hub_url: str = ""
) -> Hub:
    hub = Hub(state, sync_interval=2, pre_config=pre_config)
    hub.extra_config = (
        f"c.JupyterHub.authenticator_class = {authenticator!r}\n"
        f"c.{authenticator.rsplit('.', 1)[1]}.oauth_callback_url = "
        f"{hub.url + '/hub/oauth_callback'!r}\n"
        + settings
        + "c.Authenticator.enable_auth_state = True\n"
    )
    return start_hub(hub)


def test_github_teams_become_org_team_teams(
    forge: Forge, tmp_path_factory: pytest.TempPathFactory
) -> None:
    forge.github_teams = {
        "alice": [("MyOrg", "physics"), ("MyOrg", "data-science"), ("other", "physics")],
        "bob": [("other", "physics")],
    }
    hub = forge_hub(
        tmp_path_factory.mktemp("claims-github"),
        claims_pre_config(kind="github"),
        "oauthenticator.github.GitHubOAuthenticator",
        f"""c.GitHubOAuthenticator.github_url = {forge.url + "/github"!r}
c.GitHubOAuthenticator.client_id = "jupyterhub"
c.GitHubOAuthenticator.client_secret = "forge-secret"
c.GitHubOAuthenticator.scope = ["read:org"]
c.GitHubOAuthenticator.populate_teams_in_auth_state = True
c.GitHubOAuthenticator.allow_all = True
""",
    )
    try:
        alice = oauth_login(Person(hub, "alice"), choose_account=True)
        bob = oauth_login(Person(hub, "bob"), choose_account=True)
        assert groups_of(hub, "alice") == {"myorg-physics", "myorg-data-science", "other-physics"}
        assert groups_of(hub, "bob") == {"other-physics"}
        assert marker(hub, "myorg-physics")["claim"] == "MyOrg:physics"
        # three teams, two per page: oauthenticator followed GitHub's Link header
        assert any("/user/teams" in r and "page=2" in r for r in forge.requests)
        hub.wait_for_sync(lambda: serving(hub, "collab-myorg-physics"), what="the team account")
        assert start_as(alice, "collab-myorg-physics") in STARTED
        assert start_as(bob, "collab-myorg-physics") in REFUSED
        wait_for(lambda: hub.server_ready("collab-myorg-physics"), 60, what="the team server")
        hub.stop_server("collab-myorg-physics")
    finally:
        hub.stop()


def test_gitlab_groups_under_a_prefix_become_teams(
    forge: Forge, tmp_path_factory: pytest.TempPathFactory
) -> None:
    forge.gitlab_groups = {"alice": ["lab", "lab/physics", "lab/chem", "other/x"]}
    hub = forge_hub(
        tmp_path_factory.mktemp("claims-gitlab"),
        claims_pre_config(kind="gitlab", path_rule="prefix", path_prefix="lab"),
        "oauthenticator.gitlab.GitLabOAuthenticator",
        f"""from jupyterhub_teams.sources.claims import gitlab_groups_hook
c.GitLabOAuthenticator.gitlab_url = {forge.url + "/gitlab"!r}
c.GitLabOAuthenticator.client_id = "jupyterhub"
c.GitLabOAuthenticator.client_secret = "forge-secret"
c.GitLabOAuthenticator.scope = ["read_user", "read_api"]
c.GitLabOAuthenticator.modify_auth_state_hook = gitlab_groups_hook
c.GitLabOAuthenticator.allow_all = True
""",
    )
    try:
        alice = oauth_login(Person(hub, "alice"), choose_account=True)
        # "lab" itself and "other/x" are not below the prefix: no team, nothing refused
        assert groups_of(hub, "alice") == {"physics", "chem"}
        assert marker(hub, "physics")["claim"] == "lab/physics"
        assert any("/api/v4/groups" in r and "page=2" in r for r in forge.requests)
        hub.wait_for_sync(lambda: serving(hub, "collab-chem"), what="the chem team account")
        assert start_as(alice, "collab-chem") in STARTED
        wait_for(lambda: hub.server_ready("collab-chem"), 60, what="the chem team server")
        hub.stop_server("collab-chem")
    finally:
        hub.stop()
