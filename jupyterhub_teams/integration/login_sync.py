"""Team memberships brought up to date at login, before the login's redirect.

The background sync keeps everyone current every ``sync_interval``; this hook makes the person
who is logging in current *now*, so that someone just added to a group reaches the team server
from their first page, and someone just removed does not.

Rules:

* The directory is asked about this one person, off the event loop and within
  ``login_timeout`` seconds. A directory that is down, slow or broken never fails or delays a
  login beyond that: the person keeps the memberships the hub already has, and a log line says
  why.
* Only memberships of existing, active directory teams change. Creating and retiring teams is
  the background sync's job (it applies naming refusals and the large-removal guard).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from jupyterhub import orm

from ..config import JupyterHubTeams
from ..naming import InvalidName, person_name, team_name
from ..sources import Source, SourceError

log = logging.getLogger("jupyterhub_teams.login")

Hook = Callable[..., Any]


async def person_groups(source: Source, person: str, prefix: str) -> set[str]:
    """Directory group names of ``person`` (a JupyterHub name).

    Sources that can look one person up (``person_groups``) are asked directly; others are read
    whole, which is fine for a file.
    """
    lookup: Callable[[str], Awaitable[set[str]]] | None = getattr(source, "person_groups", None)
    if lookup is not None:
        return set(await lookup(person))
    snapshot = await source.snapshot()
    groups = set()
    for group in snapshot.groups.values():
        for member in group.members:
            with contextlib.suppress(InvalidName):
                if person_name(member, prefix) == person:
                    groups.add(group.name)
                    break
    return groups


def _active_directory_team(group: Any, property_key: str) -> bool:
    marker = (group.properties or {}).get(property_key)
    return (
        isinstance(marker, dict)
        and marker.get("origin", "directory") == "directory"
        and not marker.get("retired")
    )


def apply_team_memberships(
    db: Any, user: Any, directory_groups: set[str], teams: JupyterHubTeams
) -> tuple[list[str], list[str]]:
    """Make ``user`` (an orm.User) a member of exactly the active directory teams of its groups.

    Returns the team names joined and left. Other groups are not touched.
    """
    from ..plan import TEAM_PROPERTY

    wanted = set()
    for name in directory_groups:
        with contextlib.suppress(InvalidName):
            wanted.add(team_name(name, teams.max_team_name_length))
    current = {g.name: g for g in user.groups if _active_directory_team(g, TEAM_PROPERTY)}
    candidates = (
        db.query(orm.Group).filter(orm.Group.name.in_(wanted - set(current))).all()
        if wanted
        else []
    )
    joined = [g for g in candidates if _active_directory_team(g, TEAM_PROPERTY)]
    left = [g for name, g in current.items() if name not in wanted]
    if not joined and not left:
        return [], []
    for group in joined:
        user.groups.append(group)
    for group in left:
        user.groups.remove(group)
    db.commit()
    return sorted(g.name for g in joined), sorted(g.name for g in left)


def make_login_sync(teams: JupyterHubTeams, then: Hook | None) -> Hook:
    """A ``post_auth_hook`` updating the person's team memberships, chaining ``then``."""
    source: Source | None = None

    async def login_sync(authenticator: Any, handler: Any, authentication: Any) -> Any:
        nonlocal source
        name = authentication.get("name") if isinstance(authentication, dict) else None
        # the hub's own logger, so that these lines land in the hub's log
        hub_log = getattr(authenticator, "log", log)
        if name and hasattr(handler, "user_from_username"):
            started = time.perf_counter()
            try:
                source = source or teams.make_source()
                groups = await asyncio.wait_for(
                    person_groups(source, name, teams.account_prefix), teams.login_timeout
                )
            except (SourceError, asyncio.TimeoutError, OSError) as exc:
                reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc)
                hub_log.warning(
                    "login of %s: the directory could not be read (%s); keeping the team "
                    "memberships the hub already has",
                    name,
                    reason,
                )
            else:
                user = handler.user_from_username(name)
                joined, left = apply_team_memberships(handler.db, user.orm_user, groups, teams)
                if joined or left:
                    hub_log.info(
                        "login of %s: joined %s, left %s (%.1f ms)",
                        name,
                        joined or "none",
                        left or "none",
                        (time.perf_counter() - started) * 1000,
                    )
        if then is not None:
            result = then(authenticator, handler, authentication)
            return await result if isinstance(result, Awaitable) else result
        return authentication

    return login_sync
