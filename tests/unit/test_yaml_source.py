from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import jupyterhub_teams
from jupyterhub_teams.model import DirectoryGroup, DirectorySnapshot, Person
from jupyterhub_teams.sources import Source, SourceError, YAMLDirectory, parse_directory

DEMO = Path(jupyterhub_teams.__file__).parent / "demo" / "directory.yaml"


def parse(text: str) -> DirectorySnapshot:
    return parse_directory(yaml.safe_load(text), origin="test.yaml")


# --- parse_directory: good documents -----------------------------------------------------------


def test_full_document() -> None:
    snapshot = parse(
        """
        users:
          alice: {uid: 2001}
          bob: {}
          carol:
        groups:
          physics: {gid: 3001, members: [alice, bob]}
          chemistry: [alice, carol]
          empty: {}
          nothing:
        """.replace("\n        ", "\n")
    )
    assert snapshot.people == {
        "alice": Person("alice", 2001),
        "bob": Person("bob", None),
        "carol": Person("carol", None),
    }
    assert snapshot.groups == {
        "physics": DirectoryGroup("physics", frozenset({"alice", "bob"}), 3001),
        "chemistry": DirectoryGroup("chemistry", frozenset({"alice", "carol"}), None),
        "empty": DirectoryGroup("empty", frozenset(), None),
        "nothing": DirectoryGroup("nothing", frozenset(), None),
    }
    assert snapshot.source == "test.yaml"
    assert snapshot.complete is True


def test_bare_list_group() -> None:
    snapshot = parse_directory({"groups": {"g": ["a", "b", "a"]}})
    assert snapshot.groups["g"].members == {"a", "b"}
    assert snapshot.groups["g"].gid is None
    assert snapshot.people == {}
    assert snapshot.source == "YAML directory"


def test_numeric_names_become_strings() -> None:
    snapshot = parse("users: {1001: {uid: 0}}\ngroups: {2024: [1001, bob]}")
    assert snapshot.people == {"1001": Person("1001", 0)}
    assert snapshot.groups == {"2024": DirectoryGroup("2024", frozenset({"1001", "bob"}))}


@pytest.mark.parametrize("text", ["{}", "users:\ngroups:", "users: {}\ngroups: {}", "groups: {}"])
def test_empty_documents(text: str) -> None:
    snapshot = parse(text)
    assert snapshot.people == {}
    assert snapshot.groups == {}


@pytest.mark.parametrize("text", ["", "---", "null", "~", "  \n\n   ", "# all groups moved\n"])
def test_a_file_without_a_document_is_unavailable_not_nobody(text: str) -> None:
    with pytest.raises(SourceError) as info:
        parse(text)
    assert "test.yaml is empty" in str(info.value)
    assert "taken as unavailable" in str(info.value)
    assert "'groups: {}'" in str(info.value)


def test_only_groups() -> None:
    snapshot = parse("groups: {g: [x]}")
    assert snapshot.people == {}
    assert set(snapshot.groups) == {"g"}


def test_demo_directory() -> None:
    snapshot = parse_directory(yaml.safe_load(DEMO.read_text()))
    assert {n: sorted(g.members) for n, g in snapshot.groups.items()} == {
        "physics": ["alice", "bob"],
        "chemistry": ["alice", "carol"],
        "gpu-users": ["erin"],
    }
    assert {n: p.uid for n, p in snapshot.people.items()} == {
        "alice": 2001,
        "bob": 2002,
        "carol": 2003,
        "dave": 2004,
        "erin": 2005,
    }
    assert snapshot.groups["gpu-users"].gid == 3003


