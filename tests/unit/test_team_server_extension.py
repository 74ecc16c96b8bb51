"""The single-user extension switches itself on only where the hub asked for re-checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from jupyterhub_teams.team_server.extension import interval_from_environment


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": ""}, None),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": "10"}, 10),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": " 7 "}, 7),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": "0"}, None),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": "-3"}, None),
        ({"JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": "ten"}, None),
    ],
)
def test_the_interval_comes_from_the_environment(
    environ: dict[str, str], expected: int | None
) -> None:
    assert interval_from_environment(environ) == expected


def test_the_installed_package_enables_the_extension_for_jupyter_server() -> None:
    """The ``jupyter_server_config.d`` file reaches the environment's config path."""
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"},
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"jupyterhub_teams\s+enabled", listing), listing
    assert re.search(r"jupyterhub_teams \S+ OK", listing), listing
