"""Actions on ad-hoc teams: create one, invite, join, name admins, add and remove members.

People hold no scope that creates users, groups or shares, so these run inside the hub, after
the rules in :mod:`.rules` said yes. A new team's account is created the way ``POST
/hub/api/users`` creates a user (through the authenticator); every other change is a planned
action (the kinds a sync plans) applied by :func:`~jupyterhub_teams.hub.in_process.apply_in_hub`
in one transaction and logged with who asked. Each request reads, checks and writes without
yielding to the event loop in between, so two requests never interleave their changes to a team
(the hub is one process).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from jupyterhub import orm
from jupyterhub.utils import maybe_future, url_path_join
from tornado import web

from ..model import Origin, TeamRecord, with_record
from ..naming import InvalidName, account_name, team_name
from ..plan import (
    AddGroupMembers,
    CreateGroup,
    GrantGroupShare,
    RemoveGroupMembers,
    RevokeGroupShare,
    SetGroupProperties,
)
from .base import ActionHandler
from .invites import (
    lifetime_from_seconds,
    load_invites,
    new_invite,
    prune,
    single_use_from_json,
    store_invites,
)
from .rules import (
    Refused,
    check_add_member,
    check_delete,
    check_invite,
    check_remove_member,
    check_set_admin,
    check_team_name_prefix,
    isoformat,
    typed_team_name,
    utcnow,
)


def join_url(base_url: str, code: str) -> str:
    return f"{url_path_join(base_url, 'teams/join')}?code={quote(code, safe='')}"


def without_invites_of(properties: dict[str, Any], person: str) -> dict[str, Any]:
    """``properties`` without the invitations ``person`` made (they stopped being an admin)."""
    invites = load_invites(properties)
    return store_invites(properties, [i for i in invites if i.created_by != person])


class CreateTeamHandler(ActionHandler):
    """``POST {"name": ...}``: any logged-in person creates a team that lives in the hub."""

    @web.authenticated
    async def post(self) -> None:
        user = self.current_user
        body = self.json_body()
        if self.is_team_account(user):
            raise web.HTTPError(403, "%s", "Team accounts cannot create teams.")
        refusal = self.create_refusal(user)
        if refusal is not None:
            raise self.refuse(refusal)
        try:
            typed = typed_team_name(body.get("name", ""))
            check_team_name_prefix(
                team_name(typed, self.teams.max_team_name_length), self.teams.account_prefix
            )
        except Refused as refused:
            raise self.refuse(refused) from None
        except InvalidName as exc:
            raise web.HTTPError(400, "%s", str(exc)) from None
        # ad-hoc teams live under their own prefix: nobody can take a directory group's name
        team = self.teams.adhoc_team_prefix + team_name(typed, self.teams.max_team_name_length)
        account = account_name(team, self.teams.account_prefix)
        self._check_free(team, account)
        if self.authenticator.normalize_username(account) != account or not (
            self.authenticator.validate_username(account)
        ):
            raise web.HTTPError(400, "%s", f"This hub does not accept {account!r} as a user name.")

        # the team account, as POST /hub/api/users creates a user
        owner = self.user_from_username(account)
        try:
            await maybe_future(self.authenticator.add_user(owner))
        except Exception as exc:
            self.log.error("Could not create the team account %s", account, exc_info=True)
            self.users.delete(owner)
            raise web.HTTPError(
                400, "%s", f"The hub could not create the team account {account}: {exc}"
            ) from None
        if orm.Group.find(self.db, name=team) is not None:  # created while we awaited
            self.users.delete(owner)
            raise web.HTTPError(409, "%s", f"A team or group named {team!r} already exists.")

        accounts_group = self.teams.accounts_group
        record = TeamRecord(
            account=account,
            source_group=typed,
            origin=Origin.HUB,
            admins=(user.name,),
            created_by=user.name,
            created_at=isoformat(utcnow()),
        )
        join_accounts = (
            AddGroupMembers(accounts_group, (account,))
            if orm.Group.find(self.db, name=accounts_group) is not None
            else CreateGroup(accounts_group, (account,))
        )
        self.apply(
            [
                join_accounts,
                CreateGroup(team, (user.name,)),
                SetGroupProperties(team, with_record({}, record), "new ad-hoc team"),
                # the same single group share directory teams get: members use, start and stop
                GrantGroupShare(account, team, self.teams.policy().share_scopes(account)),
            ]
        )
        self.send(201, {"team": team, "account": account, "name": typed})

    def _check_free(self, team: str, account: str) -> None:
        if team == self.teams.accounts_group:
            raise web.HTTPError(409, "%s", f"{team!r} is reserved by the hub.")
        if orm.Group.find(self.db, name=team) is not None:
            raise web.HTTPError(409, "%s", f"A team or group named {team!r} already exists.")
        if orm.User.find(self.db, name=account) is not None:
            raise web.HTTPError(
                409, "%s", f"The account {account!r} already exists; choose another name."
            )


class InvitesHandler(ActionHandler):
    """``POST {"expires_in": seconds, "single_use": bool}``: a new invitation code.

    The code is in the answer only; the team keeps its hash.
    """

    @web.authenticated
    def post(self, name: str) -> None:
        group, record = self.find_team(name)
        body = self.json_body()
        now = utcnow()
        try:
            check_invite(self.team_facts(group, record), self.actor(group))
            code, invite = new_invite(
                group.name,
                created_by=self.current_user.name,
                lifetime=lifetime_from_seconds(body.get("expires_in", 86400)),
                single_use=single_use_from_json(body.get("single_use", True)),
                now=now,
            )
        except Refused as refusal:
            raise self.refuse(refusal) from None
        invites = [*prune(load_invites(group.properties or {}), now), invite]
        properties = store_invites(group.properties or {}, invites)
        self.apply([self.set_properties(group, properties, "invitation made")])
        self.send(
            201,
            {
                "id": invite.id,
                "code": code,
                "url": join_url(self.hub.base_url, code),
                "expires_at": invite.expires_at,
                "single_use": invite.single_use,
            },
        )


class InviteHandler(ActionHandler):
    """``DELETE``: withdraw an invitation."""

    @web.authenticated
    def delete(self, name: str, invite_id: str) -> None:
        group, record = self.find_team(name)
        try:
            check_invite(self.team_facts(group, record), self.actor(group))
        except Refused as refusal:
            raise self.refuse(refusal) from None
        invites = load_invites(group.properties or {})
        kept = [i for i in invites if i.id != invite_id]
        if len(kept) == len(invites):
            raise web.HTTPError(404, "%s", "There is no such invitation.")
        properties = store_invites(group.properties or {}, kept)
        self.apply([self.set_properties(group, properties, "invitation withdrawn")])
        self.send(204)


class MembersHandler(ActionHandler):
    """``POST {"name": ...}``: a team admin adds someone by name."""

    @web.authenticated
    def post(self, name: str) -> None:
        group, record = self.find_team(name)
        person = self.authenticator.normalize_username(
            str(self.json_body().get("name", "")).strip()
        )
        if not person:
            raise web.HTTPError(400, "%s", "Give the name of the person to add.")
        target = self.find_user(person)
        try:
            check_add_member(self.team_facts(group, record), self.actor(group), person)
        except Refused as refusal:
            raise self.refuse(refusal) from None
        if target is None or self.is_team_account(target):
            raise web.HTTPError(400, "%s", f"There is nobody called {person!r} on this hub.")
        self.apply([AddGroupMembers(group.name, (person,))])
        self.send(200, {"team": group.name, "member": person})


class MemberHandler(ActionHandler):
    """``DELETE``: an admin removes a member, or a member leaves."""

    @web.authenticated
    def delete(self, name: str, person: str) -> None:
        group, record = self.find_team(name)
        try:
            check_remove_member(self.team_facts(group, record), self.actor(group), person)
        except Refused as refusal:
            raise self.refuse(refusal) from None
        admins = tuple(a for a in record.admins if a != person)
        properties = with_record(
            without_invites_of(group.properties or {}, person), replace(record, admins=admins)
        )
        self.apply(
            [
                RemoveGroupMembers(group.name, (person,)),
                self.set_properties(group, properties, f"{person} left; their invitations end"),
            ]
        )
        self.send(204)


class AdminHandler(ActionHandler):
    """``PUT`` names a member admin of the team, ``DELETE`` takes that back."""

    def _set(self, name: str, person: str, admin: bool) -> None:
        group, record = self.find_team(name)
        try:
            check_set_admin(self.team_facts(group, record), self.actor(group), person, admin)
        except Refused as refusal:
            raise self.refuse(refusal) from None
        admins = {a for a in record.admins if a != person}
        properties = dict(group.properties or {})
        if admin:
            admins.add(person)
        else:
            properties = without_invites_of(properties, person)
        properties = with_record(properties, replace(record, admins=tuple(sorted(admins))))
        verb = "made admin" if admin else "no longer admin; their invitations end"
        self.apply([self.set_properties(group, properties, f"{person} {verb}")])
        self.send(204)

    @web.authenticated
    def put(self, name: str, person: str) -> None:
        self._set(name, person, True)

    @web.authenticated
    def delete(self, name: str, person: str) -> None:
        self._set(name, person, False)


class TeamHandler(ActionHandler):
    """``DELETE``: a team's admin (or a hub admin) deletes an ad-hoc team.

    Like a retired directory team: its group share is revoked, its members removed and its
    server stopped; the account, the group and the files are kept (an admin can bring them
    back), and nothing is deleted from disk.
    """

    @web.authenticated
    async def delete(self, name: str) -> None:
        group, record = self.find_team(name)
        try:
            check_delete(self.team_facts(group, record), self.actor(group))
        except Refused as refusal:
            raise self.refuse(refusal) from None
        account = record.account
        owner = self.find_user(account) if account else None
        deleted = record.retire(
            admins=(), deleted_by=self.current_user.name, deleted_at=isoformat(utcnow())
        )
        properties = with_record(store_invites(group.properties or {}, []), deleted)
        members = tuple(sorted(u.name for u in group.users))
        self.apply(
            [
                *([RevokeGroupShare(account, group.name)] if owner is not None else []),
                *([RemoveGroupMembers(group.name, members)] if members else []),
                self.set_properties(group, properties, "team deleted; account and files kept"),
            ]
        )
        # (a stop needs the hub application, not only its database: the handler asks for it)
        if owner is not None and owner.spawner.active:
            await self.stop_single_user(owner, "")
        self.send(204)
