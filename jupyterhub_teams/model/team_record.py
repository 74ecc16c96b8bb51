"""A team's own record, kept in its JupyterHub group's properties.

The hub's database is where a team's state lives between syncs: which account serves it, where
it came from, whether it is retired, its gid, and for teams made on the pages their admins. One
parser and one serializer read and write it, so every layer sees the same typed
:class:`TeamRecord` and nobody guesses at a missing key.

Format versions:

* 1 (no ``version`` key; written before 0.4): a claim team said ``"origin": "directory"`` and
  ``"source": "claims"``, a missing ``origin`` meant a directory team.
* 2: ``origin`` alone says where a team came from (``directory``, ``claims`` or ``hub``).
  A claim team's record may say when a member's login last confirmed its claim
  (``claim_confirmed_at``); records without it are read as "not known", so no new version.

Records of either version are read; keys this version does not know are kept as they are, so
that a newer hub's records survive a write by this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

# Key under which a team's record lives in its JupyterHub group's properties.
TEAM_PROPERTY = "jupyterhub_teams"
FORMAT_VERSION = 2

_KNOWN_KEYS = frozenset(
    {
        "version",
        "account",
        "source_group",
        "origin",
        "source",
        "retired",
        "share_scopes",
        "gid",
        "claim",
        "claim_confirmed_at",
        "admins",
        "created_by",
        "created_at",
        "deleted_by",
        "deleted_at",
    }
)


class Origin(str, Enum):
    """Who owns a team: the directory, people's login claims, or the person who made it."""

    DIRECTORY = "directory"
    CLAIMS = "claims"
    HUB = "hub"
    # An origin this version does not know (a newer version's): such a team is left alone, and
    # its record keeps the origin it was written with.
    OTHER = "other"


class RecordError(ValueError):
    """A group property that is not a team record (said in words)."""


@dataclass(frozen=True)
class TeamRecord:
    """What jupyterhub-teams knows about one team between syncs."""

    account: str
    source_group: str
    origin: Origin = Origin.DIRECTORY
    retired: bool = False
    # The share this record vouches for. Plans write the record only after granting the share,
    # so a sync that does not re-read every share may trust it (see HubState).
    share_scopes: tuple[str, ...] = ()
    # Spawners give the team's files this gid; kept when the directory stops sending one,
    # since files on disk still carry it.
    gid: int | None = None
    # The claim path (such as ``github:org:team``) that made a claim team.
    claim: str | None = None
    # When a login or refresh of a member last confirmed a claim team's claim (ISO 8601, UTC,
    # ``2026-01-31T12:00:00Z``); None when no login of this version has seen it yet.
    claim_confirmed_at: str | None = None
    # Teams made on the pages: who manages them, who made and who deleted them.
    admins: tuple[str, ...] = ()
    created_by: str | None = None
    created_at: str | None = None
    deleted_by: str | None = None
    deleted_at: str | None = None
    # Keys this version does not know, written back unchanged.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def owned_by_directory(self) -> bool:
        """A team the background sync creates and retires (claims and pages teams are not)."""
        return self.origin is Origin.DIRECTORY

    @property
    def synced(self) -> bool:
        """A team whose membership comes from outside the hub (a directory or claims)."""
        return self.origin in (Origin.DIRECTORY, Origin.CLAIMS)

    @property
    def active(self) -> bool:
        return not self.retired

    def retire(self, **changes: Any) -> TeamRecord:
        """This record, retired: no share is vouched for any more."""
        return replace(self, retired=True, share_scopes=(), **changes)

    def unretire(self) -> TeamRecord:
        """This record, active again; it vouches for no share until the sync has granted it."""
        return replace(self, retired=False, share_scopes=())

    def to_json(self) -> dict[str, Any]:
        """The group-property value (JSON types only) for this record."""
        out: dict[str, Any] = dict(self.extra)
        out.update(
            version=FORMAT_VERSION,
            account=self.account,
            source_group=self.source_group,
            retired=self.retired,
            share_scopes=list(self.share_scopes),
        )
        optional: dict[str, Any] = {
            "gid": self.gid,
            "claim": self.claim,
            "claim_confirmed_at": self.claim_confirmed_at,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "deleted_by": self.deleted_by,
            "deleted_at": self.deleted_at,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.origin is not Origin.OTHER:  # (else ``extra`` holds the origin as written)
            out["origin"] = self.origin.value
        if self.admins or self.origin is Origin.HUB:
            out["admins"] = list(self.admins)
        return out


def parse_record(value: Any) -> TeamRecord:
    """The team record in a group property's value, of any format version.

    Raises :class:`RecordError` when the value is not a team record at all.
    """
    if not isinstance(value, Mapping):
        raise RecordError(f"a team record is a JSON object, not {type(value).__name__}")
    account = value.get("account")
    if not isinstance(account, str) or not account:
        raise RecordError("a team record names its account")
    return TeamRecord(
        account=account,
        source_group=_text(value.get("source_group")) or "",
        origin=_origin(value),
        retired=bool(value.get("retired")),
        share_scopes=_texts(value.get("share_scopes")),
        gid=_number(value.get("gid")),
        claim=_text(value.get("claim")),
        claim_confirmed_at=_text(value.get("claim_confirmed_at")),
        admins=_texts(value.get("admins")),
        created_by=_text(value.get("created_by")),
        created_at=_text(value.get("created_at")),
        deleted_by=_text(value.get("deleted_by")),
        deleted_at=_text(value.get("deleted_at")),
        extra={
            k: v
            for k, v in value.items()
            if k not in _KNOWN_KEYS or (k == "origin" and _origin(value) is Origin.OTHER)
        },
    )


def record_in(properties: Mapping[str, Any] | None) -> TeamRecord | None:
    """The team record in a group's properties; None when the group is not a team (or its
    record is unreadable: such a group is left alone, like any group that is not a team)."""
    value = (properties or {}).get(TEAM_PROPERTY)
    if value is None:
        return None
    try:
        return parse_record(value)
    except RecordError:
        return None


def with_record(properties: Mapping[str, Any] | None, record: TeamRecord) -> dict[str, Any]:
    """New group properties holding ``record`` (JupyterHub only notices a replaced dict)."""
    return {**(properties or {}), TEAM_PROPERTY: record.to_json()}


def _origin(value: Mapping[str, Any]) -> Origin:
    origin = value.get("origin", "directory")
    if origin == "directory" and value.get("source") == "claims":
        return Origin.CLAIMS  # format 1
    if origin == Origin.OTHER.value or origin not in {o.value for o in Origin}:
        return Origin.OTHER
    return Origin(origin)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value)
