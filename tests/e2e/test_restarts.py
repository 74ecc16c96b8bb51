"""The hub killed (SIGKILL) in the middle of a sync, the sync service killed in the middle of
applying a plan, and 50 logins at once during a sync: afterwards the hub converges on the
directory with no membership lost, no share made twice, no team account without its team, and
the large-removal guard never holding back a removal that nobody asked for."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
import yaml

from .harness import Hub, Person, wait_for

PEOPLE = [f"p{i:02d}" for i in range(1, 61)]


def directory(groups: int, seed: int) -> dict[str, Any]:
    """``groups`` groups of 20 over 60 people for each seed up to ``seed`` (each test adds
    groups to the previous test's, so that nothing is removed), and physics."""
    data = yaml.safe_load(
        "users: {alice: {}, bob: {}, carol: {}, dave: {}, erin: {}}\ngroups: {}\n"
    )
    for i, name in enumerate(PEOPLE):
        data["users"][name] = {"uid": 5000 + i}
    for s in range(1, seed + 1):
        rng = random.Random(s)
        for g in range(groups):
            members = sorted(rng.sample(PEOPLE, 20))
            data["groups"][f"group-{s}-{g:02d}"] = {"gid": 7000 + s * 100 + g, "members": members}
    data["groups"]["physics"] = {"gid": 3001, "members": ["alice", "bob"]}
    return data


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    running = Hub(tmp_path_factory.mktemp("restarts"), sync_interval=2)
    with running.synced("physics"):
        yield running


def wanted(hub: Hub) -> dict[str, set[str]]:
    data = yaml.safe_load(hub.directory.read_text())
    return {name: set(group["members"]) for name, group in data["groups"].items()}


def converged(hub: Hub) -> bool:
    for team, members in wanted(hub).items():
        group = hub.group(team)
        if group is None or set(group["users"]) != members:
            return False
        shared = hub.api("GET", f"shares/collab-{team}/").json()["items"]
        if not shared:
            return False
    return True


def assert_consistent(hub: Hub) -> None:
    """No share twice, no team account without its team, no removal held back."""
    teams = wanted(hub)
    users = []
    offset = 0
    while True:
        page = hub.api("GET", "users", params={"offset": offset, "limit": 200}).json()
        users += [u["name"] for u in page]
        if len(page) < 200:
            break
        offset += 200
    accounts = {u for u in users if u.startswith("collab-")}
    assert {f"collab-{t}" for t in teams} <= accounts
    for account in accounts:  # the others are teams retired by earlier tests, kept as such
        group = hub.group(account.removeprefix("collab-"))
        record = ((group or {}).get("properties") or {}).get("jupyterhub_teams")
        assert record, f"{account} has no team"
    assert len(users) == len(set(users))
    for team in teams:
        items = hub.api("GET", f"shares/collab-{team}/").json()["items"]
        groups = [i["group"]["name"] for i in items if i.get("group")]
        assert groups == [team], f"collab-{team} is shared with {groups}"
    assert "holding back" not in hub.log_text(), "the guard held back a removal"


def membership_rows(hub: Hub) -> int:
    """Memberships in the hub's database, read directly (the hub may be dead)."""
    with sqlite3.connect(hub.state_dir / "jupyterhub.sqlite") as db:
        return int(db.execute("select count(*) from user_group_map").fetchone()[0])


def wait_for_log(hub: Hub, text: str, after: int) -> None:
    wait_for(lambda: text in hub.log_text()[after:], 30, interval=0.02, what=repr(text))


def test_a_hub_killed_mid_sync_converges_after_restart(hub: Hub) -> None:
    target = directory(groups=12, seed=1)
    expected = sum(len(g["members"]) for g in target["groups"].values())
    # chemistry and gpu-users leave the directory: 2 retirements and 3 removals, under the guard
    mark = len(hub.log_text())
    hub.directory.write_text(yaml.safe_dump(target))
    wait_for_log(hub, "jupyterhub_teams.sync] create", mark)
    hub.stop(graceful=False)  # SIGKILL, then what it started
    done_before = membership_rows(hub)
    print(f"killed the hub with {done_before} memberships in its database")
    hub.start()
    hub.wait_for_sync(lambda: converged(hub), what="the hub to converge", intervals=15)
    assert_consistent(hub)
    # 12 groups of 20, physics, and every team account in the accounts group
    assert membership_rows(hub) >= expected


def test_the_sync_service_killed_mid_apply_converges(hub: Hub) -> None:
    target = directory(groups=12, seed=2)
    mark = len(hub.log_text())
    hub.directory.write_text(yaml.safe_dump(target))
    wait_for_log(hub, "jupyterhub_teams.sync] create", mark)
    assert hub.process is not None
    services = [
        p
        for p in psutil.Process(hub.process.pid).children(recursive=True)
        if p.cmdline()[-2:] == ["jupyterhub_teams", "service"]
    ]
    assert services, "no sync service process found"
    for service in services:
        os.kill(service.pid, signal.SIGKILL)
    print(f"killed the sync service ({[s.pid for s in services]})")
    hub.wait_for_sync(lambda: converged(hub), what="the hub to converge", intervals=30)
    assert_consistent(hub)


def test_fifty_logins_at_once_during_a_sync(hub: Hub) -> None:
    target = directory(groups=12, seed=3)
    mark = len(hub.log_text())
    hub.directory.write_text(yaml.safe_dump(target))
    wait_for_log(hub, "jupyterhub_teams.sync]", mark)

    def login(name: str) -> int:
        person = Person(hub, name)
        try:
            return person.login().status_code
        finally:
            person.close()

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:  # at most 10 in flight
        statuses = list(pool.map(login, PEOPLE[:50]))
    print(f"50 logins, 10 at a time, in {time.monotonic() - began:.1f} s")
    assert statuses == [302] * 50
    hub.wait_for_sync(lambda: converged(hub), what="the hub to converge", intervals=15)
    assert_consistent(hub)
