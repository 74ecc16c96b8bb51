"""Resolving a JupyterHub user to a system identity, against a real registry file, a described
machine (lookups from dicts) and real team directories under the test's folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyterhub_teams.posix import identity as identity_module
from jupyterhub_teams.posix.accounts import (
    Lookups,
    SystemGroup,
    SystemUser,
    create_accounts,
)
from jupyterhub_teams.posix.config import PosixIdentity
from jupyterhub_teams.posix.directories import TeamDirectory, ensure_team_directory
from jupyterhub_teams.posix.identity import (
    Identity,
    IdentityRefused,
    Request,
    Resolver,
    TeamGroup,
    TeamRef,
)
from jupyterhub_teams.posix.numbers import NumberRange, first_candidate
from jupyterhub_teams.posix.registry import Record, Registry

UIDS = [30000, 30999]
GIDS = [45000, 45999]

# Team directories are chowned to other gids: these tests run as root, like the suite (a
# missing privilege fails them, it never skips them).


@dataclass
class Machine:
    """The system users and groups a resolver sees (name → number)."""

    users: dict[str, int]
    groups: dict[str, int]

    def lookups(self) -> Lookups:
        def by_name(table: dict[str, int]) -> Callable[[str], tuple[str, int] | None]:
            return lambda n: (n, table[n]) if n in table else None

        def by_number(table: dict[str, int]) -> Callable[[int], tuple[str, int] | None]:
            return lambda x: next(((n, v) for n, v in table.items() if v == x), None)

        return Lookups(
            by_name(self.users), by_number(self.users), by_name(self.groups), by_number(self.groups)
        )


@dataclass
class World:
    home: Path
    teams: Path
    registry: Registry
    machine: Machine
    options: PosixIdentity
    resolver: Resolver


def make_world(tmp_path: Path, **options: Any) -> World:
    home, teams = tmp_path / "home", tmp_path / "teams"
    settings: dict[str, Any] = {
        "home_root": str(home),
        "team_directory_root": str(teams),
        "uid_range": UIDS,
        "gid_range": GIDS,
        **options,
    }
    posix = PosixIdentity(**settings)
    registry = Registry(tmp_path / "ids.sqlite")
    machine = Machine({"root": 0, "mallory": 47666}, {"root": 0, "staff": 50})
    return World(
        home, teams, registry, machine, posix, Resolver(posix, registry, machine.lookups())
    )


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


PHYSICS = TeamRef("physics", "collab-physics", 48001)
CHEMISTRY = TeamRef("chemistry", "collab-chemistry")


# --- people ----------------------------------------------------------------------------------


def test_person_with_a_declared_uid_and_two_teams(world: World) -> None:
    request = Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    identity = world.resolver.resolve(request)
    chemistry_gid = identity.groups[0].gid
    assert identity == Identity(  # noqa: S604 (a login shell, not a subprocess)
        hub_name="alice",
        system_name="alice",
        uid=47001,
        gid=47001,
        home=f"{world.home}/alice",
        shell="/bin/bash",
        team=None,
        groups=(
            TeamGroup("chemistry", "collab-chemistry", chemistry_gid, f"{world.teams}/chemistry"),
            TeamGroup("physics", "collab-physics", 48001, f"{world.teams}/physics"),
        ),
    )
    assert identity.skipped == ()
    assert identity.supplementary_gids == (chemistry_gid, 48001)
    assert chemistry_gid in NumberRange(*GIDS)
    assert world.registry.records() == [
        Record("gid", "alice", "alice", 47001, "private group"),
        Record("gid", "collab-chemistry", "collab-chemistry", chemistry_gid, "allocated"),
        Record("gid", "collab-physics", "collab-physics", 48001, "directory"),
        Record("uid", "alice", "alice", 47001, "directory"),
    ]


def test_a_second_resolve_gives_the_same_identity(world: World) -> None:
    request = Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    first = world.resolver.resolve(request)
    records = world.registry.records()
    # even when the allocated gid now belongs to a system group the hub did not make
    world.machine.groups["squatter"] = first.groups[0].gid
    assert world.resolver.resolve(request) == first
    assert world.registry.records() == records
    # and through another resolver on the same file
    other = Resolver(world.options, Registry(world.registry.path), world.machine.lookups())
    assert other.resolve(request) == first


def test_uid_origin_is_recorded(world: World) -> None:
    world.resolver.resolve(Request("alice", declared_uid=47001, uid_origin="claim"))
    assert world.registry.lookup("uid", "alice") == Record("uid", "alice", "alice", 47001, "claim")


def test_person_without_a_uid_gets_one_from_the_range(world: World) -> None:
    identity = world.resolver.resolve(Request("carol"))
    assert identity.uid in NumberRange(*UIDS)
    assert identity.gid == identity.uid
    assert identity.home == f"{world.home}/carol"
    assert world.registry.lookup("uid", "carol") == Record(
        "uid", "carol", "carol", identity.uid, "allocated"
    )
    assert world.resolver.resolve(Request("carol")).uid == identity.uid


def test_allocated_uid_skips_system_users(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    start = first_candidate("carol", NumberRange(*UIDS))
    world.machine.users["someone"] = start
    assert world.resolver.resolve(Request("carol")).uid == UIDS[0] + (start - UIDS[0] + 1) % 1000


def test_a_mapped_name(world: World) -> None:
    identity = world.resolver.resolve(Request("Eve@Example.org", declared_uid=47100))
    assert (identity.system_name, identity.home) == (
        "eve-example-org",
        f"{world.home}/eve-example-org",
    )


def test_a_digit_first_name_uses_the_configured_prefix(tmp_path: Path) -> None:
    world = make_world(tmp_path, digit_prefix="s", max_system_name_length=12)
    identity = world.resolver.resolve(Request("2024student", declared_uid=47101))
    assert identity.system_name == "s2024student"
    long = world.resolver.resolve(Request("2024student.long", declared_uid=47102))
    assert len(long.system_name) == 12
    assert long.system_name.startswith("s20-")


def test_declared_uid_below_minimum_is_refused(world: World) -> None:
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.resolve(Request("alice", declared_uid=0))
    assert str(raised.value) == (
        "the uid 0 given for 'alice' is below 1000, the lowest a jupyterhub-teams account may "
        "have (lower numbers belong to the system)"
    )
    assert world.registry.records() == []


def test_minimum_id_is_configurable(tmp_path: Path) -> None:
    world = make_world(tmp_path, minimum_id=20000)
    with pytest.raises(IdentityRefused, match="the uid 19999 given for 'alice' is below 20000"):
        world.resolver.resolve(Request("alice", declared_uid=19999))


def test_reserved_declared_uid_is_refused(world: World) -> None:
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.resolve(Request("alice", declared_uid=65534))
    assert str(raised.value) == "the uid 65534 given for 'alice' is reserved"


def test_a_changed_declared_uid_is_refused(world: World) -> None:
    world.resolver.resolve(Request("alice", declared_uid=47001))
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.resolve(Request("alice", declared_uid=47002, uid_origin="claim"))
    message = str(raised.value)
    assert message.startswith(
        "JupyterHub user 'alice' has uid 47001 (system user 'alice', directory) on record, "
        "but the claim now says 47002 ('alice')."
    )
    assert "nothing is changed" in message
    assert world.registry.lookup("uid", "alice") == Record(
        "uid", "alice", "alice", 47001, "directory"
    )


def test_names_mapping_alike_are_refused(world: World) -> None:
    world.resolver.resolve(Request("eve@example.org", declared_uid=47100))
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.resolve(Request("eve.example@org", declared_uid=47101))
    assert "'eve@example.org' and 'eve.example@org' both map to the system user name" in str(
        raised.value
    )


def test_a_name_without_letters_is_refused(world: World) -> None:
    with pytest.raises(IdentityRefused, match="has no letters or digits"):
        world.resolver.resolve(Request("@@@"))
    assert world.registry.records() == []


def test_private_group_gid_held_by_a_team_is_refused(world: World) -> None:
    world.registry.claim(Record("gid", "collab-x", "collab-x", 47001, "directory"))
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.resolve(Request("alice", declared_uid=47001))
    assert str(raised.value) == (
        "gid 47001 (private group) for JupyterHub user 'alice' is already recorded for "
        "JupyterHub user 'collab-x' (system group 'collab-x'); a number is never given to "
        "two names"
    )


def test_a_conflict_on_one_team_leaves_it_out(world: World) -> None:
    # gid 48001 is on record for another team
    world.registry.claim(Record("gid", "collab-old", "collab-old", 48001, "directory"))
    low = TeamRef("lowly", "collab-lowly", 500)
    identity = world.resolver.resolve(
        Request("alice", teams=(PHYSICS, CHEMISTRY, low), declared_uid=47001)
    )
    assert identity.uid == 47001
    assert [g.team for g in identity.groups] == ["chemistry"]
    assert identity.skipped == (
        "team 'lowly' left out: the gid 500 given for 'lowly' is below 1000, the lowest a "
        "jupyterhub-teams account may have (lower numbers belong to the system)",
        "team 'physics' left out: gid 48001 (directory) for JupyterHub user 'collab-physics' "
        "is already recorded for JupyterHub user 'collab-old' (system group 'collab-old'); a "
        "number is never given to two names",
    )


def test_no_team_groups_for_members(tmp_path: Path) -> None:
    world = make_world(tmp_path, team_groups_for_members=False)
    identity = world.resolver.resolve(
        Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    )
    assert identity.groups == ()
    assert identity.supplementary_gids == ()
    assert identity.skipped == ()
    assert [r.name for r in world.registry.records()] == ["alice", "alice"]


# --- team accounts ---------------------------------------------------------------------------


def test_team_account(world: World) -> None:
    identity = world.resolver.resolve(Request("collab-physics", team=PHYSICS))
    directory = f"{world.teams}/physics"
    uid = identity.uid
    assert uid in NumberRange(*UIDS)
    assert identity == Identity(  # noqa: S604 (a login shell, not a subprocess)
        hub_name="collab-physics",
        system_name="collab-physics",
        uid=uid,
        gid=48001,
        home=directory,
        shell="/bin/bash",
        team=TeamGroup("physics", "collab-physics", 48001, directory),
        groups=(),
    )
    assert identity.supplementary_gids == ()
    assert world.registry.records() == [
        Record("gid", "collab-physics", "collab-physics", 48001, "directory"),
        Record("uid", "collab-physics", "collab-physics", uid, "allocated"),
    ]
    assert world.resolver.resolve(Request("collab-physics", team=PHYSICS)) == identity


def test_team_account_and_members_share_the_team_gid(world: World) -> None:
    account = world.resolver.resolve(Request("collab-chemistry", team=CHEMISTRY))
    member = world.resolver.resolve(Request("carol", teams=(CHEMISTRY,)))
    assert account.gid in NumberRange(*GIDS)
    assert member.supplementary_gids == (account.gid,)
    assert account.uid != member.uid


def test_team_account_ignores_a_declared_uid(world: World) -> None:
    identity = world.resolver.resolve(Request("collab-physics", team=PHYSICS, declared_uid=47001))
    assert identity.uid != 47001
    assert identity.uid in NumberRange(*UIDS)


def test_team_account_with_a_conflicting_gid_is_refused(world: World) -> None:
    world.registry.claim(Record("gid", "collab-old", "collab-old", 48001, "directory"))
    with pytest.raises(IdentityRefused, match=r"gid 48001 .* already recorded for JupyterHub"):
        world.resolver.resolve(Request("collab-physics", team=PHYSICS))


def test_team_gid_changed_in_the_directory_is_refused(world: World) -> None:
    world.resolver.resolve(Request("collab-physics", team=PHYSICS))
    moved = TeamRef("physics", "collab-physics", 48002)
    with pytest.raises(IdentityRefused, match=r"has gid 48001 .* now says 48002"):
        world.resolver.resolve(Request("collab-physics", team=moved))


# --- found problems --------------------------------------------------------------------------


def test_allocated_uid_leaves_out_numbers_held_as_gids(tmp_path: Path) -> None:
    world = make_world(tmp_path, uid_range=[30000, 30001])
    start = first_candidate("bob", NumberRange(30000, 30001))
    world.registry.claim(Record("gid", "collab-x", "collab-x", start, "directory"))
    identity = world.resolver.resolve(Request("bob"))
    other = 30001 if start == 30000 else 30000
    assert (identity.uid, identity.gid) == (other, other)


def test_allocated_uid_leaves_out_gids_of_system_groups(tmp_path: Path) -> None:
    world = make_world(tmp_path, uid_range=[30000, 30001])
    start = first_candidate("bob", NumberRange(30000, 30001))
    world.machine.groups["printers"] = start
    identity = world.resolver.resolve(Request("bob"))
    assert identity.uid != start


def test_a_refused_private_group_records_nothing(world: World) -> None:
    world.registry.claim(Record("gid", "collab-x", "collab-x", 47001, "directory"))
    with pytest.raises(IdentityRefused):
        world.resolver.resolve(Request("alice", declared_uid=47001))
    assert world.registry.lookup("uid", "alice") is None


def test_a_full_uid_range_is_a_refusal(tmp_path: Path) -> None:
    world = make_world(tmp_path, uid_range=[30000, 30000])
    world.machine.users["someone"] = 30000
    with pytest.raises(IdentityRefused, match=r"30000\.\.30000"):
        world.resolver.resolve(Request("carol"))


def test_a_full_gid_range_leaves_the_team_out(tmp_path: Path) -> None:
    world = make_world(tmp_path, gid_range=[45000, 45000])
    world.machine.groups["someone"] = 45000
    identity = world.resolver.resolve(Request("carol", teams=(CHEMISTRY,), declared_uid=47001))
    assert identity.groups == ()
    assert len(identity.skipped) == 1


# --- prepare ---------------------------------------------------------------------------------


def mode_and_owner(path: Path) -> tuple[int, int, int]:
    info = os.lstat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def test_prepare_without_accounts_creates_team_directories_only(tmp_path: Path) -> None:
    world = make_world(tmp_path, create_accounts=False)
    identity = world.resolver.resolve(
        Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    )
    world.resolver.prepare(identity)
    chemistry_gid = identity.groups[0].gid
    assert sorted(p.name for p in world.teams.iterdir()) == ["chemistry", "physics"]
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48001)
    assert mode_and_owner(world.teams / "chemistry") == (0o2770, 0, chemistry_gid)
    assert not world.home.exists()
    # twice is a no-op
    world.resolver.prepare(identity)
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48001)


def test_prepare_team_account_without_accounts(tmp_path: Path) -> None:
    world = make_world(tmp_path, create_accounts=False)
    identity = world.resolver.resolve(Request("collab-physics", team=PHYSICS))
    world.resolver.prepare(identity)
    assert [p.name for p in world.teams.iterdir()] == ["physics"]
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48001)


def test_prepare_without_accounts_or_directories_does_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path, create_accounts=False, team_directories=False)
    identity = world.resolver.resolve(Request("alice", teams=(PHYSICS,), declared_uid=47001))
    world.resolver.prepare(identity)
    assert not world.teams.exists()
    assert not world.home.exists()


def test_prepare_refuses_when_the_team_accounts_own_directory_is_taken(tmp_path: Path) -> None:
    world = make_world(tmp_path, create_accounts=False)
    ensure_team_directory(TeamDirectory(str(world.teams / "physics"), 0, 48999))
    identity = world.resolver.resolve(Request("collab-physics", team=PHYSICS))
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.prepare(identity)
    assert str(raised.value) == (
        f"{world.teams}/physics belongs to gid 48999, not the team's gid 48001; it is not "
        "re-owned (its files may be another team's)"
    )
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48999)


def test_prepare_leaves_out_a_members_taken_team_directory(tmp_path: Path) -> None:
    world = make_world(tmp_path, create_accounts=False)
    ensure_team_directory(TeamDirectory(str(world.teams / "physics"), 0, 48999))
    identity = world.resolver.resolve(
        Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    )
    world.resolver.prepare(identity)
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48999)
    assert mode_and_owner(world.teams / "chemistry") == (0o2770, 0, identity.groups[0].gid)


class Commands:
    """Account creation against the world's described machine, recording instead of running."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[tuple[list[SystemGroup], list[SystemUser], Lookups | None]] = []
        self.ran: list[list[str]] = []

    def __call__(
        self,
        groups: Sequence[SystemGroup],
        users: Sequence[SystemUser],
        lookups: Lookups | None = None,
    ) -> list[list[str]]:
        self.calls.append((list(groups), list(users), lookups))

        def runner(commands: Iterable[Sequence[str]]) -> None:
            self.ran.extend(list(c) for c in commands)

        return create_accounts(groups, users, lookups, runner=runner)


