"""Base classes of the pages' handlers, running inside the hub like its own pages.

They are JupyterHub ``BaseHandler`` subclasses, so they get exactly what the hub's pages get:
cookie login only (no API tokens), the hub's XSRF check on every request that is not a plain
page view (run in ``prepare`` before any method), the current user's expanded scopes
(``has_scope``), and the hub's templates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from tornado import web

from ..hub.in_process import apply_in_hub
from ..model import Origin, TeamRecord
from ..plan import Action, SetGroupProperties
from .rules import Actor, Refused, TeamFacts, create_refusal, created_team, utcnow
from .views import team_record

if TYPE_CHECKING:
    from ..config import JupyterHubTeams

TEMPLATE_DIR = "jupyterhub_teams"


class PageHandler(BaseHandler):  # type: ignore[misc]
    """A page of jupyterhub-teams; ``teams`` are the deployment's options."""

    teams: JupyterHubTeams

    def initialize(self, teams: JupyterHubTeams) -> None:
        self.teams = teams

    def is_team_account(self, user: Any) -> bool:
        return self.teams.is_team_account(user)

    async def render_page(self, template: str, **ns: Any) -> str:
        html: str = await self.render_template(f"{TEMPLATE_DIR}/{template}", **ns)
        return html

    def find_team(self, name: str) -> tuple[Any, TeamRecord]:
        """The ``orm.Group`` and record of team ``name``, or 404."""
        group = orm.Group.find(self.db, name=name)
        record = team_record(group) if group is not None else None
        if group is None or record is None:
            raise web.HTTPError(404, "%s", f"There is no team named {name!r}.")
        return group, record

    def team_facts(self, group: Any, record: TeamRecord) -> TeamFacts:
        return TeamFacts(
            name=group.name,
            origin=record.origin.value,
            retired=record.retired,
            admins=frozenset(record.admins),
            members=frozenset(u.name for u in group.users),
        )

    def actor(self, group: Any) -> Actor:
        """The current user as the team rules see them. Someone the hub lets change the group
        anyway (``groups`` scope on it: hub admins) counts as an admin of every team."""
        return Actor(
            name=self.current_user.name,
            manages_groups=bool(self.has_scope(f"groups!group={group.name}")),
        )

    def create_refusal(self, user: Any) -> Refused | None:
        """Why ``user`` may not create an ad-hoc team now (see :func:`.rules.create_refusal`)."""
        teams = []
        for group in self.db.query(orm.Group):
            record = team_record(group)
            if record is not None and record.origin is Origin.HUB:
                teams.append(created_team(record))
        return create_refusal(
            user.name,
            hub_admin=bool(user.admin),
            groups=[g.name for g in user.orm_user.groups],
            creators=list(self.teams.adhoc_team_creators),
            teams=teams,
            per_person=self.teams.adhoc_teams_per_person,
            per_hour=self.teams.adhoc_teams_per_hour,
            now=utcnow(),
        )

    def apply(self, actions: list[Action]) -> None:
        """Carry out a page's change as planned actions (the kinds a sync plans), in one
        transaction, each logged with who asked for it."""
        try:
            apply_in_hub(self.db, actions, f"Teams page, by {self.current_user.name}", self.log)
        except Exception:
            self.db.rollback()
            raise

    def set_properties(self, group: Any, properties: Mapping[str, Any], why: str) -> Action:
        return SetGroupProperties(group.name, dict(properties), why)


class ActionHandler(PageHandler):
    """JSON endpoints used by the pages' scripts.

    Answers and errors are JSON shaped like the hub's REST API (``{"status", "message"}``), so
    the page shows a refusal's message the same way whether the hub or these rules refused.
    """

    def get_content_type(self) -> str:
        return "application/json"

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise web.HTTPError(400, "%s", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "%s", "The request body must be a JSON object.")
        return body

    def refuse(self, refusal: Refused) -> web.HTTPError:
        return web.HTTPError(refusal.status, "%s", refusal.message)

    def send(self, status: int, body: Any = None) -> None:
        self.set_status(status)
        self.finish(json.dumps(body) if body is not None else None)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exception = exc_info[1] if exc_info else None
        message = self._reason
        if isinstance(exception, web.HTTPError) and exception.log_message:
            message = exception.log_message
            if exception.args:
                message = message % exception.args
        elif status_code >= 500:
            message = "The hub could not do this; its log says why."
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))
