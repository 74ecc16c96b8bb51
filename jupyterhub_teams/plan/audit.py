"""Who can reach which team server, and why — computed from what was read of the hub. Pure.

Three questions, one answer shape (:class:`TeamAudit`, one per team server):

* the whole hub: :func:`audit`, or :func:`team_audit` one team at a time (what a streamed read
  calls as each team's shares arrive);
* one team server: :func:`find_team`, then :func:`team_audit`;
* one person: :func:`audit_person`, or :func:`person_view` of each whole-hub entry.

The answers agree: the per-person answer is the whole-hub answer with every entry narrowed to
that person (:func:`person_view`), and the per-server answer is the whole-hub entry of that
server (``tests/unit/test_audit.py`` checks both on generated hubs).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..model import HubGroup, HubShare, HubState
from ..model.policy import Policy

HUB_ADMIN = "hub admin"


@dataclass
class TeamAudit:
    team: str
    account: str
    source_group: str
    origin: str
    retired: bool
    server_running: bool
    members: list[str]
    # person → reasons they can reach the server
    access: dict[str, list[str]] = field(default_factory=dict)
    # False: the team's share is as its team marker records it; no share was read from the hub
    shares_checked: bool = True

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        return {
            "team": self.team,
            "account": self.account,
            "server_url": f"{base_url.rstrip('/')}/user/{self.account}/",
            "source_group": self.source_group,
            "origin": self.origin,
            "retired": self.retired,
            "server_running": self.server_running,
            "members": self.members,
            "access": self.access,
            "shares_checked": self.shares_checked,
        }


def _can_use(scopes: frozenset[str], account: str) -> bool:
    return any(
        s in (f"access:servers!server={account}/", f"access:servers!user={account}") for s in scopes
    )


def _rights(share: HubShare) -> str:
    return "use, start and stop" if any(s.startswith("servers!") for s in share.scopes) else "use"


def share_reason(share: HubShare, team: str) -> str:
    """Why ``share`` (of team ``team``'s server) lets its holder in, in words."""
    if share.group is None:
        return f"the server is shared with them directly ({_rights(share)})"
    if share.group == team:
        return f"member of team group {team} ({_rights(share)})"
    return f"member of group {share.group}, which the server is shared with ({_rights(share)})"


def team_groups(groups: Iterable[HubGroup]) -> list[HubGroup]:
    """The hub groups that are teams (their marker names an account), sorted by name."""
    return sorted((g for g in groups if g.record is not None), key=lambda g: g.name)


def find_team(
    groups: Iterable[HubGroup], *, team: str | None = None, account: str | None = None
) -> HubGroup | None:
    """The team group named ``team``, or the one whose server is ``account``'s.

    Two markers may name one account (a retired team and its successor under another name);
    the one not retired wins, then the first by name, as the hub has one server per account.
    """
    found = [
        g
        for g in team_groups(groups)
        if (team is None or g.name == team)
        and (account is None or (g.record is not None and g.record.account == account))
    ]
    found.sort(key=lambda g: g.record is not None and g.record.retired)
    return found[0] if found else None


def team_audit(
    group: HubGroup,
    *,
    shares: Iterable[HubShare],
    members_of: Mapping[str, Collection[str]],
    admins: Iterable[str] = (),
    server_running: bool = False,
    shares_checked: bool = True,
) -> TeamAudit:
    """The audit of one team group (it must carry a team marker).

    ``shares`` are the shares of the team account's default server that were read;
    ``members_of`` maps a hub group's name to its members (a share to a group the hub no
    longer has gives nobody access); ``admins`` are the hub admins.
    """
    record = group.record
    if record is None:
        raise ValueError(f"group {group.name!r} is not a team")
    account = record.account
    entry = TeamAudit(
        team=group.name,
        account=account,
        source_group=record.source_group or group.name,
        origin=record.origin.value,
        retired=record.retired,
        server_running=server_running,
        members=sorted(group.users),
        shares_checked=shares_checked,
    )
    for share in shares:
        if not _can_use(share.scopes, account):
            continue
        why = share_reason(share, group.name)
        if share.group is not None:
            holders = sorted(members_of.get(share.group, ()))
        else:
            holders = [share.user] if share.user is not None else []
        for holder in holders:
            entry.access.setdefault(holder, []).append(why)
    for admin in sorted(admins):
        entry.access.setdefault(admin, []).append(HUB_ADMIN)
    entry.access = dict(sorted(entry.access.items()))
    return entry


def hub_admins(state: HubState) -> list[str]:
    return sorted(u.name for u in state.users.values() if u.admin)


def members_by_group(groups: Iterable[HubGroup]) -> dict[str, frozenset[str]]:
    return {g.name: g.users for g in groups}


def _entry(
    state: HubState, group: HubGroup, admins: list[str], members_of: Mapping[str, frozenset[str]]
) -> TeamAudit:
    record = group.record
    assert record is not None  # team_groups only hands out teams
    owner = state.users.get(record.account)
    return team_audit(
        group,
        shares=state.shares.get(record.account, ()),
        members_of=members_of,
        admins=admins,
        server_running=bool(owner and owner.server_running),
    )


def audit(state: HubState, policy: Policy) -> list[TeamAudit]:
    """One entry per team group in the hub, retired ones included, sorted by team name."""
    admins = hub_admins(state)
    members_of = members_by_group(state.groups.values())
    return [
        _entry(state, group, admins, members_of) for group in team_groups(state.groups.values())
    ]


def person_view(entry: TeamAudit, person: str) -> TeamAudit | None:
    """``entry`` narrowed to ``person``: their reasons, and whether the team group names them.

    None when the server is nothing to them (no way in, not a member). An entry that names
    them as a member but gives them no reasons is a team they belong to and cannot reach
    (its share is missing, say).
    """
    reasons = entry.access.get(person)
    member = person in entry.members
    if reasons is None and not member:
        return None
    return replace(
        entry,
        members=[person] if member else [],
        access={person: list(reasons)} if reasons is not None else {},
    )


def audit_person(state: HubState, policy: Policy, person: str) -> list[TeamAudit]:
    """Every team server ``person`` can reach (and why), or whose team group names them.

    Works on a state read for that person alone: the shares of each team account need only
    hold the shares that name the person or one of their groups.
    """
    admins = [person] if person in hub_admins(state) else []
    result = []
    for group in team_groups(state.groups.values()):
        record = group.record
        assert record is not None
        owner = state.users.get(record.account)
        mine = [
            s
            for s in state.shares.get(record.account, ())
            if s.user == person
            or (
                s.group is not None
                and s.group in state.groups
                and person in state.groups[s.group].users
            )
        ]
        entry = team_audit(
            group,
            shares=mine,
            members_of={name: {person} for name, g in state.groups.items() if person in g.users},
            admins=admins,
            server_running=bool(owner and owner.server_running),
        )
        view = person_view(entry, person)
        if view is not None:
            result.append(view)
    return result
