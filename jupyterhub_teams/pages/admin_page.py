"""The teams admin view (``/hub/teams/admin``), for hub admins only.

It shows what the sync service reports about itself (last syncs, the directory's health),
the removals the large-removal guard holds back with buttons to approve or reject them, and
each team's members with who can reach its server and why. The status and the decisions go to
the sync service over the loopback address ``setup(c)`` gave it, with the service's own token,
which only the hub holds; the hub's XSRF check guards the buttons, and every decision is logged
with the admin who made it.
"""

from __future__ import annotations

import datetime
from typing import Any

import httpx
from jupyterhub import orm
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httputil import url_concat

from ..model import HubGroup, HubShare, HubState, HubUser
from ..plan.audit import TeamAudit, audit
from .base import PageHandler
from .views import team_record

# How long the page waits for the sync service (it answers from memory).
SERVICE_TIMEOUT = 5.0
# Teams listed at once; a filter narrows a long list.
TEAM_ROWS = 200


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class AdminBase(PageHandler):
    """Hub admins only; anyone else is told so."""

    def check_admin(self) -> Any:
        user = self.current_user
        if user is None or not user.admin:
            raise web.HTTPError(403, "%s", "The teams admin view is for hub admins only.")
        return user

    def service(self) -> tuple[str, str]:
        """The sync service's own address (loopback, not through the proxy) for its API, and
        its token; 503 saying what is missing."""
        service = self.services.get(self.teams.service_name)
        url = getattr(service, "url", None)
        token = getattr(service, "api_token", None)
        if not url or not token:
            raise web.HTTPError(
                503, "%s", f"The hub runs no sync service named {self.teams.service_name!r}."
            )
        return url_path_join(str(url), str(service.prefix)), str(token)

    async def ask_service(self, method: str, path: str, body: Any = None) -> httpx.Response:
        base, token = self.service()
        async with httpx.AsyncClient(timeout=SERVICE_TIMEOUT) as client:
            return await client.request(
                method,
                url_path_join(base, path),
                json=body,
                headers={"Authorization": f"token {token}"},
            )


class AdminPageHandler(AdminBase):
    @web.authenticated
    async def get(self) -> None:
        self.check_admin()
        status: dict[str, Any] | None = None
        service_problem = None
        try:
            response = await self.ask_service("GET", "api/status")
            if response.status_code == 200:
                status = response.json()
            else:
                service_problem = f"the sync service answered {response.status_code}"
        except httpx.HTTPError as exc:
            service_problem = f"the sync service does not answer ({type(exc).__name__})"
        except web.HTTPError as exc:
            service_problem = str(exc.log_message or exc.reason) % exc.args
        wanted = self.get_argument("team", "").strip()
        rows, total = self.team_rows(self.get_argument("filter", "").strip())
        detail = self.team_audit(wanted) if wanted else None
        html = await self.render_page(
            "admin.html",
            status=status,
            service_problem=service_problem,
            when=when,
            rows=rows,
            total=total,
            shown=TEAM_ROWS,
            filter=self.get_argument("filter", ""),
            wanted=wanted,
            detail=detail,
            done=self.get_argument("done", ""),
            refused=self.get_argument("refused", ""),
            nav_active="teams-admin",
            pages_static=url_path_join(self.hub.base_url, "jupyterhub-teams/static"),
        )
        self.finish(html)

    def team_rows(self, text: str) -> tuple[list[dict[str, Any]], int]:
        """Every team (retired ones too) whose name contains ``text``, first ``TEAM_ROWS``."""
        query = self.db.query(orm.Group).order_by(orm.Group.name)
        if text:
            query = query.filter(orm.Group.name.contains(text, autoescape=True))
        rows: list[dict[str, Any]] = []
        total = 0
        for group in query:
            record = team_record(group)
            if record is None:
                continue
            total += 1
            if len(rows) < TEAM_ROWS:
                rows.append(
                    {
                        "name": group.name,
                        "origin": record.origin.value,
                        "retired": record.retired,
                        "members": len(group.users),
                        "account": record.account,
                    }
                )
        return rows, total

    def team_audit(self, name: str) -> TeamAudit | None:
        """Who can reach team ``name``'s server and why: the audit of the hub's own records,
        for this one team."""
        group = orm.Group.find(self.db, name=name)
        record = team_record(group) if group is not None else None
        if group is None or record is None:
            return None
        account = orm.User.find(self.db, name=record.account)
        users: dict[str, HubUser] = {}
        groups = {
            group.name: HubGroup(
                group.name, frozenset(u.name for u in group.users), dict(group.properties or {})
            )
        }
        shares: list[HubShare] = []
        if account is not None:
            spawner = account.orm_spawners.get("")
            users[account.name] = HubUser(
                account.name, server_running=bool(spawner and spawner.server)
            )
            for share in self.db.query(orm.Share).filter_by(owner=account):
                if share.spawner is not None and share.spawner.name != "":
                    continue
                shared = share.group
                if shared is not None and shared.name not in groups:
                    groups[shared.name] = HubGroup(
                        shared.name, frozenset(u.name for u in shared.users)
                    )
                shares.append(
                    HubShare(
                        owner=account.name,
                        server_name="",
                        scopes=frozenset(share.scopes),
                        user=share.user.name if share.user is not None else None,
                        group=shared.name if shared is not None else None,
                    )
                )
        for admin in self.db.query(orm.User).filter_by(admin=True):
            users.setdefault(admin.name, HubUser(admin.name, admin=True))
        state = HubState(
            users=users,
            groups=groups,
            shares={record.account: tuple(shares)},
        )
        entries = [e for e in audit(state, self.teams.policy()) if e.team == group.name]
        return entries[0] if entries else None


class HoldDecisionHandler(AdminBase):
    """The approve / reject buttons: a form post, checked by the hub's XSRF rule."""

    @web.authenticated
    async def post(self) -> None:
        admin = self.check_admin()
        decision = self.get_body_argument("decision", "")
        fingerprint = self.get_body_argument("fingerprint", "")
        if decision not in ("approve", "reject") or not fingerprint:
            raise web.HTTPError(400, "%s", "Choose to approve or reject a held plan.")
        page = url_path_join(self.hub.base_url, "teams/admin")
        try:
            response = await self.ask_service(
                "POST",
                "api/holds",
                {"decision": decision, "fingerprint": fingerprint, "by": admin.name},
            )
        except httpx.HTTPError as exc:
            self.redirect(
                url_concat(
                    page, {"refused": f"the sync service does not answer ({type(exc).__name__})"}
                )
            )
            return
        if response.status_code != 200:
            reason = _message(response)
            self.log.warning(
                "Teams admin view: %s's %s of held plan %s refused: %s",
                admin.name,
                decision,
                fingerprint[:12],
                reason,
            )
            self.redirect(url_concat(page, {"refused": reason}))
            return
        result = response.json()
        self.log.warning(
            "Teams admin view: held plan %s %s by %s (%d removal(s))",
            fingerprint[:12],
            result["verdict"],
            admin.name,
            result["actions"],
        )
        self.redirect(url_concat(page, {"done": f"{result['verdict']}:{result['actions']}"}))


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return f"the sync service answered {response.status_code}"
