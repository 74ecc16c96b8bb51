"""``setup(c)``: wire jupyterhub-teams into an existing ``jupyterhub_config.py``.

What it adds, and nothing else:

* the hub-managed sync service and its least-privilege role;
* a login guard refusing names under the reserved team-account prefix;
* a spawn hook that starts team accounts' servers with the team server command, and gives
  every server a stable POSIX identity when ``c.PosixIdentity.enabled`` is set; with it, a
  check inside the hub stopping a person's server that still carries a team they left
  (``c.PosixIdentity.removed_member_grace``).

Hooks the admin already set are kept and called after ours.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import LocalProcessSpawner
from tornado import web
from traitlets.config import Config

from ..config import JupyterHubTeams
from ..pages import CACHE_OPTION, configure_pages, make_revocation_step, with_pages
from ..posix.config import PosixIdentity
from ..posix.hook import PosixHook
from ..posix.leavers import LeaverEnforcer, starting_with_hub, with_stop_notice
from ..posix.spawners import PosixLocalProcessSpawner
from ..profiles import configure_profiles
from ..sources.base import NeedsHubEnvironment, ReadsGroupsAtLogin
from .accounts_guard import guard_team_accounts
from .hooks import Slot, call, install, value_slot
from .hub_fixes import fix_group_share_tokens, skip_consent_for_teammates
from .log_hygiene import keep_secrets_out_of_hub_log
from .login_sync import keeping_teams_at_refresh, make_login_sync, make_refresh_sync

Hook = Callable[..., Any]
log = logging.getLogger("jupyterhub_teams")

# What a team server's own $JUPYTERHUB_API_TOKEN may do: post the team account's activity.
TEAM_SERVER_TOKEN_SCOPES = ("users:activity!user",)


def _existing(section: Any, name: str) -> Any:
    return section.get(name)


def _append(section: Any, name: str, items: list[Any]) -> None:
    current = _existing(section, name)
    section[name] = [*(current or []), *items]


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
            return await call(then, authenticator, handler, authentication)
        return authentication

    return login_guard


def team_served_by(user: Any, teams: JupyterHubTeams) -> str | None:
    """The team a JupyterHub user (wrapper or orm) serves, when it is a team account."""
    return teams.team_served_by(user)


def is_team_account(user: Any, teams: JupyterHubTeams) -> bool:
    """A JupyterHub user (wrapper or orm) is a team account: reserved prefix and accounts group."""
    return team_served_by(user, teams) is not None


def make_team_refresh_skip(teams: JupyterHubTeams, then: Hook | None) -> Hook:
    """An OAuthenticator ``refresh_user_hook`` answering "up to date" for team accounts.

    Team accounts never log in, so they have no auth_state; OAuthenticator would answer "log
    in again" for them, and JupyterHub 6.1.1 then fails a member's cookie-authenticated REST
    start of a team server with a 500 (``refresh_pre_spawn``, on by default with auth_state,
    refreshes the server's owner). People's refreshes go on as configured.
    """

    async def team_refresh_skip(authenticator: Any, user: Any, auth_state: Any) -> Any:
        if is_team_account(user, teams):
            return True
        if then is not None:
            return await call(then, authenticator, user, auth_state)
        return None

    return team_refresh_skip


def make_spawn_hook(teams: JupyterHubTeams, then: Hook | None, steps: Iterable[Hook] = ()) -> Hook:
    """A ``pre_spawn_hook`` that turns a team account's server into a team server, then runs
    ``steps`` (the POSIX identity (:class:`~..posix.hook.PosixHook`), the pages' revocation
    interval) and ``then``."""
    steps = tuple(steps)

    async def team_spawn_hook(spawner: Any) -> None:
        team = team_served_by(spawner.user, teams)
        if team is not None:
            if teams.team_server_command:
                spawner.cmd = list(teams.team_server_command)
            # the hub's answer about a visitor is trusted this long (stock: 300 s)
            kept = [a for a in spawner.args if not str(a).startswith(CACHE_OPTION + "=")]
            spawner.args = [*kept, f"{CACHE_OPTION}={teams.revocation_interval}"]
            if not spawner.cmd and "KubeSpawner" in {c.__name__ for c in type(spawner).__mro__}:
                spawner.log.warning(
                    "%s: KubeSpawner drops arguments when its cmd is unset (the image's CMD), "
                    "so this team server trusts the hub for 300 s instead of %s s: set "
                    "c.KubeSpawner.cmd (z2jh: singleuser.cmd, jupyterhub-singleuser by default)",
                    spawner.user.name,
                    teams.revocation_interval,
                )
            spawner.environment = {
                **spawner.environment,
                "JUPYTERHUB_TEAMS_GROUP": team,
                "JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": str(teams.revocation_interval),
            }
        for step in steps:
            await call(step, spawner)
        if then is not None:
            await call(then, spawner)

    return team_spawn_hook


def make_server_token_scopes(teams: JupyterHubTeams, then: Any) -> Hook:
    """A ``Spawner.server_token_scopes`` callable: team servers' own token gets
    :data:`TEAM_SERVER_TOKEN_SCOPES`, other servers what ``then`` (the admin's setting) gives.

    Without ``access:servers!server`` (the default ``server`` role has it): a member can read a
    team server's ``$JUPYTERHUB_API_TOKEN`` in a terminal, and it must not stay a key to the
    server after they leave the team. The server needs its token only to post activity and as
    its OAuth client's secret, and the secret needs no scope. (A callable in the config, not the
    spawn hook: the hub makes the token before it runs ``pre_spawn_hook``.)

    Synchronous on purpose, returning the admin's callable's own result (a list or an
    awaitable): the hub awaits it while the spawn's database changes are not yet committed, and
    a coroutine of ours would yield to the event loop there. With ``slow_spawn_timeout = 0``
    (z2jh's setting) the spawn request then finishes, rolls those changes back, and the server
    never becomes ready. Only an admin's own async callable can still yield there, as it would
    without jupyterhub-teams.
    """

    def server_token_scopes(spawner: Any) -> Any:
        if team_served_by(spawner.user, teams) is not None:
            return list(TEAM_SERVER_TOKEN_SCOPES)
        return then(spawner) if callable(then) else list(then or [])

    return server_token_scopes


def _from_hub_environment(name: str) -> Callable[[Any], str]:
    """A service ``environment`` value that JupyterHub calls when it starts the service: the
    hub's own variable as it is at that moment, so the value is never part of the config."""

    def value(_spawner: Any) -> str:
        return os.environ.get(name, "")

    return value


def source_environment(teams: JupyterHubTeams) -> dict[str, Callable[[Any], str]]:
    """The hub's environment variables the directory source needs in the sync service.

    JupyterHub starts a managed service with a filtered environment (``PATH``, ``LANG``, … and
    what the service's ``environment`` names), so a secret such as an LDAP bind password set
    in the hub's environment would not reach the service. Sources name the variables they
    read (``service_environment()``); building the source here also checks its options when
    the hub starts.
    """
    if not teams.source_can(NeedsHubEnvironment):
        return {}
    source = teams.make_source()
    names = source.service_environment() if isinstance(source, NeedsHubEnvironment) else []
    return {name: _from_hub_environment(name) for name in names}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_LOCAL_SPAWNERS = ("", "default", "localprocess", "jupyterhub.spawner.LocalProcessSpawner")


def configure_posix(c: Config, teams: JupyterHubTeams) -> PosixHook | None:
    """The spawn step giving servers their POSIX identity, when ``PosixIdentity.enabled``.

    The hub's default ``LocalProcessSpawner`` is replaced by ``PosixLocalProcessSpawner``
    (the same spawner, switching to the resolved identity instead of looking the JupyterHub
    name up in ``/etc/passwd``); any other spawner class is kept.
    """
    options = PosixIdentity(config=c)
    if not options.enabled:
        return None
    spawner_class = _existing(c.JupyterHub, "spawner_class")
    if (
        spawner_class is None
        or spawner_class in _LOCAL_SPAWNERS
        or (spawner_class is LocalProcessSpawner)
    ):
        c.JupyterHub.spawner_class = PosixLocalProcessSpawner
    return PosixHook(options, teams.policy(), teams.make_source)


def setup(c: Config) -> JupyterHubTeams:
    """Add jupyterhub-teams to the hub configured by ``c``; returns the validated options.

    Call it after setting ``c.JupyterHubTeams`` options: the sync service gets the options as
    they are at this point.
    """
    teams = JupyterHubTeams(config=c)
    # the service role's filter on the accounts group is a boundary only while no person can
    # be put in that group or renamed into the prefix
    guard_team_accounts(teams.policy())
    environment: dict[str, Any] = {
        "JUPYTERHUB_TEAMS_CONFIG": teams.to_json(),
        # the hub's metrics namespace, so that the service's metrics sit next to the hub's
        "JUPYTERHUB_METRICS_PREFIX": _from_hub_environment("JUPYTERHUB_METRICS_PREFIX"),
        **source_environment(teams),
    }
    _append(
        c.JupyterHub,
        "services",
        [
            {
                "name": teams.service_name,
                "command": [sys.executable, "-m", "jupyterhub_teams", "service"],
                "environment": environment,
                # where the service serves its metrics (proxied at /services/<name>/)
                "url": f"http://127.0.0.1:{teams.service_port or free_port()}",
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
    apply_hub_fixes(teams)
    install_hooks(c, teams)
    configure_profiles(c, teams)
    configure_pages(c, teams)
    return teams


DEPRECATED_COMMAND = "jupyterhub-teams-singleuser"


def apply_hub_fixes(teams: JupyterHubTeams) -> None:
    """The hub-process changes that let team servers run on stock images (see
    :mod:`.hub_fixes`), as the options ask, and the hub log's secrets kept out (see
    :mod:`.log_hygiene`)."""
    keep_secrets_out_of_hub_log()
    if teams.fix_group_share_tokens:
        fix_group_share_tokens()
    if teams.skip_consent_for_members:
        skip_consent_for_teammates(teams.team_served_by)
    if any(DEPRECATED_COMMAND in str(part) for part in teams.team_server_command):
        log.warning(
            "c.JupyterHubTeams.team_server_command = %r is deprecated: team servers run the "
            "image's own command, and jupyterhub-teams, where it is installed next to the "
            "server, loads as a Jupyter Server extension. Remove the setting.",
            teams.team_server_command,
        )


def leaver_enforcer(posix: PosixHook | None) -> LeaverEnforcer | None:
    """What stops servers still carrying a team their owner left, when POSIX identity is on
    and ``PosixIdentity.removed_member_grace`` is not ``"never"``."""
    if posix is None:
        return None
    grace = posix.options.removed_member_grace_seconds
    if grace is None:
        log.warning(
            "PosixIdentity.removed_member_grace is 'never': a person removed from a team keeps "
            "its gid and directory in their running servers until those stop"
        )
        return None
    return LeaverEnforcer(posix.carried, grace, posix.options.removed_member_check_interval)


def install_hooks(c: Config, teams: JupyterHubTeams) -> None:
    """Our hooks in every slot they need, each composed once with the admin's (see
    :mod:`.hooks`)."""
    posix = configure_posix(c, teams)
    revocation = make_revocation_step(teams)
    spawn_steps = [step for step in (posix, revocation) if step is not None]

    def after_login(then: Hook) -> Hook:
        return make_login_guard(teams, make_login_sync(teams, then) if teams.login_sync else then)

    authenticator_class = with_pages(teams, {"refresh_user": keeping_teams_at_refresh})
    leavers = leaver_enforcer(posix)
    if leavers is not None:
        # the hub hands the authenticator its application once, at start: the enforcer's
        # loop starts there (see posix.leavers)
        authenticator_class = starting_with_hub(authenticator_class, leavers)
    slots = [
        # the pages' handlers, registered by the authenticator (see pages.wiring.with_pages)
        value_slot("authenticator_class", "JupyterHub", authenticator_class),
        Slot("post_auth_hook", "Authenticator", after_login, lambda _a, _h, auth: auth),
        Slot(
            "refresh_user_hook",
            "OAuthenticator",
            lambda then: make_team_refresh_skip(teams, then),
            lambda *_: None,
        ),
        Slot(
            "pre_spawn_hook",
            "Spawner",
            lambda then: make_spawn_hook(teams, then, spawn_steps),
            lambda _spawner: None,
        ),
        Slot(
            "server_token_scopes",
            "Spawner",
            lambda then: make_server_token_scopes(teams, then),
            lambda _spawner: [],
        ),
    ]
    if leavers is not None:
        # a person whose server was stopped for a team they left reads why on their home page
        slots.append(value_slot("template_vars", "JupyterHub", with_stop_notice(leavers)))
    # claim sources also apply at refresh_user (the hook exists from JupyterHub 6.1)
    refresh_hook_exists = hasattr(Authenticator, "reconcile_auth_state_hook")
    if teams.login_sync and teams.source_can(ReadsGroupsAtLogin) and refresh_hook_exists:
        slots.append(
            Slot(
                "reconcile_auth_state_hook",
                "Authenticator",
                lambda then: make_refresh_sync(teams, then) or then,
                lambda _a, model, _e: model.get("auth_state") if isinstance(model, dict) else None,
            )
        )
    install(c, slots)
