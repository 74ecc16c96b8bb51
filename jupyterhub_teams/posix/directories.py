"""Team directories: one per team, owned by the team's gid, setgid, group-writable for good.

``root/<team>`` is created ``drwxrws---`` (2770): owned by the team account and the team's
group, closed to everyone else. The setgid bit makes files and folders created inside belong
to the team's group, and a default ACL (``group::rwx``) makes the kernel ignore the creating
process's umask there, so a file one member saves stays writable for the others even when it
was written by a tool with umask 022. A retired team's directory is never removed.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
from dataclasses import dataclass

log = logging.getLogger("jupyterhub_teams.posix")

TEAM_DIRECTORY_MODE = 0o2770

# The kernel's binary form of a POSIX ACL (linux/posix_acl_xattr.h): a little-endian version
# header, then entries of (tag: u16, permissions: u16, id: u32).
_ACL_VERSION = 2
_USER_OBJ, _GROUP_OBJ, _OTHER = 0x01, 0x04, 0x20
_UNDEFINED_ID = 0xFFFFFFFF
DEFAULT_ACL_XATTR = "system.posix_acl_default"


def default_acl(owner: int = 7, group: int = 7, other: int = 0) -> bytes:
    """A minimal default ACL (owner, group, other permissions as rwx bits), as the kernel
    stores it in the ``system.posix_acl_default`` attribute."""
    for bits in (owner, group, other):
        if not 0 <= bits <= 7:
            raise ValueError(f"permissions are three bits, got {bits}")
    entries = [(_USER_OBJ, owner), (_GROUP_OBJ, group), (_OTHER, other)]
    return struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", tag, bits, _UNDEFINED_ID) for tag, bits in entries
    )


class TeamDirectoryConflict(Exception):
    """An existing path is in the way of a team directory; the message says what and why."""


@dataclass(frozen=True)
class TeamDirectory:
    path: str
    uid: int
    gid: int


def ensure_team_directory(directory: TeamDirectory) -> bool:
    """Create the directory (owner ``uid``, group ``gid``), or check an existing one; True when
    it was created.

    An existing directory with another group is an error, never re-owned: its files may belong
    to another team. A missing setgid bit or group permission is restored.
    """
    parent = os.path.dirname(directory.path.rstrip("/"))
    os.makedirs(parent, mode=0o755, exist_ok=True)
    try:
        os.mkdir(directory.path, 0o700)
    except FileExistsError:
        info = os.lstat(directory.path)
        if not stat.S_ISDIR(info.st_mode):
            raise TeamDirectoryConflict(
                f"{directory.path} exists and is not a directory; nothing was changed"
            ) from None
        if info.st_gid != directory.gid:
            raise TeamDirectoryConflict(
                f"{directory.path} belongs to gid {info.st_gid}, not the team's gid "
                f"{directory.gid}; it is not re-owned (its files may be another team's)"
            ) from None
        if stat.S_IMODE(info.st_mode) & 0o2070 != 0o2070:
            # group rwx and setgid are the point of a team directory; "other" bits untouched
            os.chmod(directory.path, stat.S_IMODE(info.st_mode) | 0o2070)  # noqa: S103
        return False
    os.chown(directory.path, directory.uid, directory.gid)
    # chmod after chown: chown clears the setgid bit
    os.chmod(directory.path, TEAM_DIRECTORY_MODE)
    try:
        os.setxattr(directory.path, DEFAULT_ACL_XATTR, default_acl())
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        log.warning(
            "%s: the file system has no ACLs; files stay group-writable only when the "
            "creating process's umask allows it (team servers run with umask 007)",
            directory.path,
        )
    return True
