"""uid and gid numbers: which are acceptable, and deterministic allocation. Pure.

A person or team with no number from the directory or the identity provider gets one from a
configured range. The first candidate is derived from the name (SHA-256), so the same name
usually gets the same number even on a fresh machine; the registry (:mod:`.registry`) then
records it, so it is never handed to another name, whatever happens to ``/etc/passwd``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

# Numbers below this belong to the system (Debian's UID_MIN); 65534 is "nobody"; 4294967295
# is (uid_t)-1, which means "unchanged" to chown and setreuid.
DEFAULT_MINIMUM = 1000
_RESERVED = frozenset({65534, 65535, 2**32 - 1})
_MAXIMUM = 2**32 - 2


class NumberRefused(ValueError):
    """A uid or gid that must not be used; the message says why."""


class RangeExhausted(RuntimeError):
    """Every number of a range is taken."""


@dataclass(frozen=True)
class NumberRange:
    """An inclusive range of uid or gid numbers for allocation."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.last <= _MAXIMUM:
            raise ValueError(f"not a usable id range: {self.first}..{self.last}")

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


def check_number(number: int, kind: str, owner: str, minimum: int = DEFAULT_MINIMUM) -> int:
    """``number`` if it may be ``owner``'s ``kind`` ("uid" or "gid").

    Raises :class:`NumberRefused` otherwise."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise NumberRefused(f"the {kind} given for {owner!r} is not a whole number: {number!r}")
    if number < minimum:
        raise NumberRefused(
            f"the {kind} {number} given for {owner!r} is below {minimum}, the lowest a "
            "jupyterhub-teams account may have (lower numbers belong to the system)"
        )
    if number in _RESERVED or number > _MAXIMUM:
        raise NumberRefused(f"the {kind} {number} given for {owner!r} is reserved")
    return number


def first_candidate(name: str, numbers: NumberRange) -> int:
    """Where the search for ``name``'s number starts: stable across machines and restarts."""
    digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return numbers.first + digest % len(numbers)


def allocate(name: str, numbers: NumberRange, taken: Callable[[int], bool]) -> int:
    """The first number from ``first_candidate`` on (wrapping) for which ``taken`` is false."""
    start = first_candidate(name, numbers) - numbers.first
    size = len(numbers)
    for step in range(size):
        candidate = numbers.first + (start + step) % size
        if candidate not in _RESERVED and not taken(candidate):
            return candidate
    raise RangeExhausted(f"every number in {numbers} is taken; widen the range")
