"""The background sync asks GitHub (and GitLab) who is in a claim team, end to end: a real hub
with the sync service, the real GitHubOAuthenticator / GitLabOAuthenticator logging people in
against the loopback fake of both providers (tests/e2e/forge_fake.py), which also serves the
team member lists the sync asks for with an admin's token.

Nobody logs in after the provider's change: the sync alone takes people out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .forge_fake import Forge
from .harness import Hub, Person, consent_or_lab, start_as, wait_for
from .test_claims import claims_pre_config, forge_hub, members, oauth_login, serving

ACCOUNT = "collab-myorg-physics"


@pytest.fixture
def forge() -> Iterator[Forge]:
    fake = Forge().start()
    try:
        yield fake
    finally:
        fake.stop()


def token_file(forge: Forge, directory: Path) -> tuple[Path, str]:
    token = forge.issue_token("org-admin")
    path = directory / "provider-token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path, token


def member_list_requests(forge: Forge, fragment: str) -> int:
    return sum(1 for line in forge.requests if fragment in line)


def wait_for_asks(hub: Hub, forge: Forge, fragment: str, count: int = 2) -> None:
    """Wait until the sync has asked for the team's members ``count`` more times (each ask is
    one sync: the one after the change, and one more that would have acted on it)."""
    before = member_list_requests(forge, fragment)
    hub.wait_for_sync(
        lambda: member_list_requests(forge, fragment) >= before + count,
        what=f"{count} more syncs asking for {fragment}",
        intervals=3 * count,
    )


def test_the_sync_removes_people_github_no_longer_lists(
    forge: Forge, tmp_path_factory: pytest.TempPathFactory
) -> None:
    state = tmp_path_factory.mktemp("claim-provider-github")
    path, token = token_file(forge, state)
    forge.github_teams = {"alice": [("myorg", "physics")], "bob": [("myorg", "physics")]}
    hub = forge_hub(
        state / "hub",
        claims_pre_config(
            kind="github",
            provider_token_file=str(path),
            provider_api_url=forge.url + "/github/api/v3",
        ),
        "oauthenticator.github.GitHubOAuthenticator",
        f"""c.GitHubOAuthenticator.github_url = {forge.url + "/github"!r}
c.GitHubOAuthenticator.client_id = "jupyterhub"
c.GitHubOAuthenticator.client_secret = "forge-secret"
c.GitHubOAuthenticator.scope = ["read:org"]
c.GitHubOAuthenticator.populate_teams_in_auth_state = True
c.GitHubOAuthenticator.allow_all = True
""",
    )
    asked = "/orgs/myorg/teams/physics/members"
    try:
        alice = oauth_login(Person(hub, "alice"), choose_account=True)
        bob = oauth_login(Person(hub, "bob"), choose_account=True)
        assert members(hub, "myorg-physics") == {"alice", "bob"}
        hub.wait_for_sync(lambda: serving(hub, ACCOUNT), what="the physics team account")
        start_as(alice, hub, ACCOUNT)
        assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
        assert consent_or_lab(bob.open(f"/user/{ACCOUNT}/lab"))
        assert bob.server_api(ACCOUNT, "GET", "api/status").status_code == 200
        # the sync asks with the admin's token, and both are listed: nobody removed
        wait_for_asks(hub, forge, asked)
        assert members(hub, "myorg-physics") == {"alice", "bob"}

        # an admin takes bob out of the team at GitHub; nobody logs in
        forge.set_github_team("myorg", "physics", ["alice", "carol"])
        hub.wait_for_sync(
            lambda: members(hub, "myorg-physics") == {"alice"}, what="bob leaving the team"
        )
        wait_for(
            lambda: bob.server_api(ACCOUNT, "GET", "api/status").status_code in (302, 403),
            30,
            interval=0.5,
            what="bob's open session on the team server to be refused",
        )
        assert bob.open(f"/user/{ACCOUNT}/lab").status_code == 403
        assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
        # carol is listed at GitHub but never logged in: no account is made for her
        assert hub.api("GET", "users/carol").status_code == 404
        assert "the provider no longer lists bob in claim team 'myorg-physics'" in hub.log_text()

        # the team list failing (500, then 404) is unknown: nobody is removed, although a
        # real answer now would remove alice
        forge.set_github_team("myorg", "physics", ["carol"])
        for status in (500, 404):
            forge.failing["myorg:physics"] = status
            wait_for_asks(hub, forge, asked)
            assert members(hub, "myorg-physics") == {"alice"}
            assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
            assert f"no answer about claim team 'myorg:physics' (HTTP {status}" in hub.log_text()
        forge.failing.clear()
        forge.set_github_team("myorg", "physics", ["alice"])
        wait_for_asks(hub, forge, asked)
        assert members(hub, "myorg-physics") == {"alice"}
        assert "the provider answers about claim team 'myorg:physics' again" in hub.log_text()

        # the token never reaches a log (the service logs into the hub's log, as asserted above)
        assert token not in hub.log_text()
        hub.stop_server(ACCOUNT)
    finally:
        hub.stop()


def test_the_sync_removes_people_gitlab_no_longer_lists(
    forge: Forge, tmp_path_factory: pytest.TempPathFactory
) -> None:
    state = tmp_path_factory.mktemp("claim-provider-gitlab")
    path, token = token_file(forge, state)
    forge.gitlab_groups = {"alice": ["lab/physics"], "bob": ["lab/physics"]}
    hub = forge_hub(
        state / "hub",
        claims_pre_config(
            kind="gitlab",
            provider_token_file=str(path),
            provider_api_url=forge.url + "/gitlab/api/v4",
        ),
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
        oauth_login(Person(hub, "alice"), choose_account=True)
        oauth_login(Person(hub, "bob"), choose_account=True)
        assert members(hub, "lab-physics") == {"alice", "bob"}
        hub.wait_for_sync(lambda: serving(hub, "collab-lab-physics"), what="the team account")
        forge.gitlab_groups["bob"] = []  # bob left the group at GitLab; nobody logs in
        hub.wait_for_sync(
            lambda: members(hub, "lab-physics") == {"alice"}, what="bob leaving the team"
        )
        assert any("/groups/lab%2Fphysics/members/all" in r for r in forge.requests)
        assert token not in hub.log_text()
    finally:
        hub.stop()
