"""The team server: JupyterHub's single-user server, letting in the team's *current* members.

Why it exists (measured on JupyterHub 6.1): a share with a *group* lets members through the
hub's OAuth step but the token they get does not carry the group's share, so the stock
single-user server answers 403. Granting one share per member would cost a hub write per
membership. Instead the team server trusts the hub's own answer about the visitor — the
``groups`` field of ``GET /hub/api/user``, which every OAuth token may read — and:

* lets in a visitor whose groups include the team's group (``$JUPYTERHUB_TEAMS_GROUP``);
* asks the hub again after ``revocation_interval`` seconds instead of 300, so a removed member's
  next request gets 403 quickly;
* re-checks the owners of open websockets (kernels, terminals, collaboration rooms) on the same
  interval and closes those whose owner lost access, which stock servers never do.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import weakref
from typing import Any

from jupyterhub.services.auth import HubOAuth
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubSingleUser
from tornado.websocket import WebSocketHandler
from traitlets import Integer, Unicode, default
from traitlets.config import Config

log = logging.getLogger("jupyterhub_teams.team_server")

# Close code sent to a websocket whose owner lost access (4000-4999 are for applications).
REVOKED_CLOSE_CODE = 4403
# Set on a user model that came from this server's own login cookie. Membership of the team's
# group counts as access only then: a token presented in a header or a URL (always honoured on
# websockets) may have been issued to another server, or be an API token with other scopes, and
# would otherwise let anyone holding a member's token in — a replay from a server the member
# merely visited. Such tokens get in only by their own scopes, as on any server.
VIA_OWN_LOGIN = "jupyterhub_teams_via_own_login"


class TeamHubOAuth(HubOAuth):  # type: ignore[misc]
    """HubOAuth that counts current membership of the team's group as access."""

    team_group = Unicode(help="JupyterHub group whose members may use this server.").tag(
        config=True
    )

    @default("team_group")
    def _team_group_from_env(self) -> str:
        return os.environ.get("JUPYTERHUB_TEAMS_GROUP", "")

    revocation_interval = Integer(
        10, help="Seconds to trust the hub's answer about a visitor."
    ).tag(config=True)

    @default("revocation_interval")
    def _revocation_interval_from_env(self) -> int:
        return int(os.environ.get("JUPYTERHUB_TEAMS_REVOCATION_INTERVAL", "10"))

    @default("cache_max_age")
    def _revocation_cache_max_age(self) -> int:
        return self.revocation_interval

    def is_member(self, user: dict[str, Any] | None) -> bool:
        return bool(
            user
            and self.team_group
            and user.get(VIA_OWN_LOGIN)
            and user.get("kind", "user") == "user"
            and self.team_group in (user.get("groups") or ())
        )

    async def _get_user(self, handler: Any) -> Any:
        user = await super()._get_user(handler)
        if user and self.came_from_own_login(handler):
            # A copy: HubAuth caches the model per token and shares it between requests.
            user = {**user, VIA_OWN_LOGIN: True}
            handler._cached_hub_user = user
        return user

    def came_from_own_login(self, handler: Any) -> bool:
        """Whether the request's token is the one in this server's own login cookie.

        That cookie is signed with this server's secret and holds only a token the hub issued
        to this server's OAuth client. JupyterLab sends the same token again in headers and
        websocket URLs (JupyterHub hands it to the page), so a header or URL token counts
        when it equals the cookie's; anyone else's token, presented without that cookie, does
        not.
        """
        own = self._get_token_cookie(handler)
        if not own:
            return False
        if not getattr(handler, "_token_authenticated", False):
            return True  # authenticated by the cookie itself
        presented = self.get_token(handler, in_cookie=False) or ""
        return hmac.compare_digest(presented.encode(), own.encode())

    def check_scopes(self, required_scopes: Any, user: dict[str, Any]) -> set[str]:
        granted: set[str] = super().check_scopes(required_scopes, user)
        if granted or not self.is_member(user):
            return granted
        required = {required_scopes} if isinstance(required_scopes, str) else set(required_scopes)
        # membership stands for exactly the access scopes of this server, nothing broader
        return required & set(self.access_scopes)


class TeamIdentityProvider(JupyterHubIdentityProvider):  # type: ignore[misc]
    """Identity provider that also watches websockets and closes revoked ones."""

    @default("hub_auth")
    def _default_hub_auth(self) -> TeamHubOAuth:
        return TeamHubOAuth(parent=self)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # each open websocket → (its token, whether the token came from this server's login)
        self._sockets: weakref.WeakKeyDictionary[WebSocketHandler, tuple[str, bool]] = (
            weakref.WeakKeyDictionary()
        )
        self._watcher: asyncio.Task[None] | None = None

    async def get_user(self, handler: Any) -> Any:
        user = await super().get_user(handler)
        if user is not None and isinstance(handler, WebSocketHandler):
            token = self.hub_auth.get_token(handler)
            if token:
                via_own_login = bool(getattr(user, "hub_user", {}).get(VIA_OWN_LOGIN))
                self._sockets[handler] = (token, via_own_login)
                if self._watcher is None or self._watcher.done():
                    self._watcher = asyncio.ensure_future(self._watch())
        return user

    async def _watch(self) -> None:
        while self._sockets:
            await asyncio.sleep(self.hub_auth.revocation_interval)
            await self.close_revoked()

    async def close_revoked(self) -> int:
        """Ask the hub about every open websocket's owner; close the ones without access."""
        by_token: dict[tuple[str, bool], list[WebSocketHandler]] = {}
        for handler, key in list(self._sockets.items()):
            by_token.setdefault(key, []).append(handler)
        closed = 0
        for (token, via_own_login), handlers in by_token.items():
            try:
                user = await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
            except Exception as exc:  # the hub being down must not disconnect everyone
                self.log.warning("Could not re-check a websocket's owner: %s", exc)
                continue
            if user and via_own_login:
                user = {**user, VIA_OWN_LOGIN: True}
            if user and self.hub_auth.check_scopes(self.hub_auth.access_scopes, user):
                continue
            who = user["name"] if user else "a visitor whose token was revoked"
            for handler in handlers:
                self.log.warning("Closing a websocket of %s: access was revoked", who)
                self._sockets.pop(handler, None)
                handler.close(REVOKED_CLOSE_CODE, "access to this team server was revoked")
                closed += 1
        return closed


class TeamServerApp(JupyterHubSingleUser):  # type: ignore[misc]
    """``jupyterhub-singleuser`` with :class:`TeamIdentityProvider`."""

    def load_config_file(self) -> None:
        super().load_config_file()
        # The parent pushes its config into the server at the end of this method, so ours has
        # to be pushed the same way to take the same (highest) priority.
        override = Config()
        override.ServerApp.identity_provider_class = TeamIdentityProvider
        self.config.merge(override)
        self.serverapp.update_config(override)


main = TeamServerApp.launch_instance
