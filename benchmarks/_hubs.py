"""What the hub-starting benchmarks share: the hub database (SQLite or a throwaway PostgreSQL),
hub start-up on it, admin-created tokens, and printing a result as text or JSON.

The hubs are the end-to-end tests' ``Hub`` (``tests/e2e/harness.py``): the demo configuration,
the real proxy, everything on 127.0.0.1, stopped by PID.

PostgreSQL runs as the ``postgres`` system user (``initdb`` refuses root) from a fresh temporary
cluster on a free loopback port with ``fsync=off`` (nothing here must survive a crash), one
database per hub; ``stop()`` ends the server and deletes the cluster.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from jupyterhub_teams.demo.hub import free_port  # noqa: E402
from tests.e2e.harness import Hub, wait_for  # noqa: E402

DATABASES = ("sqlite", "postgresql")
PG_USER = "postgres"


def _run(cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kwargs)


def ensure_postgresql() -> Path:
    """The directory of PostgreSQL's server programs, installing Debian's ``postgresql`` and the
    venv's ``psycopg2-binary`` (the hub's driver) when missing."""
    if importlib.util.find_spec("psycopg2") is None:
        _run([sys.executable, "-m", "pip", "install", "-q", "psycopg2-binary"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["apt-get", "update", "-q"], env=env)
        _run(["apt-get", "install", "-y", "-q", "postgresql"], env=env)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's initdb was not found after installing postgresql")
    return Path(found[-1]).parent


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trusted local connections, no fsync."""

    def __init__(self) -> None:
        self.bin = ensure_postgresql()
        self.root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.pid: int | None = None

    def _as_postgres(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return _run(["runuser", "-u", PG_USER, "--", *cmd])

    def start(self) -> Postgres:
        # initdb and the server refuse to run as root: the cluster belongs to postgres
        shutil.chown(self.root, PG_USER, PG_USER)
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "--auth=trust",
            "--no-sync",
        )
        options = f"-k {self.root} -h 127.0.0.1 -p {self.port} -c fsync=off"
        log = self.root / "postgres.log"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def create_database(self, name: str) -> str:
        """A new database ``name``; returns the hub's ``db_url`` for it."""
        import psycopg2  # type: ignore[import-untyped]

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if self.pid is not None:
                try:
                    self._as_postgres(
                        str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                    )
                except subprocess.CalledProcessError:
                    os.kill(self.pid, signal.SIGKILL)
                self.pid = None
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Hands out one fresh database per hub: a SQLite file (the demo default) or a database in
    one shared throwaway PostgreSQL cluster, started on first use."""

    def __init__(self, kind: str) -> None:
        if kind not in DATABASES:
            raise ValueError(f"unknown database {kind!r}; choose from {', '.join(DATABASES)}")
        self.kind = kind
        self.postgres: Postgres | None = None
        self.count = 0

    def config(self) -> str:
        """Config lines for the next hub (empty for SQLite: the demo's own file)."""
        if self.kind == "sqlite":
            return ""
        if self.postgres is None:
            self.postgres = Postgres().start()
        self.count += 1
        url = self.postgres.create_database(f"hub{self.count}")
        return f"\nc.JupyterHub.db_url = {url!r}\n"

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

    def __enter__(self) -> Databases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_hub(
    root: Path, name: str, databases: Databases, *, extra_config: str = "", **kwargs: Any
) -> Hub:
    """A started hub in ``root/name`` on the next database; stopped again if it fails to start."""
    hub = Hub(root / name, extra_config=databases.config() + extra_config, **kwargs)
    try:
        return hub.start()
    except BaseException:
        hub.stop()
        raise


def create_people(hub: Hub, names: Sequence[str]) -> None:
    for start in range(0, len(names), 1000):
        r = hub.api("POST", "users", json={"usernames": list(names[start : start + 1000])})
        assert r.status_code == 201, r.text


# "demo" is the demo authenticator's shared password, not a secret
def login_ms(hub: Hub, name: str, password: str = "demo") -> float:  # noqa: S107
    """One password login, ``POST /hub/login`` timed to its redirect (the form's GET first)."""
    with httpx.Client(base_url=hub.url, timeout=60) as http:
        http.get("/hub/login")
        xsrf = http.cookies.get("_xsrf", path="/hub/") or ""
        started = time.perf_counter()
        r = http.post(
            "/hub/login",
            data={"username": name, "password": password, "_xsrf": xsrf},
            follow_redirects=False,
        )
        elapsed = elapsed_ms(started)
    assert r.status_code == 302, (name, r.status_code, r.text[:200])
    return elapsed


def log_in_everyone(hub: Hub, names: Sequence[str], concurrency: int = 4) -> None:
    """One login of each of ``names``: what a hub managing roles at login holds after a while."""
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda name: login_ms(hub, name), names))


def user_token(hub: Hub, name: str) -> str:
    """A new API token of ``name``, created by the admin, with the person's own permissions."""
    r = hub.api("POST", f"users/{name}/tokens", json={"note": "benchmark"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def all_groups(hub: Hub) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for _ in range(1000):  # bounded: 200,000 groups is far beyond any benchmark here
        page = hub.api("GET", "groups", params={"offset": len(groups), "limit": 200}).json()
        groups += page
        if len(page) < 200:
            break
    return groups


def teams_ready(hub: Hub, count: int) -> bool:
    """The sync has made ``count`` teams, each with its share."""
    teams = [g for g in all_groups(hub) if "jupyterhub_teams" in g.get("properties", {})]
    return len(teams) >= count and all(
        g["properties"]["jupyterhub_teams"].get("share_scopes") for g in teams
    )


def wait_for_teams(hub: Hub, count: int, timeout: float = 900) -> None:
    wait_for(lambda: teams_ready(hub, count), timeout=timeout, interval=2, what="the first sync")


def common_arguments(parser: argparse.ArgumentParser, *, runs: int = 5) -> None:
    parser.add_argument("--db", choices=DATABASES, default="sqlite", help="the hubs' database")
    parser.add_argument("--runs", type=int, default=runs, help="runs (median, min, max)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def today() -> str:
    return datetime.date.today().isoformat()


def load_average() -> float:
    return os.getloadavg()[0]


def command_line(module: str, args: Sequence[str]) -> str:
    return " ".join(["python", "-m", module, *args])


def emit(result: dict[str, Any], as_json: bool) -> None:
    """Print a result: JSON for ``run_all``, or its table for a person."""
    if as_json:
        print(json.dumps(result))
        return
    from benchmarks.report import markdown_table

    print(result.get("setup", ""))
    table = result.get("table")
    if table:
        print(markdown_table(table["header"], table["rows"]))
    for entry in result.get("summary", []):
        print(
            f"{entry['id']}: {entry['measure']}: {entry['result']} (baseline {entry['baseline']},"
            f" ratio {entry['ratio']}, target {entry['target']}, met: {entry['met']})"
        )


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
