"""A real OpenLDAP server for tests and benchmarks: its own slapd.conf, data and port.

``Slapd(state_dir).load(ldif).start()`` writes a slapd.conf (core, cosine, nis and inetorgperson
schemas, back_mdb, its own data directory and pidfile), loads the LDIF with ``slapadd`` and
starts ``slapd -h ldap://127.0.0.1:PORT/ -d 0`` as a child process. ``stop()`` ends it by PID;
``start()`` again brings it back on the same port with the same data.

The suffix's ``cn=admin`` is the rootdn (used to change data with ldapmodify); clients read as
``cn=reader``, an ordinary account that limits apply to, as they would in production. People can
bind with their own password (LDAP logins).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the generator lives with the benchmarks
    sys.path.insert(0, str(REPO))

from benchmarks.gen_directory import (  # noqa: E402
    BASE_DN,
    READER_PASSWORD,
    GeneratedDirectory,
    generate,
)

__all__ = ["READER_PASSWORD", "GeneratedDirectory", "Slapd", "ensure_slapd", "generate"]

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
ADMIN_PASSWORD = "admin-secret"


def ensure_slapd() -> str:
    """The path of slapd, installing Debian's slapd and ldap-utils first when missing."""
    if shutil.which("slapd") is None or shutil.which("ldapmodify") is None:
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            raise RuntimeError("slapd is not installed: apt-get install slapd ldap-utils")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "slapd", "ldap-utils"],
            check=True,
            env=env,
            capture_output=True,
        )
    for candidate in (shutil.which("slapd"), "/usr/sbin/slapd"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("slapd is not installed: apt-get install slapd ldap-utils")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Slapd:
    """One slapd serving ``suffix`` from ``state_dir`` on 127.0.0.1:``port``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        suffix: str = BASE_DN,
        port: int | None = None,
        member_of: bool = False,
        size_limit: int | str = 500,
        paged_total: int | str = "unlimited",
        tls: Certificates | None = None,
    ) -> None:
        self.binary = ensure_slapd()
        self.state_dir = state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = state_dir / "data"
        self.suffix = suffix
        self.port = port or _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        # with certificates: StartTLS on ``url`` too, and TLS from the first byte on ``tls_port``
        self.tls = tls
        self.tls_port = _free_port() if tls else None
        self.member_of = member_of
        # slapd's default: 500 entries per search, and paged searches may go past it only when
        # size.prtotal says so (directories read by this project are configured like that)
        self.size_limit = size_limit
        self.paged_total = paged_total
        self.root_dn = f"cn=admin,{suffix}"
        self.reader_dn = f"cn=reader,{suffix}"
        self.conf = state_dir / "slapd.conf"
        self.pidfile = state_dir / "slapd.pid"
        self.log_path = state_dir / "slapd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        schemas = ("core", "cosine", "nis", "inetorgperson")
        lines = [f"include {SCHEMA_DIR / name}.schema" for name in schemas]
        lines += [
            f"pidfile {self.pidfile}",
            f"argsfile {self.state_dir / 'slapd.args'}",
            f"modulepath {MODULE_DIR}",
            "moduleload back_mdb",
        ]
        if self.member_of:
            lines.append("moduleload memberof")
        if self.tls:
            lines += [
                f"TLSCACertificateFile {self.tls.ca}",
                f"TLSCertificateFile {self.tls.server_certificate}",
                f"TLSCertificateKeyFile {self.tls.server_key}",
            ]
        limit = self.size_limit
        lines += [
            "database mdb",
            # back_mdb's default map is 10 MB, too small for the benchmark directory
            "maxsize 1073741824",
            f'suffix "{self.suffix}"',
            f'rootdn "{self.root_dn}"',
            f"rootpw {ADMIN_PASSWORD}",
            f"directory {self.data_dir}",
            f"sizelimit size.soft={limit} size.hard={limit} size.prtotal={self.paged_total}",
            "index objectClass eq",
            "index uid,cn,memberUid eq",
            "index member,uniqueMember eq",
            "access to attrs=userPassword by self read by anonymous auth by * none",
            f'access to * by dn.exact="{self.reader_dn}" read by self read by * none',
        ]
        if self.member_of:
            lines += ["overlay memberof", "memberof-refint TRUE"]
        self.conf.write_text("\n".join(lines) + "\n")
        return self.conf

    def load(self, ldif: str) -> Slapd:
        """Replace the data with ``ldif`` (slapd must be stopped)."""
        assert self.process is None, "stop slapd before loading data"
        self.write_config()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        source = self.state_dir / "data.ldif"
        source.write_text(ldif)
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        result = subprocess.run(
            [slapadd, "-q", "-f", str(self.conf), "-l", str(source)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"slapadd failed ({result.returncode}): {result.stderr[-2000:]}")
        return self

    def start(self, timeout: float = 15) -> Slapd:
        assert self.process is None, "slapd is already running"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-f", str(self.conf), "-h", " ".join(self.listen_urls), "-d", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"slapd exited with {code}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"slapd did not listen on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` to slapd by PID: SIGKILL ends it (``start()`` brings it back),
        SIGSTOP freezes it with its connections open, SIGCONT lets it go on."""
        assert self.process is not None, "slapd is not running"
        os.kill(self.process.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait(timeout=10)
            self.process = None

    def clients(self) -> int:
        """Client connections open to slapd now (a read in progress holds one)."""
        import psutil

        assert self.process is not None, "slapd is not running"
        return sum(
            1
            for conn in psutil.Process(self.process.pid).net_connections(kind="tcp")
            if conn.status == psutil.CONN_ESTABLISHED and conn.laddr.port == self.port
        )

    @property
    def listen_urls(self) -> list[str]:
        urls = [f"{self.url}/"]
        if self.tls_port:
            urls.append(f"ldaps://127.0.0.1:{self.tls_port}/")
        return urls

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def modify(self, ldif: str) -> None:
        """Apply an LDIF change as the rootdn, with ldapmodify over the network."""
        result = subprocess.run(
            ["ldapmodify", "-x", "-H", self.url, "-D", self.root_dn, "-w", ADMIN_PASSWORD],
            input=ldif,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ldapmodify failed ({result.returncode}): {result.stderr}")

    def modify_offline(self, ldif: str) -> None:
        """Apply an LDIF change to the data while slapd is stopped (slapmodify)."""
        assert self.process is None, "slapmodify needs slapd stopped"
        change = self.state_dir / "offline-change.ldif"
        change.write_text(ldif)
        slapmodify = shutil.which("slapmodify") or "/usr/sbin/slapmodify"
        result = subprocess.run(
            [slapmodify, "-f", str(self.conf), "-l", str(change)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"slapmodify failed ({result.returncode}): {result.stderr}")

    def hub_config(
        self, directory: GeneratedDirectory, password_env: str, **options: object
    ) -> str:
        """``jupyterhub_config.py`` lines making this directory the hub's source (the bind
        password is read from ``password_env``); ``options`` are more ``LDAPDirectory`` ones."""
        lines = [
            'c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.ldap.LDAPDirectory"',
            f"c.LDAPDirectory.server_urls = [{self.url!r}]",
            f"c.LDAPDirectory.bind_dn = {directory.reader_dn!r}",
            f"c.LDAPDirectory.bind_password_env = {password_env!r}",
            f"c.LDAPDirectory.people_base_dn = {directory.people_dn!r}",
            f"c.LDAPDirectory.group_base_dn = {directory.groups_dn!r}",
            *(f"c.LDAPDirectory.{name} = {value!r}" for name, value in options.items()),
        ]
        return "\n" + "\n".join(lines) + "\n"

    def load_directory(self, directory: GeneratedDirectory) -> Slapd:
        return self.load(directory.ldif(member_of=self.member_of))


@dataclass(frozen=True)
class Certificates:
    """A certificate authority and a server certificate it signed for ``127.0.0.1``, plus an
    unrelated authority. (Not ``localhost``: libldap checks that name against the machine's
    own host name.)"""

    ca: Path
    server_certificate: Path
    server_key: Path
    other_ca: Path

    def named(self, folder: Path, san: str) -> Certificates:
        """The same authority's certificate for ``san`` (e.g. ``DNS:ldap.example.org``)."""
        signed = _server_certificate(folder, "ca", san, name="renamed")
        return replace(self, server_certificate=signed[0], server_key=signed[1])


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, timeout=60)


_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _server_certificate(folder: Path, ca: str, san: str, name: str) -> tuple[Path, Path]:
    _openssl(folder, "req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", "/CN=jupyterhub-teams test server")  # fmt: skip
    (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
             "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
             "-extfile", f"{name}.ext", "-out", f"{name}.pem")  # fmt: skip
    return folder / f"{name}.pem", folder / f"{name}.key"


def make_certificates(folder: Path) -> Certificates:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ca", "other-ca"):
        _openssl(folder, "req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", "2", "-subj", f"/CN=jupyterhub-teams test {name}")  # fmt: skip
    certificate, key = _server_certificate(folder, "ca", "IP:127.0.0.1", name="server")
    return Certificates(folder / "ca.pem", certificate, key, folder / "other-ca.pem")
