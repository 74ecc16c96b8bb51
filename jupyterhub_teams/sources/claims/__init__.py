"""Groups from the identity provider's claims: OIDC (Keycloak and others), GitHub teams, GitLab
groups.

* :mod:`.providers` reads a person's group paths from what each provider puts in a login;
* :mod:`.mapping` turns paths into teams (pure);
* :mod:`.source` is the source itself, :class:`ClaimGroups` (see there for how it works).

Configured with ``c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.claims.ClaimGroups"``.
"""

from .mapping import PATH_RULES, ClaimMapping, ClaimTeam, group_name, map_claims, path_segments
from .providers import (
    DEFAULT_CLAIMS,
    GITLAB_GROUPS_KEY,
    KINDS,
    extract_paths,
    gitlab_groups_hook,
    lookup_dotted,
)
from .source import ClaimGroups, claim_record, snapshot_from_groups

__all__ = [
    "DEFAULT_CLAIMS",
    "GITLAB_GROUPS_KEY",
    "KINDS",
    "PATH_RULES",
    "ClaimGroups",
    "ClaimMapping",
    "ClaimTeam",
    "claim_record",
    "extract_paths",
    "gitlab_groups_hook",
    "group_name",
    "lookup_dotted",
    "map_claims",
    "path_segments",
    "snapshot_from_groups",
]
