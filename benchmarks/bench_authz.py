"""P4: what being in 50 teams costs each authorised request — ``GET /hub/api/user``.

Every request a person makes to the hub (and every check a team server makes about a visitor,
once per ``revocation_interval``) resolves the person's permissions. A member of 50 teams holds
50 group shares; with the hand-written recipe a member of 50 groups holds 50 roles. Two hubs at
the same scale and on the same database kind:

teams   the generated directory (1,000 people, 200 groups by default, in YAML) synced by
        jupyterhub-teams' own service;
recipe  the hand-written recipe (``benchmarks/recipe.py``): no jupyterhub-teams, a login hook
        returning one role per group with ``manage_roles``; everyone has logged in once, so the
        hub holds every group's role and account.

On each hub ``GET /hub/api/user`` is timed with the person's own API token (created by the
admin, the person's own permissions) for a member of 50 groups and for a person in none (the
baseline, measured alternately in the same run). A run is ``--requests`` requests per person on
a kept-alive connection; its figure is the median, and each run's ratio is member / nobody.

Usage (the test environment on PATH — `scripts/dev test` sets it up):

    python -m benchmarks.bench_authz [--db sqlite|postgresql] [--runs 5] [--requests 40]
        [--people 1000] [--groups 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _hubs
from benchmarks.gen_directory import generate
from benchmarks.recipe import recipe_config
from benchmarks.report import fmt_ratio, fmt_stats, met, ratio, stats, summary_row
from tests.e2e.harness import Hub

NOBODY = "nobody01"  # a person in no group: the baseline (every generated person has one)
TARGET_RATIO = 1.5
QUIET = "\nc.JupyterHub.log_level = 'WARN'\n"
HUBS = ("teams", "recipe")
PERSONS = ("member", "nobody")


def get_user_ms(http: httpx.Client) -> float:
    started = time.perf_counter()
    r = http.get("user")
    elapsed = _hubs.elapsed_ms(started)
    assert r.status_code == 200, r.text
    return elapsed


def prepare(
    root: Path, dbs: _hubs.Databases, people: int, groups: int
) -> tuple[dict[str, Hub], str, int]:
    """Both hubs, ready; the member's name and group count."""
    directory = generate(people, groups)
    member = max(directory.people, key=lambda p: sum(p.uid in g.members for g in directory.groups))
    groups_of: dict[str, list[str]] = {}
    for group in directory.groups:
        for uid in group.members:
            groups_of.setdefault(uid, []).append(group.name)
    (root / "directory.yaml").write_text(directory.yaml())
    (root / "groups.json").write_text(json.dumps(groups_of))
    hubs: dict[str, Hub] = {}
    try:
        hubs["teams"] = _hubs.start_hub(
            root,
            "teams",
            dbs,
            directory=root / "directory.yaml",
            sync_interval=3600,
            extra_config=QUIET,
        )
        lookup = f"file_lookup({str(root / 'groups.json')!r})"
        hubs["recipe"] = _hubs.start_hub(
            root,
            "recipe",
            dbs,
            directory=root / "directory.yaml",
            extra_config=recipe_config(lookup),
        )
        names = [p.uid for p in directory.people]
        _hubs.create_people(hubs["recipe"], [*names, NOBODY])
        _hubs.log_in_everyone(hubs["recipe"], [*names, NOBODY])
        _hubs.wait_for_teams(hubs["teams"], groups)
        _hubs.create_people(hubs["teams"], [NOBODY])
    except BaseException:
        for hub in hubs.values():
            hub.stop()
        raise
    return hubs, member.uid, len(groups_of[member.uid])


