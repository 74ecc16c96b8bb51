from __future__ import annotations

import json
from typing import Any

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.plan import Policy


def test_defaults() -> None:
    teams = JupyterHubTeams()
    assert teams.account_prefix == "collab-"
    assert teams.accounts_group == "jupyterhub-teams-accounts"
    assert teams.max_team_name_length == 40
    assert teams.create_people is True
    assert teams.sync_interval == 15.0
    assert teams.revocation_interval == 10
    assert teams.service_name == "jupyterhub-teams"
    assert teams.team_server_command == []  # the spawner's own command
    assert teams.fix_group_share_tokens is True
    assert teams.skip_consent_for_members is True
    assert teams.policy() == Policy()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"account_prefix": "Collab-"}, "account_prefix 'Collab-' must be lower case"),
        ({"account_prefix": "Collab"}, "account_prefix 'Collab' must be lower case"),
        ({"account_prefix": "collab"}, "end with '-', '_' or '.'"),
        ({"account_prefix": "1collab-"}, "start with a letter"),
        ({"account_prefix": "-"}, "account_prefix '-' must be"),
        ({"account_prefix": ""}, "account_prefix '' must be"),
        ({"account_prefix": "col lab-"}, "account_prefix 'col lab-' must be"),
        ({"account_prefix": "collab--"}, "account_prefix 'collab--' must be"),
        ({"sync_interval": 0}, "sync_interval must be at least 1 second, got 0.0"),
        ({"sync_interval": 0.5}, "sync_interval must be at least 1 second, got 0.5"),
        ({"sync_interval": -30}, "sync_interval must be at least 1 second"),
        ({"revocation_interval": 0}, "revocation_interval must be between 1 and 300, got 0"),
        ({"revocation_interval": 301}, "revocation_interval must be between 1 and 300, got 301"),
        ({"max_team_name_length": 5}, "max_team_name_length must be between 10 and 200, got 5"),
        ({"max_team_name_length": 9}, "max_team_name_length must be between 10 and 200, got 9"),
        ({"max_team_name_length": 201}, "between 10 and 200, got 201"),
        ({"large_removal_fraction": 1.5}, "large_removal_fraction must be between 0 and 1"),
        ({"share_check_cycles": 0}, "share_check_cycles must be at least 1, got 0"),
        ({"share_revocation_interval": 3601}, "must be between 0 and 3600, got 3601"),
        ({"adhoc_teams_per_person": -1}, "adhoc_teams_per_person must be between 0 and 10000"),
        ({"adhoc_teams_per_hour": 10_001}, "adhoc_teams_per_hour must be between 0 and 10000"),
        ({"adhoc_team_prefix": "Adhoc-"}, "adhoc_team_prefix 'Adhoc-' must be lower case"),
        ({"adhoc_team_prefix": "adhoc"}, "ending with '-'"),
        ({"adhoc_team_prefix": "adhoc-\n"}, "adhoc_team_prefix 'adhoc-\\n' must be"),
        (
            {"accounts_group": "collab-accounts"},
            "accounts_group 'collab-accounts' must not start with the account prefix 'collab-'",
        ),
        (
            {"account_prefix": "jupyterhub-"},
            "accounts_group 'jupyterhub-teams-accounts' must not start with the account prefix "
            "'jupyterhub-'",
        ),
        (
            {"account_prefix": "team_", "accounts_group": "team_all"},
            "accounts_group 'team_all' must not start with the account prefix 'team_'",
        ),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TraitError) as info:
        JupyterHubTeams(**options)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"account_prefix": "Collab-"}, "must be lower case"),
        ({"accounts_group": "collab-all"}, "must not start with the account prefix"),
        ({"sync_interval": 0}, "at least 1 second"),
    ],
)
def test_invalid_options_from_config(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TraitError, match=message):
        JupyterHubTeams(config=Config({"JupyterHubTeams": options}))


@pytest.mark.parametrize(
    "options",
    [
        {"account_prefix": "team_"},
        {"account_prefix": "lab."},
        {"account_prefix": "c0-"},
        {"account_prefix": "x-"},
        {"sync_interval": 1},
        {"revocation_interval": 1},
        {"revocation_interval": 300},
        {"max_team_name_length": 10},
        {"max_team_name_length": 200},
        {"accounts_group": "collab"},
        {"accounts_group": "team-accounts"},
    ],
)
def test_valid_edge_options(options: dict[str, Any]) -> None:
    teams = JupyterHubTeams(**options)
    for name, value in options.items():
        assert getattr(teams, name) == value


