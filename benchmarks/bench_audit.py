"""Audit at scale against a real hub: the whole hub, one team server, one person.

P9  ``jupyterhub-teams audit --jsonl`` on a hub of N people and M teams made by a first sync:
    wall time to the first line and to the last, for the whole hub; wall time for one team
    server (``--server``) and for one person (``--person``, a person in about five groups, with
    the sync service's token and with an admin's). The baseline, in the same run on the same
    hub: listing every user through the REST API (``GET /hub/api/users``, page by page), the
    least any audit that learns the hub admins must read. The audit before this benchmark
    (every share of every team server listed) took about 0.3 s per team server on this hub
    (10 minutes at 2,000 teams); it is not run here.

Usage (from the repository root, with the test environment on PATH — `scripts/dev test` sets
it up):

    python -m benchmarks.bench_audit [--people 10000] [--groups 2000] [--runs 5]
        [--db sqlite|postgresql] [--json]

One hub per invocation: the people are created and the first sync is run once (about 5 minutes
at full scale), then every run audits that same hub — an audit only reads, so the populated
database is reused as it is. Each audit is the command as a person runs it (a new process), with
the sync service's token (its least-privilege role) unless said otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _hubs
from benchmarks.bench_sync import EXTERNAL_SERVICE, SYNC_TOKEN, run_sync
from benchmarks.gen_directory import generate
from benchmarks.report import fmt_stats, met, ratio, stats, summary_row
from tests.e2e.harness import Hub

TARGET_WHOLE_S = 10.0


def timed_audit(hub: Hub, token: str, *args: str) -> tuple[float, float, int]:
    """``jupyterhub-teams audit --jsonl ARGS`` as a subprocess: seconds to its first line, to
    its end, and the number of lines."""
    env = {**os.environ, "JUPYTERHUB_API_URL": hub.api_url, "JUPYTERHUB_API_TOKEN": token}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub_teams", "audit", "--jsonl", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = 0.0
    count = 0
    for _line in proc.stdout:
        if count == 0:
            first = time.perf_counter() - started
        count += 1
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, err
    return first, elapsed, count


async def list_every_user(hub: Hub, token: str) -> tuple[float, int]:
    """The baseline: every user through the REST API, page after page (what a full audit
    before this one started with)."""
    from jupyterhub_teams.hub import HubClient

    async with HubClient(hub.api_url, token) as client:
        started = time.perf_counter()
        users = await client.list_users()
        return time.perf_counter() - started, len(users)


def populated_hub(root: Path, people: int, groups: int, dbs: _hubs.Databases) -> Hub:
    """A hub holding the generated directory's people and, after one sync, its teams."""
    generated = generate(people, groups)
    directory = root / "directory.yaml"
    directory.write_text(generated.yaml())
    hub = _hubs.start_hub(root, "audit", dbs, directory=directory, extra_config=EXTERNAL_SERVICE)
    try:
        started = time.perf_counter()
        _hubs.create_people(hub, [p.uid for p in generated.people])
        seconds, writes, _, _ = run_sync(hub, directory)
        print(
            f"hub populated: {people:,} people in {time.perf_counter() - started - seconds:.0f} s,"
            f" first sync {seconds:.0f} s ({writes:,} writes)",
            file=sys.stderr,
            flush=True,
        )
    except BaseException:
        hub.stop()
        raise
    return hub


def pick_person(hub: Hub, groups_wanted: int = 5) -> str:
    """A generated person in about ``groups_wanted`` groups (the directory's average)."""
    counts: dict[str, int] = {}
    for group in _hubs.all_groups(hub):
        for member in group.get("users") or ():
            counts[member] = counts.get(member, 0) + 1
    return min(sorted(counts), key=lambda name: abs(counts[name] - groups_wanted))


def measure(*, people: int, groups: int, runs: int, db: str, command: str) -> dict[str, Any]:
    keys = ("users", "first", "whole", "server", "person", "person_admin")
    series: dict[str, list[float]] = {k: [] for k in keys}
    lines = 0
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp, _hubs.Databases(db) as dbs:
        hub = populated_hub(Path(tmp), people, groups, dbs)
        try:
            person = pick_person(hub)
            account = "collab-" + sorted(_person_groups(hub, person))[0]
            for run in range(runs):
                baseline, users = asyncio.run(list_every_user(hub, SYNC_TOKEN))
                first, whole, lines = timed_audit(hub, SYNC_TOKEN)
                _, server, _ = timed_audit(hub, SYNC_TOKEN, "--server", account)
                _, mine, _ = timed_audit(hub, SYNC_TOKEN, "--person", person)
                _, mine_admin, _ = timed_audit(hub, hub.admin_token, "--person", person)
                for key, value in zip(
                    keys, (baseline, first, whole, server, mine, mine_admin), strict=True
                ):
                    series[key].append(value)
                print(
                    f"run {run + 1}: list users {baseline:.1f} s ({users:,}); whole hub first "
                    f"line {first:.1f} s, last {whole:.1f} s ({lines:,} teams); {account} "
                    f"{server:.1f} s; {person} {mine:.1f} s (admin token {mine_admin:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            hub.stop()
    s = {key: stats(values) for key, values in series.items()}
    ratios = stats([w / u for w, u in zip(series["whole"], series["users"], strict=True)])
    rows = [
        ["baseline: list every user (REST, page by page)", fmt_stats(s["users"], "s"), ""],
        ["whole hub, first line", fmt_stats(s["first"], "s"), ""],
        [
            f"whole hub, last line ({lines:,} team servers)",
            fmt_stats(s["whole"], "s"),
            f"≤ {TARGET_WHOLE_S:g} s",
        ],
        ["whole hub / baseline (per run)", fmt_stats(ratios, "\u00d7", 2), ""],
        ["one team server (--server)", fmt_stats(s["server"], "s"), ""],
        ["one person in ~5 groups (--person), service token", fmt_stats(s["person"], "s"), ""],
        ["the same, an admin's token", fmt_stats(s["person_admin"], "s"), ""],
    ]
    return {
        "id": "P9",
        "db": db,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"{people:,} people, {groups:,} groups ({lines:,} team servers), one hub populated"
            f" once; {runs} runs, each a new `jupyterhub-teams audit --jsonl` process (Python's"
            f" start-up included) with the sync service's token; load average"
            f" {_hubs.load_average():.1f} at the end."
        ),
        "table": {"header": ["", "median (min\u2013max)", "target"], "rows": rows},
        "summary": [
            summary_row(
                "P9",
                f"audit, whole hub, {people:,} people / {groups:,} teams",
                fmt_stats(s["whole"], "s"),
                baseline=f"list every user {s['users']['median']:.1f} s",
                ratio_text=f"{ratio(s['whole']['median'], s['users']['median']):.2f}\u00d7",
                target=f"≤ {TARGET_WHOLE_S:g} s",
                met_text=met(s["whole"]["median"], TARGET_WHOLE_S),
            ),
        ],
        "series": series,
    }


def _person_groups(hub: Hub, person: str) -> set[str]:
    return {g["name"] for g in _hubs.all_groups(hub) if person in (g.get("users") or ())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    _hubs.common_arguments(parser)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    args = parser.parse_args(argv)
    command = _hubs.command_line(
        "benchmarks.bench_audit",
        [
            "--db",
            args.db,
            "--runs",
            str(args.runs),
            "--people",
            str(args.people),
            "--groups",
            str(args.groups),
        ],
    )
    result = measure(
        people=args.people, groups=args.groups, runs=args.runs, db=args.db, command=command
    )
    _hubs.emit(result, args.json)


if __name__ == "__main__":
    main()
