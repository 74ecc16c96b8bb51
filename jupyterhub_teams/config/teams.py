"""Every option of jupyterhub-teams, as traitlets on one configurable.

Set them in ``jupyterhub_config.py`` as ``c.JupyterHubTeams.<option> = …`` *before* calling
``jupyterhub_teams.setup(c)``. The documentation's configuration reference is generated from
the help text below.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from traitlets import (
    Bool,
    Callable,
    Dict,
    Float,
    Integer,
    List,
    TraitError,
    Type,
    Unicode,
    Union,
    validate,
)
from traitlets.config import Config, Configurable

from ..naming import DEFAULT_ACCOUNT_PREFIX, DEFAULT_MAX_TEAM_NAME_LENGTH
from ..plan import DEFAULT_ACCOUNTS_GROUP, Policy
from ..sources.base import Source
from .page_options import PageOptions
from .team_server_options import TeamServerOptions

_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*[-_.]$")
# options only the hub uses; they may hold callables, which JSON cannot carry to the service
_HUB_ONLY = frozenset({"profile_list"})


# Bounds of the numeric options, checked by one validator: (lowest, highest or None, unit).
_BOUNDS: dict[str, tuple[float, float | None, str]] = {
    "max_team_name_length": (10, 200, ""),
    "large_removal_fraction": (0, 1, ""),
    "sync_interval": (1, None, " second"),
    "revocation_interval": (1, 300, ""),
    "share_check_cycles": (1, None, ""),
    "service_port": (0, 65535, ""),
    "share_revocation_interval": (0, 3600, ""),
    "adhoc_teams_per_person": (0, 10_000, ""),
    "adhoc_teams_per_hour": (0, 10_000, ""),
}


def _check_group_vs_prefix(accounts_group: str, prefix: str) -> None:
    if accounts_group.startswith(prefix):
        raise TraitError(
            f"accounts_group {accounts_group!r} must not start with the account prefix {prefix!r}"
        )


class JupyterHubTeams(TeamServerOptions, PageOptions, Configurable):
    """Team servers for the groups your directory already has."""

    directory = Unicode(
        "",
        help="""
        Path to the YAML directory file (people and groups).

        Format::

            users:
              alice: {uid: 2001}
            groups:
              physics: {gid: 3001, members: [alice, bob]}

        The file is read again whenever it changes; an edit reaches the hub within one
        ``sync_interval``. A file that does not parse is reported and changes nothing.
        """,
    ).tag(config=True)

    source_class = Type(
        default_value="jupyterhub_teams.sources.yaml_file.YAMLDirectory",
        klass=object,
        help="""
        Where people and groups come from.

        The default reads the YAML file named by ``directory``. Other sources are configurable
        classes with their own section in the config (``c.<SourceClass>.<option>``); they are
        created with this object as their parent, so their options travel with the sync
        service's configuration.
        """,
    ).tag(config=True)

    account_prefix = Unicode(
        DEFAULT_ACCOUNT_PREFIX,
        help="""
        Prefix of team accounts: the team ``physics`` is served by the JupyterHub user
        ``collab-physics`` at ``/user/collab-physics/``.

        The prefix is reserved: nobody can log in under it and directory people whose names
        start with it are refused. It must be lower case, start with a letter and end with
        ``-``, ``_`` or ``.`` so that it can never be a whole person's name.
        """,
    ).tag(config=True)

    @validate("account_prefix")
    def _check_prefix(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if not _PREFIX_PATTERN.match(value):
            raise TraitError(
                f"account_prefix {value!r} must be lower case, start with a letter and end "
                "with '-', '_' or '.' (e.g. 'collab-')"
            )
        _check_group_vs_prefix(self.accounts_group, value)
        return value

    accounts_group = Unicode(
        DEFAULT_ACCOUNTS_GROUP,
        help="""
        JupyterHub group that holds every team account.

        The sync service's role is filtered to this group (``servers!group=…``,
        ``shares!group=…``), so the service can start, stop and share team servers and nobody
        else's. A directory group whose team name equals it is refused.
        """,
    ).tag(config=True)

    max_team_name_length = Integer(
        DEFAULT_MAX_TEAM_NAME_LENGTH,
        help="""
        Longest team name. Longer names are cut and end in eight hex digits of a hash of the
        full group name, so they stay unique and the same on every sync.
        """,
    ).tag(config=True)

    create_people = Bool(
        True,
        help="""
        Create directory people as JupyterHub users before their first login, so that their
        team access is in place from their first request (and team pages list them).
        """,
    ).tag(config=True)

    large_removal_fraction = Float(
        0.5,
        help="""
        Largest share of current team memberships and teams (together) that one sync may
        remove or retire on its own, between 0 and 1.

        A directory that suddenly answers with far fewer members — an emptied file, a wrong
        search base, a half-synchronised replica — is more often broken than right, so a plan
        removing more is held back: nothing is removed, the service logs what it holds and why,
        and an admin confirms with ``jupyterhub-teams sync --allow-large-removal``. Additions
        are never held. 1 turns the check off.
        """,
    ).tag(config=True)

    large_removal_minimum = Integer(
        10,
        help="""
        Removals (memberships plus retired teams) that are never held back however large a
        share they are, so that small hubs are not blocked by everyday changes.
        """,
    ).tag(config=True)

    login_sync = Bool(
        True,
        help="""
        Bring a person's team memberships up to date when they log in, before the login's
        redirect, so that someone added to a group in the directory needs no background sync
        to reach their team.

        With a directory (the YAML file, LDAP) a login only *adds* the person to existing,
        active teams of their groups. Leaving a team is the background sync's job, under its
        large-removal guard, so that a directory suddenly answering "in no group" cannot
        strip people of their teams one login at a time; a removed member is refused by the
        team server within ``sync_interval`` plus ``revocation_interval``. With OAuth claims
        (``ClaimGroups``) a login sets the person's claim teams exactly, leaving included,
        because the login is the only place claims are seen; a login without the groups
        claim changes nothing.
        """,
    ).tag(config=True)

    login_timeout = Float(
        2.0,
        help="""
        Seconds a login waits for the directory. A directory that is down, slow or broken never
        fails a login: after this long the person logs in with the team memberships the hub
        already has, and a log line says why.
        """,
    ).tag(config=True)

    sync_interval = Float(
        15.0,
        help="""
        Seconds between two background syncs. A membership change in the directory reaches
        the hub within one interval, without anyone logging in. With the default 15 s and
        ``revocation_interval`` 10 s, a person removed from a group is refused by the team
        server within about 30 s (plus the duration of one sync: about 4 s at 10,000 people
        and 2,000 teams).
        """,
    ).tag(config=True)

    share_check_cycles = Integer(
        20,
        help="""
        The sync re-reads each team's share once every this many syncs (reading all of them
        costs one hub request per team); in between, the team's group properties vouch for
        it. A share removed by hand is restored within this many sync intervals. 1 reads every
        share at every sync.
        """,
    ).tag(config=True)

    service_name = Unicode(
        "jupyterhub-teams",
        help="Name of the hub-managed sync service (and of its role, with ``-service``).",
    ).tag(config=True)

    api_concurrency = Integer(
        8,
        help="Most hub API requests the sync service has in flight at once.",
    ).tag(config=True)

    service_port = Integer(
        0,
        help="""
        Port on 127.0.0.1 where the sync service serves its Prometheus metrics; the hub proxies
        them at ``/services/<service_name>/metrics`` to tokens holding ``read:metrics`` (see
        the metrics page of the documentation). 0: a free port, chosen when ``setup(c)`` runs.
        Set one when something else must know it in advance (a firewall rule, a container's
        exposed ports).
        """,
    ).tag(config=True)

    profile_list = Union(
        [List(Dict()), Dict(), Callable()],
        default_value=[],
        help="""
        Server profiles for spawners other than KubeSpawner (LocalProcessSpawner,
        SystemdSpawner, DockerSpawner, ...), in KubeSpawner's ``profile_list`` format: a list,
        a dict, or a callable taking the spawner and returning one (it may be async).

        ``allowed_groups`` on a profile, on a choice of a profile option or on an option's
        ``unlisted_choice`` offers it only to members of one of those JupyterHub groups
        (names compared exactly); ``team_only: true`` offers a profile only to team accounts.
        Overrides of the spawner's settings go under ``spawner_override`` (or
        ``kubespawner_override``). What someone may not use is neither shown on the spawn form
        nor accepted through ``/hub/spawn`` or the REST API.

        With KubeSpawner keep the list in ``c.KubeSpawner.profile_list`` (z2jh:
        ``singleuser.profileList``); ``setup(c)`` restricts that one the same way. Used by the
        hub only, never passed to the sync service.
        """,
    ).tag(config=True)

    # A validator, not an observer: a refused value is never kept. During config loading
    # validation waits until every option is set, so both may be changed together.
    @validate("accounts_group")
    def _check_accounts_group(self, proposal: Any) -> str:
        value = str(proposal["value"])
        _check_group_vs_prefix(value, self.account_prefix)
        return value

    def policy(self) -> Policy:
        return Policy(
            account_prefix=self.account_prefix,
            accounts_group=self.accounts_group,
            max_team_name_length=self.max_team_name_length,
            create_people=self.create_people,
            large_removal_fraction=self.large_removal_fraction,
            large_removal_minimum=self.large_removal_minimum,
            adhoc_prefix=self.adhoc_team_prefix,
        )

    def team_served_by(self, user: Any) -> str | None:
        """The team a JupyterHub user (wrapper or orm) serves, when it is a team account: the
        reserved prefix *and* membership of the accounts group, never the name alone."""
        groups = {g.name for g in getattr(user, "groups", [])}
        return self.policy().team_served_by(getattr(user, "name", ""), groups)

    def is_team_account(self, user: Any) -> bool:
        return self.team_served_by(user) is not None

    def source_can(self, ability: type) -> bool:
        """Whether the configured source class has an optional ability (a protocol of
        :mod:`jupyterhub_teams.sources.base`), known without building a source."""
        cls = self.source_class
        return isinstance(cls, type) and issubclass(cls, ability)

    def make_source(self) -> Source:
        """The configured directory source."""
        from ..sources.yaml_file import YAMLDirectory

        if self.source_class is YAMLDirectory:
            if not self.directory:
                raise TraitError("JupyterHubTeams.directory must name the YAML directory file")
            return YAMLDirectory(self.directory)
        source_class = cast("type[Any]", self.source_class)
        source: Source = source_class(parent=self)
        return source

    def to_json(self) -> str:
        """These options and the source's config section, for the sync service's process.

        Secrets do not belong here: sources read them from files or the environment.
        """
        skip = _HUB_ONLY | {"source_class"}
        own: dict[str, Any] = {
            name: getattr(self, name) for name in self.trait_names(config=True) if name not in skip
        }
        source_class = cast("type[Any]", self.source_class)
        own["source_class"] = f"{source_class.__module__}.{source_class.__qualname__}"
        sections: dict[str, Any] = {"JupyterHubTeams": own}
        for klass in source_class.__mro__:
            section = self.config.get(klass.__name__) if klass is not object else None
            if section:
                sections[klass.__name__] = dict(section)
        return json.dumps(sections, default=str)

    @classmethod
    def from_json(cls, text: str) -> JupyterHubTeams:
        data = json.loads(text)
        if "JupyterHubTeams" not in data:  # plain options
            return cls(**data)
        return cls(config=Config(data))

    def service_scopes(self) -> list[str]:
        """The sync service's scopes: least privilege, never the admin role.

        ``admin:users`` is needed because the hub has no narrower scope that creates users;
        everything about servers and shares is filtered to the team accounts, except
        ``read:groups:shares``: read-only, it lets the sync check a team's share with one
        indexed lookup (``GET /groups/<team>/shared/<account>/``) instead of listing the
        server's shares, which costs the hub a join over every group membership (0.5 s per team
        at 50,000 memberships). No filter can name the team groups (they come and go, the role
        is fixed at start-up), and the service already manages every group's members with
        ``admin:groups``; what it adds is seeing which servers are shared with which group.
        """
        accounts = f"!group={self.accounts_group}"
        return [
            "list:users",
            "read:users:name",
            "read:users:groups",
            "admin:users",
            "list:groups",
            "read:groups",
            "admin:groups",
            f"read:servers{accounts}",
            f"servers{accounts}",
            f"access:servers{accounts}",
            f"shares{accounts}",
            f"read:shares{accounts}",
            "read:groups:shares",
        ]

    @validate(*_BOUNDS)
    def _check_bounds(self, proposal: Any) -> float:
        name = proposal["trait"].name
        low, high, unit = _BOUNDS[name]
        value = proposal["value"]
        if not low <= value <= (high if high is not None else value):
            wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise TraitError(f"{name} must be {wanted}{unit}, got {value}")
        return value  # type: ignore[no-any-return]
