"""System users and groups: planning by value against a described machine, and refusing
before anything runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from jupyterhub_teams.posix.accounts import (
    AccountPlan,
    Lookups,
    SystemAccountConflict,
    SystemGroup,
    SystemUser,
    create_accounts,
    plan_accounts,
)


def machine(users: dict[str, int] | None = None, groups: dict[str, int] | None = None) -> Lookups:
    """Lookups of a machine with exactly ``users`` and ``groups`` (name → number)."""
    users = users or {}
    groups = groups or {}
    uids = {number: name for name, number in users.items()}
    gids = {number: name for name, number in groups.items()}
    return Lookups(
        user_by_name=lambda n: (n, users[n]) if n in users else None,
        user_by_uid=lambda u: (uids[u], u) if u in uids else None,
        group_by_name=lambda n: (n, groups[n]) if n in groups else None,
        group_by_gid=lambda g: (gids[g], g) if g in gids else None,
    )


ALICE = SystemUser("alice", 47001, 47001, "/home/alice", "/bin/bash", "alice")
ALICE_GROUP = SystemGroup("alice", 47001)
PHYSICS = SystemGroup("collab-physics", 48001)
USERADD_ALICE = [
    "useradd",
    "--uid",
    "47001",
    "--gid",
    "47001",
    "--no-user-group",
    "--home-dir",
    "/home/alice",
    "--no-create-home",
    "--shell",
    "/bin/bash",
    "alice",
]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[list[str]]] = []

    def __call__(self, commands: Iterable[Sequence[str]]) -> None:
        self.calls.append([list(c) for c in commands])


def test_nothing_to_do_on_an_empty_request() -> None:
    assert plan_accounts([], [], machine()) == AccountPlan([], [])


def test_missing_group() -> None:
    plan = plan_accounts([PHYSICS], [], machine())
    assert plan.commands == [["groupadd", "--gid", "48001", "collab-physics"]]
    assert plan.conflicts == []


def test_missing_user() -> None:
    plan = plan_accounts([], [ALICE], machine(groups={"alice": 47001}))
    assert plan.commands == [USERADD_ALICE]
    assert plan.conflicts == []


def test_missing_everything_groups_come_first() -> None:
    plan = plan_accounts([ALICE_GROUP, PHYSICS], [ALICE], machine())
    assert plan.commands == [
        ["groupadd", "--gid", "47001", "alice"],
        ["groupadd", "--gid", "48001", "collab-physics"],
        USERADD_ALICE,
    ]
    assert plan.conflicts == []


def test_team_account_user_has_the_team_gid_and_directory_home() -> None:
    account = SystemUser("collab-physics", 30500, 48001, "/srv/teams/physics", "/bin/sh")
    plan = plan_accounts([PHYSICS], [account], machine(groups={"collab-physics": 48001}))
    assert plan == AccountPlan(
        commands=[
            [
                "useradd",
                "--uid",
                "30500",
                "--gid",
                "48001",
                "--no-user-group",
                "--home-dir",
                "/srv/teams/physics",
                "--no-create-home",
                "--shell",
                "/bin/sh",
                "collab-physics",
            ]
        ],
        conflicts=[],
    )


def test_existing_accounts_with_the_same_numbers_need_nothing() -> None:
    lookups = machine(users={"alice": 47001}, groups={"alice": 47001, "collab-physics": 48001})
    assert plan_accounts([ALICE_GROUP, PHYSICS], [ALICE], lookups) == AccountPlan([], [])


def test_existing_group_with_another_gid() -> None:
    plan = plan_accounts([PHYSICS], [], machine(groups={"collab-physics": 48555}))
    assert plan.commands == []
    assert plan.conflicts == [
        "system group 'collab-physics' already exists with gid 48555, but jupyterhub-teams "
        "has gid 48001 for it"
    ]


def test_gid_held_by_another_group() -> None:
    plan = plan_accounts([PHYSICS], [], machine(groups={"staff": 48001}))
    assert plan.commands == []
    assert plan.conflicts == [
        "gid 48001, which jupyterhub-teams has for group 'collab-physics', already belongs to "
        "system group 'staff'"
    ]


def test_existing_user_with_another_uid() -> None:
    plan = plan_accounts([], [ALICE], machine(users={"alice": 47950}, groups={"alice": 47001}))
    assert plan.commands == []
    assert plan.conflicts == [
        "system user 'alice' already exists with uid 47950, but jupyterhub-teams has uid "
        "47001 for it (for JupyterHub user 'alice'); it is not taken over"
    ]


def test_existing_user_with_another_uid_without_a_hub_name() -> None:
    user = SystemUser("collab-x", 30001, 48001, "/srv/teams/x", "/bin/bash")
    plan = plan_accounts([], [user], machine(users={"collab-x": 30002}))
    assert plan.conflicts == [
        "system user 'collab-x' already exists with uid 30002, but jupyterhub-teams has uid "
        "30001 for it; it is not taken over"
    ]


def test_uid_held_by_another_user() -> None:
    hub_user = SystemUser("eve-example-org", 47100, 47100, "/home/e", "/bin/bash", "eve@ex.org")
    plan = plan_accounts([], [hub_user], machine(users={"mallory": 47100}))
    assert plan.commands == []
    assert plan.conflicts == [
        "uid 47100, which jupyterhub-teams has for system user 'eve-example-org' (for "
        "JupyterHub user 'eve@ex.org'), already belongs to system user 'mallory'"
    ]


def test_conflicts_and_commands_are_all_listed() -> None:
    lookups = machine(users={"alice": 1}, groups={"staff": 48001})
    bob = SystemUser("bob", 47002, 47002, "/home/bob", "/bin/bash", "bob")
    plan = plan_accounts([ALICE_GROUP, PHYSICS], [ALICE, bob], lookups)
    assert plan.commands == [
        ["groupadd", "--gid", "47001", "alice"],
        [
            "useradd",
            "--uid",
            "47002",
            "--gid",
            "47002",
            "--no-user-group",
            "--home-dir",
            "/home/bob",
            "--no-create-home",
            "--shell",
            "/bin/bash",
            "bob",
        ],
    ]
    assert len(plan.conflicts) == 2
    assert plan.conflicts[0].startswith("gid 48001, which jupyterhub-teams has for group")
    assert plan.conflicts[1].startswith("system user 'alice' already exists with uid 1,")


def test_duplicates_give_one_command() -> None:
    plan = plan_accounts(
        [PHYSICS, ALICE_GROUP, PHYSICS, SystemGroup("collab-physics", 48001)],
        [ALICE, ALICE],
        machine(),
    )
    assert plan.commands == [
        ["groupadd", "--gid", "48001", "collab-physics"],
        ["groupadd", "--gid", "47001", "alice"],
        USERADD_ALICE,
    ]


def test_duplicate_conflicts_are_reported_once() -> None:
    plan = plan_accounts([PHYSICS, PHYSICS], [], machine(groups={"collab-physics": 1}))
    assert len(plan.conflicts) == 1


# --- create_accounts -------------------------------------------------------------------------


def test_create_accounts_runs_the_plan() -> None:
    runner = Recorder()
    ran = create_accounts([ALICE_GROUP], [ALICE], machine(), runner=runner)
    assert ran == [["groupadd", "--gid", "47001", "alice"], USERADD_ALICE]
    assert runner.calls == [ran]


def test_create_accounts_with_everything_present() -> None:
    runner = Recorder()
    lookups = machine(users={"alice": 47001}, groups={"alice": 47001})
    assert create_accounts([ALICE_GROUP], [ALICE], lookups, runner=runner) == []
    assert runner.calls == [[]]


def test_create_accounts_refuses_and_runs_nothing() -> None:
    runner = Recorder()
    lookups = machine(users={"alice": 47950}, groups={"staff": 48001})
    bob = SystemUser("bob", 47002, 47002, "/home/bob", "/bin/bash", "bob")
    with pytest.raises(SystemAccountConflict) as raised:
        create_accounts([ALICE_GROUP, PHYSICS], [ALICE, bob], lookups, runner=runner)
    assert str(raised.value) == (
        "gid 48001, which jupyterhub-teams has for group 'collab-physics', already belongs to "
        "system group 'staff'; system user 'alice' already exists with uid 47950, but "
        "jupyterhub-teams has uid 47001 for it (for JupyterHub user 'alice'); it is not taken "
        "over. Nothing was changed."
    )
    # groupadd alice and useradd bob were possible, but nothing ran
    assert runner.calls == []


def test_create_accounts_single_conflict_message() -> None:
    runner = Recorder()
    with pytest.raises(SystemAccountConflict) as raised:
        create_accounts([PHYSICS], [], machine(groups={"collab-physics": 48002}), runner=runner)
    assert str(raised.value).endswith("has gid 48001 for it. Nothing was changed.")
    assert runner.calls == []
