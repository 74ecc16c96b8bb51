"""Options of the POSIX identity integration, as traitlets (``c.PosixIdentity.<option>``).

Set them in ``jupyterhub_config.py`` before ``jupyterhub_teams.setup(c)``. The documentation's
configuration reference is generated from the help text below.
"""

from __future__ import annotations

import os
from typing import Any

from traitlets import Bool, Float, Integer, List, TraitError, Unicode, Union, validate
from traitlets.config import Configurable

from .names import DEFAULT_DIGIT_PREFIX, DEFAULT_MAX_LENGTH, is_safe_system_name
from .numbers import DEFAULT_MINIMUM, NumberRange


def _range(value: Any, option: str) -> list[int]:
    try:
        first, last = (int(v) for v in value)
        NumberRange(first, last)
    except (TypeError, ValueError):
        raise TraitError(
            f"{option} must be [first, last] with 0 < first <= last, got {value!r}"
        ) from None
    return [first, last]


class PosixIdentity(Configurable):
    """Stable system users, groups and team directories for servers that run on this machine."""

    enabled = Bool(
        False,
        help="""
        Give every server a stable POSIX identity before it starts.

        People and team accounts get system users (created with ``useradd`` when missing,
        with the same uid after any restart), every team gets a system group and a team
        directory, and servers run as their owner with their teams' gids. Needs the hub to
        run as root for local spawners. With ``False`` (the default) spawners are left alone.
        """,
    ).tag(config=True)

    registry_path = Unicode(
        "jupyterhub_teams_ids.sqlite",
        help="""
        The SQLite file recording every uid and gid handed out, relative to the hub's working
        directory (like ``jupyterhub.sqlite``). Keep it with the hub's database and back it
        up with it: it is what keeps a number with its name after a restart, and never gives
        it to another name.
        """,
    ).tag(config=True)

    uid_range = List(
        [30000, 44999],
        help="""
        ``[first, last]``: uids for people and team accounts that get no uid from the
        directory or the identity provider. The first candidate is derived from the name,
        so a number is usually the same even on a fresh machine; it is then recorded.
        """,
    ).tag(config=True)

    gid_range = List(
        [45000, 59999],
        help="""
        ``[first, last]``: gids for teams whose group has no gid in the directory. Keep it
        apart from ``uid_range``: every person also gets a private group whose gid is their
        uid.
        """,
    ).tag(config=True)

    @validate("uid_range", "gid_range")
    def _check_range(self, proposal: Any) -> list[int]:
        return _range(proposal["value"], proposal["trait"].name)

    minimum_id = Integer(
        DEFAULT_MINIMUM,
        help="""
        The lowest uid or gid jupyterhub-teams uses. A lower number from the directory or a
        claim (0 would be root) is refused with a clear error.
        """,
    ).tag(config=True)

    uid_claim = Unicode(
        "",
        help="""
        Where the person's uid is in their ``auth_state``, as a dotted path (for a Keycloak
        ``uidNumber`` mapper with OAuthenticator: ``oauth_user.uidNumber``). Needs
        ``c.Authenticator.enable_auth_state = True``. Empty: no claim is read. A claim wins
        over the directory.
        """,
    ).tag(config=True)

    directory_uids = Bool(
        True,
        help="""
        Ask the directory source for the person's uid (LDAP ``uidNumber``, the YAML file's
        ``uid``) when no claim gave one. When the directory cannot be read and no uid is on
        record, the spawn is refused rather than given a number the directory may contradict.
        """,
    ).tag(config=True)

    create_accounts = Bool(
        True,
        help="""
        Create missing system users, groups and home directories with ``useradd`` and
        ``groupadd``. An existing user or group with another number is an error naming
        both, never taken over. Turn it off for container spawners, where the numbers only
        need to be passed into the container.
        """,
    ).tag(config=True)

    home_root = Unicode(
        "/home",
        help="People's home directories are ``<home_root>/<system name>`` (created 0700).",
    ).tag(config=True)

    shell = Unicode("/bin/bash", help="Login shell of the system users created.").tag(config=True)

    team_directory_root = Unicode(
        "/srv/teams",
        help="""
        Team directories are ``<team_directory_root>/<team>``: owned by the team's gid, mode
        2770 with setgid and a default ACL, so files members create stay group-writable. The
        team account's home is its team directory, so the team server opens in it. Retired
        teams keep their directories.
        """,
    ).tag(config=True)

    team_directories = Bool(
        True,
        help="""
        Create team directories under ``team_directory_root`` on this machine (local and
        Docker spawners). Turn it off when team files live on a volume the hub does not see
        (KubeSpawner).
        """,
    ).tag(config=True)

    container_teams_path = Unicode(
        "/home/jovyan/teams",
        help="""
        Where team directories appear inside containers (DockerSpawner, KubeSpawner):
        ``<container_teams_path>/<team>``.
        """,
    ).tag(config=True)

    team_volume_claim = Unicode(
        "",
        help="""
        KubeSpawner: the PersistentVolumeClaim (ReadWriteMany) holding team directories, one
        ``subPath`` per team. Empty: no team volume is mounted.
        """,
    ).tag(config=True)

    team_host_paths = Bool(
        False,
        help="""
        KubeSpawner without ``team_volume_claim``: mount each team directory
        (``<team_directory_root>/<team>``) into pods as a ``hostPath`` volume of the node.
        Only for a cluster of one node on the hub's machine, or nodes that all mount one
        shared filesystem at ``team_directory_root`` where the hub does too (the hub makes the
        directories); otherwise use ``team_volume_claim``.
        """,
    ).tag(config=True)

    @validate("home_root", "team_directory_root")
    def _check_absolute(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if not os.path.isabs(value) or value.rstrip("/") == "":
            raise TraitError(f"{proposal['trait'].name} must be an absolute path, got {value!r}")
        return value.rstrip("/")

    team_groups_for_members = Bool(
        True,
        help="""
        Give people's own servers their teams' gids as supplementary groups, so they can
        work in their team directories from their own server (through links in
        ``team_links``). A person who leaves a team loses the gid and the team directory at
        the next start of their server; a server still running with them is stopped after
        ``removed_member_grace``.
        """,
    ).tag(config=True)

    removed_member_grace = Union(
        [Float(), Unicode()],
        default_value=300.0,
        help="""
        Seconds after which a person's running server that still carries a team they were
        removed from (its gid as a supplementary group, its directory in ``~/teams`` or
        mounted) is stopped, or ``"never"``.

        A server gets its teams' gids and directories when it starts, and the kernel keeps
        them for as long as the process runs: removing someone from a team cannot take
        them back from a running server. So the hub checks (every
        ``removed_member_check_interval`` seconds) what each running server was started with
        against its owner's present teams, and stops a server whose owner has been outside one
        of those teams for this long. Started again, the server no longer has the team. A
        person re-added to the team within the grace is not stopped.

        The default, 300 seconds (5 minutes), bounds how long a removed person keeps the
        team's files, and leaves time for a directory change made in two steps (out of one
        group, into another) or undone at once, without stopping anyone's work for it. ``0``
        stops at the first check. ``"never"`` restores the old behaviour (the gid stays until
        the server stops for another reason, such as the idle culler): only for deployments
        where team directories hold nothing a removed member must lose at once.
        """,
    ).tag(config=True)

    @validate("removed_member_grace")
    def _check_grace(self, proposal: Any) -> float | str:
        value = proposal["value"]
        if isinstance(value, str) and value.strip().lower() == "never":
            return "never"
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise TraitError(
                f'removed_member_grace must be a number of seconds or "never", got {value!r}'
            ) from None
        if not seconds >= 0 or seconds == float("inf"):
            raise TraitError(f"removed_member_grace must be 0 or more seconds, got {value!r}")
        return seconds

    removed_member_check_interval = Float(
        30.0,
        help="""
        How often, in seconds, the hub compares running servers' teams with their owners'
        present teams (see ``removed_member_grace``). A departure is noticed at the first
        check after it, so a server is stopped between ``removed_member_grace`` and
        ``removed_member_grace`` plus this interval after the person left.
        """,
    ).tag(config=True)

    @validate("removed_member_check_interval")
    def _check_interval(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 3600:
            raise TraitError(
                f"removed_member_check_interval must be between 0 and 3600 seconds, got {value}"
            )
        return value

    @property
    def removed_member_grace_seconds(self) -> float | None:
        """``removed_member_grace`` in seconds, None for ``"never"``."""
        grace = self.removed_member_grace
        return None if grace == "never" else float(grace)

    team_links = Unicode(
        "teams",
        help="""
        Folder in people's homes holding one link per team (``~/teams/physics`` →
        the team directory), refreshed at every start of their server. Empty: no links.
        """,
    ).tag(config=True)

    umask = Integer(
        0o007,
        help="The umask servers start with (local spawners). 007 keeps files group-writable.",
    ).tag(config=True)

    digit_prefix = Unicode(
        DEFAULT_DIGIT_PREFIX,
        help="""
        Put in front of a system name that would start with a digit (``2024-student`` →
        ``u2024-student``). See the system name rule in the docs.
        """,
    ).tag(config=True)

    max_system_name_length = Integer(
        DEFAULT_MAX_LENGTH,
        help="Longer system names are cut and end with a hash of the JupyterHub name.",
    ).tag(config=True)

    @validate("digit_prefix")
    def _check_prefix(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if not value or not is_safe_system_name(value) or value[0].isdigit():
            raise TraitError(f"digit_prefix must be a safe system name, got {value!r}")
        return value

    @validate("max_system_name_length")
    def _check_length(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if not 10 <= value <= 32:
            raise TraitError(f"max_system_name_length must be between 10 and 32, got {value}")
        return value

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Options that depend on each other are checked once all are set: config files set
        # them in no particular order.
        for name in ("uid_range", "gid_range"):
            first = getattr(self, name)[0]
            if first < self.minimum_id:
                raise TraitError(
                    f"{name} starts below minimum_id ({self.minimum_id}): {getattr(self, name)}"
                )
        if len(self.digit_prefix) >= self.max_system_name_length:
            raise TraitError(
                f"digit_prefix {self.digit_prefix!r} must be shorter than "
                f"max_system_name_length ({self.max_system_name_length})"
            )

    @property
    def uids(self) -> NumberRange:
        return NumberRange(*self.uid_range)

    @property
    def gids(self) -> NumberRange:
        return NumberRange(*self.gid_range)
