"""A complete demo hub's configuration, used by ``jupyterhub-teams demo`` and the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets.config import Config

from ..integration import setup
from ..integration.hub_config import free_port
from ..profiles.demo import demo_profile_list

BUNDLED_DIRECTORY = Path(__file__).with_name("directory.yaml")
DEMO_ADMIN = "admin"


def configure_demo(
    c: Config,
    *,
    state_dir: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    port: int = 8000,
    hub_port: int | None = None,
    proxy_api_port: int | None = None,
    proxy_command: list[str] | None = None,
    sync_interval: float = 5.0,
    revocation_interval: int = 10,
) -> None:
    """Fill ``c`` with a self-contained hub on 127.0.0.1:``port`` keeping its state in
    ``state_dir``; then ``setup(c)``."""
    state = Path(state_dir).resolve()
    (state / "homes").mkdir(parents=True, exist_ok=True)
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = hub_port or free_port()
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port or free_port()}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
    if proxy_command:
        c.ConfigurableHTTPProxy.command = proxy_command
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True

    c.JupyterHub.authenticator_class = "jupyterhub_teams.demo.auth.DemoAuthenticator"
    c.Authenticator.admin_users = {DEMO_ADMIN}
    c.Authenticator.allowed_users = {DEMO_ADMIN}
    # people from the directory are created by the sync and may log in; before the first sync
    # the authenticator finds them in the directory itself
    c.Authenticator.allow_existing_users = True
    c.DemoAuthenticator.directory = str(Path(directory).resolve())

    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
    args: list[Any] = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    c.Spawner.args = args
    c.Spawner.default_url = "/lab"
    c.Spawner.start_timeout = 60
    c.Spawner.http_timeout = 60

    c.JupyterHubTeams.directory = str(Path(directory).resolve())
    c.JupyterHubTeams.sync_interval = sync_interval
    c.JupyterHubTeams.revocation_interval = revocation_interval
    if "profile_list" not in c.JupyterHubTeams:
        c.JupyterHubTeams.profile_list = demo_profile_list()
    setup(c)
