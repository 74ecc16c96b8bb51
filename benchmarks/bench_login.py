"""P1: what jupyterhub-teams adds to a login — a person in 50 groups, groups read from LDAP —
and what the hand-written recipe costs instead.

Three hubs on the same generated directory in a real slapd (1,000 people, 200 groups by
default) and the same database kind, identical except for the login:

with     jupyterhub-teams as ``setup(c)`` configures it: the login guard and the login-time
         sync, which asks slapd for the person's groups (two searches, off the event loop) and
         brings their team memberships up to date before the redirect;
without  the same hub with no ``post_auth_hook`` at all (the background sync keeps the
         memberships): the baseline;
recipe   the hand-written alternative (``benchmarks/recipe.py``), without jupyterhub-teams: a
         hook asking slapd for the person's groups (one search, off the event loop), creating
         missing ``collab-<group>`` accounts and returning one role per group with
         ``manage_roles``. Everyone logs in once first, so the hub holds every group's role.

Logins rotate between the hubs (drift on a noisy machine hits all alike); each is one
``POST /hub/login`` with the password authenticator, timed to the redirect. A run is
``--logins`` logins per hub and its figure the median; the report gives median, min and max of
the runs, and "added" per run (a hub's median minus the baseline's median of the same run).
The person's memberships are already current, as for nearly every login; the first login
(joining 50 teams / creating 50 accounts and roles) is reported on its own.

Usage (the test environment on PATH — `scripts/dev test` sets it up):

    python -m benchmarks.bench_login [--db sqlite|postgresql] [--runs 5] [--logins 10]
        [--people 1000] [--groups 200] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import _hubs
from benchmarks.gen_directory import READER_PASSWORD, GeneratedDirectory, generate
from benchmarks.recipe import recipe_config
from benchmarks.report import fmt_ratio, fmt_stats, met, ratio, stats, summary_row
from tests.e2e.harness import Hub
from tests.e2e.slapd import Slapd

PASSWORD_ENV = "TEAMS_BENCH_LDAP_PASSWORD"
WITHOUT_HOOK = "\nc.Authenticator.post_auth_hook = None\nc.JupyterHub.log_level = 'WARN'\n"
TARGET_ADDED_MS = 10.0
HOOK_METRIC = "jupyterhub_teams_login_sync_duration_seconds"
LABELS = ("with", "without", "recipe")


def ldap_config(slapd: Slapd, directory: GeneratedDirectory) -> str:
    return slapd.hub_config(directory, PASSWORD_ENV) + 'c.JupyterHub.log_level = "WARN"\n'


def recipe_lookup(slapd: Slapd, directory: GeneratedDirectory) -> str:
    return (
        f"ldap_lookup({slapd.url!r}, {directory.reader_dn!r}, {PASSWORD_ENV!r}, "
        f"{directory.people_dn!r}, {directory.groups_dn!r})"
    )


def signed(value: dict[str, float]) -> str:
    """An added time with its sign (on a quiet machine the median may fall below zero)."""
    return ("+" if value["median"] >= 0 else "") + fmt_stats(value)


def hook_ms(hub: Hub) -> dict[str, float]:
    """The login hook's own mean time per login, by outcome, from the hub's histogram."""
    r = httpx.get(
        f"{hub.url}/hub/metrics",
        headers={"Authorization": f"token {hub.admin_token}"},
        timeout=30,
    )
    r.raise_for_status()
    totals: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(r.text):
        if family.name != HOOK_METRIC:
            continue
        for sample in family.samples:
            part = sample.name.removeprefix(HOOK_METRIC)
            if sample.labels.get("occasion") == "login" and part in ("_sum", "_count"):
                totals[(sample.labels["outcome"], part)] = sample.value
    return {
        outcome: 1000 * total / totals[(outcome, "_count")]
        for (outcome, part), total in totals.items()
        if part == "_sum" and totals.get((outcome, "_count"))
    }


def start_hubs(
    root: Path, databases: _hubs.Databases, slapd: Slapd, directory: GeneratedDirectory
) -> dict[str, Hub]:
    hubs: dict[str, Hub] = {}
    pre = ldap_config(slapd, directory)
    extras = {
        "with": "",
        "without": WITHOUT_HOOK,
        "recipe": recipe_config(recipe_lookup(slapd, directory)),
    }
    try:
        for label in LABELS:
            hubs[label] = _hubs.start_hub(
                root,
                label,
                databases,
                sync_interval=3600,
                pre_config=pre,
                extra_config=extras[label],
            )
    except BaseException:
        for hub in hubs.values():
            hub.stop()
        raise
    return hubs


def measure(
    *, people: int, groups: int, runs: int, logins: int, db: str, command: str
) -> dict[str, Any]:
    directory = generate(people, groups)
    heavy = max(directory.people, key=lambda p: sum(p.uid in g.members for g in directory.groups))
    in_groups = sum(heavy.uid in g.members for g in directory.groups)
    names = [p.uid for p in directory.people]
    os.environ[PASSWORD_ENV] = READER_PASSWORD  # the hubs inherit it
    per_run: dict[str, list[float]] = {label: [] for label in LABELS}
    added: dict[str, list[float]] = {"with": [], "recipe": []}
    with tempfile.TemporaryDirectory(prefix="bench-login-") as tmp, _hubs.Databases(db) as dbs:
        root = Path(tmp)
        slapd = Slapd(root / "slapd").load_directory(directory).start()
        hubs: dict[str, Hub] = {}
        try:
            hubs = start_hubs(root, dbs, slapd, directory)
            for label in ("with", "without"):
                _hubs.wait_for_teams(hubs[label], groups)
            # the person leaves every team, so the first login with the hook joins all of them
            for group in hubs["with"].user(heavy.uid)["groups"]:
                hubs["with"].api("DELETE", f"groups/{group}/users", json={"users": [heavy.uid]})
            first_with = _hubs.login_ms(hubs["with"], heavy.uid)
            assert len(hubs["with"].user(heavy.uid)["groups"]) == in_groups
            first_hook = hook_ms(hubs["with"])["changed"]
            _hubs.create_people(hubs["recipe"], names)
            first_recipe = _hubs.login_ms(hubs["recipe"], heavy.uid)
            _hubs.log_in_everyone(hubs["recipe"], [n for n in names if n != heavy.uid])
            roles = hubs["recipe"].user(heavy.uid)["roles"]
            assert len(roles) == in_groups + 1, roles
            for _ in range(runs):
                times: dict[str, list[float]] = {label: [] for label in LABELS}
                for _ in range(logins):
                    for label in LABELS:
                        times[label].append(_hubs.login_ms(hubs[label], heavy.uid))
                medians = {label: statistics.median(times[label]) for label in LABELS}
                for label in LABELS:
                    per_run[label].append(medians[label])
                for label in added:
                    added[label].append(medians[label] - medians["without"])
            hook = hook_ms(hubs["with"])["unchanged"]
        finally:
            for hub in hubs.values():
                hub.stop()
            slapd.stop()
    s = {label: stats(values) for label, values in per_run.items()}
    a = {label: stats(values) for label, values in added.items()}
    r_with = ratio(s["with"]["median"], s["without"]["median"])
    r_recipe = ratio(s["recipe"]["median"], s["without"]["median"])
    r_recipe_teams = ratio(s["recipe"]["median"], s["with"]["median"])

    def row(name: str, value: dict[str, float], baseline: float | None) -> list[str]:
        relative = fmt_ratio(ratio(value["median"], baseline)) if baseline else ""
        return [
            name,
            f"{value['median']:.1f} ms",
            f"{value['min']:.1f}",
            f"{value['max']:.1f}",
            relative,
        ]

    base = s["without"]["median"]
    rows = [
        row("login without jupyterhub-teams (baseline)", s["without"], base),
        row("login with jupyterhub-teams", s["with"], base),
        row(f"login with the recipe ({in_groups} roles, manage_roles)", s["recipe"], base),
        row("**added by jupyterhub-teams**", a["with"], None),
        row("added by the recipe", a["recipe"], None),
        [
            "in the login hook itself (the hub's histogram, mean of its logins above)",
            f"{hook:.1f} ms",
            "",
            "",
            "",
        ],
        [
            f"first login with jupyterhub-teams, joining {in_groups} teams",
            f"{first_with:.1f} ms (in the hook: {first_hook:.1f} ms)",
            "",
            "",
            "",
        ],
        [
            f"first login with the recipe, creating {in_groups} accounts and roles",
            f"{first_recipe:.1f} ms",
            "",
            "",
            "",
        ],
    ]
    return {
        "id": "P1",
        "db": db,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"{people:,} people, {groups:,} groups in slapd; person {heavy.uid} in {in_groups} "
            f"groups; {runs} runs of {logins} logins per hub, figures are the runs' medians; "
            f"recipe / jupyterhub-teams: {fmt_ratio(r_recipe_teams)}; load average "
            f"{_hubs.load_average():.1f} at the end."
        ),
        "table": {"header": ["", "median", "min", "max", "/ baseline"], "rows": rows},
        "summary": [
            summary_row(
                "P1",
                f"login, person in {in_groups} teams: added by jupyterhub-teams "
                f"(in the hook itself: {hook:.1f} ms)",
                signed(a["with"]),
                baseline=f"{base:.1f} ms",
                ratio_text=fmt_ratio(r_with),
                target=f"≤ {TARGET_ADDED_MS:g} ms added",
                met_text=met(a["with"]["median"], TARGET_ADDED_MS),
            ),
            summary_row(
                "P1",
                f"login, hand-written recipe ({in_groups} roles); / jupyterhub-teams "
                f"{fmt_ratio(r_recipe_teams)}",
                signed(a["recipe"]),
                baseline=f"{base:.1f} ms",
                ratio_text=fmt_ratio(r_recipe),
            ),
        ],
        "series": {
            "per_run": per_run,
            "added": added,
            "first_with": first_with,
            "first_hook": first_hook,
            "hook": hook,
            "first_recipe": first_recipe,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    _hubs.common_arguments(parser)
    parser.add_argument("--logins", type=int, default=10, help="logins per hub per run")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    args = parser.parse_args(argv)
    command = _hubs.command_line(
        "benchmarks.bench_login",
        [
            "--db",
            args.db,
            "--runs",
            str(args.runs),
            "--logins",
            str(args.logins),
            "--people",
            str(args.people),
            "--groups",
            str(args.groups),
        ],
    )
    result = measure(
        people=args.people,
        groups=args.groups,
        runs=args.runs,
        logins=args.logins,
        db=args.db,
        command=command,
    )
    _hubs.emit(result, args.json)


if __name__ == "__main__":
    main()
