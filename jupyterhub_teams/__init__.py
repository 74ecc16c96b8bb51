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
    # The team server is JupyterHub's single-user extension app, subclassed; jupyter_server
    # finds an app through its top-level package.
    from .team_server.app import TeamServerApp

    return [{"module": "jupyterhub_teams.team_server.app", "app": TeamServerApp}]


__all__ = ["JupyterHubTeams", "__version__", "setup"]
