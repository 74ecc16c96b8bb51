"""What every directory source provides."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..model import DirectorySnapshot


class SourceError(RuntimeError):
    """The directory could not be read; the message says why. Nothing is changed on it."""


@runtime_checkable
class Source(Protocol):
    """A read-only adapter turning one directory into a :class:`DirectorySnapshot`."""

    async def snapshot(self) -> DirectorySnapshot:
        """Read the whole directory. Raise :class:`SourceError` when it cannot be read."""
        ...
