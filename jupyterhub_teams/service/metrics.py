"""Prometheus metrics of the sync service, on the hub's conventions.

Names are ``<namespace>_teams_<noun>_<verb>_<unit>`` with the hub's namespace
(``JUPYTERHUB_METRICS_PREFIX``, ``jupyterhub`` by default), durations are seconds histograms,
and every label value is created up front so that each series exists from the first scrape
(an alert on a counter's increase needs the series before the first increase). The service
serves them at ``/services/<service_name>/metrics`` to tokens holding ``read:metrics``, the
scope that guards the hub's own ``/hub/metrics``.
"""

from __future__ import annotations

import os
import time
from typing import Any, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..model import HubState
from ..plan.actions import Action, RemoveGroupMembers, RevokeGroupShare
from .sync import SyncReport

# every action kind a plan can hold (the members of the closed Action union)
ACTION_KINDS = tuple(sorted(str(cls.kind) for cls in get_args(Action)))
OUTCOMES = ("applied", "unchanged", "held", "failed")
TEAM_STATES = ("active", "retired")
REVOCATION_KINDS = ("membership", "share")
# sync durations: a no-op sync of a small hub takes well under a second, a first sync of
# 10,000 people minutes
BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class SyncMetrics:
    """The sync service's metrics, in their own registry (the service is its own process)."""

    def __init__(self, source: str, namespace: str | None = None) -> None:
        namespace = namespace or os.environ.get("JUPYTERHUB_METRICS_PREFIX") or "jupyterhub"
        self.registry = CollectorRegistry(auto_describe=True)
        self.source = source
        # every metric: the hub's namespace, our subsystem, this registry
        common: dict[str, Any] = {
            "namespace": namespace,
            "subsystem": "teams",
            "registry": self.registry,
        }
        self.sync_duration = Histogram(
            "sync_duration_seconds",
            "Time one sync took (read the directory and the hub, plan, apply), by outcome",
            ["outcome"],
            buckets=BUCKETS,
            **common,
        )
        self.last_success = Gauge(
            "sync_last_success_timestamp_seconds",
            "Unix time of the last sync that read the directory and the hub without error",
            **common,
        )
        self.actions_applied = Counter(
            "actions_applied",
            "Actions the sync applied to the hub, by kind",
            ["kind"],
            **common,
        )
        self.revocations = Counter(
            "revocations",
            "Access the sync took away: people removed from teams (each loses that team's "
            "server), and team servers' shares revoked (a retired team: every member loses it)",
            ["kind"],
            **common,
        )
        self.removals_held = Gauge(
            "removals_held",
            "Removals and retirements the large-removal guard holds back now (0: none)",
            **common,
        )
        self.directory_errors = Counter(
            "directory_read_errors",
            "Syncs that could not read the whole directory, by source (after a failed read "
            "nothing was changed, after an incomplete one nothing was removed)",
            ["source"],
            **common,
        )
        self.refusals = Gauge(
            "refusals",
            "Directory names the last sync refused (people and groups), with reasons in the log",
            **common,
        )
        self.teams = Gauge(
            "teams",
            "Teams in the hub, by state (as the last sync read it)",
            ["state"],
            **common,
        )
        self.memberships = Gauge(
            "team_memberships",
            "Memberships of active teams in the hub (as the last sync read it)",
            **common,
        )
        for outcome in OUTCOMES:
            self.sync_duration.labels(outcome)
        for kind in ACTION_KINDS:
            self.actions_applied.labels(kind)
        for kind in REVOCATION_KINDS:
            self.revocations.labels(kind)
        self.directory_errors.labels(source)
        for state in TEAM_STATES:
            self.teams.labels(state)

    def observe(self, report: SyncReport, now: float | None = None) -> None:
        """Record one sync's report."""
        # an incomplete read counts too: until a complete one, nobody who left is removed
        if report.directory_unavailable or report.incomplete_read:
            self.directory_errors.labels(self.source).inc()
        if report.error is not None:
            outcome = "failed"
        elif report.plan.held:
            outcome = "held"
        elif report.applied:
            outcome = "applied"
        else:
            outcome = "unchanged"
        self.sync_duration.labels(outcome).observe(report.seconds)
        if report.error is None:
            self.last_success.set(now if now is not None else time.time())
            self.removals_held.set(len(report.plan.held))
            self.refusals.set(len(report.plan.refusals))
        if report.applied:
            for action in report.plan.actions:
                self.actions_applied.labels(action.kind).inc()
                if isinstance(action, RemoveGroupMembers):
                    self.revocations.labels("membership").inc(len(action.users))
                elif isinstance(action, RevokeGroupShare):
                    self.revocations.labels("share").inc()
        if report.state is not None:
            self.observe_state(report.state)

    def observe_state(self, state: HubState) -> None:
        counts = {"active": 0, "retired": 0}
        memberships = 0
        for group in state.groups.values():
            record = group.record
            if record is None:
                continue
            counts["retired" if record.retired else "active"] += 1
            memberships += 0 if record.retired else len(group.users)
        for name, count in counts.items():
            self.teams.labels(name).set(count)
        self.memberships.set(memberships)
