"""P5: removal from the directory → the removed member's open session refused and their open
terminal websocket closed, on a real team server.

A demo hub (YAML directory, the bundled people and teams) with the product's defaults
(the product's ``sync_interval`` and ``revocation_interval``; flags to change them). bob starts the
``physics`` team server, opens it (OAuth and all, like a browser) and opens a terminal whose
websocket stays open. Then bob is removed from ``physics`` in the directory file, and two
times are taken from that moment: until bob's next request with his open session is refused
(polled every 0.5 s) and until the terminal's websocket is closed by the team server. bob is
put back and the measurement repeats on the same hub, each removal after a random wait (run i
of n within the i-th n-th of one ``sync_interval``), so removals fall at points spread over the
sync and revocation cycles, as they do in production.

Stock JupyterHub, for comparison (not measured here): a revoked share leaves an open session
working for 300 s (``HubAuth.cache_max_age``) and never closes open websockets.

Usage (the test environment on PATH — `scripts/dev test` sets it up):

    python -m benchmarks.bench_revocation [--db sqlite|postgresql] [--runs 5]
        [--sync-interval 15] [--revocation-interval 10] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _hubs
from benchmarks.report import fmt_stats, met, stats, summary_row
from jupyterhub_teams.config import JupyterHubTeams
from tests.e2e.harness import Hub, Person, consent_or_lab, wait_for

ACCOUNT = "collab-physics"
REFUSED = (403, 404)
TARGET_REFUSED_S = 30.0
TARGET_CLOSED_S = 60.0
QUIET = "\nc.JupyterHub.log_level = 'WARN'\n"


def set_members(hub: Hub, group: str, members: list[str]) -> None:
    data = yaml.safe_load(hub.directory.read_text())
    data["groups"][group] = {"members": members}
    hub.directory.write_text(yaml.safe_dump(data))


class Terminal:
    """bob's terminal on the team server, its websocket read until the server closes it."""

    def __init__(self, person: Person) -> None:
        made = person.server_api(ACCOUNT, "POST", "api/terminals")
        assert made.status_code == 200, made.text
        path = f"/user/{ACCOUNT}/terminals/websocket/{made.json()['name']}"
        # entered as a context manager: newer websockets warn about a bare connect()
        self._stack = contextlib.ExitStack()
        self.socket: ClientConnection = self._stack.enter_context(
            connect(
                person.websocket_url(path),
                additional_headers={"Cookie": person.cookie_header(path)},
            )
        )
        self.closed_at: float | None = None
        self.code: int | None = None
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.socket.send('["stdin", "echo still-here\\r"]')

    def _drain(self) -> None:
        try:
            for _ in iter(self.socket.recv, None):
                pass
        except ConnectionClosed as exc:
            self.code = exc.rcvd.code if exc.rcvd else None
        self.closed_at = time.monotonic()

    def close(self) -> None:
        self._stack.close()
        self.reader.join(timeout=10)


def one_removal(
    hub: Hub, bob: Person, sync_s: float, revoke_s: float, delay: float
) -> tuple[float, float]:
    """bob is a member with an open session and terminal; ``delay`` s later, remove him;
    (refused, closed) in s."""
    set_members(hub, "physics", ["alice", "bob"])
    wait_for(
        lambda: "bob" in (hub.group("physics") or {}).get("users", []),
        timeout=3 * sync_s + 30,
        what="bob back in physics",
    )
    # the team server may still hold its refusal of bob from the previous run
    wait_for(
        lambda: consent_or_lab(bob.open(f"/user/{ACCOUNT}/lab")),
        timeout=3 * revoke_s + 30,
        interval=1,
        what="bob back in the team server",
    )
    terminal = Terminal(bob)
    try:
        assert bob.server_api(ACCOUNT, "GET", "api/status").status_code == 200
        # bob got back in right after a sync: without a random wait every removal would fall
        # at the same point of the sync cycle, and every run would measure the same case
        time.sleep(delay)
        removed_at = time.monotonic()
        set_members(hub, "physics", ["alice"])
        wait_for(
            lambda: bob.server_api(ACCOUNT, "GET", "api/status").status_code in REFUSED,
            timeout=sync_s + revoke_s + 120,
            interval=0.5,
            what="bob's session to be refused",
        )
        refused = time.monotonic() - removed_at
        wait_for(
            lambda: terminal.closed_at is not None,
            timeout=sync_s + 2 * revoke_s + 120,
            interval=0.2,
            what="bob's terminal to close",
        )
        assert terminal.closed_at is not None
        closed = terminal.closed_at - removed_at
        assert terminal.code == 4403, terminal.code
    finally:
        terminal.close()
    return refused, closed


