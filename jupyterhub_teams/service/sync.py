"""The sync: one plain coroutine doing read → plan → apply, and a loop around it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..hub import HubAPIError, HubClient, apply_actions, read_groups, read_plan_state
from ..model import HubState
from ..plan import Action, Plan, Policy, RemoveGroupMembers, desire, make_plan
from ..sources import Source, SourceError
from ..sources.base import AsksProviderForMembers, BuiltFromHubGroups, ProviderSnapshot

log = logging.getLogger("jupyterhub_teams.sync")


def fingerprint(actions: Sequence[Action]) -> str:
    """A digest naming a set of actions, independent of their order: what an admin who
    approves a held plan approves."""
    lines = sorted(json.dumps(action.to_json(), sort_keys=True) for action in actions)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def removals(actions: Sequence[Action]) -> int:
    """How many removals held actions make: one per membership, one per other action (a
    retirement and what goes with it)."""
    return sum(
        len(action.users) if isinstance(action, RemoveGroupMembers) else 1 for action in actions
    )


@dataclass
class SyncReport:
    plan: Plan = field(default_factory=Plan)
    applied: bool = False
    error: str | None = None
    writes: int = 0
    seconds: float = 0.0
    # the directory could not be read (else a failed sync failed on the hub's side)
    directory_unavailable: bool = False
    # the directory answered only in part (a server gone mid-read): nothing was removed
    incomplete_read: bool = False
    # the hub as this sync read it, before applying anything (None when it was not read)
    state: HubState | None = None
    # the held removals this sync carried out because an admin approved exactly them
    approved: int = 0

    def summary(self) -> str:
        if self.error:
            return f"sync failed, nothing more was changed: {self.error}"
        verb = "applied" if self.applied else "planned"
        held = f", {len(self.plan.held)} held back" if self.plan.held else ""
        return (
            f"sync {verb} {len(self.plan.actions)} action(s){held}, {self.writes} hub write(s), "
            f"{len(self.plan.refusals)} refusal(s) in {self.seconds:.2f} s"
        )


async def sync_once(
    client: HubClient,
    source: Source,
    policy: Policy,
    *,
    apply: bool = True,
    allow_large_removal: bool = False,
    share_sample: tuple[int, int] | None = None,
    approve: str | None = None,
) -> SyncReport:
    """Read the directory and the hub, plan, and (with ``apply``) carry the plan out.

    A directory that cannot be read changes nothing: the error is reported and the hub keeps
    what it has. ``approve`` is the :func:`fingerprint` of held removals an admin approved:
    when this plan holds exactly those, they are carried out with it; other held removals
    stay held.
    """
    started, writes_before = time.perf_counter(), client.writes
    report = SyncReport()
    try:
        groups = None
        if isinstance(source, BuiltFromHubGroups):
            # the claim teams are in the hub: read its groups once, for the source and the plan
            groups = await read_groups(client)
            if isinstance(source, AsksProviderForMembers):
                # claim teams the provider answers about lose the members it no longer lists
                asked = await source.snapshot_asking_provider(groups)
            else:
                asked = ProviderSnapshot(source.snapshot_from_hub(groups))
        else:
            asked = ProviderSnapshot(await source.snapshot())
            # (a source built from the hub's groups is incomplete by design: not a read error)
            report.incomplete_read = not asked.snapshot.complete
        snapshot = asked.snapshot
        # computed once: it says which users to read, and the plan is made of it
        desired = desire(snapshot, policy)
        state = await read_plan_state(
            client, policy, desired.wanted_users, share_sample=share_sample, groups=groups
        )
        report.state = state
        report.plan = make_plan(
            snapshot,
            state,
            policy,
            allow_large_removal=allow_large_removal,
            desired=desired,
            exact_teams=asked.exact_teams,
            confirmed=asked.confirmed,
        )
        if approve is not None and report.plan.held and fingerprint(report.plan.held) == approve:
            # the same reads planned again without the guard: exactly what was approved
            held = removals(report.plan.held)
            report.plan = make_plan(
                snapshot,
                state,
                policy,
                allow_large_removal=True,
                desired=desired,
                exact_teams=asked.exact_teams,
                confirmed=asked.confirmed,
            )
            report.approved = held
        if apply and report.plan.actions:
            await apply_actions(client, report.plan.actions)
            report.applied = True
    except SourceError as exc:
        report.error = f"directory unavailable ({exc}); nothing was changed"
        report.directory_unavailable = True
    except HubAPIError as exc:
        report.error = str(exc)
    report.writes = client.writes - writes_before
    report.seconds = time.perf_counter() - started
    return report


async def sync_forever(
    client: HubClient,
    source: Source,
    policy: Policy,
    interval: float,
    stop: asyncio.Event | None = None,
    share_check_cycles: int = 10,
    on_report: Callable[[SyncReport], None] | None = None,
    lock: asyncio.Lock | None = None,
) -> None:
    """Sync every ``interval`` seconds until ``stop`` is set. Never raises on a failed sync.

    ``on_report`` sees every sync's report (the metrics, the admin view's status). ``lock``
    is held during each sync, so that an approval's sync never runs beside one.
    """
    stop = stop or asyncio.Event()
    lock = lock or asyncio.Lock()
    reported: set[str] = set()
    cycle = 0
    while not stop.is_set():
        # every share is re-read once every `share_check_cycles` syncs; markers vouch between
        async with lock:
            report = await sync_once(
                client, source, policy, share_sample=(cycle, share_check_cycles)
            )
        cycle += 1
        if on_report is not None:
            on_report(report)
        if report.error or report.plan.held:
            log.error("%s", report.summary())
        elif report.plan.actions:
            log.info("%s", report.summary())
        if not report.error:
            # Each refusal once while it lasts, not every interval; one that goes away and
            # comes back is said again. A failed read says nothing about refusals.
            current = {str(refusal) for refusal in report.plan.refusals}
            for refusal in sorted(current - reported):
                log.warning("%s", refusal)
            reported = current
        # a hold is said at every interval, until an admin confirms or the directory is fixed
        if report.plan.hold_reason is not None:
            log.warning("%s", report.plan.hold_reason)
        for note in report.plan.notes:
            if note != report.plan.hold_reason:
                log.info("%s", note)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
