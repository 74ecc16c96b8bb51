"""Spawner settings by value, and applied to real spawner instances (no cluster, no Docker, no
systemd: nothing here starts a server)."""

from __future__ import annotations

import pwd
from typing import Any

# imported plainly: a missing spawner package must fail these tests, never skip them
import dockerspawner
import kubespawner
import pytest
import systemdspawner
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from traitlets.config import Config

from jupyterhub_teams.posix import PosixLocalProcessSpawner
from jupyterhub_teams.posix.identity import Identity, TeamGroup
from jupyterhub_teams.posix.spawners import (
    UnsupportedSpawner,
    apply_identity,
    docker_settings,
    kubespawner_settings,
    systemd_settings,
)

CONTAINER_TEAMS = "/home/jovyan/teams"
CHEMISTRY = TeamGroup("chemistry", "collab-chemistry", 45123, "/srv/teams/chemistry")
PHYSICS = TeamGroup("physics", "collab-physics", 48001, "/srv/teams/physics")
PERSON = Identity(
    "alice@example.org",
    "alice-example-org",
    47001,
    47001,
    "/home/alice-example-org",
    "/bin/bash",
    groups=(CHEMISTRY, PHYSICS),
)
TEAM = Identity(
    "collab-physics", "collab-physics", 30500, 48001, "/srv/teams/physics", "/bin/sh", team=PHYSICS
)
LONER = Identity("bob", "bob", 47002, 47002, "/home/bob", "/bin/bash")


class User:
    def __init__(self, name: str) -> None:
        self.name = name
        self.id = 7
        self.url = f"/user/{name}/"
        self.groups: list[Any] = []


def apply(spawner: Any, identity: Identity, volume_claim: str = "") -> None:
    apply_identity(
        spawner,
        identity,
        umask=0o007,
        container_teams_path=CONTAINER_TEAMS,
        volume_claim=volume_claim,
    )


# --- builders, by value ----------------------------------------------------------------------


def test_docker_settings_for_a_person() -> None:
    assert docker_settings(PERSON, CONTAINER_TEAMS) == {
        "extra_create_kwargs": {"user": "47001:47001"},
        "extra_host_config": {"group_add": ["45123", "48001"]},
        "volumes": {
            "/srv/teams/chemistry": {"bind": "/home/jovyan/teams/chemistry", "mode": "rw"},
            "/srv/teams/physics": {"bind": "/home/jovyan/teams/physics", "mode": "rw"},
        },
    }


def test_docker_settings_for_a_team_account() -> None:
    assert docker_settings(TEAM, "/mnt/teams") == {
        "extra_create_kwargs": {"user": "30500:48001"},
        "extra_host_config": {"group_add": []},
        "volumes": {"/srv/teams/physics": {"bind": "/mnt/teams/physics", "mode": "rw"}},
    }


def test_docker_settings_for_someone_in_no_team() -> None:
    assert docker_settings(LONER, CONTAINER_TEAMS) == {
        "extra_create_kwargs": {"user": "47002:47002"},
        "extra_host_config": {"group_add": []},
        "volumes": {},
    }


def test_kubespawner_settings_without_a_volume_claim() -> None:
    assert kubespawner_settings(PERSON, "", CONTAINER_TEAMS) == {
        "uid": 47001,
        "gid": 47001,
        "fs_gid": 47001,
        "supplemental_gids": [45123, 48001],
    }
    assert kubespawner_settings(TEAM, "", CONTAINER_TEAMS) == {
        "uid": 30500,
        "gid": 48001,
        "fs_gid": 48001,
        "supplemental_gids": [],
    }


def test_kubespawner_settings_with_a_volume_claim() -> None:
    volumes = [{"name": "jupyterhub-teams", "persistentVolumeClaim": {"claimName": "teams-rwx"}}]
    assert kubespawner_settings(PERSON, "teams-rwx", CONTAINER_TEAMS) == {
        "uid": 47001,
        "gid": 47001,
        "fs_gid": 47001,
        "supplemental_gids": [45123, 48001],
        "volumes": volumes,
        "volume_mounts": [
            {
                "name": "jupyterhub-teams",
                "mountPath": "/home/jovyan/teams/chemistry",
                "subPath": "chemistry",
            },
            {
                "name": "jupyterhub-teams",
                "mountPath": "/home/jovyan/teams/physics",
                "subPath": "physics",
            },
        ],
    }
    assert kubespawner_settings(TEAM, "teams-rwx", CONTAINER_TEAMS) == {
        "uid": 30500,
        "gid": 48001,
        "fs_gid": 48001,
        "supplemental_gids": [],
        "volumes": volumes,
        "volume_mounts": [
            {
                "name": "jupyterhub-teams",
                "mountPath": "/home/jovyan/teams/physics",
                "subPath": "physics",
            }
        ],
    }


