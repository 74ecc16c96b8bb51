"""Team servers and group-restricted profiles as real pods, with KubeSpawner.

A one-node cluster (``containers.py``: API server, scheduler and kubelet built from Debian's
sources, the tests' Docker engine as the runtime), the stock single-user image (nothing of
jupyterhub-teams in it), a real hub and proxy. Pods use the host network, so each listens on
127.0.0.1 on a port of its own.
"""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyterhub_teams.demo.hub import free_port
from jupyterhub_teams.demo.proxy import find_proxy

from .containers import Cluster, Engine, ensure_stock_image, start_cluster
from .harness import (
    Hub,
    Person,
    assert_only_members_get_in,
    assert_team_data_survives_stop_and_retirement,
    consent_or_lab,
    contents,
    seconds_until_refused,
    sessions,
    set_members,
    start_as,
    wait_for,
    write,
)
from .z2jh_chart import CHART_VERSION, HOST_NETWORK_PODS, RELEASE, ChartHub

TEAM = "physics"
ACCOUNT = f"collab-{TEAM}"

PROFILES = [
    {
        "slug": "standard",
        "display_name": "Standard",
        "default": True,
        "profile_options": {
            "memory": {
                "display_name": "Memory",
                "choices": {
                    "small": {
                        "display_name": "1 GB",
                        "default": True,
                        "kubespawner_override": {"mem_limit": "1G"},
                    },
                    "large": {
                        "display_name": "4 GB",
                        "allowed_groups": ["physics"],
                        "kubespawner_override": {"mem_limit": "4G"},
                    },
                },
            }
        },
    },
    {
        "slug": "gpu",
        "display_name": "GPU",
        "allowed_groups": ["gpu-users"],
        "kubespawner_override": {"cpu_limit": 2.0},
    },
]


class KubeHub(Hub):
    """A hub whose servers are pods of the test cluster."""

    def __init__(
        self, state_dir: Path, image: str, kubeconfig: Path, team_claim: str | None = None
    ) -> None:
        super().__init__(state_dir, sync_interval=2)
        self.image, self.kubeconfig = image, kubeconfig
        self.teams_root = state_dir / "teams"
        self.teams_root.mkdir()
        # team directories: one claim with a subPath per team, or hostPath volumes of the node
        self.team_storage = (
            f"c.PosixIdentity.team_volume_claim = {team_claim!r}"
            if team_claim
            else "c.PosixIdentity.team_host_paths = True"
        )

    def write_config(self) -> Path:
        config = (
            textwrap.dedent(
                f"""\
            import jupyterhub_teams

            c.JupyterHub.services = [{{"name": "test-admin", "api_token": {self.admin_token!r}}}]
            c.JupyterHub.load_roles = [{{"name": "admin", "services": ["test-admin"]}}]
            c.JupyterHub.log_level = "DEBUG"
            c.JupyterHub.bind_url = {self.url!r}
            c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
            c.ConfigurableHTTPProxy.command = {find_proxy(install=False)!r}
            c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
            c.JupyterHub.authenticator_class = "dummy"
            c.DummyAuthenticator.password = "demo"

            c.KubeSpawner.namespace = "default"
            c.KubeSpawner.image = {self.image!r}
            c.KubeSpawner.image_pull_policy = "Never"
            c.KubeSpawner.cmd = ["jupyterhub-singleuser"]  # z2jh's singleuser.cmd default
            c.KubeSpawner.uid = 1000
            c.KubeSpawner.gid = 100
            c.KubeSpawner.fs_gid = None
            c.KubeSpawner.environment = {{"HOME": "/home/jovyan"}}
            c.KubeSpawner.start_timeout = 120
            c.KubeSpawner.http_timeout = 60
            c.KubeSpawner.poll_interval = 10  # notice an evicted pod sooner than the default 30 s
            c.KubeSpawner.profile_list = {PROFILES!r}
            """
            )
            + HOST_NETWORK_PODS
            + textwrap.dedent(
                f"""
            # stable uids and gids; team directories as volumes
            c.PosixIdentity.enabled = True
            c.PosixIdentity.create_accounts = False
            c.PosixIdentity.registry_path = {str(self.state_dir / "ids.sqlite")!r}
            c.PosixIdentity.uid_range = [47100, 47899]
            c.PosixIdentity.gid_range = [48100, 48899]
            c.PosixIdentity.team_directory_root = {str(self.teams_root)!r}
            {self.team_storage}

            c.JupyterHubTeams.directory = {str(self.directory)!r}
            c.JupyterHubTeams.sync_interval = {self.sync_interval}
            jupyterhub_teams.setup(c)
            """
            )
        )
        path = self.state_dir / "jupyterhub_config.py"
        path.write_text(config)
        return path

    def environment(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig)}


