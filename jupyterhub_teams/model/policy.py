"""The deployment's rules the planner, sources and surfaces share: names and switches, no I/O."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..naming import DEFAULT_ACCOUNT_PREFIX, DEFAULT_MAX_TEAM_NAME_LENGTH

DEFAULT_ACCOUNTS_GROUP = "jupyterhub-teams-accounts"


@dataclass(frozen=True)
class Policy:
    account_prefix: str = DEFAULT_ACCOUNT_PREFIX
    # JupyterHub group holding every team account; the service's role is filtered to it.
    accounts_group: str = DEFAULT_ACCOUNTS_GROUP
    max_team_name_length: int = DEFAULT_MAX_TEAM_NAME_LENGTH
    # Create directory people in the hub before they first log in, so that group membership
    # (and with it team access) is in place from their first request.
    create_people: bool = True
    # A plan removing more than this share of current memberships and teams (and at least
    # ``large_removal_minimum`` of them) is held back until an admin confirms it: a directory
    # that suddenly answers with far fewer members is more often broken than right.
    large_removal_fraction: float = 0.5
    large_removal_minimum: int = 10
    # Team names starting with this belong to teams people create in the hub (the pages);
    # directory groups never get them, so neither side can take the other's name.
    adhoc_prefix: str = "adhoc-"

    def team_served_by(self, user_name: str, group_names: Collection[str]) -> str | None:
        """The team a hub user's server serves, if the user is a team account: the reserved
        prefix *and* membership of the accounts group (which only the sync grants), never the
        name alone."""
        prefix = self.account_prefix
        if (
            len(user_name) > len(prefix)
            and user_name.startswith(prefix)
            and self.accounts_group in group_names
        ):
            return user_name[len(prefix) :]
        return None

    def reserved_team_prefixes(self) -> dict[str, str]:
        """Prefixes no directory group's team name may start with, and what each is for."""
        return {
            # `collab-collab-x` would read like a team account's name everywhere it is shown
            self.account_prefix: "the names of team accounts",
            self.adhoc_prefix: "teams people create in the hub",
        }

    def share_scopes(self, account: str) -> tuple[str, ...]:
        """Scopes a team's members get on its server: use it, and start and stop it."""
        return (f"access:servers!server={account}/", f"servers!server={account}/")
