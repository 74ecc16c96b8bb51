"""Group-restricted profiles on a real hub with the demo's local process spawner.

Each demo person sees exactly their profiles and choices on the spawn form; whatever they may
not use is refused — through the REST API, a forged form and a ``/hub/spawn`` query — with a
message naming it, and nothing starts; what they may use starts a server whose environment shows
the profile and choices that were applied.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from jupyterhub_teams.profiles.demo import DEFAULT_IMAGE, IMAGE_VARIABLE, PROFILE_VARIABLE

from .harness import Hub, Person, wait_for

GIB = 1024**3
PEOPLE = ("alice", "bob", "carol", "dave", "erin")
# what each demo person may use: profiles, memory choices, and whether they may name an image
EXPECTED = {
    "alice": ({"standard"}, {"small", "large"}, True),
    "bob": ({"standard"}, {"small", "large"}, False),
    "carol": ({"standard"}, {"small"}, True),
    "dave": ({"standard"}, {"small"}, False),
    "erin": ({"standard", "gpu"}, {"small"}, False),
}
MEMORY = "profile-option-standard--memory"
IMAGE = "profile-option-standard--image"
OWN_IMAGE = f"{IMAGE}--unlisted-choice"


class SpawnForm(HTMLParser):
    """What a spawn page offers: profile radios, each select's options, the text inputs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.profiles: list[str] = []
        self.selects: dict[str, list[str]] = {}
        self.texts: list[str] = []
        self.notice = False
        self._select: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs}
        if tag == "input" and data.get("type") == "radio" and data.get("name") == "profile":
            self.profiles.append(data.get("value", ""))
        elif tag == "input" and data.get("type", "text") == "text" and data.get("name"):
            self.texts.append(data["name"])
        elif tag == "select":
            self._select = data.get("name", "")
            self.selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self.selects[self._select].append(data.get("value", ""))
        elif data.get("id") == "jht-no-profile":
            self.notice = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def message_of(response: httpx.Response) -> str:
    """The refusal's message: the JSON ``message`` of the API, the text of a page."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json().get("message", ""))
    return html.unescape(response.text)


def server_names(hub: Hub, name: str) -> set[str]:
    return set(hub.user(name).get("servers") or {})


def environment(hub: Hub, name: str, server: str = "") -> dict[str, str]:
    """The environment of a running server's process (the spawner's state holds its PID)."""
    state = hub.user(name)["servers"][server]["state"]
    return dict(psutil.Process(int(state["pid"])).environ())


def wait_ready(hub: Hub, name: str, server: str = "") -> None:
    def ready() -> bool:
        model = (hub.user(name).get("servers") or {}).get(server)
        return bool(model and model.get("ready"))

    wait_for(ready, 60, what=f"{name}'s server {server!r} to start")


def stop(hub: Hub, name: str, server: str = "") -> None:
    path = f"users/{name}/servers/{server}" if server else f"users/{name}/server"
    assert hub.api("DELETE", path).status_code in (202, 204)
    wait_for(lambda: server not in server_names(hub, name), 60, what=f"{name}'s server to stop")


def post_form(person: Person, path: str, fields: dict[str, str]) -> httpx.Response:
    if person.cookie("_xsrf", "/hub/") is None:
        person.http.get("/hub/home")
    xsrf = person.cookie("_xsrf", path) or ""
    return person.http.post(path, data={**fields, "_xsrf": xsrf})


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The demo hub, with named servers allowed so /hub/spawn/<user>/<server> can be checked."""
    with Hub(
        tmp_path_factory.mktemp("profiles-hub"),
        extra_config="c.JupyterHub.allow_named_servers = True\n",
    ).synced("gpu-users") as running:
        yield running


@pytest.fixture(scope="module")
def sessions(hub: Hub) -> Iterator[dict[str, Person]]:
    people = {name: Person(hub, name).logged_in() for name in PEOPLE}
    yield people
    for person in people.values():
        person.close()


@pytest.mark.parametrize("name", PEOPLE)
def test_the_form_shows_each_person_exactly_their_profiles(
    hub: Hub, sessions: dict[str, Person], name: str
) -> None:
    profiles, memory, own_image = EXPECTED[name]
    for path in (f"/hub/spawn/{name}", f"/hub/spawn/{name}/second"):
        response = sessions[name].open(path)
        assert response.status_code == 200, (path, response.status_code)
        form = SpawnForm(response.text)
        assert set(form.profiles) == profiles, (path, form.profiles)
        assert "team" not in form.profiles
        assert set(form.selects[MEMORY]) == memory, (path, form.selects)
        image_values = set(form.selects[IMAGE])
        assert image_values == ({"default", "unlisted-choice"} if own_image else {"default"})
        assert (OWN_IMAGE in form.texts) is own_image
        # nothing of a hidden entry reaches the page, not even the groups that unlock it
        for hidden in ("gpu-users", "physics", "chemistry"):
            assert hidden not in response.text.split("<form", 1)[1]
    assert server_names(hub, name) == set()


