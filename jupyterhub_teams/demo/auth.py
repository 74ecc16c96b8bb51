"""The demo's password login: every account's password is ``demo``. Never for production."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from ..naming import InvalidName, person_name
from ..sources import SourceError, YAMLDirectory


class DemoAuthenticator(Authenticator):  # type: ignore[misc]
    """Accepts one shared password for the directory's people, users the hub already knows,
    and the admin."""

    password = Unicode("demo", help="The one password every demo account uses.").tag(config=True)

    directory = Unicode(
        "",
        help="""
        The demo's directory file. Its people may log in from the hub's first second, before
        the first sync has created them (later the sync creates them, and existing users may
        log in anyway).
        """,
    ).tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        given = data.get("password", "")
        if hmac.compare_digest(given.encode(), self.password.encode()):
            return data.get("username", "")
        return None

    async def check_allowed(self, username: str, authentication: Any = None) -> bool:
        if super().check_allowed(username, authentication):
            return True
        return username in await asyncio.to_thread(self._directory_people)

    def _directory_people(self) -> set[str]:
        """The hub names of the directory's people (none when the file cannot be read)."""
        if not self.directory:
            return set()
        try:
            snapshot = YAMLDirectory(self.directory)._read()
        except SourceError:
            return set()
        names = set(snapshot.people).union(*(g.members for g in snapshot.groups.values()))
        people = set()
        for name in names:
            with contextlib.suppress(InvalidName):
                people.add(person_name(name))
        return people
