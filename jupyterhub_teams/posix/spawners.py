"""Giving a spawner an identity: pure builders of spawner settings, and the local spawner.

Each builder returns the settings a spawner class needs, as plain values, so it is tested by
value; :func:`apply_identity` sets them on the spawner about to start.

* Local processes: :class:`PosixLocalProcessSpawner` switches to the uid, gid and the teams'
  gids itself (``LocalProcessSpawner`` would look the JupyterHub name up in ``/etc/passwd``,
  and a mapped name such as ``alice-example-org`` is not that name).
* systemd: ``SystemdSpawner`` runs the unit as the system user with the teams' groups.
* Docker: ``DockerSpawner`` runs the container as ``uid:gid`` with the teams' gids added and
  the team directories mounted.
* Kubernetes: ``KubeSpawner`` gets ``runAsUser``/``runAsGroup``/``fsGroup`` and supplemental
  groups, and team directories as ``subPath`` mounts of one volume claim.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner

from .identity import Identity
from .links import refresh_links


def _mounts(identity: Identity) -> list[tuple[str, str]]:
    """(team, host directory) for every team directory the server should see."""
    teams = [identity.team] if identity.team is not None else list(identity.groups)
    return [(t.team, t.directory) for t in teams]


def docker_settings(identity: Identity, container_teams_path: str) -> dict[str, Any]:
    """DockerSpawner settings: ``user`` and ``group_add`` for the container, team mounts."""
    return {
        "extra_create_kwargs": {"user": f"{identity.uid}:{identity.gid}"},
        "extra_host_config": {"group_add": [str(g) for g in identity.supplementary_gids]},
        "volumes": {
            directory: {"bind": f"{container_teams_path}/{team}", "mode": "rw"}
            for team, directory in _mounts(identity)
        },
    }


def kubespawner_settings(
    identity: Identity, volume_claim: str, container_teams_path: str, *, host_paths: bool = False
) -> dict[str, Any]:
    """KubeSpawner settings: the pod's security context ids, and team ``subPath`` mounts of
    the claim ``volume_claim``, or with ``host_paths`` (and no claim) each team directory as a
    ``hostPath`` volume of the node; no team mounts otherwise."""
    settings: dict[str, Any] = {
        "uid": identity.uid,
        "gid": identity.gid,
        "fs_gid": identity.gid,
        "supplemental_gids": list(identity.supplementary_gids),
    }
    if volume_claim:
        settings["volumes"] = [
            {"name": "jupyterhub-teams", "persistentVolumeClaim": {"claimName": volume_claim}}
        ]
        settings["volume_mounts"] = [
            {"name": "jupyterhub-teams", "mountPath": f"{container_teams_path}/{team}",
             "subPath": team}
            for team, _ in _mounts(identity)
        ]  # fmt: skip
    elif host_paths:
        mounts = list(enumerate(_mounts(identity)))
        settings["volumes"] = [
            {"name": f"jupyterhub-teams-{i}",
             "hostPath": {"path": directory, "type": "Directory"}}
            for i, (_, directory) in mounts
        ]  # fmt: skip
        settings["volume_mounts"] = [
            {"name": f"jupyterhub-teams-{i}", "mountPath": f"{container_teams_path}/{team}"}
            for i, (team, _) in mounts
        ]
    return settings


def systemd_settings(identity: Identity, umask: int) -> dict[str, Any]:
    """SystemdSpawner settings: the system user, working directory and groups of the unit."""
    names = " ".join(g.system_name for g in identity.groups)
    properties = {"UMask": f"{umask:04o}"}
    if names:
        properties["SupplementaryGroups"] = names
    return {
        "username_template": identity.system_name,
        "user_workingdir": identity.home,
        "unit_extra_properties": properties,
    }


def _merge(current: Any, new: Any) -> Any:
    """Settings the admin configured stay; ours are added (dicts merged, lists extended)."""
    if isinstance(current, dict) and isinstance(new, dict):
        merged = dict(current)
        for key, value in new.items():
            merged[key] = _merge(current.get(key), value)
        return merged
    if isinstance(current, list) and isinstance(new, list):
        return [*current, *(item for item in new if item not in current)]
    return new


def _class_names(spawner: Any) -> set[str]:
    return {cls.__name__ for cls in type(spawner).__mro__}


class UnsupportedSpawner(Exception):
    """The spawner cannot be given an identity; the message says which to use instead."""


def apply_identity(
    spawner: Any,
    identity: Identity,
    *,
    umask: int,
    container_teams_path: str,
    volume_claim: str,
    host_paths: bool = False,
) -> None:
    """Set ``identity`` on ``spawner`` (any of the four kinds above)."""
    names = _class_names(spawner)
    if isinstance(spawner, PosixLocalProcessSpawner):
        spawner.posix_identity = identity
        spawner.posix_umask = umask
        return
    if "KubeSpawner" in names:
        settings = kubespawner_settings(
            identity, volume_claim, container_teams_path, host_paths=host_paths
        )
    elif "DockerSpawner" in names:
        settings = docker_settings(identity, container_teams_path)
    elif "SystemdSpawner" in names:
        settings = systemd_settings(identity, umask)
    else:
        raise UnsupportedSpawner(
            f"{type(spawner).__name__} cannot be given a POSIX identity: use "
            "jupyterhub_teams.posix.PosixLocalProcessSpawner (or SystemdSpawner, DockerSpawner, "
            "KubeSpawner), or turn PosixIdentity.enabled off"
        )
    # JupyterHub keeps a spawner object across stops and starts: merge into the settings the
    # admin configured, kept from the first start, never into the last start's identity (a
    # person who left a team must not keep its gid or its mount).
    configured = spawner.__dict__.setdefault("_jupyterhub_teams_configured", {})
    for name, value in settings.items():
        if name not in configured:
            configured[name] = copy.deepcopy(getattr(spawner, name, None))
        setattr(spawner, name, _merge(configured[name], value))


class PosixLocalProcessSpawner(LocalProcessSpawner):  # type: ignore[misc]
    """A ``LocalProcessSpawner`` that runs the server with the identity jupyterhub-teams gave
    it: system user, primary group, the teams' gids, umask, and team links in the home."""

    posix_identity: Identity | None = None
    posix_umask: int = 0o007
    # folder in the home for team links ("" for none), and where team directories live
    team_links: str = "teams"
    team_directory_root: str = "/srv/teams"

    def make_preexec_fn(self, name: str) -> Any:
        identity = self.posix_identity
        if identity is None:
            return super().make_preexec_fn(name)
        umask = self.posix_umask
        links = {g.team: g.directory for g in identity.groups}
        links_folder = os.path.join(identity.home, self.team_links) if self.team_links else ""
        team_root = self.team_directory_root

        def become_owner() -> None:
            # runs in the child between fork and exec: only the calls it needs
            os.setgroups(list(identity.supplementary_gids))
            os.setgid(identity.gid)
            os.setuid(identity.uid)
            os.umask(umask)
            if links_folder:
                try:
                    refresh_links(links_folder, links, team_root)
                except OSError as exc:
                    print(f"team links in {links_folder} not refreshed: {exc}", file=sys.stderr)
            try:
                os.chdir(identity.home)
            except OSError as exc:
                print(f"cannot enter {identity.home}: {exc}", file=sys.stderr)

        return become_owner

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        identity = self.posix_identity
        if identity is None:
            result: dict[str, str] = super().user_env(env)
            return result
        env["USER"] = identity.system_name
        env["HOME"] = identity.home
        env["SHELL"] = identity.shell
        return env
