"""``jupyterhub-teams audit`` on a real hub: for one server, one person and the whole hub, what
it says is what the proxy does — the people it lists get in, everyone else gets 403."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from .harness import Hub, Person, consent_or_lab, start_as

PEOPLE = ("alice", "bob", "carol", "dave", "erin")
USE = ["access:servers!server=collab-physics/"]
TEAM = "member of team group {} (use, start and stop)"


def cli(hub: Hub, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": token or hub.admin_token,
    }
    return subprocess.run(
        [sys.executable, "-m", "jupyterhub_teams", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def shared_hub(demo_hub: Hub) -> Hub:
    """The demo hub, with physics's server running and shared by hand beyond its team: with
    the group ``staff`` (carol) and with dave alone, both to use it only."""
    r = demo_hub.api("POST", "groups/staff", json={"users": ["carol"]})
    assert r.status_code == 201, r.text
    for body in ({"group": "staff", "scopes": USE}, {"user": "dave", "scopes": USE}):
        r = demo_hub.api("POST", "shares/collab-physics/", json=body)
        assert r.status_code == 200, r.text
    for team in ("physics", "chemistry"):
        if not demo_hub.server_ready(f"collab-{team}"):
            bob_or_carol = Person(demo_hub, "bob" if team == "physics" else "carol").logged_in()
            start_as(bob_or_carol, demo_hub, f"collab-{team}")
            bob_or_carol.close()
    return demo_hub


def who_gets_in(people: dict[str, Person], account: str) -> set[str]:
    """The people whose browser opens ``account``'s server; everyone else must get 403."""
    inside = set()
    for name, person in people.items():
        response = person.open(f"/user/{account}/lab")
        if consent_or_lab(response):
            inside.add(name)
        else:
            assert response.status_code == 403, (name, account, response.status_code)
    return inside


def test_one_server(shared_hub: Hub, people: dict[str, Person]) -> None:
    [entry] = lines(cli(shared_hub, "--server", "collab-physics", "--jsonl"))
    assert entry["team"] == "physics" and entry["server_running"] is True
    assert entry["shares_checked"] is True
    assert entry["access"] == {
        "admin": ["hub admin"],
        "alice": [TEAM.format("physics")],
        "bob": [TEAM.format("physics")],
        "carol": ["member of group staff, which the server is shared with (use)"],
        "dave": ["the server is shared with them directly (use)"],
    }
    assert who_gets_in(people, "collab-physics") == set(entry["access"]) - {"admin"}
    # by the team's name: the same answer
    assert lines(cli(shared_hub, "--team", "physics", "--jsonl")) == [entry]
    text = cli(shared_hub, "--team", "physics")
    assert text.returncode == 0, text.stderr
    assert "physics  (collab-physics, running)" in text.stdout
    assert "  dave: the server is shared with them directly (use)" in text.stdout


def test_whole_hub(shared_hub: Hub, people: dict[str, Person]) -> None:
    checked = lines(cli(shared_hub, "--jsonl", "--check-shares"))
    assert [e["team"] for e in checked] == ["chemistry", "gpu-users", "physics"]
    by_team = {e["team"]: e for e in checked}
    assert by_team["physics"] == lines(cli(shared_hub, "--server", "collab-physics", "--jsonl"))[0]
    for team in ("physics", "chemistry"):
        account = f"collab-{team}"
        assert who_gets_in(people, account) == set(by_team[team]["access"]) - {"admin"}
    assert set(by_team["gpu-users"]["access"]) == {"admin", "erin"}

    # without --check-shares: each team's share as its marker records it, no share read —
    # the hand-made shares are not seen (the documented price of the fast read)
    fast = {e["team"]: e for e in lines(cli(shared_hub, "--jsonl"))}
    assert fast["physics"]["shares_checked"] is False
    assert set(fast["physics"]["access"]) == {"admin", "alice", "bob"}
    for team in ("chemistry", "gpu-users"):
        assert {**fast[team], "shares_checked": True} == by_team[team]

    # --json: one JSON document, as before
    document = cli(shared_hub, "--json", "--check-shares")
    assert document.returncode == 0, document.stderr
    assert json.loads(document.stdout) == checked


