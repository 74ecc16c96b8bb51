"""Stable POSIX identity, end to end, as root: real system users, real LocalProcessSpawner
processes switching to them, real team directories.

Everything this module creates on the machine is in a reserved range (uids and gids
47000-48999, names listed below) and is removed afterwards; a leftover from an interrupted
run is removed before starting.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from jupyterhub_teams.posix.names import system_name

from .harness import Hub, Person, wait_for
from .test_claims import OIDCProvider, generic_oauth_config, oauth_login, start_hub

UIDS = range(47000, 47999 + 1)
GIDS = range(48000, 48999 + 1)
# A system user that exists before the hub asks for "dave" with another uid.
SQUATTER_UID = 47950
DIRECTORY = {
    "users": {
        "alice": {"uid": 47001},
        "bob": {"uid": 47002},
        "dave": {"uid": 47003},
        "carol": {},
        "2024student": {},
        "eve@example.org": {},
        "eve.example@org": {},
    },
    "groups": {
        "physics": {"gid": 48001, "members": ["alice", "bob", "2024student", "eve@example.org"]},
        "chemistry": {"members": ["carol"]},
        "biology": {"members": ["dave", "eve.example@org"]},
    },
}
# system names the module may create (and removes): people, their private groups, teams
# a person known only to the identity provider, whose uid comes from a claim
CLAIMED = ("frank", 47020)
SYSTEM_NAMES = {
    CLAIMED[0],
    *(system_name(n) for n in DIRECTORY["users"]),
    *(f"collab-{team}" for team in DIRECTORY["groups"]),
}


def _ours(name: str, number: int, numbers: range) -> bool:
    return name in SYSTEM_NAMES or number in numbers


def remove_test_accounts() -> None:
    """Delete every system user and group in the reserved ranges or with our names."""
    for user in pwd.getpwall():
        if _ours(user.pw_name, user.pw_uid, UIDS):
            subprocess.run(["userdel", user.pw_name], check=False, capture_output=True)
    for group in grp.getgrall():
        if _ours(group.gr_name, group.gr_gid, GIDS) or group.gr_gid in UIDS:
            subprocess.run(["groupdel", group.gr_name], check=False, capture_output=True)


def singleuser_environment(into: Path) -> Path:
    """A virtual environment other users can run, with jupyterhub-singleuser and
    jupyterhub-teams-singleuser (the hub's own may live in a directory only root can enter)."""
    python = shutil.which("python3", path="/usr/bin") or "python3"
    subprocess.run([python, "-m", "venv", str(into)], check=True)
    import jupyter_server
    import jupyterhub

    project = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            str(into / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"jupyterhub=={jupyterhub.__version__}",
            f"jupyter_server=={jupyter_server.__version__}",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"installing the single-user environment failed: {done.stderr}"
    return into / "bin"


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    """A folder every system user can traverse, holding homes, team directories and the
    single-user environment."""
    assert os.geteuid() == 0, "the POSIX identity tests create system users: run them as root"
    remove_test_accounts()
    base = Path(tempfile.mkdtemp(prefix="jupyterhub-teams-posix-"))
    base.chmod(0o755)
    try:
        singleuser_environment(base / "venv")
        yield base
    finally:
        remove_test_accounts()
        shutil.rmtree(base, ignore_errors=True)


def posix_hub(world: Path, state_dir: Path) -> Hub:
    directory = state_dir / "directory.yaml"
    state_dir.mkdir(parents=True, exist_ok=True)
    directory.write_text(yaml.safe_dump(DIRECTORY))
    bin_dir = world / "venv" / "bin"
    return Hub(
        state_dir,
        directory=directory,
        sync_interval=2,
        pre_config=f"""
        c.PosixIdentity.enabled = True
        c.PosixIdentity.uid_range = [47100, 47899]
        c.PosixIdentity.gid_range = [48100, 48899]
        c.PosixIdentity.home_root = {str(world / "home")!r}
        c.PosixIdentity.team_directory_root = {str(world / "teams")!r}
        c.JupyterHubTeams.team_server_command = [{str(bin_dir / "jupyterhub-teams-singleuser")!r}]
        """,
        extra_config=textwrap.dedent(
            f"""
            c.JupyterHub.spawner_class = "jupyterhub_teams.posix.PosixLocalProcessSpawner"
            c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
            c.Spawner.args = []
            c.Spawner.default_url = "/tree"
            """
        ),
    )


@pytest.fixture(scope="module")
def hub(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # the squatter: a system user "dave" the hub did not create, with another uid
    subprocess.run(
        ["useradd", "--uid", str(SQUATTER_UID), "--no-create-home", "--no-user-group",
         "--gid", "100", "dave"],
        check=True,
    )  # fmt: skip
    running = posix_hub(world, tmp_path_factory.mktemp("posix-hub")).start()
    try:
        running.wait_for_sync(lambda: running.group("physics"), what="the first sync")
        yield running
    finally:
        running.stop()


def start(hub: Hub, name: str) -> None:
    if hub.server_ready(name):
        return
    r = hub.api("POST", f"users/{name}/server")
    assert r.status_code in (201, 202), f"{name}: {r.status_code} {r.text}\n{hub.log_tail()}"
    wait_for(lambda: hub.server_ready(name), 60, what=f"{name}'s server")


def server_process(hub: Hub, name: str) -> psutil.Process:
    """The single-user server process of the JupyterHub user ``name``, started by ``hub``."""
    assert hub.process is not None
    for proc in psutil.Process(hub.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            env = proc.environ()
            if env.get("JUPYTERHUB_USER") == name and env.get("JUPYTERHUB_SERVER_NAME", "") == "":
                return proc
    raise AssertionError(f"no server process for {name}")


def supplementary_groups(proc: psutil.Process) -> set[int]:
    status = Path(f"/proc/{proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("Groups:"))
    return {int(g) for g in line.split()[1:]}


class Visitor:
    """Someone using a server's REST API from their browser session, after the server's own
    login (team servers count membership only for a token from that login)."""

    def __init__(self, hub: Hub, name: str, owner: str) -> None:
        self.name, self.owner = name, owner
        self.person = Person(hub, name).logged_in()
        # These servers run jupyter_server without a UI: its file viewer is a page that asks for
        # the login (and then says 404, as the file does not exist); what matters is the cookie.
        opened = self.person.open(f"/user/{owner}/view/no-such-file")
        where = f"{name} opening {owner}: {opened.status_code} at {opened.url}"
        assert opened.status_code in (200, 404) and f"/user/{owner}/" in str(opened.url), where
        assert self.person.cookie(f"jupyterhub-user-{owner}", f"/user/{owner}/"), where

    def write(self, path: str, text: str) -> None:
        content = {"type": "file", "format": "text", "content": text}
        r = self.person.server_api(self.owner, "PUT", f"api/contents/{path}", json=content)
        assert r.status_code in (200, 201), f"{self.name} writing {self.owner}:{path}: {r.text}"

    def read(self, path: str) -> str:
        r = self.person.server_api(self.owner, "GET", f"api/contents/{path}")
        assert r.status_code == 200, f"{self.name} reading {self.owner}:{path}: {r.text}"
        return str(r.json()["content"])

    def close(self) -> None:
        self.person.close()


def test_servers_run_as_their_system_users(hub: Hub, world: Path) -> None:
    for name in ("alice", "2024student", "eve@example.org", "carol"):
        start(hub, name)
        user = pwd.getpwnam(system_name(name))
        proc = server_process(hub, name)
        assert proc.uids().real == user.pw_uid
        assert proc.gids().real == user.pw_gid == user.pw_uid  # private group
        assert user.pw_dir == str(world / "home" / system_name(name))
        assert stat.S_IMODE(os.stat(user.pw_dir).st_mode) == 0o700
    assert pwd.getpwnam("alice").pw_uid == 47001  # from the directory
    assert pwd.getpwnam("u2024student").pw_uid in range(47100, 47900)  # allocated
    assert pwd.getpwnam("eve-example-org").pw_uid in range(47100, 47900)
    # members' own servers carry their teams' gids; non-members' do not
    assert 48001 in supplementary_groups(server_process(hub, "alice"))
    assert 48001 not in supplementary_groups(server_process(hub, "carol"))


def test_names_that_map_alike_are_refused_clearly(hub: Hub) -> None:
    start(hub, "eve@example.org")
    r = hub.api("POST", "users/eve.example@org/server")
    wait_for(lambda: hub.server_stopped("eve.example@org"), 30, what="the refused spawn to end")
    assert r.status_code == 409, r.text
    said = r.json()["message"]
    assert "'eve@example.org' and 'eve.example@org' both map to the system user name" in said
    kept = server_process(hub, "eve@example.org")
    assert pwd.getpwnam("eve-example-org").pw_uid == kept.uids().real


def test_a_conflicting_system_user_is_an_error_and_nothing_changes(hub: Hub, world: Path) -> None:
    before = pwd.getpwnam("dave")
    groups_before = sorted((g.gr_name, g.gr_gid) for g in grp.getgrall())
    r = hub.api("POST", "users/dave/server")
    wait_for(lambda: hub.server_stopped("dave"), 30, what="the refused spawn to end")
    assert r.status_code == 409, r.text
    said = r.json()["message"]
    assert "system user 'dave' already exists with uid 47950" in said
    assert "jupyterhub-teams has uid 47003 for it (for JupyterHub user 'dave')" in said
    assert "Nothing was changed" in said
    assert pwd.getpwnam("dave") == before
    assert sorted((g.gr_name, g.gr_gid) for g in grp.getgrall()) == groups_before
    assert not (world / "home" / "dave").exists()


def test_team_directory_shared_by_members_and_closed_to_others(hub: Hub, world: Path) -> None:
    account = "collab-physics"
    start(hub, account)
    team_dir = world / "teams" / "physics"
    info = team_dir.stat()
    assert info.st_gid == 48001 and stat.S_IMODE(info.st_mode) == 0o2770
    assert server_process(hub, account).gids().real == 48001
    for name in ("alice", "bob", "carol"):  # carol's server makes her system account
        start(hub, name)
    alice_team = Visitor(hub, "alice", account)
    bob_own = Visitor(hub, "bob", "bob")
    alice_own = Visitor(hub, "alice", "alice")

    alice_team.write("plan.txt", "alice: step 1")  # from the team server
    assert bob_own.read("teams/physics/plan.txt") == "alice: step 1"  # from bob's own server
    bob_own.write("teams/physics/plan.txt", "alice: step 1\nbob: step 2")
    bob_own.write("teams/physics/bob.txt", "by bob")
    alice_own.write("teams/physics/bob.txt", "by bob, edited by alice")
    assert alice_team.read("plan.txt") == "alice: step 1\nbob: step 2"

    for path in (team_dir / "plan.txt", team_dir / "bob.txt"):
        assert path.stat().st_gid == 48001
        assert path.stat().st_mode & 0o060 == 0o060  # group read and write
    # carol is in no team with them: the system itself keeps her out
    denied = subprocess.run(
        ["runuser", "-u", "carol", "--", "cat", str(team_dir / "plan.txt")],
        capture_output=True,
        text=True,
    )
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    for person in (alice_team, bob_own, alice_own):
        person.close()


def test_same_uids_after_a_restart_with_passwd_entries_wiped(
    hub: Hub, world: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    names = ("alice", "carol", "2024student")
    for n in names:
        start(hub, n)
    uids = {n: pwd.getpwnam(system_name(n)).pw_uid for n in names}
    carol = Visitor(hub, "carol", "carol")
    carol.write("notes.txt", "carol's notes")
    carol.close()
    hub.stop()
    for n in names:
        subprocess.run(["userdel", system_name(n)], check=True)
        with contextlib.suppress(KeyError):
            grp.getgrnam(system_name(n))
            subprocess.run(["groupdel", system_name(n)], check=True)
    for n in names:
        with pytest.raises(KeyError):
            pwd.getpwnam(system_name(n))

    hub.start()
    for n in names:
        start(hub, n)
        assert pwd.getpwnam(system_name(n)).pw_uid == uids[n]
        assert server_process(hub, n).uids().real == uids[n]
    notes = world / "home" / "carol" / "notes.txt"
    assert notes.stat().st_uid == uids["carol"]
    carol = Visitor(hub, "carol", "carol")
    assert carol.read("notes.txt") == "carol's notes"
    carol.write("notes.txt", "carol's notes, after the restart")
    carol.close()


def test_the_record_lists_and_forgets(hub: Hub) -> None:
    registry = str(hub.state_dir / "jupyterhub_teams_ids.sqlite")
    command = [sys.executable, "-m", "jupyterhub_teams", "posix"]
    listed = subprocess.run(
        [*command, "list", "--json", "--registry", registry],
        capture_output=True,
        text=True,
        check=True,
    )
    records = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    assert records["uid", "alice"]["number"] == 47001
    assert records["uid", "alice"]["origin"] == "directory"
    assert records["gid", "collab-physics"]["number"] == 48001
    assert records["uid", "carol"]["origin"] == "allocated"
    # the refused name got nothing
    assert ("uid", "eve.example@org") not in records
    forgot = subprocess.run(
        [*command, "forget", "eve@example.org", "--registry", registry],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "forgot uid" in forgot.stdout
    again = subprocess.run(
        [*command, "forget", "eve@example.org", "--registry", registry],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "nothing recorded" in again.stdout


def test_a_uid_from_the_identity_provider(
    world: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A Keycloak-style ``uidNumber`` claim in ``auth_state`` gives the person their uid."""
    name, uid = CLAIMED
    state = tmp_path_factory.mktemp("posix-oidc")
    hub = posix_hub(world, state / "hub")
    hub.pre_config = (
        textwrap.dedent(hub.pre_config) + 'c.PosixIdentity.uid_claim = "oauth_user.uidNumber"\n'
    )
    provider = OIDCProvider(
        state / "oidc",
        {name: {"groups": [], "uidNumber": str(uid)}},
        f"{hub.url}/hub/oauth_callback",
    )
    hub.extra_config += generic_oauth_config(hub, provider, ["openid", "profile"])
    try:
        provider.start()
        start_hub(hub)
        frank = oauth_login(Person(hub, name))
        r = frank.hub_api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), f"{r.status_code} {r.text}\n{hub.log_tail()}"
        wait_for(lambda: hub.server_ready(name), 60, what=f"{name}'s server")
        assert pwd.getpwnam(name).pw_uid == uid
        assert server_process(hub, name).uids().real == uid
        frank.close()
    finally:
        hub.stop()
        provider.stop()
