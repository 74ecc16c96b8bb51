"""Asking GitHub or GitLab who is in a claim team, with a token an admin gave.

One request per team and page: GitHub's ``GET /orgs/{org}/teams/{team_slug}/members``
(pages linked by the ``Link`` header's ``rel="next"``; each member's ``login``) and GitLab's
``GET /groups/{url-encoded full_path}/members/all`` (pages numbered by ``X-Next-Page``; each
member's ``username``, inherited members included, as a login sees the group). Names become
JupyterHub names as the authenticators make them by default: lower case.

Every answer is either the team's whole member list or ``None`` ("unknown"): an error, a
timeout, a 404 (a team deleted, renamed, or hidden from the token), a malformed page or a page
that leads off the API's own server. An unknown answer must never be read as "nobody".

The token is read from its file at each ask and kept in local variables only; it is sent only
to the configured API's own scheme, host and port (a ``Link`` header pointing elsewhere makes
the answer unknown instead of following it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..base import SourceError

log = logging.getLogger("jupyterhub_teams.sources.claims")

DEFAULT_API_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
PER_PAGE = 100
# A team of 100,000 people: more pages than this is a provider (or a fake) looping.
MAX_PAGES = 1000
# GitLab's access levels: 5 is "minimal access", which gives no access to the group's content;
# the login hook asks for groups at Guest (10) or more, so the members asked about match it.
GITLAB_MIN_ACCESS_LEVEL = 10


class Unknown(Exception):
    """The provider gave no usable answer about one team; the message says why."""


def read_token(path: str) -> str:
    """The token in ``path`` (surrounding whitespace and newlines dropped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SourceError(f"cannot read the provider token file {path}: {reason}") from None
    token = text.strip()
    if not token:
        raise SourceError(f"the provider token file {path} is empty")
    return token


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL in a ``Link`` header (RFC 8288, as GitHub writes it), or None."""
    for link in (header or "").split(","):
        target, _, params = link.partition(";")
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return target[1:-1].strip()
    return None


def next_page(headers: Mapping[str, str]) -> int | None:
    """GitLab's ``X-Next-Page``: the next page's number, None on the last page.

    A value that is not a positive number raises :class:`Unknown`: reading it as "last page"
    would cut the member list short, and a short list removes people.
    """
    value = (headers.get("x-next-page") or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise Unknown(f"unreadable X-Next-Page {value!r}")
    return int(value)


def hub_name(provider_name: str) -> str:
    """A provider login as a JupyterHub name: lower case, as ``Authenticator.normalize_username``
    makes it for GitHubOAuthenticator and GitLabOAuthenticator by default."""
    return provider_name.lower()


def member_names(page: Any, key: str, *, min_access_level: int | None = None) -> set[str]:
    """The JupyterHub names on one page of members (``key``: ``login`` or ``username``).

    A page that is not a list of member objects raises :class:`Unknown`. With
    ``min_access_level``, members below it (GitLab's minimal access) are left out.
    """
    if not isinstance(page, list):
        raise Unknown(f"a page of members is a {type(page).__name__}, not a list")
    names: set[str] = set()
    for item in page:
        name = item.get(key) if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise Unknown(f"a member without a {key!r}: {item!r:.200}")
        level = item.get("access_level")
        if min_access_level is not None and isinstance(level, int) and level < min_access_level:
            continue
        names.add(hub_name(name))
    return names


def github_team(path: str) -> tuple[str, str] | None:
    """``org:slug`` (the claim path GitHub teams have) as ``(org, slug)``; None otherwise."""
    org, sep, slug = path.partition(":")
    if not sep or not org or not slug or "/" in org or "/" in slug:
        return None
    return org, slug


def first_url(kind: str, api: str, path: str) -> str:
    """The URL of the first page of a team's members."""
    api = api.rstrip("/")
    if kind == "github":
        team = github_team(path)
        if team is None:
            raise Unknown(f"{path!r} is not a GitHub team path (org:team-slug)")
        org, slug = (quote(part, safe="") for part in team)
        return f"{api}/orgs/{org}/teams/{slug}/members?per_page={PER_PAGE}"
    if kind == "gitlab":
        return f"{api}/groups/{quote(path.strip('/'), safe='')}/members/all?per_page={PER_PAGE}"
    raise Unknown(f"a {kind} provider cannot be asked for members")


def _same_server(url: str, api: str) -> bool:
    a, b = urlsplit(url), urlsplit(api)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


@dataclass(frozen=True)
class ProviderAPI:
    """One provider's API as the sync asks it: ``kind`` (``github`` or ``gitlab``), its base
    URL, the token file, a timeout per request and how many teams are asked at once."""

    kind: str
    api_url: str
    token_file: str
    timeout: float = 10.0
    concurrency: int = 4
    verify: bool | str = True

    async def members(
        self, paths: Collection[str], *, transport: httpx.AsyncBaseTransport | None = None
    ) -> tuple[dict[str, frozenset[str] | None], dict[str, str]]:
        """Each path's members (None: unknown), and why each unknown answer is unknown.

        A token that cannot be read makes every answer unknown.
        """
        answers: dict[str, frozenset[str] | None] = dict.fromkeys(paths)
        why: dict[str, str] = {}
        if not answers:
            return answers, why
        try:
            token = read_token(self.token_file)
        except SourceError as exc:
            return answers, dict.fromkeys(answers, str(exc))
        headers = {"Accept": "application/json", "User-Agent": "jupyterhub-teams"}
        if self.kind == "github":
            headers["Accept"] = "application/vnd.github+json"
            headers["X-GitHub-Api-Version"] = "2022-11-28"
        headers["Authorization"] = f"Bearer {token}"
        del token
        limit = asyncio.Semaphore(max(1, self.concurrency))
        async with httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,  # a redirect could carry the token elsewhere
            transport=transport,
            verify=self.verify,
        ) as client:

            async def ask(path: str) -> None:
                async with limit:
                    try:
                        answers[path] = await self._team(client, path)
                    except Unknown as exc:
                        why[path] = str(exc)
                    except httpx.HTTPError as exc:
                        why[path] = f"{type(exc).__name__}: {exc}"

            await asyncio.gather(*(ask(path) for path in answers))
        return answers, why

    async def _team(self, client: httpx.AsyncClient, path: str) -> frozenset[str]:
        url: str | None = first_url(self.kind, self.api_url, path)
        key = "login" if self.kind == "github" else "username"
        level = GITLAB_MIN_ACCESS_LEVEL if self.kind == "gitlab" else None
        names: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            response = await client.get(url)
            if response.status_code != 200:
                raise Unknown(f"HTTP {response.status_code} for {urlsplit(url).path}")
            try:
                page = response.json()
            except ValueError:
                raise Unknown(f"a page of members that is not JSON at {url}") from None
            names |= member_names(page, key, min_access_level=level)
            url = self._next(url, response)
            if url is None:
                return frozenset(names)
        raise Unknown(f"more than {MAX_PAGES} pages of members")

    def _next(self, url: str, response: httpx.Response) -> str | None:
        if self.kind == "github":
            following = next_link(response.headers.get("link"))
            if following is not None and not _same_server(following, self.api_url):
                raise Unknown("the next page is on another server; the token is not sent there")
            return following
        number = next_page(response.headers)
        if number is None:
            return None
        base = url.split("&page=", 1)[0]
        return f"{base}&page={number}"
