"""Groups from OAuth claims: extraction, path rules, the never-merge mapping, the snapshot read
back from the hub, the login and refresh hooks against JupyterHub's own ORM, and the planner
keeping a claim team's marker."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyterhub import orm
from traitlets import TraitError
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from jupyterhub_teams import JupyterHubTeams
from jupyterhub_teams.integration.login_sync import (
    apply_claim_teams,
    keep_teams_in_managed_groups,
    make_login_sync,
    make_refresh_sync,
)
from jupyterhub_teams.model import TEAM_PROPERTY, DirectoryGroup, HubGroup, HubState, HubUser
from jupyterhub_teams.naming import InvalidName, team_name
from jupyterhub_teams.plan import Policy, make_plan
from jupyterhub_teams.plan.actions import AddGroupMembers, SetGroupProperties
from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.claims import (
    ClaimGroups,
    ClaimTeam,
    claim_record,
    extract_paths,
    gitlab_groups_hook,
    group_name,
    map_claims,
    snapshot_from_groups,
)

CLAIMS = "jupyterhub_teams.sources.claims.ClaimGroups"


def github_team(org: str, slug: str, name: str | None = None) -> dict[str, Any]:
    """A team as GitHub's ``GET /user/teams`` lists it (the fields that matter, and some)."""
    return {
        "id": hash((org, slug)) % 10_000,
        "name": name or slug.title(),
        "slug": slug,
        "privacy": "closed",
        "permission": "pull",
        "parent": None,
        "organization": {"login": org, "id": 1, "url": f"https://api.github.com/orgs/{org}"},
    }


def gitlab_group(full_path: str) -> dict[str, Any]:
    """A group as GitLab's ``GET /groups`` lists it."""
    return {
        "id": hash(full_path) % 10_000,
        "name": full_path.rsplit("/", 1)[-1],
        "path": full_path.rsplit("/", 1)[-1],
        "full_name": full_path.replace("/", " / "),
        "full_path": full_path,
        "visibility": "private",
    }


# -- extraction --------------------------------------------------------------------------------


def test_generic_reads_the_dotted_claim_in_provider_order_once() -> None:
    state = {"oauth_user": {"groups": ["/lab/physics", "/staff", "/lab/physics"]}}
    assert extract_paths(state, "generic") == ["/lab/physics", "/staff"]
    assert extract_paths({"a": {"b": {"c": ["x"]}}}, "generic", "a.b.c") == ["x"]
    assert extract_paths({"oauth_user": {"groups": "solo"}}, "generic") == ["solo"]
    assert extract_paths({"oauth_user": {"groups": []}}, "generic") == []


def test_github_teams_become_org_colon_slug() -> None:
    state = {"teams": [github_team("MyOrg", "data-science", "Data Science"), github_team("o", "t")]}
    assert extract_paths(state, "github") == ["MyOrg:data-science", "o:t"]


def test_gitlab_groups_become_their_full_path() -> None:
    state = {"gitlab_groups": [gitlab_group("lab"), gitlab_group("lab/physics")]}
    assert extract_paths(state, "gitlab") == ["lab", "lab/physics"]


@pytest.mark.parametrize(
    ("state", "kind", "claim", "message"),
    [
        (None, "generic", None, "no auth_state"),
        ({}, "generic", None, "auth_state has no 'oauth_user.groups'"),
        ({"oauth_user": {}}, "generic", None, "check ClaimGroups.claim"),
        ({"oauth_user": "x"}, "generic", None, "has no 'oauth_user.groups'"),
        ({"oauth_user": {"groups": {"a": 1}}}, "generic", None, "must be a list, got dict"),
        ({"oauth_user": {"groups": None}}, "generic", None, "must be a list, got NoneType"),
        ({"oauth_user": {"groups": ["a", 3]}}, "generic", None, "not a generic group: 3"),
        ({"token": "x"}, "github", None, "populate_teams_in_auth_state = True"),
        ({"teams": [{"slug": "t"}]}, "github", None, "not a github group"),
        ({"teams": [{"slug": "", "organization": {"login": "o"}}]}, "github", None, "github"),
        ({"gitlab_user": {}}, "gitlab", None, "gitlab_groups_hook"),
        ({"gitlab_groups": [{"name": "x"}]}, "gitlab", None, "not a gitlab group"),
        ({"groups": ["a"]}, "generic", "claims.groups", "has no 'claims.groups'"),
    ],
)
def test_a_missing_or_malformed_claim_is_an_error_not_an_empty_list(
    state: Any, kind: str, claim: str | None, message: str
) -> None:
    with pytest.raises(SourceError, match=message.replace(".", r"\.").replace("(", r"\(")):
        extract_paths(state, kind, claim)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown claim kind"):
        extract_paths({}, "bitbucket")


