"""What a directory snapshot asks of the hub: people and teams, computed once per sync.

Pure. The people are resolved once (the costly part on a large directory); the team names are
resolved again against the hub's state by the planner, because who keeps a contested name
depends on which group is already a team's source there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model import DirectorySnapshot, HubState, Policy
from ..naming import InvalidName, Refusal, account_name, person_name, resolve_team_names


@dataclass(frozen=True)
class Team:
    """A team as the directory wants it."""

    name: str
    source_group: str
    account: str
    members: frozenset[str]
    # the directory group's POSIX gid, when it has one (local deployments use it)
    gid: int | None = None


@dataclass(frozen=True)
class Desired:
    """The people a snapshot asks for, and the teams it asks for before the hub is consulted."""

    snapshot: DirectorySnapshot
    policy: Policy
    # directory name → JupyterHub name
    people: Mapping[str, str]
    person_refusals: tuple[Refusal, ...]
    # team name → team, with every contested name refused (no hub state yet)
    teams: Mapping[str, Team] = field(default_factory=dict)

    @property
    def wanted_users(self) -> frozenset[str]:
        """The hub names a plan asks about: people and team accounts."""
        return frozenset(self.people.values()) | {t.account for t in self.teams.values()}

    @property
    def frozen_people(self) -> frozenset[str]:
        """People refused because two directory names collide keep the teams they are in, as
        teams of refused groups do: a naming problem never revokes access."""
        names = set()
        for refusal in self.person_refusals:
            with contextlib.suppress(InvalidName):
                names.add(person_name(refusal.name, self.policy.account_prefix))
        return frozenset(names)

    def teams_in(self, hub: HubState | None) -> tuple[dict[str, Team], list[Refusal]]:
        """The teams, with contested names settled against ``hub``: a group that is already a
        team's source keeps its team, and a team people created in the hub is never taken
        over by a directory group. Without ``hub`` every contested name is refused."""
        names, refusals = resolve_team_names(
            self.snapshot.groups,
            reserved=(self.policy.accounts_group,),
            reserved_prefixes=self.policy.reserved_team_prefixes(),
            owners=team_sources(hub) if hub is not None else None,
            max_length=self.policy.max_team_name_length,
        )
        teams = {team: self._team(team, group_name) for group_name, team in names.items()}
        for name in sorted(teams) if hub is not None else ():
            group = hub.groups.get(name) if hub is not None else None
            record = group.record if group is not None else None
            if record is not None and not record.synced:
                reason = f"its team name {name!r} belongs to a team created in the hub"
                refusals.append(Refusal("group", teams.pop(name).source_group, reason))
        return teams, refusals

    def _team(self, team: str, group_name: str) -> Team:
        group = self.snapshot.groups[group_name]
        members = frozenset(self.people[m] for m in group.members if m in self.people)
        return Team(
            team, group_name, account_name(team, self.policy.account_prefix), members, group.gid
        )


def desire(snapshot: DirectorySnapshot, policy: Policy) -> Desired:
    """What ``snapshot`` asks for, computed once: see :class:`Desired`."""
    people, refusals = desired_people(snapshot, policy)
    desired = Desired(snapshot, policy, people, tuple(refusals))
    teams, _ = desired.teams_in(None)
    return Desired(snapshot, policy, people, tuple(refusals), teams)


def desired_people(
    snapshot: DirectorySnapshot, policy: Policy
) -> tuple[dict[str, str], list[Refusal]]:
    """Directory names of everyone (listed or a member somewhere) → JupyterHub names."""
    raw = set(snapshot.people)
    for group in snapshot.groups.values():
        raw |= group.members
    by_hub_name: dict[str, list[str]] = {}
    refusals: list[Refusal] = []
    for name in sorted(raw):
        try:
            by_hub_name.setdefault(person_name(name, policy.account_prefix), []).append(name)
        except InvalidName as exc:
            refusals.append(Refusal("person", name, str(exc)))
    people: dict[str, str] = {}
    for hub_name, names in by_hub_name.items():
        if len(names) > 1:
            for name in names:
                refusals.append(
                    Refusal(
                        "person",
                        name,
                        f"{', '.join(map(repr, names))} are all the JupyterHub user {hub_name!r}",
                    )
                )
        else:
            people[names[0]] = hub_name
    return people, refusals


def team_sources(hub: HubState) -> dict[str, str]:
    """Team name → the directory group that is the team's source, as the hub records it."""
    sources: dict[str, str] = {}
    for group in hub.groups.values():
        record = group.record
        if record is not None and record.synced and record.source_group:
            sources[group.name] = record.source_group
    return sources