# --- parse_directory: bad documents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["alice", "bob"], "test.yaml: the top level must be a mapping with 'users' and 'groups'"),
        ("just text", "the top level must be a mapping"),
        (42, "the top level must be a mapping"),
        ({"users": {}, "group": {}}, "test.yaml: unknown top-level keys ['group']"),
        ({"people": {}, "teams": {}}, "unknown top-level keys ['people', 'teams']"),
        ({"users": ["alice"]}, "'users' must be a mapping of name → attributes"),
        ({"groups": ["physics"]}, "'groups' must be a mapping of name → attributes"),
        ({"groups": "physics"}, "'groups' must be a mapping"),
        ({"users": {"alice": 2001}}, "user 'alice' must map to attributes, got 2001"),
        ({"users": {"alice": "x"}}, "user 'alice' must map to attributes"),
        ({"groups": {"physics": "alice"}}, "group 'physics' must map to attributes or a list"),
        ({"groups": {"physics": 7}}, "group 'physics' must map to attributes or a list"),
        (
            {"groups": {"physics": {"members": "alice, bob"}}},
            "test.yaml: members of group 'physics' must be a list of names",
        ),
        ({"groups": {"physics": {"members": {"alice": 1}}}}, "members of group 'physics'"),
        ({"groups": {"physics": [["alice"]]}}, "members of group 'physics' must be a list"),
        ({"groups": {"physics": [{"name": "alice"}]}}, "must be a list of names"),
        ({"groups": {"physics": ["alice", None]}}, "must be a list of names"),
        ({"groups": {"physics": [1.5]}}, "must be a list of names"),
        (
            {"users": {"alice": {"uid": -1}}},
            "uid of 'alice' must be a non-negative integer, got -1",
        ),
        (
            {"users": {"alice": {"uid": True}}},
            "uid of 'alice' must be a non-negative integer, got True",
        ),
        ({"users": {"alice": {"uid": False}}}, "uid of 'alice' must be a non-negative integer"),
        ({"users": {"alice": {"uid": "2001"}}}, "uid of 'alice' must be a non-negative integer"),
        ({"users": {"alice": {"uid": 2001.0}}}, "uid of 'alice' must be a non-negative integer"),
        ({"groups": {"g": {"gid": -5}}}, "gid of 'g' must be a non-negative integer, got -5"),
        ({"groups": {"g": {"gid": True}}}, "gid of 'g' must be a non-negative integer"),
        # values that would silently empty a group or the directory
        ({"groups": {"physics": {"members": False}}}, "members of group 'physics'"),
        ({"groups": {"physics": {"members": 0}}}, "members of group 'physics'"),
        ({"groups": {"physics": {"members": ""}}}, "members of group 'physics'"),
        ({"groups": {"physics": False}}, "group 'physics' must map to attributes or a list"),
        ({"groups": {"physics": ""}}, "group 'physics' must map to attributes or a list"),
        ({"groups": []}, "'groups' must be a mapping"),
        ({"groups": False}, "'groups' must be a mapping"),
        ({"users": ""}, "'users' must be a mapping"),
    ],
)
def test_bad_documents(data: Any, message: str) -> None:
    with pytest.raises(SourceError) as info:
        parse_directory(data, origin="test.yaml")
    assert message in str(info.value)


def test_yaml_booleans_as_members_are_refused() -> None:
    # "members: no" is YAML for False; it must not mean "nobody".
    with pytest.raises(SourceError, match="members of group 'physics'"):
        parse("groups:\n  physics:\n    members: no\n")


async def test_a_bad_file_is_refused_as_a_runtime_error_in_words(tmp_path: Path) -> None:
    # callers that catch RuntimeError catch it, and the message says which file and what
    path = tmp_path / "directory.yaml"
    path.write_text("people: {alice: {}}\ngroups: {}\n", encoding="utf-8")
    with pytest.raises(RuntimeError) as info:
        await YAMLDirectory(path).snapshot()
    assert type(info.value) is SourceError
    assert str(info.value) == "YAML directory directory.yaml: unknown top-level keys ['people']"


# --- YAMLDirectory -----------------------------------------------------------------------------


def write(path: Path, text: str, *, bump: int = 0) -> None:
    """Write ``text``; ``bump`` seconds later than the file's previous mtime, if any."""
    old = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if old is not None:
        stamp = old + bump * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))


async def test_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    snapshot = await source.snapshot()
    assert snapshot.groups == {"physics": DirectoryGroup("physics", frozenset({"alice", "bob"}))}
    assert snapshot.source == "YAML directory directory.yaml"
    assert snapshot.complete
    assert isinstance(source, Source)
    assert source.path == path


