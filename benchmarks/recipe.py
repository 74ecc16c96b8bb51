"""The hand-written alternative jupyterhub-teams is compared with: one role per group.

What an admin writes without jupyterhub-teams (JupyterHub ≥ 5, ``Authenticator.manage_roles``):
a ``post_auth_hook`` that looks up the person's groups, creates the shared ``collab-<group>``
account of each group if it does not exist yet, and returns one role per group granting
``access:servers`` and ``servers`` on that account, plus the default ``user`` role (with
``manage_roles`` every role the login does not return is taken away).

The hook runs inside the hub: ``configure_recipe(c, ...)`` is called from the benchmark hub's
``jupyterhub_config.py`` (see :func:`recipe_config`), and also removes jupyterhub-teams' own
service, role and hooks, so that the hub measured is the recipe alone. Groups come from slapd
(one search, off the event loop, as an LDAP login would) or from a JSON file ``{person:
[groups]}`` written by the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ACCOUNT_PREFIX = "collab-"
TEAMS_SERVICE = "jupyterhub-teams"

GroupLookup = Callable[[str], Awaitable[list[str]]]


def file_lookup(path: str) -> GroupLookup:
    groups_of: dict[str, list[str]] = json.loads(Path(path).read_text())

    async def lookup(person: str) -> list[str]:
        return groups_of.get(person, [])

    return lookup


def ldap_lookup(
    url: str, bind_dn: str, password_env: str, people_dn: str, base: str
) -> GroupLookup:
    def search(person: str) -> list[str]:
        import ldap  # type: ignore[import-untyped]
        from ldap.filter import escape_filter_chars  # type: ignore[import-untyped]

        conn = ldap.initialize(url)
        try:
            conn.simple_bind_s(bind_dn, os.environ.get(password_env, ""))
            uid = escape_filter_chars(person)
            dn = escape_filter_chars(f"uid={person},{people_dn}")
            found = conn.search_s(
                base,
                ldap.SCOPE_SUBTREE,
                f"(|(memberUid={uid})(member={dn})(uniqueMember={dn}))",
                ["cn"],
            )
        finally:
            conn.unbind_s()
        return [attrs["cn"][0].decode() for _dn, attrs in found if attrs.get("cn")]

    async def lookup(person: str) -> list[str]:
        return await asyncio.to_thread(search, person)

    return lookup


def group_role(group: str) -> dict[str, Any]:
    account = f"{ACCOUNT_PREFIX}{group}"
    return {
        "name": f"{ACCOUNT_PREFIX}{group}",
        "description": f"members of {group}: use and start {account}'s server",
        "scopes": [f"access:servers!user={account}", f"servers!user={account}"],
    }


def make_recipe_hook(lookup: GroupLookup) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def recipe_login(authenticator: Any, handler: Any, authentication: Any) -> Any:
        from jupyterhub import orm

        groups = sorted(await lookup(authentication["name"]))
        # the role's filter names the account, and its server must have an owner. One query
        # finds those that exist: asking for each account with find_user costs about 1 ms
        # apiece (a User wrapper per account), which would make the recipe look worse than a
        # careful admin would write it.
        accounts = [f"{ACCOUNT_PREFIX}{group}" for group in groups]
        query = handler.db.query(orm.User.name).filter(orm.User.name.in_(accounts))
        existing = {name for (name,) in query}
        for account in accounts:
            if account not in existing:
                handler.user_from_username(account)
        roles = [{"name": "user", "scopes": ["self"]}, *(group_role(g) for g in groups)]
        return {**authentication, "roles": roles}

    return recipe_login


def configure_recipe(c: Any, lookup: GroupLookup) -> None:
    """Replace jupyterhub-teams in an already configured demo hub by the recipe."""
    c.JupyterHub.services = [s for s in c.JupyterHub.services if s["name"] != TEAMS_SERVICE]
    c.JupyterHub.load_roles = [
        r for r in c.JupyterHub.load_roles if TEAMS_SERVICE not in r.get("services", [])
    ]
    c.Authenticator.manage_roles = True
    c.Authenticator.post_auth_hook = make_recipe_hook(lookup)
    c.Spawner.pre_spawn_hook = None


def recipe_config(lookup_call: str) -> str:
    """Lines for a benchmark hub's config; ``lookup_call`` is Python text building the lookup
    from this module's names (e.g. ``file_lookup('groups.json')``)."""
    repo = str(Path(__file__).resolve().parents[1])
    return f"""
import sys
sys.path.insert(0, {repo!r})
from benchmarks.recipe import configure_recipe, file_lookup, ldap_lookup
configure_recipe(c, {lookup_call})
c.JupyterHub.log_level = "WARN"
"""
