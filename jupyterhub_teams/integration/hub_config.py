"""``setup(c)``: wire jupyterhub-teams into an existing ``jupyterhub_config.py``.

What it adds, and nothing else:

* the hub-managed sync service and its least-privilege role;
* a login guard refusing names under the reserved team-account prefix;
* a spawn hook that starts team accounts' servers with the team server command.

Hooks the admin already set are kept and called after ours.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tornado import web
from traitlets.config import Config

from ..config import JupyterHubTeams
from ..profiles import configure_profiles

Hook = Callable[..., Any]


def _existing(section: Any, name: str) -> Any:
    return section.get(name)


def _append(section: Any, name: str, items: list[Any]) -> None:
    current = _existing(section, name)
    section[name] = [*(current or []), *items]


async def _maybe_await(value: Any) -> Any:
    if isinstance(value, Awaitable):
        return await value
    return value


def make_login_guard(teams: JupyterHubTeams, then: Hook | None) -> Hook:
    """A ``post_auth_hook`` refusing the reserved prefix, chaining ``then``."""
    prefix = teams.account_prefix

    async def login_guard(authenticator: Any, handler: Any, authentication: Any) -> Any:
        name = authentication.get("name", "") if isinstance(authentication, dict) else ""
        if name.lower().startswith(prefix):
            raise web.HTTPError(
                403,
                reason=(
                    f"Names starting with {prefix!r} are reserved for team accounts; "
                    "nobody can log in as one."
                ),
            )
        if then is not None:
            return await _maybe_await(then(authenticator, handler, authentication))
        return authentication

    return login_guard


def is_team_account(user: Any, teams: JupyterHubTeams) -> bool:
    """A JupyterHub user (wrapper or orm) is a team account: reserved prefix and accounts group."""
    name = getattr(user, "name", "")
    groups = {g.name for g in getattr(user, "groups", [])}
    return bool(name.startswith(teams.account_prefix) and teams.accounts_group in groups)


def make_spawn_hook(teams: JupyterHubTeams, then: Hook | None) -> Hook:
    """A ``pre_spawn_hook`` that turns a team account's server into a team server."""

    async def team_spawn_hook(spawner: Any) -> None:
        if is_team_account(spawner.user, teams):
            team = spawner.user.name[len(teams.account_prefix) :]
            spawner.cmd = list(teams.team_server_command)
            spawner.environment = {
                **spawner.environment,
                "JUPYTERHUB_TEAMS_GROUP": team,
                "JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": str(teams.revocation_interval),
            }
        if then is not None:
            await _maybe_await(then(spawner))

    return team_spawn_hook


def setup(c: Config) -> JupyterHubTeams:
    """Add jupyterhub-teams to the hub configured by ``c``; returns the validated options.

    Call it after setting ``c.JupyterHubTeams`` options: the sync service gets the options as
    they are at this point.
    """
    teams = JupyterHubTeams(config=c)
    environment = {"JUPYTERHUB_TEAMS_CONFIG": teams.to_json()}
    _append(
        c.JupyterHub,
        "services",
        [
            {
                "name": teams.service_name,
                "command": [sys.executable, "-m", "jupyterhub_teams", "service"],
                "environment": environment,
                "display": False,
            }
        ],
    )
    _append(
        c.JupyterHub,
        "load_roles",
        [
            {
                "name": f"{teams.service_name}-service",
                "description": "jupyterhub-teams sync: team accounts, groups and team shares",
                "scopes": teams.service_scopes(),
                "services": [teams.service_name],
            }
        ],
    )
    c.Authenticator.post_auth_hook = make_login_guard(
        teams, _existing(c.Authenticator, "post_auth_hook")
    )
    c.Spawner.pre_spawn_hook = make_spawn_hook(teams, _existing(c.Spawner, "pre_spawn_hook"))
    configure_profiles(c, teams)
    return teams
