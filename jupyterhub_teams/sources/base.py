"""What every directory source provides, and the optional abilities some have.

Every source is a :class:`Source`. The abilities below are optional; the surfaces test for them
with ``isinstance`` (the protocols are runtime-checkable), never by looking for attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
