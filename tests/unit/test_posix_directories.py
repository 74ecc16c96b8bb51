"""Team directories: the default ACL's bytes, and real directories (the tests run as root, so
chown to any gid works; the gids need not exist as groups)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from jupyterhub_teams.posix.directories import (
    DEFAULT_ACL_XATTR,
    TEAM_DIRECTORY_MODE,
    TeamDirectory,
    TeamDirectoryConflict,
    default_acl,
    ensure_team_directory,
)

GID = 48950
OTHER_GID = 48951

# Team directories are chowned to other gids: these tests run as root, like the suite (a
# missing privilege fails them, it never skips them).


def test_constants() -> None:
    assert TEAM_DIRECTORY_MODE == 0o2770
    assert DEFAULT_ACL_XATTR == "system.posix_acl_default"


def test_default_acl_bytes() -> None:
    assert default_acl() == bytes(
        [
            0x02, 0x00, 0x00, 0x00,  # version 2, little-endian
            0x01, 0x00, 0x07, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,  # user::rwx
            0x04, 0x00, 0x07, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,  # group::rwx
            0x20, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,  # other::---
        ]
    )  # fmt: skip
    assert len(default_acl()) == 28


def test_default_acl_with_other_bits() -> None:
    assert default_acl(6, 5, 4) == bytes.fromhex(
        "0200000001000600ffffffff04000500ffffffff20000400ffffffff"
    )
    assert default_acl(0, 0, 0) == bytes.fromhex(
        "0200000001000000ffffffff04000000ffffffff20000000ffffffff"
    )


@pytest.mark.parametrize(("owner", "group", "other"), [(8, 7, 0), (7, -1, 0), (7, 7, 16)])
def test_default_acl_refuses_bad_bits(owner: int, group: int, other: int) -> None:
    with pytest.raises(ValueError) as raised:
        default_acl(owner, group, other)
    bad = next(b for b in (owner, group, other) if not 0 <= b <= 7)
    assert str(raised.value) == f"permissions are three bits, got {bad}"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def acl_of(path: Path) -> bytes:
    try:
        return os.getxattr(path, DEFAULT_ACL_XATTR)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise AssertionError(
                "the file system under the test's folder has no POSIX ACLs; team directories "
                "rely on them: run the tests on one that has them"
            ) from exc
        raise


def test_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "teams" / "physics"
    assert ensure_team_directory(TeamDirectory(str(path), 0, GID)) is True
    info = os.lstat(path)
    assert stat.S_ISDIR(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o2770
    assert (info.st_uid, info.st_gid) == (0, GID)
    # the missing parent was created, open for traversal
    assert mode(tmp_path / "teams") == 0o755
    assert acl_of(path) == default_acl()


def test_creates_with_the_given_owner(tmp_path: Path) -> None:
    path = tmp_path / "chemistry"
    assert ensure_team_directory(TeamDirectory(str(path), 30500, GID)) is True
    info = os.lstat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (30500, GID, 0o2770)


def test_files_created_inside_get_the_group_and_stay_group_writable(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    ensure_team_directory(TeamDirectory(str(path), 0, GID))
    acl_of(path)
    old = os.umask(0o022)
    try:
        (path / "notes.txt").write_text("x")
        (path / "sub").mkdir()
    finally:
        os.umask(old)
    assert os.lstat(path / "notes.txt").st_gid == GID
    assert mode(path / "notes.txt") & 0o060 == 0o060
    assert os.lstat(path / "sub").st_gid == GID
    assert mode(path / "sub") & 0o2070 == 0o2070


def test_second_call_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    ensure_team_directory(TeamDirectory(str(path), 0, GID))
    (path / "work.txt").write_text("kept")
    before = os.lstat(path)
    assert ensure_team_directory(TeamDirectory(str(path), 0, GID)) is False
    after = os.lstat(path)
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert after.st_ctime_ns == before.st_ctime_ns
    assert (path / "work.txt").read_text() == "kept"


def test_existing_directory_of_another_group_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    path.mkdir(mode=0o750)
    os.chown(path, 0, OTHER_GID)
    os.chmod(path, 0o750)  # noqa: S103
    (path / "theirs.txt").write_text("theirs")
    with pytest.raises(TeamDirectoryConflict) as raised:
        ensure_team_directory(TeamDirectory(str(path), 0, GID))
    assert str(raised.value) == (
        f"{path} belongs to gid {OTHER_GID}, not the team's gid {GID}; it is not re-owned "
        "(its files may be another team's)"
    )
    info = os.lstat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, OTHER_GID, 0o750)
    assert (path / "theirs.txt").read_text() == "theirs"
    with pytest.raises(OSError):
        os.getxattr(path, DEFAULT_ACL_XATTR)


def test_existing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    path.write_text("not a directory")
    with pytest.raises(TeamDirectoryConflict) as raised:
        ensure_team_directory(TeamDirectory(str(path), 0, GID))
    assert str(raised.value) == f"{path} exists and is not a directory; nothing was changed"
    assert path.read_text() == "not a directory"


def test_symlink_to_a_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    path = tmp_path / "physics"
    path.symlink_to(target)
    with pytest.raises(TeamDirectoryConflict, match="exists and is not a directory"):
        ensure_team_directory(TeamDirectory(str(path), 0, GID))
    assert path.is_symlink()
    assert mode(target) == 0o700
    assert os.lstat(target).st_gid == os.getegid()


def test_missing_group_bits_are_restored(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    ensure_team_directory(TeamDirectory(str(path), 0, GID))
    os.chmod(path, 0o705)
    assert ensure_team_directory(TeamDirectory(str(path), 0, GID)) is False
    # group rwx and setgid back; "other" bits are left as they were
    assert mode(path) == 0o2775
    assert os.lstat(path).st_gid == GID


def test_missing_setgid_alone_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "physics"
    path.mkdir()
    os.chown(path, 0, GID)
    os.chmod(path, 0o770)  # noqa: S103
    assert ensure_team_directory(TeamDirectory(str(path), 0, GID)) is False
    assert mode(path) == 0o2770


def test_trailing_slash(tmp_path: Path) -> None:
    path = tmp_path / "a" / "physics"
    assert ensure_team_directory(TeamDirectory(f"{path}/", 0, os.getegid())) is True
    assert mode(path) == 0o2770
