"""The spawn-time step: give the server about to start its POSIX identity.

Gathers what the hub knows on its event loop (the owner's teams and their gids from the
teams' markers, a uid claim in ``auth_state``, the directory's uid through the source), then
resolves and prepares the identity in a thread (SQLite, NSS, ``useradd``) and sets it on the
spawner. A refusal is a ``tornado.web.HTTPError`` whose message reaches the person starting
the server; nothing on the machine was changed by it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tornado import web

from ..model import record_in
from ..model.policy import Policy
from ..sources import Source, SourceError
from ..sources.claims import lookup_dotted
from .accounts import system_lookups
from .carried import CarriedTeams
from .config import PosixIdentity
from .identity import IdentityRefused, Request, Resolver, TeamRef
from .registry import Registry
from .spawners import PosixLocalProcessSpawner, UnsupportedSpawner, apply_identity

log = logging.getLogger("jupyterhub_teams.posix")


class SpawnRefused(web.HTTPError):
    """Shown to the person starting the server as it is."""

    def __init__(self, name: str, why: str) -> None:
        message = f"The server of {name!r} cannot be started with a POSIX identity: {why}"
        super().__init__(409, log_message=message, reason=message)


def team_ref(group: Any) -> TeamRef | None:
    """A hub group's team (name, account and directory gid), when it is an active team."""
    record = record_in(getattr(group, "properties", None))
    if record is None or record.retired:
        return None
    return TeamRef(group.name, record.account, record.gid)


def claim_value(auth_state: Any, dotted: str) -> Any:
    """The value at ``dotted`` in ``auth_state``, None when a step is missing."""
    try:
        return lookup_dotted(auth_state, dotted)
    except KeyError:
        return None


def declared_number(value: Any, where: str) -> int | None:
    """A uid as sent by a claim or directory: an int, or a string of digits."""
    if value is None or value == "":
        return None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    raise IdentityRefused(f"the {where} is not a number: {value!r}")


class PosixHook:
    """Everything the spawn step needs, built once when the hub loads its configuration."""

    def __init__(
        self,
        options: PosixIdentity,
        policy: Policy,
        make_source: Callable[[], Source] | None,
    ) -> None:
        self.options = options
        self.policy = policy
        self.resolver = Resolver(options, Registry(options.registry_path), system_lookups())
        # what each person's server is given, for the enforcer (see .leavers)
        self.carried = CarriedTeams(options.registry_path)
        self._make_source = make_source
        self._source: Source | None = None

    def _team_of_account(self, user: Any) -> TeamRef | None:
        groups = {g.name: g for g in user.groups}
        team = self.policy.team_served_by(user.name, groups)
        if team is None:
            return None
        group = groups.get(team)
        if group is None:
            from jupyterhub import orm

            # a team account is usually not in its team's group: find the group itself
            group = orm.Group.find(user.db, team)
        ref = team_ref(group) if group is not None else None
        return ref or TeamRef(team, user.name)

    async def _directory_uid(self, name: str) -> tuple[int | None, str | None]:
        if not self.options.directory_uids or self._make_source is None:
            return None, None
        if self._source is None:
            self._source = self._make_source()
        lookup: Callable[[str], Awaitable[Any]] | None = getattr(self._source, "person", None)
        if lookup is None:
            return None, None
        try:
            person = await lookup(name)
        except SourceError as exc:
            return None, str(exc)
        return (person.uid if person is not None else None), None

    async def request(self, user: Any) -> tuple[Request, str | None]:
        """The request for ``user``'s server, and why the directory could not be asked."""
        team = self._team_of_account(user)
        if team is not None:
            return Request(user.name, team=team), None
        teams = tuple(ref for g in user.groups if (ref := team_ref(g)) is not None)
        if self.options.uid_claim:
            auth_state = await user.get_auth_state()
            raw = claim_value(auth_state, self.options.uid_claim)
            uid = declared_number(raw, f"claim {self.options.uid_claim!r}")
            if uid is not None:
                return Request(user.name, teams=teams, declared_uid=uid, uid_origin="claim"), None
        uid, problem = await self._directory_uid(user.name)
        return Request(user.name, teams=teams, declared_uid=uid, uid_origin="directory"), problem

    def _resolve_and_prepare(self, request: Request, directory_problem: str | None) -> Any:
        if (
            directory_problem is not None
            and self.resolver.registry.lookup("uid", request.hub_name) is None
        ):
            raise IdentityRefused(
                f"the directory could not be asked for the uid ({directory_problem}) and "
                "none is on record; no number is handed out that the directory may contradict"
            )
        identity = self.resolver.resolve(request)
        self.resolver.prepare(identity)
        return identity

    async def __call__(self, spawner: Any) -> None:
        name = spawner.user.name
        try:
            request, problem = await self.request(spawner.user)
            identity = await asyncio.to_thread(self._resolve_and_prepare, request, problem)
            for why in identity.skipped:
                spawner.log.warning("%s: %s", name, why)
            if isinstance(spawner, PosixLocalProcessSpawner):
                spawner.team_links = self.options.team_links
                spawner.team_directory_root = self.options.team_directory_root
            apply_identity(
                spawner,
                identity,
                umask=self.options.umask,
                container_teams_path=self.options.container_teams_path,
                volume_claim=self.options.team_volume_claim,
                host_paths=self.options.team_host_paths,
            )
        except (IdentityRefused, UnsupportedSpawner) as exc:
            spawner.log.error("%s: POSIX identity refused: %s", name, exc)
            raise SpawnRefused(name, str(exc)) from None
        if identity.team is None:
            # recorded before the server starts, so that a departure during the start is
            # caught too; a start that fails leaves rows of a server that is not running,
            # which the enforcer drops
            teams = [(g.team, g.gid) for g in identity.groups]
            await asyncio.to_thread(
                self.carried.record_start, name, spawner.name or "", teams, time.time()
            )
        spawner.log.info(
            "%s runs as %s (uid %d, gid %d, groups %s)",
            name,
            identity.system_name,
            identity.uid,
            identity.gid,
            list(identity.supplementary_gids),
        )
