"""What the provider's answers about claim teams mean for the background sync.

Pure: the answers and the time are given. For each active claim team recorded in the hub the
sync asks the provider for the members of the team's claim (its path, ``myorg:physics``). An
answer is the provider's whole member list or ``None`` (unknown). Then:

* A known answer is authoritative for the team's hub members: those it lists stay, the others
  are removed (the planner plans the removals under the large-removal guard, as it does a
  directory's). People it lists who are not members in the hub are not added: a person who
  has never logged in has no JupyterHub account yet, and one who has is added by their next
  login (or refresh), which reads their claims.
* A known answer listing none of the team's hub members empties the team; at the next sync
  the empty team retires by the existing rule (:mod:`.retirement`: no member left).
* A known answer listing at least one hub member confirms the claim now, as that member's
  login would: ``retire_after_days`` does not retire a team the provider vouches for. The
  time is written into the team's record when a login would write it
  (:func:`.retirement.confirmation_due`).
* An unknown answer changes nothing: the team keeps its members and the existing rules apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ...model import HubGroup, Origin, with_record
from .retirement import confirmation_due, stamp


def claims_to_ask(groups: Iterable[HubGroup]) -> dict[str, str]:
    """The claim path of each active claim team → the team (its hub group's name)."""
    asked: dict[str, str] = {}
    for group in groups:
        record = group.record
        if record is None or record.origin is not Origin.CLAIMS or record.retired:
            continue
        if record.claim:
            asked.setdefault(record.claim, group.name)
    return asked


@dataclass(frozen=True)
class ProviderView:
    """The claim teams as the provider's answers leave them."""

    # the hub's groups, with the records of confirmed teams confirmed at ``now`` (so that the
    # retirement rules see the confirmation)
    groups: Mapping[str, HubGroup] = field(default_factory=dict)
    # teams with a known answer → their hub members it lists (the members they keep)
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # teams whose confirmation time should be written now → the time, as records write it
    confirmed: Mapping[str, str] = field(default_factory=dict)
    # teams the provider would not answer about (their claims), kept as they are
    unknown: tuple[str, ...] = ()

    @property
    def removed(self) -> dict[str, frozenset[str]]:
        """Teams → the hub members the provider no longer lists."""
        gone = {}
        for name, kept in self.members.items():
            if left := self.groups[name].users - kept:
                gone[name] = frozenset(left)
        return gone


def view_from_answers(
    groups: Mapping[str, HubGroup],
    answers: Mapping[str, frozenset[str] | None],
    now: datetime,
    retire_after: timedelta | None,
) -> ProviderView:
    """The claim teams in ``groups`` after the provider's ``answers`` (claim path → JupyterHub
    names of its members, or None when unknown) at ``now``; see the module."""
    seen: dict[str, HubGroup] = dict(groups)
    members: dict[str, frozenset[str]] = {}
    confirmed: dict[str, str] = {}
    unknown: list[str] = []
    for claim, name in sorted(claims_to_ask(groups.values()).items()):
        group = groups[name]
        record = group.record
        assert record is not None  # claims_to_ask takes only teams with a record
        if claim not in answers:
            continue  # not asked: nothing is known
        listed = answers[claim]
        if listed is None:
            unknown.append(claim)
            continue
        members[name] = group.users & listed
        if not members[name]:
            continue  # nobody left to vouch for: emptied now, retired at the next sync
        if confirmation_due(record, now, retire_after):
            confirmed[name] = stamp(now)
        if retire_after is not None:
            vouched = replace(record, claim_confirmed_at=stamp(now))
            seen[name] = replace(group, properties=with_record(group.properties, vouched))
    return ProviderView(seen, members, confirmed, tuple(unknown))
