"""The claims source: teams from the groups in people's logins.

Configured with ``c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.claims.ClaimGroups"``
and ``c.ClaimGroups.<option>``. Unlike a directory, a claim is only seen when someone logs in (or
when the hub refreshes their authentication), so this source works in two halves:

* **At login** (and on ``refresh_user``), :meth:`ClaimGroups.groups_at_login` reads the person's
  group paths from the ``auth_state`` the authenticator returned. The login hook maps each path
  to a team, creates the team's JupyterHub group when it is new and sets the person's
  memberships of claim teams exactly.
* **In the background**, :meth:`ClaimGroups.snapshot_from_hub` takes the claim teams recorded
  in the hub (groups whose team record's origin is ``claims``) with their current members from
  the groups the sync read anyway, so that the sync creates their accounts and shares. The
  snapshot is marked incomplete: the background sync removes nobody from a claim team,
  because a person's claims are only known when they log in; people leave a claim team at
  their next login or refresh. The snapshot does name the claim teams that are over
  (:mod:`.retirement`: no member left, or no member's claim confirmed for
  ``retire_after_days``), and the sync retires those as it retires directory teams: share
  revoked, server stopped, account and files kept. A login with the claim restores the team.
* **Asking the provider** (GitHub and GitLab, with ``provider_token_file``):
  :meth:`ClaimGroups.snapshot_asking_provider` asks for each active claim team's members
  (:mod:`.asking`) and, for the teams it answers about, names exactly the hub members it still
  lists, so that the sync removes the others without waiting for their logins
  (:mod:`.answers`). An unknown answer removes nobody.

A claim *path* is the group as the provider spells it: ``/lab/physics`` (Keycloak with "full
group path"), ``physics``, ``myorg:team-slug`` (GitHub, built from the team's organisation login
and slug), ``lab/physics`` (GitLab's ``full_path``). ``path_rule`` turns a path into a group name
and the group name becomes a team name by the usual naming rules (``lab/physics`` →
``lab-physics``). Two different paths are never merged into one team: the first path seen for a
team owns it (it is recorded in the team's record as ``claim``) and any other path that would
map to the same team is refused for the person who has it, with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from traitlets import Enum, Float, TraitError, Unicode, default

from ...model import DirectoryGroup, DirectorySnapshot, HubGroup, Origin, TeamRecord
from ...model.policy import DEFAULT_ACCOUNTS_GROUP, Policy
from ...naming import DEFAULT_ACCOUNT_PREFIX, InvalidName, account_name, team_name
from ..base import ProviderSnapshot, SourceError
from .answers import claims_to_ask, view_from_answers
from .asking import DEFAULT_API_URLS
from .mapping import PATH_RULES, ClaimMapping, ClaimTeam, _prefix_segments, map_claims
from .provider_options import ProviderQuestions
from .providers import DEFAULT_CLAIMS, KINDS, extract_paths
from .retirement import confirmation_due, stamp, why_over, window

log = logging.getLogger("jupyterhub_teams.sources.claims")


def claim_record(team: ClaimTeam, account_prefix: str = DEFAULT_ACCOUNT_PREFIX) -> TeamRecord:
    """The record of a team created from a claim.

    ``source_group`` is the group name (what the background snapshot reports, so that the
    planner finds the same team); ``claim`` is the path that owns the team. The sync adds the
    share scopes once it has granted the share.
    """
    return TeamRecord(
        account=account_name(team.team, account_prefix),
        source_group=team.group,
        origin=Origin.CLAIMS,
        claim=team.path,
    )


def snapshot_from_groups(
    groups: Iterable[HubGroup],
    max_length: int,
    *,
    now: datetime | None = None,
    retire_after: timedelta | None = None,
    members: Mapping[str, frozenset[str]] | None = None,
) -> tuple[DirectorySnapshot, list[str]]:
    """The claim teams among the hub's groups, as a snapshot, and problems found.

    Each team is reported under a name whose team name is the hub group's own name (its
    recorded ``source_group`` when that still maps there), so the planner never derives a
    second team from it. Retired teams are left out, and so are the teams that are over at
    ``now`` (see :mod:`.retirement`): they are in the snapshot's ``retiring`` instead. A team
    whose name is a problem is left as it is, never retired. ``members``: teams (by hub group
    name) reported with these members instead of their hub members (what the provider still
    lists, see :mod:`.answers`).
    """
    members = members or {}
    now = now or datetime.now(timezone.utc)
    found: dict[str, DirectoryGroup] = {}
    retiring: dict[str, str] = {}
    problems: list[str] = []
    for group in groups:
        name, record = group.name, group.record
        if record is None or record.origin is not Origin.CLAIMS or record.retired:
            continue
        for candidate in (record.source_group, name):
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
        why = why_over(group, now, retire_after)
        if why is not None:
            retiring[name] = why
        else:
            found[candidate] = DirectoryGroup(candidate, members.get(name, group.users))
    snapshot = DirectorySnapshot(
        {},
        found,
        source="OAuth claims recorded in the hub",
        complete=False,
        retiring=retiring,
    )
    return snapshot, problems


class ClaimGroups(ProviderQuestions):
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

    retire_after_days = Float(
        0.0,
        min=0.0,
        allow_none=True,
        help="""
        Retire a claim team when no member's login or refresh has confirmed its claim for
        this many days (fractions allowed); 0 or None: never by time.

        A claim team retires in any case once it has no member left: the provider stopped
        naming the claim for each of them and their logins (or refreshes) took them out.
        This option also retires teams whose people simply stopped coming, since the hub
        cannot ask the provider about people who do not log in (unless it may: see
        ``provider_token_file``; a provider's answer listing a member confirms the claim):
        their claims may have ended long ago. Retiring is what happens to a directory team
        whose group is gone: the share is revoked, the members are taken out, the server is
        stopped; the account, the group and the files stay, and the next login of anyone with
        the claim restores the team (the sync grants its share again within
        ``sync_interval``).

        The time is written in the team's record at a member's login or refresh, only when
        the recorded one is older than a tenth of this window (so a team may retire up to a
        tenth of the window early, and logins do not rewrite the team each time). Teams
        without a recorded time (made while this was 0) never retire by time until a
        member's login records one.

        Off by default: time alone says nothing certain about a claim, and only you know how
        long people may stay away (a term break, a sabbatical) and how long your provider
        keeps them in groups. A retired team is restored intact, but its server stops and its
        members lose it until one of them logs in again. Members who use the hub confirm
        their claims at every login and at the authenticator's refreshes (OAuthenticator
        refreshes a person's authentication on a request older than ``auth_refresh_age``), so
        a value such as 90 retires only teams nobody with the claim has used for a season.
        A window shorter than ``auth_refresh_age`` retires teams that are in use.
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
        if self.provider_token_file and self.kind not in DEFAULT_API_URLS:
            raise TraitError(
                f"ClaimGroups.provider_token_file: a {self.kind} provider cannot be asked for a "
                f"team's members (only {', '.join(sorted(DEFAULT_API_URLS))})"
            )

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

    @property
    def retire_after(self) -> timedelta | None:
        """``retire_after_days`` as a window; None when teams never retire by time."""
        return window(self.retire_after_days)

    def record(self, team: ClaimTeam, now: datetime | None = None) -> TeamRecord:
        """The record of a new claim team (see :func:`claim_record`), with the time its claim
        was confirmed when teams retire by time."""
        record = claim_record(team, self._option("account_prefix", DEFAULT_ACCOUNT_PREFIX))
        return self.confirmed(record, now) or record

    def confirmed(self, record: TeamRecord, now: datetime | None = None) -> TeamRecord | None:
        """``record`` after a login confirmed its claim at ``now``; None when it need not be
        written (see :func:`.retirement.confirmation_due`)."""
        now = now or datetime.now(timezone.utc)
        if not confirmation_due(record, now, self.retire_after):
            return None
        return replace(record, claim_confirmed_at=stamp(now))

    async def snapshot(self) -> DirectorySnapshot:
        """Claim teams live in the hub: the sync builds their snapshot from the groups it
        reads anyway (:meth:`snapshot_from_hub`). Asked on its own, the source has no answer."""
        raise SourceError(
            "claim teams are read from the hub's groups: the sync service builds them with "
            "snapshot_from_hub"
        )

    def snapshot_from_hub(
        self, groups: Mapping[str, HubGroup], now: datetime | None = None
    ) -> DirectorySnapshot:
        """The claim teams recorded in the hub (an incomplete snapshot naming the teams that
        are over at ``now``: see the module)."""
        max_length = self._option("max_team_name_length", 40)
        snapshot, problems = snapshot_from_groups(
            groups.values(), max_length, now=now, retire_after=self.retire_after
        )
        for problem in problems:
            self.log.warning("%s", problem)
        return snapshot

    async def snapshot_asking_provider(
        self, groups: Mapping[str, HubGroup], now: datetime | None = None
    ) -> ProviderSnapshot:
        """:meth:`snapshot_from_hub` with the provider's answers about the active claim teams
        (see :mod:`.answers`); just that snapshot while asking is off."""
        if not self.asks_provider:
            return ProviderSnapshot(self.snapshot_from_hub(groups, now))
        now = now or datetime.now(timezone.utc)
        claims: Collection[str] = claims_to_ask(groups.values())
        answers = await self.members_at_provider(claims)
        view = view_from_answers(groups, answers, now, self.retire_after)
        for team, gone in sorted(view.removed.items()):
            self.log.info(
                "the provider no longer lists %s in claim team %r", ", ".join(sorted(gone)), team
            )
        snapshot, problems = snapshot_from_groups(
            view.groups.values(),
            self._option("max_team_name_length", 40),
            now=now,
            retire_after=self.retire_after,
            members=view.members,
        )
        for problem in problems:
            self.log.warning("%s", problem)
        return ProviderSnapshot(snapshot, frozenset(view.members), dict(view.confirmed))
