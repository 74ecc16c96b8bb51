"""The enforcer, inside the hub: stop a person's server that still carries a team they left.

Every ``removed_member_check_interval`` seconds it reads what each running server carries
(:mod:`.carried`, written at spawn) and each owner's present teams (the hub's own database, as
the spawn step reads them), lets :func:`.leaving.decide` say what to do, records the result,
and stops the servers whose grace is over, the way the hub's ``DELETE /users/:name/server``
does (route removed from the proxy, then the spawner stopped).

Why inside the hub and not in the sync service: the hub already has the authority to stop
servers, so no token gets ``delete:servers`` on people's servers; the record of what servers
carry is the hub's own file; and departures made by the Teams page or at login are seen too.
Nothing is kept only in memory: after a restart of the hub, the first check recomputes
everything from the recorded rows, including when each departure was first noticed.

The hub starts it when it asks the authenticator for its pages (:func:`starting_with_hub`):
the one moment an extension is handed the hub application, with its event loop running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from .carried import CarriedTeams
from .hook import team_ref
from .leaving import Carried, Decision, ServerKey, Stop, Stopped, decide, when

log = logging.getLogger("jupyterhub_teams.posix.leavers")

# Set on the authenticator classes made by :func:`starting_with_hub`, so that wrapping one
# again returns it unchanged.
_STARTS_ENFORCER = "_jupyterhub_teams_leavers"


def present_teams(orm_user: Any) -> frozenset[str]:
    """The person's active teams: those whose gid their server would get if it started now."""
    return frozenset(ref.team for g in orm_user.groups if (ref := team_ref(g)) is not None)


