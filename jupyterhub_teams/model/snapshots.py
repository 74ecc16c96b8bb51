"""Snapshots of both sides: what a directory says and what the hub holds now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .team_record import TeamRecord, record_in


@dataclass(frozen=True)
class Person:
    """A person as the directory knows them."""

    name: str
    uid: int | None = None


@dataclass(frozen=True)
class DirectoryGroup:
    """A group as the directory knows it; ``name`` is the directory's own spelling."""

    name: str
    members: frozenset[str] = frozenset()
    gid: int | None = None


@dataclass(frozen=True)
class DirectorySnapshot:
    """Everything one read of a directory returned.

    ``complete`` is False when the source knows its answer is partial (a page failed, a timeout):
    the planner then never removes anything on the strength of it.
    """

    people: Mapping[str, Person] = field(default_factory=dict)
    groups: Mapping[str, DirectoryGroup] = field(default_factory=dict)
    source: str = "unknown"
    complete: bool = True
    # Teams (by hub group name) the source itself says are over, with why, retired even when
    # ``complete`` is False: claim teams whose members all lost the claim or whose claim no
    # login confirmed for too long. The source knows what its claims mean; the planner decides
    # how a team retires.
    retiring: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HubGroup:
    """A JupyterHub group as ``GET /hub/api/groups`` returns it."""

    name: str
    users: frozenset[str] = frozenset()
    properties: Mapping[str, object] = field(default_factory=dict)

    @property
    def record(self) -> TeamRecord | None:
        """The team record in this group's properties, if the group is a team."""
        return record_in(self.properties)


@dataclass(frozen=True)
class HubUser:
    """A JupyterHub user: its name, groups and whether its default server runs."""

    name: str
    groups: frozenset[str] = frozenset()
    admin: bool = False
    server_running: bool = False
    server_pending: str | None = None


@dataclass(frozen=True)
class HubShare:
    """One share of a server: granted to a user or to a group, with its scopes."""

    owner: str
    server_name: str
    scopes: frozenset[str]
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class HubState:
    """What the hub holds now, as far as jupyterhub-teams is concerned."""

    users: Mapping[str, HubUser] = field(default_factory=dict)
    groups: Mapping[str, HubGroup] = field(default_factory=dict)
    # shares of team accounts' default servers, keyed by account name
    shares: Mapping[str, tuple[HubShare, ...]] = field(default_factory=dict)
    # Accounts whose shares were read. None: all of them. The others' shares are known from
    # their team's marker (a sync re-reads a rotating part of the shares, not all every time).
    verified_shares: frozenset[str] | None = None
