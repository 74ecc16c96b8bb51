"""``jupyterhub-teams audit``: who can reach which team server, and why — streamed.

Every entry is printed (and flushed) as :func:`~jupyterhub_teams.hub.audit_stream` yields it,
so a pipe sees the first team long before the last on a big hub.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..hub import AuditTargetError, HubClient, audit_stream
from ..plan import Policy
from ..plan.audit import TeamAudit


def add_audit_command(
    commands: Any, hub_arguments: Callable[[argparse.ArgumentParser], None]
) -> None:
    audit = commands.add_parser("audit", help="who can reach which team server, and why")
    hub_arguments(audit)
    which = audit.add_mutually_exclusive_group()
    which.add_argument(
        "--server",
        metavar="ACCOUNT",
        help="only this team server: its team account (such as collab-physics)",
    )
    which.add_argument("--team", metavar="NAME", help="only this team's server")
    which.add_argument(
        "--person",
        metavar="NAME",
        help="every team server this person can reach, and why (and the teams that name them "
        "but they cannot reach)",
    )
    form = audit.add_mutually_exclusive_group()
    form.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output: one JSON list, written entry by entry",
    )
    form.add_argument(
        "--jsonl",
        action="store_true",
        help="machine-readable output: JSON Lines, one object per team server, each line "
        "written as soon as it is known",
    )
    audit.add_argument(
        "--check-shares",
        action="store_true",
        help="whole hub: read every share of every team server instead of trusting the team "
        "markers (exact, also shows shares an admin made by hand; slow on big hubs: about "
        "0.3 s per team server at 10,000 people). --server, --team and --person always read "
        "the shares",
    )


async def run_audit(
    args: argparse.Namespace, client: HubClient, policy: Policy, out: TextIO = sys.stdout
) -> int:
    base_url = args.api_url.rstrip("/").removesuffix("/hub/api")
    server = args.server or args.team
    writer = _Writer(out, base_url, args, person=args.person)
    try:
        async for entry in audit_stream(
            client, policy, server=server, person=args.person, check_shares=args.check_shares
        ):
            writer.write(entry)
    except AuditTargetError as exc:
        print(f"jupyterhub-teams: {exc}", file=sys.stderr)
        return 2
    writer.close()
    return 0


class _Writer:
    """Text, a JSON list or JSON Lines; every entry flushed as it is written."""

    def __init__(
        self, out: TextIO, base_url: str, args: argparse.Namespace, person: str | None
    ) -> None:
        self.out, self.base_url, self.person = out, base_url, person
        self.form = "jsonl" if args.jsonl else ("json" if args.json else "text")
        self.count = 0
        self.from_markers = False

    def write(self, entry: TeamAudit) -> None:
        data = entry.to_json(self.base_url)
        self.from_markers = self.from_markers or not entry.shares_checked
        if self.form == "jsonl":
            self.out.write(json.dumps(data) + "\n")
        elif self.form == "json":
            self.out.write(("[\n" if self.count == 0 else ",\n") + json.dumps(data, indent=2))
        else:
            self.out.write(_text(entry, data, self.person))
        self.count += 1
        self.out.flush()

    def close(self) -> None:
        if self.form == "json":
            self.out.write("[]\n" if self.count == 0 else "\n]\n")
        elif self.form == "text" and self.count == 0:
            self.out.write(f"no team server for {self.person}\n" if self.person else "no teams\n")
        self.out.flush()
        if self.form == "text" and self.from_markers:
            print(
                "note: team servers' shares were taken from the team markers the sync writes, "
                "so a share made by hand (to another group or to one person) is not shown; "
                "--check-shares reads every share from the hub (minutes at 10,000 people)",
                file=sys.stderr,
            )


def _text(entry: TeamAudit, data: dict[str, Any], person: str | None) -> str:
    state = "retired" if entry.retired else ("running" if entry.server_running else "stopped")
    lines = [f"{entry.team}  ({entry.account}, {state})  {data['server_url']}"]
    if person is not None:
        reasons = entry.access.get(person)
        lines.append(
            f"  {person}: {'; '.join(reasons)}"
            if reasons
            else f"  {person}: named by the team group, but cannot reach the server"
        )
        return "\n".join(lines) + "\n"
    lines.append(f"  from {entry.origin} group {entry.source_group!r}")
    lines.append(f"  members: {', '.join(entry.members) or '(none)'}")
    lines.extend(f"  {who}: {'; '.join(reasons)}" for who, reasons in entry.access.items())
    return "\n".join(lines) + "\n"
