"""The sync service under interruption, and the plan / sync / audit commands, on a real hub."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from .harness import Hub, Person, wait_for

PEOPLE = [f"person{i:03d}" for i in range(60)]
GROUPS = {f"group-{g:03d}": [PEOPLE[(g * 7 + k) % 60] for k in range(3)] for g in range(150)}


def cli(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": hub.admin_token,
    }
    return subprocess.run(
        [sys.executable, "-m", "jupyterhub_teams", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def plan_is_empty(hub: Hub) -> bool:
    result = cli(hub, "plan", "--directory", str(hub.directory), "--json")
    plan = json.loads(result.stdout)
    assert plan["refusals"] == [] and plan["error"] is None, result.stdout
    return not plan["actions"]


def service_process(hub: Hub) -> psutil.Process | None:
    assert hub.process is not None
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            if "jupyterhub_teams" in child.cmdline() and "service" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def team_groups(hub: Hub) -> dict[str, list[str]]:
    r = hub.api("GET", "groups", params={"limit": 1000})
    return {g["name"]: sorted(g["users"]) for g in r.json() if g["name"].startswith("group-")}


@pytest.fixture(scope="module")
def big_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state = tmp_path_factory.mktemp("big")
    directory = state / "directory.yaml"
    directory.write_text(yaml.safe_dump({"groups": {g: {"members": m} for g, m in GROUPS.items()}}))
    hub = Hub(state, directory=directory, sync_interval=3)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def test_killing_the_service_mid_sync_converges(big_hub: Hub) -> None:
    wait_for(lambda: len(team_groups(big_hub)) >= 5, 60, interval=0.05, what="a sync in progress")
    victim = service_process(big_hub)
    assert victim is not None
    done_before_kill = len(team_groups(big_hub))
    victim.send_signal(signal.SIGKILL)
    assert done_before_kill < len(GROUPS), "the sync finished before it could be interrupted"
    # the hub restarts its managed service; the next syncs finish the job
    wait_for(
        lambda: team_groups(big_hub) == {g: sorted(m) for g, m in GROUPS.items()},
        timeout=180,
        interval=1,
        what="every group with its members after the restart",
    )
    wait_for(lambda: service_process(big_hub) not in (None, victim), 30, what="a new service")
    wait_for(lambda: plan_is_empty(big_hub), timeout=120, interval=2, what="an empty plan")


def test_hub_killed_mid_sync_converges_after_restart(tmp_path: Path) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(yaml.safe_dump({"groups": {g: {"members": m} for g, m in GROUPS.items()}}))
    hub = Hub(tmp_path, directory=directory, sync_interval=3)
    hub.start()
    try:
        wait_for(lambda: len(team_groups(hub)) >= 5, 60, interval=0.05, what="a sync in progress")
        hub.stop(graceful=False)  # SIGKILL: no cleanup, mid-write
        hub.start()
        wait_for(
            lambda: team_groups(hub) == {g: sorted(m) for g, m in GROUPS.items()},
            timeout=180,
            interval=1,
            what="convergence after the restart",
        )
        wait_for(lambda: plan_is_empty(hub), timeout=120, interval=2, what="an empty plan")
        shares = hub.api("GET", "shares/collab-group-149/").json()["items"]
        assert [s["group"]["name"] for s in shares] == ["group-149"]
    finally:
        hub.stop()


def test_plan_sync_audit_commands(big_hub: Hub, tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    groups = {g: {"members": m} for g, m in GROUPS.items()}
    groups["group-000"] = {"members": [*GROUPS["group-000"], "newcomer"]}
    edited.write_text(yaml.safe_dump({"groups": groups}))

    human = cli(big_hub, "plan", "--directory", str(edited))
    assert human.returncode == 0, human.stderr
    assert "create 1 user(s): newcomer" in human.stdout
    assert "add newcomer to group group-000" in human.stdout
    planned = json.loads(cli(big_hub, "plan", "--directory", str(edited), "--json").stdout)
    assert [a["action"] for a in planned["actions"]] == ["create-users", "add-members"]
    # plan changed nothing
    assert "newcomer" not in team_groups(big_hub)["group-000"]

    # the hub's own configuration file gives the same plan as the directory flag
    from_config = cli(
        big_hub, "plan", "--config", str(big_hub.state_dir / "jupyterhub_config.py"), "--json"
    )
    assert from_config.returncode == 0, from_config.stderr
    assert json.loads(from_config.stdout)["actions"] == []

    bad = tmp_path / "bad.yaml"
    bad.write_text("groups: [unclosed\n")
    broken = cli(big_hub, "plan", "--directory", str(bad))
    assert broken.returncode == 1
    assert "does not parse" in broken.stderr

    audit = json.loads(cli(big_hub, "audit", "--json").stdout)
    by_team = {entry["team"]: entry for entry in audit}
    entry = by_team["group-001"]
    assert entry["account"] == "collab-group-001"
    assert entry["server_url"] == f"{big_hub.url}/user/collab-group-001/"
    assert entry["members"] == sorted(GROUPS["group-001"])
    assert entry["retired"] is False
    for member in GROUPS["group-001"]:
        assert entry["access"][member] == ["member of team group group-001 (use, start and stop)"]
    assert entry["access"]["admin"] == ["hub admin"]
    text = cli(big_hub, "audit")
    assert "group-001  (collab-group-001, stopped)" in text.stdout
    assert "from directory group 'group-001'" in text.stdout


def test_large_removal_is_held_until_confirmed(big_hub: Hub) -> None:
    """Last in this module: it retires every team of the shared hub."""
    before = team_groups(big_hub)
    assert len(before) == len(GROUPS)
    big_hub.directory.write_text(yaml.safe_dump({"groups": {}}))
    wait_for(lambda: "holding back" in big_hub.log_text(), 30, what="the service to hold back")
    log = big_hub.log_text()
    assert "holding back 450 membership removal(s) and 150 retirement(s)" in log
    # two more intervals: still nothing removed
    wait_for(lambda: big_hub.log_text().count("holding back") >= 3, 30, what="more held syncs")
    assert team_groups(big_hub) == before

    held = json.loads(cli(big_hub, "plan", "--directory", str(big_hub.directory), "--json").stdout)
    assert held["actions"] == [] and len(held["held"]) > 0
    refused = cli(big_hub, "sync", "--directory", str(big_hub.directory))
    assert refused.returncode == 0 and "held: " in refused.stdout
    assert team_groups(big_hub) == before

    confirmed = cli(big_hub, "sync", "--directory", str(big_hub.directory), "--allow-large-removal")
    assert confirmed.returncode == 0, confirmed.stderr
    assert all(members == [] for members in team_groups(big_hub).values())
    retired = big_hub.group("group-042")
    assert retired is not None and retired["properties"]["jupyterhub_teams"]["retired"] is True
    assert big_hub.api("GET", "users/collab-group-042").status_code == 200


def test_a_share_removed_by_hand_comes_back(tmp_path: Path) -> None:
    """The sync trusts a team's marker between checks, but re-reads each share within
    ``share_check_cycles`` syncs: a share revoked behind its back is granted again."""
    hub = Hub(
        tmp_path / "hub",
        sync_interval=1,
        pre_config="c.JupyterHubTeams.share_check_cycles = 3\n",
    ).start()
    try:

        def shared() -> bool:
            r = hub.api("GET", "groups/physics/shared/collab-physics/")
            return r.status_code == 200 and bool(r.json().get("scopes"))

        hub.wait_for_sync(shared, what="the physics share")
        revoked = hub.api("PATCH", "shares/collab-physics/", json={"group": "physics"})
        assert revoked.status_code == 200, revoked.text
        assert not shared()
        started = time.monotonic()
        # three syncs of one second, each reading a third of the shares, plus slack
        wait_for(shared, timeout=30, what="the share to be granted again")
        print(f"share restored after {time.monotonic() - started:.1f} s")
        bob = Person(hub, "bob").logged_in()
        assert bob.hub_api("POST", "users/collab-physics/server").status_code in (201, 202)
        wait_for(lambda: hub.server_ready("collab-physics"), 60, what="the physics server")
        bob.close()
        hub.stop_server("collab-physics")
    finally:
        hub.stop()
