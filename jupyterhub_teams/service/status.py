"""What the sync service knows about itself, for the admin view: the last syncs, the
directory's health, and the plan the large-removal guard holds with the admins' decisions.

An admin decides on one *held plan*, named by its fingerprint (a digest of the held actions).
Approving carries out exactly those removals: the next plan is applied with them only if it
holds the same actions (a directory that changed in between makes a new plan to look at).
Rejecting keeps them held — nothing is removed — and says who rejected them, until the
directory changes. Decisions live in the service's memory: after a restart a held plan is
held again and waits for a new decision, which is the safe side.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from .sync import SyncReport, fingerprint, removals

# How many syncs and decisions the admin view lists.
HISTORY = 20


class DecisionRefused(Exception):
    """An approval or rejection that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Decision:
    verdict: str  # "approved" or "rejected"
    by: str
    at: float
    fingerprint: str
    # removals decided on: memberships, and one per other held action
    actions: int


@dataclass(frozen=True)
class SyncLine:
    """One sync, as the admin view lists it."""

    at: float
    seconds: float
    outcome: str
    summary: str


def outcome_of(report: SyncReport) -> str:
    if report.error:
        return "failed"
    if report.plan.held:
        return "held"
    return "applied" if report.applied else "unchanged"


@dataclass
class SyncStatus:
    """Fed every sync's report (``observe``); read by the admin view (``to_json``)."""

    source: str
    last: SyncReport | None = None
    last_at: float | None = None
    last_success_at: float | None = None
    directory_error: str | None = None
    directory_errors_in_a_row: int = 0
    directory_last_read_at: float | None = None
    # the last read answered only in part (nothing was removed on its strength)
    directory_partial: bool = False
    syncs: deque[SyncLine] = field(default_factory=lambda: deque(maxlen=HISTORY))
    decisions: deque[Decision] = field(default_factory=lambda: deque(maxlen=HISTORY))
    # held plans rejected by an admin, by fingerprint
    rejected: dict[str, Decision] = field(default_factory=dict)

    def observe(self, report: SyncReport, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.last, self.last_at = report, now
        self.syncs.appendleft(SyncLine(now, report.seconds, outcome_of(report), report.summary()))
        if report.directory_unavailable:
            self.directory_error = report.error
            self.directory_errors_in_a_row += 1
        else:
            self.directory_last_read_at = now
            self.directory_error = None
            self.directory_errors_in_a_row = 0
        self.directory_partial = report.incomplete_read
        if report.error is None:
            self.last_success_at = now
        # a rejection lasts while the directory asks for the same removals
        held = self.held_fingerprint()
        self.rejected = {fp: d for fp, d in self.rejected.items() if fp == held}

    def held_fingerprint(self) -> str | None:
        if self.last is None or self.last.error or not self.last.plan.held:
            return None
        return fingerprint(self.last.plan.held)

    def check_current(self, wanted: str) -> None:
        """Refuse a decision on a plan that is no longer the one held."""
        held = self.held_fingerprint()
        if held is None:
            raise DecisionRefused(
                "nothing is held back now: the directory changed or the removals were applied"
            )
        if held != wanted:
            raise DecisionRefused(
                "the held plan changed since the page was loaded (the directory changed): "
                "review the new one"
            )

    def reject(self, wanted: str, by: str, now: float | None = None) -> Decision:
        self.check_current(wanted)
        assert self.last is not None
        decision = Decision(
            "rejected",
            by,
            time.time() if now is None else now,
            wanted,
            removals(self.last.plan.held),
        )
        self.rejected[wanted] = decision
        self.decisions.appendleft(decision)
        return decision

    def approved(self, wanted: str, by: str, actions: int, now: float | None = None) -> Decision:
        decision = Decision("approved", by, time.time() if now is None else now, wanted, actions)
        self.rejected.pop(wanted, None)
        self.decisions.appendleft(decision)
        return decision

    def to_json(self) -> dict[str, Any]:
        report = self.last
        held: dict[str, Any] | None = None
        fp = self.held_fingerprint()
        if report is not None and fp is not None:
            rejection = self.rejected.get(fp)
            held = {
                "fingerprint": fp,
                "reason": report.plan.hold_reason,
                "actions": [action.describe() for action in report.plan.held],
                "rejected": asdict(rejection) if rejection else None,
            }
        return {
            "source": self.source,
            "last_sync": None
            if report is None
            else {
                "at": self.last_at,
                "seconds": report.seconds,
                "outcome": outcome_of(report),
                "summary": report.summary(),
                "error": report.error,
                "actions": len(report.plan.actions),
                "writes": report.writes,
                "refusals": [str(refusal) for refusal in report.plan.refusals],
            },
            "last_success_at": self.last_success_at,
            "directory": {
                "healthy": self.directory_error is None
                and self.directory_last_read_at is not None
                and not self.directory_partial,
                "partial": self.directory_partial,
                "error": self.directory_error,
                "errors_in_a_row": self.directory_errors_in_a_row,
                "last_read_at": self.directory_last_read_at,
            },
            "held": held,
            "syncs": [asdict(line) for line in self.syncs],
            "decisions": [asdict(decision) for decision in self.decisions],
        }
