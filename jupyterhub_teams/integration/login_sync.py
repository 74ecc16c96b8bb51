"""Team memberships brought up to date at login, before the login's redirect.

The background sync keeps everyone current every ``sync_interval``; this hook makes the person
who is logging in current *now*. Rules:

* The directory is asked about this one person within ``login_timeout`` seconds. A directory
  that is down, slow or broken never fails a login: the person keeps the memberships the hub
  already has, and a log line says why. A source reading groups from the login itself
  (``groups_at_login``: OAuth claims) is asked with the authentication dict instead.
* A directory source (YAML, LDAP) only *joins* the person to existing, active directory teams,
  and only to a team whose recorded source is one of the person's groups (so a group refused
  for its name never lets anyone in). Leaving teams, creating and retiring them is the
  background sync's job, under its refusals and its large-removal guard: a directory that
  suddenly answers "in no group" must not strip people one login at a time. A removed member
  is refused by the team server within ``sync_interval`` + ``revocation_interval`` anyway.
* A claim source (OAuth claims) sets the person's claim teams exactly, leaving included: the
  person's own login is the only authority for them. A login whose ``auth_state`` carries no
  groups claim at all is an error, never "in no group": it changes nothing. Claim teams that
  do not exist yet get their JupyterHub group here (account and share follow at the next sync);
  a retired claim team of the same claim is restored here (its share follows at the next sync),
  and with ``ClaimGroups.retire_after_days`` the login writes down in each of the person's claim
  teams that its claim was confirmed (only when the recorded time is getting old). Retiring a
  claim team is the background sync's job (see :mod:`jupyterhub_teams.sources.claims`).
* With ``Authenticator.manage_groups``, JupyterHub sets the person's groups to the login's
  ``groups`` right after this hook: the hook makes that list hold the person's teams as they now
  are and no other team, so the authenticator manages other groups and jupyterhub-teams teams.
* Claim sources are applied again when the hub refreshes someone's authentication
  (``refresh_user``), through ``reconcile_auth_state_hook`` (JupyterHub 6.1+).

Changes are planned actions (the kinds a sync plans) applied in the hub's own database session
by :func:`~jupyterhub_teams.hub.in_process.apply_in_hub`, in one transaction, each logged with
its origin ("login of alice"): waiting for the hub's REST API while it answers this very login
is what the hook must not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from jupyterhub import orm
from prometheus_client import Histogram
from sqlalchemy.exc import SQLAlchemyError

from ..config import JupyterHubTeams
from ..hub.in_process import apply_in_hub
from ..model import Origin, TeamRecord, record_in, with_record
from ..naming import InvalidName, person_name, reserved_prefix_reason, team_name
from ..plan import (
    Action,
    AddGroupMembers,
    CreateGroup,
    RemoveGroupMembers,
    SetGroupProperties,
)
from ..sources import Source, SourceError
from ..sources.base import LooksUpOnePerson, MakesClaimTeams, ReadsGroupsAtLogin

log = logging.getLogger("jupyterhub_teams.login")

# In the hub's own registry: served at /hub/metrics with the hub's metrics, under its namespace.
LOGIN_SYNC_DURATION = Histogram(
    "login_sync_duration_seconds",
    "Time the login hook took to bring a person's team memberships up to date, by outcome",
    ["occasion", "outcome"],
    namespace=os.environ.get("JUPYTERHUB_METRICS_PREFIX") or "jupyterhub",
    subsystem="teams",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
for _occasion in ("login", "refresh"):
    for _outcome in ("changed", "unchanged", "unavailable", "failed"):
        LOGIN_SYNC_DURATION.labels(_occasion, _outcome)

Hook = Callable[..., Any]


async def person_groups(source: Source, person: str, prefix: str) -> set[str]:
    """Directory group names of ``person`` (a JupyterHub name).

    Sources that can look one person up (``person_groups``) are asked directly; others are read
    whole, which is fine for a file.
    """
    if isinstance(source, LooksUpOnePerson):
        return set(await source.person_groups(person))
    snapshot = await source.snapshot()
    groups = set()
    for group in snapshot.groups.values():
        for member in group.members:
            with contextlib.suppress(InvalidName):
                if person_name(member, prefix) == person:
                    groups.add(group.name)
                    break
    return groups


async def login_groups(
    source: Source, person: str, authentication: Mapping[str, Any], prefix: str
) -> set[str]:
    """The person's group names: from the login itself when the source reads them there."""
    if isinstance(source, ReadsGroupsAtLogin):
        return set(await source.groups_at_login(person, authentication))
    return await person_groups(source, person, prefix)


