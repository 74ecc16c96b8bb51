"""The zero-to-jupyterhub chart's own hub configuration, run the way the chart runs it.

In the chart's hub pod, ``jupyterhub_config.py`` and ``z2jh.py`` sit in
``/usr/local/etc/jupyterhub``; the rendered values are a Secret mounted at ``secret/`` there
(``values.yaml`` plus one file per generated secret), resource names a ConfigMap at
``config/``, extra config files at ``jupyterhub_config.d/``, and Kubernetes sets
``<SERVICE>_SERVICE_PORT`` variables. :class:`ChartHub` lays out the same files in a folder and
starts the hub in a mount namespace of its own in which that folder *is*
``/usr/local/etc/jupyterhub`` and the directory's ConfigMap is at the docs' path, so the
chart's files run unmodified with the docs' values.

What the test cluster cannot offer a chart (Services with cluster DNS, a proxy pod, a storage
provisioner, the cloud-metadata init container's image) is set in one values override and one
``jupyterhub_config.d`` file, both below, each line saying why.
"""

from __future__ import annotations

import secrets
import shutil
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from jupyterhub_teams.demo.hub import BUNDLED_DIRECTORY, free_port
from jupyterhub_teams.demo.proxy import find_proxy

from ..chart_values import CHART, rendered
from .harness import Hub

CHART_VERSION = "4.3.0"  # the release whose files are in tests/z2jh
RELEASE = "teams"
ETC = "/usr/local/etc"  # where the hub image keeps the chart's files
# the resource names jupyterhub_config.py can ask the chart's ConfigMap for
NAMES = ("hub", "proxy-api", "proxy-public", "singleuser", "user-scheduler", "priority")

# Pods of the test cluster share the host's network: each listens on 127.0.0.1 on a port of
# its own, and the hub reaches it there.
HOST_NETWORK_PODS = """
import socket

from kubespawner import KubeSpawner


class HostNetworkKubeSpawner(KubeSpawner):
    async def _start(self):
        with socket.socket() as probe:  # every pod on a port of its own
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        return await super()._start()


c.JupyterHub.spawner_class = HostNetworkKubeSpawner
c.KubeSpawner.extra_pod_config = {"hostNetwork": True, "dnsPolicy": "Default"}
c.KubeSpawner.pod_connect_ip = "127.0.0.1"
c.KubeSpawner.ip = "127.0.0.1"
c.KubeSpawner.delete_grace_period = 0
c.KubeSpawner.notebook_dir = "/home/jovyan"  # the stock test image's WORKDIR is /tmp
"""


