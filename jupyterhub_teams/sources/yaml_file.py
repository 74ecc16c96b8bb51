"""The YAML directory: a file listing people and groups.

Format (every attribute optional)::

    users:
      alice: {uid: 2001}
    groups:
      physics: {gid: 3001, members: [alice, bob]}

A group may also be written as a bare list of members (``physics: [alice, bob]``). The file is
parsed again only when its modification time, size or inode changes, and a file that does not
parse raises :class:`SourceError` — the previous good snapshot is never replaced by a broken one.

A file with no YAML document at all (0 bytes, only white space or comments, ``null``) raises
:class:`SourceError` too: it is what a half-written or truncated file looks like, so it means
"the directory is unavailable", never "nobody is in any group". A directory without groups says
so explicitly: ``groups: {}``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..model import DirectoryGroup, DirectorySnapshot, Person
from .base import SourceError


def _int_or_none(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SourceError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def _or_empty(value: Any, empty: Any) -> Any:
    return empty if value is None else value


def parse_directory(data: Any, origin: str = "YAML directory") -> DirectorySnapshot:
    """Turn parsed YAML into a snapshot, or raise :class:`SourceError` saying what is wrong."""
    if data is None:
        raise SourceError(
            f"{origin} is empty (no YAML document: 0 bytes, only white space or comments, or "
            "null), which is taken as unavailable, not as a directory without groups; write "
            "'groups: {}' if no group should have a team"
        )
    if not isinstance(data, Mapping):
        raise SourceError(f"{origin}: the top level must be a mapping with 'users' and 'groups'")
    unknown = set(data) - {"users", "groups"}
    if unknown:
        raise SourceError(f"{origin}: unknown top-level keys {sorted(map(str, unknown))}")
    # Only a missing value means "none": `members: no` or `groups: []` must not empty anything.
    users_raw = _or_empty(data.get("users"), {})
    groups_raw = _or_empty(data.get("groups"), {})
    if not isinstance(users_raw, Mapping):
        raise SourceError(f"{origin}: 'users' must be a mapping of name → attributes")
    if not isinstance(groups_raw, Mapping):
        raise SourceError(f"{origin}: 'groups' must be a mapping of name → attributes")
    people: dict[str, Person] = {}
    for name, attrs in users_raw.items():
        attrs = _or_empty(attrs, {})
        if not isinstance(attrs, Mapping):
            raise SourceError(f"{origin}: user {name!r} must map to attributes, got {attrs!r}")
        people[str(name)] = Person(str(name), _int_or_none(attrs.get("uid"), f"uid of {name!r}"))
    groups: dict[str, DirectoryGroup] = {}
    for name, attrs in groups_raw.items():
        if isinstance(attrs, list):
            attrs = {"members": attrs}
        attrs = _or_empty(attrs, {})
        if not isinstance(attrs, Mapping):
            raise SourceError(f"{origin}: group {name!r} must map to attributes or a list")
        members = _or_empty(attrs.get("members"), [])
        # bool is an int too: YAML reads `yes`/`no` as booleans, never as names
        if not isinstance(members, list) or not all(
            isinstance(m, (str, int)) and not isinstance(m, bool) for m in members
        ):
            raise SourceError(
                f"{origin}: members of group {name!r} must be a list of names "
                "(quote names YAML reads as something else, such as yes, no or null)"
            )
        groups[str(name)] = DirectoryGroup(
            str(name),
            frozenset(str(m) for m in members),
            _int_or_none(attrs.get("gid"), f"gid of {name!r}"),
        )
    return DirectorySnapshot(people, groups, source=origin)


class YAMLDirectory:
    """A :class:`~jupyterhub_teams.sources.base.Source` reading a YAML file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._snapshot: DirectorySnapshot | None = None

    def __repr__(self) -> str:
        return f"YAMLDirectory({str(self.path)!r})"

    def _read(self) -> DirectorySnapshot:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise SourceError(f"cannot read YAML directory {self.path}: {exc.strerror}") from exc
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self._snapshot is not None and stamp == self._stamp:
            return self._snapshot
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read YAML directory {self.path}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise SourceError(f"YAML directory {self.path} does not parse: {exc}") from exc
        snapshot = parse_directory(data, origin=f"YAML directory {self.path.name}")
        self._stamp, self._snapshot = stamp, snapshot
        return snapshot

    async def snapshot(self) -> DirectorySnapshot:
        # File I/O is quick, but never on the event loop of a hub.
        return await asyncio.to_thread(self._read)

    async def person(self, name: str) -> Person | None:
        """The person whose JupyterHub name is ``name``, with their uid (None if absent)."""
        snapshot = await self.snapshot()
        # JupyterHub names are the directory's names in lower case (see naming.person_name)
        for person in snapshot.people.values():
            if person.name.strip().lower() == name:
                return person
        return None