REFUSALS = [
    # (person, server, user_options, status, words of the message)
    ("dave", "", {"profile": "gpu"}, 403, "Profile 'gpu' is not available to you"),
    ("erin", "", {"profile": "team"}, 403, "Profile 'team' is not available to you"),
    (
        "carol",
        "",
        {"profile": "standard", "memory": "large"},
        403,
        "Choice 'large' of option 'memory' (profile 'standard') is not available to you",
    ),
    (
        "bob",
        "",
        {"profile": "standard", "image--unlisted-choice": "quay.io/jupyter/r-notebook"},
        403,
        "A value of your own for option 'image' (profile 'standard') is not available",
    ),
    (
        "alice",
        "extra",
        {"profile": "standard", "image--unlisted-choice": "not an image!"},
        400,
        "is not accepted: An image name",
    ),
    (
        "dave",
        "extra",
        {"profile": "standard", "cpu_limit": "64"},
        403,
        "'cpu_limit' is not an option you can set",
    ),
]


@pytest.mark.parametrize(("name", "server", "options", "status", "words"), REFUSALS)
def test_rest_spawns_of_hidden_things_are_refused(
    hub: Hub,
    sessions: dict[str, Person],
    name: str,
    server: str,
    options: dict[str, Any],
    status: int,
    words: str,
) -> None:
    path = f"users/{name}/servers/{server}" if server else f"users/{name}/server"
    response = sessions[name].hub_api("POST", path, json={"user_options": options})
    assert response.status_code == status, response.text
    assert words in message_of(response)
    assert server_names(hub, name) == set()
    # the admin's token is refused the same way: the check is on the owner, not the caller
    response = hub.api("POST", path, json={"user_options": options})
    assert response.status_code == status
    assert server_names(hub, name) == set()


def test_forged_form_posts_and_queries_are_refused(hub: Hub, sessions: dict[str, Person]) -> None:
    forged = [
        ("dave", "/hub/spawn", {"profile": "gpu"}, "Profile 'gpu' is not available"),
        ("carol", "/hub/spawn", {"profile": "standard", MEMORY: "large"}, "Choice 'large'"),
        (
            "bob",
            "/hub/spawn/bob/extra",
            {"profile": "standard", IMAGE: "unlisted-choice", OWN_IMAGE: "quay.io/x/y"},
            "A value of your own for option 'image'",
        ),
    ]
    for name, path, fields, words in forged:
        person = sessions[name]
        response = post_form(person, path, fields)
        assert response.status_code == 403, (name, response.status_code)
        assert words in message_of(response), name
        # the refusal is shown on the form, which is offered again
        assert SpawnForm(response.text).profiles, name

        query = "&".join(f"{key}={value}" for key, value in fields.items())
        response = person.http.get(f"{path}?{query}")
        assert response.status_code == 403, (name, response.status_code)
        assert words in message_of(response), name
        assert server_names(hub, name) == set()


def test_allowed_choices_start_with_their_overrides(hub: Hub, sessions: dict[str, Person]) -> None:
    # REST: physics memory and a chemistry image for alice
    image = "quay.io/jupyter/r-notebook:2024-10-01"
    response = sessions["alice"].hub_api(
        "POST",
        "users/alice/server",
        json={
            "user_options": {
                "profile": "standard",
                "memory": "large",
                "image--unlisted-choice": image,
            }
        },
    )
    assert response.status_code in (201, 202), response.text
    # form: erin's GPU profile
    response = post_form(sessions["erin"], "/hub/spawn", {"profile": "gpu"})
    assert response.status_code == 302, response.text[:300]
    # query: bob's large memory, on a named server
    response = sessions["bob"].http.get(
        f"/hub/spawn/bob/big?profile=standard&{MEMORY}=large&{IMAGE}=default"
    )
    assert response.status_code == 302, response.text[:300]
    # no options at all: the defaults (standard, small), also right after a refused request
    # (refused options are not kept as the server's defaults)
    forged = {"user_options": {"profile": "gpu"}}
    assert sessions["dave"].hub_api("POST", "users/dave/server", json=forged).status_code == 403
    response = sessions["dave"].hub_api("POST", "users/dave/server")
    assert response.status_code in (201, 202), response.text

    started = [("alice", ""), ("erin", ""), ("bob", "big"), ("dave", "")]
    try:
        for name, server in started:
            wait_ready(hub, name, server)
        alice = environment(hub, "alice")
        assert alice[PROFILE_VARIABLE] == "standard"
        assert alice["MEM_LIMIT"] == str(4 * GIB)
        assert alice[IMAGE_VARIABLE] == image
        erin = environment(hub, "erin")
        assert erin[PROFILE_VARIABLE] == "gpu"
        assert float(erin["CPU_LIMIT"]) == 4.0
        bob = environment(hub, "bob", "big")
        assert (bob[PROFILE_VARIABLE], bob["MEM_LIMIT"]) == ("standard", str(4 * GIB))
        assert bob[IMAGE_VARIABLE] == DEFAULT_IMAGE
        dave = environment(hub, "dave")
        assert (dave[PROFILE_VARIABLE], dave["MEM_LIMIT"]) == ("standard", str(GIB))
    finally:
        for name, server in started:
            stop(hub, name, server)


