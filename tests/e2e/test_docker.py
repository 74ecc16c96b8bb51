"""Team servers, group-restricted profiles and team storage with DockerSpawner, end to end.

A real Docker engine (``containers.py``), the stock single-user image (no jupyterhub-teams in
it, its own start command), a real hub and proxy, and the hub configuration of
``docs/docker.md`` run as written: only paths and image names are replaced, and host
networking is switched on because the test engine has no bridge network.
"""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterhub_teams.demo.hub import free_port
from jupyterhub_teams.demo.proxy import find_proxy

from .containers import Engine, ensure_image_with_extension, ensure_stock_image
from .harness import (
    REPO,
    Hub,
    Person,
    assert_only_members_get_in,
    assert_team_data_survives_stop_and_retirement,
    closes_of,
    consent_or_lab,
    contents,
    seconds_until_refused,
    sessions,
    set_members,
    start_as,
    wait_for,
    write,
)

DOCS = REPO / "docs" / "docker.md"
TEAM = "physics"
ACCOUNT = f"collab-{TEAM}"


def docs_config() -> str:
    """The ``jupyterhub_config.py`` of docs/docker.md, exactly as the page shows it."""
    text = DOCS.read_text()
    block = text.split("<!-- docker-config:start -->", 1)[1].split("<!-- docker-config:end -->")[0]
    return block.strip().removeprefix("```python").removesuffix("```").strip() + "\n"


class DockerHub(Hub):
    """A hub configured by the docs' DockerSpawner config."""

    def __init__(self, state_dir: Path, image: str, gpu_image: str) -> None:
        super().__init__(state_dir, sync_interval=2)
        self.teams_root = state_dir / "teams"
        self.image, self.gpu_image = image, gpu_image

    def write_config(self) -> Path:
        replaced = {
            '"/srv/jupyterhub/directory.yaml"': repr(str(self.directory)),
            '"/srv/jupyterhub/posix-identity.sqlite"': repr(str(self.state_dir / "ids.sqlite")),
            '"/srv/teams"': repr(str(self.teams_root)),
            '"quay.io/jupyter/minimal-notebook:hub-6.1.1"': repr(self.image),
            '"quay.io/jupyter/pytorch-notebook:cuda12-hub-6.1.1"': repr(self.gpu_image),
        }
        config = docs_config()
        for old, new in replaced.items():
            assert old in config, f"docs/docker.md no longer has {old}"
            config = config.replace(old, new)
        before = f"""\
            c.JupyterHub.services = [{{"name": "test-admin", "api_token": {self.admin_token!r}}}]
            c.JupyterHub.load_roles = [{{"name": "admin", "services": ["test-admin"]}}]
            c.JupyterHub.log_level = "DEBUG"
            c.JupyterHub.bind_url = {self.url!r}
            c.ConfigurableHTTPProxy.command = {find_proxy(install=False)!r}
            c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
            c.DummyAuthenticator.password = "demo"
            c.JupyterHubTeams.sync_interval = {self.sync_interval}
            c.PosixIdentity.uid_range = [47100, 47899]
            c.PosixIdentity.gid_range = [48100, 48899]
            """
        # the test engine has only host networking: every server on 127.0.0.1, its own port
        after = f"""
            import socket
            from dockerspawner import DockerSpawner

            class HostNetworkDockerSpawner(DockerSpawner):
                async def start(self):
                    with socket.socket() as probe:
                        probe.bind(("127.0.0.1", 0))
                        self.port = probe.getsockname()[1]
                    return await super().start()

                async def get_ip_and_port(self):
                    return "127.0.0.1", self.port

            c.JupyterHub.spawner_class = HostNetworkDockerSpawner
            c.DockerSpawner.network_name = "host"
            c.DockerSpawner.use_internal_ip = True  # no port bindings with host networking
            c.DockerSpawner.pull_policy = "never"
            c.Spawner.ip = "127.0.0.1"
            c.JupyterHub.hub_ip = "127.0.0.1"
            c.JupyterHub.hub_port = {free_port()}
            c.JupyterHub.hub_connect_ip = "127.0.0.1"
            """
        path = self.state_dir / "jupyterhub_config.py"
        path.write_text(textwrap.dedent(before) + config + textwrap.dedent(after))
        return path


@pytest.fixture(scope="module")
def hub(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerHub]:
    image = ensure_stock_image(engine)
    gpu_image = image.replace(":stock", ":gpu")
    engine.docker("tag", image, gpu_image)
    state = tmp_path_factory.mktemp("docker-hub")
    try:
        with DockerHub(state, image, gpu_image).synced(TEAM) as running:
            yield running
    finally:
        for name in engine.containers():
            engine.docker("rm", "-f", name)


