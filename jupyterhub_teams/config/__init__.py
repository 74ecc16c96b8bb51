"""Every option of jupyterhub-teams, as traitlets on one configurable, :class:`JupyterHubTeams`.

Set them in ``jupyterhub_config.py`` as ``c.JupyterHubTeams.<option> = …`` *before* calling
``jupyterhub_teams.setup(c)``. The documentation's configuration reference is generated from
their help text.
"""

from .teams import JupyterHubTeams

__all__ = ["JupyterHubTeams"]