# -- path rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "rule", "prefix", "group"),
    [
        ("/lab/physics", "generic", "full", "", "lab/physics"),
        ("lab/physics", "generic", "full", "", "lab/physics"),
        ("physics", "generic", "full", "", "physics"),
        ("/lab//physics/", "generic", "full", "", "lab/physics"),
        ("/lab/physics", "generic", "last", "", "physics"),
        ("/physics", "generic", "last", "", "physics"),
        ("/courses/phys101", "generic", "prefix", "/courses", "phys101"),
        ("/courses/2025/phys101", "generic", "prefix", "/courses/", "2025/phys101"),
        ("/courses/2025/phys101", "generic", "prefix", "courses/2025", "phys101"),
        ("/courses", "generic", "prefix", "/courses", None),
        ("/staff/x", "generic", "prefix", "/courses", None),
        ("/Courses/x", "generic", "prefix", "/courses", None),
        ("/coursesx/y", "generic", "prefix", "/courses", None),
        ("MyOrg:team-a", "github", "full", "", "MyOrg:team-a"),
        ("MyOrg:team-a", "github", "last", "", "team-a"),
        ("MyOrg:team-a", "github", "prefix", "myorg", "team-a"),
        ("MyOrg:team-a", "github", "prefix", "other", None),
        ("lab/physics", "gitlab", "full", "", "lab/physics"),
        ("lab/physics/x", "gitlab", "prefix", "lab", "physics/x"),
    ],
)
def test_group_name(path: str, kind: str, rule: str, prefix: str, group: str | None) -> None:
    assert group_name(path, kind, rule, prefix) == group


def test_a_path_with_no_part_is_invalid() -> None:
    for path in ("", "/", "//"):
        with pytest.raises(InvalidName, match="names no group"):
            group_name(path, "generic", "full")
    with pytest.raises(ValueError, match="unknown path rule"):
        group_name("/a", "generic", "first")


# -- the mapping -------------------------------------------------------------------------------


def mapped(paths: list[str], rule: str = "last", **kwargs: Any) -> dict[str, str]:
    result = map_claims(paths, kind="generic", rule=rule, max_length=40, **kwargs)
    return {team: t.path for team, t in result.teams.items()}


def test_two_paths_with_one_team_are_never_merged_the_first_sorted_owns_it() -> None:
    result = map_claims(
        ["/b/physics", "/a/physics", "/lab/chem"], kind="generic", rule="last", max_length=40
    )
    assert {t: c.path for t, c in result.teams.items()} == {
        "physics": "/a/physics",
        "chem": "/lab/chem",
    }
    assert [(r.name, r.reason) for r in result.refusals] == [
        (
            "/b/physics",
            "its team 'physics' is also the team of '/a/physics'; never merged",
        )
    ]


def test_the_recorded_owner_keeps_its_team() -> None:
    result = map_claims(
        ["/a/physics", "/b/physics"],
        kind="generic",
        rule="last",
        max_length=40,
        owners={"physics": "/b/physics"},
    )
    assert {t: c.path for t, c in result.teams.items()} == {"physics": "/b/physics"}
    assert "belongs to the claim group '/b/physics'" in result.refusals[0].reason
    assert mapped(["/a/physics"], owners={"physics": "/b/physics"}) == {}


def test_full_rule_distinguishes_what_naming_would_fold_together() -> None:
    # "/Lab/Physics" and "/lab/physics" fold to one team name: two groups, never one team
    assert mapped(["/lab/physics", "/Lab/Physics"], "full") == {"lab-physics": "/Lab/Physics"}
    assert mapped(["/lab/physics", "lab/physics"], "full") == {"lab-physics": "/lab/physics"}


