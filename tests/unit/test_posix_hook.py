"""The spawn-time step's pure parts (team markers, claims, declared numbers), the options'
validation, and the hook on fake hub users with a registry under the test's folder."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import TraitError
from traitlets.config import Config

from jupyterhub_teams.model import DEFAULT_ACCOUNTS_GROUP, TEAM_PROPERTY, Person, Policy
from jupyterhub_teams.naming import DEFAULT_ACCOUNT_PREFIX
from jupyterhub_teams.posix import PosixIdentity, PosixLocalProcessSpawner
from jupyterhub_teams.posix.accounts import Lookups
from jupyterhub_teams.posix.hook import (
    PosixHook,
    SpawnRefused,
    claim_value,
    declared_number,
    team_ref,
)
from jupyterhub_teams.posix.identity import IdentityRefused, Request, Resolver, TeamRef
from jupyterhub_teams.posix.numbers import NumberRange
from jupyterhub_teams.posix.registry import Record, Registry
from jupyterhub_teams.sources import SourceError


def group(name: str, marker: Any = None, **properties: Any) -> SimpleNamespace:
    if marker is not None:
        properties[TEAM_PROPERTY] = marker
    return SimpleNamespace(name=name, properties=properties)


# --- team_ref --------------------------------------------------------------------------------


def test_team_ref_of_an_active_team_with_a_gid() -> None:
    marker = {"account": "collab-physics", "retired": False, "gid": 48001, "origin": "directory"}
    assert team_ref(group("physics", marker)) == TeamRef("physics", "collab-physics", 48001)


def test_team_ref_without_a_gid() -> None:
    marker = {"account": "collab-physics", "retired": False}
    assert team_ref(group("physics", marker)) == TeamRef("physics", "collab-physics", None)


@pytest.mark.parametrize("gid", [True, False, "48001", 48001.0, None, [48001]])
def test_team_ref_ignores_a_gid_that_is_not_an_int(gid: Any) -> None:
    marker = {"account": "collab-physics", "gid": gid}
    assert team_ref(group("physics", marker)) == TeamRef("physics", "collab-physics", None)


@pytest.mark.parametrize("account", [12, "", None, ["collab-x"]])
def test_a_record_without_an_account_name_is_no_team(account: Any) -> None:
    assert team_ref(group("x", {"account": account})) is None


@pytest.mark.parametrize(
    "thing",
    [
        group("physics", {"account": "collab-physics", "retired": True, "gid": 48001}),
        group("physics", {"account": "collab-physics", "retired": "yes"}),
        group("staff"),
        group("staff", colour="blue"),
        group("physics", "not a mapping"),
        group("physics", ["account", "collab-physics"]),
        group("physics", {}),
        group("physics", {"account": ""}),
        group("physics", {"account": None, "gid": 48001}),
        SimpleNamespace(name="physics", properties=None),
        SimpleNamespace(name="physics"),
    ],
)
def test_team_ref_of_what_is_not_an_active_team(thing: Any) -> None:
    assert team_ref(thing) is None


# --- claim_value -----------------------------------------------------------------------------


STATE = {"oauth_user": {"uidNumber": "47001", "attrs": {"uid": [47002]}, "zero": 0}, "uid": 9}


@pytest.mark.parametrize(
    ("dotted", "expected"),
    [
        ("uid", 9),
        ("oauth_user.uidNumber", "47001"),
        ("oauth_user.attrs.uid", [47002]),
        ("oauth_user.zero", 0),
        ("oauth_user", STATE["oauth_user"]),
        ("missing", None),
        ("oauth_user.missing", None),
        ("oauth_user.uidNumber.deeper", None),
        ("uid.deeper", None),
        ("oauth_user.attrs.uid.0", None),
    ],
)
def test_claim_value(dotted: str, expected: Any) -> None:
    assert claim_value(STATE, dotted) == expected


@pytest.mark.parametrize("state", [None, "text", [1, 2], 5])
def test_claim_value_without_a_mapping(state: Any) -> None:
    assert claim_value(state, "oauth_user.uidNumber") is None


# --- declared_number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (47001, 47001),
        ("47001", 47001),
        (" 47001\n", 47001),
        ("0047001", 47001),
        ([47001], 47001),
        (["47001"], 47001),
        (0, 0),
        (-5, -5),
        (None, None),
        ("", None),
    ],
)
def test_declared_number(value: Any, expected: int | None) -> None:
    assert declared_number(value, "claim 'uid'") == expected


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "47001x",
        "-5",
        "4.7",
        "  ",
        47001.0,
        True,
        False,
        [],
        [47001, 47002],
        ["abc"],
        [None],
        [[47001]],
        {"uid": 47001},
    ],
)
def test_declared_garbage_is_refused(value: Any) -> None:
    with pytest.raises(IdentityRefused) as raised:
        declared_number(value, "claim 'oauth_user.uidNumber'")
    shown = value[0] if isinstance(value, list) and len(value) == 1 else value
    assert str(raised.value) == f"the claim 'oauth_user.uidNumber' is not a number: {shown!r}"


@pytest.mark.parametrize("value", ["\u00b2", "4700\u00b9"])
def test_declared_superscript_digits_are_refused(value: str) -> None:
    with pytest.raises(IdentityRefused):
        declared_number(value, "claim 'uid'")


# --- SpawnRefused ----------------------------------------------------------------------------


def test_spawn_refused() -> None:
    refused = SpawnRefused("alice", "the uid is taken")
    message = "The server of 'alice' cannot be started with a POSIX identity: the uid is taken"
    assert refused.status_code == 409
    assert refused.log_message == message
    assert refused.reason == message


# --- PosixIdentity options -------------------------------------------------------------------


def test_defaults() -> None:
    options = PosixIdentity()
    assert options.enabled is False
    assert options.uids == NumberRange(30000, 44999)
    assert options.gids == NumberRange(45000, 59999)
    assert options.minimum_id == 1000
    assert options.home_root == "/home"
    assert options.team_directory_root == "/srv/teams"
    assert options.digit_prefix == "u"
    assert options.max_system_name_length == 32
    assert options.umask == 0o007
    assert options.team_links == "teams"
    assert options.create_accounts is True
    assert options.team_directories is True
    assert options.team_groups_for_members is True


def test_ranges_are_taken_as_ints() -> None:
    options = PosixIdentity(uid_range=("31000", 31999), gid_range=[46000, 46000])
    assert options.uid_range == [31000, 31999]
    assert options.uids == NumberRange(31000, 31999)
    assert options.gids == NumberRange(46000, 46000)


@pytest.mark.parametrize("option", ["uid_range", "gid_range"])
@pytest.mark.parametrize(
    "value", [[5000, 4000], [0, 10], [-1, 5000], [1000], [1000, 2000, 3000], ["a", "b"], [None, 5]]
)
def test_bad_ranges(option: str, value: Any) -> None:
    with pytest.raises(TraitError) as raised:
        PosixIdentity(**{option: value})
    assert str(raised.value) == (
        f"{option} must be [first, last] with 0 < first <= last, got {value!r}"
    )


@pytest.mark.parametrize("option", ["uid_range", "gid_range"])
def test_a_range_that_is_not_a_list(option: str) -> None:
    with pytest.raises(TraitError, match=f"The '{option}' trait .* expected a list"):
        PosixIdentity(**{option: 5000})


@pytest.mark.parametrize("option", ["uid_range", "gid_range"])
def test_range_below_minimum(option: str) -> None:
    with pytest.raises(TraitError) as raised:
        PosixIdentity(**{option: [500, 2000]})
    assert str(raised.value) == f"{option} starts below minimum_id (1000): [500, 2000]"


def test_range_below_a_lowered_minimum_in_any_order() -> None:
    c = Config()
    c.PosixIdentity.uid_range = [500, 900]
    c.PosixIdentity.minimum_id = 100
    assert PosixIdentity(config=c).uids == NumberRange(500, 900)
    c = Config()
    c.PosixIdentity.minimum_id = 5000
    c.PosixIdentity.uid_range = [4000, 9000]
    with pytest.raises(TraitError, match=r"uid_range starts below minimum_id \(5000\)"):
        PosixIdentity(config=c)


def test_minimum_above_the_default_ranges_is_refused() -> None:
    with pytest.raises(TraitError, match="below minimum_id"):
        PosixIdentity(minimum_id=50000)


@pytest.mark.parametrize("prefix", ["", "1", "1u", "U", "u.", "a b", "-u", "x" * 33])
def test_bad_digit_prefix(prefix: str) -> None:
    with pytest.raises(TraitError) as raised:
        PosixIdentity(digit_prefix=prefix)
    assert str(raised.value) == f"digit_prefix must be a safe system name, got {prefix!r}"


@pytest.mark.parametrize("prefix", ["u", "s_", "_", "user-"])
def test_good_digit_prefix(prefix: str) -> None:
    assert PosixIdentity(digit_prefix=prefix).digit_prefix == prefix


def test_a_digit_prefix_longer_than_the_name_length_is_refused() -> None:
    with pytest.raises(TraitError, match="digit_prefix"):
        PosixIdentity(digit_prefix="x" * 20, max_system_name_length=10)


@pytest.mark.parametrize("length", [9, 0, -1, 33, 100])
def test_bad_max_system_name_length(length: int) -> None:
    with pytest.raises(TraitError) as raised:
        PosixIdentity(max_system_name_length=length)
    assert str(raised.value) == (f"max_system_name_length must be between 10 and 32, got {length}")


@pytest.mark.parametrize("length", [10, 20, 32])
def test_good_max_system_name_length(length: int) -> None:
    assert PosixIdentity(max_system_name_length=length).max_system_name_length == length


@pytest.mark.parametrize("option", ["home_root", "team_directory_root"])
@pytest.mark.parametrize("value", ["home", "./home", "", "/", "//", "~/teams"])
def test_relative_paths_are_refused(option: str, value: str) -> None:
    with pytest.raises(TraitError) as raised:
        PosixIdentity(**{option: value})
    assert str(raised.value) == f"{option} must be an absolute path, got {value!r}"


@pytest.mark.parametrize("option", ["home_root", "team_directory_root"])
def test_absolute_paths_lose_a_trailing_slash(option: str) -> None:
    assert getattr(PosixIdentity(**{option: "/srv/x/"}), option) == "/srv/x"
    assert getattr(PosixIdentity(**{option: "/srv/x"}), option) == "/srv/x"


# --- the hook on fake hub users --------------------------------------------------------------

MARKED_PHYSICS = group("physics", {"account": "collab-physics", "retired": False, "gid": 48001})
MARKED_CHEMISTRY = group("chemistry", {"account": "collab-chemistry", "retired": False})
RETIRED = group("biology", {"account": "collab-biology", "retired": True})
ACCOUNTS = group(DEFAULT_ACCOUNTS_GROUP)


class HubUser:
    def __init__(self, name: str, *groups: Any, auth_state: Any = None) -> None:
        self.name = name
        self.groups = list(groups)
        self.auth_state = auth_state
        self.id = 7
        self.url = f"/user/{name}/"

    async def get_auth_state(self) -> Any:
        return self.auth_state


class Directory:
    """A source answering ``person`` lookups from a dict (or failing)."""

    def __init__(self, uids: dict[str, int | None], broken: bool = False) -> None:
        self.uids = uids
        self.broken = broken
        self.asked: list[str] = []

    async def person(self, name: str) -> Person | None:
        self.asked.append(name)
        if self.broken:
            raise SourceError("the directory is down")
        return Person(name, self.uids[name]) if name in self.uids else None


def nobody() -> Lookups:
    return Lookups(lambda n: None, lambda u: None, lambda n: None, lambda g: None)


def make_hook(tmp_path: Path, directory: Directory | None = None, **options: Any) -> PosixHook:
    settings: dict[str, Any] = {
        "enabled": True,
        "registry_path": str(tmp_path / "ids.sqlite"),
        "home_root": str(tmp_path / "home"),
        "team_directory_root": str(tmp_path / "teams"),
        "create_accounts": False,
        "team_directories": False,
        **options,
    }
    posix = PosixIdentity(**settings)
    hook = PosixHook(
        posix,
        Policy(account_prefix=DEFAULT_ACCOUNT_PREFIX, accounts_group=DEFAULT_ACCOUNTS_GROUP),
        (lambda: directory) if directory is not None else None,  # type: ignore[arg-type,return-value]
    )
    # the machine's own users and groups are not the test's business
    hook.resolver = Resolver(posix, Registry(posix.registry_path), nobody())
    return hook


async def test_request_of_a_person_with_teams(tmp_path: Path) -> None:
    hook = make_hook(tmp_path)
    user = HubUser("alice", MARKED_PHYSICS, MARKED_CHEMISTRY, RETIRED, group("staff"))
    assert await hook.request(user) == (
        Request(
            "alice",
            teams=(
                TeamRef("physics", "collab-physics", 48001),
                TeamRef("chemistry", "collab-chemistry"),
            ),
            declared_uid=None,
            uid_origin="directory",
        ),
        None,
    )


async def test_request_with_a_uid_claim(tmp_path: Path) -> None:
    directory = Directory({"alice": 47009})
    hook = make_hook(tmp_path, directory, uid_claim="oauth_user.uidNumber")
    user = HubUser("alice", auth_state={"oauth_user": {"uidNumber": ["47001"]}})
    assert await hook.request(user) == (
        Request("alice", declared_uid=47001, uid_origin="claim"),
        None,
    )
    # the claim wins: the directory is not asked
    assert directory.asked == []


async def test_request_with_a_garbage_claim_is_refused(tmp_path: Path) -> None:
    hook = make_hook(tmp_path, uid_claim="uid")
    with pytest.raises(IdentityRefused, match="the claim 'uid' is not a number: 'x'"):
        await hook.request(HubUser("alice", auth_state={"uid": "x"}))


async def test_request_without_the_claim_asks_the_directory(tmp_path: Path) -> None:
    directory = Directory({"alice": 47001})
    hook = make_hook(tmp_path, directory, uid_claim="oauth_user.uidNumber")
    assert await hook.request(HubUser("alice", auth_state=None)) == (
        Request("alice", declared_uid=47001, uid_origin="directory"),
        None,
    )
    assert await hook.request(HubUser("zed")) == (Request("zed"), None)
    assert directory.asked == ["alice", "zed"]


async def test_request_with_directory_uids_off(tmp_path: Path) -> None:
    directory = Directory({"alice": 47001})
    hook = make_hook(tmp_path, directory, directory_uids=False)
    assert await hook.request(HubUser("alice")) == (Request("alice"), None)
    assert directory.asked == []


async def test_request_when_the_directory_is_down(tmp_path: Path) -> None:
    hook = make_hook(tmp_path, Directory({}, broken=True))
    assert await hook.request(HubUser("alice")) == (Request("alice"), "the directory is down")


async def test_request_of_a_team_account(tmp_path: Path) -> None:
    hook = make_hook(tmp_path, Directory({"collab-physics": 47001}))
    user = HubUser("collab-physics", ACCOUNTS, MARKED_PHYSICS)
    assert await hook.request(user) == (
        Request("collab-physics", team=TeamRef("physics", "collab-physics", 48001)),
        None,
    )


async def test_request_of_a_team_account_without_a_marker(tmp_path: Path) -> None:
    hook = make_hook(tmp_path)
    user = HubUser("collab-physics", ACCOUNTS, group("physics"))
    assert await hook.request(user) == (
        Request("collab-physics", team=TeamRef("physics", "collab-physics")),
        None,
    )


async def test_a_prefixed_name_outside_the_accounts_group_is_a_person(tmp_path: Path) -> None:
    hook = make_hook(tmp_path)
    user = HubUser("collab-physics", MARKED_PHYSICS)
    assert await hook.request(user) == (
        Request("collab-physics", teams=(TeamRef("physics", "collab-physics", 48001),)),
        None,
    )


def test_a_directory_problem_without_a_record_is_a_refusal(tmp_path: Path) -> None:
    hook = make_hook(tmp_path)
    with pytest.raises(IdentityRefused) as raised:
        hook._resolve_and_prepare(Request("alice"), "the directory is down")
    assert str(raised.value) == (
        "the directory could not be asked for the uid (the directory is down) and none is on "
        "record; no number is handed out that the directory may contradict"
    )
    assert hook.resolver.registry.records() == []


def test_a_directory_problem_with_a_record_uses_the_record(tmp_path: Path) -> None:
    hook = make_hook(tmp_path)
    hook.resolver.registry.claim(Record("uid", "alice", "alice", 47001, "directory"))
    hook.resolver.registry.claim(Record("gid", "alice", "alice", 47001, "private group"))
    identity = hook._resolve_and_prepare(Request("alice"), "the directory is down")
    assert (identity.uid, identity.gid) == (47001, 47001)


class Spawner(PosixLocalProcessSpawner):  # type: ignore[misc]
    pass


async def test_hook_sets_the_identity_on_a_local_spawner(tmp_path: Path) -> None:
    hook = make_hook(tmp_path, Directory({"alice": 47001}), team_links="my-teams", umask=0o027)
    spawner = PosixLocalProcessSpawner(user=HubUser("alice", MARKED_PHYSICS))
    await hook(spawner)
    identity = spawner.posix_identity
    assert identity is not None
    assert (identity.system_name, identity.uid, identity.gid) == ("alice", 47001, 47001)
    assert identity.supplementary_gids == (48001,)
    assert spawner.posix_umask == 0o027
    assert spawner.team_links == "my-teams"
    assert spawner.team_directory_root == str(tmp_path / "teams")


async def test_hook_refuses_an_unsupported_spawner(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = make_hook(tmp_path, Directory({"alice": 47001}))
    spawner = SimpleLocalProcessSpawner(user=HubUser("alice"))
    with caplog.at_level(logging.ERROR), pytest.raises(SpawnRefused) as raised:
        await hook(spawner)
    assert raised.value.status_code == 409
    assert raised.value.reason.startswith(
        "The server of 'alice' cannot be started with a POSIX identity: "
        "SimpleLocalProcessSpawner cannot be given a POSIX identity: use "
        "jupyterhub_teams.posix.PosixLocalProcessSpawner"
    )


async def test_hook_refuses_a_changed_uid(tmp_path: Path) -> None:
    directory = Directory({"alice": 47001})
    hook = make_hook(tmp_path, directory)
    await hook(Spawner(user=HubUser("alice")))
    directory.uids["alice"] = 47002
    with pytest.raises(SpawnRefused) as raised:
        await hook(Spawner(user=HubUser("alice")))
    assert "has uid 47001 (system user 'alice', directory) on record" in raised.value.reason
    assert "the directory now says 47002" in raised.value.reason
