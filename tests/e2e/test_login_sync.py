"""A login brings the person's team memberships up to date before its redirect completes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import yaml

from .harness import Hub, Person, consent_or_lab, teams_api, wait_for


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # a background sync only at start: whatever changes later is the login's doing
    hub = Hub(tmp_path_factory.mktemp("login"), sync_interval=3600)
    hub.start()
    try:
        hub.wait_for_sync(lambda: hub.group("physics"), what="the first sync", intervals=0)
        yield hub
    finally:
        hub.stop()


def set_members(hub: Hub, group: str, members: list[str]) -> None:
    data = yaml.safe_load(hub.directory.read_text())
    data["groups"][group]["members"] = members
    hub.directory.write_text(yaml.safe_dump(data))


def physics(hub: Hub) -> list[str]:
    return sorted((hub.group("physics") or {}).get("users", []))


def sync_now(hub: Hub) -> subprocess.CompletedProcess[str]:
    """One sync from the command line, as an admin would run it (the service waits an hour)."""
    env = {**os.environ, "JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.admin_token}
    command = [sys.executable, "-m", "jupyterhub_teams", "sync", "--directory", str(hub.directory)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_login_applies_additions_at_once_and_leaves_removals_to_the_sync(hub: Hub) -> None:
    account = "collab-physics"
    assert hub.api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what="the physics server")
    set_members(hub, "physics", ["alice", "dave"])
    assert physics(hub) == ["alice", "bob"]  # nobody logged in yet: nothing changed

    dave = Person(hub, "dave").logged_in()
    assert physics(hub) == ["alice", "bob", "dave"]
    assert consent_or_lab(dave.open(f"/user/{account}/lab"))
    assert "login of dave: joined ['physics'], left none" in hub.log_text()
    # and each change, as an action, in the hub's own log (what `audit` and admins read)
    assert "login of dave: add dave to group physics" in hub.log_text()

    # leaving is the background sync's job, under its large-removal guard
    bob = Person(hub, "bob").logged_in()
    assert physics(hub) == ["alice", "bob", "dave"]
    synced = sync_now(hub)
    assert synced.returncode == 0, synced.stderr
    assert physics(hub) == ["alice", "dave"]
    assert bob.open(f"/user/{account}/lab").status_code == 403
    hub.stop_server(account)


def test_a_broken_directory_never_breaks_a_login(hub: Hub) -> None:
    before = {g: sorted(hub.group(g)["users"]) for g in ("physics", "chemistry")}  # type: ignore[index]
    good = hub.directory.read_text()
    hub.directory.write_text("groups: [this is not: valid")
    try:
        carol = Person(hub, "carol")
        assert carol.login().status_code == 302
        assert "login of carol: the directory could not be read" in hub.log_text()
        assert {g: sorted(hub.group(g)["users"]) for g in before} == before  # type: ignore[index]
    finally:
        hub.directory.write_text(good)


MANAGED_GROUPS = """
from jupyterhub_teams.demo.auth import DemoAuthenticator


class ManagedGroupsAuthenticator(DemoAuthenticator):
    # an identity provider that knows one group, "staff", at every login and refresh
    async def authenticate(self, handler, data):
        name = await super().authenticate(handler, data)
        return {"name": name, "groups": ["staff"]} if name else None

    async def refresh_user(self, user, handler=None, **kwargs):
        return {"name": user.name, "groups": ["staff"]}


c.JupyterHub.authenticator_class = ManagedGroupsAuthenticator
c.Authenticator.manage_groups = True
c.Authenticator.auth_refresh_age = 1
"""


def test_an_authenticator_managing_groups_never_takes_anyone_out_of_a_team(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With ``manage_groups``, the hub sets a person's groups to the provider's list at each
    login and at each refresh; the person's teams (directory and hub-made) stay."""
    hub = Hub(tmp_path_factory.mktemp("managed"), sync_interval=3600, extra_config=MANAGED_GROUPS)
    with hub.synced("physics"):
        alice = Person(hub, "alice").logged_in()
        try:
            made = teams_api(alice, "POST", "", json={"name": "reading-club"})
            assert made.status_code in (200, 201), made.text
            teams = {"physics", "chemistry", "adhoc-reading-club"}
            assert set(hub.user("alice")["groups"]) == teams | {"staff"}
            again = Person(hub, "alice").logged_in()  # a login applies the provider's list
            again.close()
            assert set(hub.user("alice")["groups"]) == teams | {"staff"}
            time.sleep(1.5)  # older than auth_refresh_age: the next request refreshes
            assert alice.open("/hub/home").status_code == 200
            wait_for(lambda: "Refreshing auth for alice" in hub.log_text(), 10, what="a refresh")
            assert set(hub.user("alice")["groups"]) == teams | {"staff"}
        finally:
            alice.close()
