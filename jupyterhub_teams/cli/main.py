"""``jupyterhub-teams``: demo, plan, sync, audit, posix (and the service the hub runs)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from traitlets import TraitError

from ..config import JupyterHubTeams
from ..hub import HubClient
from ..service.sync import sync_once
from .audit import add_audit_command, run_audit
from .posix import add_posix_commands, run_posix


def _hub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url",
        default=os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8000/hub/api"),
        help="the hub's API URL (default: $JUPYTERHUB_API_URL)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="API token (default: $JUPYTERHUB_API_TOKEN; prefer the variable: flags are "
        "visible to other users of the machine)",
    )
    parser.add_argument("--account-prefix", default=JupyterHubTeams.account_prefix.default_value)
    parser.add_argument("--accounts-group", default=JupyterHubTeams.accounts_group.default_value)


def _directory_argument(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--directory",
        help="YAML directory file (see the docs for its format)",
    )
    where.add_argument(
        "--config",
        help="the hub's jupyterhub_config.py: use its c.JupyterHubTeams options and directory "
        "source (LDAP, claims, ...); secrets come from the same environment variables or files "
        "the hub uses",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyterhub-teams",
        description="Team servers for the groups your organisation already has.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a complete demo hub in the foreground")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--directory", default=None, help="YAML directory (default: a copy of the bundled one)"
    )
    demo.add_argument("--sync-interval", type=float, default=5.0)
    demo.add_argument("--state-dir", default="jupyterhub-teams-demo")

    plan = commands.add_parser("plan", help="show what a sync would change, change nothing")
    _directory_argument(plan)
    _hub_arguments(plan)
    plan.add_argument("--json", action="store_true", help="machine-readable output")

    sync = commands.add_parser("sync", help="apply one sync now")
    _directory_argument(sync)
    _hub_arguments(sync)
    sync.add_argument("--json", action="store_true", help="machine-readable output")
    sync.add_argument(
        "--allow-large-removal",
        action="store_true",
        help="apply removals even beyond the large-removal limit (after reading `plan`)",
    )

    add_audit_command(commands, _hub_arguments)

    add_posix_commands(commands)
    commands.add_parser("service", help="the background sync (started by the hub)")
    return parser


def _options(args: argparse.Namespace) -> JupyterHubTeams:
    config_file = getattr(args, "config", None)
    if config_file:
        return _options_from_hub_config(config_file)
    return JupyterHubTeams(
        account_prefix=args.account_prefix,
        accounts_group=args.accounts_group,
        directory=getattr(args, "directory", "") or "",
    )


def _options_from_hub_config(path: str) -> JupyterHubTeams:
    """The options of the hub configured by ``path`` (the file is executed, as the hub does)."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    folder, name = os.path.split(os.path.abspath(path))
    try:
        config = PyFileConfigLoader(name, folder).load_config()
    except ConfigFileNotFound as exc:
        raise SystemExit(f"jupyterhub-teams: no hub configuration at {path}") from exc
    return JupyterHubTeams(config=config)


def _client(args: argparse.Namespace) -> HubClient:
    token = args.token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise SystemExit("jupyterhub-teams: set $JUPYTERHUB_API_TOKEN (or --token)")
    return HubClient(args.api_url, token)


async def _plan_or_sync(args: argparse.Namespace, apply: bool) -> int:
    teams = _options(args)
    try:
        source = teams.make_source()
    except TraitError as exc:
        raise SystemExit(f"jupyterhub-teams: {exc}") from exc
    async with _client(args) as client:
        report = await sync_once(
            client,
            source,
            teams.policy(),
            apply=apply,
            allow_large_removal=getattr(args, "allow_large_removal", False),
        )
    if args.json:
        print(
            json.dumps(
                {
                    **report.plan.to_json(),
                    "applied": report.applied,
                    "error": report.error,
                    "writes": report.writes,
                },
                indent=2,
            )
        )
    else:
        print(report.plan.describe())
        print(report.summary(), file=sys.stderr)
    return 1 if report.error else 0


async def _audit(args: argparse.Namespace) -> int:
    teams = _options(args)
    async with _client(args) as client:
        return await run_audit(args, client, teams.policy())


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from ..demo.run import run_demo

        raise SystemExit(run_demo(args))
    if args.command == "service":
        from ..service.app import main as service_main

        service_main()
        return
    if args.command == "posix":
        raise SystemExit(run_posix(args))
    if args.command in ("plan", "sync"):
        raise SystemExit(asyncio.run(_plan_or_sync(args, apply=args.command == "sync")))
    raise SystemExit(asyncio.run(_audit(args)))
