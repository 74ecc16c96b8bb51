"""The demo's login lets the directory's people in from the hub's first second."""

from __future__ import annotations

import asyncio
from pathlib import Path

from jupyterhub_teams.demo.auth import DemoAuthenticator


def authenticator(tmp_path: Path, text: str) -> DemoAuthenticator:
    directory = tmp_path / "directory.yaml"
    directory.write_text(text)
    return DemoAuthenticator(directory=str(directory), allowed_users={"admin"})


def test_directory_people_may_log_in_before_the_sync_created_them(tmp_path: Path) -> None:
    auth = authenticator(tmp_path, "users:\n  Erin: {}\ngroups:\n  physics: [alice, bob]\n")
    for name in ("alice", "bob", "erin", "admin"):
        assert asyncio.run(auth.check_allowed(name)), name
    for name in ("mallory", "collab-physics"):
        assert not asyncio.run(auth.check_allowed(name)), name


def test_an_unreadable_directory_lets_only_the_configured_users_in(tmp_path: Path) -> None:
    auth = authenticator(tmp_path, "groups: [not, a, mapping]\n")
    assert asyncio.run(auth.check_allowed("admin"))
    assert not asyncio.run(auth.check_allowed("alice"))
    assert not asyncio.run(DemoAuthenticator(allowed_users={"a"}).check_allowed("alice"))
