"""A person removed from a team loses its gid and directory in their own running server too.

End to end, as root, with real system users: a real hub with POSIX identity on, real
``PosixLocalProcessSpawner`` processes holding the team's gid as a supplementary group, the
real sync service reading a YAML directory that the tests edit. What the kernel gives a
process is read from ``/proc``; what the hub did is read through its REST API and its log.

Without the enforcer (``removed_member_grace = "never"``, as every version before it), alice's
server keeps physics' gid after she leaves: :func:`test_never_keeps_the_old_behaviour` shows
it, and :func:`test_a_removed_member_s_server_is_stopped_and_restarts_without_the_team` fails.
"""

from __future__ import annotations

import datetime
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .harness import Hub, Person, set_members, wait_for
from .test_posix import server_process, start, supplementary_groups, world

__all__ = ["world"]  # the module's fixture: system users' world (homes, venv), shared

PHYSICS_GID, CHEMISTRY_GID = 48001, 48002
# uids and gids in test_posix's reserved ranges, names among those it removes
DIRECTORY = {
    "users": {"alice": {"uid": 47001}, "bob": {"uid": 47002}, "carol": {"uid": 47004}},
    "groups": {
        "physics": {"gid": PHYSICS_GID, "members": ["alice", "bob"]},
        "chemistry": {"gid": CHEMISTRY_GID, "members": ["carol"]},
    },
}
# long enough for a re-addition through the directory (two syncs) to land inside it
GRACE = 30
CHECK_INTERVAL = 1


def leavers_hub(world: Path, state_dir: Path, grace: object) -> Hub:
    state_dir.mkdir(parents=True, exist_ok=True)
    directory = state_dir / "directory.yaml"
    directory.write_text(yaml.safe_dump(DIRECTORY))
    bin_dir = world / "venv" / "bin"
    return Hub(
        state_dir,
        directory=directory,
        sync_interval=2,
        pre_config=f"""
        c.PosixIdentity.enabled = True
        c.PosixIdentity.uid_range = [47100, 47899]
        c.PosixIdentity.gid_range = [48100, 48899]
        c.PosixIdentity.home_root = {str(world / "home")!r}
        c.PosixIdentity.team_directory_root = {str(world / "teams")!r}
        c.PosixIdentity.removed_member_grace = {grace!r}
        c.PosixIdentity.removed_member_check_interval = {CHECK_INTERVAL}
        """,
        extra_config=textwrap.dedent(
            f"""
            c.JupyterHub.spawner_class = "jupyterhub_teams.posix.PosixLocalProcessSpawner"
            c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
            c.Spawner.args = []
            c.Spawner.default_url = "/tree"
            # servers outlive a restart of the hub (the enforcer's restart is tested)
            c.JupyterHub.cleanup_servers = False
            """
        ),
    )


