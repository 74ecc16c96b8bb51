"""The planner: (directory snapshot, hub state, policy) → ordered, idempotent actions.

Pure. Safety rules live here so that every surface (service, CLI, login hook) gets them:

* A snapshot marked incomplete never removes or retires anything on its strength; it retires
  only the teams it names as over (``retiring``: claim teams, see sources/claims/retirement.py),
  outside the large-removal guard. The exception is ``exact_teams``: teams whose members the
  snapshot names exactly although it is incomplete (claim teams the provider answered about,
  see sources/claims/answers.py); their removals are planned under the guard, and their
  memberships count in its total.
* A group refused for its name leaves an existing team exactly as it is. A group colliding with
  the group that is already a team's source is refused alone; the team keeps following its own
  group.
* Removals beyond the large-removal limit, counted against what the directory owns (directory
  teams and their memberships, never ad-hoc or claim teams, which anyone may multiply), and any
  plan retiring every active directory team, are held back until an admin confirms.
* Retiring a team revokes its share, empties its group and stops its server; the account, the
  group and the files stay, so the team comes back intact when the group reappears.
* Groups and users that jupyterhub-teams does not manage are never touched, with one exception:
  an unmanaged hub group whose name is a team's name is adopted (reported in the plan).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..model import DirectorySnapshot, HubGroup, HubState, Origin, TeamRecord, with_record
from ..model.policy import Policy
from ..naming import (
    InvalidName,
    Refusal,
    team_name,
)
from .actions import (
    Action,
    AddGroupMembers,
    CreateGroup,
    CreateUsers,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
    StopServer,
)
from .desired import Desired, Team, desire


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # removals held back as suspiciously large, applied only when an admin confirms
    held: list[Action] = field(default_factory=list)
    # why ``held`` is not empty (also one of the notes)
    hold_reason: str | None = None

    @property
    def empty(self) -> bool:
        return not self.actions

    def to_json(self) -> dict[str, Any]:
        return {
            "actions": [a.to_json() for a in self.actions],
            "refusals": [
                {"kind": r.kind, "name": r.name, "reason": r.reason} for r in self.refusals
            ],
            "notes": list(self.notes),
            "held": [a.to_json() for a in self.held],
        }

    def describe(self) -> str:
        lines = [f"- {a.describe()}" for a in self.actions] or ["nothing to change"]
        lines += [f"held: {a.describe()}" for a in self.held]
        lines += [f"! {r}" for r in self.refusals]
        lines += [f"* {n}" for n in self.notes]
        return "\n".join(lines)


def desired_record(
    team: Team, current: TeamRecord | None, policy: Policy, confirmed_at: str | None = None
) -> TeamRecord:
    """The record a team the directory asks for should have. What the planner does not own (a
    claim team's claim, a gid the directory stopped sending: files on disk still carry it)
    is kept from the current record; ``confirmed_at`` replaces a claim team's confirmation time."""
    scopes = policy.share_scopes(team.account)
    if current is None:
        return TeamRecord(team.account, team.source_group, share_scopes=scopes, gid=team.gid)
    return replace(
        current,
        account=team.account,
        source_group=team.source_group,
        origin=Origin.CLAIMS if current.origin is Origin.CLAIMS else Origin.DIRECTORY,
        retired=False,
        share_scopes=scopes,
        gid=team.gid if team.gid is not None else current.gid,
        claim_confirmed_at=confirmed_at or current.claim_confirmed_at,
    )


def desired_teams(
    snapshot: DirectorySnapshot, policy: Policy, hub: HubState | None = None
) -> tuple[dict[str, Team], Plan]:
    """Teams the directory asks for (by team name), and a plan holding the refusals (people's
    and groups'); with ``hub``, contested names are settled against it
    (:meth:`Desired.teams_in`)."""
    desired = desire(snapshot, policy)
    teams, refusals = desired.teams_in(hub)
    plan = Plan(refusals=sorted([*desired.person_refusals, *refusals], key=_refusal_order))
    return teams, plan


def wanted_users(snapshot: DirectorySnapshot, policy: Policy) -> frozenset[str]:
    """The hub names a plan for ``snapshot`` asks about: people and team accounts."""
    return desire(snapshot, policy).wanted_users


def _refusal_order(refusal: Refusal) -> tuple[str, str]:
    return (refusal.kind, refusal.name)


def make_plan(
    snapshot: DirectorySnapshot,
    hub: HubState,
    policy: Policy | None = None,
    *,
    allow_large_removal: bool = False,
    desired: Desired | None = None,
    exact_teams: Collection[str] = (),
    confirmed: Mapping[str, str] | None = None,
) -> Plan:
    """Everything a sync would do to bring ``hub`` to what ``snapshot`` asks for.

    ``desired`` is what :func:`~.desired.desire` made of ``snapshot``, when the caller has it
    already (the sync computes it once, to know which users to read).

    Removals beyond the policy's large-removal limit go to ``plan.held`` instead of
    ``plan.actions`` unless ``allow_large_removal``.

    ``exact_teams``: teams (by name) whose members an incomplete snapshot names exactly, so
    their removals are planned; ``confirmed``: team → the claim confirmation time to record.
    """
    exact, confirmed = frozenset(exact_teams), confirmed or {}
    policy = policy or Policy()
    desired = desired if desired is not None else desire(snapshot, policy)
    teams, group_refusals = desired.teams_in(hub)
    plan = Plan(refusals=sorted([*desired.person_refusals, *group_refusals], key=_refusal_order))
    people, frozen_people = desired.people, desired.frozen_people
    may_remove = snapshot.complete
    if not may_remove and exact:
        plan.notes.append(
            f"the {snapshot.source} answer is incomplete: only the {len(exact)} team(s) whose "
            "members it names exactly lose members, and only the teams it says are over retire"
        )
    elif not may_remove:
        plan.notes.append(
            f"the {snapshot.source} answer is incomplete: nothing is removed or retired this time"
            if not snapshot.retiring
            else f"the {snapshot.source} answer is incomplete: nobody is removed from a team "
            "it names, and only the teams it says are over are retired"
        )

    # Names whose team must be left exactly as it is (refused group names; a team whose own
    # group is accepted is not frozen by a refused newcomer: it is in `teams`).
    frozen_teams: set[str] = set()
    for refusal in plan.refusals:
        if refusal.kind == "group":
            with contextlib.suppress(InvalidName):
                frozen_teams.add(team_name(refusal.name, policy.max_team_name_length))

    plan.actions += _account_actions(people.values(), teams.values(), hub, policy)
    late: list[Action] = []  # removals and stops come after every grant
    for team in sorted(teams.values(), key=lambda t: t.name):
        early, removals = _team_actions(
            team, hub, policy, frozen_people, plan.notes, confirmed.get(team.name)
        )
        plan.actions += early
        late += removals if may_remove or team.name in exact else []
    if may_remove:  # (the teams the source says are over retire below, outside the guard)
        late += _retirements(hub, set(teams) | frozen_teams | set(snapshot.retiring))
    # Teams the source says are over (claim teams). Never held by the large-removal guard nor
    # counted in it: the guard stands against a directory read gone wrong, and these are read
    # from the hub (a group its members' logins emptied) or from a recorded time; a login with
    # the claim restores such a team, while holding them would also hold a directory's removals.
    over = _source_retirements(hub, snapshot, set(teams) | frozen_teams)
    # Same-kind actions side by side so that they can be applied concurrently; the relative
    # order of kinds is the safety order (create, then grant, then take away).
    plan.actions.sort(key=lambda a: _EARLY_ORDER.index(type(a)))
    late.sort(key=lambda a: _LATE_ORDER.index(type(a)))
    hold_reason = None if allow_large_removal else _hold_reason(late, hub, policy, exact)
    if hold_reason is not None:
        plan.held = late
        plan.hold_reason = hold_reason
        plan.notes.append(hold_reason)
        late = []
    plan.actions.extend(sorted([*late, *over], key=lambda a: _LATE_ORDER.index(type(a))))
    return plan


def _account_actions(
    people: Iterable[str], teams: Iterable[Team], hub: HubState, policy: Policy
) -> list[Action]:
    """Missing people and team accounts (one request), and the accounts group (the service's
    role is filtered to it) holding every team account."""
    actions: list[Action] = []
    teams = list(teams)
    missing_users = [n for n in people if n not in hub.users] if policy.create_people else []
    missing_users += [t.account for t in teams if t.account not in hub.users]
    if missing_users:
        actions.append(CreateUsers(tuple(sorted(set(missing_users)))))
    accounts = sorted(t.account for t in teams)
    accounts_group = hub.groups.get(policy.accounts_group)
    if accounts_group is None:
        actions.append(CreateGroup(policy.accounts_group, tuple(accounts)))
    elif missing := tuple(a for a in accounts if a not in accounts_group.users):
        actions.append(AddGroupMembers(policy.accounts_group, missing))
    return actions


def _team_actions(
    team: Team,
    hub: HubState,
    policy: Policy,
    frozen_people: frozenset[str],
    notes: list[str],
    confirmed_at: str | None = None,
) -> tuple[list[Action], list[Action]]:
    """What one wanted team needs: the grants (group, record, members, share), and the
    removals of members who left (never of people whose names were refused)."""
    early: list[Action] = []
    # Only members the hub will know by the time the group is written.
    members = team.members if policy.create_people else team.members & set(hub.users)
    group = hub.groups.get(team.name)
    current = group.record if group is not None else None
    wanted = desired_record(team, current, policy, confirmed_at)
    to_remove: tuple[str, ...] = ()
    if group is None:
        early.append(CreateGroup(team.name, tuple(sorted(members))))
        early.append(SetGroupProperties(team.name, with_record({}, wanted), "new team"))
    else:
        if current is None:
            notes.append(f"adopting the existing hub group {team.name!r} as a team")
        # compared as records: a record written in an older format is not rewritten
        if current != wanted:
            reason = "restore retired team" if current and current.retired else "team"
            early.append(
                SetGroupProperties(team.name, with_record(group.properties, wanted), reason)
            )
        if to_add := tuple(sorted(members - group.users)):
            early.append(AddGroupMembers(team.name, to_add))
        to_remove = tuple(sorted(group.users - members - frozen_people))
    scopes = policy.share_scopes(team.account)
    if not _has_group_share(hub, team.account, group, scopes):
        early.append(GrantGroupShare(team.account, team.name, scopes))
    return early, [RemoveGroupMembers(team.name, to_remove)] if to_remove else []


def _retirements(hub: HubState, kept: set[str]) -> list[Action]:
    """Retire the synced teams whose group left the directory (``kept``: the teams wanted or
    frozen)."""
    actions: list[Action] = []
    for group in sorted(hub.groups.values(), key=lambda g: g.name):
        record = group.record
        if record is None or not record.synced or group.name in kept:
            continue
        actions += _retire(hub, group, record, "its group left the directory")
    return actions


def _source_retirements(hub: HubState, snapshot: DirectorySnapshot, kept: set[str]) -> list[Action]:
    """Retire the active synced teams ``snapshot.retiring`` names, unless the same snapshot
    also asks for them (``kept``)."""
    actions: list[Action] = []
    for name, why in sorted(snapshot.retiring.items()):
        group = hub.groups.get(name)
        record = group.record if group is not None else None
        if group is None or record is None or not record.synced or record.retired:
            continue
        if name not in kept:
            actions += _retire(hub, group, record, why)
    return actions


def _retire(hub: HubState, group: HubGroup, record: TeamRecord, why: str) -> list[Action]:
    """Retire one team: share revoked, members removed, server stopped, record marked retired
    (each only when not done already). The account, the group and the files stay."""
    actions: list[Action] = []
    account = record.account
    if _has_group_share(hub, account, group, ()):
        actions.append(RevokeGroupShare(account, group.name))
    if group.users:
        actions.append(RemoveGroupMembers(group.name, tuple(sorted(group.users))))
    owner = hub.users.get(account)
    if owner is not None and (owner.server_running or owner.server_pending):
        actions.append(StopServer(account, "team retired"))
    if not record.retired:
        retired = with_record(group.properties, record.retire())
        actions.append(SetGroupProperties(group.name, retired, f"retire team: {why}"))
    return actions


_CONFIRM = "If the directory is right, confirm with `jupyterhub-teams sync --allow-large-removal`"


def _hold_reason(
    late: list[Action], hub: HubState, policy: Policy, exact: frozenset[str] = frozenset()
) -> str | None:
    """Why the removals in ``late`` must wait for an admin, or None if they may go ahead."""
    removed = sum(len(a.users) for a in late if isinstance(a, RemoveGroupMembers))
    retiring = {a.group for a in late if isinstance(a, SetGroupProperties)}
    held = f"holding back {removed} membership removal(s) and {len(retiring)} retirement(s)"
    # Only teams the directory owns count: not teams made in the hub (the pages) nor claim teams
    # (made by logins), so that nobody can dilute the limit by creating teams of their own,
    # except the claim teams a provider's answer names exactly: that answer owns them.
    owned = [
        (g, r)
        for g in hub.groups.values()
        if (r := g.record) and (r.owned_by_directory or g.name in exact)
    ]
    active = {g.name for g, r in owned if r.active}
    # An emptied or truncated directory retires everything; a real one rarely does, and a small
    # hub would never reach the fraction's minimum.
    if active and active <= retiring:
        return (
            f"{held}: they would retire every one of the {len(active)} active directory "
            f"team(s). {_CONFIRM}"
        )
    if policy.large_removal_fraction >= 1:
        return None
    total = sum(len(g.users) + r.active for g, r in owned)
    removals = removed + len(retiring)
    if removals < policy.large_removal_minimum or removals <= policy.large_removal_fraction * total:
        return None
    return (
        f"{held}: together {removals} of the directory's {total} memberships and teams, more "
        f"than {policy.large_removal_fraction:.0%}. {_CONFIRM}"
    )


_EARLY_ORDER: list[type[Action]] = [
    CreateUsers,
    CreateGroup,
    AddGroupMembers,
    GrantGroupShare,
    # last: a team's marker vouches for its share, so it is written after the grant
    SetGroupProperties,
]
_LATE_ORDER: list[type[Action]] = [
    RevokeGroupShare,
    RemoveGroupMembers,
    StopServer,
    SetGroupProperties,
]


def _has_group_share(
    hub: HubState, owner: str, group: HubGroup | None, scopes: tuple[str, ...]
) -> bool:
    """Whether ``group`` has a share of ``owner``'s server with (at least) ``scopes``.

    Shares the hub state did not read are taken from the team's marker.
    """
    if group is None:
        return False
    if hub.verified_shares is None or owner in hub.verified_shares:
        return any(
            share.group == group.name and set(scopes) <= share.scopes
            for share in hub.shares.get(owner, ())
        )
    record = group.record
    return bool(
        record is not None
        and record.share_scopes
        and record.active
        and set(scopes) <= set(record.share_scopes)
    )