def test_taken_reserved_invalid_and_ignored_paths() -> None:
    result = map_claims(
        ["/x/mine", "/jupyterhub-teams-accounts", "/!!!", "/", "/staff/y", "/courses/ok"],
        kind="generic",
        rule="prefix",
        prefix="/courses",
        max_length=40,
        reserved=["jupyterhub-teams-accounts"],
        taken={"ok": "a team created in the hub"},
    )
    assert result.teams == {}
    assert result.ignored == ("/!!!", "/jupyterhub-teams-accounts", "/staff/y", "/x/mine")
    reasons = {r.name: r.reason for r in result.refusals}
    assert set(reasons) == {"/", "/courses/ok"}
    assert "names no group" in reasons["/"]
    assert "is a team created in the hub" in reasons["/courses/ok"]
    last = map_claims(
        ["/jupyterhub-teams-accounts", "/!!!"],
        kind="generic",
        rule="last",
        max_length=40,
        reserved=["jupyterhub-teams-accounts"],
    )
    reasons = {r.name: r.reason for r in last.refusals}
    assert "is reserved by jupyterhub-teams" in reasons["/jupyterhub-teams-accounts"]
    assert "no letters or digits" in reasons["/!!!"]


def test_long_names_are_cut_with_a_hash() -> None:
    path = "/" + "x" * 80
    (team,) = mapped([path], "full")
    assert len(team) == 40 and team == team_name("x" * 80, 40)


# Parts that collide often: case, accents, punctuation and repeated names.
_PARTS = st.sampled_from(["a", "b", "A", "physics", "Physics", "phy sics", "ü", "u", "-", "x"])
_PATHS = st.builds(
    lambda parts, slash: ("/" if slash else "") + "/".join(parts),
    st.lists(_PARTS, min_size=0, max_size=3),
    st.booleans(),
)
_RULES = st.sampled_from(["full", "last", "prefix"])


