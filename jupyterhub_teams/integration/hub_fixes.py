"""Two small changes to the hub process that let team servers run on stock images.

**Group shares in tokens** (an upstream bug, JupyterHub 5.0 to at least 6.1.1). A share with a
*group* lets the group's members in through the hub's own pages, but no token of theirs carries
it: in ``jupyterhub/scopes.py``, ``get_scopes_for`` adds ``owner.shared_with_me`` (shares with
the user) to a token's ceiling, never the shares with the owner's groups, which its branch for
users (not tokens) adds. A single-user server checks the OAuth token its visitor got, so a stock
server answers 403 to every member of a group it is shared with. Minimal reproduction: share a
server with a group, log in as a member and open the server (403); or, without a browser, run
``tests/unit/test_hub_fixes.py::test_the_upstream_bug_is_still_there``.

The fix wraps ``get_scopes_for``: for a token owned by a user, what the token asks for (its
scopes, expanded as the hub expands them, and its OAuth client's access scope) intersected with
the user's group shares is added — the same rule the hub applies to shares with the user. A
token never gets more than it asks for, and a group share ends for a token as soon as the person
leaves the group or the share is revoked. It is applied only on the JupyterHub versions in
:data:`AFFECTED`; ``tests/unit/test_hub_fixes.py`` fails on a version not in
:data:`CHECKED_VERSIONS`, so that a new release is read again before it is trusted.

**No consent page for a team's members.** The hub asks "Authorize access" before giving a
server's OAuth client a token, except for the person's own servers. A team's member opens its
team server as their own: the token it gets names them and reaches only that server, and the
team server is theirs as much as anyone's. Anyone else (a server merely shared with them) keeps
the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from packaging.version import Version

# JupyterHub releases whose token scopes lack group shares (shares exist from 5.0).
AFFECTED = (Version("5.0"), Version("7.0"))
# Releases whose source this fix was read against and whose end-to-end tests passed with it.
CHECKED_VERSIONS = frozenset({"6.1.1"})

# Set on the wrapped functions, so that a second setup(c) in one process changes nothing.
_MARK = "_jupyterhub_teams_fix"

log = logging.getLogger("jupyterhub_teams.hub_fixes")


def hub_version() -> Version:
    import jupyterhub

    return Version(jupyterhub.__version__)


def is_affected(version: Version) -> bool:
    low, high = AFFECTED
    return low <= version < high


def group_share_scopes_for_token(token: Any) -> set[str]:
    """What a user's token may reach through the shares with the user's groups: the token's
    own scopes, expanded as the hub does, intersected with those shares' scopes."""
    from jupyterhub import orm, scopes
    from sqlalchemy import inspect

    user = token.user
    if user is None:
        return set()
    group_ids = [group.id for group in user.groups]
    if not group_ids:
        return set()
    db = inspect(token).session
    # one query for all of them (a person in 50 teams would otherwise cost 50 per request)
    shares = db.query(orm.Share).filter(orm.Share.group_id.in_(group_ids)).all()
    if not shares:
        return set()
    shared: set[str] = set()
    for share in shares:
        shared |= set(scopes.expand_share_scopes(share))
    requested = set(token.scopes)
    if "inherit" in requested:
        return shared  # the token carries everything its owner has
    wanted = set(scopes.expand_scopes(requested, owner=user, oauth_client=token.oauth_client))
    if token.client_id != "jupyterhub" and isinstance(token.oauth_client, orm.OAuthClient):
        # an OAuth token may reach the server (or service) that asked for it
        wanted |= set(scopes.access_scopes(token.oauth_client))
    return set(scopes._intersect_expanded_scopes(wanted, shared, db=db))


def _with_group_shares(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    from jupyterhub import orm

    def get_scopes_for(orm_object: Any) -> Any:
        expanded = original(orm_object)
        if isinstance(orm_object, orm.APIToken) and orm_object.user is not None:
            extra = group_share_scopes_for_token(orm_object)
            if extra - set(expanded):
                return set(expanded) | extra
        return expanded

    setattr(get_scopes_for, _MARK, True)
    get_scopes_for.__wrapped__ = original  # type: ignore[attr-defined]
    get_scopes_for.__doc__ = original.__doc__
    return get_scopes_for


def fix_group_share_tokens() -> bool:
    """Let tokens carry their owner's group shares (see the module's text). Returns whether
    the fix is in place; on a version outside :data:`AFFECTED` it is not applied, with a log
    line saying so."""
    from jupyterhub import scopes
    from jupyterhub.apihandlers import base as api_base

    if getattr(scopes.get_scopes_for, _MARK, False):
        return True
    version = hub_version()
    if not is_affected(version):
        log.warning(
            "JupyterHub %s is outside the releases known to drop group shares from tokens "
            "(%s to %s); the fix is not applied. If members get 403 from team servers, "
            "set c.JupyterHubTeams.team_server_command to ['jupyterhub-teams-singleuser'].",
            version,
            *AFFECTED,
        )
        return False
    if str(version) not in CHECKED_VERSIONS:
        log.warning(
            "Applying the group-share token fix to JupyterHub %s; it was checked against %s.",
            version,
            ", ".join(sorted(CHECKED_VERSIONS)),
        )
    fixed = _with_group_shares(scopes.get_scopes_for)
    scopes.get_scopes_for = fixed
    # imported by name there: the token model's "scopes" field
    if getattr(api_base, "get_scopes_for", None) is fixed.__wrapped__:  # type: ignore[attr-defined]
        api_base.get_scopes_for = fixed
    return True


def is_teammate(user: Any, oauth_client: Any, team_served_by: Callable[[Any], str | None]) -> bool:
    """Whether ``oauth_client`` is a team server's and ``user`` is a member of its team."""
    spawner = getattr(oauth_client, "spawner", None)
    if spawner is None or spawner.user is None:
        return False
    team = team_served_by(spawner.user)
    if team is None:
        return False
    return any(group.name == team for group in user.groups)


# The team a hub user serves (set by the latest setup(c)), read by the consent check.
_team_served_by: list[Callable[[Any], str | None]] = []


def skip_consent_for_teammates(team_served_by: Callable[[Any], str | None]) -> None:
    """No "Authorize access" page when a team's member opens its team server."""
    from jupyterhub.apihandlers.auth import OAuthAuthorizeHandler

    _team_served_by[:] = [team_served_by]
    original = OAuthAuthorizeHandler.needs_oauth_confirm
    if getattr(original, _MARK, False):
        return

    def needs_oauth_confirm(self: Any, user: Any, oauth_client: Any, requested: Any) -> bool:
        if _team_served_by and is_teammate(user, oauth_client, _team_served_by[0]):
            self.log.debug("No consent page: %s opens their team's server", user.name)
            return False
        return bool(original(self, user, oauth_client, requested))

    setattr(needs_oauth_confirm, _MARK, True)
    OAuthAuthorizeHandler.needs_oauth_confirm = needs_oauth_confirm
