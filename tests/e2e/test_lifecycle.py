"""Editing the directory while the hub runs: removal, addition, retirement and restoration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .harness import Hub, Person, closes_of, consent_or_lab, wait_for

REFUSED = (403, 404)


def edit_directory(hub: Hub, change: dict[str, list[str] | None]) -> None:
    """Set (list) or delete (None) groups' members in the hub's YAML directory file."""
    data = yaml.safe_load(hub.directory.read_text())
    for group, members in change.items():
        if members is None:
            data["groups"].pop(group, None)
        else:
            data["groups"][group] = {"members": members}
    hub.directory.write_text(yaml.safe_dump(data))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = Hub(tmp_path_factory.mktemp("lifecycle"), sync_interval=5, revocation_interval=10)
    hub.start()
    try:
        hub.wait_for_sync(lambda: hub.group("physics"), what="the first sync")
        yield hub
    finally:
        hub.stop()


def test_removed_member_loses_session_and_websockets(hub: Hub) -> None:
    account = "collab-physics"
    alice, bob = Person(hub, "alice").logged_in(), Person(hub, "bob").logged_in()
    assert bob.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what="the physics server")
    assert consent_or_lab(bob.open(f"/user/{account}/lab"))
    assert consent_or_lab(alice.open(f"/user/{account}/lab"))

    # bob opens a terminal and keeps its websocket open
    socket = bob.open_terminal(account)
    closes = closes_of(socket)
    socket.send('["stdin", "echo still-here\\r"]')
    assert bob.server_api(account, "GET", "api/status").status_code == 200

    removed_at = time.monotonic()
    edit_directory(hub, {"physics": ["alice"]})

    wait_for(
        lambda: bob.server_api(account, "GET", "api/status").status_code in REFUSED,
        timeout=30,
        interval=1,
        what="bob's open session to be refused",
    )
    refused_after = time.monotonic() - removed_at
    wait_for(lambda: closes, timeout=60 - refused_after, what="bob's terminal websocket to close")
    assert [code for _, code in closes] == [4403]
    print(
        f"removal → session refused {refused_after:.1f} s, "
        f"websocket closed {closes[0][0] - removed_at:.1f} s"
    )
    # alice, still a member, is unaffected
    assert alice.server_api(account, "GET", "api/status").status_code == 200
    # and bob cannot start or stop it any more
    assert bob.hub_api("DELETE", f"users/{account}/server").status_code in REFUSED
    socket.close()


def test_added_member_gets_in_within_one_interval(hub: Hub) -> None:
    account = "collab-physics"
    dave = Person(hub, "dave").logged_in()
    assert dave.open(f"/user/{account}/lab").status_code in REFUSED
    edit_directory(hub, {"physics": ["alice", "dave"]})
    hub.wait_for_sync(
        lambda: "dave" in (hub.group("physics") or {}).get("users", []),
        what="dave to join physics",
        intervals=1,
    )
    assert consent_or_lab(dave.open(f"/user/{account}/lab"))
    hub.stop_server(account)


def test_deleted_group_retires_and_returns_with_its_files(hub: Hub) -> None:
    account = "collab-chemistry"
    carol = Person(hub, "carol").logged_in()
    assert carol.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what="the chemistry server")
    assert consent_or_lab(carol.open(f"/user/{account}/lab"))
    saved = carol.server_api(
        account,
        "PUT",
        "api/contents/results.txt",
        json={"type": "file", "format": "text", "content": "titration: 12.5 ml"},
    )
    assert saved.status_code in (200, 201), saved.text
    on_disk = hub.state_dir / "homes" / account / "results.txt"
    assert on_disk.read_text() == "titration: 12.5 ml"

    edit_directory(hub, {"chemistry": None})

    def retired() -> bool:
        group = hub.group("chemistry") or {}
        return bool(group.get("properties", {}).get("jupyterhub_teams", {}).get("retired"))

    hub.wait_for_sync(retired, what="chemistry to be retired")
    wait_for(lambda: hub.server_stopped(account), 60, what="the retired server to stop")
    group = hub.group("chemistry")
    assert group is not None and group["users"] == []
    assert hub.api("GET", f"users/{account}").status_code == 200  # the account is kept
    assert on_disk.read_text() == "titration: 12.5 ml"  # and its files
    shares = hub.api("GET", f"shares/{account}/").json()["items"]
    assert shares == []
    assert carol.hub_api("POST", f"users/{account}/server").status_code in REFUSED
    assert not Path(on_disk).with_name("results.txt.deleted").exists()

    edit_directory(hub, {"chemistry": ["alice", "carol"]})
    hub.wait_for_sync(lambda: not retired(), what="chemistry to be restored")
    hub.wait_for_sync(
        lambda: hub.api("GET", f"shares/{account}/").json()["items"], what="the share to return"
    )
    assert carol.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready(account), 60, what="the restored server")
    assert consent_or_lab(carol.open(f"/user/{account}/lab"))
    content = carol.server_api(account, "GET", "api/contents/results.txt").json()
    assert content["content"] == "titration: 12.5 ml"
    hub.stop_server(account)


def test_a_revoked_share_closes_the_visitors_websockets_on_a_persons_server(hub: Hub) -> None:
    """People's own servers (jupyterhub-teams installed next to them, as here) re-check open
    websockets every ``share_revocation_interval`` (30 s by default)."""
    bob, carol = Person(hub, "bob").logged_in(), Person(hub, "carol").logged_in()
    assert bob.hub_api("POST", "users/bob/server").status_code in (201, 202)
    wait_for(lambda: hub.server_ready("bob"), 60, what="bob's server")
    shared = hub.api("POST", "shares/bob/", json={"user": "carol"})
    assert shared.status_code in (200, 201), shared.text
    assert consent_or_lab(carol.open("/user/bob/lab"))
    closes = closes_of(carol.open_terminal("bob"))
    revoked = time.monotonic()
    assert hub.api("DELETE", "shares/bob/").status_code in (200, 204)
    wait_for(lambda: closes, 70, what="carol's terminal websocket on bob's server to close")
    print(f"revoked share → visitor's websocket closed {closes[0][0] - revoked:.1f} s")
    assert [code for _, code in closes] == [4403]
    assert carol.server_api("bob", "GET", "api/status").status_code in REFUSED
    hub.stop_server("bob")
