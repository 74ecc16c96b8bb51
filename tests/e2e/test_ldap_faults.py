"""Directory faults the LDAP source must not mistake for an answer: part of the tree referred
to another server, and a server that accepts the connection and never answers. Either way the
read is not complete (nothing is removed on its strength) or fails with the reason."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from traitlets.config import Config

from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.ldap import LDAPDirectory

from .slapd import READER_PASSWORD, GeneratedDirectory, Slapd, generate

PASSWORD_ENV = "TEAMS_LDAP_FAULTS_TEST_PASSWORD"


@pytest.fixture(scope="module")
def directory() -> GeneratedDirectory:
    return generate(30, 6, mean_groups=2, heavy_groups=0, seed=13, password="secret")


@pytest.fixture(scope="module")
def slapd(
    tmp_path_factory: pytest.TempPathFactory, directory: GeneratedDirectory
) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd-faults")).load_directory(directory).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, READER_PASSWORD)


def source(directory: GeneratedDirectory, url: str, **options: Any) -> LDAPDirectory:
    c = Config()
    c.LDAPDirectory.server_urls = [url]
    c.LDAPDirectory.bind_dn = directory.reader_dn
    c.LDAPDirectory.bind_password_env = PASSWORD_ENV
    c.LDAPDirectory.people_base_dn = directory.people_dn
    c.LDAPDirectory.group_base_dn = directory.groups_dn
    for name, value in options.items():
        setattr(c.LDAPDirectory, name, value)
    return LDAPDirectory(config=c)


def test_part_of_the_tree_on_another_server_makes_an_incomplete_read(
    slapd: Slapd, directory: GeneratedDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    complete = asyncio.run(source(directory, slapd.url).snapshot())
    assert complete.complete and len(complete.people) == 30
    referral = "ldap://ldap2.example.org/ou=elsewhere,dc=example,dc=org"
    slapd.modify(
        f"dn: ou=elsewhere,{directory.people_dn}\n"
        "changetype: add\n"
        "objectClass: referral\n"
        "objectClass: extensibleObject\n"
        "ou: elsewhere\n"
        f"ref: {referral}\n"
    )
    with caplog.at_level(logging.WARNING, logger="jupyterhub_teams.sources.ldap"):
        snapshot = asyncio.run(source(directory, slapd.url).snapshot())
    # what this server holds is read; what it refers elsewhere is missing, so nothing that
    # depends on it may be removed
    assert not snapshot.complete
    assert len(snapshot.people) == 30
    assert "referred elsewhere" in caplog.text and referral in caplog.text
    assert "nothing will be removed" in caplog.text


def test_a_server_that_never_answers_fails_within_the_timeout(
    directory: GeneratedDirectory,
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # takes connections and says nothing
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
    began = time.monotonic()
    try:
        with pytest.raises(SourceError) as failed:
            asyncio.run(source(directory, url, timeout=1.0, snapshot_timeout=5.0).snapshot())
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        silent.close()
    seconds = time.monotonic() - began
    print(f"{failed.value} after {seconds:.1f} s")
    assert "no answer within 1 s" in str(failed.value)
    assert seconds < 5
