"""Churn: a seeded random sequence of directory edits (members added and removed, groups
deleted and restored), changes to a team made on the Teams page, and shares of people's own
servers, applied to a real hub with real servers. After each settle, every person is checked
against every running team server and every person's server through the real proxy (open),
and against every team server through the REST API (start, stop), and the answers are
compared with a model of who may do what. 0 wrong allows and 0 wrong denies.

The seed is printed; ``JUPYTERHUB_TEAMS_CHURN_SEED`` replays a run and
``JUPYTERHUB_TEAMS_CHURN_STEPS`` makes it longer (a soak): see docs/security.md.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from .harness import Hub, Person, sessions, start_as, teams_api

STEPS = int(os.environ.get("JUPYTERHUB_TEAMS_CHURN_STEPS", "200"))
SEED = int(
    os.environ.get("JUPYTERHUB_TEAMS_CHURN_SEED", str(random.SystemRandom().randrange(10**6)))
)
BATCH = 8  # steps between two settles
PEOPLE = ("alice", "bob", "carol", "dave", "erin")
ADHOC = "adhoc-churn"  # made on the Teams page by alice, its admin, who stays in it
REVOCATION = 2  # seconds servers trust the hub's answer (team servers and people's servers)
REFUSED = (302, 403, 404)


@dataclass
class Model:
    """Who should be where: the directory's groups, the deleted ones (their teams retired, with
    the members they had), the Teams-page team, and people's shares."""

    groups: dict[str, set[str]]
    deleted: dict[str, set[str]] = field(default_factory=dict)
    adhoc: set[str] = field(default_factory=lambda: {"alice"})
    shares: set[tuple[str, str]] = field(default_factory=set)  # (owner, visitor)

    def members(self, team: str) -> set[str]:
        if team == ADHOC:
            return self.adhoc
        return self.groups.get(team, set())

    def active_teams(self) -> list[str]:
        return [*sorted(self.groups), ADHOC]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    options = (
        f"c.JupyterHubTeams.share_revocation_interval = {REVOCATION}\n"
        # the large-removal guard would rightly hold a settle that deletes two of these small
        # teams; it has tests of its own (test_guards.py), here it is off
        "c.JupyterHubTeams.large_removal_fraction = 1.0\n"
    )
    running = Hub(
        tmp_path_factory.mktemp("churn"),
        sync_interval=1,
        revocation_interval=REVOCATION,
        pre_config=options,
    )
    with running.synced("physics"):
        yield running