def test_systemd_settings() -> None:
    assert systemd_settings(PERSON, 0o007) == {
        "username_template": "alice-example-org",
        "user_workingdir": "/home/alice-example-org",
        "unit_extra_properties": {
            "UMask": "0007",
            "SupplementaryGroups": "collab-chemistry collab-physics",
        },
    }
    assert systemd_settings(TEAM, 0o027) == {
        "username_template": "collab-physics",
        "user_workingdir": "/srv/teams/physics",
        "unit_extra_properties": {"UMask": "0027"},
    }


# --- applied to real spawners ----------------------------------------------------------------


async def test_kubespawner(no_cluster: None) -> None:
    spawner = kubespawner.KubeSpawner(_mock=True, user=User("alice@example.org"))
    apply(spawner, PERSON)
    assert (spawner.uid, spawner.gid, spawner.fs_gid) == (47001, 47001, 47001)
    assert spawner.supplemental_gids == [45123, 48001]
    assert spawner.volumes == []
    assert spawner.volume_mounts == []


async def test_kubespawner_keeps_what_the_admin_configured(no_cluster: None) -> None:
    c = Config()
    data_volume = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    data_mount = {"name": "data", "mountPath": "/data"}
    c.KubeSpawner.supplemental_gids = [100, 48001]
    c.KubeSpawner.volumes = [data_volume]
    c.KubeSpawner.volume_mounts = [data_mount]
    c.KubeSpawner.uid = 1000
    spawner = kubespawner.KubeSpawner(_mock=True, config=c, user=User("collab-physics"))
    apply(spawner, TEAM, volume_claim="teams-rwx")
    assert (spawner.uid, spawner.gid, spawner.fs_gid) == (30500, 48001, 48001)
    assert spawner.supplemental_gids == [100, 48001]
    assert spawner.volumes == [
        data_volume,
        {"name": "jupyterhub-teams", "persistentVolumeClaim": {"claimName": "teams-rwx"}},
    ]
    assert spawner.volume_mounts == [
        data_mount,
        {
            "name": "jupyterhub-teams",
            "mountPath": "/home/jovyan/teams/physics",
            "subPath": "physics",
        },
    ]


def test_dockerspawner() -> None:
    spawner = dockerspawner.DockerSpawner()
    apply(spawner, PERSON)
    assert spawner.extra_create_kwargs == {"user": "47001:47001"}
    assert spawner.extra_host_config == {"group_add": ["45123", "48001"]}
    assert spawner.volumes == {
        "/srv/teams/chemistry": {"bind": "/home/jovyan/teams/chemistry", "mode": "rw"},
        "/srv/teams/physics": {"bind": "/home/jovyan/teams/physics", "mode": "rw"},
    }


def test_dockerspawner_keeps_what_the_admin_configured() -> None:
    c = Config()
    c.DockerSpawner.extra_create_kwargs = {"hostname": "lab"}
    c.DockerSpawner.extra_host_config = {"group_add": ["100"], "mem_limit": "1g"}
    c.DockerSpawner.volumes = {"/data": "/home/jovyan/data"}
    spawner = dockerspawner.DockerSpawner(config=c)
    apply(spawner, PERSON)
    assert spawner.extra_create_kwargs == {"hostname": "lab", "user": "47001:47001"}
    assert spawner.extra_host_config == {"group_add": ["100", "45123", "48001"], "mem_limit": "1g"}
    assert spawner.volumes == {
        "/data": "/home/jovyan/data",
        "/srv/teams/chemistry": {"bind": "/home/jovyan/teams/chemistry", "mode": "rw"},
        "/srv/teams/physics": {"bind": "/home/jovyan/teams/physics", "mode": "rw"},
    }


def test_a_dockerspawner_subclass_is_recognised() -> None:
    spawner = dockerspawner.SwarmSpawner()
    apply(spawner, TEAM)
    assert spawner.extra_create_kwargs == {"user": "30500:48001"}
    assert spawner.volumes == {
        "/srv/teams/physics": {"bind": "/home/jovyan/teams/physics", "mode": "rw"}
    }


def test_systemdspawner() -> None:
    spawner = systemdspawner.SystemdSpawner(user=User("alice@example.org"))
    apply(spawner, PERSON)
    assert spawner.username_template == "alice-example-org"
    assert spawner.user_workingdir == "/home/alice-example-org"
    assert spawner.unit_extra_properties == {
        "UMask": "0007",
        "SupplementaryGroups": "collab-chemistry collab-physics",
    }


def test_systemdspawner_keeps_what_the_admin_configured() -> None:
    c = Config()
    c.SystemdSpawner.unit_extra_properties = {"MemoryMax": "1G", "UMask": "0077"}
    spawner = systemdspawner.SystemdSpawner(config=c, user=User("collab-physics"))
    apply(spawner, TEAM)
    assert spawner.username_template == "collab-physics"
    assert spawner.user_workingdir == "/srv/teams/physics"
    assert spawner.unit_extra_properties == {"MemoryMax": "1G", "UMask": "0007"}


