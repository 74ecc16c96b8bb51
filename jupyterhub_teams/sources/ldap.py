"""The LDAP directory: people and groups read from an LDAP server (OpenLDAP, 389-ds, FreeIPA,
Active Directory).

Configured as ``c.LDAPDirectory.<option>`` with
``c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.ldap.LDAPDirectory"``. Every read
binds, runs one paged search for the people and one for the groups, and turns them into a
:class:`~jupyterhub_teams.model.DirectorySnapshot`:

* people: ``people_base_dn`` + ``people_filter``; the name is ``username_attribute`` (``uid``),
  the POSIX uid ``uid_number_attribute`` (``uidNumber``);
* groups: ``group_base_dn`` + ``group_filter``, kept only when their name
  (``group_name_attribute``, ``cn``) matches ``group_name_pattern``; the gid is
  ``gid_number_attribute`` (``gidNumber``);
* membership, with ``membership = "group"``, from the groups' ``memberUid`` (names:
  posixGroup) and ``member`` / ``uniqueMember`` (DNs: groupOfNames, groupOfUniqueNames), each DN
  resolved to the person it names; with ``membership = "member_of"``, from the people's
  ``memberOf`` DNs instead. Either way only people found by the people search are members.

What happens when the directory misbehaves (the sync never removes anything on a partial answer):

* no server can be reached, StartTLS or the bind fails, a search fails before returning its
  first entry (wrong base DN, bad filter, no access), or the read exceeds ``snapshot_timeout``
  seen from the event loop: :class:`SourceError` — the sync changes nothing;
* a search stops *after* returning entries (a size or administrative limit, a page that times
  out, a connection lost mid-way, ``snapshot_timeout`` reached inside the read): the snapshot
  holds what was read and has ``complete=False``, so it can add members and teams but never
  removes or retires anything; a warning says what was cut short.

Secrets: the bind password is read at every bind from the environment variable
``bind_password_env`` or from ``bind_password_file``, never from the configuration. It is kept in
a local variable only; it is not an attribute, not in ``repr``, not in any message or log line.

Library: python-ldap (the OpenLDAP C client), chosen by measurement — ``BENCHMARKS.md``, "P6
reading the directory from slapd" (``benchmarks/bench_ldap.py``). A full read of 10,000 people
and 2,000 groups (about 50,000 memberships) from slapd took a median of 0.26 s with python-ldap
against 0.84 s with ldap3 (3.2 times as long), and ldap3 used 0.73 s of the client's CPU against
0.20 s: it decodes BER in Python while holding the GIL, CPU taken from whatever else runs in the
process — the hub's event loop, when this source answers login-time lookups. python-ldap also
gives libldap's own TLS, timeouts and URL handling, the same as ``ldapsearch``. Its cost is
installation: PyPI has no wheels, so building it needs a C compiler and the OpenLDAP and SASL
headers (Debian: ``libldap2-dev libsasl2-dev``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traitlets import Bool, Enum, Float, Integer, List, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ..model import DirectoryGroup, DirectorySnapshot, Person
from .base import SourceError

try:
    import ldap  # type: ignore[import-untyped]
    import ldap.dn  # type: ignore[import-untyped]
    import ldap.filter  # type: ignore[import-untyped]
    from ldap.controls import SimplePagedResultsControl  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the LDAP directory source needs python-ldap: pip install 'jupyterhub-teams[ldap]' "
        "(building it needs a C compiler and the OpenLDAP and SASL headers, on Debian "
        "'apt-get install libldap2-dev libsasl2-dev')"
    ) from exc

log = logging.getLogger("jupyterhub_teams.sources.ldap")

_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEMES = ("ldap", "ldaps")

# An entry as this module handles it: its DN and its attributes, names lower-cased, values str.
Entry = tuple[str, dict[str, list[str]]]
NormalDN = str


# -- pure helpers (unit-tested without a server) -----------------------------------------------


# No escapes, quotes, hex values or multi-valued RDNs: split by hand, which is many times
# faster than libldap's parser called through Python (a big directory has ~10^5 member DNs).
_PLAIN_DN = re.compile(r"^[^\\\"+#;<>]+$")


def split_dn(dn: str) -> list[list[tuple[str, str]]] | None:
    """A DN's RDNs as (attribute, value) pairs, values unescaped; None if it does not parse."""
    if _PLAIN_DN.match(dn):
        rdns: list[list[tuple[str, str]]] = []
        for part in dn.split(","):
            attr, sep, value = part.partition("=")
            attr, value = attr.strip(), value.strip()
            if not sep or not attr or not value:
                return None
            rdns.append([(attr, value)])
        return rdns
    try:
        parts = ldap.dn.str2dn(dn)
    except (ldap.DECODING_ERROR, TypeError, ValueError):
        return None
    if not parts:
        return None
    return [[(str(attr), str(value or "")) for attr, value, _ in rdn] for rdn in parts]


