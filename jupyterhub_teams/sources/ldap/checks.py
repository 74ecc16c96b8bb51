"""Checks of the LDAP source's option values, one value at a time, made when the hub starts: a
wrong URL, filter, attribute name or limit is said in words before any server is asked.
Checks that need several options together stay with the class, in :mod:`.directory`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from traitlets import TraitError

# An attribute's name or OID (RFC 4512).
ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEMES = ("ldap", "ldaps")


def check_server_url(url: str) -> str:
    """``url`` if it is an ``ldap://`` or ``ldaps://`` URL naming a host, else TraitError."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise TraitError(f"LDAPDirectory.server_urls: {url!r} must start with ldap:// or ldaps://")
    if not parts.hostname:
        raise TraitError(f"LDAPDirectory.server_urls: {url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TraitError(
            f"LDAPDirectory.server_urls: {url!r} must be only scheme://host[:port] "
            "(base DNs and filters have their own options)"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise TraitError(f"LDAPDirectory.server_urls: {url!r} has a bad port") from exc
    if parts.username is not None or parts.password is not None:
        raise TraitError(f"LDAPDirectory.server_urls: {url!r} must not contain credentials")
    return url


def check_filter(value: str, option: str) -> str:
    """A minimal check of an LDAP filter's shape; the server checks the rest."""
    depth = 0
    for ch in value:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if not (value.startswith("(") and value.endswith(")")) or depth != 0:
        raise TraitError(
            f"LDAPDirectory.{option} {value!r} is not an LDAP filter: it must be enclosed in "
            "balanced parentheses, e.g. '(objectClass=posixGroup)'"
        )
    return value


def check_env_name(value: str) -> str:
    """``value`` if it is the name of an environment variable. The message gives only the
    length: a password put here by mistake must not reach the log."""
    if not ENV_NAME.fullmatch(value):
        raise TraitError(
            f"LDAPDirectory.bind_password_env must be the *name* of an environment "
            f"variable (letters, digits, '_'), got a value of {len(value)} characters"
        )
    return value


def check_pattern(value: str) -> str:
    """``value`` if it compiles as a Python regular expression."""
    try:
        re.compile(value)
    except re.error as exc:
        raise TraitError(
            f"LDAPDirectory.group_name_pattern {value!r} is not a regular expression: {exc}"
        ) from None
    return value


def check_attribute(value: str, option: str, *, optional: bool = False) -> str:
    """``value`` if it is an attribute name or OID (or empty, for an ``optional`` one)."""
    if (value or not optional) and not ATTRIBUTE.fullmatch(value):
        raise TraitError(f"LDAPDirectory.{option} {value!r} is not an attribute name")
    return value


def check_attributes(values: list[str], option: str) -> list[str]:
    for value in values:
        if not ATTRIBUTE.fullmatch(value):
            raise TraitError(f"LDAPDirectory.{option}: {value!r} is not an attribute name")
    return values


def check_page_size(value: int) -> int:
    if not 0 <= value <= 100_000:
        raise TraitError(f"LDAPDirectory.page_size must be between 0 and 100000, got {value}")
    return value


def check_timeout(value: float, option: str) -> float:
    if not 0 < value <= 3600:
        raise TraitError(
            f"LDAPDirectory.{option} must be more than 0 and at most 3600 seconds, got {value}"
        )
    return value