def _record(group: Any) -> TeamRecord | None:
    return record_in(group.properties)


def _is_active_claim_team(record: TeamRecord | None) -> bool:
    return record is not None and record.origin is Origin.CLAIMS and record.active


def _change(
    db: Any,
    user: Any,
    joined: list[str],
    left: list[str],
    created: list[Action],
    origin: str,
    action_log: Any = log,
) -> tuple[list[str], list[str]]:
    """Apply a login's changes as planned actions (the same kinds a sync plans), in one
    transaction: new claim teams' groups, then joins, then leaves."""
    actions = [
        *created,
        *(AddGroupMembers(team, (user.name,)) for team in sorted(joined)),
        *(RemoveGroupMembers(team, (user.name,)) for team in sorted(left)),
    ]
    if actions:
        # each action in the hub's own log (this module's logger has no handler in the hub)
        apply_in_hub(db, actions, origin, action_log)
    return sorted(joined), sorted(left)


def _joinable(group: Any, groups_of_person: set[str], reserved_prefixes: dict[str, str]) -> bool:
    """Whether a login may add someone in ``groups_of_person`` to ``group``: an active directory
    team whose source is one of those groups, with a name the sync does not refuse."""
    record = _record(group)
    if record is None or not (record.synced and record.active):
        return False
    return (
        record.source_group in groups_of_person
        and reserved_prefix_reason(group.name, reserved_prefixes) is None
    )


def apply_team_memberships(
    db: Any,
    user: Any,
    directory_groups: set[str],
    teams: JupyterHubTeams,
    origin: str = "login",
    action_log: Any = log,
) -> tuple[list[str], list[str]]:
    """Add ``user`` (an orm.User) to the active directory teams of its directory groups.

    Returns the team names joined and left; nobody leaves a team here (see the module's
    docstring). Other groups are not touched.
    """
    by_team: dict[str, set[str]] = {}
    for name in directory_groups:
        with contextlib.suppress(InvalidName):
            by_team.setdefault(team_name(name, teams.max_team_name_length), set()).add(name)
    missing = set(by_team) - {g.name for g in user.groups}
    candidates = db.query(orm.Group).filter(orm.Group.name.in_(missing)).all() if missing else []
    reserved_prefixes = teams.policy().reserved_team_prefixes()
    joined = [g.name for g in candidates if _joinable(g, by_team[g.name], reserved_prefixes)]
    return _change(db, user, joined, [], [], origin, action_log)


def _why_taken(record: TeamRecord | None) -> str:
    if record is None:
        return "an existing hub group that jupyterhub-teams does not manage"
    if not record.synced:
        return "a team created in the hub"
    if record.retired:
        return "a retired team"
    return "a team of another directory source"


def _claim_record_writes(
    group: Any, record: TeamRecord, source: Any, now: datetime
) -> list[Action]:
    """What a login with the claim of an existing claim team writes in its record: a retired
    team restored, or the time its claim was confirmed (only when that is due)."""
    if record.retired:
        restored = record.unretire()
        restored = source.confirmed(restored, now) or restored
        reason = f"restore retired claim team of {record.claim!r}; the sync grants its share"
        return [SetGroupProperties(group.name, with_record(group.properties, restored), reason)]
    confirmed = source.confirmed(record, now)
    if confirmed is None:
        return []
    reason = f"claim {record.claim!r} confirmed at {confirmed.claim_confirmed_at}"
    return [SetGroupProperties(group.name, with_record(group.properties, confirmed), reason)]


