"""Links to team directories in a person's home (``~/teams/physics`` → the team directory).

Run as the person, in the server's process after it has dropped root, so that nothing done in
a folder the person controls can be turned against the machine. Only links pointing into the
team directory root are ever removed; files and other links are left alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def link_changes(
    existing: Mapping[str, str | None], wanted: Mapping[str, str], team_root: str
) -> tuple[list[str], list[tuple[str, str]]]:
    """Links to remove and links to create, given the folder's entries (name → link target,
    ``None`` for anything that is not a link) and the wanted links (team → directory)."""
    root = team_root.rstrip("/") + "/"
    remove = [
        name
        for name, target in sorted(existing.items())
        if target is not None and target.startswith(root) and wanted.get(name) != target
    ]
    create = [
        (name, target)
        for name, target in sorted(wanted.items())
        if existing.get(name) != target and (name not in existing or name in remove)
    ]
    return remove, create


def refresh_links(folder: str, wanted: Mapping[str, str], team_root: str) -> None:
    """Make ``folder`` hold exactly the wanted team links (creating it if needed)."""
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        existing: dict[str, str | None] = {}
        for name in os.listdir(fd):
            try:
                existing[name] = os.readlink(name, dir_fd=fd)
            except OSError:
                existing[name] = None
        remove, create = link_changes(existing, wanted, team_root)
        for name in remove:
            os.unlink(name, dir_fd=fd)
        for name, target in create:
            os.symlink(target, name, dir_fd=fd)
    finally:
        os.close(fd)