def measure(
    *, runs: int, sync_interval: float, revocation_interval: int, db: str, command: str
) -> dict[str, Any]:
    refused: list[float] = []
    closed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-revoke-") as tmp, _hubs.Databases(db) as dbs:
        hub = _hubs.start_hub(
            Path(tmp),
            "hub",
            dbs,
            sync_interval=sync_interval,
            revocation_interval=revocation_interval,
            extra_config=QUIET,
        )
        people: list[Person] = []
        try:
            wait_for(lambda: hub.group("physics"), 3 * sync_interval + 30, what="the first sync")
            alice, bob = Person(hub, "alice").logged_in(), Person(hub, "bob").logged_in()
            people += [alice, bob]
            assert alice.hub_api("POST", f"users/{ACCOUNT}/server").status_code in (201, 202)
            wait_for(lambda: hub.server_ready(ACCOUNT), 90, what="the physics team server")
            assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
            rng = random.Random(5)  # the same removal moments at every invocation
            for run in range(runs):
                # stratified: run i waits within the i-th of `runs` equal slices of the sync
                # cycle, so that a few runs still cover the whole cycle
                delay = sync_interval * (run + rng.random()) / runs
                r, c = one_removal(hub, bob, sync_interval, revocation_interval, delay)
                refused.append(r)
                closed.append(c)
                print(f"refused {r:.1f} s, websocket closed {c:.1f} s", file=sys.stderr)
            # alice, still a member, was never cut off
            assert alice.server_api(ACCOUNT, "GET", "api/status").status_code == 200
        finally:
            for person in people:
                person.close()
            hub.stop()
    s_refused, s_closed = stats(refused), stats(closed)
    stock = "stock JupyterHub: 300 s (documented, not measured)"
    return {
        "id": "P5",
        "db": db,
        "date": _hubs.today(),
        "command": command,
        "setup": (
            f"sync_interval {sync_interval:g} s, revocation_interval {revocation_interval} s; "
            f"{runs} removals on one hub; load average {_hubs.load_average():.1f} at the end."
        ),
        "table": {
            "header": ["from removal in the directory to", "median", "min", "max", "target"],
            "rows": [
                [
                    "the open session refused",
                    f"{s_refused['median']:.1f} s",
                    f"{s_refused['min']:.1f}",
                    f"{s_refused['max']:.1f}",
                    f"≤ {TARGET_REFUSED_S:g} s",
                ],
                [
                    "the open terminal websocket closed (code 4403)",
                    f"{s_closed['median']:.1f} s",
                    f"{s_closed['min']:.1f}",
                    f"{s_closed['max']:.1f}",
                    f"≤ {TARGET_CLOSED_S:g} s",
                ],
            ],
        },
        "summary": [
            summary_row(
                "P5",
                f"removal → open session refused (worst of {runs})",
                fmt_stats(s_refused, "s"),
                baseline=stock,
                target=f"≤ {TARGET_REFUSED_S:g} s",
                met_text=met(s_refused["max"], TARGET_REFUSED_S),
            ),
            summary_row(
                "P5",
                f"removal → open websocket closed (worst of {runs})",
                fmt_stats(s_closed, "s"),
                baseline="stock JupyterHub: never",
                target=f"≤ {TARGET_CLOSED_S:g} s",
                met_text=met(s_closed["max"], TARGET_CLOSED_S),
            ),
        ],
        "series": {"refused": refused, "closed": closed},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    _hubs.common_arguments(parser)
    defaults = JupyterHubTeams()
    parser.add_argument("--sync-interval", type=float, default=defaults.sync_interval)
    parser.add_argument("--revocation-interval", type=int, default=defaults.revocation_interval)
    args = parser.parse_args(argv)
    command = _hubs.command_line(
        "benchmarks.bench_revocation",
        [
            "--db",
            args.db,
            "--runs",
            str(args.runs),
            "--sync-interval",
            f"{args.sync_interval:g}",
            "--revocation-interval",
            str(args.revocation_interval),
        ],
    )
    result = measure(
        runs=args.runs,
        sync_interval=args.sync_interval,
        revocation_interval=args.revocation_interval,
        db=args.db,
        command=command,
    )
    _hubs.emit(result, args.json)


if __name__ == "__main__":
    main()