class ChartHub(Hub):
    """A hub configured by the chart's ``jupyterhub_config.py`` from the docs' values."""

    def __init__(self, state_dir: Path, image: str, kubeconfig: Path) -> None:
        self.configmap = state_dir / "srv" / "jupyterhub-teams"  # the directory's ConfigMap
        self.configmap.mkdir(parents=True)
        shutil.copyfile(BUNDLED_DIRECTORY, self.configmap / "directory.yaml")
        super().__init__(state_dir, directory=self.configmap / "directory.yaml", sync_interval=2)
        self.image, self.kubeconfig = image, kubeconfig
        self.etc = state_dir / "etc"
        self.hub_port, self.proxy_api_port = free_port(), free_port()
        self.values = rendered(self.test_values())

    def test_values(self) -> dict[str, Any]:
        """The second ``-f`` of ``helm install``: what differs on the test cluster."""
        name, tag = self.image.rsplit(":", 1)
        return {
            "hub": {
                "config": {
                    # log in without an identity provider; the teams come from the directory
                    "JupyterHub": {"authenticator_class": "dummy", "log_level": "DEBUG"},
                    "DummyAuthenticator": {"password": "demo"},
                    "JupyterHubTeams": {"sync_interval": self.sync_interval},
                },
                # the tests' own REST client
                "services": {"test-admin": {}},
                "loadRoles": {"admin": {"services": ["test-admin"]}},
            },
            "singleuser": {
                "image": {"name": name, "tag": tag, "pullPolicy": "Never"},  # no registry
                "storage": {"type": "none"},  # no provisioner to bind a claim per person
                "cloudMetadata": {"blockWithIptables": False},  # pods use the host's network
                "extraEnv": {"HOME": "/home/jovyan"},  # the stock image has no passwd entry
            },
            # the chart's own scheduler is a Deployment it installs; here the cluster's
            "scheduling": {"userScheduler": {"enabled": False}},
            "cull": {"enabled": False},  # jupyterhub-idle-culler is not what is tested
        }

    def environment_file(self) -> str:
        """``jupyterhub_config.d/``: where the hub, proxy and pods meet without Services."""
        return (
            textwrap.dedent(
                f"""\
                # no Services or cluster DNS: names the chart builds from "hub" and
                # "proxy-api" become 127.0.0.1, and the proxy runs beside the hub, not in a pod
                c.JupyterHub.bind_url = {self.url!r}
                c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.hub_port}"
                c.JupyterHub.hub_connect_url = "http://127.0.0.1:{self.hub_port}"
                c.ConfigurableHTTPProxy.should_start = True
                c.ConfigurableHTTPProxy.command = {find_proxy(install=False)!r}
                c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
                """
            )
            + HOST_NETWORK_PODS
        )

    def write_config(self) -> Path:
        jsonschema.validate(self.values, yaml.safe_load((CHART / "values.schema.yaml").read_text()))
        hub_dir = self.etc / "jupyterhub"
        for folder in ("secret", "config", "jupyterhub_config.d"):
            (hub_dir / folder).mkdir(parents=True, exist_ok=True)
        for chart_file in ("jupyterhub_config.py", "z2jh.py"):
            shutil.copyfile(CHART / chart_file, hub_dir / chart_file)
        secret = {
            # the chart's templates add the chart's and the release's names to the values
            "values.yaml": yaml.safe_dump(
                {
                    **self.values,
                    "Chart": {"Name": "jupyterhub", "Version": CHART_VERSION},
                    "Release": {"Name": RELEASE, "Namespace": "default"},
                }
            ),
            "hub.config.JupyterHub.cookie_secret": secrets.token_hex(32),
            "hub.config.CryptKeeper.keys": secrets.token_hex(32),
            "hub.services.test-admin.apiToken": self.admin_token,
        }
        for key, value in secret.items():
            (hub_dir / "secret" / key).write_text(value)
        # the chart's ConfigMap maps short names to the release's resource names
        for short_name in NAMES:
            (hub_dir / "config" / short_name).write_text(f"{RELEASE}-{short_name}")
        (hub_dir / "jupyterhub_config.d" / "test-cluster.py").write_text(self.environment_file())
        return Path(ETC) / "jupyterhub" / "jupyterhub_config.py"

    def environment(self) -> dict[str, str]:
        return {
            "KUBECONFIG": str(self.kubeconfig),  # in a pod: its service account
            "POD_NAMESPACE": "default",  # the chart sets it from the pod's own namespace
            # Kubernetes sets these for the release's Services
            f"{RELEASE.upper()}_HUB_SERVICE_PORT": str(self.hub_port),
            f"{RELEASE.upper()}_PROXY_API_SERVICE_PORT": str(self.proxy_api_port),
        }

    def command(self, config: Path) -> list[str]:
        # A private mount namespace (unshare's default propagation): the mounts end with the
        # hub and are never seen outside it.
        script = (
            'mount --bind "$1" /usr/local/etc && mount --bind "$2" /srv && shift 2 && exec "$@"'
        )
        return [
            "unshare", "--mount", "sh", "-c", script, "sh",
            str(self.etc), str(self.configmap.parent),
            *super().command(config),
        ]  # fmt: skip
