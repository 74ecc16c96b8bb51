"""The LDAP directory source's configurable class: its options, the checks that need several
of them together, and the parts of the source that need no server. Each option value's own
check is in :mod:`.checks`; the reading is in :mod:`.reading` and :mod:`.connection`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from traitlets import Bool, Enum, Float, Integer, List, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ...model import DirectorySnapshot
from .checks import (
    check_attribute,
    check_attributes,
    check_env_name,
    check_filter,
    check_page_size,
    check_pattern,
    check_server_url,
    check_timeout,
)
from .reading import LDAPReading
from .resolve import Layout

log = logging.getLogger("jupyterhub_teams.sources.ldap")

# -- the source --------------------------------------------------------------------------------


class LDAPDirectory(LDAPReading, LoggingConfigurable):
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
        return check_env_name(str(proposal["value"]))

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
        return check_pattern(str(proposal["value"]))

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
        name = proposal["trait"].name
        # an empty POSIX number attribute means "not read"
        optional = name in ("uid_number_attribute", "gid_number_attribute")
        return check_attribute(str(proposal["value"]), name, optional=optional)

    @validate("uid_member_attributes", "dn_member_attributes")
    def _check_attributes(self, proposal: Any) -> list[str]:
        return check_attributes([str(v) for v in proposal["value"]], proposal["trait"].name)

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
        return check_page_size(int(proposal["value"]))

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
        return check_timeout(float(proposal["value"]), proposal["trait"].name)

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
