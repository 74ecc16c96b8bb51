"""The LDAP directory source against a real slapd, and a real hub synced from it.

One generated directory (520 people, 100 groups: posixGroup, groupOfNames, groupOfUniqueNames
and both at once; five people in 50 groups) is loaded into slapd. The first tests read it with
the source alone; then a hub configured with ``LDAPDirectory`` (bind password only in the hub's
environment, under a non-default variable name) follows it: a change made with ldapmodify
arrives within one sync cycle, stopping slapd revokes nothing and breaks no login, and a
restarted slapd (with a change made while it was down) is followed again. Last, the same hub
restarted with LDAPAuthenticator logs people in against that slapd; they start their own team
servers and no other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.ldap import LDAPDirectory

from .harness import Hub, Person, wait_for
from .slapd import READER_PASSWORD, GeneratedDirectory, Slapd, generate

PASSWORD_ENV = "TEAMS_LDAP_TEST_PASSWORD"
PERSON_PASSWORD = "secret"  # every generated person's LDAP password
SYNC_INTERVAL = 3.0
REFUSED = (403, 404)


@pytest.fixture(scope="module")
def directory() -> GeneratedDirectory:
    return generate(520, 100, mean_groups=3, heavy_groups=50, seed=7, password=PERSON_PASSWORD)


@pytest.fixture(scope="module")
def slapd(
    tmp_path_factory: pytest.TempPathFactory, directory: GeneratedDirectory
) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd")).load_directory(directory).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def password_in_environment() -> Iterator[str]:
    """The bind password where the hub (and these tests' sources) find it, and only there."""
    saved = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = READER_PASSWORD
    try:
        yield READER_PASSWORD
    finally:
        if saved is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = saved


def source_config(slapd: Slapd, directory: GeneratedDirectory, **options: Any) -> Config:
    c = Config()
    c.LDAPDirectory.server_urls = [slapd.url]
    c.LDAPDirectory.bind_dn = directory.reader_dn
    c.LDAPDirectory.bind_password_env = PASSWORD_ENV
    c.LDAPDirectory.people_base_dn = directory.people_dn
    c.LDAPDirectory.group_base_dn = directory.groups_dn
    c.LDAPDirectory.timeout = 2.0
    c.LDAPDirectory.snapshot_timeout = 20.0
    for name, value in options.items():
        setattr(c.LDAPDirectory, name, value)
    return c


def make_source(slapd: Slapd, directory: GeneratedDirectory, **options: Any) -> LDAPDirectory:
    return LDAPDirectory(config=source_config(slapd, directory, **options))


def read(source: LDAPDirectory) -> Any:
    return asyncio.run(source.snapshot())


# -- the source alone ------------------------------------------------------------------------


def test_source_reads_every_schema_with_ids(
    slapd: Slapd, directory: GeneratedDirectory, password_in_environment: str
) -> None:
    started = time.perf_counter()
    snapshot = read(make_source(slapd, directory, page_size=50))  # many pages
    print(f"snapshot of {len(directory.people)} people in {time.perf_counter() - started:.2f} s")
    assert snapshot.complete
    assert {n: set(g.members) for n, g in snapshot.groups.items()} == directory.expected()
    kinds = {g.kind for g in directory.groups}
    assert kinds == {"posixGroup", "groupOfNames", "groupOfUniqueNames", "posixGroup+groupOfNames"}
    for g in directory.groups:
        assert snapshot.groups[g.name].gid == (g.gid_number if g.has_gid else None)
    assert {p.name: p.uid for p in snapshot.people.values()} == {
        p.uid: p.uid_number for p in directory.people
    }
    assert max(len(g) for g in _groups_of(directory).values()) == 50


def test_group_name_pattern_and_person_lookup(
    slapd: Slapd, directory: GeneratedDirectory, password_in_environment: str
) -> None:
    source = make_source(slapd, directory, group_name_pattern=r"team-0\d\d")
    snapshot = read(source)
    assert set(snapshot.groups) == {g.name for g in directory.groups if g.name < "team-100"}
    heavy = max(_groups_of(directory).items(), key=lambda item: len(item[1]))
    person, groups = heavy
    found = asyncio.run(source.person_groups(person.upper()))  # looked up case-insensitively
    assert found == {g for g in groups if g < "team-100"}
    assert asyncio.run(source.person_groups("nobody-at-all")) == set()


def test_one_person_with_their_uid(
    slapd: Slapd, directory: GeneratedDirectory, password_in_environment: str
) -> None:
    """What the POSIX identity asks at spawn time: one person's uidNumber, one search."""
    source = make_source(slapd, directory)
    for entry in directory.people[:5]:
        found = asyncio.run(source.person(entry.uid.upper()))  # case-insensitive, as logins
        assert found is not None and found.name == entry.uid
        assert found.uid == entry.uid_number
    assert asyncio.run(source.person("nobody-at-all")) is None
    down = make_source(slapd, directory, server_urls=[f"ldap://127.0.0.1:{_closed_port()}"])
    with pytest.raises(SourceError, match=r"127\.0\.0\.1"):
        asyncio.run(down.person(directory.people[0].uid))


def test_size_limit_without_paging_gives_an_incomplete_snapshot(
    slapd: Slapd,
    directory: GeneratedDirectory,
    password_in_environment: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # slapd's size limit is 500 entries per search; paging is what lets 520 people through
    with caplog.at_level(logging.WARNING, logger="jupyterhub_teams.sources.ldap"):
        snapshot = read(make_source(slapd, directory, page_size=0))
    assert not snapshot.complete
    assert len(snapshot.people) == 500
    assert len(snapshot.groups) == len(directory.groups)
    assert "Size limit exceeded" in caplog.text
    assert "nothing will be removed" in caplog.text


def test_failures_are_clear_and_never_show_the_password(
    slapd: Slapd, directory: GeneratedDirectory, password_in_environment: str
) -> None:
    # wrong password
    os.environ[PASSWORD_ENV] = "wrong-" + READER_PASSWORD
    try:
        with pytest.raises(SourceError, match="invalid credentials") as refused:
            read(make_source(slapd, directory))
    finally:
        os.environ[PASSWORD_ENV] = READER_PASSWORD
    assert READER_PASSWORD not in str(refused.value)

    # nothing listens
    closed = f"ldap://127.0.0.1:{_closed_port()}"
    source = make_source(slapd, directory, server_urls=[closed])
    with pytest.raises(SourceError, match="cannot connect") as down:
        read(source)
    assert closed in str(down.value) and READER_PASSWORD not in str(down.value)
    assert READER_PASSWORD not in repr(source)

    # a server that accepts the connection and never answers: bounded by the timeout
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(SourceError, match="no answer within 1 s"):
            read(make_source(slapd, directory, server_urls=[url], timeout=1.0))
        assert time.monotonic() - started < 5

    # replicas: the first one down, the second one used
    assert read(make_source(slapd, directory, server_urls=[closed, slapd.url])).complete


def test_member_of_membership(tmp_path: Path, password_in_environment: str) -> None:
    small = generate(60, 20, mean_groups=3, heavy_groups=10, seed=3)
    server = Slapd(tmp_path, member_of=True).load_directory(small).start()
    try:
        source = LDAPDirectory(
            config=source_config(server, small, membership="member_of", group_name_pattern="")
        )
        snapshot = read(source)
        for g in small.groups:
            # memberOf reflects groupOfNames membership (the overlay's default), nothing else
            want = set(g.members) if g.by_dn == "member" else set()
            assert set(snapshot.groups[g.name].members) == want, g.kind
        # the overlay keeps memberOf current when a group changes
        g = next(g for g in small.groups if g.kind == "groupOfNames")
        newcomer = next(p.uid for p in small.people if p.uid not in g.members)
        server.modify(
            f"dn: {small.group_dn(g.name)}\nchangetype: modify\nadd: member\n"
            f"member: {small.person_dn(newcomer)}\n"
        )
        assert newcomer in read(source).groups[g.name].members
        assert g.name in asyncio.run(source.person_groups(newcomer))
    finally:
        server.stop()


# -- a hub following the directory -----------------------------------------------------------


def _groups_of(directory: GeneratedDirectory) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for g in directory.groups:
        for uid in g.members:
            groups.setdefault(uid, set()).add(g.name)
    return groups


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def ldap_pre_config(slapd: Slapd, directory: GeneratedDirectory) -> str:
    return slapd.hub_config(
        directory, PASSWORD_ENV, page_size=200, timeout=2.0, snapshot_timeout=20.0
    )


def hub_groups(hub: Hub, names: list[str]) -> dict[str, list[str]]:
    """Members of the hub groups ``names`` ([] for a missing group), in as few requests as
    the hub's pagination allows."""
    found: dict[str, list[str]] = {}
    offset = 0
    while True:
        r = hub.api("GET", f"groups?offset={offset}&limit=200")
        r.raise_for_status()
        page = r.json()
        for group in page:
            found[group["name"]] = sorted(group.get("users", []))
        if len(page) < 200:
            break
        offset += len(page)
    return {name: found.get(name, []) for name in names}


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory,
    slapd: Slapd,
    directory: GeneratedDirectory,
    password_in_environment: str,
) -> Iterator[Hub]:
    hub = Hub(
        tmp_path_factory.mktemp("ldap-hub"),
        sync_interval=SYNC_INTERVAL,
        pre_config=ldap_pre_config(slapd, directory),
    )
    hub.start()
    try:
        last = directory.groups[-1]
        wait_for(
            lambda: hub_groups(hub, [last.name])[last.name] == sorted(last.members),
            timeout=90,
            what="the first sync from LDAP",
        )
        # and that sync has finished (team shares come after the groups)
        wait_for(
            lambda: "jupyterhub_teams.sync] sync applied" in hub.log_text(),
            timeout=60,
            what="the first sync to finish",
        )
        yield hub
    finally:
        hub.stop()


def test_hub_teams_match_the_directory(hub: Hub, directory: GeneratedDirectory) -> None:
    names = [g.name for g in directory.groups]
    assert hub_groups(hub, names) == {g.name: sorted(g.members) for g in directory.groups}
    heavy = max(_groups_of(directory).items(), key=lambda item: len(item[1]))
    assert set(hub.user(heavy[0])["groups"]) >= heavy[1] and len(heavy[1]) == 50
    # the password reached the service through the hub's environment only
    config_text = (hub.state_dir / "jupyterhub_config.py").read_text()
    assert READER_PASSWORD not in config_text
    assert READER_PASSWORD not in hub.log_text()


def _pick(directory: GeneratedDirectory, kind: str, used: set[str]) -> Any:
    return next(
        g for g in directory.groups if g.kind == kind and len(g.members) >= 2 and g.name not in used
    )


def test_ldapmodify_reaches_the_hub_within_one_interval(
    hub: Hub, slapd: Slapd, directory: GeneratedDirectory
) -> None:
    posix = _pick(directory, "posixGroup", set())
    names = _pick(directory, "groupOfNames", {posix.name})
    newcomer = next(p.uid for p in directory.people if p.uid not in posix.members + names.members)
    leaver = names.members[0]
    changed_at = time.monotonic()
    slapd.modify(
        f"dn: {directory.group_dn(posix.name)}\nchangetype: modify\nadd: memberUid\n"
        f"memberUid: {newcomer}\n\n"
        f"dn: {directory.group_dn(names.name)}\nchangetype: modify\nadd: member\n"
        f"member: {directory.person_dn(newcomer)}\n-\ndelete: member\n"
        f"member: {directory.person_dn(leaver)}\n"
    )

    def arrived() -> bool:
        got = hub_groups(hub, [posix.name, names.name])
        return (
            newcomer in got[posix.name]
            and newcomer in got[names.name]
            and leaver not in got[names.name]
        )

    # one sync cycle: at most one interval's wait, then the sync itself (here mostly reading
    # the hub's 620 users and 101 groups; the LDAP read takes a few hundredths of a second)
    wait_for(arrived, timeout=SYNC_INTERVAL + 8, interval=0.2, what="the change to arrive")
    print(f"ldapmodify → hub in {time.monotonic() - changed_at:.1f} s")


def test_directory_down_revokes_nothing_and_logins_work(
    hub: Hub, slapd: Slapd, directory: GeneratedDirectory
) -> None:
    names = [g.name for g in directory.groups]
    before = hub_groups(hub, names)
    errors_before = hub.log_text().count("no LDAP server could be used")
    slapd.stop()
    wait_for(
        lambda: hub.log_text().count("no LDAP server could be used") > errors_before,
        timeout=SYNC_INTERVAL + 8,
        what="the sync to report the outage",
    )
    error_line = next(
        line
        for line in reversed(hub.log_text().splitlines())
        if "no LDAP server could be used" in line
    )
    assert slapd.url in error_line and "cannot connect" in error_line
    assert "nothing was changed" in error_line
    time.sleep(2.5 * SYNC_INTERVAL)
    assert hub_groups(hub, names) == before

    # the hub's own password login (the demo authenticator) does not depend on LDAP
    person = sorted(_groups_of(directory))[5]
    started = time.monotonic()
    session = Person(hub, person, password="demo").logged_in()
    took = time.monotonic() - started
    assert took < 3, f"a login took {took:.1f} s while the directory was down"
    assert set(hub.user(person)["groups"]) >= set(before_groups(before, person))
    session.close()
    assert READER_PASSWORD not in hub.log_text()


def before_groups(groups: dict[str, list[str]], person: str) -> list[str]:
    return [name for name, members in groups.items() if person in members]


def test_restarted_directory_is_followed_again(
    hub: Hub, slapd: Slapd, directory: GeneratedDirectory
) -> None:
    assert not slapd.running
    # changed while slapd was down (offline), and again once it is back
    group = next(g for g in directory.groups if g.kind == "posixGroup+groupOfNames")
    while_down, after = [p.uid for p in directory.people if p.uid not in group.members][:2]
    slapd.modify_offline(
        f"dn: {directory.group_dn(group.name)}\nchangetype: modify\nadd: memberUid\n"
        f"memberUid: {while_down}\n-\nadd: member\nmember: {directory.person_dn(while_down)}\n"
    )
    slapd.start()
    wait_for(
        lambda: while_down in hub_groups(hub, [group.name])[group.name],
        timeout=2 * SYNC_INTERVAL + 8,
        what="the change made while slapd was down",
    )
    slapd.modify(
        f"dn: {directory.group_dn(group.name)}\nchangetype: modify\nadd: memberUid\n"
        f"memberUid: {after}\n"
    )
    wait_for(
        lambda: after in hub_groups(hub, [group.name])[group.name],
        timeout=SYNC_INTERVAL + 8,
        what="a change after the restart",
    )


# -- logging in with LDAPAuthenticator -------------------------------------------------------


def test_ldap_login_starts_exactly_own_team_servers(
    hub: Hub,
    slapd: Slapd,
    directory: GeneratedDirectory,
) -> None:
    import ldapauthenticator  # noqa: F401 - it must be installed: the hub below uses it

    assert slapd.running
    # the same hub state (users, teams, shares), restarted with LDAP logins
    hub.stop()
    extra = f"""
c.JupyterHub.authenticator_class = "ldapauthenticator.LDAPAuthenticator"
c.LDAPAuthenticator.server_address = "127.0.0.1"
c.LDAPAuthenticator.server_port = {slapd.port}
c.LDAPAuthenticator.tls_strategy = "insecure"
c.LDAPAuthenticator.bind_dn_template = ["uid={{username}},{directory.people_dn}"]
"""
    ldap_hub = Hub(
        hub.state_dir,
        sync_interval=SYNC_INTERVAL,
        pre_config=ldap_pre_config(slapd, directory),
        extra_config=extra,
    )
    # someone in exactly two teams; the earlier tests added people from the start of the
    # list to groups, so take them from the end
    person, teams = next(
        (uid, groups)
        for uid, groups in sorted(_groups_of(directory).items(), reverse=True)
        if len(groups) == 2
    )
    other = next(g.name for g in directory.groups if g.name not in teams)
    ldap_hub.start()
    try:
        assert "LDAPAuthenticator" in ldap_hub.log_text()
        assert Person(ldap_hub, person, password="wrong").login().status_code != 302
        session = Person(ldap_hub, person, password=PERSON_PASSWORD).logged_in()
        assert set(ldap_hub.user(person)["groups"]) >= teams
        for team in sorted(teams):
            r = session.hub_api("POST", f"users/collab-{team}/server")
            assert r.status_code in (201, 202), (team, r.status_code, r.text)
        refused = session.hub_api("POST", f"users/collab-{other}/server")
        assert refused.status_code in REFUSED, refused.text
        accounts = [f"collab-{team}" for team in sorted(teams)]
        wait_for(
            lambda: all(ldap_hub.server_ready(a) for a in accounts), 60, what=f"{accounts} ready"
        )
        session.close()
        assert READER_PASSWORD not in ldap_hub.log_text()
    finally:
        ldap_hub.stop()
