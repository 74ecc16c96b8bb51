"""The sync service's metrics record what each sync report says."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jupyterhub_teams.model import TEAM_PROPERTY, HubGroup, HubState
from jupyterhub_teams.plan import (
    CreateGroup,
    Plan,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
)
from jupyterhub_teams.service.metrics import ACTION_KINDS, SyncMetrics
from jupyterhub_teams.service.sync import SyncReport


def values(metrics: SyncMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_series_exists_before_anything_happened() -> None:
    seen = values(SyncMetrics("LDAPDirectory", namespace="hub"))
    assert set(ACTION_KINDS) == {
        "create-users",
        "create-group",
        "set-group-properties",
        "add-members",
        "remove-members",
        "grant-share",
        "revoke-share",
        "stop-server",
    }
    for kind in ACTION_KINDS:
        assert seen[("hub_teams_actions_applied_total", (("kind", kind),))] == 0
    for outcome in ("applied", "unchanged", "held", "failed"):
        assert seen[("hub_teams_sync_duration_seconds_count", (("outcome", outcome),))] == 0
    assert seen[("hub_teams_directory_read_errors_total", (("source", "LDAPDirectory"),))] == 0


def test_reports_are_counted_by_outcome_and_kind() -> None:
    metrics = SyncMetrics("YAMLDirectory", namespace="jupyterhub")
    applied = SyncReport(
        plan=Plan(actions=[CreateGroup("physics"), SetGroupProperties("physics", {})]),
        applied=True,
        seconds=0.3,
        state=HubState(
            groups={
                "physics": HubGroup(
                    "physics", frozenset({"alice", "bob"}), {TEAM_PROPERTY: {"account": "c-p"}}
                ),
                "old": HubGroup(
                    "old", frozenset(), {TEAM_PROPERTY: {"account": "c-o", "retired": True}}
                ),
                "staff": HubGroup("staff", frozenset({"root"})),
            }
        ),
    )
    metrics.observe(applied, now=1000.0)
    held = SyncReport(plan=Plan(held=[RemoveGroupMembers("physics", ("bob",))]), seconds=0.1)
    metrics.observe(held, now=2000.0)
    down = SyncReport(error="directory unavailable", directory_unavailable=True, seconds=0.05)
    metrics.observe(down, now=3000.0)
    seen = values(metrics)
    p = "jupyterhub_teams_"
    assert seen[(f"{p}actions_applied_total", (("kind", "create-group"),))] == 1
    assert seen[(f"{p}actions_applied_total", (("kind", "set-group-properties"),))] == 1
    assert seen[(f"{p}actions_applied_total", (("kind", "remove-members"),))] == 0  # held
    for outcome in ("applied", "held", "failed"):
        assert seen[(f"{p}sync_duration_seconds_count", (("outcome", outcome),))] == 1
    assert seen[(f"{p}removals_held", ())] == 1
    # the failed read leaves the last success where it was
    assert seen[(f"{p}sync_last_success_timestamp_seconds", ())] == 2000.0
    assert seen[(f"{p}directory_read_errors_total", (("source", "YAMLDirectory"),))] == 1
    assert seen[(f"{p}teams", (("state", "active"),))] == 1
    assert seen[(f"{p}teams", (("state", "retired"),))] == 1
    assert seen[(f"{p}team_memberships", ())] == 2


def test_revocations_count_people_removed_and_shares_revoked_once_applied() -> None:
    metrics = SyncMetrics("YAMLDirectory", namespace="jupyterhub")
    removals = [
        RemoveGroupMembers("physics", ("alice", "bob")),
        RevokeGroupShare("collab-old", "old"),
        RemoveGroupMembers("chemistry", ("carol",)),
    ]
    metrics.observe(SyncReport(plan=Plan(actions=removals), applied=False))  # only planned
    p = "jupyterhub_teams_revocations_total"
    assert values(metrics)[(p, (("kind", "membership"),))] == 0
    metrics.observe(SyncReport(plan=Plan(actions=removals), applied=True))
    seen = values(metrics)
    assert seen[(p, (("kind", "membership"),))] == 3
    assert seen[(p, (("kind", "share"),))] == 1
