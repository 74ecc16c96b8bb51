"""The options of team servers: how they start and how the hub lets members in.

A mixin of :class:`~jupyterhub_teams.config.JupyterHubTeams` (set them as
``c.JupyterHubTeams.<option>``); a plain ``HasTraits``, so it adds no configuration section of
its own. Their numeric bounds are checked with the others, in :mod:`.teams`.
"""

from __future__ import annotations

from traitlets import Bool, HasTraits, Integer, List, Unicode


class TeamServerOptions(HasTraits):
    revocation_interval = Integer(
        10,
        help="""
        Seconds a team server trusts the hub's answer about a visitor.

        A member removed from a team gets 403 on their next request after at most this long
        (stock JupyterHub trusts the answer for 300 s), and their open websockets (kernels,
        terminals, collaboration) on the team server are closed within about twice this long.
        Each open browser session costs the hub one ``GET /hub/api/user`` per interval.
        """,
    ).tag(config=True)

    team_server_command = List(
        Unicode(),
        [],
        help="""
        Command that starts a team server. Empty (the default): the spawner's own command, so
        a team server runs any image that has JupyterHub's single-user server, started the way
        the image starts it (docker-stacks' ``start-singleuser.py``, z2jh's
        ``singleuser.cmd``, ...).

        A team server needs nothing of jupyterhub-teams in its image: the hub lets the team's
        members in (see ``fix_group_share_tokens``), and team servers are given
        ``--HubOAuth.cache_max_age=<revocation_interval>`` as an argument so that a removed
        member is refused soon. Where jupyterhub-teams *is* installed next to the server, its
        Jupyter Server extension also closes removed members' kernels, terminals and
        collaboration websockets.

        ``["jupyterhub-teams-singleuser"]`` (the default before 0.4) still works and is
        deprecated: it is the same server, started by a command of ours instead of the image's.
        """,
    ).tag(config=True)

    fix_group_share_tokens = Bool(
        True,
        help="""
        Let people's tokens carry the shares with their groups, in the hub process.

        JupyterHub 5.0 to 6.1 (at least) leave shares with a *group* out of every token, so a
        stock single-user server shared with a group answers 403 to its members; team servers
        are shared with their team's group. With this on, ``setup(c)`` adds to a token what it
        asks for within its owner's group shares — the rule the hub already applies to shares
        with the person — on the JupyterHub releases known to have the bug, and logs a line on
        others. Switch it off only with a ``team_server_command`` that admits members by
        itself (``jupyterhub-teams-singleuser``). The documentation's security page describes
        the bug and the fix.
        """,
    ).tag(config=True)

    skip_consent_for_members = Bool(
        True,
        help="""
        Team members open their team's server without JupyterHub's "Authorize access" page,
        as they open their own servers. The token the server gets names the member and reaches
        only that server. People a server is merely shared with still see the page.
        """,
    ).tag(config=True)