def test_prefix_and_group_changed_together_in_config() -> None:
    # each alone would clash with the other's default; together they are fine
    config = Config(
        {"JupyterHubTeams": {"account_prefix": "jupyterhub-", "accounts_group": "teams-all"}}
    )
    teams = JupyterHubTeams(config=config)
    assert (teams.account_prefix, teams.accounts_group) == ("jupyterhub-", "teams-all")


def test_refused_assignment_keeps_the_previous_value() -> None:
    teams = JupyterHubTeams()
    with pytest.raises(TraitError, match="must not start with the account prefix"):
        teams.accounts_group = "collab-x"
    assert teams.accounts_group == "jupyterhub-teams-accounts"
    with pytest.raises(TraitError, match="must not start with the account prefix"):
        teams.account_prefix = "jupyterhub-"
    assert teams.account_prefix == "collab-"
    with pytest.raises(TraitError):
        teams.sync_interval = 0
    assert teams.sync_interval == 15.0
    teams.accounts_group = "everyone-on-teams"
    assert teams.accounts_group == "everyone-on-teams"


def test_policy_follows_options() -> None:
    teams = JupyterHubTeams(
        account_prefix="team_",
        accounts_group="team-accounts",
        max_team_name_length=20,
        create_people=False,
    )
    assert teams.policy() == Policy(
        account_prefix="team_",
        accounts_group="team-accounts",
        max_team_name_length=20,
        create_people=False,
    )


def test_json_round_trip() -> None:
    teams = JupyterHubTeams(
        directory="/etc/jupyterhub/directory.yaml",
        account_prefix="team_",
        accounts_group="team-accounts",
        max_team_name_length=24,
        create_people=False,
        sync_interval=12.5,
        revocation_interval=3,
        service_name="teams-sync",
        api_concurrency=2,
        team_server_command=["python", "-m", "team_server"],
    )
    text = teams.to_json()
    assert "profile_list" not in json.loads(text).get("JupyterHubTeams", json.loads(text))
    again = JupyterHubTeams.from_json(text)
    for name in teams.trait_names(config=True):
        if name != "profile_list":
            assert getattr(again, name) == getattr(teams, name), name
    assert again.account_prefix == "team_"
    assert again.team_server_command == ["python", "-m", "team_server"]
    assert again.to_json() == text
    assert again.policy() == teams.policy()


def test_from_json_of_plain_options() -> None:
    teams = JupyterHubTeams.from_json(json.dumps({"account_prefix": "lab.", "sync_interval": 5}))
    assert (teams.account_prefix, teams.sync_interval) == ("lab.", 5.0)


def test_json_round_trip_of_defaults() -> None:
    teams = JupyterHubTeams()
    assert JupyterHubTeams.from_json(teams.to_json()).to_json() == teams.to_json()


def test_from_json_validates() -> None:
    with pytest.raises(TraitError, match="sync_interval must be at least 1 second"):
        JupyterHubTeams.from_json(json.dumps({"sync_interval": 0}))


def test_service_scopes_are_filtered_to_team_accounts() -> None:
    scopes = JupyterHubTeams().service_scopes()
    assert len(scopes) == len(set(scopes))
    touching_servers = [s for s in scopes if "servers" in s or "shares" in s]
    assert touching_servers == [
        "read:servers!group=jupyterhub-teams-accounts",
        "servers!group=jupyterhub-teams-accounts",
        "access:servers!group=jupyterhub-teams-accounts",
        "shares!group=jupyterhub-teams-accounts",
        "read:shares!group=jupyterhub-teams-accounts",
        # read-only: which servers are shared with which group (one cheap lookup per team)
        "read:groups:shares",
    ]
    for scope in touching_servers[:-1]:
        assert scope.endswith("!group=jupyterhub-teams-accounts")
    # nothing that grants, revokes or uses a share is unfiltered
    assert not {"shares", "groups:shares", "users:shares", "read:shares"} & set(scopes)
    assert "admin" not in scopes
    assert "admin-ui" not in scopes
    assert not any(s.startswith("admin:servers") or s == "servers" for s in scopes)
    assert "inherit" not in scopes


def test_service_scopes_follow_accounts_group() -> None:
    scopes = JupyterHubTeams(accounts_group="team-accounts").service_scopes()
    filtered = [
        s for s in scopes if ("servers" in s or "shares" in s) and s != "read:groups:shares"
    ]
    assert filtered
    assert all(s.endswith("!group=team-accounts") for s in filtered)
