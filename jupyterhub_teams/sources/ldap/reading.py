"""Reading the directory: the whole of it into a snapshot, or one person's groups at login;
off the event loop, in a thread, and bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import ldap  # type: ignore[import-untyped]
import ldap.filter  # type: ignore[import-untyped]

from ...model import DirectorySnapshot, Person
from ..base import SourceError
from .connection import LDAPConnection, _describe_ldap_error, _Partial, _Read
from .resolve import (
    Entry,
    Layout,
    _first,
    _int,
    _naming_value,
    assemble,
    decode_entry,
    group_filter_matches,
    normalize_dn,
)

_T = TypeVar("_T")


class LDAPReading(LDAPConnection):
    """What :class:`~.directory.LDAPDirectory` reads, with :class:`~.connection.LDAPConnection`
    (whose options these are)."""

    people_base_dn: str
    people_filter: str
    username_attribute: str
    group_base_dn: str
    group_filter: str
    group_name_attribute: str
    group_name_pattern: str
    uid_member_attributes: list[str]
    dn_member_attributes: list[str]
    member_of_attribute: str
    log: logging.Logger
    layout: Callable[[], Layout]
    # set in LDAPDirectory.__init__: a read that outlived snapshot_timeout may still be running
    _running: asyncio.Future[DirectorySnapshot] | None

    def _read(self, deadline: float) -> _Read:
        read = _Read()
        conn, read.server = self._bound(deadline)
        layout = self.layout()
        try:
            for base, filterstr, attrs, into in (
                (self.people_base_dn, self.people_filter, layout.people_attributes(), read.people),
                (self.group_base_dn, self.group_filter, layout.group_attributes(), read.groups),
            ):
                try:
                    self._search(conn, base, filterstr, attrs, deadline, into, read)
                except _Partial as cut:
                    read.cut_short.append(str(cut))
                    if into is read.people:
                        # the groups are still worth reading: additions can go ahead
                        continue
                except SourceError as exc:
                    if into is read.groups and read.cut_short:
                        read.cut_short.append(str(exc))
                        break
                    raise SourceError(f"{exc} (server {read.server})") from None
        finally:
            with contextlib.suppress(ldap.LDAPError):
                conn.unbind_ext()
        return read

    def read_snapshot(self) -> DirectorySnapshot:
        """Read the directory now, in this thread (blocking). Prefer :meth:`snapshot`."""
        started = time.monotonic()
        read = self._read(started + self.snapshot_timeout)
        assembly = assemble(read.people, read.groups, self.layout())
        complete = not read.cut_short
        source = f"LDAP directory {read.server}"
        summary = assembly.describe()
        if read.undecodable:
            summary += f"; {read.undecodable} values that are not UTF-8 ignored"
        seconds = time.monotonic() - started
        if complete:
            self.log.debug("read %s in %.2f s from %s", summary, seconds, read.server)
        else:
            self.log.warning(
                "incomplete read of %s (%s); nothing will be removed on its strength: %s",
                read.server,
                summary,
                "; ".join(read.cut_short),
            )
        return DirectorySnapshot(assembly.people, assembly.groups, source=source, complete=complete)

    def _find_person(self, conn: Any, server: str, person: str, deadline: float) -> Any:
        """``(dn, attributes, directory name)`` of ``person`` (a JupyterHub name), or None."""
        found: list[Entry] = []
        self._search(
            conn,
            self.people_base_dn,
            f"(&{self.people_filter}({self.username_attribute}="
            f"{ldap.filter.escape_filter_chars(person)}))",
            self.layout().people_attributes(),
            deadline,
            found,
            _Read(),
        )
        # the server compares names with the attribute's matching rule; JupyterHub names
        # are the directory's names in lower case
        matches = []
        for dn, attrs in found:
            name = _naming_value(dn, attrs, self.username_attribute)
            if name is not None and name.strip().lower() == person.lower():
                matches.append((dn, attrs, name))
        if len(matches) > 1:
            raise SourceError(
                f"{len(matches)} people in the LDAP directory {server} are named {person!r}"
            )
        return matches[0] if matches else None

    @contextlib.contextmanager
    def _person_lookup(self, person: str) -> Iterator[tuple[Any, str, float]]:
        """A bound connection for the searches about one person, failures put in words."""
        deadline = time.monotonic() + self.snapshot_timeout
        conn, server = self._bound(deadline)
        try:
            yield conn, server, deadline
        except _Partial as cut:
            raise SourceError(f"LDAP lookup of {person!r} was cut short: {cut}") from None
        except ldap.LDAPError as exc:
            raise SourceError(
                f"LDAP lookup of {person!r} on {server} failed: {_describe_ldap_error(exc)}"
            ) from None
        finally:
            with contextlib.suppress(ldap.LDAPError):
                conn.unbind_ext()

    def read_person(self, person: str) -> Person | None:
        """``person`` (a JupyterHub name) with their uid, read now in this thread (blocking);
        None when the directory has no such person. Prefer :meth:`person`."""
        with self._person_lookup(person) as (conn, server, deadline):
            match = self._find_person(conn, server, person, deadline)
        if match is None:
            return None
        _, attrs, name = match
        uid_attr = self.layout().uid_number_attribute.lower()
        return Person(name, _int(_first(attrs.get(uid_attr))) if uid_attr else None)

    async def person(self, person: str) -> Person | None:
        """One person (a JupyterHub name) and their uid, for the POSIX identity at spawn."""
        return await self._off_loop(self.read_person, person)

    def read_person_groups(self, person: str) -> set[str]:
        """Names of the selected groups ``person`` (a JupyterHub name) is in, read now in this
        thread (blocking). Prefer :meth:`person_groups`."""
        layout = self.layout()
        escape = ldap.filter.escape_filter_chars
        with self._person_lookup(person) as (conn, server, deadline):
            match = self._find_person(conn, server, person, deadline)
            if match is None:
                return set()  # not (or no longer) among the people: in no team
            dn, attrs, name = match
            names: set[str] = set()
            if layout.membership == "group":
                clauses = [
                    f"({attr}={escape(value)})"
                    for attr in self.uid_member_attributes
                    for value in sorted({name, person})
                ]
                clauses += [f"({attr}={escape(dn)})" for attr in self.dn_member_attributes]
                groups: list[Entry] = []
                if clauses:
                    self._search(
                        conn,
                        self.group_base_dn,
                        f"(&{self.group_filter}(|{''.join(clauses)}))",
                        [self.group_name_attribute],
                        deadline,
                        groups,
                        _Read(),
                    )
                for group_dn, group_attrs in groups:
                    group = _naming_value(group_dn, group_attrs, self.group_name_attribute)
                    if group:
                        names.add(group)
            else:
                names = self._groups_by_dn(
                    conn, attrs.get(self.member_of_attribute.lower(), []), deadline
                )
        return {n for n in names if group_filter_matches(self.group_name_pattern, n)}

    def _groups_by_dn(self, conn: Any, dns: Iterable[str], deadline: float) -> set[str]:
        """Names of the groups among ``dns`` that are under ``group_base_dn`` and selected by
        ``group_filter`` (one base-scope read each)."""
        base = normalize_dn(self.group_base_dn) or ""
        names: set[str] = set()
        for dn in dns:
            normal = normalize_dn(dn)
            if normal is None or not (normal == base or normal.endswith("\x1e" + base)):
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Partial(f"snapshot_timeout ({self.snapshot_timeout:g} s) reached")
            try:
                entries = conn.search_ext_s(
                    dn,
                    ldap.SCOPE_BASE,
                    self.group_filter,
                    [self.group_name_attribute],
                    timeout=min(left, self.timeout),
                )
            except ldap.NO_SUCH_OBJECT:
                continue
            for entry_dn, raw in entries:
                if entry_dn is None:
                    continue
                (entry_dn, attrs), _ = decode_entry(entry_dn, raw)
                name = _naming_value(entry_dn, attrs, self.group_name_attribute)
                if name:
                    names.add(name)
        return names

    async def _off_loop(self, read: Callable[[str], _T], person: str) -> _T:
        # python-ldap blocks: one person's searches run in a thread, bounded in time
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(read, person),
                timeout=self.snapshot_timeout + self.timeout + 5,
            )
        except asyncio.TimeoutError:
            raise SourceError(
                f"the LDAP directory ({', '.join(self.server_urls)}) did not answer within "
                f"{self.snapshot_timeout:g} s"
            ) from None

    async def person_groups(self, person: str) -> set[str]:
        """Directory group names of one person (a JupyterHub name), for the login-time update:
        two small searches instead of reading the whole directory."""
        return await self._off_loop(self.read_person_groups, person)

    async def snapshot(self) -> DirectorySnapshot:
        # python-ldap blocks, so a read never runs on the event loop. The read bounds itself
        # by snapshot_timeout; the wait below is the backstop for a call that hangs anyway (a
        # stuck TLS handshake or name lookup). Its thread is then left to finish, and no new
        # read starts until it has.
        if self._running is not None and not self._running.done():
            raise SourceError(
                f"the previous read of {', '.join(self.server_urls)} is still running "
                f"after snapshot_timeout ({self.snapshot_timeout:g} s)"
            )
        task = asyncio.ensure_future(asyncio.to_thread(self.read_snapshot))
        # an abandoned read's outcome is never awaited: retrieve it so asyncio does not warn
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._running = task
        try:
            return await asyncio.wait_for(
                asyncio.shield(task), timeout=self.snapshot_timeout + self.timeout + 5
            )
        except asyncio.TimeoutError:
            raise SourceError(
                f"the LDAP directory ({', '.join(self.server_urls)}) did not answer within "
                f"{self.snapshot_timeout:g} s"
            ) from None