@settings(max_examples=300, deadline=None)
@given(
    paths=st.lists(_PATHS, max_size=8),
    rule=_RULES,
    owned=st.dictionaries(st.sampled_from(["a", "b", "physics", "u", "x"]), _PATHS, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_mapping_never_merges_distinct_paths_and_is_deterministic(
    paths: list[str], rule: str, owned: dict[str, str], seed: int
) -> None:
    result = map_claims(paths, kind="generic", rule=rule, prefix="/a", max_length=40, owners=owned)
    accepted = [t.path for t in result.teams.values()]
    # one path per team, each on the team its own name gives
    assert len(accepted) == len(set(accepted))
    for team, claim in result.teams.items():
        assert claim.team == team
        group = group_name(claim.path, "generic", rule, "/a")
        assert group == claim.group and team_name(group, 40) == team
        assert owned.get(team, claim.path) == claim.path
    # every path is accepted, refused or left out, exactly once
    refused = [r.name for r in result.refusals]
    assert sorted(accepted + refused + list(result.ignored)) == sorted(set(paths))
    # the provider's order changes nothing
    shuffled = list(paths)
    random.Random(seed).shuffle(shuffled)
    again = map_claims(
        shuffled, kind="generic", rule=rule, prefix="/a", max_length=40, owners=owned
    )
    assert again == result


@settings(max_examples=200, deadline=None)
@given(logins=st.lists(st.lists(_PATHS, max_size=5), max_size=8), rule=_RULES)
def test_first_seen_path_owns_its_team_across_logins(logins: list[list[str]], rule: str) -> None:
    """People logging in one after the other: a team, once created for a path, only ever
    admits people holding that very path."""
    owners: dict[str, str] = {}
    for paths in logins:
        result = map_claims(
            paths, kind="generic", rule=rule, prefix="/a", max_length=40, owners=owners
        )
        for team, claim in result.teams.items():
            assert owners.setdefault(team, claim.path) == claim.path
            assert claim.path in paths


# -- the source's options ----------------------------------------------------------------------


def teams_with(**claims: Any) -> JupyterHubTeams:
    return JupyterHubTeams(
        config=Config({"JupyterHubTeams": {"source_class": CLAIMS}, "ClaimGroups": claims})
    )


def test_options_come_from_the_claim_groups_section_and_travel_to_the_service() -> None:
    teams = teams_with(path_rule="last", kind="generic")
    source = teams.make_source()
    assert isinstance(source, ClaimGroups)
    assert (source.kind, source.claim, source.path_rule) == ("generic", "oauth_user.groups", "last")
    data = json.loads(teams.to_json())
    assert data["ClaimGroups"] == {"path_rule": "last", "kind": "generic"}
    assert import_item(data["JupyterHubTeams"]["source_class"]) is ClaimGroups
    again = JupyterHubTeams.from_json(teams.to_json()).make_source()
    assert isinstance(again, ClaimGroups) and again.path_rule == "last"
    assert "path_rule='last'" in repr(again)


@pytest.mark.parametrize(
    ("kind", "claim"),
    [("generic", "oauth_user.groups"), ("github", "teams"), ("gitlab", "gitlab_groups")],
)
def test_the_claim_defaults_to_where_each_authenticator_puts_it(kind: str, claim: str) -> None:
    source = teams_with(kind=kind).make_source()
    assert isinstance(source, ClaimGroups) and source.claim == claim
    assert teams_with(kind=kind, claim="x.y").make_source().claim == "x.y"  # type: ignore[attr-defined]


def test_prefix_rule_needs_a_prefix() -> None:
    with pytest.raises(TraitError, match=r"needs ClaimGroups\.path_prefix"):
        teams_with(path_rule="prefix").make_source()
    with pytest.raises(TraitError, match="names no group"):
        teams_with(path_rule="prefix", path_prefix="/").make_source()
    source = teams_with(path_rule="prefix", path_prefix="/courses").make_source()
    assert "path_prefix='/courses'" in repr(source)


def test_the_mapping_uses_the_hub_options() -> None:
    teams = JupyterHubTeams(
        config=Config(
            {
                "JupyterHubTeams": {
                    "source_class": CLAIMS,
                    "accounts_group": "all-teams",
                    "max_team_name_length": 12,
                    "account_prefix": "team-",
                },
                "ClaimGroups": {"path_rule": "last"},
            }
        )
    )
    source = teams.make_source()
    assert isinstance(source, ClaimGroups)
    result = source.claim_teams(["/x/all-teams", "/y/a-rather-long-name"])
    assert [r.name for r in result.refusals] == ["/x/all-teams"]
    (claim,) = result.teams.values()
    assert claim.team == team_name("a-rather-long-name", 12)
    assert source.record(claim).account == f"team-{claim.team}"


async def test_groups_at_login_reads_the_authentication_dict() -> None:
    source = teams_with().make_source()
    assert isinstance(source, ClaimGroups)
    auth = {"name": "alice", "auth_state": {"oauth_user": {"groups": ["/a", "/b", "/a"]}}}
    assert await source.groups_at_login("alice", auth) == {"/a", "/b"}
    with pytest.raises(SourceError):
        await source.groups_at_login("alice", {"name": "alice", "auth_state": None})


# -- the snapshot ------------------------------------------------------------------------------


def group_model(name: str, users: list[str], marker: dict[str, Any] | None) -> HubGroup:
    return HubGroup(name, frozenset(users), {TEAM_PROPERTY: marker} if marker is not None else {})


def physics_marker(**extra: Any) -> dict[str, Any]:
    return {**claim_record(ClaimTeam("/a/physics", "physics", "physics")).to_json(), **extra}


# A claim team's record as version 0.3 wrote it (format 1: no version, origin and source).
LAB_CHEM_FORMAT_1 = {
    "origin": "directory",
    "source_group": "lab/chem",
    "claim": "/lab/chem",
    "account": "collab-lab-chem",
    "retired": False,
    "source": "claims",
}

HUB_GROUPS = [
    group_model("physics", ["alice", "bob"], physics_marker()),
    group_model("lab-chem", ["carol"], LAB_CHEM_FORMAT_1),
    group_model("old", ["dave"], {**physics_marker(), "source_group": "old", "retired": True}),
    group_model(
        "yaml-team",
        ["erin"],
        {"account": "collab-yaml-team", "origin": "directory", "source_group": "yaml-team"},
    ),
    group_model("mine", ["erin"], {"account": "collab-mine", "origin": "hub"}),
    group_model("plain", ["erin"], None),
    # recorded under a name that no longer maps to it: reported under its own name
    group_model("renamed", ["x"], {**physics_marker(), "source_group": "Something Else"}),
    group_model("way-too-long-for-the-limit", [], {**physics_marker(), "source_group": "w"}),
]


def test_snapshot_holds_active_claim_teams_with_their_members_and_is_incomplete() -> None:
    snapshot, problems = snapshot_from_groups(HUB_GROUPS, 12)
    assert snapshot.complete is False
    assert dict(snapshot.groups) == {
        "physics": DirectoryGroup("physics", frozenset({"alice", "bob"})),
        "lab/chem": DirectoryGroup("lab/chem", frozenset({"carol"})),
        "renamed": DirectoryGroup("renamed", frozenset({"x"})),
    }
    assert problems == [
        "claim team 'way-too-long-for-the-limit' is not a valid team name at "
        "max_team_name_length=12; it is left as it is"
    ]


def test_the_source_builds_its_snapshot_from_the_groups_the_sync_read() -> None:
    source = teams_with().make_source()
    assert isinstance(source, ClaimGroups)
    snapshot = source.snapshot_from_hub({g.name: g for g in HUB_GROUPS})
    # at the default max_team_name_length the long name is valid; it has no member left, so
    # it is not asked for but named as over
    assert set(snapshot.groups) == {"physics", "lab/chem", "renamed"}
    assert set(snapshot.retiring) == {"way-too-long-for-the-limit"}
    assert snapshot.complete is False


async def test_asked_on_its_own_the_source_says_where_claim_teams_come_from() -> None:
    with pytest.raises(SourceError, match="claim teams are read from the hub's groups"):
        await teams_with().make_source().snapshot()


# -- the planner keeps a claim team as it is ---------------------------------------------------


def test_planner_gives_a_claim_team_its_account_and_share_and_keeps_its_marker() -> None:
    snapshot, _ = snapshot_from_groups([HUB_GROUPS[0]], 40)
    hub = HubState(
        users={n: HubUser(n) for n in ("alice", "bob")},
        groups={
            "physics": HubGroup(
                "physics",
                frozenset({"alice", "bob"}),
                {TEAM_PROPERTY: physics_marker(), "other": 1},
            )
        },
    )
    plan = make_plan(snapshot, hub, Policy())
    kinds = [type(a).__name__ for a in plan.actions]
    assert "CreateUsers" in kinds and "GrantGroupShare" in kinds
    # the recorded marker has no share scopes yet, so granting the share always rewrites it
    assert physics_marker()["share_scopes"] == []
    (update,) = [a for a in plan.actions if isinstance(a, SetGroupProperties)]
    assert update.group == "physics"
    marker = dict(update.properties[TEAM_PROPERTY])
    assert marker["share_scopes"] == [
        "access:servers!server=collab-physics/",
        "servers!server=collab-physics/",
    ]
    # whatever the planner adds, a claim team's own keys stay, and so do the group's others
    assert marker["origin"] == "claims" and marker["claim"] == "/a/physics"
    assert marker["source_group"] == "physics" and update.properties["other"] == 1
    assert not any(isinstance(a, AddGroupMembers) and a.group == "physics" for a in plan.actions)


def test_planner_restoring_a_team_keeps_unknown_marker_keys() -> None:
    snapshot, _ = snapshot_from_groups([HUB_GROUPS[0]], 40)
    retired = {**physics_marker(), "retired": True}
    hub = HubState(
        users={n: HubUser(n) for n in ("alice", "bob", "collab-physics")},
        groups={"physics": HubGroup("physics", frozenset({"alice"}), {TEAM_PROPERTY: retired})},
    )
    plan = make_plan(snapshot, hub, Policy())
    (restore,) = [a for a in plan.actions if isinstance(a, SetGroupProperties)]
    marker = dict(restore.properties[TEAM_PROPERTY])
    assert marker["retired"] is False
    assert (marker["origin"], marker["claim"]) == ("claims", "/a/physics")


def test_an_incomplete_claim_snapshot_never_removes_anyone() -> None:
    # the snapshot says physics is bob's; the hub (read later) has alice in it
    snapshot, _ = snapshot_from_groups([group_model("physics", ["bob"], physics_marker())], 40)
    hub = HubState(
        users={n: HubUser(n) for n in ("alice", "collab-physics")},
        groups={
            "physics": HubGroup("physics", frozenset({"alice"}), {TEAM_PROPERTY: physics_marker()})
        },
    )
    plan = make_plan(snapshot, hub, Policy())
    assert not plan.held
    assert all(type(a).__name__ not in ("RemoveGroupMembers", "StopServer") for a in plan.actions)


# -- login and refresh against JupyterHub's ORM ------------------------------------------------


@pytest.fixture
def db() -> Iterator[Any]:
    session = orm.new_session_factory("sqlite://")()
    session.add_all(
        [
            orm.Group(
                name="adhoc", properties={TEAM_PROPERTY: {"account": "c-adhoc", "origin": "hub"}}
            ),
            orm.Group(
                name="yaml",
                properties={TEAM_PROPERTY: {"account": "c-yaml", "origin": "directory"}},
            ),
            orm.Group(name="staff", properties={}),
            orm.Group(name="gone", properties={TEAM_PROPERTY: physics_marker(retired=True)}),
            orm.Group(
                name="old",
                properties={
                    TEAM_PROPERTY: {"account": "c-old", "origin": "directory", "retired": True}
                },
            ),
        ]
    )
    for name in ("alice", "bob"):
        session.add(orm.User(name=name))
    session.commit()
    yield session
    session.close()


def claims_source(**options: Any) -> ClaimGroups:
    source = teams_with(path_rule="last", **options).make_source()
    assert isinstance(source, ClaimGroups)
    return source


def groups_of(db: Any, name: str) -> list[str]:
    return sorted(g.name for g in orm.User.find(db, name).groups)


def test_login_creates_a_new_claim_team_as_a_hub_group_only(db: Any) -> None:
    alice = orm.User.find(db, "alice")
    logger = logging.getLogger("test")
    joined, left = apply_claim_teams(
        db, alice, {"/a/physics", "/lab/chem"}, claims_source(), logger
    )
    assert (joined, left) == (["chem", "physics"], [])
    physics = orm.Group.find(db, "physics")
    assert physics.properties[TEAM_PROPERTY] == {
        "version": 2,
        "origin": "claims",
        "source_group": "physics",
        "claim": "/a/physics",
        "account": "collab-physics",
        "retired": False,
        # the sync adds the share's scopes once it has granted the share
        "share_scopes": [],
    }
    assert [u.name for u in physics.users] == ["alice"]
    assert orm.User.find(db, "collab-physics") is None  # the account is the sync's job


def test_a_colliding_path_is_refused_for_the_person_who_has_it(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    source = claims_source()
    logger = logging.getLogger("test")
    apply_claim_teams(db, orm.User.find(db, "alice"), {"/a/physics"}, source, logger)
    bob = orm.User.find(db, "bob")
    with caplog.at_level(logging.WARNING, "test"):
        assert apply_claim_teams(db, bob, {"/b/physics", "/b/bio"}, source, logger) == (["bio"], [])
    assert groups_of(db, "bob") == ["bio"]
    assert (
        "bob: claim group '/b/physics' refused: its team 'physics' belongs to the claim group "
        "'/a/physics'; never merged" in caplog.text
    )


def test_claim_memberships_are_set_exactly_and_other_groups_are_untouched(db: Any) -> None:
    source, logger = claims_source(), logging.getLogger("test")
    alice = orm.User.find(db, "alice")
    for name in ("adhoc", "yaml", "staff", "gone"):
        alice.groups.append(orm.Group.find(db, name))
    db.commit()
    apply_claim_teams(db, alice, {"/a/physics", "/a/chem"}, source, logger)
    assert groups_of(db, "alice") == ["adhoc", "chem", "gone", "physics", "staff", "yaml"]
    assert apply_claim_teams(db, alice, {"/a/chem"}, source, logger) == ([], ["physics"])
    assert apply_claim_teams(db, alice, set(), source, logger) == ([], ["chem"])
    assert groups_of(db, "alice") == ["adhoc", "gone", "staff", "yaml"]
    assert apply_claim_teams(db, alice, set(), source, logger) == ([], [])


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/x/adhoc", "is a team created in the hub"),
        ("/x/yaml", "is a team of another directory source"),
        ("/x/staff", "does not manage"),
        ("/x/old", "is a retired team"),
        # a retired claim team is restored only by its own claim
        ("/x/gone", "belongs to the claim group '/a/physics'; never merged"),
    ],
)
def test_groups_that_are_not_active_claim_teams_are_never_joined(
    db: Any, caplog: pytest.LogCaptureFixture, path: str, reason: str
) -> None:
    with caplog.at_level(logging.WARNING, "test"):
        result = apply_claim_teams(
            db, orm.User.find(db, "alice"), {path}, claims_source(), logging.getLogger("test")
        )
    assert result == ([], [])
    assert reason in caplog.text


def test_managed_groups_carry_the_person_s_teams_and_no_other_team(db: Any) -> None:
    alice = orm.User.find(db, "alice")
    apply_claim_teams(db, alice, {"/a/physics"}, claims_source(), logging.getLogger("test"))
    alice.groups.append(orm.Group.find(db, "adhoc"))
    db.commit()
    auth: dict[str, Any] = {"groups": ["/a/physics", "staff", "yaml", "new-from-idp"]}
    keep_teams_in_managed_groups(db, alice, auth)
    # 'yaml' is a team alice is not in: a provider's group list never makes her a member
    assert auth["groups"] == ["/a/physics", "adhoc", "new-from-idp", "physics", "staff"]
    untouched: dict[str, Any] = {"groups": None}
    keep_teams_in_managed_groups(db, alice, untouched)
    assert untouched == {"groups": None}


class FakeUser:
    def __init__(self, orm_user: Any) -> None:
        self.orm_user = orm_user


class FakeHandler:
    def __init__(self, db: Any) -> None:
        self.db = db

    def user_from_username(self, name: str) -> FakeUser:
        user = orm.User.find(self.db, name)
        if user is None:
            user = orm.User(name=name)
            self.db.add(user)
            self.db.commit()
        return FakeUser(user)


def authenticator(db: Any = None, manage_groups: bool = False) -> Any:
    return SimpleNamespace(
        log=logging.getLogger("test.hub"),
        manage_groups=manage_groups,
        parent=SimpleNamespace(db=db),
    )


def login(name: str, groups: Any) -> dict[str, Any]:
    return {"name": name, "auth_state": {"oauth_user": {"groups": groups}}}


async def test_the_login_hook_uses_the_claims_and_chains(db: Any) -> None:
    teams = teams_with(path_rule="last")
    seen: list[str] = []

    async def then(_a: Any, _h: Any, auth: dict[str, Any]) -> dict[str, Any]:
        seen.append(auth["name"])
        return auth

    hook = make_login_sync(teams, then)
    auth = login("carol", ["/a/physics"])
    assert await hook(authenticator(), FakeHandler(db), auth) is auth
    assert seen == ["carol"] and groups_of(db, "carol") == ["physics"]


async def test_a_broken_claim_keeps_memberships_and_never_fails_the_login(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    teams = teams_with(path_rule="last")
    hook = make_login_sync(teams, None)
    await hook(authenticator(), FakeHandler(db), login("alice", ["/a/physics"]))
    with caplog.at_level(logging.WARNING, "test.hub"):
        auth = {"name": "alice", "auth_state": {"oauth_user": {}}}
        assert await hook(authenticator(), FakeHandler(db), auth) is auth
    assert groups_of(db, "alice") == ["physics"]
    assert "login of alice: the directory could not be read (auth_state has no" in caplog.text


async def test_with_manage_groups_the_login_s_group_list_keeps_the_teams(db: Any) -> None:
    hook = make_login_sync(teams_with(path_rule="last"), None)
    auth = {**login("alice", ["/a/physics"]), "groups": ["/a/physics"]}
    await hook(authenticator(manage_groups=True), FakeHandler(db), auth)
    assert auth["groups"] == ["/a/physics", "physics"]
    # a login whose claim cannot be read still keeps the teams in the list
    auth = {"name": "alice", "auth_state": {}, "groups": []}
    await hook(authenticator(manage_groups=True), FakeHandler(db), auth)
    assert auth["groups"] == ["physics"]


async def test_refresh_applies_new_claims_and_returns_the_auth_state(db: Any) -> None:
    teams = teams_with(path_rule="last")
    hook = make_refresh_sync(teams, None)
    assert hook is not None
    model = login("alice", ["/a/physics", "/a/chem"])
    assert await hook(authenticator(db), model, None) is model["auth_state"]
    assert groups_of(db, "alice") == ["chem", "physics"]
    model = login("alice", ["/a/chem"])
    await hook(authenticator(db), model, None)
    assert groups_of(db, "alice") == ["chem"]
    # unknown people and hubs without a database are left alone
    await hook(authenticator(db), login("nobody", ["/a/x"]), None)
    await hook(authenticator(None), login("alice", []), None)
    assert groups_of(db, "alice") == ["chem"] and orm.User.find(db, "nobody") is None


async def test_refresh_chains_an_existing_hook(db: Any) -> None:
    def keep_old(_a: Any, _model: Any, existing: Any) -> Any:
        return existing

    hook = make_refresh_sync(teams_with(path_rule="last"), keep_old)
    assert hook is not None
    assert await hook(authenticator(db), login("alice", ["/a/b"]), {"old": 1}) == {"old": 1}
    assert groups_of(db, "alice") == ["b"]


def test_no_refresh_hook_for_sources_that_read_no_claims() -> None:
    assert make_refresh_sync(JupyterHubTeams(directory="x.yaml"), None) is None


# -- GitLab's groups, fetched at login ---------------------------------------------------------


class FakeGitLab:
    """An authenticator whose ``httpfetch`` answers like GitLab's paginated ``/groups``."""

    gitlab_api = "https://gitlab.example/api/v4"
    validate_server_cert = True

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages = [[gitlab_group("lab")], [gitlab_group("lab/physics")]]

    async def httpfetch(self, url: str, *_args: Any, **kwargs: Any) -> Any:
        self.urls.append(url)
        assert kwargs["headers"]["Authorization"] == "Bearer tok"
        page = int(url.rsplit("page=", 1)[1])
        following = str(page + 1) if page < len(self.pages) else ""
        body = json.dumps(self.pages[page - 1]).encode()
        return SimpleNamespace(body=body, headers={"X-Next-Page": following})


async def test_gitlab_groups_hook_stores_every_page() -> None:
    fake = FakeGitLab()
    state = await gitlab_groups_hook(fake, {"access_token": "tok", "gitlab_user": {"id": 1}})
    assert extract_paths(state, "gitlab") == ["lab", "lab/physics"]
    assert state["gitlab_groups"][1] == {
        "id": gitlab_group("lab/physics")["id"],
        "name": "physics",
        "full_path": "lab/physics",
    }
    assert fake.urls[0].startswith("https://gitlab.example/api/v4/groups?min_access_level=10")
    assert len(fake.urls) == 2
    assert await gitlab_groups_hook(fake, {"gitlab_user": {}}) == {"gitlab_user": {}}


# -- setup(c) wiring ---------------------------------------------------------------------------


def configured(**claims: Any) -> Config:
    c = Config()
    c.JupyterHubTeams.directory = "unused.yaml"
    c.JupyterHubTeams.source_class = CLAIMS
    for key, value in claims.items():
        setattr(c.ClaimGroups, key, value)
    return c


async def test_setup_wires_the_refresh_hook_only_for_claim_sources(db: Any) -> None:
    from jupyterhub_teams.integration import setup

    seen: list[Any] = []
    c = configured(path_rule="last")
    c.Authenticator.reconcile_auth_state_hook = lambda a, model, old: seen.append(old) or old
    setup(c)
    hook = c.Authenticator.reconcile_auth_state_hook
    assert await hook(authenticator(db), login("alice", ["/a/x"]), {"old": 1}) == {"old": 1}
    assert seen == [{"old": 1}] and groups_of(db, "alice") == ["x"]

    yaml_config = Config()
    yaml_config.JupyterHubTeams.directory = "teams.yaml"
    setup(yaml_config)
    assert "reconcile_auth_state_hook" not in yaml_config.Authenticator


async def test_team_accounts_are_never_refreshed_people_are(db: Any) -> None:
    from jupyterhub_teams.integration import setup

    c = configured()
    c.OAuthenticator.refresh_user_hook = lambda a, user, state: "theirs"
    setup(c)
    hook = c.OAuthenticator.refresh_user_hook
    accounts = SimpleNamespace(name="jupyterhub-teams-accounts")
    team = SimpleNamespace(name="collab-physics", groups=[accounts])
    person = SimpleNamespace(name="alice", groups=[])
    # a team account has no auth_state; "up to date" keeps JupyterHub from asking it to log in
    assert await hook(None, team, None) is True
    assert await hook(None, person, {}) == "theirs"
    bare = configured()
    setup(bare)
    assert await bare.OAuthenticator.refresh_user_hook(None, person, {}) is None


def test_a_misconfigured_claim_source_stops_the_hub_at_setup() -> None:
    from jupyterhub_teams.integration import setup

    with pytest.raises(TraitError, match="needs ClaimGroups"):
        setup(configured(path_rule="prefix"))
