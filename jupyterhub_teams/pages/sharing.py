"""The Sharing page (``/hub/sharing``) and one server's card for the page's script.

Only displays. Every change — sharing with someone, share codes, revoking — is the person's own
call to the hub's REST API from the page, so the hub decides with its own rules and scopes; the
page offers only the rights levels the person holds on the server (the hub lets nobody share a
scope they do not hold).
"""

from __future__ import annotations

from typing import Any

from jupyterhub.utils import url_path_join
from tornado import web

from .base import PageHandler
from .rules import share_scopes
from .views import ServerShares, server_shares, shared_with_me, team_record

# Expiry choices offered for share codes (seconds, label); the hub accepts 60 s to one year.
CODE_LIFETIMES = [
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
    (30 * 86400, "30 days"),
    (365 * 86400, "1 year"),
]


class SharingBase(PageHandler):
    def shares_of(self, owner: Any, orm_spawner: Any) -> ServerShares:
        return server_shares(
            self, owner, orm_spawner, viewer=self.current_user.name, has_scope=self.has_scope
        )

    def page_ns(self) -> dict[str, Any]:
        return {
            "nav_active": "sharing",
            "code_lifetimes": CODE_LIFETIMES,
            "share_scopes": share_scopes,
            "pages_static": url_path_join(self.hub.base_url, "jupyterhub-teams/static"),
        }


class SharingPageHandler(SharingBase):
    @web.authenticated
    async def get(self) -> None:
        user = self.current_user
        own = [
            self.shares_of(user, spawner)
            for _, spawner in sorted(user.orm_user.orm_spawners.items())
        ]
        team_groups = {g.name for g in user.orm_user.groups if team_record(g) is not None}
        incoming = shared_with_me(self, user, has_scope=self.has_scope, team_groups=team_groups)
        # servers others shared with the right to share them further get a card too
        resharable: list[ServerShares] = []
        seen: set[tuple[str, str]] = set()
        for item in incoming:
            key = (item.owner, item.server_name)
            if not item.may_reshare or key in seen:
                continue
            seen.add(key)
            owner = self.find_user(item.owner)
            if owner is not None and item.server_name in owner.orm_spawners:
                resharable.append(self.shares_of(owner, owner.orm_spawners[item.server_name]))
        html = await self.render_page(
            "sharing.html",
            servers=own + resharable,
            incoming=incoming,
            **self.page_ns(),
        )
        self.finish(html)


class ShareCardHandler(SharingBase):
    """One server's card, rendered again after a change so that the page shows the hub's
    state. Only for someone who may manage that server's shares."""

    @web.authenticated
    async def get(self, owner_name: str, server_name: str) -> None:
        allowed = owner_name == self.current_user.name or self.has_scope(
            f"shares!server={owner_name}/{server_name}"
        )
        owner = self.find_user(owner_name) if allowed else None
        spawner = owner.orm_spawners.get(server_name) if owner is not None else None
        if spawner is None:
            raise web.HTTPError(404, "%s", f"No such server: {owner_name}/{server_name}")
        html = await self.render_page(
            "server_card_only.html", server=self.shares_of(owner, spawner), **self.page_ns()
        )
        self.finish(html)
