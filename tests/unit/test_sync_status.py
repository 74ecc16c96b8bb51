"""The sync service's status for the admin view, and the rules of deciding on a held plan."""

from __future__ import annotations

import pytest

from jupyterhub_teams.plan import Plan, RemoveGroupMembers, StopServer
from jupyterhub_teams.service.status import HISTORY, DecisionRefused, SyncStatus
from jupyterhub_teams.service.sync import SyncReport, fingerprint, removals

PHYSICS = RemoveGroupMembers("physics", ("alice", "bob"))
CHEMISTRY = RemoveGroupMembers("chemistry", ("carol",))


def held(*actions: RemoveGroupMembers | StopServer, reason: str = "too many") -> SyncReport:
    return SyncReport(plan=Plan(held=list(actions), hold_reason=reason))


def test_a_fingerprint_names_the_actions_whatever_their_order() -> None:
    assert fingerprint([PHYSICS, CHEMISTRY]) == fingerprint([CHEMISTRY, PHYSICS])
    assert fingerprint([PHYSICS]) != fingerprint([PHYSICS, CHEMISTRY])
    other = RemoveGroupMembers("physics", ("alice",))
    assert fingerprint([other]) != fingerprint([PHYSICS])


def test_removals_count_memberships_and_one_per_other_action() -> None:
    assert removals([PHYSICS, CHEMISTRY]) == 3
    assert removals([PHYSICS, StopServer("collab-physics")]) == 3
    assert removals([]) == 0


def test_a_rejection_keeps_the_plan_held_and_says_who() -> None:
    status = SyncStatus("test")
    status.observe(held(PHYSICS, CHEMISTRY), now=100)
    wanted = fingerprint([PHYSICS, CHEMISTRY])
    decision = status.reject(wanted, "root", now=101)
    assert (decision.verdict, decision.by, decision.actions) == ("rejected", "root", 3)
    shown = status.to_json()["held"]
    assert shown["fingerprint"] == wanted and shown["rejected"]["by"] == "root"
    assert shown["actions"] == [PHYSICS.describe(), CHEMISTRY.describe()]
    # the directory still asks for the same removals: still rejected
    status.observe(held(CHEMISTRY, PHYSICS), now=102)
    assert status.to_json()["held"]["rejected"]["by"] == "root"
    # the directory changes: a new plan, waiting for a decision
    status.observe(held(PHYSICS), now=103)
    assert status.to_json()["held"]["rejected"] is None
    # and the old plan coming back is not silently rejected again
    status.observe(held(PHYSICS, CHEMISTRY), now=104)
    assert status.to_json()["held"]["rejected"] is None


def test_decisions_on_a_plan_that_is_not_held_are_refused_in_words() -> None:
    status = SyncStatus("test")
    with pytest.raises(DecisionRefused, match="nothing is held back now"):
        status.reject("a" * 64, "root")
    status.observe(held(PHYSICS))
    with pytest.raises(DecisionRefused, match="changed since the page was loaded"):
        status.reject(fingerprint([CHEMISTRY]), "root")
    status.observe(SyncReport(plan=Plan(actions=[PHYSICS]), applied=True))
    with pytest.raises(DecisionRefused, match="nothing is held back now"):
        status.check_current(fingerprint([PHYSICS]))
    # a failed sync says nothing about what is held
    status.observe(held(PHYSICS))
    status.observe(SyncReport(error="hub down"))
    with pytest.raises(DecisionRefused):
        status.check_current(fingerprint([PHYSICS]))


def test_an_approval_is_recorded_and_ends_a_rejection() -> None:
    status = SyncStatus("test")
    status.observe(held(PHYSICS))
    wanted = fingerprint([PHYSICS])
    status.reject(wanted, "root")
    status.approved(wanted, "admin2", 2, now=5)
    assert wanted not in status.rejected
    verdicts = [(d["verdict"], d["by"]) for d in status.to_json()["decisions"]]
    assert verdicts == [("approved", "admin2"), ("rejected", "root")]


def test_the_directory_health_follows_the_reads() -> None:
    status = SyncStatus("LDAPDirectory(ldap://x)")
    assert status.to_json()["directory"]["healthy"] is False  # not read yet
    down = SyncReport(error="directory unavailable (timeout)", directory_unavailable=True)
    status.observe(down, now=10)
    status.observe(down, now=20)
    directory = status.to_json()["directory"]
    assert directory["errors_in_a_row"] == 2 and "timeout" in directory["error"]
    assert status.to_json()["last_success_at"] is None
    status.observe(SyncReport(), now=30)
    directory = status.to_json()["directory"]
    assert directory == {
        "healthy": True,
        "partial": False,
        "error": None,
        "errors_in_a_row": 0,
        "last_read_at": 30,
    }
    assert status.to_json()["last_success_at"] == 30
    # an incomplete read is a directory answering in part
    status.observe(SyncReport(incomplete_read=True), now=35)
    directory = status.to_json()["directory"]
    assert (directory["healthy"], directory["partial"]) == (False, True)
    # a failure on the hub's side is not the directory's
    status.observe(SyncReport(error="hub answered 500"), now=40)
    assert status.to_json()["directory"]["healthy"] is True
    assert status.to_json()["last_sync"]["outcome"] == "failed"


def test_the_history_is_bounded_newest_first() -> None:
    status = SyncStatus("test")
    for moment in range(HISTORY + 5):
        status.observe(SyncReport(seconds=moment), now=moment)
    syncs = status.to_json()["syncs"]
    assert len(syncs) == HISTORY
    assert syncs[0]["at"] == HISTORY + 4 and syncs[-1]["at"] == 5