async def test_accepts_a_string_path(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    write(path, "groups: {g: [a]}\n")
    snapshot = await YAMLDirectory(str(path)).snapshot()
    assert set(snapshot.groups) == {"g"}


async def test_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    first = await source.snapshot()
    assert await source.snapshot() is first
    # same size, same inode, same mtime: the new content is not looked at
    stat = path.stat()
    path.write_text("groups: {physics: [alice, eve]}\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert await source.snapshot() is first


async def test_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    first = await source.snapshot()
    write(path, "groups: {physics: [alice, eve]}\n", bump=1)
    second = await source.snapshot()
    assert second is not first
    assert second.groups["physics"].members == {"alice", "eve"}
    assert await source.snapshot() is second


async def test_size_change_alone_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    await source.snapshot()
    write(path, "groups: {physics: [alice, bob, carol]}\n", bump=0)
    assert (await source.snapshot()).groups["physics"].members == {"alice", "bob", "carol"}


async def test_replaced_file_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    await source.snapshot()
    stat = path.stat()
    other = tmp_path / "new.yaml"
    other.write_text("groups: {physics: [alice, eve]}\n", encoding="utf-8")
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(other, path)  # atomic rename: same size and mtime, new inode
    assert (await source.snapshot()).groups["physics"].members == {"alice", "eve"}


async def test_broken_file_raises_and_is_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    await source.snapshot()
    write(path, "groups: {physics: [alice, bob\n", bump=1)
    with pytest.raises(SourceError) as info:
        await source.snapshot()
    assert f"YAML directory {path} does not parse" in str(info.value)
    # still broken, still an error (not the earlier snapshot, not a cached failure)
    with pytest.raises(SourceError, match="does not parse"):
        await source.snapshot()
    write(path, "groups: {physics: [carol]}\n", bump=1)
    assert (await source.snapshot()).groups["physics"].members == {"carol"}


@pytest.mark.parametrize("content", [b"", b"\n  \n", b"null\n"])
async def test_an_emptied_file_raises_and_is_never_cached(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {physics: [alice, bob]}\n")
    source = YAMLDirectory(path)
    await source.snapshot()
    path.write_bytes(content)  # truncated, or half written by a non-atomic writer
    with pytest.raises(SourceError, match=r"YAML directory directory\.yaml is empty"):
        await source.snapshot()
    # an explicit answer without groups is an answer
    write(path, "groups: {}\n", bump=1)
    assert (await source.snapshot()).groups == {}


async def test_file_with_a_bad_shape_raises(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "- alice\n- bob\n")
    with pytest.raises(SourceError) as info:
        await YAMLDirectory(path).snapshot()
    assert "YAML directory directory.yaml: the top level must be a mapping" in str(info.value)


async def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(SourceError) as info:
        await YAMLDirectory(path).snapshot()
    assert str(info.value) == f"cannot read YAML directory {path}: No such file or directory"


async def test_file_removed_after_a_good_read_raises(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    write(path, "groups: {g: [a]}\n")
    source = YAMLDirectory(path)
    await source.snapshot()
    path.unlink()
    with pytest.raises(SourceError, match="cannot read YAML directory"):
        await source.snapshot()


async def test_file_that_is_not_utf8_raises(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_bytes(b"groups: {g: [\xff\xfe]}\n")
    with pytest.raises(SourceError, match="cannot read YAML directory"):
        await YAMLDirectory(path).snapshot()


async def test_demo_file(tmp_path: Path) -> None:
    snapshot = await YAMLDirectory(DEMO).snapshot()
    assert set(snapshot.groups) == {"physics", "chemistry", "gpu-users"}
    assert set(snapshot.people) == {"alice", "bob", "carol", "dave", "erin"}


def test_yaml_booleans_are_not_names() -> None:
    with pytest.raises(SourceError, match="quote names"):
        parse_directory({"groups": {"physics": {"members": ["alice", True]}}})