@pytest.fixture(scope="module")
def cluster(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from start_cluster(engine, tmp_path_factory.mktemp("cluster"))


@pytest.fixture(scope="module")
def hub(
    engine: Engine, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeHub]:
    image = ensure_stock_image(engine)
    state = tmp_path_factory.mktemp("kube-hub")
    with KubeHub(state, image, cluster.kubeconfig).synced(TEAM) as running:
        yield running


@pytest.fixture(scope="module")
def people(hub: KubeHub) -> Iterator[dict[str, Person]]:
    people = sessions(hub)
    yield people
    for person in people.values():
        person.close()


def pod_of(cluster: Cluster, user: str) -> dict[str, Any] | None:
    for pod in cluster.pods().values():
        env = pod["spec"]["containers"][0].get("env") or []
        if {"name": "JUPYTERHUB_USER", "value": user} in env:
            return dict(pod)
    return None


def test_a_team_server_pod_lets_in_exactly_its_members(
    hub: KubeHub, cluster: Cluster, people: dict[str, Person]
) -> None:
    seconds = start_as(people["alice"], hub, ACCOUNT)
    print(f"team server pod ready in {seconds:.1f} s")
    pod = pod_of(cluster, ACCOUNT)
    assert pod is not None
    container = pod["spec"]["containers"][0]
    assert container["image"] == hub.image
    assert "--HubOAuth.cache_max_age=10" in container.get("args", [])

    assert_only_members_get_in(people, ACCOUNT, {"alice", "bob"})
    seconds = seconds_until_refused(hub, people["bob"], ACCOUNT, TEAM, ["alice"])
    print(f"removed member refused by the pod after {seconds:.1f} s")
    assert people["alice"].server_api(ACCOUNT, "GET", "api/status").status_code == 200
    set_members(hub, TEAM, ["alice", "bob"])
    hub.stop_server(ACCOUNT)
    wait_for(lambda: pod_of(cluster, ACCOUNT) is None, 60, what="the team server pod to go")


def kube_form_offers(person: Person) -> tuple[set[str], set[str]]:
    """The profiles and the memory choices of ``standard`` on KubeSpawner's own spawn form."""
    page = person.open(f"/hub/spawn/{person.name}").text
    profiles = set(re.findall(r'name="profile"[^>]*value="([^"]+)"', page))
    select = re.search(r'name="profile-option-standard--memory".*?</select>', page, re.S)
    choices = set(re.findall(r'<option value="([^"]+)"', select.group(0))) if select else set()
    return profiles, choices


def test_each_person_is_offered_exactly_their_profiles_and_choices(
    hub: KubeHub, people: dict[str, Person]
) -> None:
    expected = {
        "alice": ({"standard"}, {"small", "large"}),
        "bob": ({"standard"}, {"small", "large"}),
        "carol": ({"standard"}, {"small"}),
        "dave": ({"standard"}, {"small"}),
        "erin": ({"standard", "gpu"}, {"small"}),
    }
    hub.wait_for_sync(  # an earlier test may just have put bob back
        lambda: set((hub.group(TEAM) or {}).get("users", [])) == {"alice", "bob"},
        what="physics to be alice and bob",
    )
    offered = {name: kube_form_offers(people[name]) for name in expected}
    assert offered == expected


def test_a_forged_hidden_choice_is_refused_and_no_pod_is_made(
    hub: KubeHub, cluster: Cluster, people: dict[str, Person]
) -> None:
    before = set(cluster.pods())
    # stock KubeSpawner with a filtering profile_list fails with KeyError on a hidden choice
    forged = {"profile": "standard", "memory": "large"}
    r = people["dave"].hub_api("POST", "users/dave/server", json={"user_options": forged})
    assert r.status_code == 403, r.text
    assert "Choice 'large' of option 'memory'" in r.json()["message"]
    r = people["dave"].hub_api(
        "POST", "users/dave/server", json={"user_options": {"profile": "gpu"}}
    )
    assert r.status_code == 403, r.text
    assert "Profile 'gpu' is not available to you" in r.json()["message"]
    time.sleep(1)
    assert set(cluster.pods()) == before  # the API server never saw a pod for it
    assert hub.server_stopped("dave")

    # alice may have the large choice: her pod carries its memory limit
    start_as(people["alice"], hub, "alice", {"profile": "standard", "memory": "large"})
    pod = pod_of(cluster, "alice")
    assert pod is not None
    # KubeSpawner turns "4G" into bytes
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == str(4 * 1024**3)
    hub.stop_server("alice")


def assert_team_volumes_in_members_pods_only(
    hub: KubeHub, cluster: Cluster, people: dict[str, Person]
) -> dict[str, Any]:
    """alice's pod mounts her teams' directories, dave's none; a file alice writes into the
    team's directory from her pod carries her uid and the team's gid. Returns alice's pod."""
    alice, dave = people["alice"], people["dave"]
    start_as(alice, hub, "alice")
    start_as(dave, hub, "dave")
    alice_pod, dave_pod = pod_of(cluster, "alice"), pod_of(cluster, "dave")
    assert alice_pod is not None and dave_pod is not None
    mounts = {m["mountPath"] for m in alice_pod["spec"]["containers"][0]["volumeMounts"]}
    assert {"/home/jovyan/teams/physics", "/home/jovyan/teams/chemistry"} <= mounts
    dave_container = dave_pod["spec"]["containers"][0]
    dave_mounts = {m["mountPath"] for m in dave_container.get("volumeMounts", [])}
    assert not [m for m in dave_mounts if "/teams/" in m]
    physics_gid = hub.group(TEAM)["properties"]["jupyterhub_teams"]["gid"]
    container = alice_pod["spec"]["containers"][0]
    assert container["securityContext"]["runAsUser"] == 2001  # the directory's uid for alice
    assert physics_gid in alice_pod["spec"]["securityContext"]["supplementalGroups"]

    assert consent_or_lab(alice.open("/user/alice/lab"))
    write(alice, "alice", f"teams/{TEAM}/from-a-pod.txt", "from a pod")
    made = (hub.teams_root / TEAM / "from-a-pod.txt").stat()
    assert (made.st_uid, made.st_gid) == (2001, physics_gid)
    assert consent_or_lab(dave.open("/user/dave/lab"))
    assert contents(dave, "dave", f"teams/{TEAM}").status_code == 404
    for name in ("alice", "dave"):
        hub.stop_server(name)
    return alice_pod


def test_team_directories_are_host_path_volumes_of_members_pods_only(
    hub: KubeHub, cluster: Cluster, people: dict[str, Person]
) -> None:
    pod = assert_team_volumes_in_members_pods_only(hub, cluster, people)
    sources = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert any(
        v.get("hostPath", {}).get("path") == str(hub.teams_root / TEAM) for v in sources.values()
    )


def bind_claim(cluster: Cluster, claim: str, host_path: Path) -> None:
    """What kube-controller-manager's volume binder does (the test cluster runs none): a
    ReadWriteMany claim and a PersistentVolume on ``host_path``, bound to each other."""
    merge = {"Content-Type": "application/merge-patch+json"}
    made = cluster.api(
        "/api/v1/namespaces/default/persistentvolumeclaims",
        "POST",
        json={
            # the scheduler takes a claim as bound only with the binder's annotation
            "metadata": {"name": claim, "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": f"{claim}-volume",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    claim_ref = {"namespace": "default", "name": claim, "uid": made["metadata"]["uid"]}
    cluster.api(
        "/api/v1/persistentvolumes",
        "POST",
        json={
            "metadata": {"name": f"{claim}-volume"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(host_path), "type": "Directory"},
                "claimRef": claim_ref,
            },
        },
    )
    bound = {"phase": "Bound"}
    cluster.api(
        f"/api/v1/persistentvolumes/{claim}-volume/status",
        "PATCH",
        headers=merge,
        json={"status": bound},
    )
    cluster.api(
        f"/api/v1/namespaces/default/persistentvolumeclaims/{claim}/status",
        "PATCH",
        headers=merge,
        json={
            "status": {**bound, "accessModes": ["ReadWriteMany"], "capacity": {"storage": "1Gi"}}
        },
    )


def test_team_directories_are_subpaths_of_one_claim_in_members_pods_only(
    engine: Engine, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``team_volume_claim``: one ReadWriteMany claim holds every team, mounted with one
    ``subPath`` per team; the hub makes the directories in its own mount of the same volume."""
    state = tmp_path_factory.mktemp("claim-hub")
    claimed = KubeHub(state, ensure_stock_image(engine), cluster.kubeconfig, team_claim="teams")
    bind_claim(cluster, "teams", claimed.teams_root)
    with claimed.synced(TEAM) as hub:
        people = sessions(hub)
        try:
            pod = assert_team_volumes_in_members_pods_only(hub, cluster, people)
        finally:
            for person in people.values():
                person.close()
    claims = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert [v["persistentVolumeClaim"]["claimName"] for v in claims] == ["teams"]
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    by_path = {m["mountPath"]: m for m in mounts if m["name"] == claims[0]["name"]}
    assert by_path[f"/home/jovyan/teams/{TEAM}"]["subPath"] == TEAM


def test_team_data_outlives_a_removed_member_an_evicted_pod_stops_and_retirement(
    hub: KubeHub, cluster: Cluster, people: dict[str, Person]
) -> None:
    alice, bob = people["alice"], people["bob"]
    # a removed member's next pod has neither the team's volume nor its gid
    set_members(hub, TEAM, ["alice"])
    hub.wait_for_sync(
        lambda: "bob" not in (hub.group(TEAM) or {}).get("users", []), what="bob leaving"
    )
    start_as(bob, hub, "bob")
    bob_pod = pod_of(cluster, "bob")
    assert bob_pod is not None
    bob_mounts = {m["mountPath"] for m in bob_pod["spec"]["containers"][0].get("volumeMounts", [])}
    assert f"/home/jovyan/teams/{TEAM}" not in bob_mounts
    physics_gid = hub.group(TEAM)["properties"]["jupyterhub_teams"]["gid"]
    assert physics_gid not in bob_pod["spec"]["securityContext"].get("supplementalGroups", [])
    hub.stop_server("bob")
    set_members(hub, TEAM, ["alice", "bob"])

    # a pod deleted behind the hub's back (an eviction): the hub sees the server stopped at
    # its next poll, and a member starts it again
    start_as(alice, hub, ACCOUNT)
    evicted = pod_of(cluster, ACCOUNT)
    assert evicted is not None
    path = f"/api/v1/namespaces/default/pods/{evicted['metadata']['name']}"
    cluster.api(path, "DELETE", params={"gracePeriodSeconds": 0})
    seconds = wait_for_seconds(lambda: hub.server_stopped(ACCOUNT), 90, "the hub to see it")
    print(f"the hub saw the evicted team server pod gone after {seconds:.1f} s")

    def no_pod() -> None:
        wait_for(lambda: pod_of(cluster, ACCOUNT) is None, 60, what="the pod to go")

    assert_team_data_survives_stop_and_retirement(hub, alice, TEAM, hub.teams_root, no_pod)


def wait_for_seconds(check: Any, timeout: float, what: str) -> float:
    began = time.monotonic()
    wait_for(check, timeout, what=what)
    return time.monotonic() - began


def test_the_charts_own_config_runs_the_docs_values(
    engine: Engine, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """docs/kubernetes.md's ``values.yaml``, read by the chart's own ``jupyterhub_config.py``
    and ``z2jh.py`` from the files the chart mounts, makes a hub whose team server is a pod on
    the docs' team-only profile, and whose profiles hold back what a person may not have."""
    chart = ChartHub(
        tmp_path_factory.mktemp("chart-hub"), ensure_stock_image(engine), cluster.kubeconfig
    )
    with chart.synced(TEAM) as hub:
        people = sessions(hub)
        try:
            log = hub.log_text()
            assert "Loading pass-through config section hub.config.JupyterHubTeams" in log
            assert "Loading extra config: zz-jupyterhub-teams" in log
            seconds = start_as(people["bob"], hub, ACCOUNT)
            print(f"team server pod from the chart's config ready in {seconds:.1f} s")
            pod = pod_of(cluster, ACCOUNT)
            assert pod is not None
            labels = pod["metadata"]["labels"]  # the chart's common labels
            assert labels["release"] == RELEASE
            assert labels["helm.sh/chart"] == f"jupyterhub-{CHART_VERSION}"
            container = pod["spec"]["containers"][0]
            assert container["resources"]["limits"]["memory"] == str(4 * 1024**3)  # "team"
            assert "--HubOAuth.cache_max_age=10" in container["args"]
            assert_only_members_get_in(people, ACCOUNT, {"alice", "bob"})

            dave = people["dave"]
            for forged, reason in (
                ({"profile": "standard", "memory": "large"}, "Choice 'large' of option 'memory'"),
                ({"profile": "gpu"}, "Profile 'gpu' is not available to you"),
                ({"profile": "team"}, "Profile 'team' is not available to you"),
            ):
                r = dave.hub_api("POST", "users/dave/server", json={"user_options": forged})
                assert r.status_code == 403, r.text
                assert reason in r.json()["message"]
            assert pod_of(cluster, "dave") is None
            hub.stop_server(ACCOUNT)  # the chart keeps pods when the hub stops
        finally:
            for person in people.values():
                person.close()
