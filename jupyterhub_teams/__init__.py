"""jupyterhub-teams: the groups your organisation already has, as teams in JupyterHub.

Admins need one call::

    import jupyterhub_teams
    jupyterhub_teams.setup(c)
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .config import JupyterHubTeams
from .integration import setup


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # The single-user side (re-checking open websockets), enabled in every Jupyter Server of
    # the environment by the jupyter_server_config.d file the package installs; it does
    # nothing unless the hub asked for it (see jupyterhub_teams.team_server.extension).
    return [{"module": "jupyterhub_teams.team_server.extension"}]


__all__ = ["JupyterHubTeams", "__version__", "setup"]
