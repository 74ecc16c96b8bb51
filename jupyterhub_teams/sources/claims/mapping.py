"""Claim paths → teams, pure: path rules, and never two paths merged into one team."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...naming import InvalidName, Refusal, reserved_prefix_reason, team_name

PATH_RULES = ("full", "last", "prefix")


def path_segments(path: str, kind: str) -> tuple[str, ...]:
    """A path's parts: ``/lab/physics`` → ``("lab", "physics")``, ``org:team`` → ``("org",
    "team")``. Empty parts (a leading ``/``, ``//``) are dropped."""
    if kind == "github":
        org, _, slug = path.partition(":")
        return tuple(p for p in (org, slug) if p)
    return tuple(p for p in path.split("/") if p)


def _prefix_segments(prefix: str, kind: str) -> tuple[str, ...]:
    if kind == "github":
        return tuple(p for p in prefix.split(":") if p)
    return path_segments(prefix, kind)


def group_name(path: str, kind: str, rule: str, prefix: str = "") -> str | None:
    """The group name ``path`` stands for under ``rule``; None when ``rule`` leaves it out.

    * ``full``: every part, joined by ``/`` (``/lab/physics`` → ``lab/physics``); GitHub keeps
      ``org:team``.
    * ``last``: the last part (``/lab/physics`` → ``physics``, ``org:team`` → ``team``).
    * ``prefix``: only paths strictly below ``prefix``, which is cut off (prefix ``/lab``:
      ``/lab/physics`` → ``physics``, ``/lab/x/y`` → ``x/y``, ``/lab`` and ``/other/y`` → None).
      Parts are compared exactly, except GitHub organisation names, which GitHub compares
      without regard to case.

    Raises :class:`InvalidName` for a path without any part.
    """
    if rule not in PATH_RULES:
        raise ValueError(f"unknown path rule {rule!r}; one of {', '.join(PATH_RULES)}")
    parts = path_segments(path, kind)
    if not parts:
        raise InvalidName(f"the claim group {path!r} names no group")
    if rule == "full":
        return ":".join(parts) if kind == "github" else "/".join(parts)
    if rule == "last":
        return parts[-1]
    wanted = _prefix_segments(prefix, kind)
    if not wanted or len(parts) <= len(wanted):
        return None
    head = parts[: len(wanted)]
    if kind == "github":
        head, wanted = (head[0].casefold(), *head[1:]), (wanted[0].casefold(), *wanted[1:])
    if head != wanted:
        return None
    return "/".join(parts[len(wanted) :])


@dataclass(frozen=True)
class ClaimTeam:
    """One claim path accepted as a team: the path, its group name and its team name."""

    path: str
    group: str
    team: str


@dataclass(frozen=True)
class ClaimMapping:
    """What a person's claim paths become: teams (by team name), refusals and paths left out."""

    teams: Mapping[str, ClaimTeam] = field(default_factory=dict)
    refusals: tuple[Refusal, ...] = ()
    ignored: tuple[str, ...] = ()


def map_claims(
    paths: Iterable[str],
    *,
    kind: str,
    rule: str,
    prefix: str = "",
    max_length: int,
    reserved: Iterable[str] = (),
    reserved_prefixes: Mapping[str, str] | None = None,
    owners: Mapping[str, str] | None = None,
    taken: Mapping[str, str] | None = None,
) -> ClaimMapping:
    """Map claim paths to teams without ever merging two paths into one team.

    ``owners`` maps existing claim teams to the path that owns them; a path mapping to a team
    owned by another path is refused. ``taken`` maps team names that exist but cannot be claim
    teams (a team of another source, a team created in the hub, a plain hub group) to the
    reason. Among paths of one call that map to the same new team, the first in sorted order
    owns it, so the answer never depends on the order the provider lists groups in.
    """
    owners, taken, reserved = owners or {}, taken or {}, set(reserved)
    reserved_prefixes = reserved_prefixes or {}
    accepted: dict[str, ClaimTeam] = {}
    refusals: list[Refusal] = []
    ignored: list[str] = []
    for path in sorted(set(paths)):
        try:
            group = group_name(path, kind, rule, prefix)
            if group is None:
                ignored.append(path)
                continue
            team = team_name(group, max_length)
        except InvalidName as exc:
            refusals.append(Refusal("group", path, str(exc)))
            continue
        owner = owners.get(team)
        reason = None
        if team in reserved:
            reason = f"its team name {team!r} is reserved by jupyterhub-teams"
        elif (prefixed := reserved_prefix_reason(team, reserved_prefixes)) is not None:
            # the sync refuses such a team too: it would be a group without account or share
            reason = prefixed
        elif team in taken:
            reason = f"its team name {team!r} is {taken[team]}"
        elif owner is not None and owner != path:
            reason = f"its team {team!r} belongs to the claim group {owner!r}; never merged"
        elif team in accepted:
            reason = f"its team {team!r} is also the team of {accepted[team].path!r}; never merged"
        if reason is not None:
            refusals.append(Refusal("group", path, reason))
        else:
            accepted[team] = ClaimTeam(path, group, team)
    return ClaimMapping(accepted, tuple(refusals), tuple(ignored))
