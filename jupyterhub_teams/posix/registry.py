"""The record of every uid and gid jupyterhub-teams has handed out (a small SQLite file).

Why a record: a number taken from a range must stay with its name after a restart, a rebuilt
container or a wiped ``/etc/passwd``, and must never go to another name while files on disk
still carry it. Numbers from the directory or the identity provider are recorded too, so a
later change of them is noticed instead of silently orphaning files.

Every method blocks (SQLite); the hub calls them off its event loop. Writes run in one
``BEGIN IMMEDIATE`` transaction each, so two hub processes sharing the file cannot hand the
same number out twice.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from .numbers import NumberRange, allocate

Kind = Literal["uid", "gid"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ids (
    kind TEXT NOT NULL CHECK (kind IN ('uid', 'gid')),
    name TEXT NOT NULL,          -- the JupyterHub user the number belongs to
    system_name TEXT NOT NULL,   -- its system user (uid) or group (gid) name
    number INTEGER NOT NULL,
    origin TEXT NOT NULL,        -- where the number came from: directory, claim, allocated
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (kind, name),
    UNIQUE (kind, system_name),
    UNIQUE (kind, number)
)
"""


class IdentityConflict(Exception):
    """A number or system name is already someone else's; the message names both."""


@dataclass(frozen=True)
class Record:
    kind: Kind
    name: str
    system_name: str
    number: int
    origin: str


def _what(kind: Kind) -> str:
    return "system user" if kind == "uid" else "system group"


class Registry:
    """The SQLite record at ``path`` (created on first use, readable by its owner only)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._ready = False

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if not self._ready:
                conn.execute(_SCHEMA)
                self._ready = True
            if write:
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if write:
                    conn.execute("ROLLBACK")
                raise
            if write:
                conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _row(kind: Kind, row: tuple[str, str, int, str] | None) -> Record | None:
        if row is None:
            return None
        name, system_name, number, origin = row
        return Record(kind, name, system_name, int(number), origin)

    @staticmethod
    def _find(conn: sqlite3.Connection, kind: Kind, column: str, value: object) -> Record | None:
        # column is one of three literals below, never user input
        row = conn.execute(
            f"SELECT name, system_name, number, origin FROM ids WHERE kind = ? AND {column} = ?",  # noqa: S608
            (kind, value),
        ).fetchone()
        return Registry._row(kind, row)

    def lookup(self, kind: Kind, name: str) -> Record | None:
        """What ``name`` holds, if anything."""
        with self._connect(write=False) as conn:
            return self._find(conn, kind, "name", name)

    def records(self) -> list[Record]:
        """Every record, by kind and name."""
        with self._connect(write=False) as conn:
            rows = conn.execute(
                "SELECT kind, name, system_name, number, origin FROM ids ORDER BY kind, name"
            ).fetchall()
        return [Record(k, n, s, int(num), o) for k, n, s, num, o in rows]

    def _check_free(self, conn: sqlite3.Connection, wanted: Record) -> None:
        what = _what(wanted.kind)
        held = self._find(conn, wanted.kind, "number", wanted.number)
        if held is not None and held.name != wanted.name:
            raise IdentityConflict(
                f"{wanted.kind} {wanted.number} ({wanted.origin}) for JupyterHub user "
                f"{wanted.name!r} is already recorded for JupyterHub user {held.name!r} "
                f"({what} {held.system_name!r}); a number is never given to two names"
            )
        held = self._find(conn, wanted.kind, "system_name", wanted.system_name)
        if held is not None and held.name != wanted.name:
            raise IdentityConflict(
                f"JupyterHub users {held.name!r} and {wanted.name!r} both map to the {what} "
                f"name {wanted.system_name!r}; {held.name!r} was recorded first and keeps it, "
                f"so {wanted.name!r} is refused (see the system name rule in the docs)"
            )

    def _insert(self, conn: sqlite3.Connection, record: Record) -> Record:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO ids (kind, name, system_name, number, origin, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (record.kind, record.name, record.system_name, record.number, record.origin, now),
        )
        return record

    def _settle(self, conn: sqlite3.Connection, wanted: Record) -> Record:
        """Record ``wanted`` in the open transaction, or find it already recorded."""
        current = self._find(conn, wanted.kind, "name", wanted.name)
        if current is not None:
            if (current.number, current.system_name) == (wanted.number, wanted.system_name):
                return current
            raise IdentityConflict(
                f"JupyterHub user {wanted.name!r} has {wanted.kind} {current.number} "
                f"({_what(wanted.kind)} {current.system_name!r}, {current.origin}) on "
                f"record, but the {wanted.origin} now says {wanted.number} "
                f"({wanted.system_name!r}). Files on disk carry the recorded number, so "
                "nothing is changed: fix the source, or re-own the files and run "
                f"`jupyterhub-teams posix forget {wanted.name}`"
            )
        self._check_free(conn, wanted)
        return self._insert(conn, wanted)

    def claim(self, wanted: Record, together: Sequence[Record] = ()) -> Record:
        """Record a number that came from outside (directory, claim) for ``wanted.name``, and
        ``together`` with it, all or nothing.

        Returns the record; raises :class:`IdentityConflict` when a name already holds a
        different number or system name, or a number or system name is someone else's.
        """
        with self._connect(write=True) as conn:
            record = self._settle(conn, wanted)
            for other in together:
                self._settle(conn, other)
            return record

    def allocate(
        self,
        kind: Kind,
        name: str,
        system_name: str,
        numbers: NumberRange,
        taken_elsewhere: Callable[[int], bool],
        together: Callable[[int], Sequence[Record]] = lambda number: (),
    ) -> Record:
        """``name``'s recorded number, or a new one from ``numbers``; with the records
        ``together(number)`` made in the same transaction (all or nothing).

        A new number is one no record holds, as ``kind`` nor as any kind ``together`` records,
        and for which ``taken_elsewhere`` (the system's own users or groups) is false.
        """
        with self._connect(write=True) as conn:
            current = self._find(conn, kind, "name", name)
            if current is not None:
                if current.system_name != system_name:
                    raise IdentityConflict(
                        f"JupyterHub user {name!r} is recorded with the {_what(kind)} name "
                        f"{current.system_name!r}, not {system_name!r}"
                    )
                for other in together(current.number):
                    self._settle(conn, other)
                return current
            kinds = {kind, *(r.kind for r in together(numbers.first))}

            def taken(number: int) -> bool:
                return any(
                    self._find(conn, k, "number", number) is not None for k in kinds
                ) or taken_elsewhere(number)

            wanted = Record(kind, name, system_name, allocate(name, numbers, taken), "allocated")
            record = self._settle(conn, wanted)
            for other in together(record.number):
                self._settle(conn, other)
            return record

    def forget(self, name: str) -> list[Record]:
        """Drop ``name``'s records (an admin's explicit action); returns what was dropped."""
        with self._connect(write=True) as conn:
            dropped = [
                record
                for kind in ("uid", "gid")
                if (record := self._find(conn, kind, "name", name)) is not None
            ]
            conn.execute("DELETE FROM ids WHERE name = ?", (name,))
        return dropped
