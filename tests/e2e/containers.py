"""A private Docker engine and the stock single-user image, for the container tests.

The engine keeps its data under the project's cache folder between runs, so the image is
imported once; the image's root filesystem is built once per (Debian suite, JupyterHub,
JupyterLab, jupyter-collaboration) versions by ``scripts/containers/build-image.sh``. The
image has JupyterHub's single-user server and nothing of jupyterhub-teams: the tests prove
that team servers need nothing of ours in the image.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jupyterhub

from .harness import REPO

SCRIPTS = REPO / "scripts" / "containers"
CACHE = Path(os.environ.get("JUPYTERHUB_TEAMS_CACHE", Path.home() / ".cache" / "jupyterhub-teams"))
ENGINE_DIR = CACHE / "docker"


def image_versions() -> tuple[str, str, str]:
    """The image gets the single-user side of the hub's own versions."""
    return jupyterhub.__version__, version("jupyterlab"), version("jupyter-collaboration")


@dataclass
class Engine:
    host: str  # the DOCKER_HOST value

    def docker(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            ["docker", *args],
            env={**os.environ, "DOCKER_HOST": self.host},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def containers(self, **labels: str) -> list[str]:
        """Names of every container (running or not) with these labels."""
        filters = [arg for k, v in labels.items() for arg in ("--filter", f"label={k}={v}")]
        out = self.docker("ps", "-a", "--format", "{{.Names}}", *filters)
        return [line for line in out.splitlines() if line]

    def has_image(self, tag: str) -> bool:
        try:
            self.docker("image", "inspect", tag)
        except AssertionError:
            return False
        return True


def start_engine() -> Iterator[Engine]:
    ENGINE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(SCRIPTS / "docker-engine.sh"), str(ENGINE_DIR), "start"], check=True)
    engine = Engine(f"unix://{ENGINE_DIR}/docker.sock")
    try:
        yield engine
    finally:
        for name in engine.containers():
            engine.docker("rm", "-f", name)
        subprocess.run([str(SCRIPTS / "docker-engine.sh"), str(ENGINE_DIR), "stop"], check=True)


def ensure_stock_image(engine: Engine) -> str:
    """The stock image's tag (named after its cached root filesystem), built and imported
    when this engine lacks it."""
    started = time.monotonic()
    tarball = Path(
        subprocess.run(
            [str(SCRIPTS / "build-image.sh"), str(CACHE / "images"), *image_versions()],
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        ).stdout.strip()
    )
    tag = f"jupyterhub-teams-test/{tarball.stem}:stock"
    if engine.has_image(tag):
        return tag
    engine.docker(
        "import",
        "-c", "ENV PATH=/opt/jh/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "-c", "ENV LANG=C.UTF-8",
        "-c", "WORKDIR /tmp",
        "-c", 'CMD ["jupyterhub-singleuser"]',
        str(tarball), tag,
    )  # fmt: skip
    print(f"stock image {tag} ready in {time.monotonic() - started:.1f} s")
    return tag


def ensure_image_with_extension(engine: Engine, stock: str, workdir: Path) -> str:
    """The stock image plus this checkout of jupyterhub-teams (its wheel, no dependencies:
    the image already has them), its command unchanged. Built afresh for each run, since the
    code under test changes."""
    wheels = workdir / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(wheels)],
        check=True,
        timeout=600,
    )
    wheel = next(wheels.glob("jupyterhub_teams-*.whl"))
    tag = stock.replace(":stock", ":with-extension")
    builder = f"jupyterhub-teams-build-{os.getpid()}"
    engine.docker(
        "run", "--name", builder, "--network", "none", "-v", f"{wheels}:/wheels:ro", stock,
        "pip", "install", "-q", "--no-deps", "--no-index", f"/wheels/{wheel.name}",
    )  # fmt: skip
    try:
        engine.docker("commit", "-c", 'CMD ["jupyterhub-singleuser"]', builder, tag)
    finally:
        engine.docker("rm", "-f", builder)
    return tag


@dataclass
class Cluster:
    """A running one-node cluster: its kubeconfig and an admin view of its API."""

    directory: Path

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def api(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        import httpx
        import yaml

        config = yaml.safe_load(self.kubeconfig.read_text())
        server = config["clusters"][0]["cluster"]["server"]
        token = config["users"][0]["user"]["token"]
        # a self-signed certificate made by the test cluster for itself
        response = httpx.request(
            method,
            f"{server}{path}",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            verify=False,  # noqa: S501
            timeout=30,
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def pods(self, namespace: str = "default") -> dict[str, Any]:
        items = self.api(f"/api/v1/namespaces/{namespace}/pods")["items"]
        return {pod["metadata"]["name"]: pod for pod in items}


def kube_binaries() -> Path:
    """Where build-kube.sh keeps (or, the first time, builds) the cluster's binaries."""
    started = time.monotonic()
    done = subprocess.run(
        [str(SCRIPTS / "build-kube.sh"), str(CACHE / "kube")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
    )
    print(f"Kubernetes binaries ready in {time.monotonic() - started:.1f} s")
    return Path(done.stdout.strip().splitlines()[-1])


def start_cluster(engine: Engine, directory: Path) -> Iterator[Cluster]:
    environment = {**os.environ, "DOCKER_HOST": engine.host, "KUBE_BIN": str(kube_binaries())}
    script = str(SCRIPTS / "kube-cluster.sh")
    started = time.monotonic()
    subprocess.run([script, str(directory), "up"], check=True, env=environment, timeout=300)
    print(f"cluster up in {time.monotonic() - started:.1f} s")
    try:
        yield Cluster(directory)
    finally:
        subprocess.run([script, str(directory), "down"], check=True, env=environment, timeout=120)
