"""``setup(c)`` composes its hooks with the admin's: each runs once, whenever the admin's was set.

The hooks are read back the way JupyterHub reads them: from real Spawner and Authenticator
classes configured with ``c`` (traitlets picks the most specific section).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jupyterhub.auth import DummyAuthenticator
from jupyterhub.spawner import LocalProcessSpawner
from tornado import web
from traitlets.config import Config

import jupyterhub_teams
from jupyterhub_teams.integration.hooks import ComposedHook

ACCOUNTS = "jupyterhub-teams-accounts"
TEAM_SERVER_SCOPES = ["users:activity!user"]


class SiteSpawner(LocalProcessSpawner):  # type: ignore[misc]
    """A site's own spawner class: its section (``c.SiteSpawner``) wins over ``c.Spawner``."""


def fake_spawner(name: str) -> Any:
    groups = [SimpleNamespace(name=ACCOUNTS)] if name.startswith("collab-") else []
    user = SimpleNamespace(name=name, groups=groups)
    return SimpleNamespace(user=user, cmd=["jupyterhub-singleuser"], environment={}, args=[])


def base_config(tmp_path: Path) -> Config:
    c = Config()
    c.JupyterHubTeams.directory = str(tmp_path / "directory.yaml")
    (tmp_path / "directory.yaml").write_text("groups:\n  physics: [alice]\n")
    return c


def recorder(calls: list[str], label: str) -> Callable[[Any], None]:
    def hook(spawner: Any) -> None:
        calls.append(f"{label}:{spawner.user.name}")

    return hook


def run_pre_spawn(c: Config, name: str, spawner_class: type = LocalProcessSpawner) -> Any:
    hook = spawner_class(config=c).pre_spawn_hook
    spawner = fake_spawner(name)
    asyncio.run(hook(spawner))
    return spawner


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_admins_spawn_hook_runs_once_after_ours_whenever_it_was_set(
    tmp_path: Path, when: str
) -> None:
    c = base_config(tmp_path)
    calls: list[str] = []
    if when == "before":
        c.Spawner.pre_spawn_hook = recorder(calls, "admin")
    jupyterhub_teams.setup(c)
    if when == "after":
        c.Spawner.pre_spawn_hook = recorder(calls, "admin")
    team = run_pre_spawn(c, "collab-physics")
    assert team.environment.get("JUPYTERHUB_TEAMS_GROUP") == "physics"  # ours ran: a team server
    assert team.environment["JUPYTERHUB_TEAMS_GROUP"] == "physics"
    person = run_pre_spawn(c, "alice")
    assert person.cmd == ["jupyterhub-singleuser"]
    assert calls == ["admin:collab-physics", "admin:alice"]


def test_a_hook_set_on_a_spawner_subclass_after_setup_keeps_ours(tmp_path: Path) -> None:
    c = base_config(tmp_path)
    calls: list[str] = []
    jupyterhub_teams.setup(c)
    c.SiteSpawner.pre_spawn_hook = recorder(calls, "site")
    team = run_pre_spawn(c, "collab-physics", SiteSpawner)
    assert team.environment.get("JUPYTERHUB_TEAMS_GROUP") == "physics"
    assert calls == ["site:collab-physics"]
    # the generic section still has ours alone
    assert run_pre_spawn(c, "collab-physics").environment.get("JUPYTERHUB_TEAMS_GROUP") == "physics"
    assert calls == ["site:collab-physics"]


def test_a_subclass_hook_set_before_setup_is_composed_too(tmp_path: Path) -> None:
    c = base_config(tmp_path)
    calls: list[str] = []
    c.SiteSpawner.pre_spawn_hook = recorder(calls, "site")
    jupyterhub_teams.setup(c)
    assert (
        run_pre_spawn(c, "collab-physics", SiteSpawner).environment.get("JUPYTERHUB_TEAMS_GROUP")
        == "physics"
    )
    assert calls == ["site:collab-physics"]