class Churn:
    def __init__(self, hub: Hub, people: dict[str, Person], rng: random.Random) -> None:
        self.hub, self.people, self.rng = hub, people, rng
        data = yaml.safe_load(hub.directory.read_text())
        self.entries: dict[str, Any] = dict(data["groups"])
        self.model = Model({g: set(e["members"]) for g, e in self.entries.items()})
        self.log: list[str] = []
        self.checks = 0
        self.wrong: list[str] = []
        self.removed_something = False

    # -- actions ---------------------------------------------------------------------------

    def write_directory(self) -> None:
        data = yaml.safe_load(self.hub.directory.read_text())
        data["groups"] = {
            g: {**self.entries[g], "members": sorted(m)} for g, m in self.model.groups.items()
        }
        self.hub.directory.write_text(yaml.safe_dump(data))

    def step(self) -> None:
        m, rng = self.model, self.rng
        options: list[tuple[str, Callable[[], None]]] = []
        for team, members in m.groups.items():
            if outside := [p for p in PEOPLE if p not in members]:
                joining = rng.choice(outside)
                options.append(("add", lambda t=team, p=joining: self.dir_add(t, p)))
            if members:
                leaving = rng.choice(sorted(members))
                options.append(("remove", lambda t=team, p=leaving: self.dir_remove(t, p)))
        if len(m.groups) > 1:  # the guard holds a plan retiring every directory team
            deleted = rng.choice(sorted(m.groups))
            options.append(("delete", lambda: self.dir_delete(deleted)))
        if m.deleted:
            restored = rng.choice(sorted(m.deleted))
            options.append(("restore", lambda: self.restore(restored)))
        if outside_adhoc := [p for p in PEOPLE if p not in m.adhoc]:
            added = rng.choice(outside_adhoc)
            options.append(("adhoc-add", lambda: self.adhoc_add(added)))
        if inside_adhoc := sorted(m.adhoc - {"alice"}):
            removed = rng.choice(inside_adhoc)
            options.append(("adhoc-remove", lambda: self.adhoc_remove(removed)))
        owner, visitor = rng.sample(PEOPLE, 2)
        if (owner, visitor) in m.shares:
            options.append(("unshare", lambda: self.unshare(owner, visitor)))
        else:
            options.append(("share", lambda: self.share(owner, visitor)))
        _, act = rng.choice(options)
        act()

    def dir_add(self, team: str, person: str) -> None:
        self.model.groups[team].add(person)
        self.log.append(f"directory: {person} joins {team}")

    def dir_remove(self, team: str, person: str) -> None:
        self.model.groups[team].discard(person)
        self.removed_something = True
        self.log.append(f"directory: {person} leaves {team}")

    def dir_delete(self, team: str) -> None:
        self.model.deleted[team] = self.model.groups.pop(team)
        self.removed_something = True
        self.log.append(f"directory: {team} deleted")

    def restore(self, team: str) -> None:
        self.model.groups[team] = self.model.deleted.pop(team)
        self.log.append(f"directory: {team} restored")

    def adhoc_add(self, person: str) -> None:
        r = teams_api(self.people["alice"], "POST", f"/{ADHOC}/members", json={"name": person})
        assert r.status_code in (200, 201), r.text
        self.model.adhoc.add(person)
        self.log.append(f"Teams page: alice adds {person} to {ADHOC}")

    def adhoc_remove(self, person: str) -> None:
        r = teams_api(self.people["alice"], "DELETE", f"/{ADHOC}/members/{person}")
        assert r.status_code in (200, 204), r.text
        self.model.adhoc.discard(person)
        self.removed_something = True
        self.log.append(f"Teams page: alice removes {person} from {ADHOC}")

    def share(self, owner: str, visitor: str) -> None:
        r = self.people[owner].hub_api("POST", f"shares/{owner}/", json={"user": visitor})
        assert r.status_code == 200, r.text
        self.model.shares.add((owner, visitor))
        self.log.append(f"{owner} shares their server with {visitor}")

    def unshare(self, owner: str, visitor: str) -> None:
        scopes = [f"access:servers!server={owner}/"]
        body = {"user": visitor, "scopes": scopes}
        r = self.people[owner].hub_api("PATCH", f"shares/{owner}/", json=body)
        assert r.status_code == 200, r.text
        self.model.shares.discard((owner, visitor))
        self.removed_something = True
        self.log.append(f"{owner} stops sharing their server with {visitor}")

    # -- settling --------------------------------------------------------------------------

    def hub_matches_the_model(self) -> bool:
        for team in self.model.active_teams():
            group = self.hub.group(team)
            record = ((group or {}).get("properties") or {}).get("jupyterhub_teams", {})
            if group is None or record.get("retired"):
                return False
            if set(group["users"]) != self.model.members(team):
                return False
        for team in self.model.deleted:
            group = self.hub.group(team) or {}
            if not ((group.get("properties") or {}).get("jupyterhub_teams", {})).get("retired"):
                return False
            if not self.hub.server_stopped(f"collab-{team}"):
                return False
        return True

    def settle(self) -> None:
        self.write_directory()
        self.hub.wait_for_sync(self.hub_matches_the_model, what="the hub to follow", intervals=20)
        for team in self.model.active_teams():
            account = f"collab-{team}"
            if self.hub.server_stopped(account):  # restored: a member starts it again
                member = self.people[sorted(self.model.members(team) or {"alice"})[0]]
                if self.model.members(team):
                    start_as(member, self.hub, account)
        if self.removed_something:
            time.sleep(REVOCATION + 1)  # what servers may still trust after a removal
            self.removed_something = False

    # -- checking --------------------------------------------------------------------------

    def expect(self, allowed: bool, status: int, what: str, ok: tuple[int, ...]) -> None:
        """``ok``: the statuses that mean the request got through."""
        self.checks += 1
        if status not in ok and status not in REFUSED:
            self.wrong.append(f"unexpected answer: {what} -> {status}")
        elif allowed and status not in ok:
            self.wrong.append(f"wrong deny: {what} -> {status}")
        elif not allowed and status in ok:
            self.wrong.append(f"wrong allow: {what} -> {status}")

    def check_everyone(self, settle: int) -> None:
        before = len(self.wrong)
        for team in self.model.active_teams():
            account = f"collab-{team}"
            members = self.model.members(team)
            if not members:
                continue
            for name, person in self.people.items():
                member = name in members
                opened = open_server(person, account)
                self.expect(member, opened, f"{name} opens {account}", (200,))
                started = person.hub_api("POST", f"users/{account}/server")
                # a member's start of the running server passes authorization and finds it
                # running (400); anyone else is refused before that
                self.expect(member, started.status_code, f"{name} starts {account}", (400,))
                if not member:
                    stopped = person.hub_api("DELETE", f"users/{account}/server")
                    self.expect(False, stopped.status_code, f"{name} stops {account}", (202, 204))
        for team in self.model.deleted:
            for name, person in self.people.items():
                started = person.hub_api("POST", f"users/collab-{team}/server")
                what = f"{name} starts retired collab-{team}"
                self.expect(False, started.status_code, what, (201, 202))
                if started.status_code in (201, 202):
                    self.hub.stop_server(f"collab-{team}")
        for owner in PEOPLE:
            for name, person in self.people.items():
                if name == owner:
                    continue
                opened = open_server(person, owner)
                shared = (owner, name) in self.model.shares
                self.expect(shared, opened, f"{name} opens {owner}'s server", (200,))
        if len(self.wrong) > before:
            recent = "\n  ".join(self.log[-BATCH:])
            self.wrong.append(f"(settle {settle}, after:\n  {recent})")