@pytest.fixture
def accounts(world: World, monkeypatch: pytest.MonkeyPatch) -> Commands:
    commands = Commands(world)
    monkeypatch.setattr(identity_module, "create_accounts", commands)
    return commands


def test_prepare_creates_accounts_home_and_directories(world: World, accounts: Commands) -> None:
    identity = world.resolver.resolve(
        Request("alice", teams=(PHYSICS, CHEMISTRY), declared_uid=47001)
    )
    chemistry_gid = identity.groups[0].gid
    world.resolver.prepare(identity)
    home = f"{world.home}/alice"
    user = SystemUser("alice", 47001, 47001, home, "/bin/bash", "alice")
    groups = [
        SystemGroup("alice", 47001),
        SystemGroup("collab-chemistry", chemistry_gid),
        SystemGroup("collab-physics", 48001),
    ]
    assert accounts.calls == [(groups, [user], world.resolver.lookups)]
    assert accounts.ran == [
        ["groupadd", "--gid", "47001", "alice"],
        ["groupadd", "--gid", str(chemistry_gid), "collab-chemistry"],
        ["groupadd", "--gid", "48001", "collab-physics"],
        ["useradd", "--uid", "47001", "--gid", "47001", "--no-user-group", "--home-dir", home,
         "--no-create-home", "--shell", "/bin/bash", "alice"],
    ]  # fmt: skip
    assert mode_and_owner(world.home) == (0o755, 0, 0)
    assert mode_and_owner(world.home / "alice") == (0o700, 47001, 47001)
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48001)
    assert mode_and_owner(world.teams / "chemistry") == (0o2770, 0, chemistry_gid)


