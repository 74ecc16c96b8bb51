"""Which running servers to stop because their owner left a team they carry (pure).

A person's own server starts with their teams' gids and team directories (see
:mod:`.hook`); what it started with is recorded as :class:`Carried` rows, one per team. When
the person is no longer a member of such a team, the server keeps the gid and the directory
until it stops. :func:`decide` says, from recorded facts and the hub's present state only,
what the enforcer (:mod:`.leavers`) does at one check:

* a carried team the person is no longer in is *noticed* (the time is recorded, so a restart
  of the hub neither forgets it nor restarts the clock);
* a noticed team the person is in again (re-added within the grace) is cleared;
* a server whose oldest noticed team was noticed ``grace`` seconds ago or more is stopped;
* rows of servers that are no longer running are forgotten (the next start records anew).

Times are seconds since the epoch, as floats.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field

# (JupyterHub user, server name): "" is the person's default server
ServerKey = tuple[str, str]


@dataclass(frozen=True)
class Carried:
    """A team whose gid and directory a server was started with."""

    user: str
    server: str
    team: str
    gid: int
    started: float
    # when a check first found the person outside the team; None while they are in it
    left_noticed: float | None = None

    @property
    def key(self) -> ServerKey:
        return (self.user, self.server)


@dataclass(frozen=True)
class Left:
    team: str
    gid: int
    noticed: float


@dataclass(frozen=True)
class Stop:
    """A server to stop, and why."""

    user: str
    server: str
    left: tuple[Left, ...]
    grace: float

    def reason(self) -> str:
        server = f"{self.user}'s server" + (f" {self.server!r}" if self.server else "")
        teams = "; ".join(
            f"{self.user} left {left.team} at {when(left.noticed)} (its gid {left.gid})"
            for left in self.left
        )
        return f"stopped {server}: {teams}; grace {self.grace:g} s"


@dataclass(frozen=True)
class Stopped:
    """A server the hub stopped because its owner left ``teams``: what they are told."""

    user: str
    server: str
    teams: tuple[str, ...]
    at: float

    def notice(self) -> str:
        """The notice on the person's home page, as HTML (every name escaped)."""
        server = "Your server" + (f" {self.server!r}" if self.server else "")
        teams = ", ".join(self.teams)
        return html.escape(
            f"{server} was stopped at {when(self.at)} because you are no longer a member of "
            f"{teams}: it still had that team's files and group. Started again, it has the "
            "teams you are in now.",
            quote=False,
        )


@dataclass
class Decision:
    """What one check does: rows to mark, to clear and to forget, and servers to stop."""

    noticed: list[Carried] = field(default_factory=list)
    rejoined: list[Carried] = field(default_factory=list)
    # rows of servers no longer running (the next start records anew)
    forget: list[Carried] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    # servers past their grace that cannot be stopped now (a start or stop is pending)
    waiting: list[ServerKey] = field(default_factory=list)


def when(timestamp: float) -> str:
    """A time for logs: UTC, to the second."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def decide(
    carried: Iterable[Carried],
    *,
    running: Set[ServerKey],
    pending: Set[ServerKey],
    teams_of: Mapping[str, Set[str]],
    now: float,
    grace: float,
) -> Decision:
    """The check at ``now``.

    ``running``: servers that are up and not starting or stopping; ``pending``: servers
    starting or stopping (their rows are kept, nothing is done to them yet). ``teams_of``: each
    person's present teams (a person missing from it is in no team). ``grace``: seconds from
    noticing a departure to stopping the server, ``>= 0``.
    """
    decision = Decision()
    by_server: dict[ServerKey, list[Carried]] = {}
    for row in carried:
        by_server.setdefault(row.key, []).append(row)
    for key in sorted(by_server):
        rows = sorted(by_server[key], key=lambda r: r.team)
        if key not in running and key not in pending:
            decision.forget.extend(rows)
            continue
        user = key[0]
        present = teams_of.get(user, frozenset())
        left: list[Left] = []
        for row in rows:
            if row.team in present:
                if row.left_noticed is not None:
                    decision.rejoined.append(row)
                continue
            noticed = row.left_noticed
            if noticed is None:
                noticed = now
                decision.noticed.append(row)
            left.append(Left(row.team, row.gid, noticed))
        due = [x for x in left if now - x.noticed >= grace]
        if not due:
            continue
        if key in pending:
            decision.waiting.append(key)
            continue
        decision.stops.append(Stop(user, key[1], tuple(left), grace))
    return decision
