"""Which integration a hub gets: KubeSpawner keeps its own profile form (:mod:`.kubespawner`);
every other spawner gets ours (:mod:`.spawner`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from traitlets.config import Config

from .kubespawner import restrict_kubespawner
from .spawner import install_profiles

if TYPE_CHECKING:
    from ..config import JupyterHubTeams


def configure_profiles(c: Config, teams: JupyterHubTeams) -> None:
    """Wire group-restricted profiles into the hub configured by ``c`` (from ``setup(c)``).

    Raises ``ValueError`` (with :class:`ProfileConfigError` for a malformed list) at startup
    rather than at someone's first spawn.
    """
    kube_configured = "profile_list" in c.KubeSpawner and c.KubeSpawner.profile_list
    if kube_configured and teams.profile_list:
        raise ValueError(
            "Both c.KubeSpawner.profile_list and c.JupyterHubTeams.profile_list are set; with "
            "KubeSpawner keep the list in c.KubeSpawner.profile_list only."
        )
    if kube_configured:
        restrict_kubespawner(c, teams)
    elif teams.profile_list:
        install_profiles(c.Spawner, teams.profile_list, teams)
