"""Hostile directory names: valid deterministic teams or clear refusals, nothing else affected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from jupyterhub_teams.naming import team_name

from .harness import Hub, Person, consent_or_lab, wait_for

LONG = "Quantum " + "x" * 292  # 300 characters
DIRECTORY = {
    "users": {"collab-x": {}},
    "groups": {
        "Data Science/ML": ["alice"],
        "2024-course": ["bob", "collab-x"],
        "Ünïcode": ["carol"],
        LONG: ["dave"],
        "Physics": ["erin"],
        "physics ": ["erin"],
        "chemistry": ["alice", "carol"],
    },
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state = tmp_path_factory.mktemp("hostile")
    directory = state / "directory.yaml"
    directory.write_text(yaml.safe_dump(DIRECTORY, allow_unicode=True))
    hub = Hub(state, directory=directory, sync_interval=3)
    hub.start()
    try:
        hub.wait_for_sync(lambda: hub.group("chemistry"), what="the first sync")
        yield hub
    finally:
        hub.stop()


def members(hub: Hub, group: str) -> list[str] | None:
    model = hub.group(group)
    return None if model is None else sorted(model["users"])


def test_hostile_group_names_become_valid_teams(hub: Hub) -> None:
    long_team = team_name(LONG)
    assert len(long_team) == 40 and long_team.startswith("quantum-xxx")
    expected = {
        "data-science-ml": ["alice"],
        "2024-course": ["bob"],
        "unicode": ["carol"],
        long_team: ["dave"],
        "chemistry": ["alice", "carol"],
    }
    for team, people in expected.items():
        assert members(hub, team) == people, team
        assert hub.api("GET", f"users/collab-{team}").status_code == 200
    # the two groups that both become "physics" are refused, not merged
    assert hub.group("physics") is None
    assert hub.api("GET", "users/collab-physics").status_code == 404
    # the person under the reserved prefix is refused and created nowhere
    assert hub.api("GET", "users/collab-x").status_code == 404


def test_refusals_are_reported_in_words(hub: Hub) -> None:
    wait_for(lambda: "refused" in hub.log_text(), 30, what="refusals in the service log")
    log = hub.log_text()
    assert (
        "group 'Physics' refused: its team name 'physics' is also the team name of 'physics '"
        in log
    )
    assert "person 'collab-x' refused" in log and "reserved for team accounts" in log
    env = {**os.environ, "JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": hub.admin_token}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterhub_teams",
            "plan",
            "--json",
            "--directory",
            str(hub.directory),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    plan = json.loads(result.stdout)
    assert plan["actions"] == []
    refused = {(r["kind"], r["name"]) for r in plan["refusals"]}
    assert refused == {("group", "Physics"), ("group", "physics "), ("person", "collab-x")}


def test_hostile_named_teams_work_end_to_end(hub: Hub) -> None:
    alice = Person(hub, "alice").logged_in()
    account = "collab-data-science-ml"
    assert alice.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what=f"{account} to start")
    assert consent_or_lab(alice.open(f"/user/{account}/lab"))
    bob = Person(hub, "bob").logged_in()
    assert bob.open(f"/user/{account}/lab").status_code == 403
    hub.stop_server(account)
