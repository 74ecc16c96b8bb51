"""The sync's guards hold on a real hub: against logins, against teams anyone can create, against
an emptied directory file, and against a group whose name collides with a team's own group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .harness import Hub, Person, consent_or_lab, wait_for

PEOPLE = ["alice", "bob", "carol", "dave", "erin"]
EVERYONE = {"members": PEOPLE}
# one sync every two seconds: each guard is seen holding over several syncs
SYNC_INTERVAL = 2


def write_directory(path: Path, groups: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump({"users": {p: {} for p in PEOPLE}, "groups": groups}))


def members(hub: Hub, team: str) -> list[str]:
    return sorted((hub.group(team) or {}).get("users", []))


def retired(hub: Hub, team: str) -> bool:
    marker = ((hub.group(team) or {}).get("properties") or {}).get("jupyterhub_teams", {})
    return bool(marker.get("retired"))


def syncs_seen(hub: Hub, line: str, count: int) -> None:
    wait_for(
        lambda: hub.log_text().count(line) >= count,
        timeout=SYNC_INTERVAL * count + 30,
        what=f"{count} sync(s) logging {line!r}",
    )


def start_team_server(hub: Hub, account: str) -> None:
    assert hub.api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what=f"the server of {account}")


def custom_hub(state_dir: Path, groups: dict[str, Any], pre_config: str = "") -> Hub:
    directory = state_dir / "directory.yaml"
    state_dir.mkdir(parents=True, exist_ok=True)
    write_directory(directory, groups)
    hub = Hub(state_dir, directory=directory, sync_interval=SYNC_INTERVAL, pre_config=pre_config)
    hub.start()
    try:
        for team, wanted in groups.items():
            hub.wait_for_sync(
                lambda team=team, wanted=wanted: members(hub, team) == sorted(wanted["members"]),
                what=f"the team {team} with its members",
            )
    except BaseException:
        hub.stop()
        raise
    return hub


def test_a_login_never_removes_what_the_large_removal_guard_holds(tmp_path: Path) -> None:
    teams = {"physics": EVERYONE, "chemistry": EVERYONE, "biology": EVERYONE}
    hub = custom_hub(tmp_path / "hub", teams)
    try:
        start_team_server(hub, "collab-physics")
        write_directory(hub.directory, {})  # 15 memberships and 3 teams gone at once
        hold = "holding back 15 membership removal(s) and 3 retirement(s)"
        syncs_seen(hub, hold, 1)

        alice = Person(hub, "alice").logged_in()
        assert {t: "alice" in members(hub, t) for t in teams} == dict.fromkeys(teams, True)
        assert consent_or_lab(alice.open("/user/collab-physics/lab"))
        assert alice.server_api("collab-physics", "GET", "api/status").status_code == 200
        # the background sync keeps holding, and nothing has been taken away since
        syncs_seen(hub, hold, hub.log_text().count(hold) + 2)
        assert all(members(hub, t) == PEOPLE and not retired(hub, t) for t in teams)
        assert "login of alice: joined" not in hub.log_text()
        alice.close()
        hub.stop_server("collab-physics")
    finally:
        hub.stop()


def create_adhoc_team(person: Person, name: str) -> httpx.Response:
    """Create a team on the Teams page's JSON endpoint, as the page's script does."""
    if person.cookie("_xsrf", "/hub/") is None:
        person.http.get("/hub/home")
    headers = {"X-XSRFToken": person.cookie("_xsrf", "/hub/teams/api/teams") or ""}
    return person.http.post("/hub/teams/api/teams", json={"name": name}, headers=headers)


def test_teams_a_person_creates_do_not_dilute_the_large_removal_guard(tmp_path: Path) -> None:
    """Dropping three of four directory teams (15 memberships and 3 teams of 16 and 4) must be
    held however many teams people create. The fourth, kept group makes sure it is the share of
    the directory's own teams that holds the plan, not the rule that a plan retiring every
    directory team is always held."""
    teams = {
        "physics": EVERYONE,
        "chemistry": EVERYONE,
        "biology": EVERYONE,
        "gpu-users": {"members": ["erin"]},
    }
    limits = (
        "c.JupyterHubTeams.adhoc_teams_per_person = 50\n"
        "c.JupyterHubTeams.adhoc_teams_per_hour = 50\n"
    )
    hub = custom_hub(tmp_path / "hub", teams, pre_config=limits)
    try:
        start_team_server(hub, "collab-physics")
        dave = Person(hub, "dave").logged_in()
        for i in range(18):
            created = create_adhoc_team(dave, f"reading group {i}")
            assert created.status_code in (200, 201), created.text
        made_in_hub = [
            g
            for g in hub.api("GET", "groups", params={"limit": 1000}).json()
            if (g.get("properties") or {}).get("jupyterhub_teams", {}).get("origin") == "hub"
        ]
        assert len(made_in_hub) == 18

        write_directory(hub.directory, {"gpu-users": {"members": ["erin"]}})
        hold = "holding back 15 membership removal(s) and 3 retirement(s)"
        syncs_seen(hub, hold, 3)
        for team in ("physics", "chemistry", "biology"):
            assert members(hub, team) == PEOPLE and not retired(hub, team)
        assert hub.server_ready("collab-physics")
        dave.close()
        hub.stop_server("collab-physics")
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = Hub(tmp_path_factory.mktemp("guards"), sync_interval=SYNC_INTERVAL)
    with hub.synced("physics"):
        yield hub


def test_an_emptied_directory_file_is_unavailable_and_retires_nothing(demo_hub: Hub) -> None:
    hub = demo_hub
    before = {team: members(hub, team) for team in ("physics", "chemistry", "gpu-users")}
    good = hub.directory.read_text()
    hub.directory.write_bytes(b"")  # what a truncating writer leaves for a moment, or for good
    try:
        empty = "YAML directory directory.yaml is empty"
        syncs_seen(hub, empty, 3)
        line = next(line for line in hub.log_text().splitlines() if empty in line)
        assert "nothing was changed" in line and "groups: {}" in line
        assert {team: members(hub, team) for team in before} == before
        assert not any(retired(hub, team) for team in before)
        # a login meanwhile keeps the teams too
        bob = Person(hub, "bob").logged_in()
        assert "bob" in members(hub, "physics")
        bob.close()
    finally:
        hub.directory.write_text(good)


def test_a_colliding_group_is_refused_alone_and_its_team_keeps_syncing(demo_hub: Hub) -> None:
    hub = demo_hub
    data = yaml.safe_load(hub.directory.read_text())
    data["groups"]["physics"]["members"] = ["alice"]  # bob leaves physics
    data["groups"]["Physics"] = {"members": ["dave"]}  # and a group of the same team name
    hub.directory.write_text(yaml.safe_dump(data))

    hub.wait_for_sync(lambda: members(hub, "physics") == ["alice"], what="bob to leave physics")
    refusal = (
        "group 'Physics' refused: its team name 'physics' belongs to the group 'physics', which "
        "is already that team's source"
    )
    wait_for(lambda: refusal in hub.log_text(), 10, what="the refusal in the service's log")
    assert "group 'physics' refused" not in hub.log_text()
    # dave's login does not let him in through the refused group either
    dave = Person(hub, "dave").logged_in()
    assert members(hub, "physics") == ["alice"]
    assert dave.open("/user/collab-physics/lab").status_code in (403, 404)
    dave.close()
