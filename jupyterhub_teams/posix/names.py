"""System names: the account name a JupyterHub name gets on the machine. Pure.

The rule is part of the public contract (documented in ``docs/posix.md``):

* A JupyterHub name that is already a safe system name (``[a-z_][a-z0-9_-]*``, at most
  ``max_length`` characters) is used as it is.
* Otherwise it is folded to ASCII lower case, every run of characters other than ``a-z``,
  ``0-9`` and ``_`` becomes one ``-`` (``alice@example.org`` → ``alice-example-org``), ``-`` at
  either end is dropped, and a name that then starts with a digit gets ``digit_prefix`` in
  front (``2024-student`` → ``u2024-student``).
* A name still longer than ``max_length`` keeps its first characters and ends with ``-`` and
  eight hex digits of the SHA-256 of the JupyterHub name.

Two JupyterHub names can map to the same system name (``a.b`` and ``a-b``). That is never
resolved by guessing: the name recorded first keeps the system account, and the other is
refused with a message naming both (see :mod:`.registry`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# useradd's own limit on Debian is 32 characters; utmp and many tools truncate beyond it.
DEFAULT_MAX_LENGTH = 32
DEFAULT_DIGIT_PREFIX = "u"
_HASH_LENGTH = 8
_SAFE = re.compile(r"[a-z_][a-z0-9_-]*")
_UNSAFE_RUN = re.compile(r"[^a-z0-9_]+")


class InvalidSystemName(ValueError):
    """A JupyterHub name that cannot become a system name; the message says why."""


def is_safe_system_name(name: str, max_length: int = DEFAULT_MAX_LENGTH) -> bool:
    """``name`` can be given to ``useradd`` and ``groupadd`` as it is."""
    return len(name) <= max_length and _SAFE.fullmatch(name) is not None


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def system_name(
    hub_name: str,
    *,
    digit_prefix: str = DEFAULT_DIGIT_PREFIX,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> str:
    """The system account name for the JupyterHub name ``hub_name``."""
    if max_length < _HASH_LENGTH + 2:
        raise ValueError(f"max_length must be at least {_HASH_LENGTH + 2}, got {max_length}")
    if not digit_prefix or not is_safe_system_name(digit_prefix):
        raise ValueError(f"digit_prefix must be a safe system name, got {digit_prefix!r}")
    if len(digit_prefix) >= max_length:
        raise ValueError(
            f"digit_prefix {digit_prefix!r} must be shorter than max_length ({max_length})"
        )
    if is_safe_system_name(hub_name, max_length):
        return hub_name
    mapped = _UNSAFE_RUN.sub("-", _fold(hub_name)).strip("-")
    if not mapped:
        raise InvalidSystemName(
            f"the JupyterHub name {hub_name!r} has no letters or digits to build a system "
            "account name from"
        )
    if mapped[0].isdigit():
        mapped = digit_prefix + mapped
    if len(mapped) > max_length:
        digest = hashlib.sha256(hub_name.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
        mapped = f"{mapped[: max_length - _HASH_LENGTH - 1].rstrip('-')}-{digest}"
    return mapped