@pytest.fixture(scope="module")
def people(hub: DockerHub) -> Iterator[dict[str, Person]]:
    people = sessions(hub)
    yield people
    for person in people.values():
        person.close()


def container_of(engine: Engine, user: str) -> dict[str, Any]:
    """``docker inspect`` of the container DockerSpawner runs for ``user``'s default server."""
    for name in engine.containers():
        found = dict(json.loads(engine.docker("inspect", name))[0])
        if f"JUPYTERHUB_USER={user}" in found["Config"]["Env"]:
            return found
    raise AssertionError(f"no container for {user}: {engine.containers()}")


def test_a_team_server_on_the_stock_image_lets_in_exactly_its_members(
    hub: DockerHub, engine: Engine, people: dict[str, Person]
) -> None:
    seconds = start_as(people["alice"], hub, ACCOUNT)
    print(f"team server container ready in {seconds:.1f} s")
    container = container_of(engine, ACCOUNT)
    assert container["Config"]["Image"] == hub.image
    # the image's own command, with the hub's arguments after it
    assert container["Path"] == "jupyterhub-singleuser"
    assert "--HubOAuth.cache_max_age=10" in container["Args"]
    # nothing of jupyterhub-teams in the image
    listed = engine.docker("run", "--rm", "--network", "none", hub.image, "pip", "list")
    assert "jupyterhub" in listed
    assert "jupyterhub-teams" not in listed

    assert_only_members_get_in(people, ACCOUNT, {"alice", "bob"})

    # bob leaves physics: his open session is refused within 30 s
    closes = closes_of(people["bob"].open_terminal(ACCOUNT))
    seconds = seconds_until_refused(hub, people["bob"], ACCOUNT, TEAM, ["alice"])
    print(f"removed member refused after {seconds:.1f} s")
    # a stock server never re-checks an open websocket: that is the extension's job (below)
    assert closes == [], "the stock image closed a websocket by itself"
    assert people["alice"].server_api(ACCOUNT, "GET", "api/status").status_code == 200
    set_members(hub, TEAM, ["alice", "bob"])
    hub.wait_for_sync(
        lambda: "bob" in (hub.group(TEAM) or {}).get("users", []), what="bob back in physics"
    )


def mounts(engine: Engine, user: str) -> dict[str, str]:
    return {m["Destination"]: m["Source"] for m in container_of(engine, user)["Mounts"]}


def test_team_storage_is_mounted_for_current_members_only(
    hub: DockerHub, engine: Engine, people: dict[str, Person]
) -> None:
    alice, dave = people["alice"], people["dave"]
    start_as(alice, hub, "alice")
    start_as(dave, hub, "dave")
    team_dir = hub.teams_root / TEAM
    target = f"/home/jovyan/teams/{TEAM}"
    assert mounts(engine, "alice")[target] == str(team_dir)
    assert mounts(engine, "alice")["/home/jovyan/teams/chemistry"] == str(
        hub.teams_root / "chemistry"
    )
    assert not [m for m in mounts(engine, "dave") if "/teams/" in m]
    physics_gid = hub.group(TEAM)["properties"]["jupyterhub_teams"]["gid"]
    assert team_dir.stat().st_gid == physics_gid
    assert oct(team_dir.stat().st_mode & 0o7777) == "0o2770"

    # alice writes from her own server; the file carries her uid and the team's gid
    assert consent_or_lab(alice.open("/user/alice/lab"))
    write(alice, "alice", f"teams/{TEAM}/from-alice.txt", "hello team")
    made = (team_dir / "from-alice.txt").stat()
    assert made.st_uid == 2001  # the directory's uid for alice
    assert made.st_gid == physics_gid
    # the team server sees it
    if not hub.server_ready(ACCOUNT):
        start_as(alice, hub, ACCOUNT)
    assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
    listing = contents(alice, ACCOUNT, f"teams/{TEAM}").json()
    assert "from-alice.txt" in {item["name"] for item in listing["content"]}
    # dave's server cannot reach it
    assert consent_or_lab(dave.open("/user/dave/lab"))
    assert contents(dave, "dave", f"teams/{TEAM}").status_code == 404
    for name in ("alice", "dave"):
        hub.stop_server(name)


