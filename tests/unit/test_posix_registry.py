"""The SQLite record of uids and gids handed out, on a real file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jupyterhub_teams.posix.numbers import NumberRange, RangeExhausted, first_candidate
from jupyterhub_teams.posix.registry import IdentityConflict, Record, Registry

UIDS = NumberRange(30000, 30099)
GIDS = NumberRange(45000, 45099)


def nothing(number: int) -> bool:
    return False


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "ids.sqlite")


def test_empty_registry(registry: Registry) -> None:
    assert registry.records() == []
    assert registry.lookup("uid", "alice") is None
    assert registry.forget("alice") == []


def test_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ids.sqlite"
    registry = Registry(path)
    assert registry.path == str(path)
    assert not path.exists()
    registry.lookup("uid", "alice")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_mode_does_not_depend_on_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        Registry(tmp_path / "ids.sqlite").records()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "ids.sqlite").stat().st_mode) == 0o600


def test_claim_and_lookup(registry: Registry) -> None:
    wanted = Record("uid", "alice", "alice", 47001, "directory")
    assert registry.claim(wanted) == wanted
    assert registry.lookup("uid", "alice") == wanted
    assert registry.lookup("gid", "alice") is None
    assert registry.lookup("uid", "bob") is None
    assert registry.records() == [wanted]


def test_the_same_claim_twice_is_a_no_op(registry: Registry) -> None:
    wanted = Record("uid", "alice", "alice", 47001, "directory")
    registry.claim(wanted)
    # the origin may differ (claim vs directory): the record keeps the first one
    again = registry.claim(Record("uid", "alice", "alice", 47001, "claim"))
    assert again == wanted
    assert registry.records() == [wanted]


def test_a_different_number_for_a_recorded_name_is_refused(registry: Registry) -> None:
    registry.claim(Record("uid", "alice", "alice", 47001, "directory"))
    with pytest.raises(IdentityConflict) as raised:
        registry.claim(Record("uid", "alice", "alice", 47010, "claim"))
    assert str(raised.value) == (
        "JupyterHub user 'alice' has uid 47001 (system user 'alice', directory) on record, "
        "but the claim now says 47010 ('alice'). Files on disk carry the recorded number, so "
        "nothing is changed: fix the source, or re-own the files and run "
        "`jupyterhub-teams posix forget alice`"
    )
    assert registry.records() == [Record("uid", "alice", "alice", 47001, "directory")]


def test_a_different_system_name_for_a_recorded_name_is_refused(registry: Registry) -> None:
    registry.claim(Record("gid", "collab-physics", "collab-physics", 48001, "directory"))
    with pytest.raises(IdentityConflict) as raised:
        registry.claim(Record("gid", "collab-physics", "physics", 48001, "directory"))
    message = str(raised.value)
    assert "has gid 48001 (system group 'collab-physics', directory) on record" in message
    assert "now says 48001 ('physics')" in message
    assert "nothing is changed" in message


def test_a_number_held_by_another_name_is_refused(registry: Registry) -> None:
    registry.claim(Record("uid", "alice", "alice", 47001, "directory"))
    with pytest.raises(IdentityConflict) as raised:
        registry.claim(Record("uid", "bob", "bob", 47001, "claim"))
    assert str(raised.value) == (
        "uid 47001 (claim) for JupyterHub user 'bob' is already recorded for JupyterHub user "
        "'alice' (system user 'alice'); a number is never given to two names"
    )
    assert registry.lookup("uid", "bob") is None


def test_a_group_number_held_by_another_name_names_the_group(registry: Registry) -> None:
    registry.claim(Record("gid", "collab-physics", "collab-physics", 48001, "directory"))
    with pytest.raises(IdentityConflict) as raised:
        registry.claim(Record("gid", "collab-chemistry", "collab-chemistry", 48001, "directory"))
    assert "JupyterHub user 'collab-physics' (system group 'collab-physics')" in str(raised.value)


def test_two_names_mapping_to_one_system_name_are_refused(registry: Registry) -> None:
    registry.claim(Record("uid", "eve@example.org", "eve-example-org", 47100, "allocated"))
    with pytest.raises(IdentityConflict) as raised:
        registry.claim(Record("uid", "eve.example@org", "eve-example-org", 47101, "directory"))
    assert str(raised.value) == (
        "JupyterHub users 'eve@example.org' and 'eve.example@org' both map to the system user "
        "name 'eve-example-org'; 'eve@example.org' was recorded first and keeps it, so "
        "'eve.example@org' is refused (see the system name rule in the docs)"
    )
    assert registry.lookup("uid", "eve.example@org") is None


def test_uids_and_gids_are_separate(registry: Registry) -> None:
    uid = Record("uid", "alice", "alice", 47001, "directory")
    gid = Record("gid", "alice", "alice", 47001, "private group")
    team = Record("gid", "collab-x", "collab-x", 47002, "directory")
    other_uid = Record("uid", "bob", "bob", 47002, "directory")
    for record in (uid, gid, team, other_uid):
        assert registry.claim(record) == record
    assert registry.records() == [gid, team, uid, other_uid]
    assert registry.lookup("gid", "alice") == gid
    assert registry.lookup("uid", "alice") == uid


def test_allocate_records_a_number_and_returns_it_again(registry: Registry) -> None:
    first = registry.allocate("uid", "carol", "carol", UIDS, nothing)
    assert first == Record("uid", "carol", "carol", first_candidate("carol", UIDS), "allocated")
    assert registry.lookup("uid", "carol") == first
    # the second call returns the record, even when the number is now taken elsewhere
    assert registry.allocate("uid", "carol", "carol", UIDS, lambda n: True) == first
    assert registry.records() == [first]


def test_allocate_returns_a_claimed_number(registry: Registry) -> None:
    claimed = registry.claim(Record("uid", "alice", "alice", 47001, "directory"))
    assert registry.allocate("uid", "alice", "alice", UIDS, nothing) == claimed


def test_allocate_refuses_another_system_name(registry: Registry) -> None:
    registry.allocate("uid", "carol", "carol", UIDS, nothing)
    with pytest.raises(IdentityConflict) as raised:
        registry.allocate("uid", "carol", "carol2", UIDS, nothing)
    assert str(raised.value) == (
        "JupyterHub user 'carol' is recorded with the system user name 'carol', not 'carol2'"
    )


def test_allocate_respects_taken_elsewhere(registry: Registry) -> None:
    start = first_candidate("carol", UIDS)
    asked: list[int] = []

    def taken(number: int) -> bool:
        asked.append(number)
        return number == start

    record = registry.allocate("uid", "carol", "carol", UIDS, taken)
    expected = UIDS.first + (start - UIDS.first + 1) % len(UIDS)
    assert record.number == expected
    assert asked == [start, expected]


def test_allocate_skips_numbers_on_record(registry: Registry) -> None:
    start = first_candidate("carol", UIDS)
    registry.claim(Record("uid", "alice", "alice", start, "directory"))
    record = registry.allocate("uid", "carol", "carol", UIDS, nothing)
    assert record.number == UIDS.first + (start - UIDS.first + 1) % len(UIDS)
    # a gid on record does not hold the uid
    registry2_start = first_candidate("dave", UIDS)
    registry.claim(Record("gid", "team-x", "team-x", registry2_start, "directory"))
    assert registry.allocate("uid", "dave", "dave", UIDS, nothing).number == registry2_start


def test_allocate_refuses_a_system_name_recorded_for_another(registry: Registry) -> None:
    registry.claim(Record("uid", "eve@example.org", "eve-example-org", 47100, "claim"))
    with pytest.raises(IdentityConflict, match="both map to the system user name"):
        registry.allocate("uid", "eve.example@org", "eve-example-org", UIDS, nothing)
    assert registry.lookup("uid", "eve.example@org") is None


def test_allocate_in_a_full_range(registry: Registry) -> None:
    tiny = NumberRange(30000, 30001)
    registry.allocate("uid", "a", "a", tiny, nothing)
    registry.allocate("uid", "b", "b", tiny, nothing)
    with pytest.raises(RangeExhausted):
        registry.allocate("uid", "c", "c", tiny, nothing)
    assert [r.name for r in registry.records()] == ["a", "b"]
    assert {r.number for r in registry.records()} == {30000, 30001}


def test_forget(registry: Registry) -> None:
    uid = registry.claim(Record("uid", "alice", "alice", 47001, "directory"))
    gid = registry.claim(Record("gid", "alice", "alice", 47001, "private group"))
    bob = registry.claim(Record("uid", "bob", "bob", 47002, "directory"))
    assert registry.forget("alice") == [uid, gid]
    assert registry.records() == [bob]
    assert registry.forget("alice") == []
    # the number is free again, for anyone
    assert registry.claim(Record("uid", "carol", "carol", 47001, "claim")).number == 47001


def test_two_registries_on_one_file_see_each_other(tmp_path: Path) -> None:
    one = Registry(tmp_path / "ids.sqlite")
    two = Registry(tmp_path / "ids.sqlite")
    alice = one.claim(Record("uid", "alice", "alice", 47001, "directory"))
    assert two.lookup("uid", "alice") == alice
    with pytest.raises(IdentityConflict, match="already recorded for JupyterHub user 'alice'"):
        two.claim(Record("uid", "bob", "bob", 47001, "directory"))
    carol = two.allocate("uid", "carol", "carol", UIDS, nothing)
    assert one.allocate("uid", "carol", "carol", UIDS, nothing) == carol
    assert one.records() == two.records() == [alice, carol]
    # a number allocated through one is never handed out by the other
    tiny = NumberRange(30000, 30001)
    a = one.allocate("gid", "a", "a", tiny, nothing)
    b = two.allocate("gid", "b", "b", tiny, nothing)
    assert {a.number, b.number} == {30000, 30001}


def test_records_survive_a_new_registry_object(tmp_path: Path) -> None:
    Registry(tmp_path / "ids.sqlite").allocate("gid", "collab-x", "collab-x", GIDS, nothing)
    again = Registry(tmp_path / "ids.sqlite")
    assert again.records() == [
        Record("gid", "collab-x", "collab-x", first_candidate("collab-x", GIDS), "allocated")
    ]


def test_a_failed_write_leaves_nothing_recorded(registry: Registry) -> None:
    class Broken(Exception):
        pass

    def broken(number: int) -> bool:
        raise Broken

    with pytest.raises(Broken):
        registry.allocate("uid", "carol", "carol", UIDS, broken)
    assert registry.records() == []
    # the transaction was rolled back, not left open: the file is writable again at once
    record = registry.allocate("uid", "carol", "carol", UIDS, nothing)
    assert registry.records() == [record]


def test_a_refused_claim_leaves_the_file_writable(tmp_path: Path) -> None:
    one = Registry(tmp_path / "ids.sqlite")
    one.claim(Record("uid", "alice", "alice", 47001, "directory"))
    with pytest.raises(IdentityConflict):
        one.claim(Record("uid", "alice", "alice", 47002, "directory"))
    other = Registry(tmp_path / "ids.sqlite")
    other.claim(Record("uid", "bob", "bob", 47002, "directory"))
    assert [r.name for r in one.records()] == ["alice", "bob"]
