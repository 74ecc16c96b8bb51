"""``jupyterhub-teams-singleuser``: deprecated; starts JupyterHub's own single-user server.

Team servers now run the image's own command: the hub lets the team's members in (see
``JupyterHubTeams.fix_group_share_tokens``) and jupyterhub-teams' Jupyter Server extension,
where the package is installed, loads through the ``jupyter_server_config.d`` file the package
installs (see :mod:`.extension`). This command stays so that hubs which set
``team_server_command = ["jupyterhub-teams-singleuser"]`` keep working.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

DEPRECATION = (
    "jupyterhub-teams-singleuser is deprecated and will be removed: team servers run "
    "jupyterhub-singleuser (or the image's own command) and jupyterhub-teams loads as a "
    "Jupyter Server extension. Remove c.JupyterHubTeams.team_server_command from the hub's "
    "configuration."
)


def main() -> Any:
    warnings.warn(DEPRECATION, DeprecationWarning, stacklevel=1)
    print(DEPRECATION, file=sys.stderr)
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main()
