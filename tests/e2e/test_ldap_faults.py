"""Directory faults the LDAP source must not mistake for an answer: part of the tree referred
to another server, a server that accepts the connection and never answers, and slapd killed
(SIGKILL) or frozen (SIGSTOP) in the middle of a read, for the source alone and under the sync
service. Either way the read is not complete (nothing is removed on its strength, and the sync
service counts it in ``directory_read_errors_total``) or fails with the reason."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyterhub_teams.model import DirectorySnapshot
from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.ldap import LDAPDirectory

from .harness import Hub, team_retired, wait_for
from .slapd import READER_PASSWORD, GeneratedDirectory, Slapd, generate
from .test_metrics import samples, scrape

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


# -- slapd killed or frozen in the middle of a read -------------------------------------------
#
# 12,000 people and 1,200 groups, read in pages of 20: a read takes about a second here, long
# enough to interrupt. Whether a given interruption lands before, in or after the read is up to
# the machine: each test tries a few moments and requires that at least one landed in the
# middle; whatever the moment, a read that says it is complete must hold everything.

LARGE_PEOPLE, LARGE_GROUPS = 12_000, 1_200


@pytest.fixture(scope="module")
def large() -> GeneratedDirectory:
    made = generate(
        LARGE_PEOPLE, LARGE_GROUPS, mean_groups=3, heavy_groups=0, seed=21, password="secret"
    )
    # the hub below follows the last ten groups written (so the last read) and the first 99
    # people (uid p00001 to p00099): make those groups theirs
    few = [person.uid for person in made.people[:99]]
    rng = random.Random(21)
    for group in made.groups[-10:]:
        group.members = sorted(rng.sample(few, 12))
    return made


@pytest.fixture(scope="module")
def large_slapd(
    tmp_path_factory: pytest.TempPathFactory, large: GeneratedDirectory
) -> Iterator[Slapd]:
    server = Slapd(tmp_path_factory.mktemp("slapd-large")).load_directory(large).start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.send(signal.SIGCONT)  # in case a test failed with it frozen
        server.stop()


def interrupted(slapd: Slapd, reader: LDAPDirectory, sig: signal.Signals, after: float) -> Any:
    """Start a whole read; once slapd has the reader's connection, wait ``after`` seconds and
    send ``sig`` to slapd. The read's snapshot, or the SourceError it raised."""
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["snapshot"] = asyncio.run(reader.snapshot())
        except SourceError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    wait_for(lambda: slapd.clients() > 0 or not thread.is_alive(), 10, interval=0.005)
    time.sleep(after)
    slapd.send(sig)
    thread.join(60)
    assert not thread.is_alive(), "the read did not end"
    return outcome.get("snapshot", outcome.get("error"))


def assert_whole_if_complete(outcome: Any) -> None:
    """The property removals rest on: a read that calls itself complete has everything."""
    if isinstance(outcome, DirectorySnapshot) and outcome.complete:
        assert (len(outcome.people), len(outcome.groups)) == (LARGE_PEOPLE, LARGE_GROUPS)


def cut_short(outcome: Any) -> bool:
    return isinstance(outcome, DirectorySnapshot) and not outcome.complete


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_slapd_gone_mid_read_makes_an_incomplete_read_and_the_next_read_is_whole(
    large_slapd: Slapd,
    large: GeneratedDirectory,
    sig: signal.Signals,
    caplog: pytest.LogCaptureFixture,
) -> None:
    whole = asyncio.run(source(large, large_slapd.url, page_size=20).snapshot())
    assert whole.complete and len(whole.people) == LARGE_PEOPLE
    outcomes = []
    for after in (0.2, 0.1, 0.4, 0.05, 0.02):
        reader = source(large, large_slapd.url, page_size=20, timeout=1.0, snapshot_timeout=20.0)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="jupyterhub_teams.sources.ldap"):
            outcome = interrupted(large_slapd, reader, sig, after)
        if sig == signal.SIGKILL:
            large_slapd.start()
        else:
            large_slapd.send(signal.SIGCONT)
        outcomes.append(outcome)
        assert_whole_if_complete(outcome)
        if cut_short(outcome):
            break
    print(
        [
            f"{len(o.people)} people, {len(o.groups)} groups" if cut_short(o) else repr(o)
            for o in outcomes
        ]
    )
    assert cut_short(outcome), f"no interruption landed in the middle of a read: {outcomes}"
    reason = "Can't contact LDAP server" if sig == signal.SIGKILL else "got no answer within 1 s"
    assert "incomplete read of" in caplog.text and reason in caplog.text, caplog.text
    assert "nothing will be removed" in caplog.text
    # slapd is back (or answering again): the next read is whole
    again = asyncio.run(source(large, large_slapd.url, page_size=20).snapshot())
    assert again.complete
    assert (len(again.people), len(again.groups)) == (LARGE_PEOPLE, LARGE_GROUPS)


