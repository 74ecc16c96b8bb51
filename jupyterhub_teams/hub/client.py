"""An async JupyterHub REST client: pagination, bounded concurrency, retries.

Small on purpose: the calls jupyterhub-teams needs, each named after what it does. The transport
is injectable (``httpx.AsyncBaseTransport``) so tests can drive it against anything, and the
token never appears in logs or exception messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger("jupyterhub_teams.hub")

_RETRY_STATUSES = {429, 502, 503, 504}
_PAGINATION = "application/jupyterhub-pagination+json"


class HubAPIError(RuntimeError):
    """The hub refused or failed a request; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} → {status or 'no answer'}: {message}")
        self.method, self.path, self.status, self.message = method, path, status, message


def _q(name: str) -> str:
    return quote(name, safe="")


class HubClient:
    """Talks to ``api_url`` (``…/hub/api``) with ``token``.

    ``concurrency`` bounds requests in flight; the hub is one process, so a handful is enough
    and more only queues inside it.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        retries: int = 4,
        page_size: int = 200,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.api_url + "/",
            headers={"Authorization": f"token {token}"},
            timeout=timeout,
            transport=transport,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._retries = retries
        self.page_size = page_size
        self.writes = 0  # count of state-changing requests, for reports and benchmarks
        self._scopes: frozenset[str] | None = None

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: Iterable[int] = (),
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying connection errors and 429/502/503/504 with backoff.

        Statuses in ``ok`` are returned like successes (e.g. 409 "already exists").
        """
        ok = set(ok)
        delay = 0.2
        for attempt in range(self._retries + 1):
            try:
                async with self._slots:
                    response = await self._http.request(
                        method, path.lstrip("/"), json=json, params=params, headers=headers
                    )
            except httpx.TransportError as exc:
                if attempt == self._retries:
                    raise HubAPIError(method, path, 0, type(exc).__name__) from exc
                log.warning("hub unreachable on %s %s (%s); retrying", method, path, exc)
            else:
                if response.status_code < 400 or response.status_code in ok:
                    if method != "GET":
                        self.writes += 1
                    return response
                if response.status_code not in _RETRY_STATUSES or attempt == self._retries:
                    raise HubAPIError(method, path, response.status_code, _message(response))
                log.warning(
                    "hub answered %s on %s %s; retrying", response.status_code, method, path
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")  # pragma: no cover

    async def paginate(self, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paginated list endpoint, page by page."""
        offset = 0
        while True:
            response = await self.request(
                "GET",
                path,
                params={**params, "offset": offset, "limit": self.page_size},
                headers={"Accept": _PAGINATION},
            )
            body = response.json()
            if isinstance(body, list):  # a hub or endpoint without pagination
                for item in body:
                    yield item
                return
            for item in body["items"]:
                yield item
            following = (body.get("_pagination") or {}).get("next")
            if not following:
                return
            offset = following["offset"]

    # -- reads ------------------------------------------------------------------------------

    async def list_users(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every user, or with ``state="active"`` only those with a running or pending server."""
        params = {"state": state} if state else {}
        return [u async for u in self.paginate("users", **params)]

    async def list_groups(self) -> list[dict[str, Any]]:
        return [g async for g in self.paginate("groups")]

    async def get_user(self, name: str) -> dict[str, Any] | None:
        response = await self.request("GET", f"users/{_q(name)}", ok=(404,))
        return None if response.status_code == 404 else dict(response.json())

    async def get_group(self, name: str) -> dict[str, Any] | None:
        response = await self.request("GET", f"groups/{_q(name)}", ok=(404,))
        return None if response.status_code == 404 else dict(response.json())

    async def list_server_shares(self, owner: str, server_name: str = "") -> list[dict[str, Any]]:
        """Every share of one server. Costly on big hubs: the hub joins every group membership
        into this query (about 0.5 s per call on SQLite with 50,000 memberships)."""
        return [s async for s in self.paginate(f"shares/{_q(owner)}/{_q(server_name)}")]

    async def get_group_share(
        self, group: str, owner: str, server_name: str = ""
    ) -> dict[str, Any] | None:
        """The share of ``owner``'s server granted to ``group``, or None if there is none.

        One indexed lookup in the hub (about 15 ms whatever the hub's size). It needs
        ``read:groups:shares`` on ``group``: without it the hub answers 404 too, so check
        :meth:`scopes` first.
        """
        path = f"groups/{_q(group)}/shared/{_q(owner)}/{_q(server_name)}"
        response = await self.request("GET", path, ok=(404,))
        return None if response.status_code == 404 else dict(response.json())

    async def scopes(self) -> frozenset[str]:
        """The scopes of this client's token, as the hub expands them (asked once)."""
        if self._scopes is None:
            response = await self.request("GET", "user")
            self._scopes = frozenset(response.json().get("scopes") or ())
        return self._scopes

    # -- writes -----------------------------------------------------------------------------

    async def create_users(self, names: Iterable[str]) -> None:
        names = sorted(set(names))
        if names:
            # 409 means every one of them exists already: the goal is reached.
            await self.request("POST", "users", json={"usernames": names}, ok=(409,))

    async def create_group(self, name: str, members: Iterable[str] = ()) -> None:
        response = await self.request(
            "POST", f"groups/{_q(name)}", json={"users": sorted(members)}, ok=(409,)
        )
        if response.status_code == 409:
            await self.add_group_members(name, members)

    async def set_group_properties(self, name: str, properties: dict[str, Any]) -> None:
        await self.request("PUT", f"groups/{_q(name)}/properties", json=properties)

    async def add_group_members(self, name: str, users: Iterable[str]) -> None:
        users = sorted(users)
        if users:
            await self.request("POST", f"groups/{_q(name)}/users", json={"users": users})

    async def remove_group_members(self, name: str, users: Iterable[str]) -> None:
        users = sorted(users)
        if users:
            await self.request("DELETE", f"groups/{_q(name)}/users", json={"users": users})

    async def share_with_group(
        self, owner: str, group: str, scopes: Iterable[str], server_name: str = ""
    ) -> None:
        await self.request(
            "POST",
            f"shares/{_q(owner)}/{_q(server_name)}",
            json={"group": group, "scopes": sorted(scopes)},
        )

    async def revoke_group_share(self, owner: str, group: str, server_name: str = "") -> None:
        # PATCH without scopes revokes everything the group was granted on that server.
        await self.request(
            "PATCH", f"shares/{_q(owner)}/{_q(server_name)}", json={"group": group}, ok=(404,)
        )

    async def stop_server(self, user: str, server_name: str = "") -> None:
        path = (
            f"users/{_q(user)}/server"
            if not server_name
            else (f"users/{_q(user)}/servers/{_q(server_name)}")
        )
        # 400: not running — already where we want it.
        await self.request("DELETE", path, ok=(400,))


# What the hub answers does not name the cause when it cannot reach its own database: a token
# it cannot look up is "Missing or invalid credentials", a query that fails a bare 500.
_HINTS = {
    403: "the hub did not accept the service's token: it was revoked, or the hub could not "
    "check it, e.g. while its database is unavailable; the hub's log says which",
    500: "the hub failed; its log says why, e.g. OperationalError while its database is "
    "unavailable",
}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text[:200] or response.reason_phrase
    else:
        is_message = isinstance(body, dict) and "message" in body
        text = str(body["message"]) if is_message else str(body)[:200]
    hint = _HINTS.get(response.status_code)
    if hint and (response.status_code != 403 or "invalid credentials" in text.lower()):
        return f"{text} ({hint})"
    return text
