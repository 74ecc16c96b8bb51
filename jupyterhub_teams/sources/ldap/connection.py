"""Talking to the LDAP server with python-ldap: the bind password, connecting and binding
(TLS, timeouts, replicas tried in order), and paged searches that keep what was returned before
an error."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap  # type: ignore[import-untyped]
from ldap.controls import SimplePagedResultsControl  # type: ignore[import-untyped]

from ..base import SourceError
from .resolve import Entry, decode_entry


def _describe_ldap_error(exc: BaseException) -> str:
    """A one-line description of a python-ldap error, from its description and diagnostic."""
    details = exc.args[0] if exc.args and isinstance(exc.args[0], Mapping) else {}
    desc = str(details.get("desc") or type(exc).__name__)
    info = details.get("info")
    if isinstance(info, bytes):
        info = info.decode("utf-8", "replace")
    return f"{desc} ({info})" if info and str(info) != desc else desc


class _StartTLSFailed(Exception):
    """The server refused StartTLS or its handshake failed; carries libldap's words."""


def tls_handshake_problem(url: str, ca_file: str, timeout: float) -> str:
    """Why a TLS handshake with an ``ldaps://`` URL's server fails certificate checks, in
    Python's own TLS words ("Hostname mismatch, ...", "unable to get local issuer
    certificate"); libldap reports such failures only as "unknown error code". Only a
    diagnosis: libldap's own handshake decides. Empty when the
    handshake succeeds here or fails for another reason."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
        address = (host, parts.port or 636)
        with (
            socket.create_connection(address, timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return ""
    except ssl.SSLCertVerificationError as exc:
        return f"the server's certificate was refused: {exc.verify_message}"
    except (OSError, ssl.SSLError):
        return ""


class _Partial(Exception):
    """A search stopped after returning entries; carries why."""


@dataclass
class _Read:
    people: list[Entry] = field(default_factory=list)
    groups: list[Entry] = field(default_factory=list)
    cut_short: list[str] = field(default_factory=list)
    undecodable: int = 0
    server: str = ""


class LDAPConnection:
    """Connecting, binding and searching, for :class:`~.directory.LDAPDirectory` (whose
    options these are)."""

    server_urls: list[str]
    start_tls: bool
    ca_file: str
    tls_verify: bool
    bind_dn: str
    bind_password_env: str
    bind_password_file: str
    page_size: int
    timeout: float
    snapshot_timeout: float

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
            try:
                conn.start_tls_s()
            except ldap.LDAPError as exc:
                raise _StartTLSFailed(_describe_ldap_error(exc)) from None
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
                # is not connected"); a failed ldaps:// handshake lands here too, unexplained
                if "not connected" in detail:
                    detail = "nothing answers there"
                elif url.lower().startswith("ldaps:") and self.tls_verify:
                    why = tls_handshake_problem(url, self.ca_file, self.timeout)
                    detail = f"{detail}; {why}" if why else detail
                failures.append(f"{url}: cannot connect ({detail})")
            except _StartTLSFailed as exc:
                failures.append(
                    f"{url}: StartTLS failed ({exc}); nothing was sent in plain text. Check that "
                    "the server offers StartTLS, that ca_file holds the authority that signed "
                    "its certificate, and that the certificate names the host in the URL"
                )
            except ldap.CONNECT_ERROR as exc:
                failures.append(f"{url}: connection failed ({_describe_ldap_error(exc)})")
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
        # continuation references: parts of the subtree held by other servers
        referred: list[str] = []
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
                    elif kind == ldap.RES_SEARCH_REFERENCE:
                        # not followed (the bind's credentials would go to another server);
                        # the entries there are missing, so the read is not complete
                        referred += [str(url) for _, urls in data for url in (urls or [])]
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
                break
            control.cookie = cookie
        if referred:
            raise _Partial(
                f"{what} was referred elsewhere for part of the tree "
                f"({', '.join(sorted(set(referred))[:3])}); referrals are not followed"
            )

    @staticmethod
    def _abandon(conn: Any, msgid: int) -> None:
        with contextlib.suppress(ldap.LDAPError):
            conn.abandon_ext(msgid)

    @staticmethod
    def _fail(what: str, reason: str, so_far: list[Entry]) -> None:
        if so_far:
            raise _Partial(f"{what} stopped: {reason}")
        raise SourceError(f"LDAP {what} failed: {reason}")