def normalize_dn(dn: str) -> NormalDN | None:
    """A DN in a form that compares equal for equal DNs, or None if it does not parse.

    Attribute types and values are compared case-insensitively with runs of spaces collapsed
    (the matching rules of the usual naming attributes: uid, cn, ou, dc), and a multi-valued
    RDN in any order. ``UID=Alice, ou=People,dc=example,dc=org`` equals
    ``uid=alice,ou=people,dc=example,dc=org``.
    """
    rdns = split_dn(dn)
    if rdns is None:
        return None
    # a string (its hash is cached, unlike a tuple's), joined with control characters that
    # cannot be confused with the unescaped values
    return "\x1e".join(
        "\x1f".join(
            sorted(f"{attr.lower()}\x1d{' '.join(value.split()).casefold()}" for attr, value in rdn)
        )
        for rdn in rdns
    )


def rdn_value(dn: str, attribute: str) -> str | None:
    """The value of ``attribute`` in the first RDN of ``dn`` (``uid=alice,...`` → ``alice``)."""
    rdns = split_dn(dn)
    if not rdns:
        return None
    for attr, value in rdns[0]:
        if attr.lower() == attribute.lower():
            return value
    return None


def _first(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _naming_value(dn: str, attrs: Mapping[str, list[str]], attribute: str) -> str | None:
    """An entry's name: the RDN's value when the RDN is ``attribute`` (a directory may hold
    several values of it, the RDN is the canonical one), else its first value."""
    values = attrs.get(attribute.lower()) or []
    from_rdn = rdn_value(dn, attribute)
    if from_rdn is not None and (not values or from_rdn in values):
        return from_rdn
    return _first(values)


@dataclass(frozen=True)
class Layout:
    """Which attributes mean what: the part of the configuration the assembly needs."""

    username_attribute: str = "uid"
    uid_number_attribute: str = "uidNumber"
    group_name_attribute: str = "cn"
    gid_number_attribute: str = "gidNumber"
    uid_member_attributes: tuple[str, ...] = ("memberUid",)
    dn_member_attributes: tuple[str, ...] = ("member", "uniqueMember")
    membership: str = "group"
    member_of_attribute: str = "memberOf"
    group_name_pattern: str = ""

    def people_attributes(self) -> list[str]:
        attrs = [self.username_attribute]
        if self.uid_number_attribute:
            attrs.append(self.uid_number_attribute)
        if self.membership == "member_of":
            attrs.append(self.member_of_attribute)
        return attrs

    def group_attributes(self) -> list[str]:
        attrs = [self.group_name_attribute]
        if self.gid_number_attribute:
            attrs.append(self.gid_number_attribute)
        if self.membership == "group":
            attrs += [*self.uid_member_attributes, *self.dn_member_attributes]
        return attrs


@dataclass
class Assembly:
    """A snapshot's people and groups, and what was left out of them and why."""

    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    # counts, for the log: entries or values that did not make it into the snapshot
    unnamed_people: int = 0
    duplicate_people: int = 0
    unnamed_groups: int = 0
    duplicate_groups: int = 0
    groups_not_matching: int = 0
    unresolved_members: int = 0

    def describe(self) -> str:
        memberships = sum(len(g.members) for g in self.groups.values())
        text = f"{len(self.people)} people, {len(self.groups)} groups, {memberships} memberships"
        left_out = [
            (self.groups_not_matching, "groups not matching group_name_pattern"),
            (self.unresolved_members, "member values naming nobody among the people"),
            (self.unnamed_people, "people without a name attribute"),
            (self.unnamed_groups, "groups without a name attribute"),
            (self.duplicate_people, "people with a name already taken (first kept)"),
            (self.duplicate_groups, "groups with a name already taken (first kept)"),
        ]
        skipped = [f"{n} {what}" for n, what in left_out if n]
        return text + (f"; left out: {', '.join(skipped)}" if skipped else "")


def group_filter_matches(pattern: str, name: str) -> bool:
    """Whether the group ``name`` becomes a team: ``pattern`` must match all of it (empty: all)."""
    return not pattern or re.fullmatch(pattern, name) is not None


def assemble(people: Iterable[Entry], groups: Iterable[Entry], layout: Layout) -> Assembly:
    """Turn decoded people and group entries into people and groups with resolved members."""
    out = Assembly()
    normal_cache: dict[str, NormalDN | None] = {}

    def cached_normal(dn: str) -> NormalDN | None:
        # the same person's DN appears in many groups
        if dn not in normal_cache:
            normal_cache[dn] = normalize_dn(dn)
        return normal_cache[dn]

    name_of_dn: dict[NormalDN, str] = {}
    # memberUid is compared the way uid usually is, case-insensitively, and gives the person's
    # own spelling
    name_of_uid: dict[str, str] = {}
    people_member_of: list[tuple[str, list[str]]] = []
    uid_attr = layout.uid_number_attribute.lower()
    for dn, attrs in people:
        name = _naming_value(dn, attrs, layout.username_attribute)
        if not name:
            out.unnamed_people += 1
            continue
        if name in out.people:
            out.duplicate_people += 1
            continue
        uid = _int(_first(attrs.get(uid_attr))) if uid_attr else None
        out.people[name] = Person(name, uid)
        normal = normalize_dn(dn)
        if normal is not None:
            name_of_dn[normal] = name
        name_of_uid.setdefault(name.casefold(), name)
        if layout.membership == "member_of":
            people_member_of.append((name, attrs.get(layout.member_of_attribute.lower(), [])))

    gid_attr = layout.gid_number_attribute.lower()
    members_of: dict[str, set[str]] = {}
    gid_of: dict[str, int | None] = {}
    group_of_dn: dict[NormalDN, str] = {}
    for dn, attrs in groups:
        name = _naming_value(dn, attrs, layout.group_name_attribute)
        if not name:
            out.unnamed_groups += 1
            continue
        if not group_filter_matches(layout.group_name_pattern, name):
            out.groups_not_matching += 1
            continue
        if name in members_of:
            out.duplicate_groups += 1
            continue
        members: set[str] = set()
        members_of[name] = members
        gid_of[name] = _int(_first(attrs.get(gid_attr))) if gid_attr else None
        normal = normalize_dn(dn)
        if normal is not None:
            group_of_dn[normal] = name
        if layout.membership != "group":
            continue
        for attr in layout.uid_member_attributes:
            for value in attrs.get(attr.lower(), []):
                person = name_of_uid.get(value.strip().casefold())
                if person is None:
                    out.unresolved_members += 1
                else:
                    members.add(person)
        for attr in layout.dn_member_attributes:
            for value in attrs.get(attr.lower(), []):
                # uniqueMember may carry an optional "#'0101'B" unique identifier
                if attr.lower() == "uniquemember" and "#'" in value:
                    value = value.rsplit("#'", 1)[0]
                normal_member = cached_normal(value)
                person = name_of_dn.get(normal_member) if normal_member is not None else None
                if person is None:
                    out.unresolved_members += 1
                else:
                    members.add(person)

    for person, dns in people_member_of:
        for value in dns:
            normal_group = cached_normal(value)
            group = group_of_dn.get(normal_group) if normal_group is not None else None
            if group is not None:
                members_of[group].add(person)
            # a memberOf DN outside the selected groups is simply not a team

    out.groups = {
        name: DirectoryGroup(name, frozenset(members), gid_of[name])
        for name, members in members_of.items()
    }
    return out


def decode_entry(dn: str, raw: Mapping[str, Sequence[bytes]]) -> tuple[Entry, int]:
    """A python-ldap result entry with ``str`` values and lower-case attribute names; also the
    number of values that were not UTF-8 (left out)."""
    attrs: dict[str, list[str]] = {}
    undecodable = 0
    for name, values in raw.items():
        decoded = attrs.setdefault(name.lower(), [])
        for value in values:
            try:
                decoded.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                undecodable += 1
    return (dn, attrs), undecodable


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


def _describe_ldap_error(exc: BaseException) -> str:
    """A one-line description of a python-ldap error, from its description and diagnostic."""
    details = exc.args[0] if exc.args and isinstance(exc.args[0], Mapping) else {}
    desc = str(details.get("desc") or type(exc).__name__)
    info = details.get("info")
    if isinstance(info, bytes):
        info = info.decode("utf-8", "replace")
    return f"{desc} ({info})" if info and str(info) != desc else desc


class _Partial(Exception):
    """A search stopped after returning entries; carries why."""


@dataclass
class _Read:
    people: list[Entry] = field(default_factory=list)
    groups: list[Entry] = field(default_factory=list)
    cut_short: list[str] = field(default_factory=list)
    undecodable: int = 0
    server: str = ""


# -- the source --------------------------------------------------------------------------------


class LDAPDirectory(LoggingConfigurable):
    """A :class:`~jupyterhub_teams.sources.base.Source` reading people and groups from LDAP."""

    server_urls = List(
        Unicode(),
        default_value=[],
        help="""
        LDAP servers, as ``ldap://host[:port]`` or ``ldaps://host[:port]`` (TLS from the
        first byte, port 636 by default). Required.

        Several servers are replicas of one directory: each read tries them in this order
        and uses the first that connects and accepts the bind. A bind refused for wrong
        credentials is not retried on the next server.
        """,
    ).tag(config=True)

    @validate("server_urls")
    def _check_urls(self, proposal: Any) -> list[str]:
        return [check_server_url(str(url)) for url in proposal["value"]]

    start_tls = Bool(
        False,
        help="""
        Upgrade ``ldap://`` connections to TLS with StartTLS before binding; a server that
        refuses StartTLS is an error, never a fallback to plain text. Not allowed together
        with an ``ldaps://`` URL (already TLS).

        Without TLS (``ldap://`` and no StartTLS) the bind password crosses the network in
        clear: use that only on loopback or a trusted network.
        """,
    ).tag(config=True)

    ca_file = Unicode(
        "",
        help="""
        PEM file of the certificate authorities that sign the servers' certificates, for
        ``ldaps://`` and StartTLS. Empty: the system's trusted authorities (OpenSSL or
        GnuTLS defaults, as ``ldapsearch`` uses them).
        """,
    ).tag(config=True)

    tls_verify = Bool(
        True,
        help="""
        Verify the server's certificate (issuer and host name) for ``ldaps://`` and
        StartTLS. Turning it off lets anyone on the network path impersonate the directory
        and read the bind password: only for tests.
        """,
    ).tag(config=True)

    bind_dn = Unicode(
        "",
        help="""
        DN to bind as for reading, e.g. ``cn=jupyterhub,ou=services,dc=example,dc=org``;
        the account needs read access to the people and group attributes below (and any
        size limit lifted for paged searches: in OpenLDAP ``limits dn.exact="<bind_dn>"
        size.prtotal=unlimited``). Empty: anonymous bind.

        Its password is never a configuration value: see ``bind_password_env`` and
        ``bind_password_file``.
        """,
    ).tag(config=True)

    bind_password_env = Unicode(
        "LDAP_BIND_PASSWORD",
        help="""
        Name of the environment variable holding ``bind_dn``'s password (the variable's
        name, not the password). Used when ``bind_password_file`` is empty.

        ``jupyterhub_teams.setup(c)`` hands this one variable from the hub's environment to
        the sync service when the hub starts it (JupyterHub gives its managed services only
        a filtered environment); the value is read at that moment and is written to no file
        or log. So set it in the hub's environment, e.g. from a Kubernetes secret
        (z2jh: ``hub.extraEnv``) or a systemd ``EnvironmentFile``.
        """,
    ).tag(config=True)

    @validate("bind_password_env")
    def _check_env_name(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if not _ENV_NAME.match(value):
            raise TraitError(
                f"LDAPDirectory.bind_password_env must be the *name* of an environment "
                f"variable (letters, digits, '_'), got a value of {len(value)} characters"
            )
        return value

    bind_password_file = Unicode(
        "",
        help="""
        File holding ``bind_dn``'s password (one line; a trailing newline is ignored). When
        set it is used instead of ``bind_password_env``. The file is read at every bind, so
        a rotated password is picked up without a restart; it must be readable by the user
        the hub runs as, and should be readable by nobody else.
        """,
    ).tag(config=True)

    people_base_dn = Unicode(
        "",
        help="""
        Where people are searched (whole subtree), e.g. ``ou=people,dc=example,dc=org``.
        Required.
        """,
    ).tag(config=True)

    people_filter = Unicode(
        "(|(objectClass=posixAccount)(objectClass=inetOrgPerson))",
        help="""
        LDAP filter selecting people under ``people_base_dn``. Only people it selects are
        team members: narrow it to leave out disabled accounts, e.g.
        ``(&(objectClass=posixAccount)(!(pwdAccountLockedTime=*)))``. Every person it
        selects is also created in JupyterHub when ``JupyterHubTeams.create_people`` is on.
        """,
    ).tag(config=True)

    username_attribute = Unicode(
        "uid",
        help="""
        Attribute holding a person's login name, which becomes their JupyterHub name (after
        the usual name mapping). Use the attribute your authenticator logs people in with
        (``sAMAccountName`` in Active Directory). When an entry's RDN is this attribute, the
        RDN's value wins over other values of it.
        """,
    ).tag(config=True)

    uid_number_attribute = Unicode(
        "uidNumber",
        help="""
        Attribute holding a person's numeric POSIX uid (the person's ``uid`` in the
        snapshot, used for stable POSIX identity). Empty: not read. A value that is not a
        non-negative integer is ignored.
        """,
    ).tag(config=True)

    group_base_dn = Unicode(
        "",
        help="""
        Where groups are searched (whole subtree), e.g. ``ou=groups,dc=example,dc=org``.
        Required.
        """,
    ).tag(config=True)

    group_filter = Unicode(
        "(|(objectClass=posixGroup)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
        help="""
        LDAP filter selecting groups under ``group_base_dn``. Together with
        ``group_name_pattern`` it decides which groups become teams: a team whose group is no
        longer selected is retired (never deleted).
        """,
    ).tag(config=True)

    group_name_attribute = Unicode(
        "cn",
        help="""
        Attribute holding a group's name; the team's name is made from it. When an entry's
        RDN is this attribute, the RDN's value wins over other values of it.
        """,
    ).tag(config=True)

    gid_number_attribute = Unicode(
        "gidNumber",
        help="""
        Attribute holding a group's numeric POSIX gid (the group's ``gid`` in the snapshot).
        Empty: not read. A value that is not a non-negative integer is ignored.
        """,
    ).tag(config=True)

    group_name_pattern = Unicode(
        "",
        help="""
        Python regular expression a group's name must match *in full* for the group to
        become a team, e.g. ``jh-.*`` or ``(?i)(physics|chemistry)-\\d{4}``. Empty: every
        group selected by ``group_filter``. Filter on the server (``group_filter``) when you
        can, and use this for what a filter cannot say.
        """,
    ).tag(config=True)

    @validate("group_name_pattern")
    def _check_pattern(self, proposal: Any) -> str:
        value = str(proposal["value"])
        try:
            re.compile(value)
        except re.error as exc:
            raise TraitError(
                f"LDAPDirectory.group_name_pattern {value!r} is not a regular expression: {exc}"
            ) from None
        return value

    membership = Enum(
        ["group", "member_of"],
        default_value="group",
        help="""
        Where memberships are read.

        ``"group"``: from the groups — ``uid_member_attributes`` hold login names
        (posixGroup's ``memberUid``), ``dn_member_attributes`` hold the DNs of people
        (groupOfNames' ``member``, groupOfUniqueNames' ``uniqueMember``); a group may use
        both (an ``extensibleObject`` or a directory-specific class).

        ``"member_of"``: from the people's ``member_of_attribute`` (``memberOf``: OpenLDAP's
        memberof overlay, 389-ds and FreeIPA, Active Directory). Group entries are then read
        without their member lists, which is much less data for large groups; groups that
        the server does not reflect into memberOf (usually posixGroup) have no members.

        Either way, a member who is not among the people (outside ``people_base_dn`` or not
        selected by ``people_filter``), and a member DN that is a group (nested groups are
        not expanded), is left out.
        """,
    ).tag(config=True)

    uid_member_attributes = List(
        Unicode(),
        default_value=["memberUid"],
        help="""
        Group attributes whose values are login names of members (compared with
        ``username_attribute`` case-insensitively). Used with ``membership = "group"``.
        """,
    ).tag(config=True)

    dn_member_attributes = List(
        Unicode(),
        default_value=["member", "uniqueMember"],
        help="""
        Group attributes whose values are DNs of members; each DN is resolved to the person
        whose entry the people search returned (DNs compared case- and space-insensitively).
        An optional ``#'...'B`` unique identifier on ``uniqueMember`` is ignored. Used with
        ``membership = "group"``.
        """,
    ).tag(config=True)

    member_of_attribute = Unicode(
        "memberOf",
        help="""
        People attribute listing the DNs of their groups. Used with
        ``membership = "member_of"``.
        """,
    ).tag(config=True)

    @validate(
        "username_attribute",
        "uid_number_attribute",
        "group_name_attribute",
        "gid_number_attribute",
        "member_of_attribute",
    )
    def _check_attribute(self, proposal: Any) -> str:
        value = str(proposal["value"])
        name = proposal["trait"].name
        optional = name in ("uid_number_attribute", "gid_number_attribute")
        if (value or not optional) and not _ATTRIBUTE.match(value):
            raise TraitError(f"LDAPDirectory.{name} {value!r} is not an attribute name")
        return value

    @validate("uid_member_attributes", "dn_member_attributes")
    def _check_attributes(self, proposal: Any) -> list[str]:
        values = [str(v) for v in proposal["value"]]
        for value in values:
            if not _ATTRIBUTE.match(value):
                raise TraitError(
                    f"LDAPDirectory.{proposal['trait'].name}: {value!r} is not an attribute name"
                )
        return values

    @validate("people_filter", "group_filter")
    def _check_filter(self, proposal: Any) -> str:
        return check_filter(str(proposal["value"]), proposal["trait"].name)

    page_size = Integer(
        500,
        help="""
        Entries per page of the paged searches (RFC 2696 simple paged results), so that no
        single answer hits the server's size limit. Keep it at or below the server's limit
        for one answer (OpenLDAP and Active Directory: 500 and 1000 by default). 0: no
        paging, one search each for people and groups; a server-side size limit then cuts
        the answer short (the snapshot is then incomplete, see the module's documentation).
        """,
    ).tag(config=True)

    @validate("page_size")
    def _check_page_size(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if not 0 <= value <= 100_000:
            raise TraitError(f"LDAPDirectory.page_size must be between 0 and 100000, got {value}")
        return value

    timeout = Float(
        10.0,
        help="""
        Seconds allowed for each step with the server: opening the connection (per server
        tried), StartTLS, the bind, and each page of a search.
        """,
    ).tag(config=True)

    snapshot_timeout = Float(
        120.0,
        help="""
        Seconds allowed for a whole read (connect, bind, every page of both searches). When
        it runs out before the first search returned anything the read fails (nothing is
        changed); later, what was read so far is used as an incomplete snapshot, which never
        removes anything. Must be at least ``timeout``.
        """,
    ).tag(config=True)

    @validate("timeout", "snapshot_timeout")
    def _check_timeout(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 3600:
            raise TraitError(
                f"LDAPDirectory.{proposal['trait'].name} must be more than 0 and at most 3600 "
                f"seconds, got {value}"
            )
        return value

    @default("log")
    def _default_log(self) -> logging.Logger:
        return log

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._check_required()
        # a read that outlived snapshot_timeout may still be running in its thread
        self._running: asyncio.Future[DirectorySnapshot] | None = None

    def _check_required(self) -> None:
        missing = [
            name
            for name in ("server_urls", "people_base_dn", "group_base_dn")
            if not getattr(self, name)
        ]
        if missing:
            raise TraitError(
                "the LDAP directory needs " + ", ".join(f"c.LDAPDirectory.{n}" for n in missing)
            )
        if self.start_tls and any(u.lower().startswith("ldaps:") for u in self.server_urls):
            raise TraitError(
                "LDAPDirectory.start_tls cannot be used with an ldaps:// server URL "
                "(the connection is TLS already)"
            )
        if self.snapshot_timeout < self.timeout:
            raise TraitError(
                f"LDAPDirectory.snapshot_timeout ({self.snapshot_timeout}) must be at least "
                f"LDAPDirectory.timeout ({self.timeout})"
            )

    def __repr__(self) -> str:
        return (
            f"LDAPDirectory({', '.join(self.server_urls)}, "
            f"bind_dn={self.bind_dn or '(anonymous)'!r}, "
            f"people={self.people_base_dn!r}, groups={self.group_base_dn!r}, "
            f"membership={self.membership!r})"
        )

    __str__ = __repr__

    def layout(self) -> Layout:
        return Layout(
            username_attribute=self.username_attribute,
            uid_number_attribute=self.uid_number_attribute,
            group_name_attribute=self.group_name_attribute,
            gid_number_attribute=self.gid_number_attribute,
            uid_member_attributes=tuple(self.uid_member_attributes),
            dn_member_attributes=tuple(self.dn_member_attributes),
            membership=self.membership,
            member_of_attribute=self.member_of_attribute,
            group_name_pattern=self.group_name_pattern,
        )

    def service_environment(self) -> list[str]:
        """Environment variables the sync service needs from the hub's environment."""
        if self.bind_dn and not self.bind_password_file:
            return [self.bind_password_env]
        return []

    # -- secrets ---------------------------------------------------------------------------

    def _bind_password(self) -> str:
        """The bind password, read now; the caller keeps it in a local variable only."""
        if not self.bind_dn:
            return ""
        if self.bind_password_file:
            path = Path(self.bind_password_file)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise SourceError(
                    f"cannot read the LDAP bind password file {path}: {reason}"
                ) from None
            password = text.rstrip("\r\n")
            where = f"the file {path}"
        else:
            password = os.environ.get(self.bind_password_env, "")
            where = f"the environment variable {self.bind_password_env}"
        if not password:
            # An empty password would be an unauthenticated bind (RFC 4513), which some
            # servers accept as anonymous: refuse it rather than read as someone else.
            raise SourceError(f"no LDAP bind password for {self.bind_dn}: {where} is empty")
        return password

    # -- reading -----------------------------------------------------------------------------

    def _connect(self, url: str, deadline: float) -> Any:
        """A bound connection to ``url``; raises ldap errors (the caller words them)."""
        conn = ldap.initialize(url, trace_level=0)
        step = max(0.001, min(self.timeout, deadline - time.monotonic()))
        conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        # referrals would be chased with the same credentials to other servers
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, step)
        conn.set_option(ldap.OPT_TIMEOUT, step)
        if url.lower().startswith("ldaps:") or self.start_tls:
            if self.ca_file:
                conn.set_option(ldap.OPT_X_TLS_CACERTFILE, self.ca_file)
            conn.set_option(
                ldap.OPT_X_TLS_REQUIRE_CERT,
                ldap.OPT_X_TLS_DEMAND if self.tls_verify else ldap.OPT_X_TLS_NEVER,
            )
            # the TLS options above take effect only in a new TLS context
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        if self.start_tls:
            conn.start_tls_s()
        password = self._bind_password()
        msgid = conn.simple_bind(self.bind_dn, password)
        del password
        conn.result3(
            msgid, all=1, timeout=max(0.001, min(self.timeout, deadline - time.monotonic()))
        )
        return conn

    def _bound(self, deadline: float) -> tuple[Any, str]:
        """A bound connection to the first server that works, and its URL."""
        failures: list[str] = []
        for url in self.server_urls:
            if time.monotonic() >= deadline:
                failures.append(f"{url}: not tried, snapshot_timeout reached")
                continue
            try:
                return self._connect(url, deadline), url
            except ldap.INVALID_CREDENTIALS:
                who = self.bind_dn or "anonymous"
                raise SourceError(
                    f"LDAP server {url} refused the bind as {who}: invalid credentials"
                ) from None
            except ldap.TIMEOUT:
                failures.append(f"{url}: no answer within {self.timeout:g} s")
            except ldap.SERVER_DOWN as exc:
                detail = _describe_ldap_error(exc)
                # for a refused connection libldap reports a stale errno ("Transport endpoint
                # is not connected"); TLS failures land here too, with a useful diagnostic
                if "not connected" in detail:
                    detail = "nothing answers there"
                failures.append(f"{url}: cannot connect ({detail})")
            except ldap.CONNECT_ERROR as exc:
                step = "StartTLS" if self.start_tls else "connection"
                failures.append(f"{url}: {step} failed ({_describe_ldap_error(exc)})")
            except ldap.LDAPError as exc:
                failures.append(f"{url}: {_describe_ldap_error(exc)}")
        raise SourceError("no LDAP server could be used — " + "; ".join(failures))

    def _search(
        self,
        conn: Any,
        base: str,
        filterstr: str,
        attrs: list[str],
        deadline: float,
        into: list[Entry],
        read: _Read,
    ) -> None:
        """Append the entries of a (paged) subtree search to ``into``.

        Raises :class:`_Partial` when the search stops after some entries were returned, and
        ``ldap.LDAPError`` / ``SourceError`` when it fails before that.
        """
        control = SimplePagedResultsControl(True, size=self.page_size, cookie=b"")
        what = f"search of {base}"
        page = 0
        while True:
            page += 1
            controls = [control] if self.page_size else None
            page_deadline = min(deadline, time.monotonic() + self.timeout)
            msgid = None
            try:
                msgid = conn.search_ext(
                    base, ldap.SCOPE_SUBTREE, filterstr, attrs, serverctrls=controls
                )
                while True:
                    left = page_deadline - time.monotonic()
                    if left <= 0:
                        raise ldap.TIMEOUT({"desc": "Timed out"})
                    # one message at a time, so that entries before an error are kept
                    kind, data, _, response_controls = conn.result3(msgid, all=0, timeout=left)
                    if kind == ldap.RES_SEARCH_ENTRY:
                        for dn, raw in data:
                            entry, bad = decode_entry(dn, raw)
                            read.undecodable += bad
                            into.append(entry)
                    elif kind == ldap.RES_SEARCH_RESULT:
                        break
                    # RES_SEARCH_REFERENCE: referrals are not followed
            except ldap.TIMEOUT:
                if msgid is not None:
                    self._abandon(conn, msgid)
                if time.monotonic() >= deadline:
                    reason = f"snapshot_timeout ({self.snapshot_timeout:g} s) reached"
                else:
                    reason = f"page {page} got no answer within {self.timeout:g} s"
                self._fail(what, reason, into)
            except (ldap.SIZELIMIT_EXCEEDED, ldap.ADMINLIMIT_EXCEEDED) as exc:
                self._fail(
                    what,
                    f"{_describe_ldap_error(exc)} after {len(into)} entries: page within the "
                    "server's limit (page_size) or lift the bind account's limit",
                    into,
                )
            except ldap.UNAVAILABLE_CRITICAL_EXTENSION:
                self._fail(what, "the server does not page results: set page_size = 0", into)
            except ldap.LDAPError as exc:
                self._fail(what, f"{_describe_ldap_error(exc)} on page {page}", into)
            cookie = b""
            for response in response_controls or ():
                if response.controlType == SimplePagedResultsControl.controlType:
                    cookie = response.cookie
            if not self.page_size or not cookie:
                return
            control.cookie = cookie

    @staticmethod
    def _abandon(conn: Any, msgid: int) -> None:
        with contextlib.suppress(ldap.LDAPError):
            conn.abandon_ext(msgid)

    @staticmethod
    def _fail(what: str, reason: str, so_far: list[Entry]) -> None:
        if so_far:
            raise _Partial(f"{what} stopped: {reason}")
        raise SourceError(f"LDAP {what} failed: {reason}")

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

    def read_person_groups(self, person: str) -> set[str]:
        """Names of the selected groups ``person`` (a JupyterHub name) is in, read now in this
        thread (blocking). Prefer :meth:`person_groups`."""
        deadline = time.monotonic() + self.snapshot_timeout
        layout = self.layout()
        escape = ldap.filter.escape_filter_chars
        conn, server = self._bound(deadline)
        try:
            found: list[Entry] = []
            self._search(
                conn,
                self.people_base_dn,
                f"(&{self.people_filter}({self.username_attribute}={escape(person)}))",
                layout.people_attributes(),
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
            if not matches:
                return set()  # not (or no longer) among the people: in no team
            if len(matches) > 1:
                raise SourceError(
                    f"{len(matches)} people in the LDAP directory {server} are named {person!r}"
                )
            dn, attrs, name = matches[0]
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
        except _Partial as cut:
            raise SourceError(f"LDAP lookup of {person!r} was cut short: {cut}") from None
        except ldap.LDAPError as exc:
            raise SourceError(
                f"LDAP lookup of {person!r} on {server} failed: {_describe_ldap_error(exc)}"
            ) from None
        finally:
            with contextlib.suppress(ldap.LDAPError):
                conn.unbind_ext()
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

    async def person_groups(self, person: str) -> set[str]:
        """Directory group names of one person (a JupyterHub name), for the login-time update:
        two small searches instead of reading the whole directory."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.read_person_groups, person),
                timeout=self.snapshot_timeout + self.timeout + 5,
            )
        except asyncio.TimeoutError:
            raise SourceError(
                f"the LDAP directory ({', '.join(self.server_urls)}) did not answer within "
                f"{self.snapshot_timeout:g} s"
            ) from None

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
