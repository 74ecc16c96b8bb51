"""Authorization matrix on the demo directory, through the real hub, proxy and servers."""

from __future__ import annotations

import pytest

from .harness import Hub, Person, consent_or_lab, wait_for

TEAMS = {
    "physics": {"alice", "bob"},
    "chemistry": {"alice", "carol"},
    "gpu-users": {"erin"},
}
PEOPLE = ("alice", "bob", "carol", "dave", "erin")
# The hub answers 404 rather than 403 to someone who may not even see the account (it does not
# reveal which accounts exist); both are refusals.
REFUSED = (403, 404)


def start_as(person: Person, account: str) -> int:
    return person.hub_api("POST", f"users/{account}/server").status_code


def stop_as(person: Person, account: str) -> int:
    return person.hub_api("DELETE", f"users/{account}/server").status_code


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_members_open_start_stop_and_nobody_else(
    demo_hub: Hub, people: dict[str, Person], team: str
) -> None:
    account = f"collab-{team}"
    members = sorted(TEAMS[team])
    outsiders = [p for p in PEOPLE if p not in TEAMS[team]]

    # outsiders can neither start it...
    for name in outsiders:
        assert start_as(people[name], account) in REFUSED, f"{name} started {account}"
    # ...a member can
    first = people[members[0]]
    assert start_as(first, account) in (201, 202)
    wait_for(lambda: demo_hub.server_ready(account), 60, what=f"{account} to start")

    for name in PEOPLE:
        response = people[name].open(f"/user/{account}/lab")
        if name in TEAMS[team]:
            assert consent_or_lab(response), (
                f"{name} could not open {account}: {response.status_code}"
            )
            # a member opens the team's server as their own: no "Authorize access" page
            assert not [u for u in people[name].consent_pages if account in u], name
            me = people[name].server_api(account, "GET", "api/me").json()
            # each member appears under their own name, not the team account's
            assert me["identity"]["username"] == name
        else:
            assert response.status_code == 403, f"{name} opened {account}: {response.status_code}"
            assert people[name].server_api(account, "GET", "api/status").status_code in (302, 403)

    # outsiders cannot stop it
    for name in outsiders:
        assert stop_as(people[name], account) in REFUSED, f"{name} stopped {account}"
    assert demo_hub.server_ready(account)

    # every member can stop it and start it again
    for name in members:
        assert stop_as(people[name], account) in (202, 204), f"{name} could not stop {account}"
        wait_for(lambda: demo_hub.server_stopped(account), 60, what=f"{account} to stop")
        assert start_as(people[name], account) in (201, 202), f"{name} could not start {account}"
        wait_for(lambda: demo_hub.server_ready(account), 60, what=f"{account} to start")
    demo_hub.stop_server(account)


def test_dave_reaches_no_team_server(demo_hub: Hub, people: dict[str, Person]) -> None:
    dave = people["dave"]
    for team in TEAMS:
        assert start_as(dave, f"collab-{team}") in REFUSED


def test_nobody_logs_in_as_a_team_account(demo_hub: Hub) -> None:
    intruder = Person(demo_hub, "collab-physics")
    response = intruder.login()
    assert response.status_code == 403
    assert "reserved for team accounts" in response.text
    intruder.close()


def test_servers_start_when_the_hub_answers_the_spawn_request_at_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """z2jh sets ``slow_spawn_timeout = 0``: the hub answers 202 at the spawn's first pause and
    rolls back what the spawn has not committed yet. A hook of ours that paused there (an
    ``async`` ``server_token_scopes``) left every server, team or not, never ready."""
    z2jh_setting = '\nc.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}\n'
    hub = Hub(tmp_path_factory.mktemp("instant-202"), extra_config=z2jh_setting)
    with hub.synced("physics") as running:
        bob = Person(running, "bob").logged_in()
        try:
            for account in ("collab-physics", "bob"):
                assert start_as(bob, account) == 202
                wait_for(lambda a=account: running.server_ready(a), 30, what=f"{account} ready")
        finally:
            bob.close()
        assert "Rolling back dirty objects" not in running.log_text()