def apply_claim_teams(
    db: Any,
    user: Any,
    paths: set[str],
    source: Any,
    hub_log: Any,
    origin: str = "login",
    now: datetime | None = None,
) -> tuple[list[str], list[str]]:
    """Make ``user`` a member of exactly the claim teams of its claim ``paths``.

    A new team's JupyterHub group is created with its marker; a retired claim team of the same
    path is restored; a path whose team belongs to another path (retired or not), or whose name
    is taken by a group that is no claim team, is refused with a log line. Groups that are not
    claim teams are not touched. ``now`` is when the claims were confirmed (default: now).
    """
    now = now or datetime.now(timezone.utc)
    names = set(source.claim_teams(paths).teams)
    existing = (
        {g.name: g for g in db.query(orm.Group).filter(orm.Group.name.in_(names))} if names else {}
    )
    owners, taken = {}, {}
    for name, group in existing.items():
        record = _record(group)
        if record is not None and record.origin is Origin.CLAIMS:
            owners[name] = record.claim or ""
        else:
            taken[name] = _why_taken(record)
    mapping = source.claim_teams(paths, owners=owners, taken=taken)
    for refusal in mapping.refusals:
        hub_log.warning("%s: claim %s", user.name, refusal)
    created: list[Action] = []
    for team in mapping.teams.values():
        if team.team not in existing:
            properties = with_record({}, source.record(team, now))
            reason = f"new claim team from {team.path!r}; the sync adds its account and share"
            created += [CreateGroup(team.team), SetGroupProperties(team.team, properties, reason)]
        elif (record := _record(existing[team.team])) is not None:
            created += _claim_record_writes(existing[team.team], record, source, now)
    wanted = set(mapping.teams)
    current = {g.name for g in user.groups if _is_active_claim_team(_record(g))}
    joined, left = sorted(wanted - current), sorted(current - wanted)
    return _change(db, user, joined, left, created, origin, hub_log)


def keep_teams_in_managed_groups(db: Any, user: Any, authentication: dict[str, Any]) -> None:
    """Make a login's ``groups`` (applied by ``manage_groups``) carry exactly the person's teams.

    Names of teams the person is not in are dropped (an authenticator's group list never makes
    someone a team member) and the teams they are in are added (it never removes them either).
    """
    if authentication.get("groups") is None:
        return  # None: the hub leaves groups alone
    names = {str(n) for n in authentication["groups"]}
    teams_named = (
        {g.name for g in db.query(orm.Group).filter(orm.Group.name.in_(names)) if _record(g)}
        if names
        else set()
    )
    mine = {g.name for g in user.groups if _record(g)}
    authentication["groups"] = sorted((names - teams_named) | mine)


def keeping_teams_at_refresh(base_refresh: Callable[..., Any]) -> Callable[..., Any]:
    """An ``Authenticator.refresh_user`` that does to a refresh's ``groups`` what
    :func:`keep_teams_in_managed_groups` does to a login's: with ``manage_groups``, JupyterHub
    applies the groups a refresh returns too (OAuthenticator refreshes every
    ``auth_refresh_age`` seconds), and a provider's list would take people out of the teams
    made in the hub."""

    async def refresh_user(self: Any, user: Any, *args: Any, **kwargs: Any) -> Any:
        result = base_refresh(self, user, *args, **kwargs)
        if isinstance(result, Awaitable):
            result = await result
        if isinstance(result, dict) and getattr(self, "manage_groups", False):
            orm_user = getattr(user, "orm_user", user)
            db = getattr(user, "db", None) or getattr(getattr(self, "parent", None), "db", None)
            if db is not None:
                keep_teams_in_managed_groups(db, orm_user, result)
        return result

    return refresh_user


