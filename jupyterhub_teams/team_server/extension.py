"""The single-user side of jupyterhub-teams: a Jupyter Server extension that ends a removed
visitor's open connections.

A stock single-user server checks a visitor when a request arrives, trusting the hub's answer
for ``HubOAuth.cache_max_age`` seconds, and never looks at an open websocket again: a member
removed from a team keeps their kernels, terminals and collaboration rooms for as long as the
connections stay open. Where jupyterhub-teams is installed next to the server, this extension
re-checks the owner of every open websocket against the hub on an interval and closes those
whose owner lost access.

It is switched on by the environment the hub gives a server
(``$JUPYTERHUB_TEAMS_REVOCATION_INTERVAL``, set by ``setup(c)`` for team servers and for
people's servers while shares are revoked quickly) and does nothing anywhere else. It is
enabled for every Jupyter Server in the environment by the ``jupyter_server_config.d`` file
the package installs, so no image's command changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from typing import Any

from tornado.websocket import WebSocketHandler

INTERVAL_VARIABLE = "JUPYTERHUB_TEAMS_REVOCATION_INTERVAL"
# Close code sent to a websocket whose owner lost access (4000-4999 are for applications).
REVOKED_CLOSE_CODE = 4403

log = logging.getLogger("jupyterhub_teams.team_server")


def interval_from_environment(environ: Any = os.environ) -> int | None:
    """Seconds between re-checks, or None when the hub did not ask for them."""
    raw = environ.get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        seconds = int(raw)
    except ValueError:
        log.warning("Ignoring %s=%r: not a whole number of seconds", INTERVAL_VARIABLE, raw)
        return None
    return seconds if seconds > 0 else None


class RevocationWatcher:
    """Remembers the token behind each open websocket and closes the ones whose owner has lost
    access, asking the hub (uncached) every ``interval`` seconds."""

    def __init__(self, hub_auth: Any, interval: int) -> None:
        self.hub_auth = hub_auth
        self.interval = interval
        self._sockets: weakref.WeakKeyDictionary[WebSocketHandler, str] = (
            weakref.WeakKeyDictionary()
        )
        self._task: asyncio.Task[None] | None = None

    def watch(self, handler: WebSocketHandler) -> None:
        token = self.hub_auth.get_token(handler)
        if not token:
            return
        self._sockets[handler] = token
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self._sockets:
            await asyncio.sleep(self.interval)
            await self.close_revoked()

    async def close_revoked(self) -> int:
        """Close every watched websocket whose owner has no access now; returns how many."""
        by_token: dict[str, list[WebSocketHandler]] = {}
        for handler, token in list(self._sockets.items()):
            by_token.setdefault(token, []).append(handler)
        closed = 0
        for token, handlers in by_token.items():
            try:
                user = await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
            except Exception as exc:  # the hub being down must not disconnect everyone
                log.warning("Could not re-check a websocket's owner: %s", exc)
                continue
            if user and self.hub_auth.check_scopes(self.hub_auth.access_scopes, user):
                continue
            who = user["name"] if user else "a visitor whose token was revoked"
            for handler in handlers:
                log.warning("Closing a websocket of %s: their access was revoked", who)
                self._sockets.pop(handler, None)
                handler.close(REVOKED_CLOSE_CODE, "access to this server was revoked")
                closed += 1
        return closed


def install(provider: Any, interval: int) -> RevocationWatcher:
    """Watch the websockets ``provider`` (JupyterHub's identity provider) lets in."""
    hub_auth = provider.hub_auth
    watcher = RevocationWatcher(hub_auth, interval)
    get_user = provider.get_user

    async def get_user_and_watch(handler: Any) -> Any:
        user = await get_user(handler)
        if user is not None and isinstance(handler, WebSocketHandler):
            watcher.watch(handler)
        return user

    # on the instance: the identity provider's class stays the one the server configured
    provider.get_user = get_user_and_watch
    return watcher


def _load_jupyter_server_extension(serverapp: Any) -> None:
    interval = interval_from_environment()
    if interval is None:
        return  # not started by a hub that asked for re-checks
    provider = serverapp.identity_provider
    if getattr(provider, "hub_auth", None) is None:
        serverapp.log.warning(
            "jupyterhub-teams: %s is set but this server is not JupyterHub's single-user "
            "server; open connections are not re-checked",
            INTERVAL_VARIABLE,
        )
        return
    serverapp.jupyterhub_teams_watcher = install(provider, interval)
    serverapp.log.info(
        "jupyterhub-teams: open websockets are re-checked against the hub every %s s", interval
    )
