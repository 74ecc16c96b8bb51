"""The rules behind the hub pages, as pure functions: checks of typed values, who may create or
change an ad-hoc team, and what a sharing rights level means in scopes (invitation codes are
in :mod:`.invites`).

Nothing here talks to the hub, so every rule is unit-tested on its own; the handlers only fetch
the current state, call these, and write the result back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..model import TeamRecord

# Most characters of the name someone types for a new team (the page shows it as typed).
MAX_TYPED_NAME = 100

# Sharing rights levels, each including the one before. "reshare" lets the recipient manage the
# server's shares with the same rights they hold; JupyterHub lets a non-admin share only scopes
# they hold themselves, filtered to the one server (never admin:servers).
RIGHTS_SCOPES: dict[str, tuple[str, ...]] = {
    "use": ("access:servers",),
    "startstop": ("access:servers", "servers"),
    "reshare": ("access:servers", "servers", "shares"),
}
RIGHTS_LABELS = {
    "use": "Use",
    "startstop": "Use, start and stop",
    "reshare": "Use, start, stop and share",
}


class Refused(Exception):
    """An action the rules do not allow; ``message`` says why, for the person who asked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def isoformat(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def typed_team_name(value: Any) -> str:
    """``name`` of a create request: a JSON string of at most :data:`MAX_TYPED_NAME` characters,
    returned stripped."""
    if not isinstance(value, str):
        raise Refused(400, f"The team's name must be a JSON string, not {json_kind(value)}.")
    typed = value.strip()
    if not typed:
        raise Refused(400, "Give the team a name.")
    if len(typed) > MAX_TYPED_NAME:
        raise Refused(
            400, f"A team's name can have at most {MAX_TYPED_NAME} characters, not {len(typed)}."
        )
    return typed


def check_team_name_prefix(team: str, account_prefix: str) -> None:
    """A team name that reads like a team account (``collab-x``) is refused."""
    if account_prefix and team.startswith(account_prefix):
        raise Refused(
            400,
            f"A team's name cannot start with {account_prefix!r}: that prefix is reserved for "
            "team accounts.",
        )


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent" if value == value else "NaN"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# -- who may change an ad-hoc team ----------------------------------------------------------


@dataclass(frozen=True)
class TeamFacts:
    """What the rules need to know about a team."""

    name: str
    origin: str
    retired: bool
    admins: frozenset[str]
    members: frozenset[str]


@dataclass(frozen=True)
class Actor:
    """Who is asking. ``manages_groups``: the hub lets them change this group anyway (hub admins,
    holders of the ``groups`` scope on it)."""

    name: str
    manages_groups: bool = False


def is_team_admin(team: TeamFacts, actor: Actor) -> bool:
    return actor.manages_groups or actor.name in team.admins


def _check_changeable(team: TeamFacts) -> None:
    if team.origin != "hub":
        raise Refused(
            403,
            f"The members of team {team.name!r} come from the directory; "
            "changes made here would be undone by the next sync.",
        )
    if team.retired:
        raise Refused(409, f"Team {team.name!r} is retired.")


def check_invite(team: TeamFacts, actor: Actor) -> None:
    """May ``actor`` create or withdraw invitations of ``team``?"""
    _check_changeable(team)
    if not is_team_admin(team, actor):
        raise Refused(403, f"Only the admins of team {team.name!r} can invite people.")


def check_join(team: TeamFacts, person: str) -> None:
    _check_changeable(team)
    if person in team.members:
        raise Refused(409, f"You are already a member of team {team.name!r}.")


def check_add_member(team: TeamFacts, actor: Actor, person: str) -> None:
    _check_changeable(team)
    if not is_team_admin(team, actor):
        raise Refused(403, f"Only the admins of team {team.name!r} can add members.")
    if person in team.members:
        raise Refused(409, f"{person} is already a member of team {team.name!r}.")


def check_remove_member(team: TeamFacts, actor: Actor, person: str) -> None:
    """Admins remove anyone; everyone may leave; nobody else removes others.

    The last admin cannot leave while other members stay: the team would be left without
    anyone who can manage it.
    """
    _check_changeable(team)
    if person not in team.members:
        raise Refused(404, f"{person} is not a member of team {team.name!r}.")
    if person != actor.name and not is_team_admin(team, actor):
        raise Refused(403, f"Only the admins of team {team.name!r} can remove other members.")
    if team.admins == {person} and team.members != {person} and not actor.manages_groups:
        raise Refused(
            409,
            f"{person} is the only admin of team {team.name!r}: name another admin first.",
        )


def check_delete(team: TeamFacts, actor: Actor) -> None:
    """May ``actor`` delete ``team``? Its admins and hub admins may, for a team made here."""
    if team.origin != "hub":
        raise Refused(
            403,
            f"Team {team.name!r} comes from the directory: it ends when its group leaves the "
            "directory.",
        )
    if team.retired:
        raise Refused(409, f"Team {team.name!r} is already deleted.")
    if not is_team_admin(team, actor):
        raise Refused(403, f"Only the admins of team {team.name!r} can delete it.")


def check_set_admin(team: TeamFacts, actor: Actor, person: str, admin: bool) -> None:
    _check_changeable(team)
    if not is_team_admin(team, actor):
        raise Refused(403, f"Only the admins of team {team.name!r} can name admins.")
    if person not in team.members:
        raise Refused(404, f"{person} is not a member of team {team.name!r}.")
    if not admin and team.admins == {person}:
        raise Refused(409, f"{person} is the only admin of team {team.name!r}.")


# -- who may create an ad-hoc team ---------------------------------------------------------


@dataclass(frozen=True)
class CreatedTeam:
    """An ad-hoc team as the creation limits see it."""

    created_by: str
    created_at: datetime | None
    retired: bool


def creator_of(record: TeamRecord) -> str:
    """Who made an ad-hoc team: ``created_by``, or for teams made before it was recorded,
    their first admin."""
    if record.created_by:
        return record.created_by
    return record.admins[0] if record.admins else ""


def created_team(record: TeamRecord) -> CreatedTeam:
    when: datetime | None = None
    if record.created_at is not None:
        try:
            when = parse_time(record.created_at)
        except ValueError:
            when = None
    return CreatedTeam(creator_of(record), when, record.retired)


def create_refusal(
    person: str,
    *,
    hub_admin: bool,
    groups: Iterable[str],
    creators: Sequence[str],
    teams: Iterable[CreatedTeam],
    per_person: int,
    per_hour: int,
    now: datetime,
) -> Refused | None:
    """Why ``person`` may not create an ad-hoc team now, or None if they may.

    Hub admins always may. Otherwise: member of one of ``creators`` when it is not empty
    (403); fewer than ``per_person`` teams they made that are not retired (403); fewer than
    ``per_hour`` teams made in the last hour, retired or not (429).
    """
    if hub_admin:
        return None
    if creators and not set(creators) & set(groups):
        return Refused(
            403,
            "Only members of the groups "
            + ", ".join(repr(c) for c in sorted(creators))
            + " can create teams on this hub.",
        )
    made = [t for t in teams if t.created_by == person]
    active = sum(1 for t in made if not t.retired)
    if active >= per_person:
        if per_person == 0:
            return Refused(403, "Only hub admins can create teams on this hub.")
        return Refused(
            403,
            f"You already created {active} teams, the most one person may have on this hub. "
            "Ask a hub admin to retire one you no longer need.",
        )
    hour_ago = now - timedelta(hours=1)
    recent = sum(1 for t in made if t.created_at is not None and t.created_at > hour_ago)
    if recent >= per_hour:
        return Refused(
            429,
            f"You created {recent} teams in the last hour, the most allowed; try again later.",
        )
    return None


# -- sharing ----------------------------------------------------------------------------------


def share_scopes(level: str, owner: str, server: str = "") -> list[str]:
    """The scopes a rights level grants on one server."""
    if level not in RIGHTS_SCOPES:
        raise Refused(400, f"Unknown rights level {level!r}.")
    return [f"{scope}!server={owner}/{server}" for scope in RIGHTS_SCOPES[level]]


def rights_of(scopes: Iterable[str]) -> str:
    """The highest rights level a share's scopes amount to ('' if not even 'use')."""
    names = {scope.partition("!")[0] for scope in scopes}
    best = ""
    for level, needed in RIGHTS_SCOPES.items():
        if set(needed) <= names:
            best = level
    return best


def rights_label(scopes: Iterable[str]) -> str:
    level = rights_of(scopes)
    return RIGHTS_LABELS.get(level, "Other: " + ", ".join(sorted(scopes)))