@pytest.fixture(scope="module")
def hub(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = leavers_hub(world, tmp_path_factory.mktemp("leavers-hub"), GRACE).start()
    try:
        running.wait_for_sync(lambda: running.group("physics"), what="the first sync")
        yield running
    finally:
        running.stop()


def members(hub: Hub, team: str) -> set[str]:
    group = hub.group(team)
    return set(group["users"]) if group else set()


def leave(hub: Hub, team: str, person: str) -> None:
    """Take ``person`` out of ``team`` in the directory; returns once the hub has them out."""
    left = [m for m in DIRECTORY["groups"][team]["members"] if m != person]  # type: ignore[index]
    set_members(hub, team, left)
    hub.wait_for_sync(lambda: person not in members(hub, team), what=f"{person} out of {team}")


def rejoin(hub: Hub, team: str) -> None:
    set_members(hub, team, list(DIRECTORY["groups"][team]["members"]))  # type: ignore[index]
    for person in DIRECTORY["groups"][team]["members"]:  # type: ignore[index]
        hub.wait_for_sync(lambda p=person: p in members(hub, team), what=f"{person} in {team}")


def noticed(hub: Hub, person: str, team: str) -> str | None:
    """When the hub's enforcer logged first seeing ``person`` outside ``team``, if it did."""
    found = re.findall(rf"{person} left {team} at ([0-9: -]+ UTC); their server", hub.log_text())
    return found[-1] if found else None


def stop_reason(hub: Hub, person: str) -> str | None:
    found = re.findall(rf"stopped {person}'s server: .*", hub.log_text())
    return found[-1] if found else None


def home_page(hub: Hub, person: str) -> str:
    session = Person(hub, person).logged_in()
    try:
        page = session.open("/hub/home")
        assert page.status_code == 200, page.status_code
        return page.text
    finally:
        session.close()


def pid_of(hub: Hub, person: str) -> int:
    return server_process(hub, person).pid


def test_a_removed_member_s_server_is_stopped_and_restarts_without_the_team(hub: Hub) -> None:
    start(hub, "alice")
    assert PHYSICS_GID in supplementary_groups(server_process(hub, "alice"))

    leave(hub, "physics", "alice")
    wait_for(lambda: hub.server_stopped("alice"), GRACE + 60, what="alice's server to stop")
    reason = stop_reason(hub, "alice")
    assert reason is not None, hub.log_tail()
    assert f"alice left physics at {noticed(hub, 'alice', 'physics')} (its gid {PHYSICS_GID})" in (
        reason
    )
    assert f"grace {GRACE} s" in reason
    # alice reads why on her home page, until her server is back
    said = "because you are no longer a member of physics"
    assert said in home_page(hub, "alice"), home_page(hub, "alice")

    start(hub, "alice")
    assert PHYSICS_GID not in supplementary_groups(server_process(hub, "alice"))
    wait_for(lambda: said not in home_page(hub, "alice"), 30, what="the notice to go")
    # and she is not stopped again for it: her new server carries no team she left
    rejoin(hub, "physics")


def test_a_member_who_stays_is_not_stopped(hub: Hub) -> None:
    start(hub, "bob")
    # a fresh start of alice's server, now that she is a member again: it carries physics
    hub.stop_server("alice")
    start(hub, "alice")
    assert PHYSICS_GID in supplementary_groups(server_process(hub, "alice"))
    before = pid_of(hub, "bob")
    leave(hub, "physics", "alice")
    wait_for(lambda: hub.server_stopped("alice"), GRACE + 60, what="alice's server to stop")
    # bob's server is the very process that started with the team, gid and all
    assert pid_of(hub, "bob") == before
    assert PHYSICS_GID in supplementary_groups(server_process(hub, "bob"))
    assert stop_reason(hub, "bob") is None
    rejoin(hub, "physics")


def test_a_member_re_added_within_the_grace_is_not_stopped(hub: Hub) -> None:
    start(hub, "bob")
    before = pid_of(hub, "bob")
    leave(hub, "physics", "bob")
    wait_for(lambda: noticed(hub, "bob", "physics"), 30, what="the hub to notice bob left")
    rejoin(hub, "physics")
    wait_for(
        lambda: "bob is a member of physics again" in hub.log_text(),
        30,
        what="the hub to notice bob is back",
    )
    # past the grace, counted from the notice, and a few checks more: still the same server
    wait_for(
        lambda: _seconds_since_notice(hub, "bob", "physics") > GRACE + 5 * CHECK_INTERVAL,
        GRACE + 60,
        what="the grace to pass",
    )
    assert hub.server_ready("bob")
    assert pid_of(hub, "bob") == before
    assert PHYSICS_GID in supplementary_groups(server_process(hub, "bob"))
    assert stop_reason(hub, "bob") is None


def _seconds_since_notice(hub: Hub, person: str, team: str) -> float:
    at = noticed(hub, person, team)
    assert at is not None
    moment = datetime.datetime.strptime(at, "%Y-%m-%d %H:%M:%S UTC").replace(
        tzinfo=datetime.timezone.utc
    )
    return (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()


def test_a_departure_noticed_before_a_restart_of_the_hub_is_enforced_after_it(hub: Hub) -> None:
    start(hub, "carol")
    assert CHEMISTRY_GID in supplementary_groups(server_process(hub, "carol"))
    leave(hub, "chemistry", "carol")
    wait_for(lambda: noticed(hub, "carol", "chemistry"), 30, what="the hub to notice carol left")
    first_notice = noticed(hub, "carol", "chemistry")
    # the hub alone is stopped: carol's server keeps running (cleanup_servers is off)
    assert hub.process is not None
    pid = pid_of(hub, "carol")
    hub._remember_descendants()
    hub.process.terminate()
    hub.process.wait(timeout=30)
    hub.process = None
    assert Path(f"/proc/{pid}").exists(), "carol's server stopped with the hub"
    hub.start()
    wait_for(lambda: hub.server_stopped("carol"), GRACE + 60, what="carol's server to stop")
    reason = stop_reason(hub, "carol")
    assert reason is not None, hub.log_tail()
    # the grace was counted from the notice before the restart, which was not forgotten
    assert f"carol left chemistry at {first_notice}" in reason
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, what="carol's old process to end")
    rejoin(hub, "chemistry")


def test_never_keeps_the_old_behaviour(
    world: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With ``removed_member_grace = "never"`` the hub does what it did before: a removed
    member's running server keeps the team's gid (the hole the enforcer closes)."""
    old = leavers_hub(world, tmp_path_factory.mktemp("leavers-never"), "never").start()
    try:
        old.wait_for_sync(lambda: old.group("physics"), what="the first sync")
        start(old, "alice")
        pid = pid_of(old, "alice")
        leave(old, "physics", "alice")
        assert "removed_member_grace is 'never'" in old.log_text()
        # many checks' worth of time later, nothing has stopped her server
        time.sleep(10 * CHECK_INTERVAL)
        assert noticed(old, "alice", "physics") is None
        assert pid_of(old, "alice") == pid
        assert PHYSICS_GID in supplementary_groups(server_process(old, "alice"))
    finally:
        old.stop()
