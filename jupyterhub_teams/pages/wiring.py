"""The pages' wiring: their handlers (registered through the authenticator's
``get_handlers``), templates and scopes, and the pre-spawn step that shortens how long servers
trust a share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets.config import Config

if TYPE_CHECKING:
    from ..config import JupyterHubTeams

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# What people need to share their own servers from the Sharing page: JupyterHub's default
# ``user`` role lets them read and revoke shares but not create them (``shares``), and sharing
# with someone by name needs ``read:users:name`` for that someone.
PAGES_USER_SCOPES = ("shares!user", "read:users:name")

# The single-user server option that sets how long it trusts the hub's answer about a visitor.
CACHE_OPTION = "--HubOAuth.cache_max_age"

Hook = Callable[..., Any]


def handlers(teams: JupyterHubTeams) -> list[tuple[Any, ...]]:
    """The pages' routes, relative to the hub's prefix (``/hub`` under any ``base_url``)."""
    from tornado.web import StaticFileHandler

    from .admin_page import AdminPageHandler, HoldDecisionHandler
    from .sharing import ShareCardHandler, SharingPageHandler
    from .teams_api import (
        AdminHandler,
        CreateTeamHandler,
        InviteHandler,
        InvitesHandler,
        MemberHandler,
        MembersHandler,
        TeamHandler,
    )
    from .teams_page import JoinHandler, TeamCardHandler, TeamsPageHandler

    kw = {"teams": teams}
    team = r"/teams/api/teams/([^/]+)"
    return [
        (r"/teams", TeamsPageHandler, kw),
        (r"/teams/admin", AdminPageHandler, kw),
        (r"/teams/admin/holds", HoldDecisionHandler, kw),
        (r"/teams/join", JoinHandler, kw),
        (r"/teams/card/([^/]+)", TeamCardHandler, kw),
        (r"/teams/api/teams", CreateTeamHandler, kw),
        (team, TeamHandler, kw),
        (team + r"/invites", InvitesHandler, kw),
        (team + r"/invites/([^/]+)", InviteHandler, kw),
        (team + r"/members", MembersHandler, kw),
        (team + r"/members/([^/]+)", MemberHandler, kw),
        (team + r"/admins/([^/]+)", AdminHandler, kw),
        (r"/sharing", SharingPageHandler, kw),
        (r"/sharing/card/([^/]+)/([^/]*)", ShareCardHandler, kw),
        (r"/jupyterhub-teams/static/(.*)", StaticFileHandler, {"path": str(STATIC)}),
    ]


def make_revocation_step(teams: JupyterHubTeams) -> Hook | None:
    """A ``pre_spawn_hook`` step making people's own servers ask the hub about visitors every
    ``share_revocation_interval`` seconds, so that a revoked share ends soon; None when the
    interval is 0 (the servers' own setting stays).

    Team servers are left alone: they have their own, shorter interval.
    """
    interval = teams.share_revocation_interval
    if not interval:
        return None

    def share_revocation_step(spawner: Any) -> None:
        if not teams.is_team_account(spawner.user):
            kept = [a for a in spawner.args if not str(a).startswith(CACHE_OPTION + "=")]
            spawner.args = [*kept, f"{CACHE_OPTION}={interval}"]
            # where jupyterhub-teams is installed next to the server, its extension also
            # closes a revoked visitor's open kernels and terminals on this interval
            spawner.environment = {
                **spawner.environment,
                "JUPYTERHUB_TEAMS_REVOCATION_INTERVAL": str(interval),
            }

    return share_revocation_step


# Set on the authenticator classes made by :func:`with_pages`, so that wrapping one again
# returns it unchanged.
_SERVES_PAGES = "_jupyterhub_teams_pages"


def with_pages(
    teams: JupyterHubTeams, extra: Mapping[str, Callable[..., Any]] | None = None
) -> Callable[[Any], Any]:
    """Make an ``authenticator_class`` value (a class, an import string or an entry point name
    such as ``"dummy"``; None for the hub's default) into a subclass that also registers the
    pages' handlers, through ``Authenticator.get_handlers``. ``extra`` maps method names to
    ``(base_method) -> method`` builders for other layers' overrides of the same subclass.

    That is how JupyterHub lets an extension add pages under the hub's prefix (NativeAuthenticator
    adds its sign-up pages the same way); ``JupyterHub.extra_handlers`` is deprecated and warns
    at every start. The subclass keeps the class's name, so its ``c.<Name>`` settings, log lines
    and admin views are unchanged.
    """

    def compose(value: Any) -> Any:
        from jupyterhub.app import JupyterHub

        trait = JupyterHub.class_traits()["authenticator_class"]
        base = trait.validate(None, trait.default() if value is None else value)
        if base.__dict__.get(_SERVES_PAGES):
            return base
        routes = handlers(teams)

        def get_handlers(self: Any, app: Any) -> list[tuple[Any, ...]]:
            return [*base.get_handlers(self, app), *routes]

        namespace = {
            "get_handlers": get_handlers,
            _SERVES_PAGES: True,
            "__module__": base.__module__,
            "__doc__": base.__doc__,
        }
        for name, build in (extra or {}).items():
            namespace[name] = build(getattr(base, name))
        return type(base.__name__, (base,), namespace)

    return compose


def configure_pages(c: Config, teams: JupyterHubTeams) -> None:
    """Add the Teams and Sharing pages' templates and scopes to the hub configured by ``c``.

    * this package's templates after any the admin configured, so an admin's own
      ``page.html`` still wins (the pages then lose only their links in the navigation bar);
    * the scopes people need to share their own servers, added to the ``user`` role
      (``c.JupyterHub.extra_user_scopes``) when ``user_sharing`` is on.

    ``setup(c)`` registers the handlers (:func:`with_pages`) and the pre-spawn step shortening
    how long people's servers trust a share (:func:`make_revocation_step`) with the other hooks.
    """
    section = c.JupyterHub
    paths = list(section.get("template_paths") or [])
    if str(TEMPLATES) not in paths:
        section.template_paths = [*paths, str(TEMPLATES)]
    if teams.user_sharing:
        scopes = set(section.get("extra_user_scopes") or ())
        section.extra_user_scopes = scopes | set(PAGES_USER_SCOPES)
