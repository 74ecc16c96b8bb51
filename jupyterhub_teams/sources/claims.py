"""Groups from the identity provider's claims: OIDC (Keycloak and others), GitHub teams, GitLab
groups.

Configured with ``c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.claims.ClaimGroups"``
and ``c.ClaimGroups.<option>``. Unlike a directory, a claim is only seen when someone logs in (or
when the hub refreshes their authentication), so this source works in two halves:

* **At login** (and on ``refresh_user``), :meth:`ClaimGroups.groups_at_login` reads the person's
  group paths from the ``auth_state`` the authenticator returned. The login hook maps each path
  to a team, creates the team's JupyterHub group when it is new and sets the person's
  memberships of claim teams exactly.
* **In the background**, :meth:`ClaimGroups.snapshot` reads back the claim teams recorded in the
  hub (groups whose team marker says ``"source": "claims"``) with their current members, so
  that the sync creates their accounts and shares. The snapshot is marked incomplete: nobody is
  removed and no team is retired by the background sync, because a person's claims are only
  known when they log in; people leave a claim team at their next login or refresh.

A claim *path* is the group as the provider spells it: ``/lab/physics`` (Keycloak with "full
group path"), ``physics``, ``myorg:team-slug`` (GitHub, built from the team's organisation login
and slug), ``lab/physics`` (GitLab's ``full_path``). ``path_rule`` turns a path into a group name
and the group name becomes a team name by the usual naming rules (``lab/physics`` →
``lab-physics``). Two different paths are never merged into one team: the first path seen for a
team owns it (it is recorded in the team's marker as ``claim``) and any other path that would
map to the same team is refused for the person who has it, with a log line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from traitlets import Enum, TraitError, Unicode, default
from traitlets.config import LoggingConfigurable

from ..hub.client import HubAPIError, HubClient
from ..model import DirectoryGroup, DirectorySnapshot
from ..naming import (
    DEFAULT_ACCOUNT_PREFIX,
    InvalidName,
    Refusal,
    account_name,
    reserved_prefix_reason,
    team_name,
)
from ..plan.policy import DEFAULT_ACCOUNTS_GROUP, TEAM_PROPERTY, Policy
from .base import SourceError

log = logging.getLogger("jupyterhub_teams.sources.claims")

KINDS = ("generic", "github", "gitlab")
PATH_RULES = ("full", "last", "prefix")
# Value of ``source`` in the team marker of a team created from a claim.
MARKER_SOURCE = "claims"
# Where each kind finds its list in auth_state unless ``claim`` says otherwise.
DEFAULT_CLAIMS = {"generic": "oauth_user.groups", "github": "teams", "gitlab": "gitlab_groups"}
# Key under which gitlab_groups_hook stores the person's GitLab groups in auth_state.
GITLAB_GROUPS_KEY = "gitlab_groups"


# -- pure functions: extraction and mapping --------------------------------------------------


def lookup_dotted(data: Any, dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; raises KeyError when a step is missing."""
    for key in dotted.split("."):
        if not isinstance(data, Mapping) or key not in data:
            raise KeyError(key)
        data = data[key]
    return data


def _missing_hint(kind: str) -> str:
    if kind == "github":
        return (
            "set c.GitHubOAuthenticator.populate_teams_in_auth_state = True and include "
            "'read:org' in c.GitHubOAuthenticator.scope"
        )
    if kind == "gitlab":
        return (
            "set c.GitLabOAuthenticator.modify_auth_state_hook = "
            "jupyterhub_teams.sources.claims.gitlab_groups_hook and include 'read_api' in "
            "c.GitLabOAuthenticator.scope"
        )
    return "check ClaimGroups.claim against what the provider sends (it is case sensitive)"


def _item_path(item: Any, kind: str, claim: str) -> str:
    if kind == "generic":
        if isinstance(item, str):
            return item
    elif kind == "github":
        org = item.get("organization") if isinstance(item, Mapping) else None
        login = org.get("login") if isinstance(org, Mapping) else None
        slug = item.get("slug") if isinstance(item, Mapping) else None
        if isinstance(login, str) and isinstance(slug, str) and login and slug:
            return f"{login}:{slug}"
    else:
        full_path = item.get("full_path") if isinstance(item, Mapping) else None
        if isinstance(full_path, str):
            return full_path
    raise SourceError(f"the claim {claim!r} holds an entry that is not a {kind} group: {item!r}")