def narrowed(entry: dict[str, Any], person: str) -> dict[str, Any] | None:
    reasons = entry["access"].get(person)
    member = person in entry["members"]
    if reasons is None and not member:
        return None
    return {
        **entry,
        "members": [person] if member else [],
        "access": {person: reasons} if reasons is not None else {},
    }


def test_one_person(shared_hub: Hub, people: dict[str, Person]) -> None:
    whole = lines(cli(shared_hub, "--jsonl", "--check-shares"))
    for person in (*PEOPLE, "admin"):
        answer = lines(cli(shared_hub, "--person", person, "--jsonl"))
        expected = [v for e in whole if (v := narrowed(e, person)) is not None]
        assert answer == expected, person
    carol = {
        e["team"]: e["access"]["carol"]
        for e in lines(cli(shared_hub, "--person", "carol", "--jsonl"))
    }
    assert carol == {
        "chemistry": [TEAM.format("chemistry")],
        "physics": ["member of group staff, which the server is shared with (use)"],
    }
    # what the proxy does for carol: in where the audit says, out of the rest
    for account in ("collab-physics", "collab-chemistry"):
        assert consent_or_lab(people["carol"].open(f"/user/{account}/lab")), account
    text = cli(shared_hub, "--person", "dave")
    assert text.returncode == 0, text.stderr
    assert "  dave: the server is shared with them directly (use)" in text.stdout
    assert "chemistry" not in text.stdout


def test_one_person_with_the_sync_services_reading_scopes(shared_hub: Hub) -> None:
    """Without ``read:users:shares`` the shares granted to each of the person's groups are
    read instead: the same answer, except shares made to the person alone."""
    scopes = [
        "list:users",
        "read:users:name",
        "read:users:groups",
        "list:groups",
        "read:groups",
        "read:groups:shares",
        "read:servers",
    ]
    r = shared_hub.api("POST", "users/admin/tokens", json={"scopes": scopes, "note": "audit"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    for person in ("alice", "carol", "erin"):
        full = lines(cli(shared_hub, "--person", person, "--jsonl"))
        assert lines(cli(shared_hub, "--person", person, "--jsonl", token=token)) == full
    assert lines(cli(shared_hub, "--person", "dave", "--jsonl", token=token)) == []


def test_unknown_server_or_person_is_an_error(shared_hub: Hub) -> None:
    for args, words in (
        (("--server", "collab-nope"), "no team server 'collab-nope'"),
        (("--team", "nope"), "no team server 'nope'"),
        (("--person", "nobody"), "no person 'nobody'"),
    ):
        result = cli(shared_hub, *args, "--jsonl")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr and result.stdout == ""
    both = cli(shared_hub, "--server", "collab-physics", "--person", "alice")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_every_page_of_users_is_read(shared_hub: Hub) -> None:
    """The user list is read in concurrent pages: with pages of two users, an admin on a
    late page still reaches every team server, and the answer is the command's."""
    import asyncio

    from jupyterhub_teams.hub import HubClient, audit_stream
    from jupyterhub_teams.plan import Policy

    async def whole(page_size: int) -> list[dict[str, Any]]:
        async with HubClient(
            shared_hub.api_url, shared_hub.admin_token, page_size=page_size
        ) as client:
            return [e.to_json(shared_hub.url) async for e in audit_stream(client, Policy())]

    users = shared_hub.api("GET", "users", params={"limit": 200}).json()
    assert len(users) > 8, "too few users to span several pages"
    assert [u["name"] for u in users][-1] != "admin"
    late = [u["name"] for u in users if not u["admin"]][-1]
    assert shared_hub.api("PATCH", f"users/{late}", json={"admin": True}).status_code == 200
    try:
        small_pages = asyncio.run(whole(2))
        assert small_pages == asyncio.run(whole(200)) == lines(cli(shared_hub, "--jsonl"))
        assert all("hub admin" in entry["access"][late] for entry in small_pages), late
    finally:
        shared_hub.api("PATCH", f"users/{late}", json={"admin": False})