def test_posix_local_process_spawner() -> None:
    spawner = PosixLocalProcessSpawner()
    assert spawner.posix_identity is None
    apply_identity(
        spawner, PERSON, umask=0o027, container_teams_path=CONTAINER_TEAMS, volume_claim="x"
    )
    assert spawner.posix_identity == PERSON
    assert spawner.posix_umask == 0o027
    assert isinstance(spawner, LocalProcessSpawner)


def test_posix_local_process_spawner_environment() -> None:
    spawner = PosixLocalProcessSpawner(user=User("alice@example.org"))
    apply(spawner, PERSON)
    env = spawner.user_env({"KEEP": "1", "USER": "someone-else"})
    assert env == {
        "KEEP": "1",
        "USER": "alice-example-org",
        "HOME": "/home/alice-example-org",
        "SHELL": "/bin/bash",
    }
    apply(spawner, TEAM)
    assert spawner.user_env({}) == {
        "USER": "collab-physics",
        "HOME": "/srv/teams/physics",
        "SHELL": "/bin/sh",
    }


def test_posix_local_process_spawner_without_identity_is_a_local_process_spawner() -> None:
    spawner = PosixLocalProcessSpawner(user=User("root"))
    root = pwd.getpwnam("root")
    expected = {"USER": "root", "HOME": root.pw_dir}
    if root.pw_shell:
        expected["SHELL"] = root.pw_shell
    assert spawner.user_env({}) == expected


def test_preexec_without_identity_is_the_parents() -> None:
    spawner = PosixLocalProcessSpawner(user=User("root"))
    plain = LocalProcessSpawner(user=User("root"))
    assert (
        spawner.make_preexec_fn("root").__qualname__ == plain.make_preexec_fn("root").__qualname__
    )
    apply(spawner, PERSON)
    assert spawner.make_preexec_fn("root").__qualname__.endswith("become_owner")


@pytest.mark.parametrize("kind", [SimpleLocalProcessSpawner, LocalProcessSpawner])
def test_an_unsupported_spawner_is_refused(kind: type) -> None:
    spawner = kind()
    with pytest.raises(UnsupportedSpawner) as raised:
        apply(spawner, PERSON)
    assert str(raised.value) == (
        f"{kind.__name__} cannot be given a POSIX identity: use "
        "jupyterhub_teams.posix.PosixLocalProcessSpawner (or SystemdSpawner, DockerSpawner, "
        "KubeSpawner), or turn PosixIdentity.enabled off"
    )


def test_a_restarted_spawner_drops_the_teams_a_person_left() -> None:
    from dockerspawner import DockerSpawner

    spawner = DockerSpawner()
    spawner.extra_host_config = {"group_add": ["999"]}  # configured by the admin
    physics = TeamGroup("physics", "collab-physics", 3001, "/srv/teams/physics")
    chemistry = TeamGroup("chemistry", "collab-chemistry", 3002, "/srv/teams/chemistry")
    both = Identity("alice", "alice", 2001, 2001, "/home/alice", "/bin/bash",
                    groups=(physics, chemistry))  # fmt: skip
    apply_identity(spawner, both, umask=0o007, container_teams_path="/t", volume_claim="")
    assert spawner.extra_host_config["group_add"] == ["999", "3001", "3002"]
    only_physics = Identity("alice", "alice", 2001, 2001, "/home/alice", "/bin/bash",
                            groups=(physics,))  # fmt: skip
    apply_identity(spawner, only_physics, umask=0o007, container_teams_path="/t", volume_claim="")
    assert spawner.extra_host_config["group_add"] == ["999", "3001"]
    assert set(spawner.volumes) == {"/srv/teams/physics"}


def test_kubespawner_settings_with_host_paths() -> None:
    settings = kubespawner_settings(PERSON, "", CONTAINER_TEAMS, host_paths=True)
    assert settings["volumes"] == [
        {"name": "jupyterhub-teams-0",
         "hostPath": {"path": "/srv/teams/chemistry", "type": "Directory"}},
        {"name": "jupyterhub-teams-1",
         "hostPath": {"path": "/srv/teams/physics", "type": "Directory"}},
    ]  # fmt: skip
    assert settings["volume_mounts"] == [
        {"name": "jupyterhub-teams-0", "mountPath": "/home/jovyan/teams/chemistry"},
        {"name": "jupyterhub-teams-1", "mountPath": "/home/jovyan/teams/physics"},
    ]
    # a claim wins; nobody in a team gets no volume
    assert "hostPath" not in str(
        kubespawner_settings(PERSON, "rwx", CONTAINER_TEAMS, host_paths=True)
    )
    assert kubespawner_settings(LONER, "", CONTAINER_TEAMS, host_paths=True)["volumes"] == []
