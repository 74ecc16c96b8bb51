"""Asking GitHub or GitLab who is in a claim team during the background sync.

The reading of the providers' pages (links, page numbers, names) and the decision
(sources/claims/answers.py) are tested by value, with injected answers and time; the asking
itself runs the real httpx client against a provider served by an httpx transport (the
providers' documented payloads and headers); the plan is checked by applying it to a
simulated hub.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from traitlets import TraitError

from jupyterhub_teams.model import (
    TEAM_PROPERTY,
    HubGroup,
    HubShare,
    HubState,
    HubUser,
    TeamRecord,
    record_in,
)
from jupyterhub_teams.plan import Plan, Policy, RemoveGroupMembers, SetGroupProperties, make_plan
from jupyterhub_teams.sources.base import AsksProviderForMembers, SourceError
from jupyterhub_teams.sources.claims import ClaimGroups, ClaimTeam, claim_record
from jupyterhub_teams.sources.claims.answers import claims_to_ask, view_from_answers
from jupyterhub_teams.sources.claims.asking import (
    ProviderAPI,
    Unknown,
    first_url,
    member_names,
    next_link,
    next_page,
    read_token,
)
from jupyterhub_teams.sources.claims.retirement import stamp

from .simulated_hub import simulate

POLICY = Policy()
ACCOUNTS = POLICY.accounts_group
NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
TOKEN = "ghp_provider-token-never-logged"
API = "https://api.example.test"

# -- the providers' pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        # GitHub's own format: several relations, "next" anywhere among them
        (
            f'<{API}/orgs/o/teams/t/members?page=2>; rel="next", '
            f'<{API}/orgs/o/teams/t/members?page=5>; rel="last"',
            f"{API}/orgs/o/teams/t/members?page=2",
        ),
        (
            f'<{API}/x?page=1>; rel="prev", <{API}/x?page=3>; rel="next"',
            f"{API}/x?page=3",
        ),
        (f'<{API}/x?page=1>; rel="first", <{API}/x?page=1>; rel="prev"', None),  # last page
        (f"<{API}/x?page=2>; rel=next", f"{API}/x?page=2"),  # unquoted
        (f'<{API}/x?page=2>; rel="prefetch next"', f"{API}/x?page=2"),  # several relations
        (f'{API}/x?page=2; rel="next"', None),  # not a link
        (f'<{API}/x?page=2>; rel="nextish"', None),
    ],
)
def test_the_next_page_in_a_github_link_header(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected


def test_gitlab_page_numbers() -> None:
    assert next_page({"x-next-page": ""}) is None
    assert next_page({}) is None
    assert next_page({"x-next-page": "3"}) == 3
    # a number that cannot be read is no reason to stop reading: the list would be short
    for bad in ("three", "0", "-1", "2.5"):
        with pytest.raises(Unknown):
            next_page({"x-next-page": bad})


def test_members_become_jupyterhub_names_in_lower_case() -> None:
    page = [{"login": "Alice", "id": 1}, {"login": "BOB", "id": 2}, {"login": "carol"}]
    assert member_names(page, "login") == {"alice", "bob", "carol"}
    gitlab = [
        {"username": "Dave", "access_level": 30},
        {"username": "erin", "access_level": 10},
        {"username": "minimal", "access_level": 5},  # no access to the group's content
    ]
    assert member_names(gitlab, "username", min_access_level=10) == {"dave", "erin"}
    assert member_names([], "login") == set()  # an empty page is an answer


@pytest.mark.parametrize(
    "page",
    [{"message": "Not Found"}, [{"id": 1}], [{"login": ""}], ["alice"], [{"login": 3}], None],
)
def test_a_page_that_is_not_a_list_of_members_is_unknown(page: Any) -> None:
    with pytest.raises(Unknown):
        member_names(page, "login")


def test_the_first_page_of_a_team() -> None:
    assert first_url("github", API + "/", "My Org:data-science") == (
        f"{API}/orgs/My%20Org/teams/data-science/members?per_page=100"
    )
    assert first_url("gitlab", API, "lab/physics") == (
        f"{API}/groups/lab%2Fphysics/members/all?per_page=100"
    )
    for kind, path in (("github", "physics"), ("github", "a:b/c"), ("generic", "/lab/x")):
        with pytest.raises(Unknown):
            first_url(kind, API, path)


def test_the_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    assert read_token(str(token_file)) == TOKEN
    token_file.write_text("\n")
    with pytest.raises(SourceError, match="empty"):
        read_token(str(token_file))
    with pytest.raises(SourceError, match="cannot read"):
        read_token(str(tmp_path / "missing"))


# -- asking, against a provider behind an httpx transport ------------------------------------


class FakeProvider:
    """GitHub's and GitLab's member endpoints: two members per page, as the providers page
    them; ``failing`` answers a status for a team path; every request is recorded."""

    def __init__(self, teams: dict[str, list[str]]) -> None:
        self.teams = teams  # "org/slug" (GitHub) or full path (GitLab) → logins
        self.failing: dict[str, int] = {}
        self.requests: list[httpx.Request] = []
        self.evil_link = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"message": "Bad credentials"})
        parts = urlsplit(str(request.url))
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        raw = parts.path  # still percent-encoded, as the server sees it
        if raw.startswith("/orgs/"):
            _, _, org, _, slug, _ = raw.split("/")
            team, key = f"{org}/{slug}", "login"
        elif raw.startswith("/groups/"):
            team, key = raw.split("/")[2].replace("%2F", "/"), "username"
        else:
            return httpx.Response(404, json={"message": "Not Found"})
        if team in self.failing:
            return httpx.Response(self.failing[team], json={"message": "failing"})
        if team not in self.teams:
            return httpx.Response(404, json={"message": "Not Found"})
        people = self.teams[team]
        items = [{key: p, "id": i} for i, p in enumerate(people)][(page - 1) * 2 : page * 2]
        more = len(people) > page * 2
        headers = {}
        if key == "login" and more:
            host = "https://elsewhere.test" if self.evil_link else API
            headers["Link"] = f'<{host}{raw}?per_page=100&page={page + 1}>; rel="next"'
        if key == "username":
            headers["X-Next-Page"] = str(page + 1) if more else ""
        return httpx.Response(200, json=items, headers=headers)


def provider_api(tmp_path: Path, kind: str = "github") -> ProviderAPI:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    return ProviderAPI(kind, API, str(token_file), timeout=5, concurrency=2)


async def test_github_members_are_read_across_pages_and_failures_are_unknown(
    tmp_path: Path,
) -> None:
    fake = FakeProvider(
        {
            "MyOrg/physics": ["Alice", "bob", "carol", "dave", "erin"],  # three pages
            "MyOrg/empty": [],
        }
    )
    fake.failing = {"MyOrg/broken": 500, "MyOrg/limited": 403}
    answers, why = await provider_api(tmp_path).members(
        ["MyOrg:physics", "MyOrg:empty", "MyOrg:gone", "MyOrg:broken", "MyOrg:limited"],
        transport=httpx.MockTransport(fake),
    )
    assert answers == {
        "MyOrg:physics": frozenset({"alice", "bob", "carol", "dave", "erin"}),
        "MyOrg:empty": frozenset(),  # nobody: an answer
        "MyOrg:gone": None,  # 404: deleted, renamed or hidden from the token
        "MyOrg:broken": None,
        "MyOrg:limited": None,
    }
    assert set(why) == {"MyOrg:gone", "MyOrg:broken", "MyOrg:limited"}
    assert "HTTP 404" in why["MyOrg:gone"] and "HTTP 500" in why["MyOrg:broken"]
    pages = [r for r in fake.requests if "/physics/" in r.url.path]
    assert len(pages) == 3 and str(pages[2].url).endswith("page=3")
    assert all(r.headers["accept"] == "application/vnd.github+json" for r in fake.requests)


async def test_gitlab_members_follow_page_numbers(tmp_path: Path) -> None:
    fake = FakeProvider({"lab/physics": ["Alice", "bob", "carol"], "lab/chem": []})
    answers, _ = await provider_api(tmp_path, "gitlab").members(
        ["lab/physics", "lab/chem", "lab/gone"], transport=httpx.MockTransport(fake)
    )
    assert answers == {
        "lab/physics": frozenset({"alice", "bob", "carol"}),
        "lab/chem": frozenset(),
        "lab/gone": None,
    }
    assert [str(r.url) for r in fake.requests if "physics" in str(r.url)] == [
        f"{API}/groups/lab%2Fphysics/members/all?per_page=100",
        f"{API}/groups/lab%2Fphysics/members/all?per_page=100&page=2",
    ]


async def test_a_link_to_another_server_is_not_followed_with_the_token(tmp_path: Path) -> None:
    fake = FakeProvider({"o/t": ["a", "b", "c"]})
    fake.evil_link = True
    answers, why = await provider_api(tmp_path).members(
        ["o:t"], transport=httpx.MockTransport(fake)
    )
    assert answers == {"o:t": None} and "another server" in why["o:t"]
    assert {r.url.host for r in fake.requests} == {"api.example.test"}


async def test_timeouts_and_a_missing_token_are_unknown(tmp_path: Path) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    answers, why = await provider_api(tmp_path).members(
        ["o:t"], transport=httpx.MockTransport(slow)
    )
    assert answers == {"o:t": None} and "ReadTimeout" in why["o:t"]

    fake = FakeProvider({"o/t": ["a"]})
    api = ProviderAPI("github", API, str(tmp_path / "no-token"))
    answers, why = await api.members(["o:t"], transport=httpx.MockTransport(fake))
    assert answers == {"o:t": None} and "cannot read" in why["o:t"]
    assert fake.requests == []


# -- the options -------------------------------------------------------------------------------


def test_asking_is_off_unless_a_token_file_is_configured(tmp_path: Path) -> None:
    assert not ClaimGroups(kind="github").asks_provider
    assert ClaimGroups(kind="github", provider_token_file="/t").asks_provider
    assert not ClaimGroups(
        kind="github", provider_token_file="/t", ask_provider=False
    ).asks_provider
    with pytest.raises(TraitError, match="cannot be asked"):
        ClaimGroups(kind="generic", provider_token_file="/t")
    assert isinstance(ClaimGroups(kind="gitlab"), AsksProviderForMembers)
    assert ClaimGroups(kind="gitlab").provider_api().api_url == "https://gitlab.com/api/v4"
    assert ClaimGroups(kind="github").provider_api().api_url == "https://api.github.com"


async def test_asking_off_answers_unknown_for_every_team() -> None:
    source = ClaimGroups(kind="github")
    assert await source.members_at_provider(["o:t"]) == {"o:t": None}


async def test_the_token_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeProvider({"o/t": ["a"]})
    fake.failing = {"o/t": 401}
    source = ClaimGroups(kind="github", provider_token_file=str(provider_api(tmp_path).token_file))
    source.provider_api_url = API
    source.provider_transport = httpx.MockTransport(fake)
    caplog.set_level(logging.DEBUG)
    assert await source.members_at_provider(["o:t"]) == {"o:t": None}
    assert "no answer about claim team 'o:t' (HTTP 401" in caplog.text
    caplog.clear()
    await source.members_at_provider(["o:t"])  # said once while it lasts
    assert "no answer" not in caplog.text
    fake.failing = {}
    assert await source.members_at_provider(["o:t"]) == {"o:t": frozenset({"a"})}
    assert "answers about claim team 'o:t' again" in caplog.text
    assert fake.requests and all(TOKEN in r.headers["authorization"] for r in fake.requests)
    assert TOKEN not in caplog.text


# -- the decision ------------------------------------------------------------------------------


def claim_team(path: str, confirmed: datetime | None = None, **changes: Any) -> TeamRecord:
    team = ClaimGroups(kind="github").claim_teams([path]).teams
    (only,) = team.values()
    record = claim_record(ClaimTeam(only.path, only.group, only.team))
    if confirmed is not None:
        changes["claim_confirmed_at"] = stamp(confirmed)
    return TeamRecord(**{**record.__dict__, **changes})


def team_group(name: str, members: set[str], record: TeamRecord) -> HubGroup:
    served = TeamRecord(**{**record.__dict__, "share_scopes": POLICY.share_scopes(record.account)})
    return HubGroup(name, frozenset(members), {TEAM_PROPERTY: served.to_json()})


PHYSICS = team_group("myorg-physics", {"alice", "bob"}, claim_team("MyOrg:physics"))


def test_the_claims_asked_are_the_active_claim_teams() -> None:
    retired = team_group("myorg-old", set(), claim_team("MyOrg:old", retired=True))
    directory = HubGroup(
        "d", frozenset({"x"}), {TEAM_PROPERTY: TeamRecord("collab-d", "d").to_json()}
    )
    assert claims_to_ask([PHYSICS, retired, directory, HubGroup("plain")]) == {
        "MyOrg:physics": "myorg-physics"
    }


@pytest.mark.parametrize(
    ("answer", "kept", "confirmed"),
    [
        # bob left the team at the provider; carol is listed but is not in the team in the hub
        (frozenset({"alice", "carol"}), frozenset({"alice"}), True),
        (frozenset({"alice", "bob"}), frozenset({"alice", "bob"}), True),
        # nobody of the hub's members: emptied now, retired by the usual rule next time
        (frozenset({"carol"}), frozenset(), False),
        (frozenset(), frozenset(), False),
        # unknown: nothing changes, nothing confirmed
        (None, None, False),
    ],
)
def test_what_an_answer_means_for_a_team(
    answer: frozenset[str] | None, kept: frozenset[str] | None, confirmed: bool
) -> None:
    groups = {PHYSICS.name: PHYSICS}
    view = view_from_answers(groups, {"MyOrg:physics": answer}, NOW, WINDOW)
    assert view.members.get(PHYSICS.name) == kept
    gone = PHYSICS.users - kept if kept is not None else frozenset()
    assert view.removed == ({PHYSICS.name: gone} if gone else {})
    assert view.confirmed == ({PHYSICS.name: stamp(NOW)} if confirmed else {})
    assert view.unknown == (("MyOrg:physics",) if answer is None else ())
    record = view.groups[PHYSICS.name].record
    assert record is not None
    assert record.claim_confirmed_at == (stamp(NOW) if confirmed else None)


def test_a_team_not_asked_about_is_left_alone() -> None:
    view = view_from_answers({PHYSICS.name: PHYSICS}, {}, NOW, WINDOW)
    assert view.members == {} and view.confirmed == {} and view.unknown == ()


def test_a_confirmation_is_written_only_when_due_and_only_with_retirement_by_time() -> None:
    recent = team_group("myorg-physics", {"alice"}, claim_team("MyOrg:physics", NOW - DAY))
    answers = {"MyOrg:physics": frozenset({"alice"})}
    assert view_from_answers({recent.name: recent}, answers, NOW, WINDOW).confirmed == {}
    assert view_from_answers({PHYSICS.name: PHYSICS}, answers, NOW, None).confirmed == {}


# -- the plan ----------------------------------------------------------------------------------


def hub_with(*groups: HubGroup, extra_users: frozenset[str] = frozenset()) -> HubState:
    accounts = {g.record.account for g in groups if g.record is not None}
    people = {m for g in groups for m in g.users} | set(extra_users)
    users = {n: HubUser(n) for n in people}
    users |= {a: HubUser(a, frozenset({ACCOUNTS})) for a in accounts}
    shares = {
        g.record.account: (
            HubShare(
                g.record.account, "", frozenset(POLICY.share_scopes(g.record.account)), group=g.name
            ),
        )
        for g in groups
        if g.record is not None and g.record.active
    }
    all_groups = {g.name: g for g in groups} | {ACCOUNTS: HubGroup(ACCOUNTS, frozenset(accounts))}
    return HubState(users, all_groups, shares)


def provider_source(
    answers: dict[str, list[str] | None], tmp: Path, retire_after_days: float = 30
) -> ClaimGroups:
    """A source whose provider answers ``answers`` (team path "org/slug" → logins; None: 500)."""
    fake = FakeProvider({k: v for k, v in answers.items() if v is not None})
    fake.failing = {k: 500 for k, v in answers.items() if v is None}
    return _source(fake, tmp, retire_after_days)


def _source(
    fake: Callable[[httpx.Request], httpx.Response], tmp: Path, retire_after_days: float
) -> ClaimGroups:
    token_file = tmp / "token"
    token_file.write_text(TOKEN)
    source = ClaimGroups(
        kind="github",
        provider_token_file=str(token_file),
        provider_api_url=API,
        retire_after_days=retire_after_days,
    )
    source.provider_transport = httpx.MockTransport(fake)
    return source


async def provider_plan(
    source: ClaimGroups, hub: HubState, now: datetime = NOW, **options: Any
) -> Plan:
    """What the background sync plans: the source's snapshot with the provider's answers."""
    asked = await source.snapshot_asking_provider(hub.groups, now)
    return make_plan(
        asked.snapshot,
        hub,
        options.pop("policy", POLICY),
        exact_teams=asked.exact_teams,
        confirmed=asked.confirmed,
        **options,
    )


def removals(plan: Plan) -> dict[str, set[str]]:
    return {a.group: set(a.users) for a in plan.actions if isinstance(a, RemoveGroupMembers)}


async def test_people_the_provider_no_longer_lists_are_removed_and_nobody_is_added(
    tmp_path: Path,
) -> None:
    chem = team_group("myorg-chem", {"alice", "carol"}, claim_team("MyOrg:chem"))
    hub = hub_with(PHYSICS, chem, extra_users=frozenset({"dave"}))
    source = provider_source(
        # dave is a hub user listed in physics at the provider but never logged in with it;
        # erin has no account at all; chem's answer is unknown
        {"MyOrg/physics": ["alice", "dave", "erin"], "MyOrg/chem": None},
        tmp_path,
    )
    plan = await provider_plan(source, hub)
    assert removals(plan) == {"myorg-physics": {"bob"}}
    after = simulate(hub, plan.actions)
    assert after.groups["myorg-physics"].users == {"alice"}
    assert after.groups["myorg-chem"].users == {"alice", "carol"}  # unknown: nobody removed
    assert "erin" not in after.users and "dave" not in after.groups["myorg-physics"].users
    # the answer confirmed physics (written into its record); chem's record is untouched
    record = record_in(after.groups["myorg-physics"].properties)
    assert record is not None and record.claim_confirmed_at == stamp(NOW)
    assert after.groups["myorg-chem"].properties == chem.properties
    # the next sync, with the same answers, changes nothing
    assert (await provider_plan(source, after)).actions == []


async def test_a_team_the_provider_lists_none_of_is_emptied_then_retires(tmp_path: Path) -> None:
    hub = hub_with(PHYSICS)
    source = provider_source({"MyOrg/physics": ["carol"]}, tmp_path)
    first = await provider_plan(source, hub)
    assert removals(first) == {"myorg-physics": {"alice", "bob"}}
    after = simulate(hub, first.actions)
    second = await provider_plan(source, after)
    retired = [a for a in second.actions if isinstance(a, SetGroupProperties)]
    assert len(retired) == 1 and "no member left" in retired[0].reason
    final = record_in(simulate(after, second.actions).groups["myorg-physics"].properties)
    assert final is not None and final.retired


async def test_a_team_the_provider_vouches_for_does_not_retire_by_time(tmp_path: Path) -> None:
    stale = claim_team("MyOrg:physics", NOW - 100 * DAY)
    hub = hub_with(team_group("myorg-physics", {"alice"}, stale))
    vouching = provider_source({"MyOrg/physics": ["alice"]}, tmp_path)
    plan = await provider_plan(vouching, hub)
    assert removals(plan) == {}
    (write,) = [a for a in plan.actions if isinstance(a, SetGroupProperties)]
    record = record_in(write.properties)
    assert record is not None and not record.retired and record.claim_confirmed_at == stamp(NOW)
    # the provider failing: the existing rules, on the recorded time (stale here)
    failing = provider_source({"MyOrg/physics": None}, tmp_path)
    plan = await provider_plan(failing, hub)
    assert any(
        "no member's login confirmed" in a.reason
        for a in plan.actions
        if isinstance(a, SetGroupProperties)
    )
    # ...while after the vouching sync was applied it holds for a window
    vouched = simulate(hub, (await provider_plan(vouching, hub)).actions)
    assert (await provider_plan(failing, vouched, now=NOW + 10 * DAY)).actions == []


async def test_large_provider_removals_are_held_until_an_admin_confirms(tmp_path: Path) -> None:
    people = {f"p{i}" for i in range(20)}
    hub = hub_with(team_group("myorg-physics", people | {"alice"}, claim_team("MyOrg:physics")))
    source = provider_source({"MyOrg/physics": ["alice"]}, tmp_path)
    plan = await provider_plan(source, hub)
    assert removals(plan) == {}
    assert plan.hold_reason is not None and "20 membership removal" in plan.hold_reason
    assert {u for a in plan.held if isinstance(a, RemoveGroupMembers) for u in a.users} == people
    confirmed = await provider_plan(source, hub, allow_large_removal=True)
    assert removals(confirmed) == {"myorg-physics": people}
    # a few removals among many memberships go ahead
    few = provider_source({"MyOrg/physics": [*sorted(people - {"p1", "p2"}), "alice"]}, tmp_path)
    assert removals(await provider_plan(few, hub)) == {"myorg-physics": {"p1", "p2"}}


async def test_asking_off_plans_what_the_logins_decide() -> None:
    hub = hub_with(PHYSICS)
    source = ClaimGroups(kind="github")
    asked = await source.snapshot_asking_provider(hub.groups, NOW)
    assert asked.exact_teams == frozenset() and asked.confirmed == {}
    assert asked.snapshot == source.snapshot_from_hub(hub.groups, NOW)
    assert make_plan(asked.snapshot, hub, POLICY).actions == []


def test_answers_are_json_friendly_for_the_log() -> None:
    view = view_from_answers(
        {PHYSICS.name: PHYSICS}, {"MyOrg:physics": frozenset({"alice"})}, NOW, None
    )
    assert (
        json.dumps({k: sorted(v) for k, v in view.removed.items()}) == '{"myorg-physics": ["bob"]}'
    )