def measure(
    *, people: int, groups: int, runs: int, requests: int, db: str, command: str
) -> dict[str, Any]:
    per_run: dict[tuple[str, str], list[float]] = {(h, p): [] for h in HUBS for p in PERSONS}
    ratios: dict[str, list[float]] = {h: [] for h in HUBS}
    with tempfile.TemporaryDirectory(prefix="bench-authz-") as tmp, _hubs.Databases(db) as dbs:
        hubs, member, in_groups = prepare(Path(tmp), dbs, people, groups)
        clients: dict[tuple[str, str], httpx.Client] = {}
        try:
            for h, hub in hubs.items():
                for p, name in (("member", member), ("nobody", NOBODY)):
                    token = _hubs.user_token(hub, name)
                    clients[h, p] = httpx.Client(
                        base_url=hub.api_url + "/",
                        headers={"Authorization": f"token {token}"},
                        timeout=60,
                    )
            model = clients["teams", "member"].get("user").json()
            assert len(model["groups"]) == in_groups, model["groups"]
            model = clients["recipe", "member"].get("user").json()
            assert len(model["roles"]) == in_groups + 1, model["roles"]
            for client in clients.values():  # warm-up: connections, caches
                for _ in range(5):
                    get_user_ms(client)
            for _ in range(runs):
                times: dict[tuple[str, str], list[float]] = {key: [] for key in clients}
                for _ in range(requests):
                    for key, client in clients.items():
                        times[key].append(get_user_ms(client))
                medians = {key: statistics.median(values) for key, values in times.items()}
                for key, value in medians.items():
                    per_run[key].append(value)
                for h in HUBS:
                    ratios[h].append(ratio(medians[h, "member"], medians[h, "nobody"]))
        finally:
            for client in clients.values():
                client.close()
            for hub in hubs.values():
                hub.stop()
    s = {key: stats(values) for key, values in per_run.items()}
    r = {h: stats(values) for h, values in ratios.items()}
    recipe_vs_teams = ratio(s["recipe", "member"]["median"], s["teams", "member"]["median"])
    label = {"teams": "jupyterhub-teams", "recipe": "recipe"}
    noun = {"teams": "teams", "recipe": "roles"}
    rows = []
    for h in HUBS:
        rows.append(
            [
                f"{label[h]}: person in no group (baseline)",
                fmt_stats(s[h, "nobody"], digits=2),
                "1.00\u00d7",
            ]
        )
        rows.append(
            [
                f"{label[h]}: person in {in_groups} {noun[h]}",
                fmt_stats(s[h, "member"], digits=2),
                fmt_stats(r[h], "\u00d7", 2),
            ]
        )
    rows.append(
        [f"recipe / jupyterhub-teams, person in {in_groups} groups", "", fmt_ratio(recipe_vs_teams)]
    )
    return {
        "id": "P4",
        "db": db,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"{people:,} people, {groups:,} groups; {runs} runs of {requests} requests per person "
            f"and hub (after 5 warm-up requests each), figures are the runs' medians, ratios "
            f"per run; load average {_hubs.load_average():.1f} at the end."
        ),
        "table": {
            "header": ["GET /hub/api/user", "median (min\u2013max)", "/ baseline, per run"],
            "rows": rows,
        },
        "summary": [
            summary_row(
                "P4",
                f"GET /hub/api/user, member of {in_groups} teams vs of none",
                fmt_stats(s["teams", "member"], digits=2),
                baseline=f"{s['teams', 'nobody']['median']:.2f} ms",
                ratio_text=fmt_stats(r["teams"], "\u00d7", 2),
                target=f"≤ {TARGET_RATIO}\u00d7",
                met_text=met(r["teams"]["median"], TARGET_RATIO),
            ),
            summary_row(
                "P4",
                f"same, hand-written recipe ({in_groups} roles vs none); recipe / "
                f"jupyterhub-teams {fmt_ratio(recipe_vs_teams)}",
                fmt_stats(s["recipe", "member"], digits=2),
                baseline=f"{s['recipe', 'nobody']['median']:.2f} ms",
                ratio_text=fmt_stats(r["recipe"], "\u00d7", 2),
            ),
        ],
        "series": {f"{h}/{p}": values for (h, p), values in per_run.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    _hubs.common_arguments(parser)
    parser.add_argument("--requests", type=int, default=40, help="requests per person per run")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    args = parser.parse_args(argv)
    command = _hubs.command_line(
        "benchmarks.bench_authz",
        [
            "--db",
            args.db,
            "--runs",
            str(args.runs),
            "--requests",
            str(args.requests),
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
        requests=args.requests,
        db=args.db,
        command=command,
    )
    _hubs.emit(result, args.json)


if __name__ == "__main__":
    main()
