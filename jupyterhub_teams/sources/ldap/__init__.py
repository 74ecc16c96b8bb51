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

The package: :mod:`.directory` holds :class:`LDAPDirectory` and its options; :mod:`.checks`
checks each option's value;
:mod:`.resolve` turns entries into people, groups and memberships (pure: no I/O);
:mod:`.connection` binds and runs the paged searches with python-ldap; :mod:`.reading` reads
the whole directory or one person's groups, off the event loop.
"""

from __future__ import annotations

try:
    import ldap  # type: ignore[import-untyped]  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the LDAP directory source needs python-ldap: pip install 'jupyterhub-teams[ldap]' "
        "(building it needs a C compiler and the OpenLDAP and SASL headers, on Debian "
        "'apt-get install libldap2-dev libsasl2-dev')"
    ) from exc

from .checks import check_filter, check_server_url
from .directory import LDAPDirectory, log
from .resolve import (
    Assembly,
    Entry,
    Layout,
    NormalDN,
    assemble,
    decode_entry,
    group_filter_matches,
    normalize_dn,
    rdn_value,
    split_dn,
)

# The class keeps the name it is configured by (``c.JupyterHubTeams.source_class =
# "jupyterhub_teams.sources.ldap.LDAPDirectory"``), which is also the name
# ``JupyterHubTeams.to_json`` hands to the sync service.
LDAPDirectory.__module__ = __name__

__all__ = [
    "Assembly",
    "Entry",
    "LDAPDirectory",
    "Layout",
    "NormalDN",
    "assemble",
    "check_filter",
    "check_server_url",
    "decode_entry",
    "group_filter_matches",
    "log",
    "normalize_dn",
    "rdn_value",
    "split_dn",
]
