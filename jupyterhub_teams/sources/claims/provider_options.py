"""The options for asking GitHub or GitLab about claim teams, and the asking.

A base class of :class:`~.source.ClaimGroups`, so the options are set as
``c.ClaimGroups.provider_token_file`` and so on. See docs/claims.md, "Asking the provider".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx
from traitlets import Bool, Float, Integer, Unicode
from traitlets.config import LoggingConfigurable

from .asking import DEFAULT_API_URLS, ProviderAPI


class ProviderQuestions(LoggingConfigurable):
    """Options and asking; ``kind`` is the claims source's own option."""

    kind: Any

    ask_provider = Bool(
        True,
        help="""
        Ask the provider (GitHub or GitLab) for the members of every active claim team at
        each background sync, when ``provider_token_file`` is set; False stops asking while
        keeping the token configured.

        A person the provider no longer lists is removed from the team without waiting for
        their next login (removals beyond the large-removal limit are held for an admin, as
        a directory's are); a team it lists none of its hub members for empties, and retires
        at the next sync. A team the provider lists anyone for counts as confirmed for
        ``retire_after_days``. People it lists who are not in the team in the hub are not
        added: they join at their next login, which reads their claims. An error, a timeout
        or a 404 for a team is an unknown answer: nobody is removed from that team.

        The JupyterHub names must be the provider's logins in lower case (the authenticators'
        default ``username_claim``, ``login`` on GitHub and ``username`` on GitLab, and no
        ``username_map``): otherwise the provider's lists name nobody in the hub.
        Only ``kind`` ``github`` and ``gitlab`` can be asked.
        """,
    ).tag(config=True)

    provider_token_file = Unicode(
        "",
        help="""
        A file holding the API token the sync asks the provider with; empty: never ask.

        GitHub: a token with the ``read:org`` scope (a classic token), or a fine-grained
        token with the organisation's "Members: read" permission, from someone who can see
        the organisation's teams. GitLab: a token with the ``read_api`` scope (a group access
        token or a person's) able to see the groups.

        The token itself is never a configuration value: only this path reaches the sync
        service's configuration, and the file is read at every sync (a rotated token is used
        from the next sync on). It is sent only to ``provider_api_url``'s server and never
        logged. Keep the file readable by the hub's user only.
        """,
    ).tag(config=True)

    provider_api_url = Unicode(
        "",
        help="""
        The provider's API base URL. Default: ``https://api.github.com`` for ``github`` and
        ``https://gitlab.com/api/v4`` for ``gitlab``. GitHub Enterprise Server:
        ``https://<host>/api/v3``; a self-managed GitLab: ``https://<host>/api/v4``.
        """,
    ).tag(config=True)

    provider_timeout = Float(
        10.0,
        min=0.1,
        help="""
        Seconds one request to the provider may take; a team whose request times out is an
        unknown answer (nobody removed from it).
        """,
    ).tag(config=True)

    provider_concurrency = Integer(
        4,
        min=1,
        help="""
        How many teams are asked about at once. GitHub asks integrations not to send many
        requests concurrently (secondary rate limits): keep it small.
        """,
    ).tag(config=True)

    # for tests: an httpx transport instead of the network
    provider_transport: httpx.AsyncBaseTransport | None = None

    @property
    def asks_provider(self) -> bool:
        """Whether the sync asks the provider about claim teams."""
        return bool(self.ask_provider and self.provider_token_file)

    def provider_api(self) -> ProviderAPI:
        """The provider's API as configured."""
        return ProviderAPI(
            kind=self.kind,
            api_url=self.provider_api_url or DEFAULT_API_URLS.get(self.kind, ""),
            token_file=self.provider_token_file,
            timeout=self.provider_timeout,
            concurrency=self.provider_concurrency,
        )

    async def members_at_provider(
        self, claims: Collection[str]
    ) -> Mapping[str, frozenset[str] | None]:
        """Each claim path's members as JupyterHub names, None where unknown (asking off:
        every answer is unknown). Why an answer is unknown is logged when it changes."""
        if not self.asks_provider:
            return dict.fromkeys(claims)
        answers, why = await self.provider_api().members(claims, transport=self.provider_transport)
        said: dict[str, str] = getattr(self, "_unknown_said", {})
        for claim in sorted(why):
            if said.get(claim) != why[claim]:
                self.log.warning(
                    "the provider gave no answer about claim team %r (%s): nobody is removed "
                    "from it this time",
                    claim,
                    why[claim],
                )
        for claim in sorted(set(said) - set(why)):
            self.log.info("the provider answers about claim team %r again", claim)
        self._unknown_said = dict(why)
        return answers