def test_the_sync_service_removes_nothing_when_slapd_goes_mid_read_and_converges_after(
    tmp_path: Path, large_slapd: Slapd, large: GeneratedDirectory
) -> None:
    """A hub following ten of the large directory's groups (the last read) through the sync
    service: slapd killed, then frozen, during the service's read. A read taken for whole would
    retire the ten teams, whose groups were not read yet."""
    teams = {g.name: set(g.members) for g in large.groups[-10:]}
    hub = Hub(
        tmp_path,
        sync_interval=HUB_SYNC_INTERVAL,
        pre_config=large_slapd.hub_config(
            large,
            PASSWORD_ENV,
            page_size=20,
            timeout=2.0,
            snapshot_timeout=20.0,
            people_filter="(&(objectClass=inetOrgPerson)(uid=p000*))",
            group_name_pattern="|".join(teams),
        ),
    )
    with hub.synced(next(iter(teams))):
        hub.wait_for_sync(lambda: hub_teams(hub, teams) == teams, what="the first sync")
        for sig in (signal.SIGKILL, signal.SIGSTOP):
            errors_before = read_errors(hub)
            mark = len(hub.log_text())
            interrupt_the_sync_read(hub, large_slapd, sig)
            line = next(
                line for line in hub.log_text()[mark:].splitlines() if "incomplete read" in line
            )
            print(line[:400])
            assert "nothing will be removed" in line
            if sig == signal.SIGKILL:
                # down for a few intervals: every sync says so, and changes nothing
                time.sleep(2 * HUB_SYNC_INTERVAL)
                assert "no LDAP server could be used" in hub.log_text()[mark:]
                assert hub_teams(hub, teams) == teams
                large_slapd.start()
            else:
                large_slapd.send(signal.SIGCONT)
            assert hub_teams(hub, teams) == teams, "a membership was lost"
            assert not any(team_retired(hub, team) for team in teams), "a team was retired"
            # every sync that did not read the whole directory is counted, the incomplete
            # read included (not only the failed ones around it)
            wait_for(
                lambda start=mark, before=errors_before: (
                    read_errors(hub) - before == not_whole(hub, start)
                ),
                10,
                what="directory_read_errors_total to count every read that was not whole",
            )
            # back: the next syncs follow the directory again, removals included
            team, members = sorted(teams.items())[0 if sig == signal.SIGKILL else 1]
            leaver = sorted(members)[0]
            large_slapd.modify(remove_member(large, team, leaver))
            teams[team] = members - {leaver}
            hub.wait_for_sync(lambda: hub_teams(hub, teams) == teams, what="convergence")
        assert "holding back" not in hub.log_text()
        assert_consistent_accounts(hub, teams)


HUB_SYNC_INTERVAL = 2.0


def hub_teams(hub: Hub, teams: dict[str, set[str]]) -> dict[str, set[str]]:
    return {name: set((hub.group(name) or {}).get("users", [])) for name in teams}


def read_errors(hub: Hub) -> float:
    scraped = scrape(hub, hub.admin_token)
    scraped.raise_for_status()
    key = ("jupyterhub_teams_directory_read_errors_total", (("source", "LDAPDirectory"),))
    return samples(scraped.text)[key]


def not_whole(hub: Hub, mark: int) -> int:
    """Syncs since ``mark`` that did not read the whole directory, as the log says."""
    log = hub.log_text()[mark:]
    unavailable = "jupyterhub_teams.sync] sync failed, nothing more was changed: directory"
    return log.count("incomplete read of") + log.count(unavailable)


def interrupt_the_sync_read(hub: Hub, slapd: Slapd, sig: signal.Signals) -> None:
    """Send ``sig`` to slapd while the sync service reads it, until one read was cut short (the
    moment is the machine's: it may land before or after the read; then try again)."""
    for after in (0.3, 0.15, 0.5, 0.05, 0.02, 0.1):
        mark = len(hub.log_text())
        wait_for(lambda: slapd.clients() > 0, 3 * HUB_SYNC_INTERVAL + 10, interval=0.005)
        time.sleep(after)
        slapd.send(sig)
        if sig == signal.SIGSTOP:
            wait_for(
                lambda start=mark: "jupyterhub_teams.sync]" in hub.log_text()[start:],
                30,
                what="the sync to end",
            )
        else:
            time.sleep(1)
        if "incomplete read" in hub.log_text()[mark:]:
            return
        # landed outside the read: bring slapd back and try another moment
        if sig == signal.SIGKILL:
            slapd.start()
        else:
            slapd.send(signal.SIGCONT)
        wait_for(lambda: slapd.clients() == 0, 30, what="the read to end")
    raise AssertionError("no interruption landed in the middle of the sync's read")


def remove_member(directory: GeneratedDirectory, team: str, uid: str) -> str:
    """The LDIF taking ``uid`` out of the group ``team``, in each attribute its kind uses."""
    group = directory.group(team)
    changes = [f"delete: memberUid\nmemberUid: {uid}\n"] if group.by_uid else []
    if group.by_dn:
        changes.append(f"delete: {group.by_dn}\n{group.by_dn}: {directory.person_dn(uid)}\n")
    return f"dn: {directory.group_dn(team)}\nchangetype: modify\n" + "-\n".join(changes)


def assert_consistent_accounts(hub: Hub, teams: dict[str, set[str]]) -> None:
    """Each team shared once with its own group; every team account has its team."""
    for team in teams:
        items = hub.api("GET", f"shares/collab-{team}/").json()["items"]
        assert [i["group"]["name"] for i in items if i.get("group")] == [team]
    users = [u["name"] for u in hub.api("GET", "users", params={"limit": 200}).json()]
    assert len(users) == len(set(users))
    accounts = {u for u in users if u.startswith("collab-")}
    assert accounts == {f"collab-{team}" for team in teams}
