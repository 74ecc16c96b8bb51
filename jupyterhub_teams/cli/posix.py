"""``jupyterhub-teams posix list|forget``: the record of uids and gids handed out.

Run it where the hub runs (the record's path is relative to the hub's working directory, like
``jupyterhub.sqlite``). ``forget`` is the one way to let a name take a different number: it
is an admin's explicit act, after re-owning the files that carry the old number.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..posix.config import PosixIdentity
from ..posix.registry import Registry


def add_posix_commands(commands: Any) -> None:
    posix = commands.add_parser("posix", help="the uids and gids handed out to servers")
    actions = posix.add_subparsers(dest="posix_command", required=True, metavar="ACTION")
    for name, what in (
        ("list", "show every recorded uid and gid"),
        ("forget", "drop a JupyterHub user's records (after re-owning their files)"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument(
            "--registry",
            default=PosixIdentity.registry_path.default_value,
            help="the record file (default: %(default)s, the hub's PosixIdentity.registry_path)",
        )
        if name == "list":
            action.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            action.add_argument("name", help="the JupyterHub user (person or team account)")


def run_posix(args: argparse.Namespace) -> int:
    if not os.path.exists(args.registry):
        print(f"no record at {args.registry}: run this in the hub's directory, or pass --registry")
        return 2
    registry = Registry(args.registry)
    if args.posix_command == "forget":
        dropped = registry.forget(args.name)
        if not dropped:
            print(f"nothing recorded for {args.name!r}")
            return 1
        for record in dropped:
            print(f"forgot {record.kind} {record.number} ({record.system_name}) of {args.name!r}")
        return 0
    records = registry.records()
    if args.json:
        print(json.dumps([record.__dict__ for record in records], indent=2))
        return 0
    for r in records:
        print(f"{r.kind} {r.number:>10}  {r.system_name:<32} {r.name}  ({r.origin})")
    return 0
