"""Which running servers are stopped because their owner left a team they carry: the pure
decision, by value, the record it reads and writes, and the option."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyterhub_teams.posix import PosixIdentity
from jupyterhub_teams.posix.carried import CarriedTeams
from jupyterhub_teams.posix.leaving import Carried, Decision, Left, Stop, decide, when

GRACE = 300.0
T0 = 1_800_000_000.0  # a start time
ALICE = ("alice", "")


def physics(left_noticed: float | None = None, user: str = "alice", server: str = "") -> Carried:
    return Carried(user, server, "physics", 48001, T0, left_noticed)


def chemistry(left_noticed: float | None = None) -> Carried:
    return Carried("alice", "", "chemistry", 48002, T0, left_noticed)


def check(
    *rows: Carried,
    teams: set[str],
    now: float,
    running: set[tuple[str, str]] | None = None,
    pending: set[tuple[str, str]] | None = None,
    grace: float = GRACE,
) -> Decision:
    return decide(
        rows,
        running={ALICE} if running is None else running,
        pending=pending or set(),
        teams_of={"alice": frozenset(teams)},
        now=now,
        grace=grace,
    )


def test_a_member_is_left_alone() -> None:
    assert check(physics(), chemistry(), teams={"physics", "chemistry"}, now=T0 + 9999) == (
        Decision()
    )


def test_a_departure_is_noticed_first_and_not_stopped_before_the_grace() -> None:
    now = T0 + 60
    assert check(physics(), chemistry(), teams={"chemistry"}, now=now) == Decision(
        noticed=[physics()]
    )
    # a later check, within the grace: nothing new to record, nothing to stop
    assert check(physics(now), teams={"chemistry"}, now=now + GRACE - 1) == Decision()


def test_the_server_is_stopped_once_the_grace_is_over() -> None:
    noticed = T0 + 60
    decision = check(physics(noticed), chemistry(), teams={"chemistry"}, now=noticed + GRACE)
    assert decision == Decision(
        stops=[Stop("alice", "", (Left("physics", 48001, noticed),), GRACE)]
    )
    assert decision.stops[0].reason() == (
        f"stopped alice's server: alice left physics at {when(noticed)} (its gid 48001); "
        "grace 300 s"
    )


def test_grace_zero_stops_at_the_check_that_notices() -> None:
    decision = check(physics(), teams=set(), now=T0 + 5, grace=0)
    assert decision.noticed == [physics()]
    assert decision.stops == [Stop("alice", "", (Left("physics", 48001, T0 + 5),), 0)]


def test_a_person_re_added_within_the_grace_is_cleared_and_not_stopped() -> None:
    noticed = T0 + 60
    assert check(physics(noticed), teams={"physics"}, now=noticed + GRACE - 1) == Decision(
        rejoined=[physics(noticed)]
    )
    # re-added late, after the grace but before the check: a member now, so not stopped
    assert check(physics(noticed), teams={"physics"}, now=noticed + GRACE * 10).stops == []


def test_every_team_left_is_named_and_the_grace_runs_from_the_first() -> None:
    first, second = T0 + 10, T0 + 200
    decision = check(physics(first), chemistry(second), teams=set(), now=first + GRACE)
    assert decision.stops == [
        Stop(
            "alice",
            "",
            (Left("chemistry", 48002, second), Left("physics", 48001, first)),
            GRACE,
        )
    ]
    assert check(physics(first), chemistry(second), teams=set(), now=first + GRACE - 1) == (
        Decision()
    )


def test_a_server_that_is_not_running_is_forgotten_not_stopped() -> None:
    rows = (physics(T0), chemistry())
    decision = check(*rows, teams=set(), now=T0 + GRACE * 2, running=set())
    assert decision == Decision(forget=[chemistry(), physics(T0)])


def test_a_pending_server_is_kept_and_waits() -> None:
    decision = check(physics(T0), teams=set(), now=T0 + GRACE, running=set(), pending={ALICE})
    assert decision == Decision(waiting=[ALICE])
    # a departure during a start is noticed, the start's rows kept
    decision = check(physics(), teams=set(), now=T0 + 1, running=set(), pending={ALICE})
    assert decision == Decision(noticed=[physics()])


def test_named_servers_and_other_people_are_separate() -> None:
    rows = (physics(), physics(server="gpu"), physics(user="bob"))
    decision = decide(
        rows,
        running={("alice", ""), ("alice", "gpu"), ("bob", "")},
        pending=set(),
        teams_of={"alice": frozenset(), "bob": frozenset({"physics"})},
        now=T0,
        grace=0,
    )
    assert [(s.user, s.server) for s in decision.stops] == [("alice", ""), ("alice", "gpu")]
    assert "alice's server 'gpu'" in decision.stops[1].reason()
    # a person missing from teams_of is in no team
    decision = decide(rows[:1], running={ALICE}, pending=set(), teams_of={}, now=T0, grace=0)
    assert [s.user for s in decision.stops] == ["alice"]


def test_the_record_replaces_a_server_s_teams_at_each_start(tmp_path: Path) -> None:
    store = CarriedTeams(tmp_path / "ids.sqlite")
    store.record_start("alice", "", [("physics", 48001), ("chemistry", 48002)], T0)
    store.record_start("bob", "", [("physics", 48001)], T0)
    assert store.rows() == [
        Carried("alice", "", "chemistry", 48002, T0),
        Carried("alice", "", "physics", 48001, T0),
        Carried("bob", "", "physics", 48001, T0),
    ]
    store.record_start("alice", "", [("chemistry", 48002)], T0 + 1)
    assert [(r.user, r.team, r.started) for r in store.rows()] == [
        ("alice", "chemistry", T0 + 1),
        ("bob", "physics", T0),
    ]
    assert (tmp_path / "ids.sqlite").stat().st_mode & 0o077 == 0


def test_the_record_keeps_notices_across_instances(tmp_path: Path) -> None:
    """What a restart of the hub sees: a new object on the same file."""
    path = tmp_path / "ids.sqlite"
    store = CarriedTeams(path)
    store.record_start("alice", "", [("physics", 48001)], T0)
    (row,) = store.rows()
    store.update(noticed=[row], at=T0 + 60)
    assert CarriedTeams(path).rows() == [physics(T0 + 60)]
    CarriedTeams(path).update(rejoined=[physics(T0 + 60)])
    assert CarriedTeams(path).rows() == [physics()]


def test_an_update_never_touches_a_newer_start(tmp_path: Path) -> None:
    store = CarriedTeams(tmp_path / "ids.sqlite")
    store.record_start("alice", "", [("physics", 48001)], T0)
    (old,) = store.rows()
    # the server stopped and started again between a check's read and its write
    store.record_start("alice", "", [("physics", 48001)], T0 + 5)
    store.update(noticed=[old], at=T0 + 6, forget=[old])
    assert store.rows() == [Carried("alice", "", "physics", 48001, T0 + 5)]


def test_the_grace_option() -> None:
    assert PosixIdentity().removed_member_grace_seconds == 300
    assert PosixIdentity(removed_member_grace=0).removed_member_grace_seconds == 0
    assert PosixIdentity(removed_member_grace="45").removed_member_grace_seconds == 45
    assert PosixIdentity(removed_member_grace="never").removed_member_grace_seconds is None
    config = Config()
    config.PosixIdentity.removed_member_grace = "Never"
    assert PosixIdentity(config=config).removed_member_grace == "never"
    for wrong in ("soon", "", -1, float("nan"), float("inf")):
        with pytest.raises(TraitError, match="removed_member_grace"):
            PosixIdentity(removed_member_grace=wrong)
    for wrong_interval in (0, -5, 86400):
        with pytest.raises(TraitError, match="removed_member_check_interval"):
            PosixIdentity(removed_member_check_interval=wrong_interval)


# -- what the spawn step records, and the hub wiring ------------------------------------------


async def test_the_spawn_step_records_what_a_person_s_server_carries(tmp_path: Path) -> None:
    from jupyterhub_teams.posix import PosixLocalProcessSpawner

    from .test_posix_hook import (
        ACCOUNTS,
        MARKED_CHEMISTRY,
        MARKED_PHYSICS,
        RETIRED,
        Directory,
        HubUser,
        make_hook,
    )

    hook = make_hook(tmp_path, Directory({"alice": 47001, "collab-physics": 47500}))
    alice = HubUser("alice", MARKED_PHYSICS, MARKED_CHEMISTRY, RETIRED)
    await hook(PosixLocalProcessSpawner(user=alice))
    rows = CarriedTeams(hook.options.registry_path).rows()
    assert [(r.user, r.server, r.team) for r in rows] == [
        ("alice", "", "chemistry"),
        ("alice", "", "physics"),
    ]
    assert rows[1].gid == 48001 and rows[0].gid in PosixIdentity().gids
    # the next start gives what she is in then, and replaces the rows
    await hook(PosixLocalProcessSpawner(user=HubUser("alice", MARKED_CHEMISTRY)))
    assert [r.team for r in CarriedTeams(hook.options.registry_path).rows()] == ["chemistry"]
    # a team server carries its own team, which its account never leaves: nothing recorded
    await hook(PosixLocalProcessSpawner(user=HubUser("collab-physics", ACCOUNTS, MARKED_PHYSICS)))
    assert {r.user for r in CarriedTeams(hook.options.registry_path).rows()} == {"alice"}


def posix_config(tmp_path: Path, **options: object) -> Config:
    c = Config()
    c.JupyterHubTeams.directory = str(tmp_path / "directory.yaml")
    (tmp_path / "directory.yaml").write_text("groups:\n  physics: [alice]\n")
    c.PosixIdentity.enabled = True
    c.PosixIdentity.registry_path = str(tmp_path / "ids.sqlite")
    for name, value in options.items():
        setattr(c.PosixIdentity, name, value)
    return c


async def test_setup_starts_the_enforcer_when_the_hub_asks_for_handlers(tmp_path: Path) -> None:
    import logging
    from types import SimpleNamespace

    from jupyterhub_teams import setup
    from jupyterhub_teams.posix.leavers import LeaverEnforcer

    c = posix_config(tmp_path, removed_member_grace=42, removed_member_check_interval=7)
    setup(c)
    authenticator_class = c.JupyterHub.authenticator_class
    enforcer = authenticator_class.__dict__["_jupyterhub_teams_leavers"]
    assert isinstance(enforcer, LeaverEnforcer)
    assert (enforcer.grace, enforcer.interval) == (42, 7)
    # the pages' handlers are still there, and the enforcer starts with them, once
    app = SimpleNamespace(log=logging.getLogger("hub"))
    routes = [r[0] for r in authenticator_class().get_handlers(app)]
    assert "/teams" in routes
    task = enforcer._task
    assert task is not None and enforcer.log is app.log
    authenticator_class().get_handlers(app)
    assert enforcer._task is task
    task.cancel()
    # wrapping the class again changes nothing (the hub validates it more than once)
    c.JupyterHub.authenticator_class = authenticator_class
    assert c.JupyterHub.authenticator_class is authenticator_class
    # the home page's notice, kept when the admin sets template variables after setup(c)
    from jupyterhub_teams.posix.leavers import StopNotice

    assert isinstance(c.JupyterHub.template_vars["announcement_home"], StopNotice)
    # the hub's own copy of the variables (traitlets deep-copies them) reads this enforcer
    from jupyterhub.app import JupyterHub

    in_hub = JupyterHub(config=c).template_vars["announcement_home"]
    assert isinstance(in_hub, StopNotice) and in_hub.enforcer is enforcer
    c.JupyterHub.template_vars = {"announcement_home": "theirs"}
    home = c.JupyterHub.template_vars["announcement_home"]
    assert isinstance(home, StopNotice) and home.enforcer is enforcer
    assert home(SimpleNamespace(name="bob")) == "theirs"


def test_never_installs_no_enforcer(tmp_path: Path) -> None:
    from jupyterhub_teams import setup

    c = posix_config(tmp_path, removed_member_grace="never")
    setup(c)
    assert "_jupyterhub_teams_leavers" not in vars(c.JupyterHub.authenticator_class)
    assert "template_vars" not in c.JupyterHub
    plain = Config()
    plain.JupyterHubTeams.directory = str(tmp_path / "directory.yaml")
    setup(plain)
    assert "_jupyterhub_teams_leavers" not in vars(plain.JupyterHub.authenticator_class)


# -- the notice on the person's home page ------------------------------------------------------


def test_a_stop_is_kept_for_its_notice_until_the_server_starts_again(tmp_path: Path) -> None:
    from jupyterhub_teams.posix.leaving import Stopped

    store = CarriedTeams(tmp_path / "ids.sqlite")
    stopped = Stopped("alice", "", ("chemistry", "physics"), T0)
    store.record_stop(stopped)
    store.record_stop(Stopped("bob", "gpu", ("physics",), T0))
    assert CarriedTeams(tmp_path / "ids.sqlite").stopped() == [
        stopped,
        Stopped("bob", "gpu", ("physics",), T0),
    ]
    store.record_start("alice", "", [], T0 + 60)
    assert [s.user for s in store.stopped()] == ["bob"]
    assert stopped.notice() == (
        f"Your server was stopped at {when(T0)} because you are no longer a member of "
        "chemistry, physics: it still had that team's files and group. Started again, it has "
        "the teams you are in now."
    )
    # shown as HTML: names are escaped
    assert "&lt;b&gt;" in Stopped("x", "<b>", ("physics",), T0).notice()


def test_the_home_page_announcement_keeps_the_admin_s(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from jupyterhub_teams.posix.leavers import LeaverEnforcer, StopNotice, with_stop_notice
    from jupyterhub_teams.posix.leaving import Stopped

    enforcer = LeaverEnforcer(CarriedTeams(tmp_path / "ids.sqlite"), GRACE, 30)
    alice, bob = SimpleNamespace(name="alice"), SimpleNamespace(name="bob")
    notice = Stopped("alice", "", ("physics",), T0)
    enforcer.notices = {"alice": [notice]}

    variables = with_stop_notice(enforcer)(None)
    home = variables["announcement_home"]
    assert isinstance(home, StopNotice)
    assert (home(alice), home(bob), home(None)) == (notice.notice(), "", "")
    # applied again (the hub's config is read more than once): unchanged
    assert with_stop_notice(enforcer)(variables) is variables
    # the admin's own announcements still show, after the notice
    variables["announcement"] = "Maintenance at noon"
    assert home(bob) == "Maintenance at noon"
    assert home(alice) == notice.notice() + "<br>Maintenance at noon"
    theirs = with_stop_notice(enforcer)(
        {"announcement": "everywhere", "announcement_home": lambda user: f"hello {user.name}"}
    )
    assert theirs["announcement"] == "everywhere"
    assert theirs["announcement_home"](bob) == "hello bob"
    assert theirs["announcement_home"](alice) == notice.notice() + "<br>hello alice"
