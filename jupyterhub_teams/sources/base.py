"""What every directory source provides, and the optional abilities some have.

Every source is a :class:`Source`. The abilities below are optional; the surfaces test for them
with ``isinstance`` (the protocols are runtime-checkable), never by looking for attributes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..model import DirectorySnapshot, HubGroup, TeamRecord


class SourceError(RuntimeError):
    """The directory could not be read; the message says why. Nothing is changed on it."""


@runtime_checkable
class Source(Protocol):
    """A read-only adapter turning one directory into a :class:`DirectorySnapshot`."""

    async def snapshot(self) -> DirectorySnapshot:
        """Read the whole directory. Raise :class:`SourceError` when it cannot be read."""
        ...


@runtime_checkable
class ReadsGroupsAtLogin(Protocol):
    """A source that finds a person's groups in their login (OAuth claims), not in a directory
    it can list."""

    async def groups_at_login(self, name: str, auth_model: Mapping[str, Any]) -> set[str]:
        """The person's group names (or paths) in a login's authentication dict."""
        ...


@runtime_checkable
class BuiltFromHubGroups(Protocol):
    """A source whose background snapshot is what the hub already records (claim teams): it is
    built from the groups the sync has read anyway, with no second read of the hub."""

    def snapshot_from_hub(self, groups: Mapping[str, HubGroup]) -> DirectorySnapshot:
        """The snapshot, from the hub's groups. Raise :class:`SourceError` if it cannot be made."""
        ...


@runtime_checkable
class LooksUpOnePerson(Protocol):
    """A source that can read one person's groups without reading the whole directory (LDAP);
    logins use it to stay fast."""

    async def person_groups(self, person: str) -> set[str]:
        """The directory group names of one person (a JupyterHub name)."""
        ...


@runtime_checkable
class NeedsHubEnvironment(Protocol):
    """A source that reads secrets from the hub's environment (an LDAP bind password); the hub
    passes those variables to the sync service, which JupyterHub starts with a filtered
    environment."""

    def service_environment(self) -> list[str]:
        """Names of the environment variables the source reads."""
        ...


@runtime_checkable
class MakesClaimTeams(Protocol):
    """A source whose groups become teams at login (claims): the login hook creates a new
    team's group with the record the source gives, and sets the person's claim teams exactly."""

    def claim_teams(
        self,
        paths: Iterable[str],
        *,
        owners: Mapping[str, str] | None = None,
        taken: Mapping[str, str] | None = None,
    ) -> Any:
        """The teams ``paths`` map to (a ``ClaimMapping``), with refusals."""
        ...

    def record(self, team: Any) -> TeamRecord:
        """The record of a new team made from a claim."""
        ...

    def confirmed(self, record: TeamRecord, now: Any = None) -> TeamRecord | None:
        """``record`` after a login confirmed its claim at ``now`` (a datetime), or None when
        nothing needs writing: the login hook keeps the time teams retire by."""
        ...


@dataclass(frozen=True)
class ProviderSnapshot:
    """A claims snapshot made with the provider's answers (see :class:`AsksProviderForMembers`).

    The snapshot stays incomplete (people outside these teams are unknown), but for the teams
    in ``exact_teams`` it names exactly the hub members the provider still lists, so the sync
    may remove the others (under the large-removal guard). ``confirmed``: teams whose record
    should now say that their claim was confirmed, with the time as records write it.
    """

    snapshot: DirectorySnapshot
    exact_teams: frozenset[str] = frozenset()
    confirmed: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class AsksProviderForMembers(Protocol):
    """A claims source that can ask the identity provider (GitHub, GitLab) who is in a team, with
    a token an admin gave, so that the background sync removes people the provider no longer
    lists without waiting for their next login."""

    async def members_at_provider(
        self, claims: Collection[str]
    ) -> Mapping[str, frozenset[str] | None]:
        """Each claim path's members as JupyterHub names; None for a team the provider would not
        answer about (an error, a 404): unknown, never "nobody"."""
        ...

    async def snapshot_asking_provider(self, groups: Mapping[str, HubGroup]) -> ProviderSnapshot:
        """The snapshot from the hub's groups, with the provider's answers where it gives them
        (just the snapshot when asking is off)."""
        ...
