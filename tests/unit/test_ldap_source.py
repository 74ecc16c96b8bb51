"""The LDAP source's pure parts: DN resolution, membership assembly, name filtering, option
checks, and the bind password staying out of everything printable. (Reading a real slapd is in
``tests/e2e/test_ldap.py``.)"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.integration.hub_config import setup, source_environment
from jupyterhub_teams.model import DirectorySnapshot, Person
from jupyterhub_teams.sources import SourceError
from jupyterhub_teams.sources.ldap import (
    Layout,
    LDAPDirectory,
    assemble,
    check_server_url,
    decode_entry,
    group_filter_matches,
    normalize_dn,
    rdn_value,
)

SECRET = "s3cr3t-Bind-Pa55word"
BASE = "dc=example,dc=org"


def people_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{BASE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},ou=groups,{BASE}"


def config(**options: Any) -> Config:
    c = Config()
    c.LDAPDirectory.server_urls = ["ldap://127.0.0.1:1"]
    c.LDAPDirectory.bind_dn = f"cn=reader,{BASE}"
    c.LDAPDirectory.people_base_dn = f"ou=people,{BASE}"
    c.LDAPDirectory.group_base_dn = f"ou=groups,{BASE}"
    for name, value in options.items():
        setattr(c.LDAPDirectory, name, value)
    return c


def source(**options: Any) -> LDAPDirectory:
    return LDAPDirectory(config=config(**options))


# -- DNs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "uid=alice,ou=people,dc=example,dc=org",
        "UID=Alice,OU=People,DC=Example,DC=Org",
        "uid=alice, ou=people, dc=example, dc=org",
        " uid = alice ,ou=people,dc=example,dc=org",
        "uid=al\\69ce,ou=people,dc=example,dc=org",  # an escaped 'i': libldap's parser
    ],
)
def test_equal_dns_normalize_equal(variant: str) -> None:
    assert normalize_dn(variant) == normalize_dn(people_dn("alice"))


def test_different_and_special_dns() -> None:
    assert normalize_dn(people_dn("alice")) != normalize_dn(people_dn("alicia"))
    assert normalize_dn(people_dn("alice")) != normalize_dn(f"uid=alice,ou=staff,{BASE}")
    # escaped comma: one RDN value, not two RDNs
    escaped = normalize_dn(f"cn=Smith\\, John,ou=people,{BASE}")
    assert escaped is not None and escaped == normalize_dn(f"CN=smith\\, john,ou=People,{BASE}")
    assert escaped != normalize_dn(f"cn=Smith,cn=John,ou=people,{BASE}")
    # multi-valued RDN in either order
    assert normalize_dn(f"cn=a+uid=b,{BASE}") == normalize_dn(f"uid=B+cn=A,{BASE}")
    # runs of spaces inside a value do not matter (caseIgnoreMatch)
    assert normalize_dn(f"cn=Data  Science,{BASE}") == normalize_dn(f"cn=data science,{BASE}")
    for broken in ("", "not a dn", "=x,dc=org", "uid=,dc=org", "uid=a,,dc=org"):
        assert normalize_dn(broken) is None, broken


def test_rdn_value() -> None:
    assert rdn_value(people_dn("Alice"), "uid") == "Alice"
    assert rdn_value(people_dn("alice"), "UID") == "alice"
    assert rdn_value(people_dn("alice"), "cn") is None
    assert rdn_value(f"cn=Smith\\, John,{BASE}", "cn") == "Smith, John"
    assert rdn_value("garbage", "uid") is None


# -- assembling people and groups ------------------------------------------------------------


PEOPLE = [
    (people_dn("alice"), {"uid": ["alice"], "uidnumber": ["2001"]}),
    (people_dn("Bob"), {"uid": ["Bob", "robert"], "uidnumber": ["not-a-number"]}),
    (people_dn("carol"), {"uid": ["carol"], "uidnumber": ["-5"]}),
    (f"cn=no uid,ou=people,{BASE}", {"cn": ["no uid"]}),
    (f"uid=carol,ou=staff,{BASE}", {"uid": ["carol"]}),  # the name is taken
]


def test_people_names_and_uids() -> None:
    out = assemble(PEOPLE, [], Layout())
    assert out.people == {
        "alice": Person("alice", 2001),
        "Bob": Person("Bob", None),  # the RDN's value wins over other values
        "carol": Person("carol", None),  # negative: ignored
    }
    assert out.unnamed_people == 1 and out.duplicate_people == 1


def test_members_by_uid_and_by_dn() -> None:
    groups = [
        (
            group_dn("physics"),
            {"cn": ["physics"], "gidnumber": ["3001"], "memberuid": ["ALICE", "bob", "ghost"]},
        ),
        (
            group_dn("chemistry"),
            {
                "cn": ["chemistry"],
                "member": [
                    "UID=Alice, OU=People,DC=example,DC=org",
                    group_dn("physics"),  # nested groups are not expanded
                    "cn=nobody",  # the placeholder of an empty groupOfNames
                    "not a DN",
                ],
            },
        ),
        (
            group_dn("biology"),
            {
                "cn": ["biology"],
                "uniquemember": [f"{people_dn('carol')}#'0101'B", people_dn("bob")],
            },
        ),
        (group_dn("empty"), {"cn": ["empty"]}),
    ]
    out = assemble(PEOPLE, groups, Layout())
    assert {n: set(g.members) for n, g in out.groups.items()} == {
        "physics": {"alice", "Bob"},  # memberUid compared case-insensitively, directory spelling
        "chemistry": {"alice"},
        "biology": {"carol", "Bob"},
        "empty": set(),
    }
    assert out.groups["physics"].gid == 3001 and out.groups["chemistry"].gid is None
    assert out.unresolved_members == 4  # ghost, the nested group, the placeholder, "not a DN"
    assert "4 member values naming nobody" in out.describe()


def test_member_of_layout_reads_people_and_ignores_group_member_lists() -> None:
    people = [
        (people_dn("alice"), {"uid": ["alice"], "memberof": [group_dn("physics"), group_dn("x")]}),
        (
            people_dn("bob"),
            {"uid": ["bob"], "memberof": ["CN=Physics,OU=Groups,DC=example,DC=org"]},
        ),
    ]
    groups = [
        (group_dn("physics"), {"cn": ["physics"], "memberuid": ["carol"]}),
        (group_dn("chemistry"), {"cn": ["chemistry"]}),
    ]
    layout = Layout(membership="member_of")
    out = assemble(people, groups, layout)
    assert {n: set(g.members) for n, g in out.groups.items()} == {
        "physics": {"alice", "bob"},
        "chemistry": set(),
    }
    assert "memberOf" in layout.people_attributes()
    assert "memberUid" not in layout.group_attributes()


@pytest.mark.parametrize(
    ("pattern", "name", "selected"),
    [
        ("", "anything", True),
        ("jh-.*", "jh-physics", True),
        ("jh-.*", "staff-jh-physics", False),  # the whole name must match
        ("jh-.*", "JH-physics", False),
        ("(?i)jh-.*", "JH-physics", True),
        (r"course-\d{4}", "course-2024", True),
        (r"course-\d{4}", "course-2024-old", False),
    ],
)
def test_group_name_pattern(pattern: str, name: str, selected: bool) -> None:
    assert group_filter_matches(pattern, name) is selected
    out = assemble([], [(group_dn(name), {"cn": [name]})], Layout(group_name_pattern=pattern))
    assert (name in out.groups) is selected
    assert out.groups_not_matching == (0 if selected else 1)


def test_duplicate_group_names_keep_the_first() -> None:
    groups = [
        (group_dn("lab"), {"cn": ["lab"], "memberuid": ["alice"]}),
        (f"cn=lab,ou=old,{BASE}", {"cn": ["lab"], "memberuid": ["carol"]}),
    ]
    out = assemble(PEOPLE, groups, Layout())
    assert set(out.groups["lab"].members) == {"alice"} and out.duplicate_groups == 1


def test_decode_entry_leaves_out_binary_values() -> None:
    (_, attrs), bad = decode_entry(people_dn("a"), {"UID": [b"a"], "jpegPhoto": [b"\xff\xd8"]})
    assert attrs == {"uid": ["a"], "jpegphoto": []} and bad == 1


# -- options -----------------------------------------------------------------------------------


def test_valid_configuration_and_attributes_requested() -> None:
    s = source(start_tls=True, ca_file="/etc/ssl/ca.pem", page_size=0)
    assert s.layout().people_attributes() == ["uid", "uidNumber"]
    assert s.layout().group_attributes() == [
        "cn",
        "gidNumber",
        "memberUid",
        "member",
        "uniqueMember",
    ]
    assert source(
        uid_number_attribute="", gid_number_attribute=""
    ).layout().people_attributes() == ["uid"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"server_urls": []}, "needs c.LDAPDirectory.server_urls"),
        (
            {"people_base_dn": "", "group_base_dn": ""},
            "people_base_dn, c.LDAPDirectory.group_base_dn",
        ),
        ({"server_urls": ["http://ldap.example.org"]}, "must start with ldap:// or ldaps://"),
        ({"server_urls": ["ldap://"]}, "names no host"),
        ({"server_urls": ["ldap://h/dc=example,dc=org"]}, "must be only scheme://host"),
        ({"server_urls": ["ldap://h:99999"]}, "bad port"),
        ({"server_urls": ["ldap://u:pw@h"]}, "must not contain credentials"),
        ({"server_urls": ["ldaps://h"], "start_tls": True}, "start_tls cannot be used"),
        ({"people_filter": "objectClass=person"}, "is not an LDAP filter"),
        ({"group_filter": "(|(cn=a)(cn=b)"}, "is not an LDAP filter"),
        ({"group_name_pattern": "team-("}, "is not a regular expression"),
        ({"username_attribute": "uid name"}, "is not an attribute name"),
        # a trailing newline would pass a `$`-anchored match
        ({"username_attribute": "uid\n"}, "is not an attribute name"),
        ({"dn_member_attributes": ["member\n"]}, "is not an attribute name"),
        ({"dn_member_attributes": ["member", "bad attr"]}, "is not an attribute name"),
        ({"membership": "nested"}, "membership"),
        ({"page_size": -1}, "page_size must be between 0 and 100000"),
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"timeout": 30, "snapshot_timeout": 10}, "must be at least"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TraitError, match=message.replace("(", r"\(").replace("|", r"\|")):
        source(**options)


def test_check_server_url_accepts_ldap_and_ldaps() -> None:
    for url in ("ldap://ldap.example.org", "ldaps://ldap.example.org:636", "LDAP://h:389/"):
        assert check_server_url(url) == url


# -- the password ------------------------------------------------------------------------------


def test_password_env_name_option_never_echoes_its_value() -> None:
    # someone putting the password itself where the variable's name belongs
    with pytest.raises(TraitError) as refused:
        source(bind_password_env="pa55 word!")
    assert "pa55 word!" not in str(refused.value)


def test_password_from_environment_or_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LDAP_BIND_PASSWORD", SECRET)
    s = source()
    assert s._bind_password() == SECRET
    assert s.service_environment() == ["LDAP_BIND_PASSWORD"]

    secret_file = tmp_path / "bind-password"
    secret_file.write_text("from-the-file\n")
    s = source(bind_password_file=str(secret_file))
    assert s._bind_password() == "from-the-file"
    assert s.service_environment() == []  # nothing to pass through

    assert source(bind_dn="").service_environment() == []  # anonymous
    assert source(bind_dn="")._bind_password() == ""


def test_missing_password_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OTHER_PASSWORD_VAR", raising=False)
    with pytest.raises(SourceError, match="environment variable OTHER_PASSWORD_VAR is empty"):
        source(bind_password_env="OTHER_PASSWORD_VAR")._bind_password()
    missing = tmp_path / "nope"
    with pytest.raises(SourceError, match=f"cannot read the LDAP bind password file {missing}"):
        source(bind_password_file=str(missing))._bind_password()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SourceError, match="is empty"):
        source(bind_password_file=str(empty))._bind_password()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_password_is_never_in_repr_errors_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LDAP_BIND_PASSWORD", SECRET)
    url = f"ldap://127.0.0.1:{_closed_port()}"
    s = source(server_urls=[url], timeout=2.0)
    printable = [repr(s), str(s), repr(vars(s)), repr(s.trait_values()), repr(s.config)]
    assert all(SECRET not in text for text in printable)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as failed:
        asyncio.run(s.snapshot())
    assert url in str(failed.value) and "cannot connect" in str(failed.value)
    assert SECRET not in str(failed.value)
    # nor in what a traceback of it would print
    assert SECRET not in "".join(traceback.format_exception(failed.value))
    assert SECRET not in caplog.text


def test_config_for_the_service_carries_options_not_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEAMS_BIND_SECRET", SECRET)
    c = config(bind_password_env="TEAMS_BIND_SECRET", group_name_pattern="jh-.*")
    c.JupyterHubTeams.source_class = "jupyterhub_teams.sources.ldap.LDAPDirectory"
    c.JupyterHubTeams.directory = "/unused.yaml"
    teams = setup(c)
    (service,) = [s for s in c.JupyterHub.services if s["name"] == teams.service_name]
    environment = service["environment"]
    carried = json.loads(environment["JUPYTERHUB_TEAMS_CONFIG"])
    assert carried["LDAPDirectory"]["group_name_pattern"] == "jh-.*"
    assert (
        carried["JupyterHubTeams"]["source_class"] == "jupyterhub_teams.sources.ldap.LDAPDirectory"
    )
    assert SECRET not in environment["JUPYTERHUB_TEAMS_CONFIG"]
    # the variable is passed through from the hub's environment when the service starts
    passthrough = environment["TEAMS_BIND_SECRET"]
    assert callable(passthrough) and SECRET not in repr(passthrough)
    assert passthrough(object()) == SECRET
    # and the service rebuilds the same source from that JSON
    rebuilt = JupyterHubTeams.from_json(environment["JUPYTERHUB_TEAMS_CONFIG"]).make_source()
    assert isinstance(rebuilt, LDAPDirectory)
    assert (
        rebuilt.group_name_pattern == "jh-.*" and rebuilt.bind_password_env == "TEAMS_BIND_SECRET"
    )


def test_source_class_travels_to_the_service_by_an_importable_name() -> None:
    carried = JupyterHubTeams(source_class=LDAPDirectory).to_json()
    name = json.loads(carried)["JupyterHubTeams"]["source_class"]
    # the name the documentation configures, whichever module of the package defines the class
    assert name == "jupyterhub_teams.sources.ldap.LDAPDirectory"
    assert import_item(name) is LDAPDirectory
    assert JupyterHubTeams.from_json(carried).source_class is LDAPDirectory


def test_yaml_source_needs_no_environment(tmp_path: Path) -> None:
    c = Config()
    c.JupyterHubTeams.directory = str(tmp_path / "directory.yaml")
    assert source_environment(JupyterHubTeams(config=c)) == {}


# -- off the event loop ------------------------------------------------------------------------


def test_reads_run_in_a_thread_and_never_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    s = source()
    release = threading.Event()
    threads: list[str] = []

    def slow_read() -> DirectorySnapshot:
        threads.append(threading.current_thread().name)
        release.wait(10)
        return DirectorySnapshot(source="test")

    monkeypatch.setattr(s, "read_snapshot", slow_read)

    async def scenario() -> DirectorySnapshot:
        first = asyncio.ensure_future(s.snapshot())
        await asyncio.sleep(0.1)
        # the event loop is free while the read blocks, and a second read is refused
        with pytest.raises(SourceError, match="still running"):
            await s.snapshot()
        release.set()
        return await first

    assert asyncio.run(scenario()).source == "test"
    assert threads and threads[0] != threading.main_thread().name


def test_docs_list_every_option_with_its_default_and_help() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "ldap.md").read_text(encoding="utf-8")
    traits = LDAPDirectory.class_traits(config=True)
    for name, trait in traits.items():
        assert trait.help.strip(), f"LDAPDirectory.{name} has no help text"
        assert f"`c.LDAPDirectory.{name} = {trait.default()!r}`" in page, name
