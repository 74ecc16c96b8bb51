"""Who can reach which team server, and why — computed from a :class:`HubState`. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model import HubState
from ..model.policy import Policy


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
        }


def _can_use(scopes: frozenset[str], account: str) -> bool:
    return any(
        s in (f"access:servers!server={account}/", f"access:servers!user={account}") for s in scopes
    )


def audit(state: HubState, policy: Policy) -> list[TeamAudit]:
    """One entry per team group in the hub, retired ones included, sorted by team name."""
    result = []
    admins = sorted(u.name for u in state.users.values() if u.admin)
    for group in sorted(state.groups.values(), key=lambda g: g.name):
        record = group.record
        if record is None:
            continue
        account = record.account
        owner = state.users.get(account)
        entry = TeamAudit(
            team=group.name,
            account=account,
            source_group=record.source_group or group.name,
            origin=record.origin.value,
            retired=record.retired,
            server_running=bool(owner and owner.server_running),
            members=sorted(group.users),
        )
        for share in state.shares.get(account, ()):
            if not _can_use(share.scopes, account):
                continue
            rights = (
                "use, start and stop"
                if any(s.startswith("servers!") for s in share.scopes)
                else "use"
            )
            if share.group is not None:
                shared_group = state.groups.get(share.group)
                for member in sorted(shared_group.users if shared_group else ()):
                    why = (
                        f"member of team group {share.group} ({rights})"
                        if share.group == group.name
                        else f"member of group {share.group}, which the server is shared with"
                        f" ({rights})"
                    )
                    entry.access.setdefault(member, []).append(why)
            elif share.user is not None:
                entry.access.setdefault(share.user, []).append(
                    f"the server is shared with them directly ({rights})"
                )
        for admin in admins:
            entry.access.setdefault(admin, []).append("hub admin")
        entry.access = dict(sorted(entry.access.items()))
        result.append(entry)
    return result
