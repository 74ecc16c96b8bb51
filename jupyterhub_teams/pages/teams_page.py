"""The Teams page (``/hub/teams``), one team's card for the page's script, and the page that
accepts an invitation (``/hub/teams/join``)."""

from __future__ import annotations

import time
from typing import Any

from jupyterhub import orm
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httputil import url_concat

from ..model import TeamRecord
from ..plan import AddGroupMembers
from .base import PageHandler
from .invites import find_invite, load_invites, prune, record_use, store_invites, team_of_code
from .rules import Refused, check_join, utcnow
from .views import TeamView, needs_form, team_record, team_view

# The cookie keeping an invitation code while its visitor logs in, and how long it lives.
CODE_COOKIE = "jupyterhub-teams-invite"
CODE_COOKIE_SECONDS = 600

# Expiry choices offered for invitations (seconds, label).
INVITE_LIFETIMES = [
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
    (30 * 86400, "30 days"),
]


class TeamsBase(PageHandler):
    async def view_of(self, group: Any, record: TeamRecord) -> TeamView | None:
        view = team_view(
            self, group, record, viewer=self.current_user.name, has_scope=self.has_scope
        )
        if view is not None:
            view.spawn_url = await needs_form(self, view)
        return view

    def sees_all_teams(self) -> bool:
        """Hub admins (anyone who may read every group) see every team, retired ones too."""
        return bool(self.has_scope("read:groups") and self.has_scope("read:servers"))

    def page_ns(self) -> dict[str, Any]:
        return {
            "nav_active": "teams",
            "invite_lifetimes": INVITE_LIFETIMES,
            "pages_static": url_path_join(self.hub.base_url, "jupyterhub-teams/static"),
        }


class TeamsPageHandler(TeamsBase):
    @web.authenticated
    async def get(self) -> None:
        user = self.current_user
        mine: list[TeamView] = []
        for group in sorted(user.orm_user.groups, key=lambda g: g.name):
            record = team_record(group)
            if record is not None and (view := await self.view_of(group, record)):
                mine.append(view)
        others: list[TeamView] = []
        if self.sees_all_teams():
            names = {v.name for v in mine}
            for group in self.db.query(orm.Group).order_by(orm.Group.name):
                record = team_record(group)
                if record is None or group.name in names:
                    continue
                if view := team_view(
                    self, group, record, viewer=user.name, has_scope=self.has_scope
                ):
                    others.append(view)
        refusal = None if self.is_team_account(user) else self.create_refusal(user)
        html = await self.render_page(
            "teams.html",
            my_teams=mine,
            other_teams=others,
            # only a team one really is in: the argument is part of a URL anyone can write
            joined=next((v.name for v in mine if v.name == self.get_argument("joined", "")), ""),
            can_create=not self.is_team_account(user) and refusal is None,
            cannot_create=refusal.message if refusal is not None else "",
            **self.page_ns(),
        )
        self.finish(html)


class TeamCardHandler(TeamsBase):
    """One team's card, rendered again after an action so that the page shows the hub's state."""

    @web.authenticated
    async def get(self, name: str) -> None:
        group, record = self.find_team(name)
        if self.current_user.name not in {u.name for u in group.users} and not (
            self.sees_all_teams()
        ):
            raise web.HTTPError(404, "%s", f"There is no team named {name!r}.")
        view = await self.view_of(group, record)
        if view is None:
            raise web.HTTPError(404, "%s", f"Team {name!r} has no account.")
        html = await self.render_page("team_card_only.html", team=view, **self.page_ns())
        self.finish(html)


class JoinHandler(TeamsBase):
    """``GET`` shows what the invitation is for (and changes nothing, so link previews are
    harmless); ``POST`` (a form with the hub's XSRF token) joins."""

    def _check(self, code: str) -> tuple[Any, Any, Any]:
        team = team_of_code(code)
        group = orm.Group.find(self.db, name=team)
        record = team_record(group) if group is not None else None
        if group is None or record is None:
            raise Refused(404, "The team this invitation is for does not exist any more.")
        invite = find_invite(load_invites(group.properties or {}), code, utcnow())
        if not self._may_still_invite(invite.created_by, record):
            raise Refused(
                410,
                "This invitation was withdrawn: the person who made it is no longer an admin "
                "of the team. Ask a team admin for a new one.",
            )
        check_join(self.team_facts(group, record), self.current_user.name)
        if self.is_team_account(self.current_user):
            raise Refused(403, "Team accounts cannot join teams.")
        return group, record, invite

    def _may_still_invite(self, person: str, record: TeamRecord) -> bool:
        """An invitation works only while its maker is an admin of the team or of the hub."""
        if person in record.admins:
            return True
        maker = orm.User.find(self.db, name=person) if person else None
        return bool(maker is not None and maker.admin)

    def _join_path(self) -> str:
        return str(url_path_join(self.hub.base_url, "teams/join"))

    def _code(self) -> str:
        """The code in the URL, else the one kept in a cookie while the visitor logged in."""
        code = self.get_argument("code", "")
        if code:
            return str(code)
        kept = self.get_secure_cookie(
            CODE_COOKIE, max_age_days=CODE_COOKIE_SECONDS / 86400, min_version=2
        )
        return kept.decode("utf-8", "replace") if kept else ""

    async def _render(self, code: str, **ns: Any) -> None:
        html = await self.render_page("join.html", code=code, **self.page_ns(), **ns)
        self.finish(html)

    async def get(self) -> None:
        # not @web.authenticated: that would send the code to the login page in ``next=``,
        # where the hub logs it; the code waits in a cookie instead
        if self.current_user is None:
            code = self.get_argument("code", "")
            if code:
                # the hub's own cookie settings (httponly, secure behind https), signed
                self._set_cookie(
                    CODE_COOKIE,
                    code,
                    encrypted=True,
                    expires_days=None,
                    expires=time.time() + CODE_COOKIE_SECONDS,
                    path=self._join_path(),
                    httponly=True,
                )
            self.redirect(url_concat(self.get_login_url(), {"next": self._join_path()}))
            return
        code = self._code()
        try:
            group, record, invite = self._check(code)
        except Refused as refusal:
            self.set_status(refusal.status)
            await self._render(code, error=refusal.message)
            return
        await self._render(
            code,
            error="",
            team=group.name,
            source_group=record.source_group or group.name,
            members=sorted(u.name for u in group.users),
            invite=invite,
        )

    @web.authenticated
    async def post(self) -> None:
        code = self.get_argument("code", "")
        try:
            group, _record, invite = self._check(code)
        except Refused as refusal:
            self.set_status(refusal.status)
            await self._render(code, error=refusal.message)
            return
        self.clear_cookie(CODE_COOKIE, path=self._join_path())
        now = utcnow()
        invites = record_use(prune(load_invites(group.properties or {}), now), invite)
        properties = store_invites(group.properties or {}, invites)
        self.apply(
            [
                AddGroupMembers(group.name, (self.current_user.name,)),
                self.set_properties(group, properties, "an invitation was used"),
            ]
        )
        self.log.info(
            "%s joined the team %s with an invitation", self.current_user.name, group.name
        )
        self.redirect(f"{url_path_join(self.hub.base_url, 'teams')}?joined={group.name}")
