"""When a claim team is over, and when a login should write down that its claim still holds.

Pure: every function takes the time as ``now``. A claim team is over when

* its group has no member left: every member's login or refresh has taken them out because
  the provider no longer names the claim (the login hook sets claim memberships exactly), or
* no member's login or refresh has confirmed the claim for longer than ``retire_after``
  (``ClaimGroups.retire_after_days``), going by the time recorded in the team's record.

A record that has no confirmation time (a team made before the option existed, or while it
was off) is never over by time: nobody knows how old its claim is. Its next member's login
writes the time down.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ...model import HubGroup, Origin, TeamRecord

# A login rewrites the confirmation time only once it is older than this fraction of the
# window: a team is then retired at most a tenth of the window early, and a team whose members
# log in all day costs a few group writes per window instead of one per login.
RESTAMP_FRACTION = 0.1
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def stamp(when: datetime) -> str:
    """``when`` as a record writes it: ISO 8601 in UTC, to the second."""
    return when.astimezone(timezone.utc).strftime(_FORMAT)


def confirmed_at(record: TeamRecord) -> datetime | None:
    """When a login last confirmed the team's claim; None when unknown or unreadable."""
    if record.claim_confirmed_at is None:
        return None
    try:
        return datetime.strptime(record.claim_confirmed_at, _FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def window(retire_after_days: float | None) -> timedelta | None:
    """The option as a window; None for "never" (0, None or a negative number)."""
    if not retire_after_days or retire_after_days <= 0:
        return None
    return timedelta(days=retire_after_days)


def confirmation_due(record: TeamRecord, now: datetime, retire_after: timedelta | None) -> bool:
    """Whether a login confirming ``record``'s claim at ``now`` should write the time down.

    Never while retirement by time is off (no write at any login). Otherwise when the record
    has no time yet, or its time is older than :data:`RESTAMP_FRACTION` of the window. A time
    in the future (the clock was set back) is left alone: it only delays a retirement.
    """
    if retire_after is None:
        return False
    last = confirmed_at(record)
    return last is None or now - last >= retire_after * RESTAMP_FRACTION


def why_over(group: HubGroup, now: datetime, retire_after: timedelta | None) -> str | None:
    """Why the active claim team in ``group`` is over, or None while it is not."""
    record = group.record
    if record is None or record.origin is not Origin.CLAIMS or record.retired:
        return None
    if not group.users:
        return "no member left: every member's login took them out, or they left the hub"
    last = confirmed_at(record)
    if retire_after is not None and last is not None and now - last > retire_after:
        return (
            f"no member's login confirmed its claim for {_duration(now - last)} "
            f"(since {stamp(last)})"
        )
    return None


def _duration(span: timedelta) -> str:
    """``span`` in the unit a person reads best: days, hours or seconds."""
    if span >= timedelta(days=1):
        return f"{span / timedelta(days=1):.1f} days"
    if span >= timedelta(hours=1):
        return f"{span / timedelta(hours=1):.1f} hours"
    return f"{span.total_seconds():.0f} s"
