"""``jupyterhub-teams-singleuser``: deprecated; JupyterHub's own single-user server, with the
jupyterhub-teams extension (:mod:`.extension`) switched on.

Team servers now run the image's own command: the hub lets the team's members in (see
``JupyterHubTeams.fix_group_share_tokens``) and the extension, where the package is installed,
loads through the ``jupyter_server_config.d`` file the package installs. This command stays so
that hubs which set ``team_server_command = ["jupyterhub-teams-singleuser"]`` keep working.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from jupyterhub.singleuser.extension import JupyterHubSingleUser
from traitlets.config import Config

DEPRECATION = (
    "jupyterhub-teams-singleuser is deprecated and will be removed: team servers run "
    "jupyterhub-singleuser (or the image's own command) and jupyterhub-teams loads as a "
    "Jupyter Server extension. Remove c.JupyterHubTeams.team_server_command from the hub's "
    "configuration."
)


class TeamServerApp(JupyterHubSingleUser):  # type: ignore[misc]
    """``jupyterhub-singleuser`` with the jupyterhub-teams extension switched on."""

    def load_config_file(self) -> None:
        super().load_config_file()
        override = Config()
        override.ServerApp.jpserver_extensions = {"jupyterhub_teams": True}
        self.config.merge(override)
        self.serverapp.update_config(override)


def main(argv: Any = None) -> None:
    warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=1)
    print(DEPRECATION, file=sys.stderr)
    TeamServerApp.launch_instance(argv)