def test_team_servers_get_team_profiles_only(hub: Hub, sessions: dict[str, Person]) -> None:
    alice = sessions["alice"]
    account = "collab-physics"
    response = alice.hub_api(
        "POST", f"users/{account}/server", json={"user_options": {"profile": "standard"}}
    )
    assert response.status_code == 403
    assert "Profile 'standard' is not available" in message_of(response)
    assert server_names(hub, account) == set()
    assert alice.hub_api("POST", f"users/{account}/server").status_code in (201, 202)
    try:
        wait_ready(hub, account)
        env = environment(hub, account)
        assert env[PROFILE_VARIABLE] == "team"
        assert env["JUPYTERHUB_TEAMS_GROUP"] == "physics"
    finally:
        stop(hub, account)


def test_a_person_picks_their_own_image_in_a_browser(hub: Hub) -> None:
    """The form as a browser uses it: picking an option selects its profile, "Another image…"
    shows the text field, Start applies the choice."""
    from tests.e2e import browser as browser_helpers

    image = "quay.io/jupyter/julia-notebook:2024-10-01"
    with browser_helpers.chromium() as browser:
        page = browser_helpers.log_in(browser, hub.url, "carol")
        page.goto(f"{hub.url}/hub/spawn")
        own = page.locator(f"[name='{OWN_IMAGE}']")
        assert own.is_hidden()
        page.select_option(f"select[name='{IMAGE}']", "unlisted-choice")
        assert own.is_visible()
        assert page.locator("#profile-item-standard").is_checked()
        own.fill(image)
        browser_helpers.screenshot(page, "profiles-spawn-form-carol")
        page.click("#spawn_form [type=submit]")
        try:
            wait_ready(hub, "carol")
            env = environment(hub, "carol")
            assert env[IMAGE_VARIABLE] == image
            assert env["MEM_LIMIT"] == str(GIB)
        finally:
            stop(hub, "carol")


def test_someone_allowed_no_profile_is_told_so(tmp_path: Path) -> None:
    only_physics = [
        {
            "slug": "physics-lab",
            "display_name": "Physics lab",
            "allowed_groups": ["physics"],
            "profile_options": {
                "memory": {"choices": {"small": {"spawner_override": {"mem_limit": "1G"}}}}
            },
        }
    ]
    hub = OwnProfilesHub(tmp_path / "hub", only_physics).start()
    try:
        hub.wait_for_sync(lambda: hub.group("physics"), what="the first sync")
        dave = Person(hub, "dave").logged_in()
        bob = Person(hub, "bob").logged_in()
        page = dave.open("/hub/spawn")
        assert page.status_code == 200
        form = SpawnForm(page.text)
        assert form.notice and not form.profiles
        assert "No server profile is available to your account" in html.unescape(page.text)
        response = dave.hub_api("POST", "users/dave/server")
        assert response.status_code == 403
        assert "No server profile is available to your account" in message_of(response)
        assert server_names(hub, "dave") == set()
        assert SpawnForm(bob.open("/hub/spawn").text).profiles == ["physics-lab"]
        dave.close()
        bob.close()
    finally:
        hub.stop()


class OwnProfilesHub(Hub):
    """The demo hub with another profile list (set before ``configure_demo`` runs)."""

    def __init__(self, state_dir: Path, profile_list: list[dict[str, Any]]) -> None:
        super().__init__(state_dir)
        self.profile_list = profile_list

    def write_config(self) -> Path:
        config = super().write_config()
        head = textwrap.dedent(
            f"""\
            import json
            c.JupyterHubTeams.profile_list = json.loads({json.dumps(self.profile_list)!r})
            """
        )
        config.write_text(head + config.read_text())
        return config
