"""``jupyterhub-teams demo``: write a hub config into the state folder, run the hub, and print
its URL once a person can log in."""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

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
    banner = (
        f"\njupyterhub-teams demo\n"
        f"  URL:        http://127.0.0.1:{args.port}/\n"
        f"  accounts:   {', '.join(people)} and {DEMO_ADMIN} (hub admin); password: demo\n"
        f"  teams:      "
        + ", ".join(f"{g.name} [{', '.join(sorted(g.members))}]" for g in snapshot.groups.values())
        + f"\n  directory:  {directory} (edit it: teams change within "
        f"{args.sync_interval:g} s)\n  state:      {state}\n"
    )
    print(f"jupyterhub-teams demo: starting the hub in {state}", flush=True)
    hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=state)
    # the demo is the hub for whoever runs it: a SIGTERM to it stops the hub, Ctrl-C reaches
    # both (one process group), and the demo exits with the hub's status
    signal.signal(signal.SIGTERM, lambda *_: hub.terminate())
    try:
        # the URL only once a person can log in with it: the login page answers and the
        # authenticator reads the directory itself until the first sync has run
        if _login_page_answers(args.port, hub):
            print(banner, flush=True)
        return hub.wait()
    except KeyboardInterrupt:
        return hub.wait()


def _login_page_answers(port: int, hub: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """Wait until the hub serves its login page; False if the hub exits first."""
    url = f"http://127.0.0.1:{port}/hub/login"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and hub.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False
