"""Checks of the LDAP source's option values, made when the hub starts: a wrong URL or filter is
said in words before any server is asked."""

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
