"""What the sync says when the hub refuses or fails a request: the hub's own words, and the
likely cause when those words do not name it (a hub that lost its database answers a valid token
with "Missing or invalid credentials", and a query with a bare 500)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from jupyterhub_teams.hub import HubAPIError, HubClient


def failure(status: int, body: Any) -> HubAPIError:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    async def call() -> None:
        async with HubClient(
            "http://hub.invalid/hub/api", "secret-token", transport=httpx.MockTransport(answer)
        ) as client:
            await client.request("GET", "groups")

    with pytest.raises(HubAPIError) as raised:
        asyncio.run(call())
    return raised.value


def test_a_refused_token_names_the_database_as_a_possible_cause() -> None:
    error = failure(403, {"status": 403, "message": "Missing or invalid credentials."})
    assert error.status == 403
    assert "Missing or invalid credentials." in str(error)
    assert "revoked" in str(error) and "database" in str(error)
    assert "secret-token" not in str(error)


def test_a_missing_scope_is_said_as_the_hub_says_it() -> None:
    message = "Action is not authorized with current scopes; requires any of [admin:groups]"
    error = failure(403, {"status": 403, "message": message})
    assert str(error) == f"GET groups → 403: {message}"


def test_a_failed_hub_points_at_its_log() -> None:
    error = failure(500, "Internal Server Error")
    assert str(error).startswith("GET groups → 500: Internal Server Error (the hub failed;")
    assert "OperationalError" in str(error)
