"""`jupyterhub-teams demo` exactly as its contract says, run as a person would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from jupyterhub_teams.demo.hub import free_port

from .harness import Person, RunningHub, wait_for


def test_demo_comes_up_with_the_bundled_directory_and_follows_edits(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "state"
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterhub_teams",
            "demo",
            "--port",
            str(port),
            "--state-dir",
            str(state),
            "--sync-interval",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # the URL is printed only once a person can log in: log in the moment it appears
        wait_for(
            lambda: f"URL:        http://127.0.0.1:{port}/" in (tmp_path / "demo.log").read_text(),
            60,
            interval=0.05,
            what="the demo's URL",
        )
        Person(RunningHub(url), "bob").logged_in().close()
        banner = (tmp_path / "demo.log").read_text()
        assert "alice, bob, carol, dave, erin and admin (hub admin); password: demo" in banner
        directory = state / "directory.yaml"
        assert str(directory) in banner

        view = RunningHub(url)
        admin = Person(view, "admin").logged_in()

        def group(name: str) -> list[str] | None:
            r = admin.hub_api("GET", f"groups/{name}")
            return sorted(r.json()["users"]) if r.status_code == 200 else None

        wait_for(lambda: group("physics") == ["alice", "bob"], 30, what="the physics team")
        assert group("chemistry") == ["alice", "carol"]
        assert group("gpu-users") == ["erin"]
        for name in ("alice", "bob", "carol", "dave", "erin"):
            Person(view, name).logged_in().close()
        assert Person(view, "mallory").login().status_code != 302

        data = yaml.safe_load(directory.read_text())
        data["groups"]["physics"]["members"].append("dave")
        directory.write_text(yaml.safe_dump(data))
        edited = time.monotonic()
        wait_for(lambda: group("physics") == ["alice", "bob", "dave"], 15, what="dave in physics")
        print(f"directory edit reached the hub in {time.monotonic() - edited:.1f} s")
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        log.close()