def test_prepare_keeps_an_existing_home(world: World, accounts: Commands) -> None:
    home = world.home / "alice"
    home.mkdir(parents=True, mode=0o750)
    os.chmod(home, 0o750)  # noqa: S103
    identity = world.resolver.resolve(Request("alice", declared_uid=47001))
    world.resolver.prepare(identity)
    assert mode_and_owner(home) == (0o750, 0, 0)


def test_prepare_team_account_creates_its_group_user_and_directory(
    world: World, accounts: Commands
) -> None:
    identity = world.resolver.resolve(Request("collab-physics", team=PHYSICS))
    world.resolver.prepare(identity)
    directory = f"{world.teams}/physics"
    assert accounts.calls == [
        (
            [SystemGroup("collab-physics", 48001)],
            [
                SystemUser(
                    "collab-physics",
                    identity.uid,
                    48001,
                    directory,
                    "/bin/bash",
                    "collab-physics",
                )
            ],
            world.resolver.lookups,
        )
    ]
    assert mode_and_owner(world.teams / "physics") == (0o2770, 0, 48001)
    # a team account's home is its team directory: no folder under home_root
    assert not world.home.exists()


def test_prepare_refuses_a_conflicting_account_and_changes_nothing(
    world: World, accounts: Commands
) -> None:
    world.machine.users["alice"] = 47950
    identity = world.resolver.resolve(Request("alice", teams=(PHYSICS,), declared_uid=47001))
    with pytest.raises(IdentityRefused) as raised:
        world.resolver.prepare(identity)
    assert str(raised.value) == (
        "system user 'alice' already exists with uid 47950, but jupyterhub-teams has uid "
        "47001 for it (for JupyterHub user 'alice'); it is not taken over. Nothing was changed."
    )
    assert accounts.ran == []
    assert not world.teams.exists()
    assert not world.home.exists()


@pytest.mark.parametrize("team", ["../etc", "a/b", "", ".", "Physics", "x\x00"])
def test_a_team_name_that_is_not_a_safe_path_gets_no_directory(team: str, tmp_path: Path) -> None:
    registry = Registry(tmp_path / "ids.sqlite")
    resolver = Resolver(PosixIdentity(), registry, Machine({}, {}).lookups())
    with pytest.raises(ValueError, match="cannot name a team directory"):
        resolver.team_group(TeamRef(team, f"collab-{team}", 48001))
    assert registry.records() == []
