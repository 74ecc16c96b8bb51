"""The options of the hub pages (Teams, Sharing) and of ad-hoc teams.

A mixin of :class:`~jupyterhub_teams.config.JupyterHubTeams` (set them as
``c.JupyterHubTeams.<option>``); a plain ``HasTraits``, so it adds no configuration section of
its own. Their numeric bounds are checked with the others, in :mod:`.teams`.
"""

from __future__ import annotations

import re
from typing import Any

from traitlets import Bool, HasTraits, Integer, List, TraitError, Unicode, validate

_ADHOC_PREFIX_PATTERN = re.compile(r"[a-z0-9]+-")


class PageOptions(HasTraits):
    # -- ad-hoc teams (created by people on the Teams page) ------------------------------------

    adhoc_team_prefix = Unicode(
        "adhoc-",
        help="""
        Prefix of the names of teams people create on the Teams page: someone typing
        ``Reading group`` creates the team ``adhoc-reading-group`` (account
        ``collab-adhoc-reading-group``); the page shows the name as typed.

        Directory teams and ad-hoc teams live in separate namespaces, so nobody can take a
        directory group's name before the group exists ("squatting") and later stand between
        its members and their team, and no directory group can take over a team people made:
        a directory group whose team name starts with this prefix is refused, with a reason in
        the plan and the service's log. Lower case letters and digits, ending with ``-``.
        """,
    ).tag(config=True)

    @validate("adhoc_team_prefix")
    def _check_adhoc_prefix(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if not _ADHOC_PREFIX_PATTERN.fullmatch(value):
            raise TraitError(
                f"adhoc_team_prefix {value!r} must be lower case letters and digits ending "
                "with '-' (e.g. 'adhoc-')"
            )
        return value

    adhoc_team_creators = List(
        Unicode(),
        [],
        help="""
        JupyterHub groups whose members may create ad-hoc teams. Empty (the default): every
        person may. Hub admins always may. People who may not are told so on the Teams page.
        """,
    ).tag(config=True)

    adhoc_teams_per_person = Integer(
        10,
        help="""
        Most ad-hoc teams one person may have created and not yet deleted. Each team is a hub
        account and a possible server, so this bounds what one person can make the hub hold.
        0 lets nobody but hub admins create teams.
        """,
    ).tag(config=True)

    adhoc_teams_per_hour = Integer(
        5,
        help="""
        Most ad-hoc teams one person may create in any hour (retired ones count too), so that
        nobody can create accounts in a burst. Hub admins are not limited.
        """,
    ).tag(config=True)

    # -- hub pages (Teams, Sharing) ------------------------------------------------------------

    user_sharing = Bool(
        True,
        help="""
        Let people share their own servers from the Sharing page (``/hub/sharing``).

        JupyterHub's default ``user`` role lets people see and revoke shares of their servers
        but not create them. When this is on, ``setup(c)`` adds ``shares!user`` (share your own
        servers, only with scopes you hold yourself) and ``read:users:name`` (name the person
        you share with; it also lets everyone look up other users' names) to the ``user`` role
        through ``c.JupyterHub.extra_user_scopes``.

        If your ``jupyterhub_config.py`` redefines the ``user`` role in ``load_roles``,
        JupyterHub ignores ``extra_user_scopes``: add the two scopes to your role yourself.
        When people lack them, the Sharing page says so instead of offering forms the hub
        would refuse. Team servers are never shared from the page: teams reach them through
        their group.
        """,
    ).tag(config=True)

    share_revocation_interval = Integer(
        30,
        help="""
        Seconds a person's own single-user server trusts the hub's answer about a visitor.

        A revoked share (or a deleted share link's access) ends on that server's next request
        after at most this long. Stock JupyterHub servers trust the answer for 300 s, so a
        revoked visitor with an open browser keeps working for up to five minutes; open
        websockets (kernels, terminals) of stock servers are never re-checked.

        ``setup(c)`` passes ``--HubOAuth.cache_max_age=<seconds>`` to the servers of people
        (not team accounts, which use ``revocation_interval``) from a ``pre_spawn_hook``; it
        takes effect at each server's next start. Each open browser session then costs the hub
        one ``GET /hub/api/user`` per interval. 0 leaves the servers' own setting alone (for
        a ``Spawner.cmd`` that does not accept this option).
        """,
    ).tag(config=True)