class LeaverEnforcer:
    """Checks every ``interval`` seconds; stops after ``grace`` seconds."""

    def __init__(
        self,
        store: CarriedTeams,
        grace: float,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.grace = grace
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._app: Any = None
        # the hub's own log once started: where admins read why a server was stopped
        self.log: logging.Logger | logging.LoggerAdapter[logging.Logger] = log
        # stops not yet followed by a start, by person: their notice on the home page
        # (read from the record at every check, so a restart keeps them)
        self.notices: dict[str, list[Stopped]] = {}

    def start(self, app: Any) -> None:
        """Start checking for the hub application ``app`` (once; later calls do nothing)."""
        if self._task is not None:
            return
        self._app = app
        self.log = getattr(app, "log", log)
        self._task = asyncio.ensure_future(self._run())
        self.log.info(
            "servers still carrying a team their owner left are stopped after %g s "
            "(checked every %g s)",
            self.grace,
            self.interval,
        )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                # a failed check is retried at the next one; the rows are unchanged
                self.log.exception("checking servers of people who left a team failed")

    def _hub_state(
        self, keys: set[ServerKey]
    ) -> tuple[set[ServerKey], set[ServerKey], dict[str, frozenset[str]]]:
        """Which of the servers ``keys`` run, which are starting or stopping (or not yet
        checked by a hub that has just started), and their owners' present teams.

        The hub's database says whether a server exists; the hub's own spawner object (when
        the hub has loaded it) whether it is ready. A server the database has but the hub has
        not confirmed yet, at its start, counts as pending: its rows are kept, never dropped.
        """
        from jupyterhub import orm

        running: set[ServerKey] = set()
        pending: set[ServerKey] = set()
        teams_of: dict[str, frozenset[str]] = {}
        for user_name, server_name in keys:
            orm_user = orm.User.find(self._app.db, user_name)
            if orm_user is None:
                continue
            orm_spawner = orm_user.orm_spawners.get(server_name)
            loaded = dict.get(self._app.users, orm_user.id)
            spawner = dict.get(loaded.spawners, server_name) if loaded is not None else None
            if spawner is not None and spawner.pending:
                pending.add((user_name, server_name))
            elif orm_spawner is None or orm_spawner.server is None:
                continue
            elif spawner is not None and spawner.ready:
                running.add((user_name, server_name))
            else:
                pending.add((user_name, server_name))
            teams_of[user_name] = present_teams(orm_user)
        return running, pending, teams_of

    async def check(self) -> Decision:
        """One check: read, decide, record, stop. Returns what was decided."""
        # the rows first: a start recorded after this read is left alone by this check
        rows, stopped = await asyncio.to_thread(self._read)
        self._keep_notices(stopped)
        if not rows:
            return Decision()
        now = self.clock()
        running, pending, teams_of = self._hub_state({row.key for row in rows})
        decision = decide(
            rows, running=running, pending=pending, teams_of=teams_of, now=now, grace=self.grace
        )
        if decision.noticed or decision.rejoined or decision.forget:
            await asyncio.to_thread(
                self.store.update,
                noticed=decision.noticed,
                at=now,
                rejoined=decision.rejoined,
                forget=decision.forget,
            )
        for row in decision.noticed:
            server = "their server" + (f" {row.server!r}" if row.server else "")
            self.log.info(
                "%s left %s at %s; %s still has its gid %d: it is stopped after %g s unless "
                "they are a member again by then",
                row.user, row.team, when(now), server, row.gid, self.grace,
            )  # fmt: skip
        for row in decision.rejoined:
            self.log.info(
                "%s is a member of %s again: their server is not stopped", row.user, row.team
            )
        for stop in decision.stops:
            await self._stop(stop)
        return decision

    def _read(self) -> tuple[list[Carried], list[Stopped]]:
        return self.store.rows(), self.store.stopped()

    def _keep_notices(self, stopped: list[Stopped]) -> None:
        notices: dict[str, list[Stopped]] = {}
        for notice in stopped:
            notices.setdefault(notice.user, []).append(notice)
        self.notices = notices

    async def _stop(self, stop: Stop) -> None:
        try:
            user = self._app.users[stop.user]  # by name: the hub's own wrapper
        except KeyError:
            return
        spawner = dict.get(user.spawners, stop.server)
        if spawner is None or spawner.pending or not spawner.active:
            return
        self.log.warning("%s", stop.reason())
        # as the hub's own DELETE /users/:name/server: marked pending before anything async
        spawner._stop_pending = True
        try:
            await self._app.proxy.delete_user(user, stop.server)
            await user.stop(stop.server)
        except Exception:
            self.log.exception("stopping %s's server %r failed", stop.user, stop.server)
            return
        finally:
            spawner._stop_pending = False
        stopped = Stopped(stop.user, stop.server, tuple(x.team for x in stop.left), self.clock())
        self.notices.setdefault(stop.user, []).append(stopped)
        await asyncio.to_thread(self.store.record_stop, stopped)


def starting_with_hub(
    compose: Callable[[Any], Any], enforcer: LeaverEnforcer
) -> Callable[[Any], Any]:
    """An ``authenticator_class`` value maker: ``compose``'s class, subclassed so that the
    hub's call of ``get_handlers(app)`` (once, at start, with its event loop running) also
    starts ``enforcer``. The subclass keeps the class's name, so ``c.<Name>`` settings stay."""

    def composed(value: Any) -> Any:
        if isinstance(value, type) and value.__dict__.get(_STARTS_ENFORCER):
            return value
        base = compose(value)

        def get_handlers(self: Any, app: Any) -> list[tuple[Any, ...]]:
            enforcer.start(app)
            handlers: list[tuple[Any, ...]] = base.get_handlers(self, app)
            return handlers

        namespace = {
            "get_handlers": get_handlers,
            _STARTS_ENFORCER: enforcer,
            "__module__": base.__module__,
            "__doc__": base.__doc__,
        }
        return type(base.__name__, (base,), namespace)

    return composed


class StopNotice:
    """The ``announcement_home`` template variable: a person's stop notice on their home page,
    then whatever the home page would show without it (the admin's ``announcement_home``, else
    ``announcement``). JupyterHub calls it with the person viewing the page."""

    def __init__(self, enforcer: LeaverEnforcer, variables: dict[str, Any], admin: Any) -> None:
        self.enforcer = enforcer
        self.variables = variables
        self.admin = admin

    def __deepcopy__(self, memo: dict[int, Any]) -> StopNotice:
        # traitlets deep-copies configured values into the hub: a copy would hold a copy of
        # the enforcer, whose notices never change
        return self

    def _otherwise(self, user: Any) -> str:
        # as the stock home page: announcement_home when it is a string, else announcement
        for value in (self.admin, self.variables.get("announcement")):
            if callable(value):
                value = value(user)
            if isinstance(value, str):
                return value
        return ""

    def __call__(self, user: Any) -> str:
        otherwise = self._otherwise(user)
        name = getattr(user, "name", None)
        notices = self.enforcer.notices.get(name, []) if name is not None else []
        ours = "<br>".join(n.notice() for n in notices)
        return "<br>".join(text for text in (ours, otherwise) if text)


def with_stop_notice(enforcer: LeaverEnforcer) -> Callable[[Any], Any]:
    """A ``template_vars`` value maker: the admin's variables, with :class:`StopNotice` as
    ``announcement_home``; applied to its own result, it returns it unchanged."""

    def composed(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("announcement_home"), StopNotice):
            return value
        variables = dict(value or {})
        variables["announcement_home"] = StopNotice(
            enforcer, variables, variables.get("announcement_home")
        )
        return variables

    return composed
