"""Invitation codes of ad-hoc teams, as pure functions: made, stored (as hashes), found, used,
pruned. Nothing here talks to the hub."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .rules import Refused, isoformat, json_kind, parse_time

# Key of a group's properties holding the invitations of an ad-hoc team. Only hashes of codes
# are stored there: reading the group (as hub admins and the sync service can) never reveals a
# usable code.
INVITES_PROPERTY = "jupyterhub_teams_invites"
# Between the team name and the secret in a code; never part of a team name, so the code
# says which team it belongs to without a search through every group.
CODE_SEPARATOR = "."
SECRET_BYTES = 24
MIN_INVITE_LIFETIME = timedelta(minutes=1)
MAX_INVITE_LIFETIME = timedelta(days=30)
# Expired and used-up invitations are kept this long after they stop working, so that someone
# following an old link is told it expired (or was used) instead of "not valid".
KEEP_AFTER_EXPIRY = timedelta(days=7)


def code_hash(code: str) -> str:
    """What is stored for a code. The secret is random and long, so a plain SHA-256 is enough:
    there is nothing to guess that a salt or a slow hash would protect."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def team_of_code(code: str) -> str:
    """The team an invitation code is for (not a proof that the code is valid)."""
    team, sep, secret = code.strip().partition(CODE_SEPARATOR)
    if not sep or not team or not secret:
        raise Refused(400, "This is not an invitation code of this hub.")
    return team


@dataclass(frozen=True)
class Invite:
    """One invitation as stored in the group's properties (no code, only its hash)."""

    id: str
    sha256: str
    created_by: str
    created_at: str
    expires_at: str
    single_use: bool
    uses: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sha256": self.sha256,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "single_use": self.single_use,
            "uses": self.uses,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Invite:
        return cls(
            id=str(data["id"]),
            sha256=str(data["sha256"]),
            created_by=str(data.get("created_by", "")),
            created_at=str(data.get("created_at", "")),
            expires_at=str(data["expires_at"]),
            single_use=bool(data.get("single_use", True)),
            uses=int(data.get("uses", 0)),
        )

    def expired(self, now: datetime) -> bool:
        return parse_time(self.expires_at) <= now

    def used_up(self) -> bool:
        return self.single_use and self.uses > 0

    def active(self, now: datetime) -> bool:
        return not self.expired(now) and not self.used_up()


def load_invites(properties: Mapping[str, Any]) -> list[Invite]:
    """The invitations stored in a group's properties; malformed entries are left out."""
    raw = properties.get(INVITES_PROPERTY)
    invites = []
    for item in raw if isinstance(raw, list) else []:
        try:
            invites.append(Invite.from_json(item))
        except (KeyError, TypeError, ValueError):
            continue
    return invites


def store_invites(properties: Mapping[str, Any], invites: Iterable[Invite]) -> dict[str, Any]:
    """A new properties dict with ``invites`` (JupyterHub only notices a replaced dict)."""
    return {**properties, INVITES_PROPERTY: [i.to_json() for i in invites]}


def prune(invites: Iterable[Invite], now: datetime) -> list[Invite]:
    """Drop invitations that stopped working more than :data:`KEEP_AFTER_EXPIRY` ago.

    A used single-use invitation is kept until its expiry like the others, so that a second
    person following it is told it was used.
    """
    return [i for i in invites if parse_time(i.expires_at) + KEEP_AFTER_EXPIRY > now]


def new_invite(
    team: str, *, created_by: str, lifetime: timedelta, single_use: bool, now: datetime
) -> tuple[str, Invite]:
    """A fresh code for ``team`` and the record to store for it."""
    if not MIN_INVITE_LIFETIME <= lifetime <= MAX_INVITE_LIFETIME:
        raise Refused(
            400,
            f"An invitation must be valid for between {_describe(MIN_INVITE_LIFETIME)} and "
            f"{_describe(MAX_INVITE_LIFETIME)}.",
        )
    code = f"{team}{CODE_SEPARATOR}{secrets.token_urlsafe(SECRET_BYTES)}"
    invite = Invite(
        id=secrets.token_hex(6),
        sha256=code_hash(code),
        created_by=created_by,
        created_at=isoformat(now),
        expires_at=isoformat(now + lifetime),
        single_use=single_use,
    )
    return code, invite


def find_invite(invites: Sequence[Invite], code: str, now: datetime) -> Invite:
    """The invitation ``code`` stands for if it may still be used, else :class:`Refused` with
    the reason in words."""
    digest = code_hash(code.strip())
    for invite in invites:
        if hmac.compare_digest(invite.sha256, digest):
            if invite.expired(now):
                raise Refused(
                    410,
                    f"This invitation expired on {_when(invite.expires_at)}. "
                    "Ask a team admin for a new one.",
                )
            if invite.used_up():
                raise Refused(
                    410,
                    "This invitation was for one person and has already been used. "
                    "Ask a team admin for a new one.",
                )
            return invite
    raise Refused(
        404,
        "This invitation code is not valid: it may have been mistyped or withdrawn by a team "
        "admin.",
    )


def record_use(invites: Sequence[Invite], used: Invite) -> list[Invite]:
    return [Invite(**{**i.__dict__, "uses": i.uses + 1}) if i.id == used.id else i for i in invites]


def lifetime_from_seconds(value: Any) -> timedelta:
    """``expires_in`` of a request: a JSON integer of seconds within the allowed range.

    Booleans, floats (``1.5``, ``1e308``), NaN and Infinity are refused, never converted.
    """
    low = int(MIN_INVITE_LIFETIME.total_seconds())
    high = int(MAX_INVITE_LIFETIME.total_seconds())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(
            400,
            "The invitation's lifetime (expires_in) must be a whole number of seconds, "
            f"not {json_kind(value)}.",
        )
    if not low <= value <= high:
        raise Refused(
            400,
            f"The invitation's lifetime (expires_in) must be between {low} and {high} seconds "
            f"({_describe(MIN_INVITE_LIFETIME)} and {_describe(MAX_INVITE_LIFETIME)}).",
        )
    return timedelta(seconds=value)


def single_use_from_json(value: Any) -> bool:
    """``single_use`` of a request: a JSON boolean."""
    if not isinstance(value, bool):
        raise Refused(
            400, f"single_use must be true or false (a JSON boolean), not {json_kind(value)}."
        )
    return value


def _describe(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        days = delta.days
        return f"{days} day{'s' if days != 1 else ''}"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _when(iso: str) -> str:
    return parse_time(iso).strftime("%Y-%m-%d %H:%M UTC")
