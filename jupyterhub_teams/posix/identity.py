"""Who a server runs as: resolving a JupyterHub user to a system user, groups and directories.

Blocking (SQLite, NSS lookups, ``useradd``): the hub calls :meth:`Resolver.resolve` and
:meth:`Resolver.prepare` off its event loop. Where numbers come from, first match wins:

* a person's uid: the identity provider's claim, then the directory, then the record, then a
  new number from ``uid_range`` (recorded);
* a team's gid: the directory group's gid (in the team's marker), then the record, then a new
  number from ``gid_range`` (recorded);
* a team account's uid: the record, then a new number from ``uid_range``.

A number from outside that disagrees with the record is refused (see :mod:`.registry`): the
files on disk carry the recorded one.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

from .accounts import (
    Lookups,
    SystemAccountConflict,
    SystemGroup,
    SystemUser,
    create_accounts,
    ensure_home,
)
from .config import PosixIdentity
from .directories import TeamDirectory, TeamDirectoryConflict, ensure_team_directory
from .names import system_name
from .numbers import RangeExhausted, check_number
from .registry import IdentityConflict, Record, Registry

log = logging.getLogger("jupyterhub_teams.posix")
_TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class IdentityRefused(Exception):
    """The server cannot be given an identity; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class TeamRef:
    """A team as the hub knows it: its name, account and the directory's gid (if any)."""

    team: str
    account: str
    gid: int | None = None


@dataclass(frozen=True)
class TeamGroup:
    """A team's system group and directory."""

    team: str
    system_name: str
    gid: int
    directory: str


@dataclass(frozen=True)
class Request:
    """What the hub knows about the server's owner when it starts."""

    hub_name: str
    # set for a team account: the team it serves
    team: TeamRef | None = None
    # a person's current teams
    teams: tuple[TeamRef, ...] = ()
    declared_uid: int | None = None
    uid_origin: str = "directory"


@dataclass(frozen=True)
class Identity:
    hub_name: str
    system_name: str
    uid: int
    gid: int
    home: str
    shell: str
    # the team a team account serves; None for a person
    team: TeamGroup | None = None
    # a person's teams, whose gids their server gets as supplementary groups
    groups: tuple[TeamGroup, ...] = ()
    # teams left out, and why (a conflict on one team never stops a person's own server)
    skipped: tuple[str, ...] = field(default=(), compare=False)

    @property
    def supplementary_gids(self) -> tuple[int, ...]:
        return tuple(g.gid for g in self.groups)


class Resolver:
    def __init__(self, options: PosixIdentity, registry: Registry, lookups: Lookups) -> None:
        self.options = options
        self.registry = registry
        self.lookups = lookups

    def _system_name(self, hub_name: str) -> str:
        return system_name(
            hub_name,
            digit_prefix=self.options.digit_prefix,
            max_length=self.options.max_system_name_length,
        )

    def _uid(self, request: Request, sysname: str, private_group: bool) -> Record:
        """The uid record, made together with the person's private group (gid = uid) so that
        a refused group leaves no uid behind."""

        def group_of(number: int) -> list[Record]:
            if not private_group:
                return []
            return [Record("gid", request.hub_name, sysname, number, "private group")]

        if request.declared_uid is not None:
            number = check_number(
                request.declared_uid, "uid", request.hub_name, self.options.minimum_id
            )
            wanted = Record("uid", request.hub_name, sysname, number, request.uid_origin)
            return self.registry.claim(wanted, group_of(number))

        # numbers of system users and groups jupyterhub-teams did not record are never
        # handed out: the private group takes the same number as a gid
        def taken(number: int) -> bool:
            return self.lookups.user_by_uid(number) is not None or (
                private_group and self.lookups.group_by_gid(number) is not None
            )

        return self.registry.allocate(
            "uid", request.hub_name, sysname, self.options.uids, taken, together=group_of
        )

    def team_group(self, ref: TeamRef) -> TeamGroup:
        if not _TEAM_NAME.fullmatch(ref.team):
            # team names come from the naming rules; anything else never becomes a path
            raise ValueError(f"team name {ref.team!r} cannot name a team directory")
        sysname = self._system_name(ref.account)
        if ref.gid is not None:
            number = check_number(ref.gid, "gid", ref.team, self.options.minimum_id)
            record = self.registry.claim(Record("gid", ref.account, sysname, number, "directory"))
        else:
            record = self.registry.allocate(
                "gid",
                ref.account,
                sysname,
                self.options.gids,
                lambda n: self.lookups.group_by_gid(n) is not None,
            )
        directory = os.path.join(self.options.team_directory_root, ref.team)
        return TeamGroup(ref.team, record.system_name, record.number, directory)

    def resolve(self, request: Request) -> Identity:
        """The identity the server of ``request.hub_name`` runs with, recording new numbers.

        Raises :class:`IdentityRefused` with the reason.
        """
        try:
            sysname = self._system_name(request.hub_name)
            if request.team is not None:
                team = self.team_group(request.team)
                # a team account never has a uid of its own in the directory; its primary
                # group is the team's
                uid = self._uid(Request(request.hub_name), sysname, private_group=False)
                return Identity(
                    request.hub_name, sysname, uid.number, team.gid, team.directory,
                    self.options.shell, team=team,
                )  # fmt: skip
            # a person's private group: gid = uid, named like the user
            uid = self._uid(request, sysname, private_group=True)
        except (IdentityConflict, RangeExhausted, ValueError) as exc:
            raise IdentityRefused(str(exc)) from None
        groups: list[TeamGroup] = []
        skipped: list[str] = []
        if self.options.team_groups_for_members:
            for ref in sorted(request.teams, key=lambda r: r.team):
                try:
                    groups.append(self.team_group(ref))
                except (IdentityConflict, RangeExhausted, ValueError) as exc:
                    skipped.append(f"team {ref.team!r} left out: {exc}")
        home = os.path.join(self.options.home_root, sysname)
        return Identity(
            request.hub_name, sysname, uid.number, uid.number, home, self.options.shell,
            groups=tuple(groups), skipped=tuple(skipped),
        )  # fmt: skip

    def prepare(self, identity: Identity) -> None:
        """Create what ``identity`` needs on this machine: system groups, the user, the home
        and team directories. Checks accounts first; raises :class:`IdentityRefused` having
        changed nothing when one is in the way."""
        own = identity.team
        teams = [g for g in (own, *identity.groups) if g is not None]
        groups = [SystemGroup(g.system_name, g.gid) for g in teams]
        if own is None:
            groups.insert(0, SystemGroup(identity.system_name, identity.gid))
        user = SystemUser(
            identity.system_name,
            identity.uid,
            identity.gid,
            identity.home,
            identity.shell,
            identity.hub_name,
        )
        if self.options.create_accounts:
            try:
                commands = create_accounts(groups, [user], self.lookups)
            except SystemAccountConflict as exc:
                raise IdentityRefused(str(exc)) from None
            for command in commands:
                log.info("created system account: %s", " ".join(command))
        if self.options.team_directories:
            for team in teams:
                # owned by root: the team's gid is what gives members (and the team
                # account, whose primary group it is) their access
                try:
                    ensure_team_directory(TeamDirectory(team.directory, 0, team.gid))
                except TeamDirectoryConflict as exc:
                    if team is own:
                        raise IdentityRefused(str(exc)) from None
                    log.warning("%s: team directory left out: %s", identity.hub_name, exc)
        if own is None and self.options.create_accounts:
            os.makedirs(self.options.home_root, mode=0o755, exist_ok=True)
            ensure_home(user)