def extract_paths(auth_state: Any, kind: str, claim: str | None = None) -> list[str]:
    """The group paths in ``auth_state``, in the provider's order, each once.

    ``kind`` says what the list holds: ``generic`` a list of strings (a single string is one
    group), ``github`` GitHub team objects (``org:slug``), ``gitlab`` GitLab group objects
    (``full_path``). A missing claim or a malformed entry raises :class:`SourceError`: a person
    is never taken out of their teams because the provider or the authenticator was
    misconfigured. An empty list is an answer: the person is in no group.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown claim kind {kind!r}; one of {', '.join(KINDS)}")
    claim = claim or DEFAULT_CLAIMS[kind]
    if not isinstance(auth_state, Mapping):
        raise SourceError(
            "the authenticator returned no auth_state to read groups from "
            "(an OAuthenticator returns one at every login)"
        )
    try:
        value = lookup_dotted(auth_state, claim)
    except KeyError:
        raise SourceError(
            f"auth_state has no {claim!r} ({_missing_hint(kind)}); its keys are "
            f"{sorted(map(str, auth_state))}"
        ) from None
    if kind == "generic" and isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise SourceError(f"the claim {claim!r} must be a list, got {type(value).__name__}")
    return list(dict.fromkeys(_item_path(item, kind, claim) for item in value))


def path_segments(path: str, kind: str) -> tuple[str, ...]:
    """A path's parts: ``/lab/physics`` → ``("lab", "physics")``, ``org:team`` → ``("org",
    "team")``. Empty parts (a leading ``/``, ``//``) are dropped."""
    if kind == "github":
        org, _, slug = path.partition(":")
        return tuple(p for p in (org, slug) if p)
    return tuple(p for p in path.split("/") if p)


def _prefix_segments(prefix: str, kind: str) -> tuple[str, ...]:
    if kind == "github":
        return tuple(p for p in prefix.split(":") if p)
    return path_segments(prefix, kind)


def group_name(path: str, kind: str, rule: str, prefix: str = "") -> str | None:
    """The group name ``path`` stands for under ``rule``; None when ``rule`` leaves it out.

    * ``full``: every part, joined by ``/`` (``/lab/physics`` → ``lab/physics``); GitHub keeps
      ``org:team``.
    * ``last``: the last part (``/lab/physics`` → ``physics``, ``org:team`` → ``team``).
    * ``prefix``: only paths strictly below ``prefix``, which is cut off (prefix ``/lab``:
      ``/lab/physics`` → ``physics``, ``/lab/x/y`` → ``x/y``, ``/lab`` and ``/other/y`` → None).
      Parts are compared exactly, except GitHub organisation names, which GitHub compares
      without regard to case.

    Raises :class:`InvalidName` for a path without any part.
    """
    if rule not in PATH_RULES:
        raise ValueError(f"unknown path rule {rule!r}; one of {', '.join(PATH_RULES)}")
    parts = path_segments(path, kind)
    if not parts:
        raise InvalidName(f"the claim group {path!r} names no group")
    if rule == "full":
        return ":".join(parts) if kind == "github" else "/".join(parts)
    if rule == "last":
        return parts[-1]
    wanted = _prefix_segments(prefix, kind)
    if not wanted or len(parts) <= len(wanted):
        return None
    head = parts[: len(wanted)]
    if kind == "github":
        head, wanted = (head[0].casefold(), *head[1:]), (wanted[0].casefold(), *wanted[1:])
    if head != wanted:
        return None
    return "/".join(parts[len(wanted) :])


@dataclass(frozen=True)
class ClaimTeam:
    """One claim path accepted as a team: the path, its group name and its team name."""

    path: str
    group: str
    team: str


@dataclass(frozen=True)
class ClaimMapping:
    """What a person's claim paths become: teams (by team name), refusals and paths left out."""

    teams: Mapping[str, ClaimTeam] = field(default_factory=dict)
    refusals: tuple[Refusal, ...] = ()
    ignored: tuple[str, ...] = ()


def map_claims(
    paths: Iterable[str],
    *,
    kind: str,
    rule: str,
    prefix: str = "",
    max_length: int,
    reserved: Iterable[str] = (),
    reserved_prefixes: Mapping[str, str] | None = None,
    owners: Mapping[str, str] | None = None,
    taken: Mapping[str, str] | None = None,
) -> ClaimMapping:
    """Map claim paths to teams without ever merging two paths into one team.

    ``owners`` maps existing claim teams to the path that owns them; a path mapping to a team
    owned by another path is refused. ``taken`` maps team names that exist but cannot be claim
    teams (a team of another source, a team created in the hub, a plain hub group) to the
    reason. Among paths of one call that map to the same new team, the first in sorted order
    owns it, so the answer never depends on the order the provider lists groups in.
    """
    owners, taken, reserved = owners or {}, taken or {}, set(reserved)
    reserved_prefixes = reserved_prefixes or {}
    accepted: dict[str, ClaimTeam] = {}
    refusals: list[Refusal] = []
    ignored: list[str] = []
    for path in sorted(set(paths)):
        try:
            group = group_name(path, kind, rule, prefix)
            if group is None:
                ignored.append(path)
                continue
            team = team_name(group, max_length)
        except InvalidName as exc:
            refusals.append(Refusal("group", path, str(exc)))
            continue
        owner = owners.get(team)
        reason = None
        if team in reserved:
            reason = f"its team name {team!r} is reserved by jupyterhub-teams"
        elif (prefixed := reserved_prefix_reason(team, reserved_prefixes)) is not None:
            # the sync refuses such a team too: it would be a group without account or share
            reason = prefixed
        elif team in taken:
            reason = f"its team name {team!r} is {taken[team]}"
        elif owner is not None and owner != path:
            reason = f"its team {team!r} belongs to the claim group {owner!r}; never merged"
        elif team in accepted:
            reason = f"its team {team!r} is also the team of {accepted[team].path!r}; never merged"
        if reason is not None:
            refusals.append(Refusal("group", path, reason))
        else:
            accepted[team] = ClaimTeam(path, group, team)
    return ClaimMapping(accepted, tuple(refusals), tuple(ignored))


def claim_marker(team: ClaimTeam, account_prefix: str = DEFAULT_ACCOUNT_PREFIX) -> dict[str, Any]:
    """The team marker of a team created from a claim.

    ``source_group`` is the group name (what the background snapshot reports, so that the
    planner finds the same team); ``claim`` is the path that owns the team.
    """
    return {
        "origin": "directory",
        "source_group": team.group,
        "claim": team.path,
        "account": account_name(team.team, account_prefix),
        "retired": False,
        "source": MARKER_SOURCE,
    }


def is_claim_marker(marker: Any) -> TypeGuard[Mapping[str, Any]]:
    return (
        isinstance(marker, Mapping)
        and marker.get("origin", "directory") == "directory"
        and marker.get("source") == MARKER_SOURCE
    )


def snapshot_from_groups(
    groups: Iterable[Mapping[str, Any]], max_length: int
) -> tuple[DirectorySnapshot, list[str]]:
    """The claim teams among the hub's group models, as a snapshot, and problems found.

    Each team is reported under a name whose team name is the hub group's own name (its
    recorded ``source_group`` when that still maps there), so the planner never derives a
    second team from it. Retired teams are left out.
    """
    found: dict[str, DirectoryGroup] = {}
    problems: list[str] = []
    for model in groups:
        name = str(model.get("name", ""))
        marker = (model.get("properties") or {}).get(TEAM_PROPERTY)
        if not is_claim_marker(marker) or marker.get("retired"):
            continue
        for candidate in (str(marker.get("source_group") or ""), name):
            try:
                if candidate and team_name(candidate, max_length) == name:
                    break
            except InvalidName:
                continue
        else:
            problems.append(
                f"claim team {name!r} is not a valid team name at max_team_name_length="
                f"{max_length}; it is left as it is"
            )
            continue
        found[candidate] = DirectoryGroup(candidate, frozenset(model.get("users") or ()))
    snapshot = DirectorySnapshot(
        {}, found, source="OAuth claims recorded in the hub", complete=False
    )
    return snapshot, problems


# -- GitLab: its authenticator stores no groups, so fetch them ---------------------------------


async def gitlab_groups_hook(authenticator: Any, auth_state: dict[str, Any]) -> dict[str, Any]:
    """A ``GitLabOAuthenticator.modify_auth_state_hook`` storing the person's GitLab groups.

    oauthenticator's GitLabOAuthenticator keeps only ``GET /api/v4/user`` in ``auth_state``
    (``gitlab_user``), which has no groups. This asks ``GET /api/v4/groups?min_access_level=10``
    (every group the person has at least Guest access to, inherited access included, so the
    subgroups of a group they belong to are listed too) page by page and stores each group's
    ``id``, ``name`` and ``full_path`` under ``auth_state["gitlab_groups"]``. The token needs the
    ``read_api`` scope. It runs at login and at every refresh.
    """
    token = auth_state.get("access_token")
    api = str(getattr(authenticator, "gitlab_api", "")).rstrip("/")
    if not token or not api:
        return auth_state
    groups: list[dict[str, Any]] = []
    page: str | None = "1"
    while page:
        response = await authenticator.httpfetch(
            f"{api}/groups?min_access_level=10&per_page=100&page={page}",
            "fetching GitLab groups",
            parse_json=False,
            method="GET",
            headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
            validate_cert=getattr(authenticator, "validate_server_cert", True),
        )
        for item in json.loads(response.body.decode("utf-8")):
            groups.append({k: item.get(k) for k in ("id", "name", "full_path")})
        page = response.headers.get("X-Next-Page") or None
    auth_state[GITLAB_GROUPS_KEY] = groups
    return auth_state


# -- the source --------------------------------------------------------------------------------


class ClaimGroups(LoggingConfigurable):
    """Teams from the groups the identity provider puts in each person's login."""

    kind = Enum(
        list(KINDS),
        default_value="generic",
        help="""
        What the claim holds.

        ``generic``: a list of group names or paths, as an OIDC provider sends it (Keycloak's
        ``groups`` claim with "Full group path" on gives ``/lab/physics``), read by
        GenericOAuthenticator into ``auth_state["oauth_user"]``.

        ``github``: GitHub team objects, as GitHubOAuthenticator stores them in
        ``auth_state["teams"]`` with ``populate_teams_in_auth_state = True`` (needs the
        ``read:org`` scope). Each team's path is ``<organisation login>:<team slug>``.

        ``gitlab``: GitLab group objects; GitLabOAuthenticator stores none, so set its
        ``modify_auth_state_hook`` to ``jupyterhub_teams.sources.claims.gitlab_groups_hook``,
        which fetches them (needs the ``read_api`` scope). Each group's path is its
        ``full_path`` (``lab/physics``).
        """,
    ).tag(config=True)

    claim = Unicode(
        help="""
        Where the list is in ``auth_state``: a key, with dots for nested keys.

        Defaults to ``oauth_user.groups`` for ``generic`` (the userinfo answer's ``groups``
        claim, as GenericOAuthenticator stores it), ``teams`` for ``github`` and
        ``gitlab_groups`` for ``gitlab``. A person whose ``auth_state`` lacks it keeps the team
        memberships they have, and a log line says what is missing: a misconfigured provider
        never empties teams.
        """,
    ).tag(config=True)

    @default("claim")
    def _default_claim(self) -> str:
        return DEFAULT_CLAIMS[self.kind]

    path_rule = Enum(
        list(PATH_RULES),
        default_value="full",
        help="""
        How a group path becomes a group name (and then a team name by the naming rules).

        ``full``: the whole path without its leading ``/``: ``/lab/physics`` → group
        ``lab/physics`` → team ``lab-physics``; GitHub keeps ``org:team`` → team ``org-team``.

        ``last``: the last part only: ``/lab/physics`` → ``physics``; ``org:team`` → ``team``.

        ``prefix``: only paths strictly below ``path_prefix``, with the prefix cut off:
        with ``path_prefix = "/courses"``, ``/courses/phys101`` → ``phys101`` and
        ``/courses/2025/phys101`` → ``2025/phys101``; ``/staff`` and ``/courses`` itself are
        left out (no team, nothing refused). For GitHub the prefix is an organisation
        (``myorg``) and only its teams count.

        Two different paths that would give one team (``/a/physics`` and ``/b/physics`` under
        ``last``) are never merged: the first one seen owns the team and the other is refused,
        with a log line, for everyone who has it.
        """,
    ).tag(config=True)

    path_prefix = Unicode(
        "",
        help="""
        The path whose sub-groups become teams when ``path_rule`` is ``prefix``, in the
        provider's spelling (``/courses`` for Keycloak, ``courses`` for GitLab, ``myorg`` for
        GitHub).
        """,
    ).tag(config=True)

    @default("log")
    def _default_log(self) -> logging.Logger:
        return log

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.path_prefix and not _prefix_segments(self.path_prefix, self.kind):
            raise TraitError(f"ClaimGroups.path_prefix {self.path_prefix!r} names no group")
        if self.path_rule == "prefix" and not self.path_prefix:
            raise TraitError("ClaimGroups.path_rule 'prefix' needs ClaimGroups.path_prefix")
        # A client for tests; the service builds one from its environment for every read.
        self.hub_client: Any = None

    def __repr__(self) -> str:
        extra = f", path_prefix={self.path_prefix!r}" if self.path_rule == "prefix" else ""
        return (
            f"ClaimGroups(kind={self.kind!r}, claim={self.claim!r}, "
            f"path_rule={self.path_rule!r}{extra})"
        )

    __str__ = __repr__

    def _option(self, name: str, fallback: Any) -> Any:
        # The options shared with jupyterhub-teams live on the parent (JupyterHubTeams).
        return getattr(self.parent, name, fallback)

    async def groups_at_login(self, name: str, auth_model: Mapping[str, Any]) -> set[str]:
        """The group paths in a login's (or a refresh's) authentication dict."""
        return set(extract_paths(auth_model.get("auth_state"), self.kind, self.claim))

    def claim_teams(
        self,
        paths: Iterable[str],
        *,
        owners: Mapping[str, str] | None = None,
        taken: Mapping[str, str] | None = None,
    ) -> ClaimMapping:
        """:func:`map_claims` with this source's options."""
        return map_claims(
            paths,
            kind=self.kind,
            rule=self.path_rule,
            prefix=self.path_prefix,
            max_length=self._option("max_team_name_length", 40),
            reserved=(self._option("accounts_group", DEFAULT_ACCOUNTS_GROUP),),
            reserved_prefixes=Policy(
                account_prefix=self._option("account_prefix", DEFAULT_ACCOUNT_PREFIX),
                adhoc_prefix=self._option("adhoc_team_prefix", Policy.adhoc_prefix),
            ).reserved_team_prefixes(),
            owners=owners,
            taken=taken,
        )

    def marker(self, team: ClaimTeam) -> dict[str, Any]:
        return claim_marker(team, self._option("account_prefix", DEFAULT_ACCOUNT_PREFIX))

    async def snapshot(self) -> DirectorySnapshot:
        """The claim teams recorded in the hub, read through its REST API (incomplete)."""
        try:
            if self.hub_client is not None:
                models = await self.hub_client.list_groups()
            else:
                url = os.environ.get("JUPYTERHUB_API_URL")
                token = os.environ.get("JUPYTERHUB_API_TOKEN")
                if not url or not token:
                    raise SourceError(
                        "claim teams are read from the hub: JUPYTERHUB_API_URL and "
                        "JUPYTERHUB_API_TOKEN must be set (the hub sets them for its services)"
                    )
                async with HubClient(url, token) as client:
                    models = await client.list_groups()
        except HubAPIError as exc:
            raise SourceError(f"cannot read the hub's groups: {exc}") from exc
        snapshot, problems = snapshot_from_groups(models, self._option("max_team_name_length", 40))
        for problem in problems:
            self.log.warning("%s", problem)
        return snapshot
