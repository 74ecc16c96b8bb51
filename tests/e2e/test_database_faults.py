"""The hub's PostgreSQL database restarted (its server process stopped by PID and started again)
while the sync service applies a sync, and while people log in. Afterwards the hub serves again
without a restart of its own (JupyterHub pings every pooled connection before use and
reconnects), the sync fails clearly while the database is away and is retried at the next
interval, and the hub converges on the directory: no membership lost, no share made twice, no
team account without its team, nothing revoked and no removal held back because of the fault.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest
import yaml

from benchmarks._hubs import Postgres

from .harness import Hub, Person, wait_for
from .test_restarts import PEOPLE, assert_consistent, converged, directory, wait_for_log

SYNC_INTERVAL = 2


class RestartablePostgres(Postgres):
    """The benchmarks' throwaway cluster, which can also be stopped by PID and started again
    on the same port with the same data."""

    def restart(self, how: signal.Signals, down_for: float = 0) -> None:
        """Stop the server with ``how`` (SIGINT: PostgreSQL's fast shutdown, which ends every
        client connection; SIGQUIT: immediate shutdown, crash recovery at the next start), wait
        for the process to end, stay down ``down_for`` seconds, and start it again."""
        assert self.pid is not None
        server = psutil.Process(self.pid)
        os.kill(self.pid, how)
        server.wait(timeout=60)
        self.pid = None
        time.sleep(down_for)
        options = f"-k {self.root} -h 127.0.0.1 -p {self.port} -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def count(self, database: str, query: str) -> int:
        import psycopg2  # type: ignore[import-untyped]

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(query)
                return int(cursor.fetchone()[0])
        finally:
            conn.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[RestartablePostgres]:
    server = RestartablePostgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, postgres: RestartablePostgres) -> Iterator[Hub]:
    url = postgres.create_database("teams")
    # after configure_demo, which sets the demo's SQLite file
    running = Hub(
        tmp_path_factory.mktemp("database-faults"),
        sync_interval=SYNC_INTERVAL,
        extra_config=f"\nc.JupyterHub.db_url = {url!r}\n",
    )
    with running.synced("physics"):
        assert "postgresql" in running.log_text().lower()
        yield running


def memberships(postgres: RestartablePostgres) -> int:
    """Memberships in the hub's database, read there directly."""
    return postgres.count("teams", "select count(*) from user_group_map")


def sync_failures(hub: Hub, after: int = 0) -> list[str]:
    return [
        line
        for line in hub.log_text()[after:].splitlines()
        if "jupyterhub_teams.sync] sync failed" in line
    ]


def test_postgresql_restarted_while_the_sync_applies(
    hub: Hub, postgres: RestartablePostgres
) -> None:
    target = directory(groups=12, seed=1)
    expected = sum(len(g["members"]) for g in target["groups"].values())
    mark = len(hub.log_text())
    hub.directory.write_text(yaml.safe_dump(target))
    wait_for_log(hub, "jupyterhub_teams.sync] create", mark)
    at_stop = memberships(postgres)
    postgres.restart(signal.SIGINT, down_for=2 * SYNC_INTERVAL)
    print(f"restarted PostgreSQL with {at_stop} of {expected}+ memberships written")

    hub.wait_for_sync(lambda: converged(hub), what="the hub to converge", intervals=30)
    assert hub.process is not None and hub.process.poll() is None, "the hub exited"
    assert_consistent(hub)
    assert memberships(postgres) >= expected
    # the sync said why it failed, and a later one (at the next interval) did the rest
    failures = sync_failures(hub, mark)
    print("\n".join(failures[:3]))
    assert failures, "no sync failed while PostgreSQL was down: the restart came too late"
    assert all("nothing more was changed" in line for line in failures)
    # and named the database as the likely cause, which the hub's answers do not
    assert all("database is unavailable" in line for line in failures), failures
    last_failure = hub.log_text().rindex("jupyterhub_teams.sync] sync failed")
    assert "jupyterhub_teams.sync] sync applied" in hub.log_text()[last_failure:]


def login(hub: Hub, name: str) -> int:
    person = Person(hub, name)
    try:
        return person.login().status_code
    except httpx.HTTPError:
        return 0  # no answer at all
    finally:
        person.close()


def test_postgresql_restarted_while_people_log_in(hub: Hub, postgres: RestartablePostgres) -> None:
    hub.wait_for_sync(lambda: converged(hub), what="a converged hub")
    # a directory change that logins apply at once: the next groups, for the same people
    target = directory(groups=12, seed=2)
    stop = threading.Event()
    seen: list[tuple[float, int]] = []  # (when, status) of every login

    def keep_logging_in(names: list[str]) -> None:
        while not stop.is_set():
            for name in names:
                seen.append((time.monotonic(), login(hub, name)))

    with ThreadPoolExecutor(max_workers=4) as pool:
        workers = [pool.submit(keep_logging_in, PEOPLE[i:50:4]) for i in range(4)]
        try:
            hub.directory.write_text(yaml.safe_dump(target))
            wait_for(lambda: len(seen) >= 20, 60, what="logins before the restart")
            # SIGQUIT: PostgreSQL's immediate shutdown, as if it crashed; recovery at start
            postgres.restart(signal.SIGQUIT, down_for=2)
            back = time.monotonic()
            wait_for(
                lambda: sum(1 for when, status in seen if when > back and status == 302) >= 20,
                60,
                what="logins to work again without restarting the hub",
            )
        finally:
            stop.set()
            for worker in workers:
                worker.result()
    statuses = [status for _, status in seen]
    print(f"{len(statuses)} logins: {statuses.count(302)} in, {statuses.count(500)} failed")
    # a login while the database is away fails with an error page, never anything else
    assert set(statuses) <= {302, 500}, sorted(set(statuses))
    assert 500 in statuses, "no login met the restart"
    assert hub.process is not None and hub.process.poll() is None, "the hub exited"

    # everyone logs in, and the hub converges: nobody lost a team, nothing twice
    assert [login(hub, name) for name in PEOPLE[:50]] == [302] * 50
    hub.wait_for_sync(lambda: converged(hub), what="the hub to converge", intervals=30)
    assert_consistent(hub)
    expected = sum(len(g["members"]) for g in target["groups"].values())
    assert memberships(postgres) >= expected
