"""What the pages show, read from the hub's database inside the hub process.

Display only: nothing here changes anything. Reading the ORM directly is what the hub's own
pages do, and it lets a member see their team server's state without holding a scope that
reads the team account (the hub's REST API would refuse that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from jupyterhub import orm
from jupyterhub.utils import url_path_join

from ..model import Origin, TeamRecord, record_in
from .invites import Invite, load_invites
from .rules import RIGHTS_LABELS, RIGHTS_SCOPES, isoformat, rights_label, rights_of, utcnow


def team_record(group: Any) -> TeamRecord | None:
    """The team record of an ``orm.Group``, or None if it is not a team."""
    return record_in(group.properties)


@dataclass
class ServerState:
    """A server's state, as a word the page shows and the page's script understands."""

    state: str  # "running", "starting", "stopping" or "stopped"
    url: str

    @property
    def label(self) -> str:
        return {
            "running": "Running",
            "starting": "Starting…",
            "stopping": "Stopping…",
            "stopped": "Stopped",
        }[self.state]


def server_state(user: Any, server_name: str = "") -> ServerState:
    """State of ``user``'s (a hub ``User`` wrapper) server ``server_name``.

    A spawner the hub has not loaded since it started is not running (the hub loads every
    running server at start-up), so it is not created here just to be asked.
    """
    url = user.server_url(server_name)
    spawner = user.spawners.get(server_name)
    if spawner is None:
        return ServerState("stopped", url)
    if spawner.pending == "spawn":
        return ServerState("starting", url)
    if spawner.pending == "stop":
        return ServerState("stopping", url)
    if spawner.ready:
        return ServerState("running", url)
    return ServerState("stopped", url)


@dataclass
class TeamView:
    name: str
    account: str
    source_group: str
    origin: Origin
    retired: bool
    members: list[str]
    admins: list[str]
    server: ServerState
    member: bool
    # what the viewer may do, as the hub would decide it
    can_start_stop: bool = False
    can_open: bool = False
    is_admin: bool = False
    # the hub's spawn page, when the team's spawner asks for options (profiles) first
    spawn_url: str = ""
    invites: list[Invite] = field(default_factory=list)

    @property
    def adhoc(self) -> bool:
        return self.origin is Origin.HUB


def team_view(
    handler: Any,
    group: Any,
    record: TeamRecord,
    *,
    viewer: str,
    has_scope: Callable[[str], bool],
) -> TeamView | None:
    """The view of one team group for ``viewer``; None when its account does not exist."""
    account = record.account
    orm_account = orm.User.find(handler.db, name=account)
    if orm_account is None:
        return None
    owner = handler.users[orm_account]
    members = sorted(u.name for u in group.users)
    admins = sorted(record.admins)
    retired = record.retired
    view = TeamView(
        name=group.name,
        account=account,
        source_group=record.source_group or group.name,
        origin=record.origin,
        retired=retired,
        members=members,
        admins=admins,
        server=server_state(owner),
        member=viewer in members,
    )
    if not retired:
        view.can_start_stop = has_scope(f"servers!server={account}/")
        view.can_open = has_scope(f"access:servers!server={account}/")
    view.is_admin = view.adhoc and (viewer in admins or has_scope(f"groups!group={group.name}"))
    if view.is_admin:
        now = utcnow()
        view.invites = [i for i in load_invites(group.properties or {}) if i.active(now)]
    return view


async def needs_form(handler: Any, view: TeamView) -> str:
    """The hub's spawn page URL when the team's server asks for options before starting."""
    if not view.can_start_stop or view.server.state != "stopped":
        return ""
    orm_account = orm.User.find(handler.db, name=view.account)
    if orm_account is None:
        return ""
    spawner = handler.users[orm_account].spawner
    if await spawner.get_options_form():
        return str(url_path_join(handler.hub.base_url, "spawn", view.account))
    return ""


@dataclass
class Access:
    """Someone who can reach a server through a share."""

    name: str
    rights: str
    level: str
    via_team: str = ""


@dataclass
class ShareCodeView:
    id: str
    rights: str
    created_at: str
    expires_at: str
    uses: int


@dataclass
class ServerShares:
    owner: str
    server_name: str
    url: str
    state: ServerState
    people: list[Access]
    teams: list[tuple[str, str, list[str]]]  # (group, rights, members)
    codes: list[ShareCodeView]
    mine: bool
    # the viewer may share with people by name (the hub asks for read:users:name)
    by_name: bool = True
    # rights levels the viewer may grant: only scopes they hold themselves
    levels: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.server_name}"


def server_shares(
    handler: Any, owner: Any, orm_spawner: Any, *, viewer: str, has_scope: Callable[[str], bool]
) -> ServerShares:
    """Who can reach one server through shares, and its open share codes."""
    people: list[Access] = []
    teams: list[tuple[str, str, list[str]]] = []
    for share in sorted(orm_spawner.shares, key=lambda s: s.id):
        if share.expired:
            continue
        if share.user is not None:
            people.append(
                Access(share.user.name, rights_label(share.scopes), rights_of(share.scopes))
            )
        elif share.group is not None:
            members = sorted(u.name for u in share.group.users)
            teams.append((share.group.name, rights_label(share.scopes), members))
    people.sort(key=lambda a: a.name)
    codes = []
    query = handler.db.query(orm.ShareCode).filter_by(spawner_id=orm_spawner.id)
    for code in query.order_by(orm.ShareCode.id.asc()):
        if code.expired:
            continue
        codes.append(
            ShareCodeView(
                id=f"sc_{code.id}",
                rights=rights_label(code.scopes),
                created_at=isoformat(_aware(code.created_at)),
                expires_at=isoformat(_aware(code.expires_at)),
                uses=int(code.exchange_count or 0),
            )
        )
    server_filter = f"server={owner.name}/{orm_spawner.name}"
    levels = [
        (level, label)
        for level, label in RIGHTS_LABELS.items()
        if all(has_scope(f"{scope}!{server_filter}") for scope in RIGHTS_SCOPES[level])
    ]
    return ServerShares(
        owner=owner.name,
        server_name=orm_spawner.name,
        url=owner.server_url(orm_spawner.name),
        state=server_state(owner, orm_spawner.name),
        people=people,
        teams=teams,
        codes=codes,
        mine=owner.name == viewer,
        by_name=has_scope("read:users:name") or has_scope("read:users"),
        levels=levels,
    )


def _aware(when: datetime) -> datetime:
    # the hub stores naive UTC times
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


@dataclass
class IncomingShare:
    """A server someone shared with the viewer (directly or through a group)."""

    owner: str
    server_name: str
    url: str
    rights: str
    via_group: str
    running: bool
    may_reshare: bool


def shared_with_me(
    handler: Any, user: Any, *, has_scope: Callable[[str], bool], team_groups: set[str]
) -> list[IncomingShare]:
    """Servers shared with ``user``, leaving out team servers (the Teams page shows those)."""
    result = []
    shares = list(user.orm_user.shared_with_me)
    for group in user.orm_user.groups:
        if group.name not in team_groups:
            shares.extend(group.shared_with_me)
    for share in shares:
        if share.expired:
            continue
        orm_owner = share.spawner.user
        owner = handler.users[orm_owner]
        name = share.spawner.name
        result.append(
            IncomingShare(
                owner=orm_owner.name,
                server_name=name,
                url=owner.server_url(name),
                rights=rights_label(share.scopes),
                via_group=share.group.name if share.group is not None else "",
                running=server_state(owner, name).state == "running",
                may_reshare=has_scope(f"shares!server={orm_owner.name}/{name}"),
            )
        )
    result.sort(key=lambda s: (s.owner, s.server_name, s.via_group))
    return result