def open_server(person: Person, owner: str) -> int:
    """Open ``owner``'s server in the browser (the OAuth login and consent as needed), then
    call its API: 200 if both get in, else the refusal's status."""
    # A refused OAuth login leaves its state cookie behind, and each new attempt adds one
    # under a new name; a browser lets them expire, a long run here would send hundreds (431)
    for cookie in list(person.http.cookies.jar):
        if "-oauth-state" in cookie.name:
            person.http.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
    page = person.open(f"/user/{owner}/lab")
    if page.status_code != 200:
        return page.status_code
    return person.server_api(owner, "GET", "api/status").status_code


@pytest.mark.timeout(180 + 3 * STEPS)  # about 1 s per step here
def test_churn_never_allows_or_denies_wrongly(hub: Hub) -> None:
    print(f"churn seed {SEED}, {STEPS} steps (JUPYTERHUB_TEAMS_CHURN_SEED={SEED} replays it)")
    people = sessions(hub)
    try:
        made = teams_api(people["alice"], "POST", "", json={"name": "churn"})
        assert made.status_code in (200, 201), made.text
        hub.wait_for_sync(lambda: hub.group(ADHOC), what="the Teams-page team")
        for name in PEOPLE:
            start_as(people[name], hub, name)
        for team in ("physics", "chemistry", "gpu-users", ADHOC):
            owner = "alice" if team != "gpu-users" else "erin"
            start_as(people[owner], hub, f"collab-{team}")

        churn = Churn(hub, people, random.Random(SEED))
        began = time.monotonic()
        settles = 0
        for step in range(1, STEPS + 1):
            churn.step()
            if step % BATCH == 0 or step == STEPS:
                churn.settle()
                settles += 1
                churn.check_everyone(settles)
        elapsed = time.monotonic() - began
        print(
            f"{STEPS} steps, {settles} settles, {churn.checks} checks in {elapsed:.0f} s; "
            f"wrong: {len([w for w in churn.wrong if not w.startswith('(')])}"
        )
        assert not churn.wrong, f"seed {SEED}:\n" + "\n".join(churn.wrong)
    finally:
        for person in people.values():
            person.close()
