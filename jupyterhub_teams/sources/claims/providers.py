"""What each identity provider puts in a login, and how to read a person's group paths from it.

``generic`` (an OIDC provider such as Keycloak: a list of names or paths), ``github``
(GitHubOAuthenticator's team objects) and ``gitlab`` (group objects, fetched at login by
:func:`gitlab_groups_hook`, since GitLabOAuthenticator stores none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..base import SourceError

KINDS = ("generic", "github", "gitlab")
# Where each kind finds its list in auth_state unless ``claim`` says otherwise.
DEFAULT_CLAIMS = {"generic": "oauth_user.groups", "github": "teams", "gitlab": "gitlab_groups"}
# Key under which gitlab_groups_hook stores the person's GitLab groups in auth_state.
GITLAB_GROUPS_KEY = "gitlab_groups"


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
