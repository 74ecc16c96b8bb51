"""What each running server was started with: one row per team whose gid and directory it got.

Written by the spawn step (:mod:`.hook`), on the hub's side, from what it has just given the
server; read by the enforcer (:mod:`.leavers`). It lives in the record's SQLite file
(``registry_path``), next to the numbers, in a table of its own: the hub writes it, nobody
else does, so unlike ``user_options`` a person cannot make their server look like it carries
less than it does. A row also keeps when the enforcer first found the person outside the
team, so that a restart of the hub neither forgets a departure nor restarts its grace.

Every method blocks (SQLite): the hub calls them off its event loop.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from .leaving import Carried, Stopped

_SCHEMA = """
CREATE TABLE IF NOT EXISTS carried_teams (
    user TEXT NOT NULL,          -- the JupyterHub user owning the server
    server TEXT NOT NULL,        -- the server's name, '' for the default server
    team TEXT NOT NULL,
    gid INTEGER NOT NULL,
    started REAL NOT NULL,       -- when the server was given the team (epoch seconds)
    left_noticed REAL,           -- when the person was first found outside the team
    PRIMARY KEY (user, server, team)
);
CREATE TABLE IF NOT EXISTS stopped_servers (
    user TEXT NOT NULL,          -- the person whose server the hub stopped
    server TEXT NOT NULL,
    teams TEXT NOT NULL,         -- the teams they had left, comma-separated
    stopped REAL NOT NULL,       -- when (epoch seconds); shown to them until the next start
    PRIMARY KEY (user, server)
)
"""


class CarriedTeams:
    """The ``carried_teams`` table of the SQLite file at ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._ready = False

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            # created readable by its owner only, like the record of numbers
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            if not self._ready:
                conn.executescript(_SCHEMA)
                self._ready = True
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def record_start(
        self, user: str, server: str, teams: Sequence[tuple[str, int]], at: float
    ) -> None:
        """``user``'s ``server`` starts with ``teams`` ((team, gid) pairs): what an earlier
        start of it carried is replaced."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM carried_teams WHERE user = ? AND server = ?", (user, server))
            # the notice of an earlier stop has served its purpose once the server is back
            conn.execute(
                "DELETE FROM stopped_servers WHERE user = ? AND server = ?", (user, server)
            )
            conn.executemany(
                "INSERT INTO carried_teams (user, server, team, gid, started) "
                "VALUES (?, ?, ?, ?, ?)",
                [(user, server, team, gid, at) for team, gid in teams],
            )

    def rows(self) -> list[Carried]:
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT user, server, team, gid, started, left_noticed FROM carried_teams "
                "ORDER BY user, server, team"
            ).fetchall()
        return [Carried(u, s, t, int(g), float(st), ln) for u, s, t, g, st, ln in found]

    def update(
        self,
        *,
        noticed: Iterable[Carried] = (),
        at: float = 0.0,
        rejoined: Iterable[Carried] = (),
        forget: Iterable[Carried] = (),
    ) -> None:
        """Mark ``noticed`` rows as left at ``at``, clear ``rejoined`` rows and drop ``forget``
        rows, in one transaction. Each row is matched with its start time: a server started
        again meanwhile has new rows, which stay as the new start wrote them."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE carried_teams SET left_noticed = ? "
                "WHERE user = ? AND server = ? AND team = ? AND started = ? "
                "AND left_noticed IS NULL",
                [(at, r.user, r.server, r.team, r.started) for r in noticed],
            )
            conn.executemany(
                "UPDATE carried_teams SET left_noticed = NULL "
                "WHERE user = ? AND server = ? AND team = ? AND started = ?",
                [(r.user, r.server, r.team, r.started) for r in rejoined],
            )
            conn.executemany(
                "DELETE FROM carried_teams "
                "WHERE user = ? AND server = ? AND team = ? AND started = ?",
                [(r.user, r.server, r.team, r.started) for r in forget],
            )

    def record_stop(self, stopped: Stopped) -> None:
        """The hub stopped a server for teams its owner left: kept for the owner's notice."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO stopped_servers (user, server, teams, stopped) "
                "VALUES (?, ?, ?, ?)",
                (stopped.user, stopped.server, ",".join(stopped.teams), stopped.at),
            )

    def stopped(self) -> list[Stopped]:
        """The stops whose server has not been started since."""
        with self._transaction() as conn:
            found = conn.execute(
                "SELECT user, server, teams, stopped FROM stopped_servers ORDER BY user, server"
            ).fetchall()
        return [Stopped(u, s, tuple(t.split(",")), float(at)) for u, s, t, at in found]