async def update_person(
    source: Source,
    teams: JupyterHubTeams,
    db: Any,
    user: Any,
    authentication: dict[str, Any],
    *,
    occasion: str,
    hub_log: Any,
) -> None:
    """Read ``user``'s groups (within ``login_timeout``) and apply them; never raises."""
    started = time.perf_counter()
    outcome = "unchanged"
    try:
        groups = await asyncio.wait_for(
            login_groups(source, user.name, authentication, teams.account_prefix),
            teams.login_timeout,
        )
        origin = f"{occasion} of {user.name}"
        if isinstance(source, MakesClaimTeams):
            joined, left = apply_claim_teams(db, user, groups, source, hub_log, origin)
        else:
            joined, left = apply_team_memberships(db, user, groups, teams, origin, hub_log)
    except (SourceError, asyncio.TimeoutError, OSError) as exc:
        reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc)
        hub_log.warning(
            "%s of %s: the directory could not be read (%s); keeping the team memberships "
            "the hub already has",
            *(occasion, user.name, reason),
        )
        outcome = "unavailable"
    except (SQLAlchemyError, LookupError) as exc:
        db.rollback()
        hub_log.error("%s of %s: team memberships not updated: %s", occasion, user.name, exc)
        outcome = "failed"
    else:
        if joined or left:
            outcome = "changed"
            took = (time.perf_counter() - started) * 1000
            hub_log.info(
                "%s of %s: joined %s, left %s (%.1f ms)",
                *(occasion, user.name, joined or "none", left or "none", took),
            )
    finally:
        LOGIN_SYNC_DURATION.labels(occasion, outcome).observe(time.perf_counter() - started)


def _make_source(teams: JupyterHubTeams, occasion: str, name: str, hub_log: Any) -> Any:
    try:
        return teams.make_source()
    except Exception as exc:  # a misconfigured source is reported, never fails a login
        hub_log.error("%s of %s: the directory source cannot be set up: %s", occasion, name, exc)
        return None


async def _then(then: Hook | None, default: Any, *args: Any) -> Any:
    if then is None:
        return default
    result = then(*args)
    return await result if isinstance(result, Awaitable) else result


def make_login_sync(teams: JupyterHubTeams, then: Hook | None) -> Hook:
    """A ``post_auth_hook`` updating the person's team memberships, chaining ``then``."""
    source: Source | None = None

    async def login_sync(authenticator: Any, handler: Any, authentication: Any) -> Any:
        nonlocal source
        name = authentication.get("name") if isinstance(authentication, dict) else None
        # the hub's own logger, so that these lines land in the hub's log
        hub_log = getattr(authenticator, "log", log)
        if name and hasattr(handler, "user_from_username"):
            user = handler.user_from_username(name).orm_user
            source = source or _make_source(teams, "login", name, hub_log)
            if source is not None:
                db = handler.db
                await update_person(
                    source, teams, db, user, authentication, occasion="login", hub_log=hub_log
                )
            if getattr(authenticator, "manage_groups", False):
                keep_teams_in_managed_groups(handler.db, user, authentication)
        return await _then(then, authentication, authenticator, handler, authentication)

    return login_sync


def make_refresh_sync(teams: JupyterHubTeams, then: Hook | None) -> Hook | None:
    """A ``reconcile_auth_state_hook`` applying a claim source at every login and refresh.

    JupyterHub (6.1+) calls it after a successful ``authenticate`` or ``refresh_user``, once it
    has applied ``manage_groups``. None when the source reads no groups at login.
    """
    if not teams.source_can(ReadsGroupsAtLogin):
        return None
    # built now so that a misconfigured source stops the hub at start, not at a login
    source: Source | None = teams.make_source()

    async def refresh_sync(authenticator: Any, auth_model: Any, existing_auth_state: Any) -> Any:
        nonlocal source
        hub_log = getattr(authenticator, "log", log)
        name = auth_model.get("name") if isinstance(auth_model, dict) else None
        db = getattr(getattr(authenticator, "parent", None), "db", None)
        user = orm.User.find(db, name) if db is not None and name else None
        if user is not None:
            source = source or _make_source(teams, "refresh", user.name, hub_log)
        if user is not None and source is not None:
            await update_person(
                source, teams, db, user, auth_model, occasion="refresh", hub_log=hub_log
            )
        default = auth_model.get("auth_state") if isinstance(auth_model, dict) else None
        return await _then(then, default, authenticator, auth_model, existing_auth_state)

    return refresh_sync