def test_setting_the_admin_hook_twice_keeps_the_last_one_only(tmp_path: Path) -> None:
    c = base_config(tmp_path)
    calls: list[str] = []
    jupyterhub_teams.setup(c)
    c.Spawner.pre_spawn_hook = recorder(calls, "first")
    c.Spawner.pre_spawn_hook = recorder(calls, "second")
    run_pre_spawn(c, "alice")
    assert calls == ["second:alice"]
    # still one composed hook in the slot, not ours wrapped around ours
    hook = c.Spawner.pre_spawn_hook
    assert isinstance(hook, ComposedHook) and not isinstance(hook.admin, ComposedHook)


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_admins_post_auth_hook_runs_once_and_the_prefix_stays_refused(
    tmp_path: Path, when: str
) -> None:
    c = base_config(tmp_path)
    c.JupyterHubTeams.login_sync = False  # (the login sync is tested end to end)
    seen: list[str] = []

    def admin_hook(authenticator: Any, handler: Any, authentication: dict[str, Any]) -> Any:
        seen.append(authentication["name"])
        return {**authentication, "admin_was_here": True}

    if when == "before":
        c.Authenticator.post_auth_hook = admin_hook
    jupyterhub_teams.setup(c)
    if when == "after":
        c.Authenticator.post_auth_hook = admin_hook
    hook = DummyAuthenticator(config=c).post_auth_hook
    result = asyncio.run(hook(None, None, {"name": "alice"}))
    assert result == {"name": "alice", "admin_was_here": True}
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(hook(None, None, {"name": "collab-physics"}))
    assert refused.value.status_code == 403
    assert seen == ["alice"]  # a refused login never reaches the admin's hook


def test_server_token_scopes_set_after_setup_apply_to_people_only(tmp_path: Path) -> None:
    c = base_config(tmp_path)
    jupyterhub_teams.setup(c)
    c.Spawner.server_token_scopes = ["users:activity!user", "read:users:name"]
    scopes = LocalProcessSpawner(config=c).server_token_scopes
    # plain lists, not coroutines: the hub awaits this with uncommitted changes (see the
    # callable's docstring), and a coroutine would yield to the event loop there
    assert scopes(fake_spawner("alice")) == ["users:activity!user", "read:users:name"]
    assert scopes(fake_spawner("collab-physics")) == TEAM_SERVER_SCOPES
    # without a setting of the admin's, people's servers get the hub's default (the server role)
    c2 = base_config(tmp_path)
    jupyterhub_teams.setup(c2)
    default = LocalProcessSpawner(config=c2).server_token_scopes
    assert default(fake_spawner("alice")) == []


def test_an_admins_async_server_token_scopes_is_still_awaited(tmp_path: Path) -> None:
    c = base_config(tmp_path)

    async def admins(spawner: object) -> list[str]:
        return ["read:users:name"]

    c.Spawner.server_token_scopes = admins
    jupyterhub_teams.setup(c)
    scopes = LocalProcessSpawner(config=c).server_token_scopes
    assert asyncio.run(scopes(fake_spawner("alice"))) == ["read:users:name"]
    assert scopes(fake_spawner("collab-physics")) == TEAM_SERVER_SCOPES


def test_the_config_stays_a_config_for_everything_else(tmp_path: Path) -> None:
    c = base_config(tmp_path)
    jupyterhub_teams.setup(c)
    c.Spawner.cmd = ["my-singleuser"]
    c.Spawner.environment = {"A": "1"}
    spawner = LocalProcessSpawner(config=c)
    assert spawner.cmd == ["my-singleuser"] and spawner.environment == {"A": "1"}
    merged = Config()
    merged.merge(c)
    assert isinstance(merged.Spawner.pre_spawn_hook, ComposedHook)


def test_a_team_server_keeps_the_spawners_command_and_trusts_the_hub_briefly(
    tmp_path: Path,
) -> None:
    c = base_config(tmp_path)
    c.JupyterHubTeams.revocation_interval = 7
    jupyterhub_teams.setup(c)
    team = run_pre_spawn(c, "collab-physics")
    assert team.cmd == ["jupyterhub-singleuser"]  # the image's or spawner's own command
    assert team.args == ["--HubOAuth.cache_max_age=7"]
    assert team.environment["JUPYTERHUB_TEAMS_REVOCATION_INTERVAL"] == "7"
    person = run_pre_spawn(c, "alice")
    assert "--HubOAuth.cache_max_age=7" not in person.args


def test_the_deprecated_team_server_command_still_replaces_the_command(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    c = base_config(tmp_path)
    c.JupyterHubTeams.team_server_command = ["jupyterhub-teams-singleuser"]
    with caplog.at_level("WARNING"):
        jupyterhub_teams.setup(c)
    assert "deprecated" in caplog.text
    assert run_pre_spawn(c, "collab-physics").cmd == ["jupyterhub-teams-singleuser"]
    assert run_pre_spawn(c, "alice").cmd == ["jupyterhub-singleuser"]
