"""Ways to abuse the teams people create on the Teams page, each refused against a real hub:
taking a directory group's name before it exists, hostile request values, invitations that
outlive their maker's rights, invitation secrets in the hub's log, and creating without end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urljoin

import httpx
import pytest
import yaml

from .harness import Hub, Person, wait_for, xsrf_headers
from .harness import teams_api as call

# Small, so that the per-person limit is reached in a few requests.
PER_PERSON = 2


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    limits = (
        f"c.JupyterHubTeams.adhoc_teams_per_person = {PER_PERSON}\n"
        "c.JupyterHubTeams.adhoc_teams_per_hour = 50\n"
    )
    hub = Hub(tmp_path_factory.mktemp("abuse"), sync_interval=2, pre_config=limits)
    with hub.synced("physics"):
        yield hub


def send_raw(person: Person, path: str, body: str) -> httpx.Response:
    headers = {**xsrf_headers(person), "Content-Type": "application/json"}
    return person.http.post(f"/hub/teams/api/teams{path}", content=body, headers=headers)


def create(person: Person, name: str) -> httpx.Response:
    return call(person, "POST", "", json={"name": name})


def marker(hub: Hub, team: str) -> dict[str, Any]:
    return dict(((hub.group(team) or {}).get("properties") or {})["jupyterhub_teams"])


def members(hub: Hub, team: str) -> list[str]:
    return sorted((hub.group(team) or {}).get("users", []))


def test_squatting_a_directory_name_gives_an_adhoc_team_and_the_directory_keeps_its_name(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    made = create(people["dave"], "biology")
    assert made.status_code == 201, made.text
    assert made.json() == {
        "team": "adhoc-biology",
        "account": "collab-adhoc-biology",
        "name": "biology",
    }
    assert demo_hub.group("biology") is None
    dave_team = marker(demo_hub, "adhoc-biology")
    assert dave_team["source_group"] == "biology"
    assert dave_team["created_by"] == "dave"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", dave_team["created_at"])

    directory = yaml.safe_load(demo_hub.directory.read_text())
    directory["groups"]["biology"] = ["alice"]
    demo_hub.directory.write_text(yaml.safe_dump(directory))
    demo_hub.wait_for_sync(
        lambda: members(demo_hub, "biology") == ["alice"], what="the directory's biology team"
    )
    assert marker(demo_hub, "biology")["origin"] == "directory"
    assert "dave" not in members(demo_hub, "biology")
    assert members(demo_hub, "adhoc-biology") == ["dave"]


def test_hostile_request_values_are_refused_with_400_not_500(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    bob = people["bob"]
    long_name = create(bob, "x" * 200_000)
    assert long_name.status_code == 400
    assert "at most 100 characters" in long_name.json()["message"]
    assert create(bob, "x" * 101).status_code == 400
    for value in ("42", "null", '["a"]', "true"):
        refused = send_raw(bob, "", f'{{"name": {value}}}')
        assert refused.status_code == 400, refused.text
        assert "must be a JSON string" in refused.json()["message"]
    account_like = create(bob, "Collab X")
    assert account_like.status_code == 400
    assert "reserved for team accounts" in account_like.json()["message"]
    assert demo_hub.group("adhoc-collab-x") is None

    made = create(bob, "Hostile values")
    assert made.status_code == 201, made.text
    invites = "/adhoc-hostile-values/invites"
    for body in (
        '{"expires_in": 1e308}',
        '{"expires_in": NaN}',
        '{"expires_in": Infinity}',
        '{"expires_in": 3600.5}',
        '{"expires_in": true}',
        '{"expires_in": "3600"}',
        '{"expires_in": 10000000000000000000000000000000000}',
        '{"expires_in": 3600, "single_use": "false"}',
        '{"expires_in": 3600, "single_use": 0}',
    ):
        refused = send_raw(bob, invites, body)
        assert refused.status_code == 400, (body, refused.text)
        message = refused.json()["message"]
        assert "expires_in" in message or "single_use" in message, message
    assert send_raw(bob, invites, '{"expires_in": 3600, "single_use": false}').status_code == 201
    assert "OverflowError" not in demo_hub.log_text()


def test_a_removed_admins_multi_use_code_is_refused(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    assert create(carol, "Study group").status_code == 201
    team = "/adhoc-study-group"
    assert call(carol, "POST", f"{team}/members", json={"name": "bob"}).status_code == 200
    assert call(carol, "PUT", f"{team}/admins/bob").status_code == 204
    made = call(bob, "POST", f"{team}/invites", json={"expires_in": 3600, "single_use": False})
    assert made.status_code == 201, made.text
    bobs_code = made.json()["code"]
    assert alice.http.get("/hub/teams/join", params={"code": bobs_code}).status_code == 200

    # removed from the team: the invitations he made go with him
    assert call(carol, "DELETE", f"{team}/members/bob").status_code == 204
    page = alice.http.get("/hub/teams/join", params={"code": bobs_code})
    assert page.status_code == 404 and "not valid" in page.text
    stored = (demo_hub.group("adhoc-study-group") or {})["properties"]
    assert all(i["created_by"] != "bob" for i in stored.get("jupyterhub_teams_invites", []))

    # no longer an admin, by any way (here a hub admin edits the team): the code stops working
    made = call(carol, "POST", f"{team}/invites", json={"expires_in": 3600, "single_use": False})
    carols_code = made.json()["code"]
    assert call(carol, "POST", f"{team}/members", json={"name": "erin"}).status_code == 200
    changed = {**stored["jupyterhub_teams"], "admins": ["erin"]}
    properties = {**(demo_hub.group("adhoc-study-group") or {})["properties"]}
    properties["jupyterhub_teams"] = changed
    assert demo_hub.api("PUT", "groups/adhoc-study-group/properties", json=properties).is_success
    page = alice.http.get("/hub/teams/join", params={"code": carols_code})
    assert page.status_code == 410
    assert "no longer an admin of the team" in page.text
    xsrf = alice.cookie("_xsrf", "/hub/teams/join") or ""
    joined = alice.http.post("/hub/teams/join", data={"code": carols_code, "_xsrf": xsrf})
    assert joined.status_code == 410
    assert "alice" not in members(demo_hub, "adhoc-study-group")


def test_no_invitation_secret_in_the_log_when_a_logged_out_visitor_joins(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    carol = people["carol"]
    made = create(carol, "Reading club")
    assert made.status_code == 201, made.text
    invite = call(carol, "POST", "/adhoc-reading-club/invites", json={"expires_in": 3600})
    code = invite.json()["code"]
    secret = code.split(".", 1)[1]

    visitor = Person(demo_hub, "dave")
    try:
        first = visitor.http.get(f"/hub/teams/join?code={quote(code, safe='')}")
        assert first.status_code == 302
        login_url = urljoin(str(first.url), first.headers["location"])
        assert "/hub/login?next=" in login_url and secret not in login_url
        assert "code" not in login_url
        assert visitor.http.get(login_url).status_code == 200
        xsrf = visitor.cookie("_xsrf", "/hub/login") or ""
        logged_in = visitor.http.post(
            login_url, data={"username": "dave", "password": "demo", "_xsrf": xsrf}
        )
        assert logged_in.status_code == 302
        back = urljoin(str(logged_in.url), logged_in.headers["location"])
        assert back.endswith("/hub/teams/join")
        page = visitor.http.get(back)
        assert page.status_code == 200, page.text
        assert "adhoc-reading-club" in page.text
        fields = dict(re.findall(r'name="(code|_xsrf)" value="([^"]*)"', page.text))
        assert fields["code"] == code
        joined = visitor.http.post("/hub/teams/join", data=fields)
        assert joined.status_code == 302, joined.text
        assert "joined=adhoc-reading-club" in joined.headers["location"]
    finally:
        visitor.close()
    assert "dave" in members(demo_hub, "adhoc-reading-club")
    wait_for(lambda: "joined the team adhoc-reading-club" in demo_hub.log_text(), 10, what="log")
    assert demo_hub.log_text().count(secret) == 0


def test_the_per_person_limit_refuses_more_teams_and_the_page_says_why(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    erin = people["erin"]
    for i in range(PER_PERSON):
        assert create(erin, f"Erin team {i}").status_code == 201
    refused = create(erin, "One too many")
    assert refused.status_code == 403
    assert f"already created {PER_PERSON} teams" in refused.json()["message"]
    assert demo_hub.group("adhoc-one-too-many") is None
    page = erin.http.get("/hub/teams")
    assert page.status_code == 200
    assert 'id="jht-new-team"' not in page.text
    assert "jht-cannot-create" in page.text and f"already created {PER_PERSON}" in page.text
    # someone else is not limited by erin's teams
    assert 'id="jht-new-team"' in people["alice"].http.get("/hub/teams").text


def test_an_adhoc_team_is_deleted_by_its_admin_and_its_data_kept(
    demo_hub: Hub, people: dict[str, Person]
) -> None:
    # alice has created no team in this module yet, so no limit is in the way
    alice, dave = people["alice"], people["dave"]
    made = create(alice, "Short lived")
    assert made.status_code == 201, made.text
    team, account = made.json()["team"], made.json()["account"]
    assert call(alice, "POST", f"/{team}/members", json={"name": "dave"}).status_code == 200
    assert alice.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    wait_for(lambda: demo_hub.server_ready(account), 90, what=f"{account} to start")
    # a member who is no admin may not delete it, nor may anyone delete a directory team
    assert call(dave, "DELETE", f"/{team}").status_code == 403
    refused = call(people["bob"], "DELETE", "/physics")
    assert refused.status_code == 403 and "directory" in refused.json()["message"]

    assert call(alice, "DELETE", f"/{team}").status_code == 204
    gone = marker(demo_hub, team)
    assert gone["retired"] is True and gone["deleted_by"] == "alice"
    assert members(demo_hub, team) == []
    wait_for(lambda: demo_hub.server_stopped(account), 60, what=f"{account} to stop")
    shares = demo_hub.api("GET", f"shares/{account}/").json()["items"]
    assert shares == [], shares
    # the account is kept (and with it the files)
    assert demo_hub.user(account)["name"] == account
    assert dave.hub_api("POST", f"users/{account}/server").status_code in (403, 404)
    assert call(alice, "DELETE", f"/{team}").status_code == 409
