"""Churn: a seeded random sequence of directory edits (members added and removed, groups
deleted and restored), changes to a team made on the Teams page by anyone (admins named and
unnamed, members added and removed, invitations made, withdrawn and used), and shares of
people's own servers (granted, revoked, and through share codes made, revoked and redeemed),
applied to a real hub with real servers. Each Teams-page action and each redeemed code is
checked against the model as it happens (only team admins manage the team; an invitation works
while it is neither withdrawn, used up, nor made by someone no longer admin). After each
settle, every person is checked against every running team server and every person's server
through the real proxy (open), and against every team server through the REST API (start,
stop), and the answers are compared with a model of who may do what. 0 wrong allows and
0 wrong denies.

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
# what the Teams page and the join and accept-share pages answer when they refuse
PAGE_REFUSED = (400, 403, 404, 409, 410)


@dataclass
class Invitation:
    maker: str
    id: str
    single_use: bool
    stored: bool = True  # not withdrawn, and its maker has stayed an admin
    used: bool = False


@dataclass
class Model:
    """Who should be where: the directory's groups, the deleted ones (their teams retired, with
    the members they had), the Teams-page team, and people's shares."""

    groups: dict[str, set[str]]
    deleted: dict[str, set[str]] = field(default_factory=dict)
    adhoc: set[str] = field(default_factory=lambda: {"alice"})
    admins: set[str] = field(default_factory=lambda: {"alice"})  # alice stays one
    invites: dict[str, Invitation] = field(default_factory=dict)  # by code
    shares: set[tuple[str, str]] = field(default_factory=set)  # (owner, visitor)
    share_codes: dict[str, tuple[str, bool]] = field(default_factory=dict)  # code: owner, live

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
        self.kinds: dict[str, int] = {}  # how often each kind of step was taken

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
        actor = rng.choice(PEOPLE)  # anyone tries; only the team's admins may
        if outside_adhoc := [p for p in PEOPLE if p not in m.adhoc]:
            added = rng.choice(outside_adhoc)
            options.append(("adhoc-add", lambda: self.adhoc_add(actor, added)))
        if inside_adhoc := sorted(m.adhoc - {"alice"}):
            removed = rng.choice(inside_adhoc)
            options.append(("adhoc-remove", lambda: self.adhoc_remove(actor, removed)))
        if candidates := sorted(m.adhoc - m.admins):
            named = rng.choice(candidates)
            options.append(("admin", lambda: self.set_admin(actor, named, True)))
        if others := sorted(m.admins - {"alice"}):
            unnamed = rng.choice(others)
            options.append(("unadmin", lambda: self.set_admin(actor, unnamed, False)))
        single = rng.random() < 0.5
        options.append(("invite", lambda: self.invite(actor, single)))
        if m.invites and outside_adhoc:
            code, joiner = rng.choice(sorted(m.invites)), rng.choice(outside_adhoc)
            options.append(("join", lambda: self.join(joiner, code)))
        if open_invites := sorted(c for c, i in m.invites.items() if i.stored and not i.used):
            withdrawn = rng.choice(open_invites)
            options.append(("withdraw", lambda: self.withdraw(actor, withdrawn)))
        owner, visitor = rng.sample(PEOPLE, 2)
        if (owner, visitor) in m.shares:
            options.append(("unshare", lambda: self.unshare(owner, visitor)))
        else:
            options.append(("share", lambda: self.share(owner, visitor)))
        options.append(("share-code", lambda: self.make_share_code(owner)))
        if m.share_codes:
            redeemed = rng.choice(sorted(m.share_codes))
            guest = rng.choice([p for p in PEOPLE if p != m.share_codes[redeemed][0]])
            options.append(("redeem", lambda: self.redeem(guest, redeemed)))
        if live := sorted(c for c, (_, alive) in m.share_codes.items() if alive):
            revoked = rng.choice(live)
            options.append(("revoke-code", lambda: self.revoke_share_code(revoked)))
        kind, act = rng.choice(options)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
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

    def page_action(self, allowed: bool, r: Any, what: str, ok: tuple[int, ...]) -> bool:
        """Check a Teams-page (or join, or accept-share) answer against the model; whether
        the hub did it (the model follows what happened, so one wrong answer is one)."""
        self.log.append(f"{what} -> {r.status_code}")
        self.expect(allowed, r.status_code, what, ok, refused=PAGE_REFUSED)
        return r.status_code in ok

    def adhoc_add(self, actor: str, person: str) -> None:
        r = teams_api(self.people[actor], "POST", f"/{ADHOC}/members", json={"name": person})
        allowed = actor in self.model.admins
        if self.page_action(allowed, r, f"Teams page: {actor} adds {person}", (200, 201)):
            self.model.adhoc.add(person)

    def adhoc_remove(self, actor: str, person: str) -> None:
        r = teams_api(self.people[actor], "DELETE", f"/{ADHOC}/members/{person}")
        allowed = actor in self.model.admins or actor == person  # admins, or leaving
        if self.page_action(allowed, r, f"Teams page: {actor} removes {person}", (200, 204)):
            self.model.adhoc.discard(person)
            self.no_longer_admin(person)
            self.removed_something = True

    def set_admin(self, actor: str, person: str, admin: bool) -> None:
        method = "PUT" if admin else "DELETE"
        r = teams_api(self.people[actor], method, f"/{ADHOC}/admins/{person}")
        what = f"Teams page: {actor} {'names' if admin else 'unnames'} {person} admin"
        if self.page_action(actor in self.model.admins, r, what, (204,)):
            if admin:
                self.model.admins.add(person)
            else:
                self.no_longer_admin(person)

    def no_longer_admin(self, person: str) -> None:
        """``person`` stops being an admin (or a member): their invitations end."""
        self.model.admins.discard(person)
        for invitation in self.model.invites.values():
            if invitation.maker == person:
                invitation.stored = False

    def invite(self, actor: str, single_use: bool) -> None:
        body = {"expires_in": 3600, "single_use": single_use}
        r = teams_api(self.people[actor], "POST", f"/{ADHOC}/invites", json=body)
        what = f"Teams page: {actor} makes an invitation (single use: {single_use})"
        if self.page_action(actor in self.model.admins, r, what, (201,)):
            made = r.json()
            self.model.invites[made["code"]] = Invitation(actor, made["id"], single_use)

    def withdraw(self, actor: str, code: str) -> None:
        invitation = self.model.invites[code]
        r = teams_api(self.people[actor], "DELETE", f"/{ADHOC}/invites/{invitation.id}")
        what = f"Teams page: {actor} withdraws {invitation.maker}'s invitation"
        if self.page_action(actor in self.model.admins, r, what, (204,)):
            invitation.stored = False

    def join(self, person: str, code: str) -> None:
        invitation = self.model.invites[code]
        visitor = self.people[person]
        visitor.http.get("/hub/teams/join", params={"code": code})  # shows; changes nothing
        xsrf = visitor.cookie("_xsrf", "/hub/teams/join") or ""
        r = visitor.http.post("/hub/teams/join", data={"code": code, "_xsrf": xsrf})
        works = invitation.stored and not invitation.used
        what = f"{person} joins with {invitation.maker}'s invitation"
        if self.page_action(works, r, what, (302,)):
            self.model.adhoc.add(person)
            invitation.used = invitation.single_use

    def make_share_code(self, owner: str) -> None:
        r = self.people[owner].hub_api("POST", f"share-codes/{owner}/", json={"expires_in": 3600})
        assert r.status_code == 200, r.text
        self.model.share_codes[r.json()["code"]] = (owner, True)
        self.log.append(f"{owner} makes a share code")

    def revoke_share_code(self, code: str) -> None:
        owner, _ = self.model.share_codes[code]
        r = self.people[owner].hub_api("DELETE", f"share-codes/{owner}/", params={"code": code})
        assert r.status_code == 204, r.text
        self.model.share_codes[code] = (owner, False)
        self.log.append(f"{owner} revokes a share code")

    def redeem(self, person: str, code: str) -> None:
        owner, live = self.model.share_codes[code]
        guest = self.people[person]
        guest.http.get("/hub/accept-share", params={"code": code})
        xsrf = guest.cookie("_xsrf", "/hub/accept-share") or ""
        r = guest.http.post("/hub/accept-share", data={"code": code, "_xsrf": xsrf})
        what = f"{person} redeems {owner}'s {'live' if live else 'revoked'} share code"
        if self.page_action(live, r, what, (302,)):
            self.model.shares.add((owner, person))

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
            if team == ADHOC and set(record.get("admins", [])) != self.model.admins:
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
        # Servers trust the hub's answer about a visitor for REVOCATION seconds, both ways: a
        # person added on the Teams page (in the hub at once) may be refused until then too.
        time.sleep(REVOCATION + 1)
        self.removed_something = False

    # -- checking --------------------------------------------------------------------------

    def expect(
        self,
        allowed: bool,
        status: int,
        what: str,
        ok: tuple[int, ...],
        refused: tuple[int, ...] = REFUSED,
    ) -> None:
        """``ok``: the statuses that mean the request got through; ``refused``: those that
        mean it was refused."""
        self.checks += 1
        if status not in ok and status not in refused:
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
        print(", ".join(f"{kind} {n}" for kind, n in sorted(churn.kinds.items())))
        assert not churn.wrong, f"seed {SEED}:\n" + "\n".join(churn.wrong)
    finally:
        for person in people.values():
            person.close()