def test_a_removed_members_next_server_lacks_the_team_and_data_survives_retirement(
    hub: DockerHub, engine: Engine, people: dict[str, Person]
) -> None:
    bob = people["bob"]
    set_members(hub, TEAM, ["alice"])
    hub.wait_for_sync(
        lambda: "bob" not in (hub.group(TEAM) or {}).get("users", []), what="bob leaving"
    )
    start_as(bob, hub, "bob")
    assert f"/home/jovyan/teams/{TEAM}" not in mounts(engine, "bob")
    gids = container_of(engine, "bob")["HostConfig"]["GroupAdd"] or []
    physics_gid = hub.group(TEAM)["properties"]["jupyterhub_teams"]["gid"]
    assert str(physics_gid) not in gids
    hub.stop_server("bob")
    set_members(hub, TEAM, ["alice", "bob"])

    def no_container() -> None:
        with pytest.raises(AssertionError, match="no container"):
            container_of(engine, ACCOUNT)  # removed: only the team directory keeps the data

    assert_team_data_survives_stop_and_retirement(
        hub, people["alice"], TEAM, hub.teams_root, no_container
    )


def profiles_offered(hub: Hub, engine: Engine, person: Person) -> set[str]:
    """The profiles ``person``'s spawn page offers; with a single one the hub shows no form
    and starts it: then the running container tells which it was (by its memory limit)."""
    page = person.open(f"/hub/spawn/{person.name}").text
    offered = set(re.findall(r'name="profile" id="[^"]*" value="([^"]+)"', page))
    if offered:
        return offered
    wait_for(lambda: hub.server_ready(person.name), 120, what=f"{person.name}'s container")
    memory = container_of(engine, person.name)["HostConfig"]["Memory"]
    hub.stop_server(person.name)
    return {"standard"} if memory == 1024**3 else {f"a profile with {memory} bytes"}


def test_profiles_are_restricted_and_a_forged_spawn_creates_no_container(
    hub: DockerHub, engine: Engine, people: dict[str, Person]
) -> None:
    expected = {
        "alice": {"standard", "large"},
        "bob": {"standard", "large"},
        "carol": {"standard"},
        "dave": {"standard"},
        "erin": {"standard", "gpu"},
    }
    for name, offered in expected.items():
        assert profiles_offered(hub, engine, people[name]) == offered, name

    before = engine.containers()
    r = people["dave"].hub_api(
        "POST", "users/dave/server", json={"user_options": {"profile": "gpu"}}
    )
    assert r.status_code == 403, r.text
    assert "Profile 'gpu' is not available to you" in r.json()["message"]
    time.sleep(1)
    assert engine.containers() == before  # the engine never saw a container for it
    assert hub.server_stopped("dave")

    # erin's gpu profile starts the gpu image with its overrides
    start_as(people["erin"], hub, "erin", {"profile": "gpu"})
    assert container_of(engine, "erin")["Config"]["Image"] == hub.gpu_image
    hub.stop_server("erin")
    start_as(people["bob"], hub, "bob", {"profile": "large"})
    assert container_of(engine, "bob")["HostConfig"]["Memory"] == 4 * 1024**3
    hub.stop_server("bob")


@pytest.fixture(scope="module")
def extension_hub(
    hub: DockerHub, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DockerHub]:
    """The same configuration with an image that has jupyterhub-teams installed."""
    state = tmp_path_factory.mktemp("docker-extension-hub")
    image = ensure_image_with_extension(engine, hub.image, state)
    with DockerHub(state, image, hub.gpu_image).synced(TEAM) as running:
        yield running


def test_with_the_extension_a_removed_members_websockets_close(
    extension_hub: DockerHub, engine: Engine
) -> None:
    hub = extension_hub
    alice, bob = Person(hub, "alice").logged_in(), Person(hub, "bob").logged_in()
    start_as(alice, hub, ACCOUNT)
    assert consent_or_lab(alice.open(f"/user/{ACCOUNT}/lab"))
    assert consent_or_lab(bob.open(f"/user/{ACCOUNT}/lab"))
    socket = bob.open_terminal(ACCOUNT)
    closed = closes_of(socket)
    socket.send('["stdin", "echo still-here\\r"]')
    removed = time.monotonic()
    set_members(hub, TEAM, ["alice"])
    wait_for(lambda: closed, 60, what="bob's terminal websocket to close")
    seconds = closed[0][0] - removed
    print(f"with the extension: a removed member's websocket closed after {seconds:.1f} s")
    assert closed[0][1] == 4403
    assert alice.server_api(ACCOUNT, "GET", "api/status").status_code == 200
    hub.stop_server(ACCOUNT)
    for person in (alice, bob):
        person.close()
