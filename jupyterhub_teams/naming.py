"""Names: directory group names → team names and team accounts; people's names checked.

Pure functions. The rules are part of the public contract (documented in ``docs/naming.md``):

* A team name is the group name folded to ASCII lower case, with every run of characters other
  than ``a-z`` and ``0-9`` replaced by one ``-`` and no ``-`` at either end.
  ``"Data Science/ML"`` → ``data-science-ml``, ``"Ünïcode"`` → ``unicode``.
* A team name longer than ``max_length`` keeps its first characters and ends with ``-`` and
  eight hex digits of the SHA-256 of the original name, so it stays unique and deterministic.
* Two groups whose team names are equal are *both* refused: merging two groups' people into one
  team would grant access nobody asked for, and picking a winner would depend on ordering.
  Exception: when one of them is already the team's source (recorded in the hub), only the
  newcomers are refused and the team keeps following its own group.
* A team name starting with a reserved prefix (the team-account prefix, the prefix of teams
  people create in the hub) is refused, so that no directory group reads like a team account or
  takes a name from the namespace of ad-hoc teams.
* The team account is ``<prefix><team name>`` (``collab-physics``); the JupyterHub group is the
  team name itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_ACCOUNT_PREFIX = "collab-"
DEFAULT_MAX_TEAM_NAME_LENGTH = 40
# JupyterHub stores names in a VARCHAR(255); keep people's names well inside it.
MAX_PERSON_NAME_LENGTH = 255
_HASH_LENGTH = 8
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_FORBIDDEN_IN_PERSON = re.compile(r"[/\s\x00-\x1f\x7f]")


class InvalidName(ValueError):
    """A name that cannot be used; the message says why in words."""


@dataclass(frozen=True)
class Refusal:
    """Something from the directory that was not applied, and why."""

    kind: str  # "group" or "person"
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r} refused: {self.reason}"


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return without_marks.casefold()


def team_name(group_name: str, max_length: int = DEFAULT_MAX_TEAM_NAME_LENGTH) -> str:
    """The team name for a directory group name, or :class:`InvalidName`."""
    if max_length < _HASH_LENGTH + 2:
        raise ValueError(f"max_length must be at least {_HASH_LENGTH + 2}, got {max_length}")
    slug = _NOT_NAME_CHARS.sub("-", _fold(group_name)).strip("-")
    if not slug:
        raise InvalidName(
            f"group name {group_name!r} has no letters or digits to build a team name from"
        )
    if len(slug) > max_length:
        digest = hashlib.sha256(group_name.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
        head = slug[: max_length - _HASH_LENGTH - 1].rstrip("-")
        slug = f"{head}-{digest}"
    return slug


def account_name(team: str, prefix: str = DEFAULT_ACCOUNT_PREFIX) -> str:
    """The JupyterHub user that owns a team's server."""
    return f"{prefix}{team}"


def team_of_account(account: str, prefix: str = DEFAULT_ACCOUNT_PREFIX) -> str | None:
    """The team name an account name belongs to, or None for a person's name."""
    if account.startswith(prefix) and len(account) > len(prefix):
        return account[len(prefix) :]
    return None


def person_name(name: str, prefix: str = DEFAULT_ACCOUNT_PREFIX) -> str:
    """A directory person's JupyterHub name (lower case, as JupyterHub stores it), or refusal."""
    normalized = name.strip().lower()
    if not normalized:
        raise InvalidName("an empty name cannot be a JupyterHub user")
    if _FORBIDDEN_IN_PERSON.search(normalized):
        raise InvalidName(f"{name!r} contains '/', white space or a control character")
    if len(normalized) > MAX_PERSON_NAME_LENGTH:
        raise InvalidName(f"{name[:40]!r}… is longer than {MAX_PERSON_NAME_LENGTH} characters")
    if normalized.startswith(prefix):
        raise InvalidName(f"{name!r} starts with {prefix!r}, which is reserved for team accounts")
    return normalized


def reserved_prefix_reason(team: str, reserved_prefixes: Mapping[str, str]) -> str | None:
    """Why ``team`` may not come from a directory group, if it starts with a reserved prefix.

    ``reserved_prefixes`` maps each prefix to what it is reserved for, in words.
    """
    for prefix, reserved_for in sorted(reserved_prefixes.items()):
        if prefix and team.startswith(prefix):
            return (
                f"its team name {team!r} starts with {prefix!r}, which is reserved for "
                f"{reserved_for}; rename the group in the directory"
            )
    return None


def resolve_team_names(
    group_names: Iterable[str],
    *,
    reserved: Iterable[str] = (),
    reserved_prefixes: Mapping[str, str] | None = None,
    owners: Mapping[str, str] | None = None,
    max_length: int = DEFAULT_MAX_TEAM_NAME_LENGTH,
) -> tuple[dict[str, str], list[Refusal]]:
    """Map each directory group to its team name, refusing invalid and colliding ones.

    ``reserved_prefixes`` maps prefixes no team name may start with to what they are reserved
    for (see :func:`reserved_prefix_reason`). ``owners`` maps existing team names to the group
    that is their source: in a collision that group keeps its team and only the others are
    refused, so that a newcomer can neither take over nor freeze a team.

    Returns ``({group name: team name}, refusals)``. Refusals are sorted by name so that the same
    directory always gives the same report.
    """
    reserved_names = set(reserved)
    reserved_prefixes = reserved_prefixes or {}
    owners = owners or {}
    by_team: dict[str, list[str]] = defaultdict(list)
    refusals: list[Refusal] = []
    for group in dict.fromkeys(group_names):  # a name listed twice is still one group
        try:
            by_team[team_name(group, max_length)].append(group)
        except InvalidName as exc:
            refusals.append(Refusal("group", group, str(exc)))
    accepted: dict[str, str] = {}
    for team, groups in by_team.items():
        owner = owners.get(team)
        prefix_reason = reserved_prefix_reason(team, reserved_prefixes)
        if team in reserved_names:
            for group in groups:
                refusals.append(
                    Refusal("group", group, f"team name {team!r} is reserved by jupyterhub-teams")
                )
        elif prefix_reason is not None:
            refusals.extend(Refusal("group", group, prefix_reason) for group in groups)
        elif len(groups) > 1 and owner in groups:
            accepted[owner] = team
            for group in groups:
                if group != owner:
                    refusals.append(
                        Refusal(
                            "group",
                            group,
                            f"its team name {team!r} belongs to the group {owner!r}, which is "
                            "already that team's source; rename this group in the directory "
                            "(groups are never merged)",
                        )
                    )
        elif len(groups) > 1:
            others = sorted(groups)
            for group in groups:
                rivals = ", ".join(repr(g) for g in others if g != group)
                refusals.append(
                    Refusal(
                        "group",
                        group,
                        f"its team name {team!r} is also the team name of {rivals}; "
                        "rename one of these groups in the directory (they are never merged)",
                    )
                )
        else:
            accepted[groups[0]] = team
    refusals.sort(key=lambda r: (r.kind, r.name))
    return accepted, refusals
