"""P1: what jupyterhub-teams adds to a login — a person in 50 groups, groups read from LDAP.

Two hubs on the same generated directory in a real slapd, identical except for the login hook:

A  jupyterhub-teams as configured by ``setup(c)``: the login guard and the login-time sync,
   which asks slapd for the person's groups (two searches, off the event loop) and brings their
   team memberships up to date before the redirect;
B  the same hub with no ``post_auth_hook`` at all — what the login costs without
   jupyterhub-teams.

Logins alternate between the hubs (so drift on a noisy machine hits both alike); each is one
``POST /hub/login`` with the password authenticator, timed from request to the redirect. The
person's memberships are already current, as for nearly every real login; the first login of
each run, which writes the 50 memberships, is reported on its own.

Usage (the test environment on PATH — `scripts/dev test` sets it up):

    python -m benchmarks.bench_login [--logins 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gen_directory import READER_PASSWORD, GeneratedDirectory, generate
from tests.e2e.harness import Hub, wait_for
from tests.e2e.slapd import Slapd

PASSWORD_ENV = "TEAMS_BENCH_LDAP_PASSWORD"
WITHOUT_HOOK = "\nc.Authenticator.post_auth_hook = None\n"


def ldap_config(slapd: Slapd, directory: GeneratedDirectory) -> str:
    return f"""
c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.ldap.LDAPDirectory"
c.LDAPDirectory.server_urls = [{slapd.url!r}]
c.LDAPDirectory.bind_dn = {directory.reader_dn!r}
c.LDAPDirectory.bind_password_env = {PASSWORD_ENV!r}
c.LDAPDirectory.people_base_dn = {directory.people_dn!r}
c.LDAPDirectory.group_base_dn = {directory.groups_dn!r}
c.JupyterHub.log_level = "WARN"
"""


def teams_ready(hub: Hub, count: int) -> bool:
    groups: list[dict[str, Any]] = []
    while True:
        page = hub.api("GET", "groups", params={"offset": len(groups), "limit": 200}).json()
        groups += page
        if len(page) < 200:
            break
    teams = [g for g in groups if "jupyterhub_teams" in g.get("properties", {})]
    return len(teams) >= count and all(
        g["properties"]["jupyterhub_teams"].get("share_scopes") for g in teams
    )


def login_ms(hub: Hub, name: str) -> float:
    with httpx.Client(base_url=hub.url, timeout=30) as http:
        http.get("/hub/login")
        xsrf = http.cookies.get("_xsrf", path="/hub/") or ""
        started = time.perf_counter()
        r = http.post(
            "/hub/login",
            data={"username": name, "password": "demo", "_xsrf": xsrf},
            follow_redirects=False,
        )
        elapsed = (time.perf_counter() - started) * 1000
    assert r.status_code == 302, (r.status_code, r.text[:200])
    return elapsed


def describe(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    args = parser.parse_args()
    directory = generate(args.people, args.groups)
    heavy = max(
        directory.people,
        key=lambda p: sum(p.uid in g.members for g in directory.groups),
    ).uid
    in_groups = sum(heavy in g.members for g in directory.groups)
    os.environ[PASSWORD_ENV] = READER_PASSWORD
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        slapd = Slapd(root / "slapd").load_directory(directory).start()
        hubs: dict[str, Hub] = {}
        try:
            for label, extra in (("with", ""), ("without", WITHOUT_HOOK)):
                hub = Hub(
                    root / label,
                    sync_interval=3600,
                    pre_config=ldap_config(slapd, directory),
                    extra_config=extra,
                )
                hubs[label] = hub.start()
                wait_for(
                    lambda hub=hub: teams_ready(hub, args.groups),  # type: ignore[misc]
                    timeout=600,
                    interval=2,
                    what="the first sync",
                )
            # the person leaves every team, so the first login with the hook joins all of them
            for hub in hubs.values():
                for group in hub.user(heavy)["groups"]:
                    hub.api("DELETE", f"groups/{group}/users", json={"users": [heavy]})
            first = login_ms(hubs["with"], heavy)
            assert len(hubs["with"].user(heavy)["groups"]) == in_groups
            times: dict[str, list[float]] = {"with": [], "without": []}
            for _ in range(args.logins):
                for label in ("with", "without"):
                    times[label].append(login_ms(hubs[label], heavy))
        finally:
            for hub in hubs.values():
                hub.stop()
            slapd.stop()
    added = statistics.median(times["with"]) - statistics.median(times["without"])
    ratio = statistics.median(times["with"]) / statistics.median(times["without"])
    print(
        f"{args.people} people, {args.groups} groups in slapd; person {heavy} in "
        f"{in_groups} groups; {args.logins} logins per hub\n"
        f"P1 login without jupyterhub-teams   {describe(times['without'])}\n"
        f"   login with jupyterhub-teams      {describe(times['with'])}\n"
        f"   added (median)                   {added:.1f} ms (ratio {ratio:.2f})\n"
        f"   first login, joining {in_groups} teams   {first:.1f} ms"
    )


if __name__ == "__main__":
    main()
