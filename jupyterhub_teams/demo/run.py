"""``jupyterhub-teams demo``: write a hub config into the state folder and run the hub."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from ..sources import SourceError, YAMLDirectory
from .hub import BUNDLED_DIRECTORY, DEMO_ADMIN
from .proxy import find_proxy

_CONFIG = """\
# Written by `jupyterhub-teams demo`; edit the directory file, not this one.
from jupyterhub_teams.demo.hub import configure_demo

configure_demo(
    c,
    state_dir={state!r},
    directory={directory!r},
    port={port!r},
    proxy_command={proxy!r},
    sync_interval={interval!r},
)
"""


def run_demo(args: argparse.Namespace) -> int:
    state = Path(args.state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    if args.directory:
        directory = Path(args.directory).resolve()
    else:
        directory = state / "directory.yaml"
        if not directory.exists():
            shutil.copyfile(BUNDLED_DIRECTORY, directory)
    try:
        snapshot = YAMLDirectory(directory)._read()
    except SourceError as exc:
        print(f"jupyterhub-teams demo: {exc}", file=sys.stderr)
        return 2
    proxy = find_proxy()
    config = state / "jupyterhub_config.py"
    config.write_text(
        _CONFIG.format(
            state=str(state),
            directory=str(directory),
            port=args.port,
            proxy=proxy,
            interval=args.sync_interval,
        )
    )
    people = sorted(set(snapshot.people).union(*(g.members for g in snapshot.groups.values())))
    print(
        f"\njupyterhub-teams demo\n"
        f"  URL:        http://127.0.0.1:{args.port}/\n"
        f"  accounts:   {', '.join(people)} and {DEMO_ADMIN} (hub admin); password: demo\n"
        f"  teams:      "
        + ", ".join(f"{g.name} [{', '.join(sorted(g.members))}]" for g in snapshot.groups.values())
        + f"\n  directory:  {directory} (edit it: teams change within "
        f"{args.sync_interval:g} s)\n  state:      {state}\n",
        flush=True,
    )
    os.chdir(state)
    # replace this process by the hub, so that the demo is the hub (signals, exit status)
    command = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
    os.execv(sys.executable, command)  # noqa: S606
