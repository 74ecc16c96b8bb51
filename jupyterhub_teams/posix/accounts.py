"""System users and groups: what must exist, what is in the way, and the commands that create
them. Checking is pure given the lookups; :func:`create_accounts` runs the commands.

Every problem is found before anything is created, so a refused spawn changes nothing on the
machine. An account that already exists with the expected number is used as it is (that is
what makes a restart, or a second spawn, a no-op); one that exists with another number is
never taken over.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


class SystemAccountConflict(Exception):
    """An existing system user or group is in the way; the message names both sides."""


@dataclass(frozen=True)
class SystemGroup:
    name: str
    gid: int


@dataclass(frozen=True)
class SystemUser:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    hub_name: str = ""


@dataclass(frozen=True)
class Lookups:
    """The machine's users and groups, by name and by number (``None`` when absent).

    Injectable so that checking is testable by value; :func:`system_lookups` reads the
    machine's own databases (through NSS, as ``useradd`` itself does).
    """

    user_by_name: Callable[[str], tuple[str, int] | None]
    user_by_uid: Callable[[int], tuple[str, int] | None]
    group_by_name: Callable[[str], tuple[str, int] | None]
    group_by_gid: Callable[[int], tuple[str, int] | None]


def _pwd(get: Callable[[object], pwd.struct_passwd], key: object) -> tuple[str, int] | None:
    try:
        entry = get(key)
    except (KeyError, OverflowError):
        return None
    return entry.pw_name, entry.pw_uid


def _grp(get: Callable[[object], grp.struct_group], key: object) -> tuple[str, int] | None:
    try:
        entry = get(key)
    except (KeyError, OverflowError):
        return None
    return entry.gr_name, entry.gr_gid


def system_lookups() -> Lookups:
    return Lookups(
        user_by_name=lambda name: _pwd(pwd.getpwnam, name),  # type: ignore[arg-type]
        user_by_uid=lambda uid: _pwd(pwd.getpwuid, uid),  # type: ignore[arg-type]
        group_by_name=lambda name: _grp(grp.getgrnam, name),  # type: ignore[arg-type]
        group_by_gid=lambda gid: _grp(grp.getgrgid, gid),  # type: ignore[arg-type]
    )


@dataclass
class AccountPlan:
    """Commands that would create what is missing, and the conflicts found (if any)."""

    commands: list[list[str]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _for(user: SystemUser) -> str:
    return f" (for JupyterHub user {user.hub_name!r})" if user.hub_name else ""


def plan_accounts(
    groups: Sequence[SystemGroup], users: Sequence[SystemUser], lookups: Lookups
) -> AccountPlan:
    """What creating ``groups`` then ``users`` takes on a machine described by ``lookups``."""
    plan = AccountPlan()
    for group in dict.fromkeys(groups):
        by_name = lookups.group_by_name(group.name)
        by_gid = lookups.group_by_gid(group.gid)
        if by_name is not None and by_name[1] != group.gid:
            plan.conflicts.append(
                f"system group {group.name!r} already exists with gid {by_name[1]}, but "
                f"jupyterhub-teams has gid {group.gid} for it"
            )
        elif by_name is None and by_gid is not None:
            plan.conflicts.append(
                f"gid {group.gid}, which jupyterhub-teams has for group {group.name!r}, already "
                f"belongs to system group {by_gid[0]!r}"
            )
        elif by_name is None:
            plan.commands.append(["groupadd", "--gid", str(group.gid), group.name])
    for user in dict.fromkeys(users):
        by_name = lookups.user_by_name(user.name)
        by_uid = lookups.user_by_uid(user.uid)
        if by_name is not None and by_name[1] != user.uid:
            plan.conflicts.append(
                f"system user {user.name!r} already exists with uid {by_name[1]}, but "
                f"jupyterhub-teams has uid {user.uid} for it{_for(user)}; it is not taken over"
            )
        elif by_name is None and by_uid is not None:
            plan.conflicts.append(
                f"uid {user.uid}, which jupyterhub-teams has for system user {user.name!r}"
                f"{_for(user)}, already belongs to system user {by_uid[0]!r}"
            )
        elif by_name is None:
            plan.commands.append(
                [
                    "useradd",
                    "--uid",
                    str(user.uid),
                    "--gid",
                    str(user.gid),
                    "--no-user-group",
                    "--home-dir",
                    user.home,
                    "--no-create-home",
                    "--shell",
                    user.shell,
                    user.name,
                ]
            )
    return plan


def run_commands(commands: Iterable[Sequence[str]]) -> None:
    """Run account commands in order; the first failure stops with its own message."""
    for command in commands:
        done = subprocess.run(list(command), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemAccountConflict(
                f"{command[0]} {command[-1]!r} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )


def ensure_home(user: SystemUser, mode: int = 0o700) -> None:
    """Create ``user``'s home when it is missing; an existing one is left exactly as it is."""
    try:
        os.mkdir(user.home, mode)
    except FileExistsError:
        return
    os.chown(user.home, user.uid, user.gid)
    os.chmod(user.home, mode)


def create_accounts(
    groups: Sequence[SystemGroup],
    users: Sequence[SystemUser],
    lookups: Lookups | None = None,
    runner: Callable[[Iterable[Sequence[str]]], None] = run_commands,
) -> list[list[str]]:
    """Make ``groups`` and ``users`` exist, or raise :class:`SystemAccountConflict` having
    changed nothing. Returns the commands that ran."""
    plan = plan_accounts(groups, users, lookups or system_lookups())
    if plan.conflicts:
        raise SystemAccountConflict("; ".join(plan.conflicts) + ". Nothing was changed.")
    runner(plan.commands)
    return plan.commands
