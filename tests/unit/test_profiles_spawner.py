"""Profiles on spawners without their own: JupyterHub's real spawner classes, configured by
``setup(c)``, through JupyterHub's own option-handling code (no hub, nothing started)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner, Spawner
from tornado import web
from traitlets.config import Config

from jupyterhub_teams.config import JupyterHubTeams
from jupyterhub_teams.integration import setup
from jupyterhub_teams.profiles import configure_profiles
from jupyterhub_teams.profiles.demo import demo_profile_list
from jupyterhub_teams.profiles.filter import ProfileConfigError
from jupyterhub_teams.profiles.spawner import forget_refused

ACCOUNTS = JupyterHubTeams().accounts_group


class Group:
    def __init__(self, name: str) -> None:
        self.name = name


class User:
    """What the integration reads of a JupyterHub user: its name and groups."""

    def __init__(self, name: str, *groups: str) -> None:
        self.name = name
        self.groups = [Group(g) for g in groups]
        self.id = 1
        self.url = f"/user/{name}/"


def configured(profile_list: Any = None, **extra: Any) -> Config:
    c = Config()
    c.JupyterHubTeams.profile_list = demo_profile_list() if profile_list is None else profile_list
    for key, value in extra.items():
        section, name = key.split("__")
        c[section][name] = value
    setup(c)
    return c


def spawner(c: Config, user: User, spawner_class: type[Spawner] = SimpleLocalProcessSpawner) -> Any:
    return spawner_class(config=c, user=user)


async def refusal(sp: Any, options: dict[str, Any]) -> web.HTTPError:
    with pytest.raises(web.HTTPError) as raised:
        await sp._run_apply_user_options(options)
    return raised.value


def test_setup_wires_the_form_the_parser_and_the_check() -> None:
    c = configured()
    assert callable(c.Spawner.options_form)
    assert callable(c.Spawner.options_from_form)
    assert callable(c.Spawner.apply_user_options)
    # the team spawn hook stays in place
    assert callable(c.Spawner.pre_spawn_hook)


def test_the_service_never_gets_the_profile_list() -> None:
    c = Config()
    c.JupyterHubTeams.profile_list = lambda spawner: demo_profile_list()
    teams = setup(c)
    options = json.loads(teams.to_json())
    assert "profile_list" not in options
    assert JupyterHubTeams.from_json(teams.to_json()).profile_list == []


async def test_the_form_offers_each_person_their_choices() -> None:
    c = configured()
    alice = await spawner(c, User("alice", "physics", "chemistry")).get_options_form()
    dave = await spawner(c, User("dave")).get_options_form()
    assert 'value="large"' in alice and "--image--unlisted-choice" in alice
    assert 'value="large"' not in dave and "--image--unlisted-choice" not in dave
    assert 'value="gpu"' not in alice
    erin = await spawner(c, User("erin", "gpu-users")).get_options_form()
    assert 'value="gpu"' in erin


async def test_allowed_options_set_the_spawners_settings() -> None:
    c = configured()
    bob = spawner(c, User("bob", "physics"))
    formdata = {"profile": ["standard"], "profile-option-standard--memory": ["large"]}
    options = bob.run_options_from_form(formdata)
    assert options == {"profile": "standard", "memory": "large"}
    await bob._run_apply_user_options(options)
    assert bob.mem_limit == 4 * 1024**3
    assert bob.environment["JUPYTERHUB_TEAMS_PROFILE"] == "standard"

    carol = spawner(c, User("carol", "chemistry"))
    await carol._run_apply_user_options(
        {"profile": "standard", "image--unlisted-choice": "quay.io/jupyter/r-notebook:x"}
    )
    assert carol.environment["JUPYTER_IMAGE"] == "quay.io/jupyter/r-notebook:x"
    assert carol.mem_limit == 1024**3

    erin = spawner(c, User("erin", "gpu-users"), LocalProcessSpawner)
    await erin._run_apply_user_options({"profile": "gpu"})
    assert (erin.cpu_limit, erin.environment["JUPYTERHUB_TEAMS_PROFILE"]) == (4.0, "gpu")


async def test_hidden_options_are_refused_with_their_reason() -> None:
    c = configured()
    carol = spawner(c, User("carol", "chemistry"))
    refused = await refusal(carol, {"profile": "standard", "memory": "large"})
    assert refused.status_code == 403
    message = "Choice 'large' of option 'memory' (profile 'standard') is not available to you"
    assert message in (refused.get_message() or "")
    # JupyterHub shows this on its pages instead of a generic spawn failure
    assert message in refused.jupyterhub_message  # type: ignore[attr-defined]
    assert carol.mem_limit is None, "nothing was applied"

    dave = spawner(c, User("dave"))
    assert (await refusal(dave, {"profile": "gpu"})).status_code == 403
    assert (await refusal(dave, {"profile": "team"})).status_code == 403
    assert (await refusal(dave, {"image--unlisted-choice": "x"})).status_code == 403


async def test_refused_options_are_not_kept_as_defaults() -> None:
    class OrmSpawner:
        """The stored spawner row: only the options matter here."""

        server = None
        name = ""

        def __init__(self) -> None:
            self.user_options: dict[str, Any] = {"profile": "gpu"}

    dave = spawner(configured(), User("dave"))
    dave.orm_spawner = OrmSpawner()
    await refusal(dave, {"profile": "gpu"})
    assert dave.orm_spawner.user_options == {}
    # options other than the refused ones are left alone
    other = OrmSpawner()
    other.user_options = {"profile": "standard"}
    dave.orm_spawner = other
    forget_refused(dave, {"profile": "gpu"})
    assert other.user_options == {"profile": "standard"}


async def test_team_accounts_get_team_profiles() -> None:
    c = configured()
    team = spawner(c, User("collab-physics", ACCOUNTS))
    await team._run_apply_user_options({})
    assert team.environment["JUPYTERHUB_TEAMS_PROFILE"] == "team"
    assert (await refusal(team, {"profile": "standard"})).status_code == 403
    # one profile without options: no form, the hub starts it directly
    assert await team.get_options_form() == ""
    # a name with the prefix but outside the accounts group is a person (and sees no team)
    impostor = spawner(c, User("collab-physics"))
    assert (await refusal(impostor, {"profile": "team"})).status_code == 403


async def test_team_accounts_count_as_members_of_their_team() -> None:
    profiles = [
        {"slug": "plain", "display_name": "Plain", "team_only": True},
        {"slug": "big", "display_name": "Big", "team_only": True, "allowed_groups": ["physics"]},
    ]
    c = configured(profiles)
    physics = spawner(c, User("collab-physics", ACCOUNTS))
    await physics._run_apply_user_options({"profile": "big"})
    chemistry = spawner(c, User("collab-chemistry", ACCOUNTS))
    assert (await refusal(chemistry, {"profile": "big"})).status_code == 403


async def test_someone_with_no_profile_is_told_so() -> None:
    c = configured([{"slug": "p", "display_name": "P", "allowed_groups": ["physics"]}])
    dave = spawner(c, User("dave"))
    form = await dave.get_options_form()
    assert "No server profile is available to your account" in form
    assert "button[type=submit]" in form
    refused = await refusal(dave, {})
    assert refused.status_code == 403
    assert "No server profile is available to your account" in (refused.get_message() or "")


async def test_callable_and_dict_lists() -> None:
    seen: list[str] = []

    async def per_user(sp: Any) -> list[dict[str, Any]]:
        seen.append(sp.user.name)
        return [
            {
                "slug": f"home-{sp.user.name}",
                "display_name": "Home",
                "spawner_override": {"environment": {"WHO": sp.user.name}},
            },
            {"slug": "restricted", "display_name": "R", "allowed_groups": ["x"]},
        ]

    c = configured(per_user)
    alice = spawner(c, User("alice"))
    await alice._run_apply_user_options({})
    assert alice.environment["WHO"] == "alice" and seen == ["alice"]
    assert (await refusal(alice, {"profile": "restricted"})).status_code == 403

    c = configured(
        {"b": {"display_name": "Second"}, "a": {"slug": "first", "display_name": "First"}}
    )
    assert "Second" in await spawner(c, User("alice")).get_options_form()
    # no explicit default: the first by key is the default
    sp = spawner(c, User("alice"))
    await sp._run_apply_user_options({"profile": "second"})
    assert (await refusal(sp, {"profile": "a"})).status_code == 403


async def test_override_values_may_be_callables() -> None:
    async def later(sp: Any) -> str:
        return f"/home/{sp.user.name}/notebooks"

    profiles = [
        {
            "slug": "p",
            "display_name": "P",
            "spawner_override": {
                "notebook_dir": later,
                "environment": {"A": "1"},
                "default_url": lambda sp: "/lab",
            },
        }
    ]
    sp = spawner(configured(profiles, Spawner__environment={"KEEP": "yes", "A": "0"}), User("a"))
    await sp._run_apply_user_options({})
    assert sp.notebook_dir == "/home/a/notebooks"
    assert sp.default_url == "/lab"
    # dict settings merge with what the admin configured
    assert sp.environment == {"KEEP": "yes", "A": "1"}


async def test_an_override_of_a_setting_the_spawner_lacks_is_reported() -> None:
    profiles = [{"slug": "p", "display_name": "P", "spawner_override": {"image": "x"}}]
    sp = spawner(configured(profiles), User("a"))
    refused = await refusal(sp, {})
    assert refused.status_code == 500
    assert "'image' is not a setting of SimpleLocalProcessSpawner" in (refused.get_message() or "")


async def test_docker_and_systemd_spawners_take_their_own_settings() -> None:
    import dockerspawner
    import systemdspawner

    profiles = [
        {
            "slug": "py",
            "display_name": "Python",
            "kubespawner_override": {"mem_limit": "2G"},
            "profile_options": {
                "container_image": {
                    "choices": {
                        "scipy": {"spawner_override": {"image": "quay.io/jupyter/scipy-notebook"}},
                        "r": {
                            "allowed_groups": ["stats"],
                            "spawner_override": {"image": "quay.io/jupyter/r-notebook"},
                        },
                    }
                }
            },
        }
    ]
    c = configured(profiles)
    docker = spawner(c, User("alice", "stats"), dockerspawner.DockerSpawner)
    await docker._run_apply_user_options({"container_image": "r"})
    assert (docker.image, docker.mem_limit) == ("quay.io/jupyter/r-notebook", 2 * 1024**3)
    other = spawner(c, User("bob"), dockerspawner.DockerSpawner)
    assert (await refusal(other, {"container_image": "r"})).status_code == 403

    systemd_profiles = [
        {
            "slug": "big",
            "display_name": "Big",
            "allowed_groups": ["physics"],
            "spawner_override": {
                "mem_limit": "8G",
                "unit_extra_properties": {"CPUWeight": "200"},
            },
        }
    ]
    c = configured(systemd_profiles, SystemdSpawner__unit_extra_properties={"Nice": "5"})
    systemd = spawner(c, User("bob", "physics"), systemdspawner.SystemdSpawner)
    await systemd._run_apply_user_options({"profile": "big"})
    assert systemd.mem_limit == 8 * 1024**3
    assert systemd.unit_extra_properties == {"Nice": "5", "CPUWeight": "200"}


async def test_a_docker_image_option_named_like_dockerspawners_own_is_reported() -> None:
    import dockerspawner

    profiles = [
        {
            "slug": "p",
            "display_name": "P",
            "profile_options": {"image": {"choices": {"x": {"spawner_override": {}}}}},
        }
    ]
    sp = spawner(configured(profiles), User("a"), dockerspawner.DockerSpawner)
    refused = await refusal(sp, {})
    assert refused.status_code == 500
    assert "DockerSpawner reads the user option 'image' itself" in (refused.get_message() or "")


async def test_an_admins_own_apply_user_options_runs_after_and_gets_other_keys() -> None:
    calls: list[dict[str, Any]] = []

    def mine(sp: Any, options: dict[str, Any]) -> None:
        calls.append(dict(options))

    c = configured(Spawner__apply_user_options=mine)
    sp = spawner(c, User("dave"))
    await sp._run_apply_user_options({"profile": "standard", "repo": "x"})
    assert calls == [{"profile": "standard", "repo": "x"}]
    await refusal(sp, {"profile": "gpu"})
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"Spawner__options_form": "<input name=x>"}, "options_form is already configured"),
        ({"Spawner__options_from_form": "simple"}, "options_from_form is already configured"),
        ({"Spawner__apply_user_options": {"x": "y"}}, "configured as a dict"),
        ({"KubeSpawner__profile_list": [{"slug": "k"}]}, "Both c.KubeSpawner.profile_list"),
    ],
)
def test_conflicting_configuration_stops_the_hub_at_startup(
    extra: dict[str, Any], words: str
) -> None:
    with pytest.raises(ValueError, match=None) as raised:
        configured(**extra)
    assert words in str(raised.value)


def test_a_malformed_list_stops_the_hub_at_startup() -> None:
    with pytest.raises(ProfileConfigError, match="allowed_groups must be a list"):
        configured([{"slug": "gpu", "allowed_groups": "gpu-users"}])


def test_nothing_is_wired_without_profiles() -> None:
    c = Config()
    teams = setup(c)
    assert "options_form" not in c.Spawner and "apply_user_options" not in c.Spawner
    configure_profiles(c, teams)
    assert "apply_user_options" not in c.Spawner
