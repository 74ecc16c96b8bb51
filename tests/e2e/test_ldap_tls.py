"""The LDAP source over TLS against a real slapd: ``ldaps://`` and StartTLS with certificates
the tests make, and every way TLS can be wrong refused with a clear error, never a silent
fall back to plain text and never the bind password in the message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from traitlets.config import Config

from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.ldap import LDAPDirectory

from .slapd import (
    READER_PASSWORD,
    Certificates,
    GeneratedDirectory,
    Slapd,
    generate,
    make_certificates,
)

PASSWORD_ENV = "TEAMS_LDAP_TLS_TEST_PASSWORD"


@pytest.fixture(scope="module")
def directory() -> GeneratedDirectory:
    return generate(30, 6, mean_groups=2, heavy_groups=0, seed=11, password="secret")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="module")
def slapd(
    tmp_path_factory: pytest.TempPathFactory,
    directory: GeneratedDirectory,
    certificates: Certificates,
) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd-tls"), tls=certificates)
    server.load_directory(directory).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)


def read(directory: GeneratedDirectory, url: str, **options: Any) -> Any:
    c = Config()
    c.LDAPDirectory.server_urls = [url]
    c.LDAPDirectory.bind_dn = directory.reader_dn
    c.LDAPDirectory.bind_password_env = PASSWORD_ENV
    c.LDAPDirectory.people_base_dn = directory.people_dn
    c.LDAPDirectory.group_base_dn = directory.groups_dn
    c.LDAPDirectory.timeout = 5.0
    for name, value in options.items():
        setattr(c.LDAPDirectory, name, value)
    return asyncio.run(LDAPDirectory(config=c).snapshot())


def refusal(directory: GeneratedDirectory, url: str, **options: Any) -> str:
    with pytest.raises(SourceError) as refused:
        read(directory, url, **options)
    message = str(refused.value)
    assert READER_PASSWORD not in message
    return message


def test_ldaps_with_the_right_authority_reads_everything(
    slapd: Slapd, directory: GeneratedDirectory, certificates: Certificates
) -> None:
    snapshot = read(directory, f"ldaps://127.0.0.1:{slapd.tls_port}", ca_file=str(certificates.ca))
    assert snapshot.complete
    assert len(snapshot.people) == 30 and len(snapshot.groups) == len(directory.groups)


def test_start_tls_with_the_right_authority_reads_everything(
    slapd: Slapd, directory: GeneratedDirectory, certificates: Certificates
) -> None:
    url = f"ldap://127.0.0.1:{slapd.port}"
    snapshot = read(directory, url, start_tls=True, ca_file=str(certificates.ca))
    assert snapshot.complete
    assert len(snapshot.people) == 30


@pytest.mark.parametrize("start_tls", [False, True], ids=["ldaps", "starttls"])
def test_a_certificate_from_another_authority_is_refused(
    slapd: Slapd, directory: GeneratedDirectory, certificates: Certificates, start_tls: bool
) -> None:
    url = f"ldap://127.0.0.1:{slapd.port}" if start_tls else f"ldaps://127.0.0.1:{slapd.tls_port}"
    message = refusal(directory, url, start_tls=start_tls, ca_file=str(certificates.other_ca))
    print(message)
    if start_tls:
        assert "StartTLS failed" in message and "ca_file" in message
    else:
        assert "certificate was refused" in message and "self-signed" in message


def test_a_certificate_for_another_host_name_is_refused(
    tmp_path_factory: pytest.TempPathFactory,
    directory: GeneratedDirectory,
    certificates: Certificates,
) -> None:
    folder = tmp_path_factory.mktemp("misnamed")
    misnamed = certificates.named(certificates.ca.parent, "DNS:ldap.example.org")
    server = Slapd(folder, tls=misnamed).load_directory(directory).start()
    try:
        url = f"ldaps://127.0.0.1:{server.tls_port}"
        message = refusal(directory, url, ca_file=str(certificates.ca))
        print(message)
        assert "mismatch, certificate is not valid for '127.0.0.1'" in message
        starttls = refusal(directory, server.url, start_tls=True, ca_file=str(certificates.ca))
        assert "StartTLS failed" in starttls and "nothing was sent in plain text" in starttls
    finally:
        server.stop()


def test_start_tls_against_a_server_without_tls_is_an_error_not_plain_text(
    tmp_path_factory: pytest.TempPathFactory,
    directory: GeneratedDirectory,
    certificates: Certificates,
) -> None:
    plain = Slapd(tmp_path_factory.mktemp("slapd-plain")).load_directory(directory).start()
    try:
        message = refusal(directory, plain.url, start_tls=True, ca_file=str(certificates.ca))
        print(message)
        assert "StartTLS" in message
        # the same server read without TLS works: the refusal was TLS's, not the server's
        assert read(directory, plain.url).complete
    finally:
        plain.stop()
