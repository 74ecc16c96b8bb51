"""An admin's approval or rejection of the removals the large-removal guard holds back.

The hub's admin view sends the decision (see :mod:`.web`); the approval is carried out by a
sync of its own, planned from fresh reads, that applies the held removals only if they are
still exactly the ones the admin saw (:func:`.sync.sync_once`'s ``approve``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..hub import HubClient
from ..plan import Policy
from ..sources import Source
from .status import Decision, DecisionRefused, SyncStatus
from .sync import SyncReport, sync_once

log = logging.getLogger("jupyterhub_teams.sync")


class HeldPlanDecisions:
    """Approves or rejects the held plan named by its fingerprint, on behalf of an admin."""

    def __init__(
        self,
        client: HubClient,
        source: Source,
        policy: Policy,
        status: SyncStatus,
        lock: asyncio.Lock,
        on_report: Callable[[SyncReport], None],
    ) -> None:
        self.client, self.source, self.policy = client, source, policy
        self.status, self.lock, self.on_report = status, lock, on_report

    async def approve(self, fingerprint: str, by: str) -> Decision:
        async with self.lock:
            self.status.check_current(fingerprint)
            report = await sync_once(self.client, self.source, self.policy, approve=fingerprint)
            self.on_report(report)
        if report.error:
            raise DecisionRefused(f"the sync that would apply them failed: {report.error}")
        if not report.approved:
            raise DecisionRefused(
                "the held plan changed since the page was loaded (the directory changed): "
                "nothing held was applied; review the new one"
            )
        decision = self.status.approved(fingerprint, by, report.approved)
        log.warning(
            "held removals approved by %s: %d carried out (%s)",
            by,
            report.approved,
            report.summary(),
        )
        return decision

    def reject(self, fingerprint: str, by: str) -> Decision:
        decision = self.status.reject(fingerprint, by)
        log.warning(
            "held removals rejected by %s: %d stay held until the directory changes",
            by,
            decision.actions,
        )
        return decision
